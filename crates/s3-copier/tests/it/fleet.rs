//! A fleet without a coordinator: `sync --publish-ranges` sends the key
//! space as range messages to SQS, three `worker`s copy them (one of them
//! SIGKILLed mid-range: its range comes back after the visibility timeout),
//! and the progress record and `verify` say the run is complete; a range
//! that keeps failing ends in the dead-letter queue and is reported there;
//! a queue that does not exist is a one-line error (exit 3). On ministack,
//! which implements ChangeMessageVisibility and redrive policies.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use common::*;
use mc_testkit::child::*;

/// A queue URL on the emulator for a queue the publisher creates.
fn queue_url(prefix: &str) -> String {
    format!(
        "{}/000000000000/{}",
        emulator().endpoint(),
        mc_testkit::unique_name(prefix)
    )
}

/// `n` keys whose first characters spread over the whole alphabet of
/// `--ranges`, so that every range has some.
fn spread_keys(n: usize) -> Vec<(String, String)> {
    const FIRST: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..n)
        .map(|i| {
            let c = FIRST[i % FIRST.len()] as char;
            (
                format!("{c}{}/obj-{i:05}", FIRST[(i / 7) % FIRST.len()] as char),
                format!("body {i}"),
            )
        })
        .collect()
}

/// Publishes `src` -> `dst` to a created queue; returns the run's folder
/// and how many ranges it has.
fn publish(s: &str, d: &str, queue: &str, progress: &str, extra: &[&str]) -> (String, u64) {
    let mut args = vec![
        "sync",
        "-o",
        "json",
        "--publish-ranges",
        queue,
        "--create-queue",
        "--progress",
        progress,
    ];
    args.extend_from_slice(extra);
    args.extend([s, d]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert!(
        r["dead_letter_queue"].as_str().unwrap().ends_with("-dlq"),
        "{r}"
    );
    assert_eq!(r["sent"], r["ranges"], "{r}");
    let folder = r["progress"].as_str().unwrap().to_string();
    (folder, r["ranges"].as_u64().unwrap())
}

fn worker(queue: &str, s: &str, d: &str, extra: &[&str]) -> Child {
    let mut args = vec![
        "worker",
        "-o",
        "json",
        "--queue",
        queue,
        "--visibility-timeout",
        "10",
    ];
    args.extend_from_slice(extra);
    args.extend([s, d]);
    copier()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn in_flight(sqs: &aws_sdk_sqs::Client, queue: &str) -> i64 {
    let a = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    a.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible]
        .parse()
        .unwrap()
}

/// The worker's summary (its last stdout line) after it exited on its own.
fn finished(mut w: Child) -> serde_json::Value {
    let status = wait_exit(&mut w, 120);
    let (stdout, stderr) = outputs(&mut w);
    assert_eq!(status.code(), Some(0), "{stderr}");
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[tokio::test]
async fn three_workers_and_a_sigkill_cover_every_key() {
    let (s3, src, dst) = buckets("fleet").await;
    let ops = mc_testkit::unique_name("fleet-ops");
    mc_testkit::create_bucket(&s3, &ops).await;
    mc_testkit::put_objects(&s3, &src, spread_keys(3000)).await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let queue = queue_url("fleet");
    // Cut from a listing: ranges of about 200 keys (a page of the listing
    // more at most), so 8 to 15 of them.
    let progress = format!("s3://{ops}/fleet/");
    let extra = ["--range-keys", "200", "--list-page-size", "100"];
    let (folder, n) = publish(&s, &d, &queue, &progress, &extra);
    assert!((8..=15).contains(&n), "{n} ranges");

    // The slow one (five requests a second, one range at a time) takes a
    // range and starts copying it; then the other two start, and the slow
    // one is killed with its range half copied, not acknowledged.
    let sqs = emulator().sqs().await;
    let mut slow = worker(
        &queue,
        &s,
        &d,
        &["-j", "2", "--max-rps", "5", "--messages", "1"],
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    while in_flight(&sqs, &queue).await == 0
        || mc_testkit::list_all_keys(&s3, &dst, "").await.is_empty()
    {
        assert!(Instant::now() < deadline, "the slow worker never copied");
        assert!(
            slow.try_wait().unwrap().is_none(),
            "the slow worker stopped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Two ranges at a time each, so that both take some.
    let idle = ["--exit-when-idle", "15", "--messages", "2"];
    let (b, c) = (worker(&queue, &s, &d, &idle), worker(&queue, &s, &d, &idle));
    send_signal(slow.id(), "KILL");
    slow.wait().unwrap();
    let killed_after = mc_testkit::list_all_keys(&s3, &dst, "").await.len();
    assert!(killed_after < 3000, "{killed_after}");
    let (rb, rc) = (finished(b), finished(c));

    // Every range acknowledged (the killed one's by another worker), each
    // at least once; every key copied; verify finds nothing missing.
    let ranges = rb["ranges"].as_u64().unwrap() + rc["ranges"].as_u64().unwrap();
    assert!(ranges >= n, "{rb} {rc}");
    // The killed worker's range was done again: only what it had not copied.
    let copied = rb["copied"].as_u64().unwrap() + rc["copied"].as_u64().unwrap();
    assert!(copied < 3000, "{rb} {rc}");
    let out = run(&["fleet-status", "-o", "json", &folder]);
    assert_eq!(out.status.code(), Some(0));
    let st = report(&out);
    assert_eq!(
        (st["done"].as_u64(), st["ranges"].as_u64()),
        (Some(n), Some(n)),
        "{st}"
    );
    assert_eq!(st["finished"], true);
    assert_eq!(st["missing"].as_array().unwrap().len(), 0);
    let human = run(&["fleet-status", &folder]);
    let line = String::from_utf8_lossy(&human.stdout);
    let done = format!("{n} of {n} ranges done, 0 missing, 0 dead-lettered");
    assert!(line.contains(&done), "{line}");
    assert_eq!(
        mc_testkit::list_all_keys(&s3, &dst, "").await,
        mc_testkit::list_all_keys(&s3, &src, "").await
    );
    let out = run(&["verify", "-o", "json", &s, &d]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report(&out)["totals"]["missing"], 0);
}

#[tokio::test]
async fn a_range_that_keeps_failing_ends_in_the_dead_letter_queue() {
    let (s3, src, dst) = buckets("fleetdlq").await;
    let other = mc_testkit::unique_name("fleetdlq-other");
    mc_testkit::create_bucket_with_acls(&s3, &other).await;
    mc_testkit::put_objects(&s3, &src, [("a", "1"), ("b", "2")]).await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let queue = queue_url("fleetdlq");
    let ops = mc_testkit::unique_name("fleetdlq-ops");
    mc_testkit::create_bucket(&s3, &ops).await;
    let (folder, _) = publish(
        &s,
        &d,
        &queue,
        &format!("s3://{ops}/runs/"),
        &["--ranges", "2", "--max-receive-count", "1"],
    );
    // A worker of another destination refuses both ranges: at their only
    // attempt, so they are recorded as dead-lettered and SQS moves them
    // to the dead-letter queue once their visibility timeout is over.
    let mut w = worker(
        &queue,
        &s,
        &format!("s3://{other}"),
        &["--exit-when-idle", "12"],
    );
    let status = wait_exit(&mut w, 120);
    let (stdout, stderr) = outputs(&mut w);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("this worker copies"), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(r["failed_messages"], 2, "{r}");
    assert_eq!(r["ranges"], 0, "{r}");

    let out = run(&["fleet-status", "-o", "json", &folder]);
    assert_eq!(out.status.code(), Some(1), "not finished");
    let st = report(&out);
    assert_eq!(st["done"], 0, "{st}");
    assert_eq!(st["dead_lettered"].as_array().unwrap().len(), 2, "{st}");
    assert_eq!(st["dead_letter_queue_messages"], 2, "{st}");
    assert_eq!(st["finished"], false);
    // --wait returns at once: nothing is missing, the rest is dead-lettered.
    let out = run(&["fleet-status", "--wait", &folder]);
    assert_eq!(out.status.code(), Some(1));
    assert!(mc_testkit::list_all_keys(&s3, &dst, "").await.is_empty());
}

#[tokio::test]
async fn a_missing_queue_or_run_is_one_line_and_exit_3() {
    let (_s3, src, dst) = buckets("fleetbad").await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let missing = queue_url("fleetbad-nope");
    let progress = format!("s3://{dst}/p/");
    let out = run(&[
        "sync",
        "--publish-ranges",
        &missing,
        "--progress",
        &progress,
        &s,
        &d,
    ]);
    mc_testkit::badinput::assert_one_error_line("s3-copier", "missing queue", &out, 3, "queue");
    // Malformed URLs and flags that do not fit: tests/it/cli.rs.
    let out = run(&["fleet-status", &format!("s3://{dst}/no-such-run/")]);
    mc_testkit::badinput::assert_one_error_line("s3-copier", "missing run", &out, 3, "plan");
}

/// Entries SQS lists in a SendMessageBatch answer's `Failed[]` are not
/// resent by any SDK retry: the publisher resends them. Through the bench
/// kit's proxy, which fails a third of the entries (and does not deliver
/// them), every range still arrives exactly once.
#[tokio::test]
async fn failed_batch_entries_are_resent() {
    use mc_benchkit::proxy::{Faults, Proxy, ProxyConfig};

    let (s3, src, dst) = buckets("fleetsend").await;
    let ops = mc_testkit::unique_name("fleetsend-ops");
    mc_testkit::create_bucket(&s3, &ops).await;
    let proxy = Proxy::start_blocking(ProxyConfig {
        upstream: emulator().endpoint().to_string(),
        faults: Faults {
            batch_entry_failure: 0.3,
            only_ops: vec!["SendMessageBatch".into()],
            ..Faults::default()
        },
        seed: 17,
        ..ProxyConfig::default()
    })
    .unwrap();
    let queue = queue_url("fleetsend");
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let progress = format!("s3://{ops}/runs/");
    let args = [
        "sync",
        "-o",
        "json",
        "--publish-ranges",
        &queue,
        "--create-queue",
        "--progress",
        &progress,
        "--ranges",
        "40",
        &s,
        &d,
    ];
    let out = copier()
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(report(&out)["sent"], 40);
    let failed = proxy
        .stats()
        .faults
        .get("BatchEntryFailure")
        .copied()
        .unwrap_or(0);
    assert!(failed >= 5, "{:?}", proxy.stats());

    // Each range once on the queue.
    let sqs = emulator().sqs().await;
    let mut seen = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .send()
            .await
            .unwrap();
        let msgs = got.messages.unwrap_or_default();
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            let v: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            seen.push(v["index"].as_u64().unwrap());
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..40).collect::<Vec<u64>>());
}

/// One worker, two queues: S3 events on one, published ranges on the other.
#[tokio::test]
async fn one_worker_takes_events_and_ranges_from_two_queues() {
    let (s3, src, dst) = buckets("fleet2q").await;
    let ops = mc_testkit::unique_name("fleet2q-ops");
    mc_testkit::create_bucket(&s3, &ops).await;
    mc_testkit::put_objects(&s3, &src, [("a/1", "1"), ("b/2", "2")]).await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let ranges = queue_url("fleet2q-ranges");
    let progress = format!("s3://{ops}/runs/");
    let (folder, n) = publish(&s, &d, &ranges, &progress, &["--ranges", "2"]);
    assert_eq!(n, 2);
    let (events, _) = queue("fleet2q-events").await;
    let sqs = emulator().sqs().await;
    sqs.send_message()
        .queue_url(&events)
        .message_body(crate::worker_crash::event(&src, "a/1", "01"))
        .send()
        .await
        .unwrap();

    let w = worker(
        &events,
        &s,
        &d,
        &["--queue", &ranges, "--exit-when-idle", "3"],
    );
    let r = finished(w);
    assert_eq!(
        (
            r["messages"].as_u64(),
            r["records"].as_u64(),
            r["ranges"].as_u64()
        ),
        (Some(3), Some(1), Some(2)),
        "{r}"
    );
    let out = run(&["fleet-status", &folder]);
    assert_eq!(out.status.code(), Some(0));
    let mut at_dest = mc_testkit::list_all_keys(&s3, &dst, "").await;
    at_dest.sort();
    assert_eq!(at_dest, ["a/1", "b/2"]);
}
