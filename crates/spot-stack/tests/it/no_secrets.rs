//! No credential, session token or request signature ever reaches stdout or
//! stderr, at any verbosity: the real binary runs against the emulator with
//! recognisable fake credentials (and a session token), once with `-vvv` and
//! once with `RUST_LOG=trace`, and both streams are searched for them
//! (`mc_testkit::secrets::run_checked`).
//!
//! The access key id must not appear either: AWS calls it non-secret, but it
//! names the key pair and many teams keep it out of logs. The SDK already
//! hides the secret key, the token and the `Authorization` header; the key id
//! (which it prints in its credential debug lines) is masked by
//! `mc_aws_common::logging`, which redacts every log line.

use mc_testkit::cli::{bin, stderr, stdout};
use mc_testkit::secrets::run_checked;

#[test]
fn validate_and_status_print_no_secret_at_any_verbosity() {
    let emu = mc_testkit::ministack();
    let tool = bin("spot-stack");
    let config = format!("{}/examples/stack.toml", env!("CARGO_MANIFEST_DIR"));
    for out in run_checked(&tool, emu, &["validate", "--config", &config]) {
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // A stack that does not exist: a clear error, and still nothing secret.
    let name = mc_testkit::unique_name("nosec");
    let status = ["status", "--stack-name", &name, "--config", &config];
    for out in run_checked(&tool, emu, &status) {
        assert!(!out.status.success(), "{}", stdout(&out));
        assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    }
}
