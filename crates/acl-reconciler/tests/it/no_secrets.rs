//! No credential, session token or request signature ever reaches stdout or
//! stderr, at any verbosity: the real binary runs against the emulator with
//! recognisable fake credentials (and a session token), once with `-vvv` and
//! once with `RUST_LOG=trace`, and both streams are searched for them.
//!
//! The access key id must not appear either: AWS calls it non-secret, but it
//! names the key pair and many teams keep it out of logs. The SDK already
//! hides the secret key, the token and the `Authorization` header; the key id
//! (which it prints in its credential debug lines) is masked by
//! `mc_aws_common::logging`, which redacts every log line.
//!
//! The helpers below are the same in every tool's `tests/no_secrets.rs`.
#![allow(clippy::unwrap_used)]

use std::process::Output;

const BIN: &str = "acl-reconciler";

use aws_sdk_s3::types::ObjectCannedAcl;
use mc_testkit::cli::{stderr, stdout};

async fn is_public(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> bool {
    let a = mc_testkit::get_object_acl(s3, bucket, key).await;
    mc_aws_common::acl::Acl::from_sdk(a.owner(), a.grants()).is_public()
}

/// The plan (dry run) and an `--apply` without `--allow-public`, both at full
/// verbosity: no secret printed, and the public grant is not copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_apply_print_no_secret_and_never_widen_without_the_flag() {
    let emu = mc_testkit::ministack();
    let s3 = emu.s3().await;
    let src = mc_testkit::unique_name("nosec-src");
    let dst = mc_testkit::unique_name("nosec-dst");
    mc_testkit::create_bucket_with_acls(&s3, &src).await;
    mc_testkit::create_bucket_with_acls(&s3, &dst).await;
    mc_testkit::put_object_with_acl(&s3, &src, "public", ObjectCannedAcl::PublicRead).await;
    mc_testkit::put_object_with_acl(&s3, &dst, "public", ObjectCannedAcl::Private).await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let (plan, apply) = tokio::task::spawn_blocking(move || {
        let plan = run_checked(emu, &["-o", "json", &s, &d]);
        let apply = run_checked(emu, &["-o", "json", "--apply", &s, &d]);
        (plan, apply)
    })
    .await
    .unwrap();
    for out in plan.iter().chain(&apply) {
        assert!(
            matches!(out.status.code(), Some(0..=2)),
            "exit {:?}: {}",
            out.status.code(),
            stderr(out)
        );
        assert!(stdout(out).contains("\"public\""), "{}", stdout(out));
    }
    assert!(
        !is_public(&s3, &dst, "public").await,
        "public without --allow-public"
    );
}

/// `mc_testkit::secrets::run_checked` for this crate's binary.
fn run_checked(emu: &mc_testkit::Emulator, args: &[&str]) -> [Output; 2] {
    mc_testkit::secrets::run_checked(&assert_cmd::cargo::cargo_bin(BIN), emu, args)
}

/// The audit at full verbosity: no secret printed either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_prints_no_secret() {
    let emu = mc_testkit::ministack();
    let s3 = emu.s3().await;
    let bucket = mc_testkit::unique_name("nosec-audit");
    mc_testkit::create_bucket_with_acls(&s3, &bucket).await;
    mc_testkit::put_object_with_acl(&s3, &bucket, "public", ObjectCannedAcl::PublicRead).await;
    let url = format!("s3://{bucket}");
    let runs =
        tokio::task::spawn_blocking(move || run_checked(emu, &["audit", "-o", "json", &url]))
            .await
            .unwrap();
    for out in &runs {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        assert!(stdout(out).contains("\"public\""), "{}", stdout(out));
    }
}
