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

/// A new queue on the emulator: its URL and ARN.
pub async fn queue(prefix: &str) -> (String, String) {
    let sqs = emulator().sqs().await;
    let url = mc_testkit::create_queue(&sqs, &mc_testkit::unique_name(prefix)).await;
    let arn = mc_testkit::queue_arn(&sqs, &url).await;
    (url, arn)
}

/// Sends `bucket`'s `event` notifications (`s3:ObjectCreated:*`) to the queue `arn`.
pub async fn notify_queue(s3: &Client, bucket: &str, arn: &str, event: &str) {
    use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
    let to_queue = QueueConfiguration::builder()
        .queue_arn(arn)
        .events(Event::from(event))
        .build()
        .unwrap();
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(to_queue)
                .build(),
        )
        .send()
        .await
        .unwrap();
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
