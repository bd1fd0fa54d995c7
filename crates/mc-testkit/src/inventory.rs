//! S3 Inventory fixtures in AWS's documented layout, written by an
//! independent writer (`python/inventory_report.py`: Python's csv and gzip,
//! pyarrow for Parquet, in the `fixtures` venv of `scripts/setup-emulators.sh`),
//! so that our reader is checked against files no code of ours wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace_root;

/// A report written to a temp folder: `dir` holds the inventory bucket's
/// keys as paths; `folder` is the report's folder (relative, with `/`).
pub struct WrittenReport {
    pub dir: tempfile::TempDir,
    pub folder: String,
}

impl WrittenReport {
    /// Every file below `dir`, as (key, path).
    pub fn files(&self) -> Vec<(String, PathBuf)> {
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push((rel.to_string_lossy().replace('\\', "/"), path));
        }
    }
}

/// The Python of the fixtures venv (installed by `scripts/setup-emulators.sh`).
fn python() -> PathBuf {
    let venv = workspace_root().join(".venv").join("fixtures");
    if !venv.join(".installed").is_file() {
        let st = Command::new("bash")
            .arg(workspace_root().join("scripts").join("setup-emulators.sh"))
            .status()
            .unwrap_or_else(|e| panic!("cannot run setup-emulators.sh: {e}"));
        assert!(st.success(), "setup-emulators.sh failed");
    }
    venv.join("bin").join("python")
}

/// Writes the report `spec` describes (see `python/inventory_report.py`).
pub fn write_report(spec: &serde_json::Value) -> WrittenReport {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap_or_else(|e| panic!("spec: {e}"));
    let out = dir.path().join("bucket");
    let script = workspace_root().join("crates/mc-testkit/python/inventory_report.py");
    let run = Command::new(python())
        .arg(&script)
        .arg(&spec_path)
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        run.status.success(),
        "inventory_report.py failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let _ = std::fs::remove_file(&spec_path);
    // The temp dir holds the bucket's keys only.
    let bucket_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    copy_tree(&out, bucket_dir.path());
    WrittenReport {
        dir: bucket_dir,
        folder: String::from_utf8_lossy(&run.stdout).trim().to_string(),
    }
}

fn copy_tree(from: &Path, to: &Path) {
    let mut files = Vec::new();
    walk(from, from, &mut files);
    for (key, path) in files {
        let dest = to.join(&key);
        if let Some(parent) = dest.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::copy(&path, &dest).unwrap_or_else(|e| panic!("copy {key}: {e}"));
    }
}

/// Uploads a written report into `bucket` (keys as written).
#[cfg(feature = "aws")]
pub async fn upload(client: &aws_sdk_s3::Client, bucket: &str, report: &WrittenReport) {
    for (key, path) in report.files() {
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("read {key}: {e}"));
        client
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("upload {key}: {e:?}"));
    }
}
