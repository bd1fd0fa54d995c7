//! `--state FILE`: what a run over a key space has finished, so that the
//! same command resumes where it stopped (s3-copier sync, acl-reconciler).
//!
//! Listing runs record finished spans of the source key space as a
//! [`RangeSet`] (a resumed run lists only the rest); key-file runs record how
//! many input lines are done. A span is recorded only after everything in it
//! succeeded. The file names its run (tool, both places, the slice and the
//! arguments that decide what "done" means), and a checkpoint of another run,
//! or of another format, is refused with exit 2 and a way to start over:
//! never silently misread. It is replaced atomically (temporary file in the
//! same directory, fsync, rename): a crash leaves the old or the new one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ToolError;
use crate::listing::{KeyRange, RangeSet};

/// The format written now. Format 1 (before the two tools shared this
/// type) recorded neither the split points nor the arguments.
pub const FORMAT: u32 = 2;

/// Which run a checkpoint belongs to: a resumed run must be the same one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunId {
    /// The tool and command, e.g. `s3-copier sync`.
    pub tool: String,
    pub source: String,
    pub dest: String,
    /// The slice (`--shard`, and the split points' fingerprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The arguments that change what a finished span means (`--delete`,
    /// `--size-only`, `--apply`, a key file, ...), by flag name.
    #[serde(default)]
    pub args: BTreeMap<String, String>,
}

impl RunId {
    pub fn new(tool: &str, source: impl ToString, dest: impl ToString) -> Self {
        Self {
            tool: tool.to_string(),
            source: source.to_string(),
            dest: dest.to_string(),
            shard: None,
            args: BTreeMap::new(),
        }
    }

    /// Records an argument that must match on resume.
    pub fn arg(mut self, flag: &str, value: impl ToString) -> Self {
        self.args.insert(flag.to_string(), value.to_string());
        self
    }

    /// How this run differs from `other`, in words (`None`: the same run).
    fn difference(&self, other: &RunId) -> Option<String> {
        if (&self.tool, &self.source, &self.dest) != (&other.tool, &other.source, &other.dest) {
            return Some(format!(
                "it is of `{}` {} -> {}",
                other.tool, other.source, other.dest
            ));
        }
        if self.shard != other.shard {
            let shard = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".into());
            return Some(format!(
                "it covers shard {}, this run shard {}",
                shard(&other.shard),
                shard(&self.shard)
            ));
        }
        let flags: std::collections::BTreeSet<_> =
            self.args.keys().chain(other.args.keys()).collect();
        flags.into_iter().find_map(|flag| {
            let (mine, theirs) = (self.args.get(flag), other.args.get(flag));
            (mine != theirs).then(|| {
                let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "unset".into());
                format!(
                    "it was made with {flag} {}, this run has {}",
                    show(theirs),
                    show(mine)
                )
            })
        })
    }
}

/// The saved progress of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    pub run: RunId,
    /// Listing runs: finished spans of the source key space (everything
    /// outside the run's slice counts as finished).
    #[serde(default)]
    pub done: RangeSet,
    /// Key-file runs: input lines finished (every line before this one).
    #[serde(default)]
    pub lines_done: u64,
}

/// Only the version, to refuse other formats with a clear message.
#[derive(Deserialize)]
struct Versioned {
    version: u32,
}

impl Checkpoint {
    /// A fresh checkpoint of a run over `scope` (`None`: the whole prefix).
    pub fn new(run: RunId, scope: Option<&KeyRange>) -> Self {
        let mut cp = Self {
            version: FORMAT,
            run,
            done: RangeSet::new(),
            lines_done: 0,
        };
        cp.restart(scope);
        cp
    }

    /// Loads `path` if it exists and belongs to `run`; otherwise a fresh
    /// checkpoint. The flag says whether it was resumed.
    pub fn load_or_new(
        path: &Path,
        run: RunId,
        scope: Option<&KeyRange>,
    ) -> Result<(Self, bool), ToolError> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Self::new(run, scope), false))
            }
            Err(e) => return Err(ToolError::file(path, e)),
        };
        let start_over = |why: String| ToolError::Invalid {
            what: format!("--state {}", path.display()),
            message: format!("{why}; remove the file or pick another --state to start over"),
        };
        let version = serde_json::from_slice::<Versioned>(&text)
            .map_err(|e| start_over(format!("not a checkpoint ({e})")))?
            .version;
        if version != FORMAT {
            return Err(start_over(format!(
                "a checkpoint in format {version}, which this version does not read (format {FORMAT} also records the shard's split points and the arguments)"
            )));
        }
        let cp: Checkpoint = serde_json::from_slice(&text)
            .map_err(|e| start_over(format!("not a checkpoint ({e})")))?;
        if let Some(why) = run.difference(&cp.run) {
            return Err(start_over(format!("a checkpoint of another run: {why}")));
        }
        Ok((cp, true))
    }

    /// Forgets what was done: everything in `scope` is to do again.
    pub fn restart(&mut self, scope: Option<&KeyRange>) {
        self.done = RangeSet::new();
        self.lines_done = 0;
        if let Some(range) = scope {
            if range.after.is_some() {
                self.done.insert(KeyRange::new(None, range.after.clone()));
            }
            if range.upto.is_some() {
                self.done.insert(KeyRange::new(range.upto.clone(), None));
            }
            if range.is_empty() {
                self.done.insert(KeyRange::all());
            }
        }
    }

    /// The ranges still to list: `None` for the whole prefix when nothing is
    /// recorded (the lister then seeds its ranges from the first page).
    pub fn to_list(&self) -> Option<Vec<KeyRange>> {
        (!self.done.ranges().is_empty()).then(|| self.done.complement())
    }

    /// Whether every range is done.
    pub fn is_finished(&self) -> bool {
        self.done.is_complete()
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<(), ToolError> {
        crate::statefile::save_json(path, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunId {
        RunId::new("t sync", "s3://a/", "s3://b/").arg("--delete", false)
    }

    fn r(a: Option<&str>, u: Option<&str>) -> KeyRange {
        KeyRange::new(a.map(String::from), u.map(String::from))
    }

    #[test]
    fn saves_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (mut cp, resumed) = Checkpoint::load_or_new(&path, run(), None).unwrap();
        assert!(!resumed);
        assert_eq!(cp.to_list(), None);
        cp.done.insert(r(None, Some("m")));
        cp.save(&path).unwrap();
        let (back, resumed) = Checkpoint::load_or_new(&path, run(), None).unwrap();
        assert!(resumed);
        assert_eq!(back, cp);
        assert_eq!(back.to_list(), Some(vec![r(Some("m"), None)]));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_another_run_another_slice_other_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut sharded = run();
        sharded.shard = Some("1/4 splits:00ff".into());
        Checkpoint::new(sharded.clone(), None).save(&path).unwrap();
        let refused = |other: RunId| {
            let e = Checkpoint::load_or_new(&path, other, None).unwrap_err();
            assert_eq!(e.exit_code(), crate::exit::USAGE);
            e.to_string()
        };
        let e = refused(run());
        assert!(
            e.contains("shard 1/4 splits:00ff, this run shard none"),
            "{e}"
        );
        let mut other_splits = sharded.clone();
        other_splits.shard = Some("1/4 splits:0100".into());
        refused(other_splits);
        let e = refused(sharded.clone().arg("--delete", true));
        assert!(e.contains("--delete false, this run has true"), "{e}");
        assert!(e.contains("to start over"), "{e}");
        let mut other_dest = sharded.clone();
        other_dest.dest = "s3://c/".into();
        assert!(refused(other_dest).contains("another run"));
        assert!(Checkpoint::load_or_new(&path, sharded, None).unwrap().1);
    }

    #[test]
    fn refuses_older_formats_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // What s3-copier wrote before format 2.
        std::fs::write(
            &path,
            r#"{"version": 1, "source": "s3://a/", "dest": "s3://b/", "done": {"ranges": []}}"#,
        )
        .unwrap();
        let e = Checkpoint::load_or_new(&path, run(), None).unwrap_err();
        assert!(e.to_string().contains("format 1"), "{e}");
        assert_eq!(e.exit_code(), crate::exit::USAGE);
        std::fs::write(&path, "not json").unwrap();
        let e = Checkpoint::load_or_new(&path, run(), None).unwrap_err();
        assert!(e.to_string().contains("not a checkpoint"), "{e}");
    }

    #[test]
    fn a_slice_limits_what_is_left_and_restarts_within_it() {
        let scope = r(Some("c"), Some("f"));
        let mut cp = Checkpoint::new(run(), Some(&scope));
        assert_eq!(cp.to_list(), Some(vec![scope.clone()]));
        cp.done.insert(scope.clone());
        assert!(cp.is_finished());
        assert_eq!(cp.to_list(), Some(vec![]));
        cp.restart(Some(&scope));
        assert_eq!(cp.to_list(), Some(vec![scope]));
        // An empty slice (more shards than split points) has nothing to do.
        let empty = r(Some("k"), Some("k"));
        assert_eq!(Checkpoint::new(run(), Some(&empty)).to_list(), Some(vec![]));
        // The whole prefix: nothing recorded.
        assert_eq!(Checkpoint::new(run(), None).to_list(), None);
    }
}
