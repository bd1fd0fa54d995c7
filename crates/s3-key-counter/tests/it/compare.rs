//! Two or more URLs (migration progress) and Nagios mode against ministack.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use predicates::prelude::*;

/// A source bucket with 120 objects and a destination holding the first 90.
fn source_and_copy() -> (String, String) {
    let rt = rt();
    let objects = hex_keys(120);
    let src = rt.block_on(bucket_with("src", &objects));
    let dst = rt.block_on(bucket_with("dst", &objects[..90]));
    (src, dst)
}

#[test]
fn differences_between_buckets() {
    let (src, dst) = source_and_copy();
    let objects = hex_keys(120);
    let missing = total_bytes(&objects) - total_bytes(&objects[..90]);
    let lines = json_lines(&[&format!("s3://{src}"), &format!("s3://{dst}")]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["objects"], 120);
    assert_eq!(lines[1]["objects"], 90);
    let d = &lines[2];
    assert_eq!(d["kind"], "difference");
    assert_eq!(d["from"], format!("s3://{src}/"));
    assert_eq!(d["to"], format!("s3://{dst}/"));
    assert_eq!(d["objects"], 30);
    assert_eq!(d["bytes"], missing);
    assert_eq!(d["objects_percent"], 75.0);

    counter()
        .args([&format!("s3://{src}"), &format!("s3://{dst}")])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "s3://{dst}/ has 30 fewer objects and"
        )))
        .stdout(predicate::str::contains("(at 75.0% of its objects"));

    // The same bucket twice, or a prefix against itself: no difference.
    let lines = json_lines(&[&format!("s3://{src}"), &format!("s3://{src}/")]);
    assert_eq!(
        (lines[2]["objects"].as_i64(), lines[2]["bytes"].as_i64()),
        (Some(0), Some(0))
    );
}

#[test]
fn nagios_exit_codes_and_perfdata() {
    let (src, dst) = source_and_copy();
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    // Object count thresholds.
    counter()
        .args([
            &s,
            "--check",
            "objects",
            "--warning",
            "200",
            "--critical",
            "300",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(format!(
            "S3KEYS OK - s3://{src}/ 120 objects"
        )))
        .stdout(predicate::str::contains(
            "| 'objects'=120;200;300;0 'bytes'=",
        ));
    counter()
        .args([
            &s,
            "--check",
            "objects",
            "--warning",
            "100",
            "--critical",
            "300",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("S3KEYS WARNING - "));
    counter()
        .args([&s, "--check", "bytes", "--critical", "~:10"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("S3KEYS CRITICAL - "));
    // A bucket that should never be empty: alert below 1.
    counter()
        .args([&s, "--check", "objects", "--critical", "1:"])
        .assert()
        .code(0);
    // Replication lag between two buckets.
    counter()
        .args([
            &s,
            &d,
            "--check",
            "diff-objects",
            "--warning",
            "10",
            "--critical",
            "50",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("has 30 fewer objects"))
        .stdout(predicate::str::contains("'diff_objects'=30;10;50"));
    counter()
        .args([&s, &d, "--check", "diff-bytes", "--warning", "1Ki"])
        .assert()
        .code(0);
    counter()
        .args([&s, &d, "--check", "diff-objects", "--critical", "20"])
        .assert()
        .code(2);
}

#[test]
fn nagios_failures_are_unknown() {
    let (src, _) = source_and_copy();
    let s = format!("s3://{src}");
    // A diff needs two URLs.
    counter()
        .args([&s, "--check", "diff-objects", "--warning", "1"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "S3KEYS UNKNOWN - --check diff-objects",
        ));
    // A bad threshold (clap's error) is UNKNOWN too.
    counter()
        .args([&s, "--check", "objects", "--warning", "lots"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "S3KEYS UNKNOWN - invalid value 'lots'",
        ));
    // A missing bucket, a bad URL, no permission.
    counter()
        .args(["s3://no-such-bucket-s3kc", "--check", "objects"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "S3KEYS UNKNOWN - bucket no-such-bucket-s3kc: does not exist",
        ));
    counter()
        .args(["not-a-url", "--check=objects"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "S3KEYS UNKNOWN - \"not-a-url\" is not an S3 URL",
        ));
    counter()
        .env("AWS_ACCESS_KEY_ID", "111111111111")
        .args([&s, "--check", "objects"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("access denied"));
}
