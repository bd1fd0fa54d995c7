//! Bad inputs (issue 11) with the real binary against ministack: hostile
//! `--keys-from` files, unknown buckets, an unknown profile, expired
//! credentials, a bucket in another region. Each failure is one
//! `acl-reconciler: error:` line and its documented exit code, and no ACL is
//! written (every run here has `--apply`).
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use aws_sdk_s3::types::ObjectCannedAcl;
use mc_testkit::badinput::{assert_one_error_line, hostile_files};

const TOOL: &str = "acl-reconciler";

fn tool() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"));
    mc_testkit::ministack().apply_env(&mut c);
    c.env_remove("RUST_LOG");
    c
}

fn apply(env: &[(&str, &str)], extra: &[&str], src: &str, dst: &str) -> Output {
    tool()
        .envs(env.iter().copied())
        .args(["--apply", "--allow-public", "-o", "json"])
        .args(extra)
        .arg(format!("s3://{src}"))
        .arg(format!("s3://{dst}"))
        .output()
        .unwrap()
}

/// Source `k` is public-read, destination `k` private: a run that got as far
/// as applying would make the destination public.
async fn drifted(prefix: &str) -> (aws_sdk_s3::Client, String, String) {
    let s3 = mc_testkit::ministack().s3().await;
    let (src, dst) = (
        mc_testkit::unique_name(&format!("{prefix}-src")),
        mc_testkit::unique_name(&format!("{prefix}-dst")),
    );
    for b in [&src, &dst] {
        mc_testkit::create_bucket_with_acls(&s3, b).await;
        mc_testkit::put_objects(&s3, b, [("k", "x")]).await;
    }
    s3.put_object_acl()
        .bucket(&src)
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    (s3, src, dst)
}

async fn dest_grants(s3: &aws_sdk_s3::Client, dst: &str) -> usize {
    let acl = mc_testkit::get_object_acl(s3, dst, "k").await;
    acl.grants().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_keys_files() {
    let (s3, src, dst) = drifted("acl-keys").await;
    let before = dest_grants(&s3, &dst).await;
    let dir = tempfile::tempdir().unwrap();
    for (case, path) in hostile_files(dir.path()) {
        let path = path.to_str().unwrap();
        let out = apply(&[], &["--keys-from", path], &src, &dst);
        if case == "empty" {
            // No keys, nothing to do: a clean run that checked nothing.
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{case}: {stderr}");
            assert!(stderr.is_empty(), "{case}: {stderr}");
            continue;
        }
        let needle = match case {
            "huge-line" => "line 1: longer than 1024 bytes",
            "latin1" | "utf16" => "line 1: not valid UTF-8",
            _ => "not valid UTF-8",
        };
        assert_one_error_line(TOOL, case, &out, 2, needle);
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("\"key\""),
            "{case}"
        );
    }
    assert_eq!(dest_grants(&s3, &dst).await, before);
}

/// (case, extra env, extra arguments, source, destination, exit code, text of the line)
type Case<'a> = (
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [&'a str],
    &'a str,
    &'a str,
    i32,
    &'a str,
);

#[tokio::test(flavor = "multi_thread")]
async fn aws_side_failures_are_one_line_with_their_exit_code() {
    let (s3, src, dst) = drifted("acl-aws").await;
    let before = dest_grants(&s3, &dst).await;
    let proxy =
        mc_benchkit::proxy::Proxy::expired_credentials(mc_testkit::ministack().endpoint()).unwrap();
    let expired = proxy.endpoint();
    let missing = "no-such-bucket-acl-bad-input";
    let cases: &[Case<'_>] = &[
        (
            "unknown source",
            &[],
            &[],
            missing,
            &dst,
            3,
            "bucket no-such-bucket-acl-bad-input: does not exist",
        ),
        (
            "--profile nope",
            &[],
            &["--profile", "nope"],
            &src,
            &dst,
            4,
            "profile nope: not found in",
        ),
        (
            "--source-profile nope",
            &[],
            &["--source-profile", "nope"],
            &src,
            &dst,
            4,
            "profile nope: not found in",
        ),
        (
            "expired token",
            &[("AWS_ENDPOINT_URL", &expired)],
            &[],
            &src,
            &dst,
            4,
            "credentials rejected (ExpiredToken)",
        ),
    ];
    for (case, env, extra, s, d, code, needle) in cases {
        let out = apply(env, extra, s, d);
        assert_one_error_line(TOOL, case, &out, *code, needle);
        assert!(
            out.stdout.is_empty(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_eq!(dest_grants(&s3, &dst).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destination_in_another_region_is_followed() {
    let (s3, src, _) = drifted("acl-us").await;
    let dst = mc_testkit::unique_name("acl-eu");
    let eu = mc_testkit::create_bucket_in_region(&s3, &dst, "eu-west-1").await;
    let rule = aws_sdk_s3::types::OwnershipControlsRule::builder()
        .object_ownership(aws_sdk_s3::types::ObjectOwnership::ObjectWriter)
        .build()
        .unwrap();
    eu.put_bucket_ownership_controls()
        .bucket(&dst)
        .ownership_controls(
            aws_sdk_s3::types::OwnershipControls::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    eu.delete_public_access_block()
        .bucket(&dst)
        .send()
        .await
        .unwrap();
    mc_testkit::put_objects(&eu, &dst, [("k", "x")]).await;
    let before = dest_grants(&eu, &dst).await;
    // The tool is configured for us-east-1 and follows the bucket to eu-west-1.
    let out = apply(&[], &[], &src, &dst);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"fixed\""),
        "{stderr}"
    );
    assert_eq!(dest_grants(&eu, &dst).await, before + 1);
}
