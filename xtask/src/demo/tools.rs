//! The real tool binaries: built with cargo, run against the emulator as
//! child processes that never outlive the demo.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::{cargo, exit_code};

/// The tools the demo runs, in the order it needs them.
pub(crate) const TOOLS: [&str; 3] = ["s3-key-counter", "s3-copier", "acl-reconciler"];

/// The built binaries and the environment that points them at the emulator.
pub(crate) struct Tools {
    bins: BTreeMap<String, PathBuf>,
    env: Vec<(String, String)>,
}

/// `cargo build -p <each tool>`; the binaries' paths come from cargo's own
/// artifact messages, so `CARGO_TARGET_DIR` and `--release` just work.
pub(crate) fn build(release: bool) -> Result<BTreeMap<String, PathBuf>> {
    let mut cmd = cargo();
    cmd.args(["build", "--message-format=json-render-diagnostics"]);
    if release {
        cmd.arg("--release");
    }
    for tool in TOOLS {
        cmd.args(["-p", tool]);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let out = cmd
        .spawn()
        .context("cannot run cargo build")?
        .wait_with_output()
        .context("cannot run cargo build")?;
    if !out.status.success() {
        bail!("cargo build of the tools failed ({})", out.status);
    }
    let mut bins = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        if let (Some(name), Some(exe)) =
            (msg["target"]["name"].as_str(), msg["executable"].as_str())
        {
            if TOOLS.contains(&name) {
                bins.insert(name.to_owned(), PathBuf::from(exe));
            }
        }
    }
    for tool in TOOLS {
        if !bins.contains_key(tool) {
            bail!("cargo build did not report a binary for {tool}");
        }
    }
    Ok(bins)
}

/// A finished tool run: its exit code and its `-o json` lines.
#[derive(Debug)]
pub(crate) struct Run {
    pub code: u8,
    pub lines: Vec<Value>,
    pub elapsed: Duration,
}

impl Run {
    /// The last line that has `field` (the report or summary line).
    pub(crate) fn last_with(&self, field: &str) -> Result<&Value> {
        self.lines
            .iter()
            .rev()
            .find(|l| l.get(field).is_some())
            .ok_or_else(|| anyhow!("no JSON line with `{field}` in the tool's output"))
    }
}

impl Tools {
    pub(crate) fn new(bins: BTreeMap<String, PathBuf>, env: Vec<(String, String)>) -> Self {
        Self { bins, env }
    }

    /// Where `tool` was built.
    pub(crate) fn path(&self, tool: &str) -> Option<&PathBuf> {
        self.bins.get(tool)
    }

    /// `tool args`, printed, with the emulator's environment (and no other
    /// `AWS_*` variable); stdout piped for the JSON, stderr shown (progress,
    /// warnings, errors), killed if the demo stops first.
    fn command(&self, tool: &str, args: &[&str]) -> Result<Command> {
        let bin = self
            .bins
            .get(tool)
            .ok_or_else(|| anyhow!("{tool} was not built"))?;
        println!("    $ {tool} {}", args.join(" "));
        let mut cmd = Command::new(bin);
        cmd.args(args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(&key);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        Ok(cmd)
    }

    /// Run `tool args` to the end (killed after `timeout`).
    pub(crate) async fn run(&self, tool: &str, args: &[&str], timeout: Duration) -> Result<Run> {
        let started = Instant::now();
        let child = self
            .command(tool, args)?
            .spawn()
            .with_context(|| format!("cannot start {tool}"))?;
        let out = tokio::time::timeout(timeout, child.wait_with_output())
            .await
            .map_err(|_| anyhow!("{tool} did not finish within {timeout:?}; killed it"))?
            .with_context(|| format!("waiting for {tool}"))?;
        Ok(Run {
            code: exit_code(out.status),
            lines: json_lines(&out.stdout),
            elapsed: started.elapsed(),
        })
    }

    /// Start `tool args` in the background (the live replication worker).
    pub(crate) fn spawn(&self, tool: &str, args: &[&str]) -> Result<Background> {
        let mut child = self
            .command(tool, args)?
            .spawn()
            .with_context(|| format!("cannot start {tool}"))?;
        // Drain stdout all along, so the child never blocks on a full pipe.
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("{tool}: no stdout pipe"))?;
        let reader = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf).await;
            buf
        });
        Ok(Background {
            tool: tool.to_owned(),
            child,
            reader,
            started: Instant::now(),
        })
    }
}

/// A child running in the background; SIGKILLed if dropped without [`Background::stop`].
pub(crate) struct Background {
    tool: String,
    child: Child,
    reader: JoinHandle<Vec<u8>>,
    started: Instant,
}

impl Background {
    /// Exited already? (`Some(code)`)
    pub(crate) fn exited(&mut self) -> Option<u8> {
        self.child.try_wait().ok().flatten().map(exit_code)
    }

    /// SIGTERM (the tools finish the work in flight and print their report),
    /// then wait up to `grace` before SIGKILL.
    pub(crate) async fn stop(mut self, grace: Duration) -> Result<Run> {
        if self.exited().is_none() {
            if let Some(pid) = self.child.id() {
                // std has no kill(2) with a signal of choice and unsafe is
                // denied here: ask the shell.
                let _ = Command::new("sh")
                    .args(["-c", "kill -TERM \"$1\"", "sh", &pid.to_string()])
                    .status()
                    .await;
            }
        }
        let status = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => status.with_context(|| format!("waiting for {}", self.tool))?,
            Err(_) => {
                eprintln!(
                    "xtask demo: {} did not stop within {grace:?}; killing it",
                    self.tool
                );
                self.child.kill().await.ok();
                self.child
                    .wait()
                    .await
                    .with_context(|| format!("waiting for {}", self.tool))?
            }
        };
        let stdout = self.reader.await.unwrap_or_default();
        Ok(Run {
            code: exit_code(status),
            lines: json_lines(&stdout),
            elapsed: self.started.elapsed(),
        })
    }
}

/// Every stdout line that parses as JSON.
fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
