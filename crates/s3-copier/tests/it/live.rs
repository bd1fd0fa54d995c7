//! The live path end to end on ministack: S3 event notifications -> SQS ->
//! `worker`, while objects keep being written and `sync` runs; then
//! `verify` finds nothing missing.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use common::*;

#[tokio::test]
async fn worker_and_sync_together_leave_nothing_missing() {
    let (s3, src, dst) = buckets("live").await;
    let sqs = emulator().sqs().await;
    let (queue, arn) = queue("live-events").await;
    notify_queue(&s3, &src, &arn, "s3:ObjectCreated:*").await;

    // The backlog, written before anything runs.
    mc_testkit::put_objects(
        &s3,
        &src,
        (0..150).map(|i| (format!("old/{i:04}"), format!("v{i}"))),
    )
    .await;

    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let mut worker = copier()
        .args([
            "worker",
            "-o",
            "json",
            "--queue",
            &queue,
            "--exit-when-idle",
            "6",
            &s,
            &d,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let sync = copier()
        .args(["sync", "-o", "json", "--concurrency", "8", &s, &d])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    // The application keeps writing while both run, including awkward keys.
    for i in 0..60 {
        let key = match i % 3 {
            0 => format!("new/{i:03} with space.jpg"),
            1 => format!("new/{i:03}+plus%25?.png"),
            _ => format!("new/{i:03}/café-😀"),
        };
        put(&s3, &src, &key, ByteStream::from(vec![b'n'; i + 1])).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let sync = sync.wait_with_output().unwrap();
    assert_eq!(
        sync.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );

    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = worker.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "worker did not go idle");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let out = worker.wait_with_output().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let wr = report(&out);
    assert!(
        wr["copied"].as_u64().unwrap() >= 60,
        "the worker copied the live writes: {wr}"
    );
    assert_eq!(wr["failed_messages"], 0);

    let out = run(&["verify", "-o", "json", &s, &d]);
    assert_eq!(out.status.code(), Some(0));
    let t = &report(&out)["totals"];
    assert_eq!(t["missing"], 0, "{t}");
    assert_eq!(t["different"], 0, "{t}");
    assert_eq!(t["checked"], 210);
    // The queue is drained: everything handled was deleted.
    let left = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let n = left
        .attributes()
        .unwrap()
        .get(&QueueAttributeName::ApproximateNumberOfMessages)
        .cloned();
    assert_eq!(n.as_deref(), Some("0"));
}

#[tokio::test]
async fn worker_skips_events_for_deleted_objects_and_test_events() {
    let (s3, src, dst) = buckets("gone").await;
    let sqs = emulator().sqs().await;
    let queue = mc_testkit::create_queue(&sqs, &mc_testkit::unique_name("gone-events")).await;
    let event = |key: &str, seq: &str| {
        serde_json::json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2024-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": src, "arn": format!("arn:aws:s3:::{src}")},
                   "object": {"key": key, "size": 1, "sequencer": seq}}
        }]})
        .to_string()
    };
    mc_testkit::put_objects(&s3, &src, [("here now".to_string(), b"x".to_vec())]).await;
    for body in [
        event("deleted+since", "01"),
        event("here+now", "02"),
        r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#.to_string(),
    ] {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let out = run(&[
        "worker",
        "-o",
        "json",
        "--queue",
        &queue,
        "--exit-when-idle",
        "2",
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert_eq!(
        (
            r["copied"].as_u64(),
            r["gone"].as_u64(),
            r["deleted_messages"].as_u64()
        ),
        (Some(1), Some(1), Some(3)),
        "{r}"
    );
    assert_eq!(
        mc_testkit::list_all_keys(&s3, &dst, "").await,
        vec!["here now"]
    );
}
