//! The saved audit (`--save FILE`): the [`Summary`] as one small JSON
//! document, written atomically (a temporary file renamed over it), and
//! read back by `--nagios --from FILE --max-age DURATION`, which answers in
//! milliseconds whatever the bucket's size. A saved audit of another bucket
//! or folder is refused; one older than `--max-age` is stale (UNKNOWN).
//!
//! An S3 Inventory report (its Object ACL field) can feed the same summary
//! without reading ACLs: see [`super::scan::summarise_span`].

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mc_aws_common::error::ToolError;
use mc_aws_common::nagios::Check;
use mc_aws_common::s3url::S3Url;

use super::cli::AuditArgs;
use super::summary::{Summary, FORMAT, SERVICE};
use crate::error::Error;

/// The largest saved audit read (a summary is a few kilobytes).
const MAX_BYTES: u64 = 16 * 1024 * 1024;

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Writes `summary` to `path` atomically.
pub fn write(path: &Path, summary: &Summary) -> Result<(), Error> {
    let text = serde_json::to_vec_pretty(summary)
        .map_err(|e| ToolError::Other(format!("cannot encode the audit: {e}")))?;
    write_atomically(path, &text)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ToolError::file(path, e).into()
        })
}

/// Fails now, not after hours of reading ACLs, when `path` cannot be
/// written: creates and removes the temporary file beside it.
pub fn check_writable(path: &Path) -> Result<(), Error> {
    write_atomically(path, b"")?;
    std::fs::remove_file(path).map_err(|e| ToolError::file(path, e).into())
}

/// Reads a saved audit of `url`.
pub fn read(path: &Path, url: &S3Url) -> Result<Summary, Error> {
    let bad = |why: String| -> Error {
        ToolError::file(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, why),
        )
        .into()
    };
    let file = std::fs::File::open(path).map_err(|e| ToolError::file(path, e))?;
    let len = file.metadata().map_err(|e| ToolError::file(path, e))?.len();
    if len > MAX_BYTES {
        return Err(bad("too large for a saved audit".into()));
    }
    let text = std::fs::read(path).map_err(|e| ToolError::file(path, e))?;
    let summary: Summary =
        serde_json::from_slice(&text).map_err(|e| bad(format!("not a saved audit ({e})")))?;
    if summary.format != FORMAT {
        return Err(bad(format!(
            "format {:?}, expected {FORMAT}",
            summary.format
        )));
    }
    if summary.bucket != url.bucket || summary.prefix != url.prefix {
        return Err(bad(format!(
            "an audit of s3://{}/{}, not of {url}",
            summary.bucket, summary.prefix
        )));
    }
    Ok(summary)
}

/// The Nagios answer from a saved audit: UNKNOWN when stale.
pub fn check(args: &AuditArgs, path: &Path, max_age: Duration) -> Result<i32, Error> {
    let summary = read(path, &args.url)?;
    let age = now().saturating_sub(summary.written_at);
    if age > max_age.as_secs() {
        let line = format!(
            "{}: the saved audit is {} old, older than --max-age {}s: is the audit's cron job running?",
            path.display(),
            human_age(age),
            max_age.as_secs()
        );
        return Ok(Check::unknown(SERVICE, line).emit());
    }
    Ok(summary.check(&args.check, Some(age)).emit())
}

fn human_age(s: u64) -> String {
    match s {
        s if s >= 86_400 => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        s => format!("{s}s"),
    }
}
