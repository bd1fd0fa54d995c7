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

use std::process::{Command, Output};

const BIN: &str = "s3-copier";

use aws_sdk_s3::types::ObjectCannedAcl;
use mc_aws_common::acl::Acl;
use mc_testkit::cli::{stderr, stdout};

/// Two fresh buckets with ACLs enabled; the source holds one public-read and
/// one private object.
async fn buckets(prefix: &str) -> (aws_sdk_s3::Client, String, String) {
    let s3 = mc_testkit::ministack().s3().await;
    let src = mc_testkit::unique_name(&format!("{prefix}-src"));
    let dst = mc_testkit::unique_name(&format!("{prefix}-dst"));
    mc_testkit::create_bucket_with_acls(&s3, &src).await;
    mc_testkit::create_bucket_with_acls(&s3, &dst).await;
    for (key, acl) in [
        ("public", ObjectCannedAcl::PublicRead),
        ("private", ObjectCannedAcl::Private),
    ] {
        mc_testkit::put_object_with_acl(&s3, &src, key, acl).await;
    }
    (s3, src, dst)
}

async fn acl_of(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Acl {
    let out = mc_testkit::get_object_acl(s3, bucket, key).await;
    Acl::from_sdk(out.owner(), out.grants())
}

/// `s3-copier <args> s3://src s3://dst`, plain (no secrets check), asserting success.
fn copier(args: &[&str], src: &str, dst: &str) {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin(BIN));
    mc_testkit::ministack().apply_env(&mut cmd);
    let out = cmd
        .env_remove("RUST_LOG")
        .args(args)
        .arg(format!("s3://{src}"))
        .arg(format!("s3://{dst}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_verify_print_no_secret_at_any_verbosity() {
    let emu = mc_testkit::ministack();
    let (_s3, src, dst) = buckets("nosec").await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let outs = tokio::task::spawn_blocking(move || {
        let sync = run_checked(emu, &["sync", "-o", "json", &s, &d]);
        let verify = run_checked(emu, &["verify", "-o", "json", "--acl", &s, &d]);
        (sync, verify)
    })
    .await
    .unwrap();
    for out in outs.0.iter().chain(&outs.1) {
        assert!(out.status.success(), "{}", stderr(out));
    }
    // verify after sync: nothing missing, nothing different.
    let report = stdout(&outs.1[1]);
    assert!(report.contains("\"missing\":0"), "{report}");
}

/// The live path: SQS receive/delete and the copies, at full verbosity; the
/// private object is still private at the destination.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_prints_no_secret_at_any_verbosity() {
    let emu = mc_testkit::ministack();
    let (s3, src, dst) = buckets("nosec-live").await;
    let sqs = emu.sqs().await;
    let queue = mc_testkit::create_queue(&sqs, &mc_testkit::unique_name("nosec-events")).await;
    for (n, key) in ["public", "private"].iter().enumerate() {
        let event = serde_json::json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": emu.region(),
            "eventTime": "2024-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": src, "arn": format!("arn:aws:s3:::{src}")},
                   "object": {"key": key, "size": 4, "sequencer": format!("0{n}")}}
        }]});
        sqs.send_message()
            .queue_url(&queue)
            .message_body(event.to_string())
            .send()
            .await
            .unwrap();
    }
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let dir = tempfile::tempdir().unwrap();
    let lag = dir.path().join("lag.json").display().to_string();
    let (outs, lag_outs) = tokio::task::spawn_blocking(move || {
        let args = [
            "worker",
            "-o",
            "json",
            "--queue",
            &queue,
            "--lag-state",
            &lag,
            "--exit-when-idle",
            "1",
            &s,
            &d,
        ];
        let worker = run_checked(emu, &args);
        // And the lag check's SQS call.
        let lag = run_checked(emu, &["lag", "--state", &lag, "--queue", &queue]);
        (worker, lag)
    })
    .await
    .unwrap();
    for out in outs.iter().chain(&lag_outs) {
        assert!(out.status.success(), "{}", stderr(out));
    }
    assert!(
        stdout(&outs[0]).contains("\"copied\":2"),
        "{}",
        stdout(&outs[0])
    );
    assert!(!acl_of(&s3, &dst, "private").await.is_public());
    assert!(acl_of(&s3, &dst, "public").await.is_public());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_skip_and_private_never_copy_a_public_grant() {
    for mode in ["skip", "private"] {
        let (s3, src, dst) = buckets(&format!("acl-{mode}")).await;
        let (s, d) = (src.clone(), dst.clone());
        tokio::task::spawn_blocking(move || copier(&["sync", "--acl", mode], &s, &d))
            .await
            .unwrap();
        for key in ["public", "private"] {
            let acl = acl_of(&s3, &dst, key).await;
            assert!(!acl.is_public(), "--acl {mode}: {key} became public: {acl}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_canned_acl_applies_only_when_asked_for() {
    let (s3, src, dst) = buckets("acl-copy").await;
    let (s, d) = (src.clone(), dst.clone());
    // Default `--acl copy`: the private object stays private, the public one stays public.
    tokio::task::spawn_blocking(move || copier(&["sync"], &s, &d))
        .await
        .unwrap();
    assert!(!acl_of(&s3, &dst, "private").await.is_public());
    assert!(acl_of(&s3, &dst, "public").await.is_public());

    // Explicit `--acl public-read` into a fresh destination: every object, as asked.
    let dst2 = mc_testkit::unique_name("acl-pub-dst");
    mc_testkit::create_bucket_with_acls(&s3, &dst2).await;
    let (s, d) = (src.clone(), dst2.clone());
    tokio::task::spawn_blocking(move || copier(&["sync", "--acl", "public-read"], &s, &d))
        .await
        .unwrap();
    assert!(acl_of(&s3, &dst2, "private").await.is_public());
}

/// `mc_testkit::secrets::run_checked` for this crate's binary.
fn run_checked(emu: &mc_testkit::Emulator, args: &[&str]) -> [Output; 2] {
    mc_testkit::secrets::run_checked(&assert_cmd::cargo::cargo_bin(BIN), emu, args)
}

/// `batch create`: the S3 calls and the hand-signed S3 Control call (a
/// canned server behind the recording proxy) print no secret; the signed
/// request carries the session token, as the SDK's would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_create_prints_no_secret_at_any_verbosity() {
    let emu = mc_testkit::ministack();
    let (s3, src, dst) = buckets("nosec-batch").await;
    let man = mc_testkit::unique_name("nosec-man");
    mc_testkit::create_bucket(&s3, &man).await;
    let (_canned, proxy) = crate::batch::control();
    let control = proxy.endpoint();
    let (s, d, m) = (
        format!("s3://{src}"),
        format!("s3://{dst}"),
        format!("s3://{man}/b/"),
    );
    let outs = tokio::task::spawn_blocking(move || {
        let role = "arn:aws:iam::111122223333:role/s3-copier-batch";
        let args = [
            "batch",
            "-o",
            "json",
            "create",
            "--acl",
            "skip",
            "--yes",
            "--manifest",
            &m,
            "--role-arn",
            role,
            &s,
            &d,
        ];
        let env = [("AWS_ENDPOINT_URL_S3_CONTROL", control.as_str())];
        mc_testkit::secrets::run_checked_env(&assert_cmd::cargo::cargo_bin(BIN), emu, &args, &env)
    })
    .await
    .unwrap();
    for out in &outs {
        assert!(out.status.success(), "{}", stderr(out));
        assert!(stdout(out).contains("\"kind\":\"job\""), "{}", stdout(out));
    }
    let jobs: Vec<_> = proxy
        .recorded()
        .into_iter()
        .filter(|r| r.op == "CreateJob")
        .collect();
    assert_eq!(jobs.len(), 2);
    for j in &jobs {
        assert_eq!(
            j.header("x-amz-security-token"),
            Some(mc_testkit::secrets::SESSION_TOKEN)
        );
        let auth = j.header("authorization").unwrap();
        assert!(
            auth.contains(&format!(
                "Credential={}/",
                mc_testkit::secrets::ACCESS_KEY_ID
            )),
            "{auth}"
        );
    }
}
