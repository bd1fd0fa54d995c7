//! No credential, session token or request signature ever reaches stdout or
//! stderr, at any verbosity: the real binary runs against the emulator with
//! recognisable fake credentials (and a session token), once with `-vvv` and
//! once with `RUST_LOG=trace`, and both streams are searched for them.
//!
//! The access key id must not appear either: AWS calls it non-secret, but it
//! names the key pair and many teams keep it out of logs. The SDK already
//! hides the secret key, the token and the `Authorization` header; the key id
//! (which it prints in its credential debug lines) is masked by
//! `mc_aws_common::logging`, which redacts every log line.
//!
//! The helpers below are the same in every tool's `tests/no_secrets.rs`.
#![allow(clippy::unwrap_used)]

use std::process::Output;

const BIN: &str = "spot-stack";

fn example() -> String {
    format!("{}/examples/stack.toml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn validate_and_status_print_no_secret_at_any_verbosity() {
    let emu = mc_testkit::ministack();
    let config = example();
    for out in run_checked(emu, &["validate", "--config", &config]) {
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // A stack that does not exist: a clear error, and still nothing secret.
    let name = mc_testkit::unique_name("nosec");
    for out in run_checked(emu, &["status", "--stack-name", &name, "--config", &config]) {
        assert!(!out.status.success(), "{}", stdout(&out));
        assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    }
}

/// `mc_testkit::secrets::run_checked` for this crate's binary.
fn run_checked(emu: &mc_testkit::Emulator, args: &[&str]) -> [Output; 2] {
    mc_testkit::secrets::run_checked(&assert_cmd::cargo::cargo_bin(BIN), emu, args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
