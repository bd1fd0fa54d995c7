//! The final table (what each step did, how long, how fast) and the verdict:
//! is the migration complete and exact?

use std::time::Duration;

use mc_aws_common::output::{human_bytes, human_count};

/// One row of the table.
pub(crate) struct Row {
    pub step: &'static str,
    pub tool: String,
    pub result: String,
    pub time: Duration,
    /// Objects (or keys) handled, for the rate; `None`: no rate column.
    pub work: Option<u64>,
}

impl Row {
    pub(crate) fn new(step: &'static str, tool: impl Into<String>, result: String) -> Self {
        Self {
            step,
            tool: tool.into(),
            result,
            time: Duration::ZERO,
            work: None,
        }
    }

    pub(crate) fn took(mut self, time: Duration, work: Option<u64>) -> Self {
        self.time = time;
        self.work = work;
        self
    }
}

/// `1.23 s`, `850 ms`.
pub(crate) fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// `1,234/s` (objects or keys per second).
pub(crate) fn rate(n: u64, d: Duration) -> String {
    let s = d.as_secs_f64();
    if s <= 0.0 {
        return "-".into();
    }
    let r = n as f64 / s;
    if r >= 100.0 {
        format!("{}/s", human_count(r.round() as u64))
    } else {
        format!("{r:.1}/s")
    }
}

/// `12 objects, 1.00 MiB`.
pub(crate) fn objects_bytes(objects: u64, bytes: u64) -> String {
    format!("{} objects, {}", human_count(objects), human_bytes(bytes))
}

/// The table: text columns left-aligned, time and rate right-aligned.
pub(crate) fn render(rows: &[Row]) -> String {
    let header = ["step", "tool", "result", "time", "rate"].map(str::to_owned);
    let cells: Vec<[String; 5]> = std::iter::once(header)
        .chain(rows.iter().map(|r| {
            [
                r.step.to_owned(),
                r.tool.clone(),
                r.result.clone(),
                secs(r.time),
                r.work.map_or_else(|| "-".into(), |n| rate(n, r.time)),
            ]
        }))
        .collect();
    let mut widths = [0usize; 5];
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &cells {
        let mut line = String::from("    ");
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            if i >= 3 {
                line.push_str(&format!("  {pad}{cell}"));
            } else {
                line.push_str(&format!("{}{cell}{pad}", if i > 0 { "  " } else { "" }));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The end state both buckets are checked for.
#[derive(Debug, Default)]
pub(crate) struct EndState {
    /// `s3-copier verify --acl` totals.
    pub checked: u64,
    pub missing: u64,
    pub different: u64,
    pub acl_different: u64,
    pub verify_errors: u64,
    /// `s3-key-counter` on both buckets.
    pub source: (u64, u64),
    pub dest: (u64, u64),
    /// What the application wrote in all (initial upload + live writes).
    pub written: (u64, u64),
    /// Messages the worker could not handle.
    pub worker_failed: u64,
}

impl EndState {
    /// Everything that is wrong; empty when the migration is complete and exact.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let mut check = |n: u64, what: &str| {
            if n > 0 {
                p.push(format!("{} {what}", human_count(n)));
            }
        };
        check(self.missing, "missing at the destination");
        check(self.different, "different at the destination");
        check(self.acl_different, "with a different ACL");
        check(self.verify_errors, "whose ACL could not be compared");
        check(self.worker_failed, "event messages the worker failed on");
        if self.source != self.dest {
            p.push(format!(
                "counts differ: source {}, destination {}",
                objects_bytes(self.source.0, self.source.1),
                objects_bytes(self.dest.0, self.dest.1)
            ));
        }
        if self.source != self.written {
            p.push(format!(
                "the source has {} but the application wrote {}",
                objects_bytes(self.source.0, self.source.1),
                objects_bytes(self.written.0, self.written.1)
            ));
        }
        if self.checked != self.source.0 {
            p.push(format!(
                "verify checked {} objects, the source has {}",
                human_count(self.checked),
                human_count(self.source.0)
            ));
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact() -> EndState {
        EndState {
            checked: 10,
            source: (10, 100),
            dest: (10, 100),
            written: (10, 100),
            ..EndState::default()
        }
    }

    #[test]
    fn an_exact_copy_has_no_problems() {
        assert!(exact().problems().is_empty());
    }

    #[test]
    fn every_kind_of_gap_is_a_problem() {
        let cases: [fn(&mut EndState); 6] = [
            |s| s.missing = 1,
            |s| s.different = 1,
            |s| s.acl_different = 1,
            |s| s.dest = (10, 99),
            |s| s.written = (11, 110),
            |s| s.worker_failed = 1,
        ];
        for change in cases {
            let mut s = exact();
            change(&mut s);
            assert_eq!(s.problems().len(), 1, "{s:?}");
        }
    }

    #[test]
    fn rates_and_times_read_well() {
        assert_eq!(rate(1500, Duration::from_secs(1)), "1,500/s");
        assert_eq!(rate(5, Duration::from_secs(2)), "2.5/s");
        assert_eq!(secs(Duration::from_millis(250)), "250 ms");
        assert_eq!(secs(Duration::from_millis(2500)), "2.50 s");
    }

    #[test]
    fn table_aligns_text_left_and_numbers_right() {
        let rows = [
            Row::new("backfill", "s3-copier sync", "copied 10".into())
                .took(Duration::from_secs(2), Some(10)),
            Row::new("live", "worker", "copied 2".into()).took(Duration::from_millis(12_500), None),
        ];
        assert_eq!(
            render(&rows),
            "    step      tool            result        time   rate\n\
             \x20   backfill  s3-copier sync  copied 10   2.00 s  5.0/s\n\
             \x20   live      worker          copied 2   12.50 s      -\n"
        );
    }
}
