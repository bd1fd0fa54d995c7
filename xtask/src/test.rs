//! `cargo xtask test [--all] [-- <cargo test args>]`
//!
//! Installs the emulators if needed, starts one ministack and one moto for
//! the whole run, exports `MC_TEST_MINISTACK_URL` / `MC_TEST_MOTO_URL` so every
//! test process uses them, runs `cargo test --workspace` (xtask's own tests
//! included: `xtask/tests/demo.rs` runs `cargo xtask demo` at a small size),
//! and stops the emulators. `--all` also sets `MC_TEST_SLOW=1` (slow reliability
//! tests). The exit code is cargo test's.

use anyhow::{bail, Context, Result};
use mc_testkit::{Emulator, EmulatorKind};

use crate::{cargo, exit_code, workspace_root};

/// Parsed `xtask test` arguments.
#[derive(Debug, Default)]
pub(crate) struct TestArgs {
    /// Also run slow tests (`MC_TEST_SLOW=1`).
    pub all: bool,
    /// Passed to `cargo test` after the workspace selection.
    pub cargo_args: Vec<String>,
}

impl TestArgs {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut parsed = Self::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--all" => parsed.all = true,
                "--" => {
                    parsed.cargo_args.extend(iter.by_ref().cloned());
                }
                other => bail!("xtask test: unknown argument `{other}` (usage: cargo xtask test [--all] [-- <cargo test args>])"),
            }
        }
        Ok(parsed)
    }
}

pub(crate) fn run(args: &[String]) -> Result<u8> {
    let args = TestArgs::parse(args)?;
    run_tests(&args)
}

/// Run the workspace tests against shared emulators; returns cargo test's exit code.
pub(crate) fn run_tests(args: &TestArgs) -> Result<u8> {
    setup_emulators()?;

    let started = std::time::Instant::now();
    let ministack = Emulator::start(EmulatorKind::Ministack);
    let moto = Emulator::start(EmulatorKind::Moto);
    println!(
        "xtask test: ministack at {}, moto at {} (started in {:.1?})",
        ministack.endpoint(),
        moto.endpoint(),
        started.elapsed()
    );

    let mut cmd = cargo();
    cmd.arg("test");
    // An explicit package selection replaces the whole-workspace default.
    let selects_packages = args
        .cargo_args
        .iter()
        .any(|a| a == "-p" || a.starts_with("--package") || a.starts_with("-p"));
    if !selects_packages {
        cmd.arg("--workspace");
    }
    cmd.args(&args.cargo_args)
        .env(EmulatorKind::Ministack.url_env_var(), ministack.endpoint())
        .env(EmulatorKind::Moto.url_env_var(), moto.endpoint());
    if args.all {
        cmd.env("MC_TEST_SLOW", "1");
    }
    println!("xtask test: running {cmd:?}");
    let status = cmd.status().context("cannot run cargo test")?;

    // Stop the emulators now (they would also die with this process).
    drop(moto);
    drop(ministack);
    Ok(exit_code(status))
}

/// `scripts/setup-emulators.sh`: creates/updates `.venv/ministack`, `.venv/moto` and `.venv/cfn-lint`.
pub(crate) fn setup_emulators() -> Result<()> {
    let script = workspace_root().join("scripts/setup-emulators.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !status.success() {
        bail!("{} failed ({status})", script.display());
    }
    Ok(())
}
