//! `--state` resume after SIGKILL, and `verify`, against ministack.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

/// How many of the test's keys `obj/0000..` lie in the checkpoint's finished ranges.
fn keys_done(state: &std::path::Path, n: usize) -> usize {
    let Ok(text) = std::fs::read_to_string(state) else {
        return 0;
    };
    let cp: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ranges = cp["done"]["ranges"].as_array().unwrap().clone();
    (0..n)
        .map(|i| format!("obj/{i:04}"))
        .filter(|k| {
            ranges.iter().any(|r| {
                r["after"].as_str().is_none_or(|a| k.as_str() > a)
                    && r["upto"].as_str().is_none_or(|u| k.as_str() <= u)
            })
        })
        .count()
}

#[tokio::test]
async fn killed_run_resumes_without_recopying_finished_work() {
    let (s3, src, dst) = buckets("resume").await;
    let n = 300;
    mc_testkit::put_objects(
        &s3,
        &src,
        (0..n).map(|i| (format!("obj/{i:04}"), format!("v{i}"))),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let slow = [
        "sync",
        "-o",
        "json",
        "--acl",
        "skip",
        "--concurrency",
        "4",
        "--max-rps",
        "25",
        "--list-page-size",
        "20",
        "--state",
        state.to_str().unwrap(),
        &s,
        &d,
    ];
    let mut child = copier()
        .args(slow)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let copied = mc_testkit::list_all_keys(&s3, &dst, "").await.len();
        if copied >= 80 && keys_done(&state, n) > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the slow sync made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "sync finished before it could be killed: slow it down"
        );
    }
    // SIGKILL: no chance to save anything more.
    child.kill().unwrap();
    child.wait().unwrap();
    let before = mc_testkit::list_all_keys(&s3, &dst, "").await.len();
    assert!(before < n, "everything was copied before the kill");
    // Keys in ranges the checkpoint records as finished (it only grows, so > 0).
    let done = keys_done(&state, n);
    assert!(done > 0);

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
    // Exactly the objects that were not at the destination were copied: nothing twice.
    assert_eq!(r["copied"], n - before, "{r}");
    // Finished ranges were not even listed again.
    assert_eq!(r["listed"], n - done, "{r}");
    assert_eq!(mc_testkit::list_all_keys(&s3, &dst, "").await.len(), n);

    // Resuming a complete run lists nothing.
    let out = run(&[
        "sync",
        "-o",
        "json",
        "--acl",
        "skip",
        "--state",
        state.to_str().unwrap(),
        &s,
        &d,
    ]);
    assert_eq!(report(&out)["listed"], 0);

    let out = run(&["verify", "-o", "json", &s, &d]);
    assert_eq!(out.status.code(), Some(0));
    let summary = report(&out);
    assert_eq!(summary["totals"]["missing"], 0);
    assert_eq!(summary["totals"]["checked"], n);
}

#[tokio::test]
async fn verify_reports_missing_different_extra_and_acls() {
    let (s3, src, dst) = buckets("verify").await;
    mc_testkit::put_objects(
        &s3,
        &src,
        [("a", "1"), ("b", "2"), ("c", "3"), ("p", "4")].map(|(k, v)| (format!("in/{k}"), v)),
    )
    .await;
    mc_testkit::put_objects(
        &s3,
        &dst,
        [("b", "2"), ("c", "three"), ("z", "9"), ("p", "4")].map(|(k, v)| (format!("out/{k}"), v)),
    )
    .await;
    s3.put_object_acl()
        .bucket(&src)
        .key("in/p")
        .acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let (s, d) = (format!("s3://{src}/in/"), format!("s3://{dst}/out/"));
    let out = run(&["verify", "-o", "json", "--acl", &s, &d]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |status: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["status"] == status)
            .map(|l| l["key"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(find("missing"), ["in/a"]);
    assert_eq!(find("different"), ["in/c"]);
    assert_eq!(find("extra"), ["out/z"]);
    assert_eq!(find("acl-different"), ["in/p"]);
    let t = &lines.last().unwrap()["totals"];
    assert_eq!(
        (t["checked"].as_u64(), t["same"].as_u64()),
        (Some(4), Some(1))
    );

    let out = run(&[
        "verify",
        "--nagios",
        "--warning",
        "0",
        "--critical",
        "10",
        &s,
        &d,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.starts_with("S3COPIER WARNING - 2 of 4 objects not yet at the destination"),
        "{line}"
    );
    let out = run(&["verify", "--nagios", &s, "s3://no-such-bucket-verify-x"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout)
        .starts_with("S3COPIER UNKNOWN - bucket no-such-bucket-verify-x"));
}
