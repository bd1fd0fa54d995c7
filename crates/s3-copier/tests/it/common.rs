//! Helpers shared by the integration tests: run the real binary against ministack.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::{Command, Output};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

pub fn emulator() -> &'static mc_testkit::Emulator {
    mc_testkit::ministack()
}

/// The `s3-copier` binary with the emulator's environment.
pub fn copier() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("s3-copier"));
    emulator().apply_env(&mut cmd);
    cmd.env_remove("RUST_LOG");
    cmd
}

pub fn run(args: &[&str]) -> Output {
    let out = copier().args(args).output().unwrap();
    eprintln!(
        "$ s3-copier {}\n--- stdout\n{}--- stderr\n{}--- exit {:?}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code()
    );
    out
}

/// `s3-copier sync -o json [extra...] src dst`.
pub fn sync_json(src: &str, dst: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sync", "-o", "json"];
    args.extend_from_slice(extra);
    args.extend([src, dst]);
    run(&args)
}

/// PutObject of `body` at `bucket/key`, nothing else set.
pub async fn put(s3: &Client, bucket: &str, key: impl Into<String>, body: ByteStream) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .send()
        .await
        .unwrap();
}

/// The JSON report of `sync -o json` (the last line of stdout).
pub fn report(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or("{}");
    serde_json::from_str(last).unwrap()
}

pub async fn s3() -> Client {
    emulator().s3().await
}

/// Two fresh buckets with ACLs enabled.
pub async fn buckets(prefix: &str) -> (Client, String, String) {
    let s3 = s3().await;
    let src = mc_testkit::unique_name(&format!("{prefix}-src"));
    let dst = mc_testkit::unique_name(&format!("{prefix}-dst"));
    mc_testkit::create_bucket_with_acls(&s3, &src).await;
    mc_testkit::create_bucket_with_acls(&s3, &dst).await;
    (s3, src, dst)
}

pub async fn get_body(s3: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    o.body.collect().await.unwrap().into_bytes().to_vec()
}
