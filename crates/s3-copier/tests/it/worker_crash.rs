//! `worker` SIGKILLed while copying: the event comes back after the
//! visibility timeout and another worker makes the object arrive; a poison
//! event (its key deleted since) is logged and deleted, and the worker goes
//! on with the other messages (no crash loop).
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use common::*;
use mc_testkit::child::*;

/// An `ObjectCreated:Put` notification for `key` (form-encoded, as S3 sends it).
pub fn event(bucket: &str, key: &str, sequencer: &str) -> String {
    serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {
                "bucket": {"name": bucket},
                "object": {"key": key.replace(' ', "+"), "sequencer": sequencer},
            },
        }]
    })
    .to_string()
}

async fn in_flight(sqs: &aws_sdk_sqs::Client, queue: &str) -> (i64, i64) {
    let a = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = a.attributes().unwrap();
    let get = |k: QueueAttributeName| attrs.get(&k).unwrap().parse::<i64>().unwrap();
    (
        get(QueueAttributeName::ApproximateNumberOfMessages),
        get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

#[tokio::test]
async fn killed_worker_event_comes_back_and_poison_events_do_not_loop() {
    if !slow_tests("killed_worker_event_comes_back_and_poison_events_do_not_loop") {
        return;
    }
    let (s3, src, dst) = buckets("wcrash").await;
    let sqs = emulator().sqs().await;
    let queue = mc_testkit::create_queue(&sqs, &mc_testkit::unique_name("wcrash")).await;
    mc_testkit::put_objects(
        &s3,
        &src,
        [("live/first one.txt", "1"), ("live/second.txt", "2")],
    )
    .await;
    sqs.send_message()
        .queue_url(&queue)
        .message_body(event(&src, "live/first one.txt", "01"))
        .send()
        .await
        .unwrap();
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));

    // A slow worker (one request a second) with a short visibility timeout:
    // killed once it holds the message, before the copy is done.
    let mut slow = copier()
        .args([
            "worker",
            "-o",
            "json",
            "--queue",
            &queue,
            "--max-rps",
            "1",
            "--visibility-timeout",
            "10",
            &s,
            &d,
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while in_flight(&sqs, &queue).await.1 == 0 {
        assert!(
            Instant::now() < deadline,
            "the worker never took the message"
        );
        assert!(slow.try_wait().unwrap().is_none(), "the worker stopped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    send_signal(slow.id(), "KILL");
    slow.wait().unwrap();
    let copied = mc_testkit::list_all_keys(&s3, &dst, "").await;
    eprintln!("at the destination when killed: {copied:?}");

    // A poison event (the key was deleted since) and a good one, queued
    // behind the message the killed worker held.
    sqs.send_message()
        .queue_url(&queue)
        .message_body(event(&src, "live/deleted since.txt", "02"))
        .send()
        .await
        .unwrap();
    sqs.send_message()
        .queue_url(&queue)
        .message_body(event(&src, "live/second.txt", "03"))
        .send()
        .await
        .unwrap();

    // A new worker: runs until idle for longer than the visibility timeout
    // (10 s, the shortest the worker accepts).
    let mut worker = copier()
        .args([
            "worker",
            "-o",
            "json",
            "--queue",
            &queue,
            "--visibility-timeout",
            "10",
            "--exit-when-idle",
            "15",
            "-v",
            &s,
            &d,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut worker, 90);
    let (stdout, stderr) = outputs(&mut worker);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    // The killed worker's event came back and was handled; the poison one
    // was logged and deleted, not retried forever.
    assert_eq!(r["messages"], 3, "{r}");
    assert_eq!(r["deleted_messages"], 3, "{r}");
    assert_eq!(r["failed_messages"], 0, "{r}");
    assert_eq!(r["gone"], 1, "{r}");
    // ... and logged (at -v), by key.
    assert!(stderr.contains("live/deleted since.txt"), "{stderr}");
    let mut at_dest = mc_testkit::list_all_keys(&s3, &dst, "").await;
    at_dest.sort();
    assert_eq!(at_dest, ["live/first one.txt", "live/second.txt"]);
    assert_eq!(in_flight(&sqs, &queue).await, (0, 0), "the queue is empty");

    let out = run(&["verify", "-o", "json", &s, &d]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report(&out)["totals"]["missing"], 0);
}
