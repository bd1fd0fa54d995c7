//! One log line per record handled (an S3 event record, a Batch Operations
//! task), at info (a failure at warn): the key, what came of it, the bytes
//! copied and the milliseconds it took, as structured fields. The Lambda
//! writes its log as JSON lines, so CloudWatch Logs Insights answers "what
//! was copied when" from these fields (`fields @timestamp, key, outcome,
//! bytes, ms | filter outcome = "copied"`); `worker -v` prints the same
//! fields as text.

use std::time::Duration;

use crate::copy::CopyError;
use crate::events::Outcome;

/// The `outcome` of a record whose handling failed.
pub const FAILED: &str = "failed";

/// What came of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled<'a> {
    pub key: &'a str,
    /// The S3 event name (`ObjectCreated:Put`), or `BatchOperations`.
    pub event: &'a str,
    /// `copied`, `acl-applied`, `deleted`, `ignored`, `stale`, `gone`, `failed`.
    pub outcome: &'static str,
    /// Bytes copied, for a copy.
    pub bytes: Option<u64>,
    pub took: Duration,
    /// Why it was ignored, or what failed.
    pub detail: Option<String>,
}

impl<'a> Handled<'a> {
    /// An S3 event record's line: `result` is `None` for a stale record
    /// (an older event than one already handled for the key).
    pub fn of_record(
        key: &'a str,
        event: &'a str,
        result: Option<&Result<Outcome, CopyError>>,
        took: Duration,
    ) -> Self {
        let (outcome, bytes, detail) = match result {
            None => ("stale", None, None),
            Some(Ok(Outcome::Copied { bytes })) => ("copied", Some(*bytes), None),
            Some(Ok(Outcome::AclApplied)) => ("acl-applied", None, None),
            Some(Ok(Outcome::Deleted)) => ("deleted", None, None),
            Some(Ok(Outcome::Ignored { why })) => ("ignored", None, Some(why.to_string())),
            Some(Ok(Outcome::Gone)) => (
                "gone",
                None,
                Some("the source object is gone since the event".into()),
            ),
            Some(Err(e)) => (FAILED, None, Some(e.to_string())),
        };
        Self {
            key,
            event,
            outcome,
            bytes,
            took,
            detail,
        }
    }

    /// Writes the line.
    pub fn log(&self) {
        let (key, event, outcome, bytes) = (self.key, self.event, self.outcome, self.bytes);
        let ms = self.took.as_millis() as u64;
        let detail = self.detail.as_deref();
        if outcome == FAILED {
            tracing::warn!(key, event, outcome, bytes, ms, detail, "record");
        } else {
            tracing::info!(key, event, outcome, bytes, ms, detail, "record");
        }
    }
}
