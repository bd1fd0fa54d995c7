//! `cargo xtask`: the project's own automation (tests, CI, benchmarks, demo).
//!
//! A small dispatcher: each subcommand lives in its own module exposing
//! `pub fn run(args: &[String]) -> anyhow::Result<u8>` (the exit code).
//! To add one, add `mod name;`, a match arm in `main` and a line in `USAGE`.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

mod bench;
mod ci;
mod demo;
mod dist;
mod fuzz;
mod test;
// Further subcommands (bench, demo, dist, fuzz) go here as their own modules.

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  test [--all] [-- <cargo test args>]   run the workspace tests against one shared
                                        ministack and moto (--all: also slow tests)
  ci [--all]                            fmt, clippy, tests, install every tool (what CI runs)
  demo [--objects N] [--keep] [--release]
                                        a live zero-downtime bucket migration with the real
                                        tools on a private local ministack (nothing on AWS)
  dist [--out DIR]                      shell completions and man pages for every tool
                                        (default target/dist)
  fuzz [--seconds N] [--merge] [--list] [TARGET...]
                                        run the fuzz targets in fuzz/ for N s each (default 60)
  help                                  this text
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let result = match command.as_deref() {
        Some("test") => test::run(&rest),
        Some("ci") => ci::run(&rest),
        Some("bench") => bench::run(&rest),
        Some("demo") => demo::run(&rest),
        Some("dist") => dist::run(&rest),
        Some("fuzz") => fuzz::run(&rest),
        None | Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(0)
        }
        Some(other) => {
            eprint!("xtask: unknown command `{other}`\n\n{USAGE}");
            Ok(2)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (parent of `xtask/`).
pub(crate) fn workspace_root() -> PathBuf {
    mc_testkit::workspace_root()
}

/// `cargo`, the same one that runs us, in the workspace root.
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root());
    cmd
}

/// Print a step header; returns the start time for [`step_done`].
pub(crate) fn step(title: &str) -> Instant {
    println!("\n==> {title}");
    Instant::now()
}

/// Print how long a step took.
pub(crate) fn step_done(title: &str, started: Instant) {
    println!("==> {title}: ok ({:.0?})", started.elapsed());
}

/// Exit code of a finished process (signals map to 1).
pub(crate) fn exit_code(status: std::process::ExitStatus) -> u8 {
    match status.code() {
        Some(0) => 0,
        Some(c) => u8::try_from(c).ok().filter(|c| *c != 0).unwrap_or(1),
        None => 1,
    }
}
