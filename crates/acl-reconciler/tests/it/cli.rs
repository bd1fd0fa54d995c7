//! CLI surface: `--help` snapshots and `--version`.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn output(args: &[&str]) -> String {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"))
        .args(args)
        .env("COLUMNS", "100")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help() {
    insta::assert_snapshot!("help", output(&["--help"]));
}

#[test]
fn short_help() {
    insta::assert_snapshot!("short_help", output(&["-h"]));
}

#[test]
fn version() {
    assert!(output(&["--version"]).starts_with("acl-reconciler "));
}

#[test]
fn a_broken_nagios_check_is_unknown_not_critical() {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"))
        .args(["--nagios", "--warning", "many", "s3://a", "s3://bkt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("ACL_DRIFT UNKNOWN - invalid value 'many'"),
        "{stdout}"
    );
    // Without --nagios the same mistake is a usage error.
    let out = Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"))
        .args(["--warning", "many", "s3://a", "s3://bkt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn audit_help() {
    insta::assert_snapshot!("audit_help", output(&["audit", "--help"]));
}

#[test]
fn audit_bad_command_lines_get_one_line_and_exit_2() {
    let run = |args: &[&str]| {
        Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"))
            .args(args)
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .unwrap()
    };
    for (args, says) in [
        (&["audit"][..], "<BUCKET>"),
        (&["audit", "not-a-url"], "is not an S3 URL"),
        (
            &["audit", "s3://bkt", "--account", "x=1"],
            "CANONICAL_ID=ACCOUNT_ID",
        ),
        (&["audit", "s3://bkt", "--from", "f"], "--nagios"),
        (&["audit", "s3://bkt", "--max-age", "1h"], "--from"),
        (
            &["audit", "s3://bkt", "--request-payer", "owner"],
            "requester",
        ),
        (&["audit", "s3://bkt", "--warning", "1"], "--nagios"),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A broken check is UNKNOWN, with the audit's own service name.
    let out = run(&[
        "audit",
        "s3://bkt",
        "--nagios",
        "--from",
        "f",
        "--max-age",
        "soon",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("ACL_GRANTS UNKNOWN - invalid value 'soon'"),
        "{stdout}"
    );
}
