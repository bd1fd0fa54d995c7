//! Nagios mode: one status line with perfdata from the counts.

use mc_aws_common::nagios::{Check, NagiosArgs, Perf, Status, Threshold};
use mc_aws_common::output::{human_bytes, human_count};
use mc_aws_common::units::human_duration;

use crate::cli::CheckMetric;
use crate::count::Count;
use crate::report::Difference;

/// The Nagios service name on the status line.
pub const SERVICE: &str = "S3KEYS";

/// Evaluates `metric` over the counts (and their differences with the first).
pub fn evaluate(metric: CheckMetric, counts: &[Count], thresholds: &NagiosArgs) -> Check {
    let (warning, critical) = (thresholds.warning.as_ref(), thresholds.critical.as_ref());
    let diffs: Vec<Difference> = counts
        .iter()
        .skip(1)
        .map(|c| Difference::between(&counts[0], c))
        .collect();
    let many = counts.len() > 1;
    let label = |name: &str, url: &str| {
        if many {
            format!("{name} {url}")
        } else {
            name.to_string()
        }
    };
    let limits = |m: CheckMetric| {
        if m == metric {
            (
                warning.and_then(Threshold::simple_limit),
                critical.and_then(Threshold::simple_limit),
            )
        } else {
            (None, None)
        }
    };

    let mut worst = Status::Ok;
    let mut parts = Vec::new();
    let mut perf = Vec::new();
    for c in counts {
        let t = &c.tally.total;
        let url = c.url.to_string();
        let (ow, oc) = limits(CheckMetric::Objects);
        perf.push(
            Perf::new(label("objects", &url), t.objects as f64, "")
                .thresholds(ow, oc)
                .min(0.0),
        );
        let (bw, bc) = limits(CheckMetric::Bytes);
        perf.push(
            Perf::new(label("bytes", &url), t.bytes as f64, "B")
                .thresholds(bw, bc)
                .min(0.0),
        );
        let value = match metric {
            CheckMetric::Objects => Some(t.objects as f64),
            CheckMetric::Bytes => Some(t.bytes as f64),
            _ => None,
        };
        let s = value.map_or(Status::Ok, |v| Status::of(v, warning, critical));
        worst = worst.worst(s);
        if !metric.is_diff() {
            let text = format!(
                "{url} {} objects, {}",
                human_count(t.objects),
                human_bytes(t.bytes)
            );
            parts.push(if s == Status::Ok {
                text
            } else {
                format!("{text} ({s})")
            });
        }
    }
    for d in &diffs {
        let (ow, oc) = limits(CheckMetric::DiffObjects);
        let (bw, bc) = limits(CheckMetric::DiffBytes);
        let suffix = if diffs.len() > 1 {
            format!(" {}", d.to)
        } else {
            String::new()
        };
        perf.push(
            Perf::new(format!("diff_objects{suffix}"), d.objects as f64, "").thresholds(ow, oc),
        );
        perf.push(Perf::new(format!("diff_bytes{suffix}"), d.bytes as f64, "B").thresholds(bw, bc));
        let value = match metric {
            CheckMetric::DiffObjects => Some(d.objects as f64),
            CheckMetric::DiffBytes => Some(d.bytes as f64),
            _ => None,
        };
        if let Some(v) = value {
            let s = Status::of(v, warning, critical);
            worst = worst.worst(s);
            let text = d.sentence();
            parts.push(if s == Status::Ok {
                text
            } else {
                format!("{text} ({s})")
            });
        }
    }
    let elapsed = counts
        .iter()
        .map(|c| c.elapsed.as_secs_f64())
        .fold(0.0, f64::max);
    perf.push(Perf::new("time", (elapsed * 1000.0).round() / 1000.0, "s").min(0.0));
    // A count from an inventory report is as old as the report: say so.
    if let Some(inv) = counts.iter().find_map(|c| c.inventory.as_ref()) {
        parts.push(format!(
            "from the inventory of {} ({} old)",
            inv.created,
            human_duration(inv.age())
        ));
        perf.push(Perf::new("inventory_age", inv.age_seconds as f64, "s").min(0.0));
    }
    let mut check = Check::new(SERVICE, worst, parts.join("; "));
    check.perf = perf;
    check
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mc_aws_common::retry::StatsSnapshot;

    use super::*;
    use crate::tally::{Kind, Tally};

    struct Obj(u64);
    impl crate::tally::Countable for Obj {
        fn key(&self) -> &str {
            "k"
        }
        fn size(&self) -> u64 {
            self.0
        }
        fn storage_class(&self) -> Option<&str> {
            None
        }
        fn kind(&self) -> Kind {
            Kind::Object
        }
    }

    fn count(url: &str, objects: u64, size: u64) -> Count {
        let mut tally = Tally::new(None, false);
        for _ in 0..objects {
            tally.add(&Obj(size));
        }
        Count {
            url: url.parse().unwrap(),
            tally,
            multipart: None,
            elapsed: Duration::from_millis(1500),
            requests: StatsSnapshot::default(),
            splits: None,
            interrupted: false,
            inventory: None,
        }
    }

    fn th(warning: Option<&str>, critical: Option<&str>) -> NagiosArgs {
        NagiosArgs::from_ranges(warning, critical).unwrap()
    }

    #[test]
    fn objects_check_with_perfdata() {
        let c = [count("s3://abc/p/", 5, 10)];
        let check = evaluate(CheckMetric::Objects, &c, &th(Some("4"), Some("10")));
        assert_eq!(check.status, Status::Warning);
        assert_eq!(
            check.to_string(),
            "S3KEYS WARNING - s3://abc/p/ 5 objects, 50 B (WARNING) | 'objects'=5;4;10;0 'bytes'=50B;;;0 'time'=1.5s;;;0"
        );
        let check = evaluate(CheckMetric::Bytes, &c, &th(None, Some("~:49")));
        assert_eq!(check.status, Status::Critical);
        let check = evaluate(CheckMetric::Objects, &c, &th(Some("10:"), None));
        assert_eq!(check.status, Status::Warning, "too few objects");
    }

    #[test]
    fn diff_check_compares_with_the_first_url() {
        let c = [count("s3://src/", 10, 1), count("s3://dst/", 7, 1)];
        let check = evaluate(CheckMetric::DiffObjects, &c, &th(Some("2"), Some("5")));
        assert_eq!(check.status, Status::Warning);
        let line = check.to_string();
        assert!(
            line.starts_with("S3KEYS WARNING - s3://dst/ has 3 fewer objects and 3 B less data than s3://src/ (at 70.0% of its objects and 70.0% of its bytes) (WARNING) |"),
            "{line}"
        );
        assert!(
            line.contains("'diff_objects'=3;2;5 'diff_bytes'=3B "),
            "{line}"
        );
        assert!(line.contains("'objects s3://src/'=10;;;0"), "{line}");
        let check = evaluate(CheckMetric::DiffBytes, &c, &th(Some("5"), None));
        assert_eq!(check.status, Status::Ok);
    }
}
