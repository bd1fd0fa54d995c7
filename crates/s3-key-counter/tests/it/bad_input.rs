//! Each bad input gets one clear line on stderr and a documented exit code.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use predicates::prelude::*;

/// Exactly one line on stderr, starting with the tool's name.
fn one_error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr).to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {text:?}");
    assert!(lines[0].starts_with("s3-key-counter: error: "), "{text:?}");
    lines[0].to_string()
}

#[test]
fn malformed_urls_are_usage_errors() {
    for (url, says) in [
        ("my-bucket/x", "is not an S3 URL"),
        ("s3://", "has no bucket name"),
        ("s3://Bad Bucket/x", "invalid bucket name"),
        ("https://example.com/x", "is not an S3 URL"),
    ] {
        let out = counter().arg(url).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}");
        let line = one_error_line(&out.stderr);
        assert!(line.contains(says), "{url}: {line}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn missing_bucket_is_not_found() {
    let out = counter()
        .arg("s3://s3kc-does-not-exist-anywhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let line = one_error_line(&out.stderr);
    assert!(
        line.contains("bucket s3kc-does-not-exist-anywhere: does not exist"),
        "{line}"
    );
}

#[test]
fn another_accounts_bucket_is_access_denied() {
    let rt = rt();
    let bucket = rt.block_on(bucket_with("private", &[("k".to_string(), 1)]));
    // On ministack a 12-digit access key is another account.
    let out = counter()
        .env("AWS_ACCESS_KEY_ID", "111111111111")
        .arg(format!("s3://{bucket}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let line = one_error_line(&out.stderr);
    assert!(
        line.contains(&format!("bucket {bucket}: access denied")),
        "{line}"
    );
}

#[test]
fn a_bucket_in_another_region_just_works() {
    let rt = rt();
    let bucket = rt.block_on(async {
        let client = s3().await;
        let name = mc_testkit::unique_name("eu");
        let eu = mc_testkit::create_bucket_in_region(&client, &name, "eu-west-1").await;
        mc_testkit::put_objects(&eu, &name, (0..40).map(|i| (format!("k{i}"), vec![1u8; 3]))).await;
        name
    });
    // The tool is configured for us-east-1 (ministack's env) and follows the bucket.
    let c = count_json(&[&format!("s3://{bucket}")]);
    assert_eq!(c["objects"], 40);
    assert_eq!(c["bytes"], 120);
}

#[test]
fn unreadable_or_wrong_splits_files() {
    let out = counter()
        .args([
            "s3://some-bucket",
            "--splits",
            "/nonexistent/splits",
            "--shard",
            "0/2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let line = one_error_line(&out.stderr);
    assert!(
        line.contains("--splits /nonexistent/splits: no such file or directory"),
        "{line}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s");
    std::fs::write(&file, "b\na\n").unwrap();
    let out = counter()
        .args([
            "s3://some-bucket",
            "--splits",
            file.to_str().unwrap(),
            "--shard",
            "0/3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out.stderr).contains("increasing order"));

    std::fs::write(&file, "other/a\n").unwrap();
    let out = counter()
        .args([
            "s3://some-bucket/logs/",
            "--splits",
            file.to_str().unwrap(),
            "--shard",
            "0/2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out.stderr).contains("outside the prefix \"logs/\""));
}

#[test]
fn clap_usage_errors_exit_2() {
    counter()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("<S3_URL>"));
    counter()
        .args(["s3://abc", "--shard", "3/3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a shard"));
    counter()
        .args(["s3://abc", "s3://def", "--emit-splits", "4"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--emit-splits works on one URL"));
    // --from-state: with a --max-age that parses, and nothing that lists.
    for (args, says) in [
        (&["--from-state", "f.json"][..], "--max-age <DURATION>"),
        (
            &["--from-state", "f.json", "--max-age", "soon"],
            "is not a duration",
        ),
        (
            &[
                "--from-state",
                "f.json",
                "--max-age",
                "2h",
                "--by-prefix",
                "1",
            ],
            "cannot be used with",
        ),
        (&["s3://abc", "--max-age", "2h"], "--from-state <FILE>"),
    ] {
        counter()
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    // A malformed endpoint is bad usage, found before any retry.
    counter()
        .args(["s3://abc", "--endpoint-url", "notaurl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value 'notaurl' for '--endpoint-url",
        ));
    // In Nagios mode: UNKNOWN.
    counter()
        .args([
            "s3://abc",
            "--check",
            "objects",
            "--endpoint-url",
            "ftp://x",
        ])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "S3KEYS UNKNOWN - invalid value 'ftp://x'",
        ));
}

#[test]
fn no_credentials_is_an_auth_error() {
    let rt = rt();
    let bucket = rt.block_on(bucket_with("nocreds", &[("k".to_string(), 1)]));
    let out = counter()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .arg(format!("s3://{bucket}"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(one_error_line(&out.stderr).contains("no AWS credentials found"));
}

#[test]
fn help_and_version() {
    counter()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("s3-key-counter "));
    let out = counter().arg("--help").output().unwrap();
    assert!(out.status.success());
    let mut help = String::from_utf8(out.stdout).unwrap();
    // The env values of this machine must not leak into the snapshot.
    help = help
        .lines()
        .map(|l| match l.find("[env: ") {
            Some(i) => match l[i..].find('=') {
                Some(j) => format!("{}=]", &l[..i + j]),
                None => l.to_string(),
            },
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("help", help);
}

#[test]
fn unknown_profile_fails_fast_as_auth() {
    let out = counter()
        .args(["--profile", "nope", "s3://some-bucket"])
        .output()
        .unwrap();
    mc_testkit::badinput::assert_one_error_line(
        "s3-key-counter",
        "--profile nope",
        &out,
        4,
        "profile nope: not found in",
    );
}

#[test]
fn expired_credentials_are_an_auth_error() {
    let rt = rt();
    let bucket = rt.block_on(bucket_with("expired", &[("k".to_string(), 1)]));
    let proxy =
        mc_benchkit::proxy::Proxy::expired_credentials(mc_testkit::ministack().endpoint()).unwrap();
    let out = counter()
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .arg(format!("s3://{bucket}"))
        .output()
        .unwrap();
    mc_testkit::badinput::assert_one_error_line(
        "s3-key-counter",
        "expired token",
        &out,
        4,
        "credentials rejected (ExpiredToken)",
    );
}

#[test]
fn a_check_that_cannot_answer_in_time_is_unknown() {
    // Nothing listens on port 1: the requests would be retried for a long
    // while; the check answers UNKNOWN at its --timeout instead.
    counter()
        .args([
            "s3://abc",
            "--check",
            "objects",
            "--timeout",
            "1",
            "--endpoint-url",
            "http://127.0.0.1:1",
        ])
        .assert()
        .code(3)
        .stdout("S3KEYS UNKNOWN - no answer within 1 s (--timeout)\n");
}
