//! `cargo xtask demo` end to end at a small size: the real tools migrate a
//! live bucket on a private ministack, and the demo says the copy is complete
//! and exact (exit 0).
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn demo_migrates_a_small_live_bucket_completely() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["demo", "--objects", "300"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- stdout\n{stdout}--- stderr\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "the demo failed");
    assert!(
        stdout.contains("MIGRATION COMPLETE AND EXACT"),
        "no verdict"
    );
    // Every step ran its real tool.
    for command in [
        "$ s3-key-counter -o json s3://old-bucket",
        "$ s3-copier worker",
        "$ s3-copier sync",
        "$ acl-reconciler -o json",
        "$ acl-reconciler --apply --allow-public",
        "$ s3-copier verify --acl",
    ] {
        assert!(stdout.contains(command), "`{command}` did not run");
    }
    assert!(stdout.contains(" 0 missing, 0 different, 0 ACL different"));
}

#[test]
fn demo_rejects_bad_arguments_with_one_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["demo", "--objects", "many"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--objects"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing ran");
}
