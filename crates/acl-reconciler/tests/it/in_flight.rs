//! `-j` and `--acl-reads` are what they say: the S3 model counts the
//! requests it serves at once, and a run never has more in flight than
//! `-j` + `--acl-reads`.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use mc_benchkit::s3model::{Distribution, ModelConfig, S3Model, SeedSpec};

/// The model at half its latencies, without rate limits, with `buckets`
/// seeded with the same 300 keys.
fn seeded_model(buckets: [&str; 2]) -> S3Model {
    let model = S3Model::start_blocking(ModelConfig {
        scale: 0.5,
        rate_limits: None,
        ..ModelConfig::default()
    })
    .unwrap();
    for bucket in buckets {
        model
            .seed(&SeedSpec::new(bucket, 300, Distribution::Hex))
            .unwrap();
    }
    model
}

#[test]
fn a_run_stays_within_j_plus_acl_reads() {
    let model = seeded_model(["inflight-src", "inflight-dst"]);
    let mut cmd = Command::new(mc_testkit::cli::bin("acl-reconciler"));
    model.apply_env(&mut cmd);
    let out = cmd
        .args(["-q", "-j", "6", "--acl-reads", "3"])
        .args(["s3://inflight-src", "s3://inflight-dst"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", mc_testkit::cli::stderr(&out));
    let most = model.max_in_flight();
    assert!(
        most <= 9,
        "-j 6 --acl-reads 3 had {most} requests in flight"
    );
    // The ACL reads (two a key) fill their own budget.
    assert!(most >= 3, "no load: {most} in flight");
}

/// Started with a soft open-files limit below what `-j` needs (the 1024 or
/// 256 many systems give programs), a run raises it to the hard limit:
/// no connection fails with EMFILE, nothing is retried.
#[cfg(unix)]
#[test]
fn a_low_open_files_limit_is_raised() {
    let model = seeded_model(["nofile-src", "nofile-dst"]);
    let mut cmd = Command::new("sh");
    model.apply_env(&mut cmd);
    let out = cmd
        .args(["-c", r#"ulimit -Sn 48 && exec "$@""#, "sh"])
        .arg(mc_testkit::cli::bin("acl-reconciler"))
        .args(["-q", "-o", "json", "-j", "64"])
        .args(["s3://nofile-src", "s3://nofile-dst"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", mc_testkit::cli::stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains(r#""checked":300"#)
            && summary.contains(r#""errors":0"#)
            && summary.contains(r#""retries":0"#),
        "{summary}"
    );
    // The load needed more than the 48: at least -j requests at once.
    assert!(model.max_in_flight() > 48, "{}", model.max_in_flight());
}
