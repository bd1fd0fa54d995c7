//! Small JSON files that one run writes and another reads: a cron job's
//! count that a Nagios check reads (`s3-key-counter --save-state` /
//! `--from-state`), the event ages an `s3-copier worker` records for
//! `s3-copier lag`, the checkpoints of [`crate::checkpoint`].
//!
//! Written atomically (a temporary file in the same directory, fsync,
//! rename: a reader sees the old file or the new one, never half of one),
//! read with a size bound (a state file is small; a big one is not ours),
//! stamped with RFC 3339 UTC times so people can read them, and judged by
//! age: a check that reads a file nobody refreshed says so instead of
//! answering from old numbers.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ToolError;

/// The largest state file read: ours are a few hundred bytes.
pub const MAX_BYTES: u64 = 1 << 20;

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp.{}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `value` as pretty JSON (one trailing newline), atomically.
pub fn save_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ToolError> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| ToolError::Other(e.to_string()))?;
    text.push(b'\n');
    write_atomic(path, &text).map_err(|e| ToolError::file(path, e))
}

/// Reads the JSON state file `path`, which `flag` names on the command line:
/// a missing or unreadable file is a file error (exit 3 or 2), one that is
/// too big or not the expected JSON is invalid input (exit 2).
pub fn load_json<T: DeserializeOwned>(path: &Path, flag: &str) -> Result<T, ToolError> {
    let invalid = |message: String| ToolError::Invalid {
        what: format!("{flag} {}", path.display()),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| ToolError::file(path, e))?;
    let mut text = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| ToolError::file(path, e))?;
    if text.len() as u64 > MAX_BYTES {
        return Err(invalid(format!(
            "larger than {} KiB: not a state file",
            MAX_BYTES / 1024
        )));
    }
    serde_json::from_slice(&text).map_err(|e| invalid(format!("not a state file ({e})")))
}

/// A time as RFC 3339 in UTC (`2026-11-28T10:00:00.123Z`).
pub fn rfc3339(t: SystemTime) -> String {
    DateTime::from(t)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Parses an RFC 3339 time (as [`rfc3339`] writes it).
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, String> {
    let t = DateTime::from_str(s, Format::DateTime)
        .map_err(|_| format!("{s:?} is not an RFC 3339 time"))?;
    SystemTime::try_from(t).map_err(|_| format!("{s:?} is out of range"))
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How old something stamped `at` is at `now` (zero when `at` is ahead of
/// `now`: another machine's clock); `Err` with the age when it is older
/// than `max_age`.
pub fn age(at: SystemTime, now: SystemTime, max_age: Duration) -> Result<Duration, Duration> {
    let age = now.duration_since(at).unwrap_or_default();
    if age > max_age {
        return Err(age);
    }
    Ok(age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_ages_judge() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_000_000_123);
        let s = rfc3339(t);
        assert_eq!(s, "2026-11-18T11:06:40.123Z");
        assert_eq!(parse_rfc3339(&s).unwrap(), t);
        assert!(parse_rfc3339("yesterday").is_err());
        let now = t + Duration::from_secs(600);
        assert_eq!(
            age(t, now, Duration::from_secs(900)),
            Ok(Duration::from_secs(600))
        );
        let stale = age(t, now, Duration::from_secs(300));
        assert_eq!(stale, Err(Duration::from_secs(600)));
        // Another machine's clock ahead of ours: not stale, age zero.
        assert_eq!(age(now, t, Duration::ZERO), Ok(Duration::ZERO));
    }

    #[test]
    fn json_is_written_atomically_and_read_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        save_json(&path, &serde_json::json!({"n": 1})).unwrap();
        let back: serde_json::Value = load_json(&path, "--state").unwrap();
        assert_eq!(back["n"], 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        std::fs::write(&path, vec![b' '; MAX_BYTES as usize + 1]).unwrap();
        let e = load_json::<serde_json::Value>(&path, "--state").unwrap_err();
        assert_eq!(e.exit_code(), crate::exit::USAGE);
        assert!(e.to_string().contains("not a state file"), "{e}");
        std::fs::write(&path, "{").unwrap();
        let e = load_json::<serde_json::Value>(&path, "--state").unwrap_err();
        assert!(e.to_string().starts_with("--state "), "{e}");
        let e = load_json::<serde_json::Value>(&dir.path().join("nope"), "--state").unwrap_err();
        assert_eq!(e.exit_code(), crate::exit::NOT_FOUND);
        // A directory where the file should be: the write fails, nothing is left behind.
        assert!(save_json(dir.path(), &1).is_err());
    }
}
