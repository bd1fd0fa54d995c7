//! The report: human text or JSON lines, per URL and the differences between URLs.

use std::collections::BTreeMap;

use mc_aws_common::output::{human_bytes, human_count, table, Format, Kinded};
use mc_aws_common::units::human_duration;
use serde::Serialize;

use crate::count::Count;
use crate::cross_check::Drift;
use crate::from_inventory::ReportInfo;
use crate::multipart::MultipartTally;
use crate::tally::Counts;

/// One `--output json` line for one URL (`"kind": "count"`).
#[derive(Debug, Serialize)]
pub struct CountLine<'a> {
    pub kind: &'static str,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub objects: u64,
    pub bytes: u64,
    pub bytes_human: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<VersionsJson>,
    pub elapsed_seconds: f64,
    pub keys_per_sec: f64,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_prefix: Option<Vec<GroupJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_storage_class: Option<Vec<GroupJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multipart: Option<&'a MultipartTally>,
    /// Only when stopped by a signal: the numbers are partial.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Counted from an inventory report: which, and how old.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory: Option<&'a ReportInfo>,
}

/// `--versions` totals.
#[derive(Debug, Serialize)]
pub struct VersionsJson {
    /// Current and noncurrent versions.
    pub versions: u64,
    pub version_bytes: u64,
    pub noncurrent_versions: u64,
    pub noncurrent_bytes: u64,
    pub delete_markers: u64,
}

/// One breakdown row.
#[derive(Debug, Serialize)]
pub struct GroupJson<'a> {
    pub name: &'a str,
    pub objects: u64,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noncurrent_versions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noncurrent_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_markers: Option<u64>,
}

/// How another URL compares with the first one (`"kind": "difference"`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Difference {
    pub kind: &'static str,
    /// The reference (the first URL).
    pub from: String,
    pub to: String,
    /// `from` objects minus `to` objects: how many the copy lacks (negative: it has more).
    pub objects: i128,
    /// `from` bytes minus `to` bytes.
    pub bytes: i128,
    /// `to` as a percentage of `from` (None when `from` is empty).
    pub objects_percent: Option<f64>,
    pub bytes_percent: Option<f64>,
}

impl Difference {
    pub fn between(from: &Count, to: &Count) -> Self {
        let (a, b) = (&from.tally.total, &to.tally.total);
        // Two decimals are plenty for a progress figure.
        let pct =
            |x: u64, y: u64| (x > 0).then(|| (y as f64 * 10_000.0 / x as f64).round() / 100.0);
        Self {
            kind: "difference",
            from: from.url.to_string(),
            to: to.url.to_string(),
            objects: i128::from(a.objects) - i128::from(b.objects),
            bytes: i128::from(a.bytes) - i128::from(b.bytes),
            objects_percent: pct(a.objects, b.objects),
            bytes_percent: pct(a.bytes, b.bytes),
        }
    }

    /// One sentence: "s3://b/ has 10 fewer objects and 1.00 KiB less data than
    /// s3://a/ (at 90.0% of its objects and 99.0% of its bytes)".
    pub fn sentence(&self) -> String {
        if self.objects == 0 && self.bytes == 0 {
            return format!(
                "{} has the same objects and bytes as {}",
                self.to, self.from
            );
        }
        let abs = |n: i128| u64::try_from(n.unsigned_abs()).unwrap_or(u64::MAX);
        let objects = match self.objects.signum() {
            0 => "the same number of objects".to_string(),
            1 => format!("{} fewer objects", human_count(abs(self.objects))),
            _ => format!("{} more objects", human_count(abs(self.objects))),
        };
        let bytes = match self.bytes.signum() {
            0 => "the same bytes".to_string(),
            1 => format!("{} less data", human_bytes(abs(self.bytes))),
            _ => format!("{} more data", human_bytes(abs(self.bytes))),
        };
        let pct = match (self.objects_percent, self.bytes_percent) {
            (Some(o), Some(b)) => format!(" (at {o:.1}% of its objects and {b:.1}% of its bytes)"),
            (Some(o), None) => format!(" (at {o:.1}% of its objects)"),
            _ => String::new(),
        };
        format!(
            "{} has {objects} and {bytes} than {}{pct}",
            self.to, self.from
        )
    }
}

fn versions_mode(c: &Count) -> bool {
    c.tally.total.noncurrent_versions > 0 || c.tally.total.delete_markers > 0
}

fn groups<'a>(map: &'a BTreeMap<String, Counts>, with_versions: bool) -> Vec<GroupJson<'a>> {
    map.iter()
        .map(|(name, c)| GroupJson {
            name,
            objects: c.objects,
            bytes: c.bytes,
            noncurrent_versions: with_versions.then_some(c.noncurrent_versions),
            noncurrent_bytes: with_versions.then_some(c.noncurrent_bytes),
            delete_markers: with_versions.then_some(c.delete_markers),
        })
        .collect()
}

/// The JSON line for one count. `versions`: whether `--versions` was asked for.
pub fn json_line<'a>(c: &'a Count, versions: bool, shard: Option<String>) -> CountLine<'a> {
    let t = &c.tally.total;
    let with_versions = versions || versions_mode(c);
    CountLine {
        kind: "count",
        url: c.url.to_string(),
        shard,
        objects: t.objects,
        bytes: t.bytes,
        bytes_human: human_bytes(t.bytes),
        versions: with_versions.then(|| VersionsJson {
            versions: t.versions(),
            version_bytes: t.version_bytes(),
            noncurrent_versions: t.noncurrent_versions,
            noncurrent_bytes: t.noncurrent_bytes,
            delete_markers: t.delete_markers,
        }),
        elapsed_seconds: (c.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        keys_per_sec: c.rate().round(),
        requests: c.requests.requests,
        retries: c.requests.retries,
        throttled: c.requests.throttled,
        by_prefix: c.tally.by_prefix().map(|m| groups(m, with_versions)),
        by_storage_class: c.tally.by_storage_class().map(|m| groups(m, with_versions)),
        multipart: c.multipart.as_ref(),
        interrupted: c.interrupted,
        inventory: c.inventory.as_ref(),
    }
}

/// `14.49 GiB (15,563,390,976 bytes)`
fn bytes_both(n: u64) -> String {
    format!("{} ({} bytes)", human_bytes(n), human_count(n))
}

/// The human report for one count.
pub fn human(c: &Count, versions: bool, shard: Option<&str>) -> String {
    let t = &c.tally.total;
    let mut rows: Vec<(String, String)> = Vec::new();
    rows.push(("objects".into(), human_count(t.objects)));
    rows.push(("bytes".into(), bytes_both(t.bytes)));
    if versions {
        rows.push((
            "versions".into(),
            format!(
                "{} ({} current + {} noncurrent)",
                human_count(t.versions()),
                human_count(t.objects),
                human_count(t.noncurrent_versions)
            ),
        ));
        rows.push(("version bytes".into(), bytes_both(t.version_bytes())));
        rows.push(("noncurrent bytes".into(), bytes_both(t.noncurrent_bytes)));
        rows.push(("delete markers".into(), human_count(t.delete_markers)));
    }
    if let Some(m) = &c.multipart {
        let mut s = format!(
            "{} ({} parts, {})",
            human_count(m.uploads),
            human_count(m.parts),
            human_bytes(m.bytes)
        );
        if let Some(o) = &m.oldest_initiated {
            s.push_str(&format!(", oldest started {o}"));
        }
        rows.push(("incomplete uploads".into(), s));
    }
    if let Some(inv) = &c.inventory {
        rows.push((
            "from inventory".into(),
            format!(
                "{} (created {}, {} old)",
                inv.report,
                inv.created,
                human_duration(inv.age())
            ),
        ));
    }
    rows.push((
        "elapsed".into(),
        format!("{:.2} s", c.elapsed.as_secs_f64()),
    ));
    rows.push((
        "rate".into(),
        format!("{} keys/s", human_count(c.rate().round() as u64)),
    ));
    rows.push((
        "requests".into(),
        if c.requests.retries > 0 {
            format!(
                "{} ({} retried, {} throttled)",
                human_count(c.requests.requests),
                human_count(c.requests.retries),
                human_count(c.requests.throttled)
            )
        } else {
            human_count(c.requests.requests)
        },
    ));
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut out = match shard {
        Some(s) => format!("{} (shard {s})\n", c.url),
        None => format!("{}\n", c.url),
    };
    if c.interrupted {
        out.push_str("  interrupted: partial count (what was listed before the signal)\n");
    }
    for (k, v) in rows {
        out.push_str(&format!("  {k:<width$}  {v}\n"));
    }
    if let Some(m) = c.tally.by_prefix() {
        out.push('\n');
        out.push_str(&breakdown("prefix", m, versions, |n| {
            if n.is_empty() {
                "(top level)".to_string()
            } else {
                n.to_string()
            }
        }));
    }
    if let Some(m) = c.tally.by_storage_class() {
        out.push('\n');
        out.push_str(&breakdown("storage class", m, versions, str::to_string));
    }
    out
}

fn breakdown(
    title: &str,
    map: &BTreeMap<String, Counts>,
    versions: bool,
    name: impl Fn(&str) -> String,
) -> String {
    let mut headers = vec![title, "objects", "bytes"];
    if versions {
        headers.extend(["noncurrent", "noncurrent bytes", "delete markers"]);
    }
    let rows: Vec<Vec<String>> = map
        .iter()
        .map(|(n, c)| {
            let mut row = vec![name(n), human_count(c.objects), human_bytes(c.bytes)];
            if versions {
                row.extend([
                    human_count(c.noncurrent_versions),
                    human_bytes(c.noncurrent_bytes),
                    human_count(c.delete_markers),
                ]);
            }
            row
        })
        .collect();
    table(&headers, &rows)
}

/// The comparison table for two or more URLs.
pub fn human_comparison(counts: &[Count], diffs: &[Difference]) -> String {
    let rows: Vec<Vec<String>> = counts
        .iter()
        .map(|c| {
            vec![
                c.url.to_string(),
                human_count(c.tally.total.objects),
                human_bytes(c.tally.total.bytes),
                human_count(c.tally.total.bytes),
                format!("{:.2} s", c.elapsed.as_secs_f64()),
            ]
        })
        .collect();
    let mut out = table(
        &["url", "objects", "bytes", "exact bytes", "elapsed"],
        &rows,
    );
    for d in diffs {
        out.push_str(&d.sentence());
        out.push('\n');
    }
    out
}

/// The cross-check's findings (`--cross-check`): a JSON line (`"kind":
/// "drift"`) or a paragraph.
pub fn write_drift(w: &mut impl std::io::Write, d: &Drift, format: Format) -> std::io::Result<()> {
    if format == Format::Json {
        serde_json::to_writer(
            &mut *w,
            &Kinded {
                kind: "drift",
                value: d,
            },
        )?;
        return writeln!(w);
    }
    writeln!(
        w,
        "\ncross-check: {} ranges listed live ({} keys in the report, {} now; {:.4}% of the report)",
        d.ranges,
        human_count(d.report_keys),
        human_count(d.live_keys),
        d.share * 100.0
    )?;
    writeln!(
        w,
        "  since the report: {} added, {} removed, {} changed",
        human_count(d.added),
        human_count(d.removed),
        human_count(d.changed)
    )?;
    writeln!(
        w,
        "  whole bucket, extrapolated: about {} added, {} removed, {} changed",
        human_count(d.estimated_added),
        human_count(d.estimated_removed),
        human_count(d.estimated_changed)
    )
}
