//! `s3-copier-batch-manifest`: a Batch Operations manifest for 10M keys written from a key
//! list (`s3-copier batch manifest`, the writer `batch plan|create` use), against the obvious
//! script (Python's `csv` module and `urllib.parse.quote`, the manifest format's usual writer).
//! Local files only: no server. Each run is checked (untimed): one row per key, and the rows
//! of the awkward keys exactly as expected.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::ensure;

use super::framework::{Contender, Ctx, Plan, Scenario};

/// The scenario.
pub struct BatchManifest;

const BUCKET: &str = "bench-source";

const PEER: &str = r#"
import csv, sys
from urllib.parse import quote
bucket, keys, out = sys.argv[1:4]
with open(keys, encoding="utf-8", newline="\n") as f, open(out, "w", newline="") as o:
    w = csv.writer(o, lineterminator="\n")
    for line in f:
        key = line.rstrip("\n")
        if key:
            w.writerow([bucket, quote(key, safe="/~")])
"#;

/// The i-th key: paths like a photo store's, with a space, a `+` and unicode now and then.
fn key(i: usize) -> String {
    let name = match i % 100 {
        0 => format!("IMG {i:08}+edit.jpg"),
        1 => format!("café/日本/{i:08}.png"),
        _ => format!("IMG_{i:08}.jpg"),
    };
    format!(
        "tenant-{:03}/photos/{:04}/{:02}/{name}",
        i % 997,
        2000 + i % 25,
        i % 12 + 1
    )
}

/// Writes the key list; returns its path.
fn generate(dir: &Path, n: usize) -> anyhow::Result<PathBuf> {
    let path = dir.join("keys.txt");
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    for i in 0..n {
        writeln!(w, "{}", key(i))?;
    }
    w.flush()?;
    Ok(path)
}

/// Checks a written manifest: `n` rows, the first three as the format wants them.
fn check(path: &Path, n: usize) -> anyhow::Result<Option<String>> {
    let f = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut rows = 0usize;
    let want = [
        format!("{BUCKET},tenant-000/photos/2000/01/IMG%2000000000%2Bedit.jpg"),
        format!("{BUCKET},tenant-001/photos/2001/02/caf%C3%A9/%E6%97%A5%E6%9C%AC/00000001.png"),
        format!("{BUCKET},tenant-002/photos/2002/03/IMG_00000002.jpg"),
    ];
    for line in f.lines() {
        let line = line?;
        if let Some(w) = want.get(rows) {
            ensure!(&line == w, "row {rows}: {line:?}, expected {w:?}");
        }
        rows += 1;
    }
    ensure!(rows == n, "{rows} rows, expected {n}");
    Ok(None)
}

impl Scenario for BatchManifest {
    fn name(&self) -> &'static str {
        "s3-copier-batch-manifest"
    }

    fn about(&self) -> &'static str {
        "s3-copier batch manifest: a 10M-key Batch Operations manifest from a key list (target: seconds)"
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let n = ctx.keys(10_000_000);
        let keys = generate(ctx.scratch(), n)?;
        let keys_arg = keys.display().to_string();
        let (ours_out, peer_out) = (
            ctx.scratch().join("ours.csv"),
            ctx.scratch().join("peer.csv"),
        );
        let script = ctx.write_script("manifest.py", PEER)?.display().to_string();
        let ours_path = ours_out.clone();
        let ours = Contender::ours("s3-copier batch manifest", ctx.our_tool("s3-copier")?)
            .args([
                "batch",
                "manifest",
                "--bucket",
                BUCKET,
                "--keys-from",
                &keys_arg,
                "-f",
            ])
            .arg(ours_out.display().to_string())
            .check(move |_| check(&ours_path, n));
        let peer_path = peer_out.clone();
        let peer = Contender::peer("python3 csv + urllib.parse.quote", "python3")
            .args([script.as_str(), BUCKET, keys_arg.as_str()])
            .arg(peer_out.display().to_string())
            .check(move |_| check(&peer_path, n));
        Ok(Plan::new(format!("write a Batch Operations manifest of {n} keys"), n as u64)
            .contender(ours)
            .contender(peer)
            .note("local files: the key list (~560 MB at 10M keys) is read, every key URL-encoded, one row written per key"))
    }
}
