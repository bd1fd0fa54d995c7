//! SIGINT/SIGTERM: the counter stops, prints the counts so far marked as
//! partial, and exits 130 (UNKNOWN in Nagios mode).
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const INTERRUPTED: i32 = 130;

/// Runs the counter slowly (2 list requests a second, 10 keys a page),
/// signals it after a second, and returns (exit code, stdout, stderr).
fn interrupt(bucket: &str, extra: &[&str], sig: &str) -> (Option<i32>, String, String) {
    let mut cmd = counter_std();
    let url = format!("s3://{bucket}");
    let child = cmd
        .args([url.as_str(), "--max-rps", "2", "--page-size", "10"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    mc_testkit::child::send_signal(child.id(), sig);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "slow to stop");
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    eprintln!("--- stdout\n{o}--- stderr\n{e}---");
    (out.status.code(), o, e)
}

/// The binary with ministack's environment, as a spawnable std command.
fn counter_std() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("s3-key-counter"));
    mc_testkit::ministack().apply_env(&mut cmd);
    for var in [
        "MC_OUTPUT",
        "MC_SHARD",
        "MC_SPLITS",
        "RUST_LOG",
        "S3KC_PAGE_SIZE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("MC_CONCURRENCY", "4");
    cmd
}

#[test]
fn sigterm_prints_the_partial_count_and_exits_130() {
    let rt = rt();
    let keys: Vec<(String, usize)> = (0..300).map(|i| (format!("k/{i:04}"), 3)).collect();
    let bucket = rt.block_on(bucket_with("kc-sigterm", &keys));
    let (code, stdout, stderr) = interrupt(&bucket, &["-o", "json"], "TERM");
    assert_eq!(code, Some(INTERRUPTED), "{stderr}");
    assert!(
        stderr.contains("interrupted: the counts are partial"),
        "{stderr}"
    );
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["interrupted"], true, "{line}");
    let objects = line["objects"].as_u64().unwrap();
    assert!(objects < 300, "{line}");
    assert_eq!(line["bytes"].as_u64().unwrap(), objects * 3, "{line}");

    let (code, stdout, _) = interrupt(&bucket, &[], "INT");
    assert_eq!(code, Some(INTERRUPTED));
    assert!(stdout.contains("interrupted: partial count"), "{stdout}");

    let (code, stdout, _) = interrupt(&bucket, &["--check", "objects", "--warning", "10"], "TERM");
    assert_eq!(code, Some(3));
    assert!(stdout.contains("UNKNOWN - interrupted"), "{stdout}");
}
