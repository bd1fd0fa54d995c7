//! `--state FILE`: what a run has finished, so the same command resumes.
//!
//! Listing runs record the finished spans of the source key space as a
//! [`RangeSet`] (a resumed run lists only its complement); `--keys-from`
//! runs record how many input lines are done. The file names the run
//! (source, destination, shard, key file) so it is never applied to another
//! one, and is replaced atomically (temporary file + rename): an
//! interruption at any moment leaves either the old or the new state.

use std::io::Write;
use std::path::{Path, PathBuf};

use mc_aws_common::listing::{KeyRange, RangeSet};
use serde::{Deserialize, Serialize};

use crate::error::Error;

const VERSION: u32 = 1;

/// Which run a state file belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunId {
    pub source: String,
    pub destination: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_from: Option<String>,
}

/// The saved progress of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub run: RunId,
    /// Listing runs: the finished spans of the source key space.
    #[serde(default)]
    pub done: RangeSet,
    /// `--keys-from` runs: input lines finished (all lines before this one).
    #[serde(default)]
    pub lines_done: u64,
}

impl State {
    pub fn new(run: RunId) -> Self {
        Self {
            version: VERSION,
            run,
            done: RangeSet::new(),
            lines_done: 0,
        }
    }

    /// A fresh state for a run limited to `range` (a shard): everything
    /// outside it counts as done, so `done.complement()` is what is left.
    pub fn limited_to(run: RunId, range: &KeyRange) -> Self {
        let mut s = Self::new(run);
        if range.after.is_some() {
            s.done.insert(KeyRange::new(None, range.after.clone()));
        }
        if range.upto.is_some() {
            s.done.insert(KeyRange::new(range.upto.clone(), None));
        }
        s
    }

    /// The spans still to list (`None`: the whole prefix, nothing recorded).
    pub fn remaining(&self) -> Vec<KeyRange> {
        self.done.complement()
    }

    /// Reads `path`; `Ok(None)` when it does not exist yet.
    pub fn load(path: &Path, run: &RunId) -> Result<Option<State>, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        let state: State = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{}: not a state file of this tool ({e}); remove it or pick another --state",
                path.display()
            ))
        })?;
        if state.version != VERSION {
            return Err(Error::Usage(format!(
                "{}: state file version {} is not supported (expected {VERSION})",
                path.display(),
                state.version
            )));
        }
        if &state.run != run {
            return Err(Error::Usage(format!(
                "{}: state file belongs to another run ({} -> {}{}); remove it or pick another --state",
                path.display(),
                state.run.source,
                state.run.destination,
                state
                    .run
                    .shard
                    .as_deref()
                    .map(|s| format!(", shard {s}"))
                    .unwrap_or_default()
            )));
        }
        Ok(Some(state))
    }

    /// Writes the state atomically: a temporary file next to `path`, synced,
    /// then renamed over it.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let tmp = temp_path(path);
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            serde_json::to_writer_pretty(&mut f, self).map_err(std::io::Error::other)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp.{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunId {
        RunId {
            source: "s3://a/".into(),
            destination: "s3://b/".into(),
            shard: None,
            keys_from: None,
        }
    }

    #[test]
    fn saves_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(State::load(&path, &run()).unwrap(), None);
        let mut s = State::new(run());
        s.done.insert(KeyRange::new(None, Some("m".into())));
        s.save(&path).unwrap();
        let back = State::load(&path, &run()).unwrap().unwrap();
        assert_eq!(back, s);
        assert_eq!(
            back.remaining(),
            vec![KeyRange::new(Some("m".into()), None)]
        );
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_another_run_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        State::new(run()).save(&path).unwrap();
        let mut other = run();
        other.destination = "s3://c/".into();
        let err = State::load(&path, &other).unwrap_err();
        assert!(err.to_string().contains("another run"), "{err}");
        std::fs::write(&path, "not json").unwrap();
        assert!(State::load(&path, &run()).is_err());
    }

    #[test]
    fn shard_limits_what_remains() {
        let range = KeyRange::new(Some("c".into()), Some("f".into()));
        let s = State::limited_to(run(), &range);
        assert_eq!(s.remaining(), vec![range]);
        let s = State::limited_to(run(), &KeyRange::all());
        assert_eq!(s.remaining(), vec![KeyRange::all()]);
    }
}
