//! `--state FILE`: the checkpoint of a sync, the key ranges already finished.
//!
//! A range is recorded only after every copy (and delete) in it succeeded,
//! so a resumed run lists only the rest, and nothing finished is listed or
//! copied again. The file is JSON, written atomically (temporary file in the
//! same directory, fsync, rename), so a crash leaves the old or the new
//! checkpoint, never half of one.

use std::io::Write;
use std::path::{Path, PathBuf};

use mc_aws_common::listing::RangeSet;
use serde::{Deserialize, Serialize};

/// What a checkpoint is of: a resumed run must compare the same two places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    pub source: String,
    pub dest: String,
    /// Finished source key ranges.
    pub done: RangeSet,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {path:?}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path:?}: not a checkpoint of s3-copier ({source})")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("state file {path:?} is for {was_source} -> {was_dest}, not {src} -> {dest}: use another file")]
    Mismatch {
        path: PathBuf,
        was_source: String,
        was_dest: String,
        src: String,
        dest: String,
    },
}

impl Checkpoint {
    pub fn new(source: &str, dest: &str) -> Self {
        Self {
            version: 1,
            source: source.to_string(),
            dest: dest.to_string(),
            done: RangeSet::new(),
        }
    }

    /// Loads `path`, or starts a new checkpoint when it does not exist.
    pub fn load_or_new(path: &Path, source: &str, dest: &str) -> Result<Self, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::new(source, dest))
            }
            Err(source) => {
                return Err(StateError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let cp: Checkpoint = serde_json::from_str(&text).map_err(|source| StateError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        if cp.source != source || cp.dest != dest {
            return Err(StateError::Mismatch {
                path: path.to_path_buf(),
                was_source: cp.source,
                was_dest: cp.dest,
                src: source.to_string(),
                dest: dest.to_string(),
            });
        }
        Ok(cp)
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".into());
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        let body = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&body).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mc_aws_common::listing::KeyRange;

    #[test]
    fn round_trips_and_refuses_other_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut cp = Checkpoint::load_or_new(&path, "s3://a/", "s3://b/").unwrap();
        cp.done.insert(KeyRange::new(None, Some("k".into())));
        cp.save(&path).unwrap();
        let back = Checkpoint::load_or_new(&path, "s3://a/", "s3://b/").unwrap();
        assert_eq!(back, cp);
        let err = Checkpoint::load_or_new(&path, "s3://a/", "s3://c/").unwrap_err();
        assert!(err.to_string().contains("not s3://a/ -> s3://c/"), "{err}");
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            Checkpoint::load_or_new(&path, "s3://a/", "s3://b/"),
            Err(StateError::Parse { .. })
        ));
        // No temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
