//! `cargo xtask ci [--all] [--advisories] [--lean-disk]`: everything CI checks, in order,
//! stopping at the first failure:
//!
//! 1. `cargo fmt --all --check`
//! 2. `cargo deny check licenses bans sources` against `deny.toml` (plus
//!    `advisories` with `--advisories`: the RustSec database comes from
//!    GitHub, which not every machine can reach). cargo-deny is installed with
//!    `cargo install cargo-deny --locked` when missing (a few minutes of
//!    compiling, once per machine or CI cache); if that fails the step is
//!    skipped with a message, or fails when `CI` is set in the environment.
//! 3. pgindexbloat's normal dependency tree has no AWS SDK crate
//! 4. `cargo clippy --workspace --all-targets -- -D warnings`
//! 5. the tests, as `cargo xtask test` (`--all` adds the slow ones)
//! 6. `cargo install --path crates/<tool> --debug --locked` for every tool into
//!    a temp root, and `<tool> --version` runs, for every binary the crate
//!    installs (sqs-postman also installs `postman`). The installs share the
//!    workspace's `target/` so they reuse the test build's artifacts
//!    (`MC_CI_INSTALL_TARGET_DIR` overrides). With `--lean-disk` (what
//!    `.ci/run` passes on a clean clone) `target/debug` is removed first
//!    instead: the installs' feature sets differ from the tests', so they
//!    rebuild most crates anyway, and keeping both builds is what set
//!    target/'s peak size.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::test::{run_tests, TestArgs};
use crate::{cargo, exit_code, step, step_done, workspace_root};

/// The tool crates that ship a binary of the same name.
pub(crate) const TOOLS: &[&str] = &[
    "s3-key-counter",
    "s3-copier",
    "acl-reconciler",
    "sqs-postman",
    "spot-stack",
    "pgindexbloat",
];

/// Binaries a tool's crate installs besides the one named after it: the
/// original tools' command names that existing scripts call.
const ALSO_INSTALLS: &[(&str, &str)] = &[("sqs-postman", "postman")];

/// Crates that must not be in pgindexbloat's normal dependency tree.
const AWS_CRATE_PREFIXES: &[&str] = &["aws-sdk-", "aws-config"];

pub(crate) fn run(args: &[String]) -> Result<u8> {
    let mut all = false;
    let mut advisories = false;
    let mut lean_disk = false;
    for arg in args {
        match arg.as_str() {
            "--all" => all = true,
            "--advisories" => advisories = true,
            "--lean-disk" => lean_disk = true,
            other => bail!(
                "xtask ci: unknown argument `{other}` (usage: cargo xtask ci [--all] [--advisories] [--lean-disk])"
            ),
        }
    }

    run_step(
        "cargo fmt --all --check",
        cargo().args(["fmt", "--all", "--check"]),
    )?;

    let checks: &[&str] = if advisories {
        &["advisories", "licenses", "bans", "sources"]
    } else {
        &["licenses", "bans", "sources"]
    };
    let title = format!("cargo deny check {} (deny.toml)", checks.join(" "));
    if ensure_cargo_deny()? {
        run_step(
            &title,
            cargo()
                // Duplicate versions print as warnings (deny.toml), without the trees.
                .args(["deny", "check", "--hide-inclusion-graph"])
                .args(checks),
        )?;
    }

    let title = "pgindexbloat does not depend on the AWS SDK";
    let started = step(title);
    check_no_aws_in_pgindexbloat()?;
    step_done(title, started);

    run_step(
        "cargo clippy --workspace --all-targets -- -D warnings",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;

    let title = if all {
        "tests (cargo xtask test --all)"
    } else {
        "tests (cargo xtask test)"
    };
    let started = step(title);
    let code = run_tests(&TestArgs {
        all,
        cargo_args: Vec::new(),
    })?;
    if code != 0 {
        println!("==> {title}: FAILED (exit code {code})");
        return Ok(code);
    }
    step_done(title, started);

    if lean_disk {
        free_test_build()?;
    }
    let install_root = tempfile::Builder::new()
        .prefix("mc-ci-install-")
        .tempdir()
        .context("cannot create a temp dir for cargo install")?;
    let target_dir = std::env::var_os("MC_CI_INSTALL_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    for tool in TOOLS {
        let also = ALSO_INSTALLS.iter().filter(|(t, _)| t == tool);
        let bins: Vec<&str> = std::iter::once(*tool)
            .chain(also.map(|(_, b)| *b))
            .collect();
        let versions: Vec<String> = bins.iter().map(|b| format!("{b} --version")).collect();
        let title = format!(
            "cargo install --path crates/{tool} --debug --locked, then {}",
            versions.join(", ")
        );
        let started = step(&title);
        let status = cargo()
            .args(["install", "--debug", "--locked", "--path"])
            .arg(workspace_root().join("crates").join(tool))
            .arg("--root")
            .arg(install_root.path())
            .env("CARGO_TARGET_DIR", &target_dir)
            .status()
            .with_context(|| format!("cannot run cargo install for {tool}"))?;
        if !status.success() {
            bail!("cargo install of {tool} failed ({status})");
        }
        for bin in bins {
            check_installed(install_root.path(), tool, bin)?;
        }
        step_done(&title, started);
    }

    println!("\n==> ci: all steps passed");
    Ok(0)
}

/// Removes the test build (`target/debug`) before the installs, which
/// rebuild what they need with their own feature sets.
fn free_test_build() -> Result<()> {
    let title = "remove target/debug (--lean-disk: the tests are done)";
    let started = step(title);
    let debug = workspace_root().join("target").join("debug");
    if debug.exists() {
        std::fs::remove_dir_all(&debug)
            .with_context(|| format!("cannot remove {}", debug.display()))?;
    }
    step_done(title, started);
    Ok(())
}

/// `bin` (installed by `tool`'s crate) is in the install root and
/// `bin --version` runs.
fn check_installed(root: &std::path::Path, tool: &str, bin: &str) -> Result<()> {
    let path = root.join("bin").join(bin);
    if !path.is_file() {
        bail!("cargo install of {tool} did not produce {}", path.display());
    }
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", path.display()))?;
    if !out.status.success() {
        bail!(
            "`{bin} --version` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    print!("{bin}: {}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}

/// Whether `cargo deny` can run, installing it if missing. An install that
/// fails (no network) skips the check with a message, except under CI.
fn ensure_cargo_deny() -> Result<bool> {
    let present = |cmd: &mut Command| {
        cmd.args(["deny", "--version"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present(&mut cargo()) {
        return Ok(true);
    }
    let title = "cargo install cargo-deny --locked (not installed; takes a few minutes, once)";
    let started = step(title);
    let installed = cargo()
        .args(["install", "cargo-deny", "--locked"])
        .status()
        .is_ok_and(|s| s.success());
    if installed && present(&mut cargo()) {
        step_done(title, started);
        return Ok(true);
    }
    if std::env::var_os("CI").is_some() {
        bail!("cargo-deny is not installed and `cargo install cargo-deny --locked` failed");
    }
    println!(
        "==> SKIPPED the dependency check (licenses, bans, sources): cargo-deny is not \
         installed and could not be installed; run `cargo install cargo-deny --locked`"
    );
    Ok(false)
}

/// Run a command as a step; error (stopping CI) if it fails.
fn run_step(title: &str, cmd: &mut Command) -> Result<()> {
    let started = step(title);
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {title}"))?;
    if !status.success() {
        println!("==> {title}: FAILED ({status})");
        bail!("step `{title}` failed with exit code {}", exit_code(status));
    }
    step_done(title, started);
    Ok(())
}

fn check_no_aws_in_pgindexbloat() -> Result<()> {
    let out = cargo()
        .args([
            "tree",
            "-p",
            "pgindexbloat",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .context("cannot run cargo tree")?;
    if !out.status.success() {
        bail!(
            "cargo tree -p pgindexbloat failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let mut offenders: Vec<&str> = tree
        .lines()
        .filter(|line| {
            AWS_CRATE_PREFIXES
                .iter()
                .any(|p| line.trim_start().starts_with(p))
        })
        .collect();
    offenders.sort_unstable();
    offenders.dedup();
    if !offenders.is_empty() {
        bail!(
            "pgindexbloat must not pull in the AWS SDK, but its normal dependencies include:\n  {}",
            offenders.join("\n  ")
        );
    }
    let unique: std::collections::BTreeSet<&str> =
        tree.lines().map(|l| l.trim_end_matches(" (*)")).collect();
    println!(
        "pgindexbloat: {} crates in its normal dependency tree, none from the AWS SDK",
        unique.len()
    );
    Ok(())
}
