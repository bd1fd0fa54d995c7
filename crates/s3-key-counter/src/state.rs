//! `--save-state FILE` and `--from-state FILE --max-age DURATION`: checks
//! that answer within check_nrpe's 10 s whatever the bucket's size.
//!
//! Listing 25M keys takes tens of seconds however parallel, longer than a
//! Nagios check may. So a cron job counts (`--save-state`: the counts, what
//! was counted, when and how) and the check reads what it wrote
//! (`--from-state --check ...`, no AWS call at all). A count older than
//! `--max-age` is UNKNOWN: the check never passes on numbers nobody
//! refreshed. The age is the data's: when the listing began, or, for a
//! count taken from an S3 Inventory report (`source.kind = "inventory"`,
//! written by the inventory-based count), when the report was made.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use mc_aws_common::error::ToolError;
use mc_aws_common::nagios::{Check, Perf};
use mc_aws_common::output::{human_bytes, human_count, Format};
use mc_aws_common::retry::StatsSnapshot;
use mc_aws_common::s3url::S3Url;
use mc_aws_common::statefile;
use mc_aws_common::units::human_duration;
use serde::{Deserialize, Serialize};

use crate::count::Count;
use crate::report::Difference;
use crate::tally::{Counts, Tally};

/// What the file says it is (`kind`), and its format.
pub const KIND: &str = "s3-key-counter count";
pub const VERSION: u32 = 1;

/// The state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountState {
    pub kind: String,
    pub version: u32,
    pub written_at: String,
    /// One per URL, the reference first (as on the command line).
    pub counts: Vec<SavedCount>,
}

/// The count of one URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedCount {
    pub url: String,
    /// When the numbers describe the bucket (a listing's start, an
    /// inventory report's date): `--max-age` is measured from here.
    pub counted_at: String,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// objects, bytes (current versions), and with `--versions` the
    /// noncurrent versions, their bytes and the delete markers.
    #[serde(flatten)]
    pub totals: Counts,
}

/// How the numbers were obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A live listing by this tool.
    Listing {
        elapsed_seconds: f64,
        requests: u64,
        /// ListObjectVersions (`--versions`) rather than ListObjectsV2.
        versions: bool,
    },
    /// An S3 Inventory report (`manifest`: its manifest.json).
    Inventory { manifest: String },
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Listing {
                elapsed_seconds, ..
            } => format!("by listing in {elapsed_seconds:.2} s"),
            Source::Inventory { manifest } => format!("from the inventory report {manifest}"),
        }
    }
}

/// The state of a finished count that began at `started`.
pub fn of_counts(
    counts: &[Count],
    started: SystemTime,
    versions: bool,
    shard: Option<String>,
) -> CountState {
    let counted_at = statefile::rfc3339(started);
    CountState {
        kind: KIND.into(),
        version: VERSION,
        written_at: statefile::rfc3339(SystemTime::now()),
        counts: counts
            .iter()
            .map(|c| SavedCount {
                url: c.url.to_string(),
                // A count from a report is as old as the report.
                counted_at: c
                    .inventory
                    .as_ref()
                    .map_or_else(|| counted_at.clone(), |i| i.created.clone()),
                source: match &c.inventory {
                    Some(i) => Source::Inventory {
                        manifest: format!("{}manifest.json", i.report),
                    },
                    None => Source::Listing {
                        elapsed_seconds: (c.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                        requests: c.requests.requests,
                        versions,
                    },
                },
                shard: shard.clone(),
                totals: c.tally.total,
            })
            .collect(),
    }
}

/// A count read back, judged fresh.
#[derive(Debug)]
pub struct Loaded {
    pub counts: Vec<Count>,
    pub saved: Vec<SavedCount>,
    /// The oldest count's age.
    pub age: Duration,
}

impl Loaded {
    /// "counted 12m 5s ago by listing in 41.20 s".
    pub fn describe(&self) -> String {
        let how = self
            .saved
            .first()
            .map(|s| format!(" {}", s.source.describe()))
            .unwrap_or_default();
        format!("counted {} ago{how}", human_duration(self.age))
    }
}

/// Marks a check answered from the state: the age instead of the run
/// time in the perfdata, and in the text.
pub fn annotate(check: &mut Check, loaded: &Loaded) {
    check.perf.retain(|p| p.label != "time");
    check
        .perf
        .push(Perf::new("age", loaded.age.as_secs() as f64, "s").min(0.0));
    check.summary = format!("{}; {}", check.summary, loaded.describe());
}

/// One `-o json` line per saved count (`"kind": "count"`).
#[derive(Debug, Serialize)]
struct SavedLine<'a> {
    kind: &'static str,
    #[serde(flatten)]
    saved: &'a SavedCount,
    age_seconds: u64,
}

/// The report of the saved counts: each URL's, then the differences with
/// the first (as a live count prints them).
pub fn write_report(
    w: &mut impl Write,
    format: Format,
    loaded: &Loaded,
    now: SystemTime,
) -> std::io::Result<()> {
    let diffs: Vec<Difference> = loaded.counts[1..]
        .iter()
        .map(|c| Difference::between(&loaded.counts[0], c))
        .collect();
    for s in &loaded.saved {
        let age = statefile::parse_rfc3339(&s.counted_at)
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default();
        if format == Format::Json {
            let line = SavedLine {
                kind: "count",
                saved: s,
                age_seconds: age.as_secs(),
            };
            serde_json::to_writer(&mut *w, &line)?;
            writeln!(w)?;
            continue;
        }
        writeln!(w, "{}", s.url)?;
        writeln!(w, "  objects  {}", human_count(s.totals.objects))?;
        let b = s.totals.bytes;
        writeln!(
            w,
            "  bytes    {} ({} bytes)",
            human_bytes(b),
            human_count(b)
        )?;
        let when = format!("{} ({} ago)", s.counted_at, human_duration(age));
        writeln!(w, "  counted  {when} {}", s.source.describe())?;
    }
    for d in diffs {
        if format == Format::Json {
            serde_json::to_writer(&mut *w, &d)?;
            writeln!(w)?;
        } else {
            writeln!(w, "{}", d.sentence())?;
        }
    }
    Ok(())
}

/// Reads `path`: a count of `urls` (any, when none are given) no older
/// than `max_age` at `now`.
pub fn load(
    path: &Path,
    urls: &[S3Url],
    max_age: Duration,
    now: SystemTime,
) -> Result<Loaded, ToolError> {
    let state: CountState = statefile::load_json(path, "--from-state")?;
    let invalid = |message: String| ToolError::Invalid {
        what: format!("--from-state {}", path.display()),
        message,
    };
    if state.kind != KIND || state.version != VERSION || state.counts.is_empty() {
        return Err(invalid(format!(
            "not a count of this version (kind {:?}, version {}, {} counts)",
            state.kind,
            state.version,
            state.counts.len()
        )));
    }
    let saved: Vec<&str> = state.counts.iter().map(|c| c.url.as_str()).collect();
    let asked: Vec<String> = urls.iter().map(S3Url::to_string).collect();
    if !asked.is_empty() && asked != saved {
        return Err(invalid(format!(
            "it counts {}, the command line names {}",
            saved.join(" "),
            asked.join(" ")
        )));
    }
    let mut counts = Vec::new();
    let mut oldest = Duration::ZERO;
    for s in &state.counts {
        let at = statefile::parse_rfc3339(&s.counted_at).map_err(invalid)?;
        let age = statefile::age(at, now, max_age).map_err(|age| {
            invalid(format!(
                "the count of {} is {} old, more than --max-age {}; is the cron job (--save-state) running?",
                s.url,
                human_duration(age),
                human_duration(max_age)
            ))
        })?;
        oldest = oldest.max(age);
        counts.push(count_of(s).map_err(invalid)?);
    }
    Ok(Loaded {
        counts,
        saved: state.counts,
        age: oldest,
    })
}

/// A [`Count`] with the saved totals (no breakdowns, no requests).
fn count_of(s: &SavedCount) -> Result<Count, String> {
    let url: S3Url = s.url.parse().map_err(|e| format!("{}: {e}", s.url))?;
    let mut tally = Tally::new(None, false);
    tally.total = s.totals;
    let elapsed = match &s.source {
        Source::Listing {
            elapsed_seconds, ..
        } => Duration::try_from_secs_f64(*elapsed_seconds).unwrap_or_default(),
        Source::Inventory { .. } => Duration::ZERO,
    };
    Ok(Count {
        url,
        tally,
        multipart: None,
        elapsed,
        requests: StatsSnapshot::default(),
        splits: None,
        interrupted: false,
        // The state's own annotation says where the count came from.
        inventory: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000 + secs)
    }

    fn state() -> CountState {
        let mut tally = Tally::new(None, false);
        tally.total.objects = 25_004_112;
        tally.total.bytes = 15_935_232_114_688;
        let count = Count {
            url: "s3://assets".parse().unwrap(),
            tally,
            multipart: None,
            elapsed: Duration::from_millis(41_200),
            requests: StatsSnapshot::default(),
            splits: None,
            interrupted: false,
            inventory: None,
        };
        of_counts(&[count], at(0), false, None)
    }

    #[test]
    fn the_file_says_what_when_and_how() {
        let v = serde_json::to_value(state()).unwrap();
        assert_eq!(v["kind"], "s3-key-counter count");
        let c = &v["counts"][0];
        assert_eq!(c["url"], "s3://assets/");
        assert_eq!(c["counted_at"], "2026-11-18T11:06:40Z");
        assert_eq!(c["objects"], 25_004_112);
        assert_eq!(c["source"]["kind"], "listing");
        assert_eq!(c["source"]["elapsed_seconds"], 41.2);
        // What an inventory-based count writes reads the same way.
        let inv: SavedCount = serde_json::from_value(serde_json::json!({
            "url": "s3://assets/", "counted_at": "2026-11-18T01:00:00Z",
            "source": {"kind": "inventory", "manifest": "s3://inv/assets/all/2026-11-18T01-00Z/manifest.json"},
            "objects": 1, "bytes": 2, "noncurrent_versions": 0, "noncurrent_bytes": 0, "delete_markers": 0
        }))
        .unwrap();
        assert!(inv
            .source
            .describe()
            .starts_with("from the inventory report s3://inv/"));
    }

    #[test]
    fn loads_fresh_refuses_stale_foreign_and_other_urls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("count.json");
        statefile::save_json(&path, &state()).unwrap();
        let hour = Duration::from_secs(3600);
        let l = load(&path, &[], hour, at(725)).unwrap();
        assert_eq!(l.counts[0].tally.total.objects, 25_004_112);
        assert_eq!(l.describe(), "counted 12m 5s ago by listing in 41.20 s");
        let e = load(&path, &[], hour, at(3601)).unwrap_err();
        assert!(
            e.to_string()
                .contains("the count of s3://assets/ is 1h 0m old, more than --max-age 1h 0m"),
            "{e}"
        );
        let other = ["s3://other".parse().unwrap()];
        let e = load(&path, &other, hour, at(1)).unwrap_err();
        assert!(
            e.to_string()
                .contains("it counts s3://assets/, the command line names s3://other/"),
            "{e}"
        );
        let same = ["s3://assets".parse().unwrap()];
        assert!(load(&path, &same, hour, at(1)).is_ok());
        std::fs::write(
            &path,
            r#"{"kind": "s3-copier worker lag", "version": 1, "written_at": "x", "counts": []}"#,
        )
        .unwrap();
        let e = load(&path, &[], hour, at(1)).unwrap_err();
        assert_eq!(e.exit_code(), mc_aws_common::exit::USAGE);
    }
}
