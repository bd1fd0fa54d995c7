//! `--state` resume after SIGKILL, and `verify`, against ministack.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

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

/// SplitMix64: a tiny seeded generator for the kill points.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// Starts the slow sync, SIGKILLs it `delay` after its checkpoint first
/// covers more than `done_before` keys, and checks what a kill leaves:
/// the checkpoint never claims a key that is not at the destination.
/// Returns the keys at the destination and the keys the checkpoint covers.
async fn kill_after(
    s3: &aws_sdk_s3::Client,
    args: &[&str],
    dst: &str,
    state: &std::path::Path,
    n: usize,
    done_before: usize,
    delay: Duration,
) -> (usize, usize) {
    let mut child = copier()
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while keys_done(state, n) <= done_before {
        assert!(Instant::now() < deadline, "the slow sync made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "sync finished before it could be killed: slow it down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(delay).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "sync finished before it could be killed: slow it down"
    );
    // SIGKILL: no chance to save anything more.
    child.kill().unwrap();
    child.wait().unwrap();
    let at_dest: std::collections::BTreeSet<String> = mc_testkit::list_all_keys(s3, dst, "")
        .await
        .into_iter()
        .collect();
    let done = keys_done(state, n);
    let claimed_missing = (0..n)
        .map(|i| format!("obj/{i:04}"))
        .filter(|k| keys_done_contains(state, k) && !at_dest.contains(k))
        .count();
    assert_eq!(
        claimed_missing, 0,
        "the checkpoint claims keys never copied"
    );
    (at_dest.len(), done)
}

/// Whether `key` lies in the checkpoint's finished ranges.
fn keys_done_contains(state: &std::path::Path, key: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(state) else {
        return false;
    };
    let cp: serde_json::Value = serde_json::from_str(&text).unwrap();
    cp["done"]["ranges"].as_array().unwrap().iter().any(|r| {
        r["after"].as_str().is_none_or(|a| key > a) && r["upto"].as_str().is_none_or(|u| key <= u)
    })
}

/// `sync --state` SIGKILLed at seeded random points (`kills` times), each
/// time resumed: nothing missing at the end, and a resumed run neither lists
/// the ranges the checkpoint had finished nor copies an object already there.
async fn killed_at_random_points_then_resumed(name: &str, kills: usize) {
    let (s3, src, dst) = buckets(name).await;
    let n = 400;
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
    let mut rng = Rng(mc_testkit::child::seed(name));
    let mut before = 0;
    let mut done = 0;
    for _ in 0..kills {
        // A random point after the checkpoint moved (it is written every 3 s):
        // at 25 requests/s a run copies ~20 objects a second, so the kills
        // leave work for the resumed run.
        let delay = Duration::from_millis(rng.below(1500));
        eprintln!("kill {delay:?} after the checkpoint passed {done} keys");
        let (b, dn) = kill_after(&s3, &slow, &dst, &state, n, done, delay).await;
        assert!(b >= before && dn >= done, "progress was lost");
        (before, done) = (b, dn);
    }
    assert!(before < n, "everything was copied before the kill");

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

    // The application keeps writing: the same command with the finished
    // checkpoint starts a new pass and copies what is new (a finished
    // checkpoint must not make "sync until nothing is left" a no-op).
    put(
        &s3,
        &src,
        "written-after-the-run",
        ByteStream::from_static(b"new"),
    )
    .await;
    let again = [
        "sync",
        "-o",
        "json",
        "--acl",
        "skip",
        "--state",
        state.to_str().unwrap(),
        &s,
        &d,
    ];
    let out = run(&again);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the last run finished every range"),
        "{stderr}"
    );
    let r = report(&out);
    assert_eq!(r["listed"], n + 1, "{r}");
    assert_eq!(r["copied"], 1, "{r}");

    let out = run(&["verify", "-o", "json", &s, &d]);
    assert_eq!(out.status.code(), Some(0));
    let summary = report(&out);
    assert_eq!(summary["totals"]["missing"], 0);
    assert_eq!(summary["totals"]["different"], 0);
    assert_eq!(summary["totals"]["checked"], n + 1);
}

/// A checkpoint that cannot be written stops the run before any copy.
#[tokio::test]
async fn an_unwritable_state_file_stops_before_copying() {
    let (s3, src, dst) = buckets("nostate").await;
    put(&s3, &src, "k", ByteStream::from_static(b"x")).await;
    let out = run(&[
        "sync",
        "--acl",
        "skip",
        "--state",
        "/nonexistent-dir/state.json",
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--state"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(mc_testkit::list_all_keys(&s3, &dst, "").await.is_empty());
}

#[tokio::test]
async fn killed_run_resumes_without_recopying_finished_work() {
    killed_at_random_points_then_resumed("resume", 1).await;
}

#[tokio::test]
async fn killed_three_times_resumes_without_recopying_finished_work() {
    if !mc_testkit::child::slow_tests("killed_three_times_resumes_without_recopying_finished_work")
    {
        return;
    }
    killed_at_random_points_then_resumed("resume3", 3).await;
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
    // Findings give each side's listed size and ETag as fields, too.
    let different = lines.iter().find(|l| l["status"] == "different").unwrap();
    assert_eq!(different["kind"], "finding");
    assert_ne!(
        different["source"]["size"], different["dest"]["size"],
        "{different}"
    );
    assert!(different["source"]["etag"].is_string(), "{different}");
    let missing = lines.iter().find(|l| l["status"] == "missing").unwrap();
    assert!(
        missing["source"]["size"].is_u64() && missing.get("dest").is_none(),
        "{missing}"
    );
    let summary = lines.last().unwrap();
    assert_eq!(summary["kind"], "summary");
    let t = &summary["totals"];
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
