//! Counting from an S3 Inventory report instead of listing: every row of
//! the report under the URL's prefix (and in the shard's range) goes
//! through the same [`Tally`] a listing feeds, with the report's age kept
//! for every output. A damaged report fails the count: no partial count is
//! ever reported as one.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use indicatif::ProgressBar;
use mc_aws_common::error::ToolError;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::inventory::{InventoryRow, Report};
use mc_aws_common::listing::Detail;
use mc_aws_common::retry::StatsSnapshot;
use mc_aws_common::s3url::S3Url;
use serde::Serialize;

use crate::count::{Count, CountOptions};
use crate::splits::KeySample;
use crate::tally::{Countable, Kind};

/// Which report a count came from, and how old it is.
#[derive(Debug, Clone, Serialize)]
pub struct ReportInfo {
    /// The report's folder (`s3://inventory/.../2026-12-06T01-00Z/`).
    pub report: String,
    /// When S3 began scanning for it (RFC 3339).
    pub created: String,
    pub age_seconds: u64,
    /// Whether it lists every version.
    pub versioned: bool,
}

impl ReportInfo {
    pub fn of(report: &Report) -> Self {
        let created = report
            .created
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            report: report.store.describe(&report.folder),
            created: DateTime::from_secs(created.as_secs() as i64)
                .fmt(DateTimeFormat::DateTime)
                .unwrap_or_default(),
            age_seconds: report.age().as_secs(),
            versioned: report.is_versioned(),
        }
    }

    pub fn age(&self) -> Duration {
        Duration::from_secs(self.age_seconds)
    }
}

/// A row as the tally sees it.
struct Row<'a> {
    row: &'a InventoryRow,
    versions: bool,
}

impl Countable for Row<'_> {
    fn key(&self) -> &str {
        &self.row.entry.key
    }
    fn size(&self) -> u64 {
        self.row.entry.size
    }
    fn storage_class(&self) -> Option<&str> {
        self.row.entry.storage_class.as_deref()
    }
    fn kind(&self) -> Kind {
        match (self.versions, self.row.is_delete_marker) {
            (false, _) => Kind::Object,
            (true, true) => Kind::DeleteMarker,
            (true, false) => Kind::Version {
                latest: self.row.is_latest,
            },
        }
    }
}

/// What a count from a report leaves besides the [`Count`]: the sample of
/// its keys (for split points and a cross-check).
pub struct Counted {
    pub count: Count,
    pub sample: KeySample,
}

/// Counts `url` from `report`, sampling its keys when `sample_keys` (the
/// sample costs a random slot's cache miss per kept key: only
/// `--emit-splits` and `--cross-check` pay it).
pub async fn count_report(
    report: &Arc<Report>,
    url: &S3Url,
    opts: &CountOptions,
    sample_keys: bool,
    progress: &ProgressBar,
    stop: &Interrupt,
) -> Result<Counted, ToolError> {
    let start = Instant::now();
    let mut tally = opts.tally(url);
    let mut sample = KeySample::new();
    let mut rows = report.rows(Detail::Counts, files_at_once());
    let signal = stop.wait();
    tokio::pin!(signal);
    let mut interrupted = false;
    loop {
        let batch = tokio::select! {
            () = &mut signal => { interrupted = true; break }
            b = rows.recv() => match b {
                Some(b) => b?,
                None => break,
            },
        };
        for row in batch.iter().filter(|r| wanted(r, url, opts)) {
            tally.add(&Row {
                row,
                versions: opts.versions,
            });
            if sample_keys && row.is_latest && !row.is_delete_marker {
                sample.offer(&row.entry.key);
            }
        }
        progress.inc(batch.len() as u64);
    }
    let count = Count {
        url: url.clone(),
        tally,
        multipart: None,
        elapsed: start.elapsed(),
        requests: StatsSnapshot::default(),
        splits: None,
        interrupted,
        inventory: Some(ReportInfo::of(report)),
    };
    Ok(Counted { count, sample })
}

/// Whether a row counts: under the prefix, in the shard's range, and a
/// current object unless every version is counted.
fn wanted(row: &InventoryRow, url: &S3Url, opts: &CountOptions) -> bool {
    let key = &row.entry.key;
    // Flags first: a key's bytes, written by a reader thread, are a cache
    // miss here, to be paid only when a prefix or a range needs them.
    (opts.versions || (row.is_latest && !row.is_delete_marker))
        && (url.prefix.is_empty() || key.starts_with(url.prefix.as_str()))
        && opts.range.as_ref().is_none_or(|r| r.contains(key))
}

/// Data files read at once: one per core (decompressing and parsing is the
/// work), at least two so one file's download overlaps another's parsing.
pub fn files_at_once() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}
