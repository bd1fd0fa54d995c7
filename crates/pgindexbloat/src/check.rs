//! `pgindexbloat check`: the comparison as a Nagios / Sensu plugin result.

use mc_aws_common::nagios::{Check, Perf, Status};

use crate::compare::Comparison;
use crate::naming::display_name;
use crate::snapshot::Snapshot;
use crate::size::convert_bytes;

/// Service name on the status line.
pub const SERVICE: &str = "PGINDEXBLOAT";

/// Alert thresholds; an alert fires when the value is above the threshold.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    /// Total bloat (sum over reported indexes), bytes.
    pub warning_bytes: Option<u64>,
    pub critical_bytes: Option<u64>,
    /// Any compared index's production/fresh percentage.
    pub warning_percent: Option<f64>,
    pub critical_percent: Option<f64>,
}

fn names<'a>(it: impl Iterator<Item = &'a str>, n: usize) -> String {
    let all: Vec<&str> = it.collect();
    let mut s = all.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    if n > 3 {
        s.push_str(&format!(" and {} more", n - 3));
    }
    s
}

/// Status line and perfdata for a comparison. Missing indexes are CRITICAL.
pub fn evaluate(c: &Comparison<'_>, fresh: &Snapshot, t: &Thresholds) -> Check {
    let mut status = Status::Ok;
    let mut parts = Vec::new();
    if !c.missing.is_empty() {
        status = Status::Critical;
        let n = c.missing.len();
        parts.push(format!(
            "{n} index{} missing from {} (broken backup?): {}",
            if n == 1 { "" } else { "es" },
            fresh.label,
            names(c.missing.iter().map(|m| display_name(m.index)), n)
        ));
    }
    let to_f = |v: Option<u64>| v.map(|b| b as f64);
    let total_status = Status::from_thresholds(
        c.total_bloat as f64,
        to_f(t.warning_bytes),
        to_f(t.critical_bytes),
    );
    status = status.worst(total_status);
    let mut total = format!(
        "total bloat {} in {} of {} compared index{}",
        convert_bytes(c.total_bloat),
        c.reported.len(),
        c.indexes_compared,
        if c.indexes_compared == 1 { "" } else { "es" }
    );
    match total_status {
        Status::Critical => total.push_str(&format!(
            " (> {})",
            convert_bytes(t.critical_bytes.unwrap_or(0))
        )),
        Status::Warning => total.push_str(&format!(
            " (> {})",
            convert_bytes(t.warning_bytes.unwrap_or(0))
        )),
        _ => {}
    }
    parts.push(total);
    let offenders: Vec<_> = c
        .compared
        .iter()
        .filter_map(|e| {
            let s =
                Status::from_thresholds(e.percent as f64, t.warning_percent, t.critical_percent);
            (s != Status::Ok).then_some((e, s))
        })
        .collect();
    if !offenders.is_empty() {
        for (_, s) in &offenders {
            status = status.worst(*s);
        }
        let n = offenders.len();
        let list: Vec<String> = offenders
            .iter()
            .map(|(e, _)| format!("{} {}%", display_name(e.index), e.percent))
            .collect();
        parts.push(format!(
            "over the percent threshold: {}",
            names(list.iter().map(String::as_str), n)
        ));
    }
    let mut check = Check::new(SERVICE, status, parts.join("; "));
    check.perf.push(
        Perf::new("total_bloat", c.total_bloat as f64, "B")
            .thresholds(to_f(t.warning_bytes), to_f(t.critical_bytes))
            .min(0.0),
    );
    for e in &c.compared {
        let name = display_name(e.index);
        check
            .perf
            .push(Perf::new(name, e.bloat_bytes.max(0) as f64, "B").min(0.0));
        check.perf.push(
            Perf::new(format!("{name}_pct"), e.percent as f64, "%")
                .thresholds(t.warning_percent, t.critical_percent)
                .min(0.0),
        );
    }
    check
}
