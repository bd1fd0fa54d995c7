//! `pgindexbloat check`: the comparison as a Nagios / Sensu plugin result.

use mc_aws_common::nagios::{Check, Perf, Status};

use crate::compare::Comparison;
use crate::naming::display_name;
use crate::size::convert_bytes;
use crate::snapshot::Snapshot;

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
    let mut parts = Vec::new();
    let mut status = Status::Ok;
    if let Some(missing) = missing_part(c, fresh) {
        parts.push(missing);
        status = Status::Critical;
    }
    let (total, total_status) = total_part(c, t);
    parts.push(total);
    status = status.worst(total_status);
    if let Some((offenders, worst)) = percent_part(c, t) {
        parts.push(offenders);
        status = status.worst(worst);
    }
    let mut check = Check::new(SERVICE, status, parts.join("; "));
    check.perf = perfdata(c, t);
    check
}

fn bytes(v: Option<u64>) -> Option<f64> {
    v.map(|b| b as f64)
}

/// "N indexes missing from B (broken backup?): ..." when any are.
fn missing_part(c: &Comparison<'_>, fresh: &Snapshot) -> Option<String> {
    let n = c.missing.len();
    (n > 0).then(|| {
        format!(
            "{n} index{} missing from {} (broken backup?): {}",
            if n == 1 { "" } else { "es" },
            fresh.label,
            names(c.missing.iter().map(|m| display_name(m.index)), n)
        )
    })
}

/// The total bloat, against the byte thresholds.
fn total_part(c: &Comparison<'_>, t: &Thresholds) -> (String, Status) {
    let status = Status::from_thresholds(
        c.total_bloat as f64,
        bytes(t.warning_bytes),
        bytes(t.critical_bytes),
    );
    let mut total = format!(
        "total bloat {} in {} of {} compared index{}",
        convert_bytes(c.total_bloat),
        c.reported.len(),
        c.indexes_compared,
        if c.indexes_compared == 1 { "" } else { "es" }
    );
    let exceeded = match status {
        Status::Critical => t.critical_bytes,
        Status::Warning => t.warning_bytes,
        _ => None,
    };
    if let Some(limit) = exceeded {
        total.push_str(&format!(" (> {})", convert_bytes(limit)));
    }
    (total, status)
}

/// The compared indexes over a percent threshold, and the worst status.
fn percent_part(c: &Comparison<'_>, t: &Thresholds) -> Option<(String, Status)> {
    let offenders: Vec<_> = c
        .compared
        .iter()
        .filter_map(|e| {
            let s =
                Status::from_thresholds(e.percent as f64, t.warning_percent, t.critical_percent);
            (s != Status::Ok).then_some((e, s))
        })
        .collect();
    if offenders.is_empty() {
        return None;
    }
    let worst = offenders
        .iter()
        .fold(Status::Ok, |acc, (_, s)| acc.worst(*s));
    let list: Vec<String> = offenders
        .iter()
        .map(|(e, _)| format!("{} {}%", display_name(e.index), e.percent))
        .collect();
    let text = format!(
        "over the percent threshold: {}",
        names(list.iter().map(String::as_str), offenders.len())
    );
    Some((text, worst))
}

/// `total_bloat`, and per compared index its bloat bytes and `_pct`.
fn perfdata(c: &Comparison<'_>, t: &Thresholds) -> Vec<Perf> {
    let mut perf = vec![Perf::new("total_bloat", c.total_bloat as f64, "B")
        .thresholds(bytes(t.warning_bytes), bytes(t.critical_bytes))
        .min(0.0)];
    for e in &c.compared {
        let name = display_name(e.index);
        perf.push(Perf::new(name, e.bloat_bytes.max(0) as f64, "B").min(0.0));
        perf.push(
            Perf::new(format!("{name}_pct"), e.percent as f64, "%")
                .thresholds(t.warning_percent, t.critical_percent)
                .min(0.0),
        );
    }
    perf
}
