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
        .args(["--nagios", "--warning", "many", "s3://a", "s3://b"])
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
        .args(["--warning", "many", "s3://a", "s3://b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
