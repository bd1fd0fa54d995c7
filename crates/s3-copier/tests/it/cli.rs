//! The command line: --help snapshots, bad input, iam-policy (no AWS needed).
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use predicates::prelude::*;

fn cmd() -> Command {
    let mut c = Command::cargo_bin("s3-copier").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("MC_") || k.starts_with("S3_COPIER_") {
            c.env_remove(k);
        }
    }
    c.env("COLUMNS", "100");
    c
}

fn stdout(args: &[&str]) -> String {
    let out = cmd().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_snapshots() {
    insta::assert_snapshot!("help", stdout(&["--help"]));
    insta::assert_snapshot!("sync_help", stdout(&["sync", "--help"]));
    insta::assert_snapshot!("verify_help", stdout(&["verify", "--help"]));
    insta::assert_snapshot!("worker_help", stdout(&["worker", "--help"]));
    insta::assert_snapshot!("lag_help", stdout(&["lag", "--help"]));
    insta::assert_snapshot!("iam_policy_help", stdout(&["iam-policy", "--help"]));
    insta::assert_snapshot!("batch_help", stdout(&["batch", "--help"]));
    insta::assert_snapshot!("fleet_status_help", stdout(&["fleet-status", "--help"]));
    for sub in ["plan", "create", "status", "confirm", "report", "manifest"] {
        insta::assert_snapshot!(
            format!("batch_{sub}_help"),
            stdout(&["batch", sub, "--help"])
        );
    }
}

#[test]
fn version() {
    cmd()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("s3-copier "));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let cases: &[&[&str]] = &[
        &["sync", "old-bucket", "s3://new-bucket"],
        &["sync", "s3://old-bucket", "s3://x"],
        &[
            "sync",
            "--acl",
            "world-readable",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--shard",
            "4/4",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--part-size",
            "lots",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--part-size",
            "1MiB",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--multipart-threshold",
            "6GiB",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &["sync", "s3://same-bucket/a/", "s3://same-bucket/a/b/"],
        &[
            "verify",
            "--warning",
            "3",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &["worker", "s3://old-bucket", "s3://new-bucket"],
        // --include/--exclude: a pattern from the root would match nothing.
        &[
            "sync",
            "--exclude",
            "/tmp/*",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "verify",
            "--include",
            "/x",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--queue-arn",
            "old-bucket-events",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--queue-arn",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "worker",
            "--lag-state",
            "--queue",
            "https://sqs.us-east-1.amazonaws.com/1/q",
        ],
        // Published ranges: a queue URL, --progress, no flags that do not fit.
        &[
            "sync",
            "--publish-ranges",
            "ranges",
            "--progress",
            "s3://ops/p/",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--publish-ranges",
            "https://sqs.us-east-1.amazonaws.com/1/q",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--publish-ranges",
            "https://sqs.us-east-1.amazonaws.com/1/q",
            "--progress",
            "s3://ops/p/",
            "--delete",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--publish-ranges",
            "https://sqs.us-east-1.amazonaws.com/1/q",
            "--progress",
            "s3://ops/p/",
            "--ranges",
            "0",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--publish-ranges",
            "https://sqs.us-east-1.amazonaws.com/1/q",
            "--progress",
            "s3://ops/p/",
            "--ranges",
            "4",
            "--range-keys",
            "10",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &[
            "sync",
            "--ranges",
            "4",
            "s3://old-bucket",
            "s3://new-bucket",
        ],
        &["fleet-status", "ops/p/run/"],
        // lag: the state file and the queue are required, durations checked.
        &["lag", "--queue", "https://sqs.us-east-1.amazonaws.com/1/q"],
        &["lag", "--state", "f.json"],
        &["lag", "--state", "f.json", "--queue", "q"],
        &[
            "lag",
            "--state",
            "f.json",
            "--queue",
            "https://sqs.us-east-1.amazonaws.com/1/q",
            "--stale-after",
            "soon",
        ],
        &[
            "lag",
            "--state",
            "f.json",
            "--queue",
            "https://sqs.us-east-1.amazonaws.com/1/q",
            "--depth-warning",
            "5",
        ],
    ];
    for args in cases {
        let out = cmd().args(*args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("error"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn foreign_state_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    std::fs::write(&state, "not json").unwrap();
    cmd()
        .args([
            "sync",
            "--state",
            state.to_str().unwrap(),
            "s3://old-bucket",
            "s3://new-bucket",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("s3-copier: error: --state "));
}

#[test]
fn iam_policy_prints_valid_json() {
    let text = stdout(&[
        "iam-policy",
        "--mode",
        "worker",
        "--delete",
        "s3://old-bucket/img/",
        "s3://new-bucket",
    ]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["Version"], "2012-10-17");
    assert!(text.contains("sqs:DeleteMessage") && text.contains("s3:DeleteObject"));
    insta::assert_snapshot!(
        "iam_policy_sync",
        stdout(&["iam-policy", "s3://old-bucket", "s3://new-bucket"])
    );
    // Under a folder: listing and objects only there, never the whole bucket.
    let text = stdout(&["iam-policy", "s3://old-bucket/img", "s3://new-bucket/copy/"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let statements = v["Statement"].as_array().unwrap();
    let sid = |s: &str| statements.iter().find(|x| x["Sid"] == s).unwrap().clone();
    assert_eq!(
        sid("ListSource")["Condition"]["StringLike"]["s3:prefix"],
        serde_json::json!(["img/*"])
    );
    assert_eq!(
        sid("ListDestination")["Condition"]["StringLike"]["s3:prefix"],
        serde_json::json!(["copy/*"])
    );
    assert_eq!(
        sid("ReadSourceObjects")["Resource"],
        "arn:aws:s3:::old-bucket/img/*"
    );
    assert_eq!(
        sid("WriteDestinationObjects")["Resource"],
        "arn:aws:s3:::new-bucket/copy/*"
    );
    // The worker HEADs source objects: a deleted one must answer 404, which
    // S3 gives only with an unconditioned s3:ListBucket.
    let text = stdout(&[
        "iam-policy",
        "--mode",
        "worker",
        "s3://old-bucket/img",
        "s3://new-bucket/copy",
    ]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let statements = v["Statement"].as_array().unwrap();
    let list_source = statements
        .iter()
        .find(|x| x["Sid"] == "ListSource")
        .unwrap();
    assert!(list_source.get("Condition").is_none(), "{list_source}");
}

#[test]
fn a_broken_nagios_check_is_unknown_not_critical() {
    let out = cmd()
        .args([
            "verify",
            "--nagios",
            "--warning",
            "lots",
            "s3://a",
            "s3://b",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("S3COPIER UNKNOWN - invalid value 'lots'"),
        "{stdout}"
    );
    // The lag check too, bad arguments or a missing state file.
    let q = "https://sqs.us-east-1.amazonaws.com/123456789012/q";
    for (args, says) in [
        (
            vec![
                "lag",
                "--nagios",
                "--state",
                "f",
                "--queue",
                q,
                "--depth-critical",
                "x",
            ],
            "S3COPIER UNKNOWN - invalid value 'x'",
        ),
        (
            vec![
                "lag",
                "--nagios",
                "--state",
                "/nonexistent/lag.json",
                "--queue",
                q,
            ],
            "S3COPIER UNKNOWN - /nonexistent/lag.json: no such file or directory",
        ),
    ] {
        let out = cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.starts_with(says), "{stdout}");
    }
}

#[test]
fn worker_queue_must_be_a_queue_url() {
    for (queue, says) in [
        (
            "arn:aws:sqs:eu-west-1:123456789012:events",
            "an ARN, not a queue URL",
        ),
        ("events", "expected the queue's URL"),
        (
            "https://sqs.eu-west-1.amazonaws.com/",
            "no account and queue name",
        ),
        (
            "https://sqs.eu-west-1.amazonaws.com/123456789012/",
            "no account and queue name",
        ),
    ] {
        let out = cmd()
            .args(["worker", "--queue", queue, "s3://a", "s3://b"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{queue}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(says), "{queue}: {stderr}");
    }
}

#[test]
fn storage_class_is_checked_up_front() {
    let out = cmd()
        .args([
            "sync",
            "--storage-class",
            "BOGUS",
            "s3://a-bucket",
            "s3://b-bucket",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("not an S3 storage class; one of "),
        "{stderr}"
    );
    assert!(stderr.contains("GLACIER, GLACIER_IR,"), "{stderr}");
}
