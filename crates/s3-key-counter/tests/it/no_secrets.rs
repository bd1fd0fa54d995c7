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

use mc_testkit::cli::{stderr, stdout};
use std::process::Output;

const BIN: &str = "s3-key-counter";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counting_a_bucket_prints_no_secret_at_any_verbosity() {
    let emu = mc_testkit::ministack();
    let s3 = emu.s3().await;
    let bucket = mc_testkit::unique_name("nosecrets");
    mc_testkit::create_bucket(&s3, &bucket).await;
    let objects = (0..50).map(|i| (format!("k/{i:03}"), b"x".to_vec()));
    mc_testkit::put_objects(&s3, &bucket, objects).await;
    let url = format!("s3://{bucket}");
    let outs = tokio::task::spawn_blocking(move || run_checked(emu, &["-o", "json", &url]))
        .await
        .unwrap();
    for out in &outs {
        assert!(out.status.success(), "{}", stderr(out));
        assert!(stdout(out).contains("\"objects\":50"), "{}", stdout(out));
    }
}

/// `mc_testkit::secrets::run_checked` for this crate's binary.
fn run_checked(emu: &mc_testkit::Emulator, args: &[&str]) -> [Output; 2] {
    mc_testkit::secrets::run_checked(&assert_cmd::cargo::cargo_bin(BIN), emu, args)
}
