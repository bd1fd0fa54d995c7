//! `s3-key-counter ... | head -1`: a closed stdout ends the count quietly
//! with 0 (it only reads).
#![allow(clippy::unwrap_used)]

use std::process::Command;

use crate::common::*;

#[test]
fn a_closed_pipe_ends_quietly_with_0() {
    let rt = rt();
    let bucket = rt.block_on(bucket_with("pipe", &hex_keys(300)));
    let mut cmd = Command::new(mc_testkit::cli::bin("s3-key-counter"));
    mc_testkit::ministack().apply_env(&mut cmd);
    cmd.env_remove("RUST_LOG")
        .args([format!("s3://{bucket}").as_str(), "--by-prefix", "1"]);
    let end = mc_testkit::cli::first_line_then_close(&mut cmd);
    assert!(!end.first_line.is_empty());
    assert_eq!(end.status.code(), Some(0), "{}", end.stderr);
    assert_eq!(end.stderr, "");
}
