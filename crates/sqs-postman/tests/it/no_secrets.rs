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

use mc_testkit::cli::{bin, stderr, stdout};

const BIN: &str = "sqs-postman";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_and_stats_print_no_secret_at_any_verbosity() {
    let emu = mc_testkit::ministack();
    let name = mc_testkit::unique_name("nosec");
    mc_testkit::create_queue(&emu.sqs().await, &name).await;
    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("message.json");
    std::fs::write(&tpl, r#"{"id":"%unique%","n":%seq%}"#).unwrap();
    let outs = tokio::task::spawn_blocking(move || {
        let tpl = tpl.to_str().unwrap();
        let sent = run_checked(
            emu,
            &["message", &name, "-m", tpl, "-t", "25", "-o", "json"],
        );
        let stats = run_checked(emu, &["stats", &name, "-o", "json"]);
        (sent, stats)
    })
    .await
    .unwrap();
    for out in outs.0.iter().chain(&outs.1) {
        assert!(out.status.success(), "{}", stderr(out));
    }
    // Both sends delivered: the queue holds 2 x 25.
    assert!(
        stdout(&outs.1[1]).contains("\"visible\":50"),
        "{}",
        stdout(&outs.1[1])
    );
}

/// `mc_testkit::secrets::run_checked` for this crate's binary.
fn run_checked(emu: &mc_testkit::Emulator, args: &[&str]) -> [std::process::Output; 2] {
    mc_testkit::secrets::run_checked(&bin(BIN), emu, args)
}
