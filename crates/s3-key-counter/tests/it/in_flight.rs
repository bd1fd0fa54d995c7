//! `-j` bounds the requests of the whole run: the S3 model counts the
//! requests it serves at once, counting two URLs at `-j 6` never has more
//! than 6 in flight.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use mc_benchkit::s3model::{Distribution, ModelConfig, S3Model, SeedSpec};

#[test]
fn two_urls_share_j() {
    let model = S3Model::start_blocking(ModelConfig {
        scale: 0.2,
        rate_limits: None,
        ..ModelConfig::default()
    })
    .unwrap();
    for bucket in ["inflight-a", "inflight-b"] {
        model
            .seed(&SeedSpec::new(bucket, 3000, Distribution::Hex))
            .unwrap();
    }
    let mut cmd = Command::new(mc_testkit::cli::bin("s3-key-counter"));
    model.apply_env(&mut cmd);
    let out = cmd
        .args([
            "s3://inflight-a",
            "s3://inflight-b",
            "-j",
            "6",
            "--page-size",
            "50",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", mc_testkit::cli::stderr(&out));
    let most = model.max_in_flight();
    assert!(
        (2..=6).contains(&most),
        "-j 6 had {most} requests in flight"
    );
}
