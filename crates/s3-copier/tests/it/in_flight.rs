//! `-j` and `--acl-reads` are what they say: the S3 model counts the
//! requests it serves at once, and no run ever has more in flight than
//! `-j` + `--acl-reads`.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use mc_benchkit::s3model::{Distribution, ModelConfig, S3Model, SeedSpec};

fn model() -> S3Model {
    S3Model::start_blocking(ModelConfig {
        scale: 0.5,
        rate_limits: None,
        ..ModelConfig::default()
    })
    .unwrap()
}

fn copier(model: &S3Model, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(mc_testkit::cli::bin("s3-copier"));
    model.apply_env(&mut cmd);
    let out = cmd.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "s3-copier {}: {}",
        args.join(" "),
        mc_testkit::cli::stderr(&out)
    );
    out
}

#[test]
fn sync_and_verify_stay_within_j_plus_acl_reads() {
    let model = model();
    model
        .seed(&SeedSpec::new("inflight-src", 400, Distribution::Hex))
        .unwrap();
    model.create_bucket("inflight-dst").unwrap();
    let (src, dst) = ("s3://inflight-src", "s3://inflight-dst");

    copier(
        &model,
        &["sync", "-q", "-j", "8", "--acl-reads", "4", src, dst],
    );
    let most = model.max_in_flight();
    assert!(
        most <= 12,
        "sync -j 8 --acl-reads 4 had {most} requests in flight"
    );
    // The reads overlap the copies: more than -j at once.
    assert!(
        most > 8,
        "the ACL reads never overlapped the copies ({most})"
    );
    assert_eq!(model.object_count("inflight-dst"), 400);

    model.reset_max_in_flight();
    copier(
        &model,
        &[
            "verify",
            "-q",
            "--acl",
            "-j",
            "6",
            "--acl-reads",
            "3",
            src,
            dst,
        ],
    );
    let most = model.max_in_flight();
    assert!(
        most <= 9,
        "verify -j 6 --acl-reads 3 had {most} requests in flight"
    );

    model.reset_max_in_flight();
    copier(
        &model,
        &["sync", "-q", "-j", "5", "--acl", "skip", src, dst],
    );
    let most = model.max_in_flight();
    assert!(
        most <= 5,
        "sync -j 5 --acl skip had {most} requests in flight"
    );
}
