//! `--help` snapshots and argument errors, without any AWS endpoint.

use std::process::Command;

use mc_testkit::cli::{bin, stdout};

fn postman() -> Command {
    named("sqs-postman")
}

/// The binary `name` (`sqs-postman` or `postman`) in a clean environment:
/// `[env: X=value]` in --help must not show the caller's settings.
fn named(name: &str) -> Command {
    let mut c = Command::new(bin(name));
    c.env_clear();
    c
}

fn help(args: &[&str]) -> String {
    help_of("sqs-postman", args)
}

fn help_of(name: &str, args: &[&str]) -> String {
    let out = named(name).args(args).output().unwrap();
    assert!(out.status.success());
    stdout(&out)
}

#[test]
fn help_snapshots() {
    insta::assert_snapshot!("help", help(&["--help"]));
    insta::assert_snapshot!("message_help", help(&["message", "--help"]));
    insta::assert_snapshot!("stats_help", help(&["stats", "--help"]));
}

#[test]
fn version() {
    let out = help(&["--version"]);
    assert!(out.starts_with("sqs-postman "), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let out = postman().args(["message", "q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = mc_testkit::cli::stderr(&out);
    assert!(err.contains("--message-source"), "{err}");
    let out = postman()
        .args(["message", "q", "-m", "f", "--delay-seconds", "901"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn missing_source_fails_before_any_aws_call() {
    // No region, no credentials, no endpoint: the file is checked first.
    let out = postman()
        .args(["message", "q", "-m", "/no/such/file"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = mc_testkit::cli::stderr(&out);
    assert_eq!(
        err.trim_end(),
        "sqs-postman: error: message source /no/such/file: No such file or directory (os error 2)"
    );
}

#[test]
fn no_region_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let src = dir.path().join("m.json");
    std::fs::write(&src, "{}").unwrap();
    let out = postman()
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["message", "q", "-m", src.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = mc_testkit::cli::stderr(&out);
    assert!(err.contains("no AWS region"), "{err}");
}

#[test]
fn a_broken_nagios_check_is_unknown_not_critical() {
    let out = postman()
        .args(["stats", "jobs", "--nagios", "--warning", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stdout = stdout(&out);
    assert!(
        stdout.starts_with("SQS UNKNOWN - invalid value 'lots'"),
        "{stdout}"
    );
}

/// Thresholds mean something only for a check: without --nagios they are a
/// usage error instead of being ignored.
#[test]
fn thresholds_need_nagios() {
    for flag in ["-w", "-c", "--warning", "--critical"] {
        let out = postman()
            .args(["stats", "jobs", flag, "5"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(mc_testkit::cli::stderr(&out).contains("--nagios"), "{flag}");
    }
}

/// `postman` is the same program under the original tool's name: its usage
/// lines say `postman` (the name it was called by), everything else is
/// sqs-postman's, and `--version` names the package, so a script can tell
/// it from the Node tool (which printed a bare version number).
#[test]
fn postman_is_the_same_program_under_the_original_name() {
    let version = help_of("postman", &["--version"]);
    assert_eq!(version, help(&["--version"]));
    assert!(version.starts_with("sqs-postman "), "{version}");
    for args in [
        &["--help"][..],
        &["message", "--help"],
        &["stats", "--help"],
    ] {
        let ours = help(args).replace("Usage: sqs-postman", "Usage: postman");
        assert_eq!(help_of("postman", args), ours, "{args:?}");
    }
    let out = named("postman").args(["message", "q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn compact_is_for_json_templates() {
    for other in ["--raw", "--lines"] {
        let out = postman()
            .args(["message", "q", "-m", "f", "--compact", other])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{other}");
    }
}
