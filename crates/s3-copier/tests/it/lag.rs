//! The lag signal end to end on ministack: a worker with `--lag-state`
//! records the age of the events it handles (from SentTimestamp), and
//! `lag --nagios` reads that file and the queue's depth and alarms on
//! either; a stale, missing or foreign file is UNKNOWN.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `lag --state FILE --queue URL [extra]`: (exit code, stdout).
fn lag(state: &str, queue: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["lag", "--state", state, "--queue", queue];
    args.extend_from_slice(extra);
    let out = run(&args);
    (out.status.code(), text(&out.stdout))
}

const NAGIOS: &[&str] = &[
    "--nagios",
    "--warning",
    "600",
    "--critical",
    "900",
    "--depth-warning",
    "5",
    "--depth-critical",
    "50",
];

#[tokio::test]
async fn the_worker_records_event_ages_and_lag_alarms_on_age_and_depth() {
    let (s3, src, dst) = buckets("lag").await;
    let sqs = emulator().sqs().await;
    let (queue, arn) = queue("lag-events").await;
    notify_queue(&s3, &src, &arn, "s3:ObjectCreated:*").await;
    mc_testkit::put_objects(&s3, &src, (0..5).map(|i| (format!("k{i}"), "v"))).await;

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("lag.json");
    let state = state.to_str().unwrap();
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let out = run(&[
        "worker",
        "--queue",
        &queue,
        "--lag-state",
        state,
        "--exit-when-idle",
        "3",
        &s,
        &d,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    assert_eq!(file["kind"], "s3-copier worker lag");
    assert_eq!(file["queue"], queue.as_str());
    // Five object events (and the test event S3 sends when notifications are set).
    assert!(file["events"].as_u64().unwrap() >= 5, "{file}");
    assert_eq!(file["events"], file["handled_total"], "{file}");
    assert_eq!(file["failed"], 0, "{file}");
    assert!(file["max_age_seconds"].as_f64().unwrap() >= 0.0, "{file}");
    assert!(file["last_event"]["done_at"].is_string(), "{file}");

    // Fresh file, empty queue: OK, with perfdata.
    let (code, line) = lag(state, &queue, NAGIOS);
    assert_eq!(code, Some(0), "{line}");
    assert!(
        line.starts_with("S3COPIER OK - oldest event of the last 5m 0s handled "),
        "{line}"
    );
    assert!(
        line.contains("; 0 messages waiting, 0 in flight | 'age'="),
        "{line}"
    );
    assert!(line.contains("'waiting'=0;5;50;0"), "{line}");
    // The age alarms (any age inside 0..100000 s is CRITICAL).
    let (code, line) = lag(state, &queue, &["--nagios", "--critical", "@0:100000"]);
    assert_eq!(code, Some(2), "{line}");
    // Messages nobody takes: the depth alarms.
    for i in 0..10 {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(format!("{{\"n\":{i}}}"))
            .send()
            .await
            .unwrap();
    }
    let (code, line) = lag(state, &queue, NAGIOS);
    assert_eq!(code, Some(1), "{line}");
    assert!(line.starts_with("S3COPIER WARNING - "), "{line}");
    assert!(line.contains("10 messages waiting"), "{line}");
    // Without --nagios: the numbers, exit 0.
    let (code, json) = lag(state, &queue, &["-o", "json"]);
    assert_eq!(code, Some(0), "{json}");
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["depth"]["visible"], 10);
    assert_eq!(v["workers"][0]["kind"], "s3-copier worker lag");

    // A file the worker stopped rewriting (here: dated 2020) means no
    // worker: UNKNOWN, not OK from old numbers.
    let mut old = file.clone();
    old["written_at"] = "2020-01-01T00:00:00Z".into();
    let stale = dir.path().join("stale.json");
    std::fs::write(&stale, old.to_string()).unwrap();
    let stale = stale.to_str().unwrap();
    let (code, line) = lag(stale, &queue, NAGIOS);
    assert_eq!(code, Some(3), "{line}");
    assert!(line.starts_with("S3COPIER UNKNOWN - --state "), "{line}");
    assert!(
        line.contains("stale: last written") && line.contains("is the worker running?"),
        "{line}"
    );
    let out = run(&["lag", "--state", stale, "--queue", &queue]);
    assert_eq!(out.status.code(), Some(2));
    // Missing, or of another queue.
    let missing = dir.path().join("none.json");
    let (code, line) = lag(missing.to_str().unwrap(), &queue, NAGIOS);
    assert_eq!(
        (code, line.starts_with("S3COPIER UNKNOWN - ")),
        (Some(3), true),
        "{line}"
    );
    let out = run(&[
        "lag",
        "--state",
        missing.to_str().unwrap(),
        "--queue",
        &queue,
    ]);
    assert_eq!(out.status.code(), Some(3));
    let other = format!("{}-other", queue);
    let (code, line) = lag(state, &other, NAGIOS);
    assert_eq!(code, Some(3), "{line}");
    assert!(line.contains("written by a worker of queue"), "{line}");
}

#[tokio::test]
async fn an_unwritable_lag_state_stops_the_worker_at_once() {
    let (_, src, dst) = buckets("lag-bad").await;
    let (queue, _) = queue("lag-bad").await;
    let out = run(&[
        "worker",
        "--queue",
        &queue,
        "--lag-state",
        "/nonexistent-dir/lag.json",
        "--exit-when-idle",
        "1",
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("s3-copier: error: --lag-state: /nonexistent-dir/lag.json"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
