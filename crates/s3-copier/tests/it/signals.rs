//! SIGINT/SIGTERM: `sync`, `verify` and `worker` stop cleanly, save the
//! checkpoint (finished spans only), print the summary so far and exit 130;
//! a resumed `sync --state` completes and `verify` finds nothing missing.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use mc_testkit::child::*;

const INTERRUPTED: i32 = 130;

#[tokio::test]
async fn sigterm_stops_sync_cleanly_and_the_resumed_run_completes() {
    let (s3, src, dst) = buckets("sigterm").await;
    let n = 200;
    mc_testkit::put_objects(
        &s3,
        &src,
        (0..n).map(|i| (format!("obj/{i:04}"), format!("v{i}"))),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let mut child = copier()
        .args([
            "sync",
            "-o",
            "json",
            "--acl",
            "skip",
            "--concurrency",
            "4",
            "--max-rps",
            "20",
            "--list-page-size",
            "20",
            "--state",
            state.to_str().unwrap(),
            &s,
            &d,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while mc_testkit::list_all_keys(&s3, &dst, "").await.len() < 30 {
        assert!(Instant::now() < deadline, "the slow sync made no progress");
        assert!(child.try_wait().unwrap().is_none(), "sync ended too soon");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    send_signal(child.id(), "TERM");
    let status = wait_exit(&mut child, 30);
    let (stdout, stderr) = outputs(&mut child);
    assert_eq!(status.code(), Some(INTERRUPTED), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // The summary so far, as the last line of stdout.
    let r: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(r["complete"], false, "{r}");
    let copied_before = r["copied"].as_u64().unwrap();
    assert!(copied_before > 0 && copied_before < n, "{r}");
    let at_dest = mc_testkit::list_all_keys(&s3, &dst, "").await.len() as u64;
    assert_eq!(at_dest, copied_before, "the report counts every copy made");
    // The checkpoint was saved with finished spans only.
    let cp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(!cp["done"]["ranges"].as_array().unwrap().is_empty(), "{cp}");

    let out = run(&[
        "sync",
        "-o",
        "json",
        "--acl",
        "skip",
        "--list-page-size",
        "20",
        "--state",
        state.to_str().unwrap(),
        &s,
        &d,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert_eq!(r["complete"], true);
    // Nothing copied before the signal is copied again.
    assert_eq!(r["copied"].as_u64().unwrap(), n - copied_before, "{r}");
    let out = run(&["verify", "-o", "json", &s, &d]);
    assert_eq!(out.status.code(), Some(0));
    let t = &report(&out)["totals"];
    assert_eq!(
        (t["missing"].as_u64(), t["different"].as_u64()),
        (Some(0), Some(0)),
        "{t}"
    );
    assert_eq!(t["checked"], n);
}

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let (s3, src, dst) = buckets("sigtwice").await;
    mc_testkit::put_objects(&s3, &src, (0..100).map(|i| (format!("k{i:03}"), "x"))).await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    // One request per second: the first signal's grace period would last.
    let mut child = copier()
        .args([
            "sync",
            "--acl",
            "skip",
            "--max-rps",
            "1",
            "--concurrency",
            "2",
            &s,
            &d,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Copying has started: the first signal then waits for the copies in
    // flight, each waiting for its turn at one request per second.
    let deadline = Instant::now() + Duration::from_secs(60);
    while mc_testkit::list_all_keys(&s3, &dst, "").await.is_empty() {
        assert!(Instant::now() < deadline, "the slow sync made no progress");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    send_signal(child.id(), "INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_signal(child.id(), "INT");
    let status = wait_exit(&mut child, 5);
    let (_, stderr) = outputs(&mut child);
    assert_eq!(status.code(), Some(INTERRUPTED), "{stderr}");
    assert!(
        stderr.contains("interrupted again: exiting now"),
        "{stderr}"
    );
}

#[tokio::test]
async fn sigterm_stops_an_idle_worker_with_its_summary() {
    let (_s3, src, dst) = buckets("sigworker").await;
    let sqs = emulator().sqs().await;
    let queue = mc_testkit::create_queue(&sqs, &mc_testkit::unique_name("sigworker")).await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let mut child = copier()
        .args(["worker", "-o", "json", "--queue", &queue, &s, &d])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it get into its long poll.
    tokio::time::sleep(Duration::from_secs(2)).await;
    send_signal(child.id(), "TERM");
    let status = wait_exit(&mut child, 15);
    let (stdout, stderr) = outputs(&mut child);
    assert_eq!(status.code(), Some(INTERRUPTED), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(r["messages"], 0, "{r}");
}

#[tokio::test]
async fn sigterm_stops_verify_with_the_totals_so_far() {
    let (s3, src, dst) = buckets("sigverify").await;
    mc_testkit::put_objects(&s3, &src, (0..100).map(|i| (format!("k{i:03}"), "x"))).await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let mut child = copier()
        .args(["verify", "-o", "json", "--max-rps", "1", &s, &d])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    send_signal(child.id(), "TERM");
    let status = wait_exit(&mut child, 15);
    let (stdout, stderr) = outputs(&mut child);
    assert_eq!(status.code(), Some(INTERRUPTED), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(r["status"], "summary", "{r}");
    assert_eq!(r["complete"], false, "{r}");
}
