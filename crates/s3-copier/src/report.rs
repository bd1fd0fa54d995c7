//! Counters of a run and the final report (human table or one JSON object).

use std::time::Duration;

use mc_aws_common::output::{human_bytes, human_count, printable};
use mc_aws_common::retry::StatsSnapshot;
use serde::Serialize;

use crate::cost::{CopyProfile, Estimate};

/// Failures kept in the report (all are logged on stderr as they happen).
pub const MAX_FAILURES_KEPT: usize = 50;

/// One object that could not be copied or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub key: String,
    pub reason: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Counts of a `sync` run (or of one chunk of it, merged later).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Source objects compared.
    pub listed: u64,
    /// Source objects left out by --include/--exclude.
    #[serde(skip_serializing_if = "is_zero")]
    pub excluded: u64,
    pub missing: u64,
    pub different: u64,
    /// Destination-only objects.
    pub extra: u64,
    /// Copied (or, with --dry-run, to be copied).
    pub copied: u64,
    pub copied_bytes: u64,
    /// Copied in parts.
    pub multipart: u64,
    /// Already up to date.
    pub skipped: u64,
    /// Deleted at the destination (--delete), or to be deleted.
    pub deleted: u64,
    /// Not deleted: missing from the source's inventory report, but at the
    /// source when asked before the delete.
    #[serde(skip_serializing_if = "is_zero")]
    pub kept: u64,
    /// Source objects deleted between listing and copying (not failures).
    pub gone: u64,
    pub failed: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.listed += o.listed;
        self.excluded += o.excluded;
        self.missing += o.missing;
        self.different += o.different;
        self.extra += o.extra;
        self.copied += o.copied;
        self.copied_bytes += o.copied_bytes;
        self.multipart += o.multipart;
        self.skipped += o.skipped;
        self.deleted += o.deleted;
        self.kept += o.kept;
        self.gone += o.gone;
        self.failed += o.failed;
    }
}

/// The final report of `sync`.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// `"summary"`: every JSON line of the toolkit says what it is.
    pub kind: &'static str,
    pub source: String,
    pub dest: String,
    pub dry_run: bool,
    #[serde(flatten)]
    pub counts: Counts,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub elapsed_seconds: f64,
    /// Whether the run stopped early (signal or listing error).
    pub complete: bool,
    pub failures: Vec<Failure>,
    pub notes: Vec<String>,
    /// `--dry-run`: what copying the differences as a Batch Operations job costs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
    /// What the objects to copy are like.
    #[serde(skip)]
    pub profile: CopyProfile,
}

impl SyncReport {
    pub fn new(source: String, dest: String, dry_run: bool) -> Self {
        Self {
            kind: "summary",
            source,
            dest,
            dry_run,
            counts: Counts::default(),
            requests: 0,
            retries: 0,
            throttled: 0,
            elapsed_seconds: 0.0,
            complete: true,
            failures: Vec::new(),
            notes: Vec::new(),
            estimate: None,
            profile: CopyProfile::default(),
        }
    }

    pub fn finish(&mut self, stats: StatsSnapshot, elapsed: Duration) {
        self.requests = stats.requests;
        self.retries = stats.retries;
        self.throttled = stats.throttled;
        self.elapsed_seconds = (elapsed.as_secs_f64() * 1000.0).round() / 1000.0;
    }

    pub fn keep_failures(&mut self, f: impl IntoIterator<Item = Failure>) {
        for f in f {
            if self.failures.len() < MAX_FAILURES_KEPT {
                self.failures.push(f);
            }
        }
    }

    /// The human-readable report.
    pub fn human(&self) -> String {
        let c = &self.counts;
        let verb = if self.dry_run { "would copy" } else { "copied" };
        let del = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let rate = if self.elapsed_seconds > 0.0 && !self.dry_run {
            format!(" ({:.0}/s)", c.copied as f64 / self.elapsed_seconds)
        } else {
            String::new()
        };
        let mut rows: Vec<[String; 2]> = vec![
            ["source".into(), self.source.clone()],
            ["destination".into(), self.dest.clone()],
            ["compared".into(), human_count(c.listed)],
            [
                verb.into(),
                // Of what was found to copy: the failures are the rest.
                format!(
                    "{} of {} ({} missing, {} different), {}{rate}",
                    human_count(c.copied),
                    human_count(c.missing + c.different),
                    human_count(c.missing),
                    human_count(c.different),
                    human_bytes(c.copied_bytes)
                ),
            ],
            ["up to date".into(), human_count(c.skipped)],
            [del.into(), human_count(c.deleted)],
            ["gone at source".into(), human_count(c.gone)],
            ["failed".into(), human_count(c.failed)],
            [
                "requests".into(),
                format!(
                    "{} ({} retries, {} throttled)",
                    human_count(self.requests),
                    human_count(self.retries),
                    human_count(self.throttled)
                ),
            ],
            ["elapsed".into(), format!("{:.1}s", self.elapsed_seconds)],
        ];
        if c.excluded > 0 {
            let row = [
                "excluded".into(),
                format!("{} (--include/--exclude)", human_count(c.excluded)),
            ];
            rows.insert(3, row);
        }
        if c.kept > 0 {
            let row = [
                "kept".into(),
                format!(
                    "{} (not in the source's report, but at the source)",
                    human_count(c.kept)
                ),
            ];
            let after_deleted = rows
                .iter()
                .position(|r| r[0] == del)
                .map_or(rows.len(), |i| i + 1);
            rows.insert(after_deleted, row);
        }
        let mut out = String::new();
        if !self.complete {
            out.push_str("sync stopped early: run it again (with --state to skip what is done)\n");
        }
        for row in rows {
            out.push_str(&format!("{:<15} {}\n", row[0], row[1]));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        if let Some(e) = &self.estimate {
            out.push_str(&e.human());
        }
        if !self.failures.is_empty() {
            out.push_str("failures:\n");
            for f in &self.failures {
                out.push_str(&format!("  {}: {}\n", printable(&f.key), f.reason));
            }
            if c.failed > self.failures.len() as u64 {
                out.push_str(&format!(
                    "  ... and {} more (see the log on stderr)\n",
                    c.failed - self.failures.len() as u64
                ));
            }
        }
        out
    }
}
