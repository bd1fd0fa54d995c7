//! `-j` and `--acl-reads` are what they say: the S3 model counts the
//! requests it serves at once, and a run never has more in flight than
//! `-j` + `--acl-reads`.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use mc_benchkit::s3model::{Distribution, ModelConfig, S3Model, SeedSpec};

#[test]
fn a_run_stays_within_j_plus_acl_reads() {
    let model = S3Model::start_blocking(ModelConfig {
        scale: 0.5,
        rate_limits: None,
        ..ModelConfig::default()
    })
    .unwrap();
    for bucket in ["inflight-src", "inflight-dst"] {
        model
            .seed(&SeedSpec::new(bucket, 300, Distribution::Hex))
            .unwrap();
    }
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
