//! Bad inputs (issue 11) with the real binary against ministack: unknown
//! buckets and queues, an unknown profile, expired credentials, a bucket in
//! another region, hostile `--state` files. Each failure is one
//! `s3-copier: error:` line and its documented exit code, and nothing is copied.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use mc_testkit::badinput::{assert_one_error_line, hostile_files};

const TOOL: &str = "s3-copier";

/// Runs `args` with the extra environment `env`.
fn run_env(env: &[(&str, &str)], args: &[String]) -> std::process::Output {
    copier()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap()
}

fn urls(cmd: &str, src: &str, dst: &str) -> Vec<String> {
    vec![
        cmd.to_string(),
        format!("s3://{src}"),
        format!("s3://{dst}"),
    ]
}

/// (case, extra env, arguments, exit code, text of the error line)
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<String>, i32, String);

#[tokio::test(flavor = "multi_thread")]
async fn aws_side_failures_are_one_line_with_their_exit_code() {
    let (s3, src, dst) = buckets("badin").await;
    mc_testkit::put_objects(&s3, &src, [("a", "x")]).await;
    let proxy = mc_benchkit::proxy::Proxy::expired_credentials(emulator().endpoint()).unwrap();
    let expired = proxy.endpoint();
    let missing = "no-such-bucket-s3copier-bad";
    let queue = format!(
        "{}/000000000000/no-such-queue-s3copier",
        emulator().endpoint()
    );
    let mut worker = urls("worker", &src, &dst);
    worker.extend([
        "--queue".to_string(),
        queue,
        "--exit-when-idle".into(),
        "1".into(),
    ]);
    let cases: Vec<Case<'_>> = vec![
        (
            "sync: unknown source",
            vec![],
            urls("sync", missing, &dst),
            3,
            format!("bucket {missing}: does not exist"),
        ),
        (
            "verify: unknown destination",
            vec![],
            urls("verify", &src, missing),
            3,
            format!("bucket {missing}: does not exist"),
        ),
        (
            "worker: unknown queue",
            vec![],
            worker,
            3,
            "no-such-queue-s3copier: does not exist".into(),
        ),
        (
            "sync --profile nope",
            vec![],
            [
                urls("sync", &src, &dst),
                vec!["--profile".into(), "nope".into()],
            ]
            .concat(),
            4,
            "profile nope: not found in".into(),
        ),
        (
            "verify --dest-profile nope",
            vec![],
            [
                urls("verify", &src, &dst),
                vec!["--dest-profile".into(), "nope".into()],
            ]
            .concat(),
            4,
            "profile nope: not found in".into(),
        ),
        (
            "sync: expired token",
            vec![("AWS_ENDPOINT_URL", expired.as_str())],
            urls("sync", &src, &dst),
            4,
            "credentials rejected (ExpiredToken)".into(),
        ),
        (
            "verify: expired token",
            vec![("AWS_ENDPOINT_URL", expired.as_str())],
            urls("verify", &src, &dst),
            4,
            "credentials rejected (ExpiredToken)".into(),
        ),
    ];
    for (case, env, args, code, needle) in cases {
        let out = run_env(&env, &args);
        assert_one_error_line(TOOL, case, &out, code, &needle);
        assert!(
            out.stdout.is_empty(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert!(mc_testkit::list_all_keys(&s3, &dst, "").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_state_files_are_refused_before_copying() {
    let (s3, src, dst) = buckets("badstate").await;
    mc_testkit::put_objects(&s3, &src, [("a", "x")]).await;
    let dir = tempfile::tempdir().unwrap();
    // Empty too: a truncated file must not silently restart a finished copy.
    for (case, path) in hostile_files(dir.path()) {
        let mut args = urls("sync", &src, &dst);
        args.extend(["--state".to_string(), path.display().to_string()]);
        let out = run_env(&[], &args);
        assert_one_error_line(TOOL, case, &out, 2, "to start over");
    }
    assert!(mc_testkit::list_all_keys(&s3, &dst, "").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_bucket_in_another_region_just_works() {
    let s3 = s3().await;
    let (src, dst) = (
        mc_testkit::unique_name("eu-src"),
        mc_testkit::unique_name("us-dst"),
    );
    let eu = mc_testkit::create_bucket_in_region(&s3, &src, "eu-west-1").await;
    mc_testkit::put_objects(&eu, &src, [("a", "x"), ("b", "yy")]).await;
    mc_testkit::create_bucket(&s3, &dst).await;
    // Buckets created with a location constraint enforce bucket ownership (no ACLs).
    let sync = [
        urls("sync", &src, &dst),
        vec!["--acl".into(), "skip".into()],
    ]
    .concat();
    let out = run_env(&[], &sync);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        mc_testkit::list_all_keys(&s3, &dst, "").await,
        vec!["a", "b"]
    );
    let out = run_env(&[], &urls("verify", &src, &dst));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
