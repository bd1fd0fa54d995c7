//! Shared helpers for the integration tests: fixtures on ministack and the
//! real binary pointed at it.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::Command as StdCommand;

use mc_testkit::{ministack, unique_name};

/// A runtime for the async fixtures (the binary itself runs synchronously).
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub async fn s3() -> aws_sdk_s3::Client {
    ministack().s3().await
}

/// A new bucket holding `objects` (key, size in bytes).
pub async fn bucket_with(prefix: &str, objects: &[(String, usize)]) -> String {
    let client = s3().await;
    let name = unique_name(prefix);
    mc_testkit::create_bucket(&client, &name).await;
    mc_testkit::put_objects(
        &client,
        &name,
        objects.iter().map(|(k, n)| (k.clone(), vec![b'x'; *n])),
    )
    .await;
    name
}

/// The binary with ministack's environment and a small page size, so small
/// buckets still take many list requests.
pub fn counter() -> assert_cmd::Command {
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("s3-key-counter"));
    ministack().apply_env(&mut cmd);
    for var in ["MC_OUTPUT", "MC_SHARD", "MC_SPLITS", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    cmd.env("S3KC_PAGE_SIZE", "37").env("MC_CONCURRENCY", "16");
    assert_cmd::Command::from_std(cmd)
}

/// Runs the counter with `args` and `-o json`; returns the JSON lines.
pub fn json_lines(args: &[&str]) -> Vec<serde_json::Value> {
    let out = counter().args(args).args(["-o", "json"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The one count line of a single-URL run.
pub fn count_json(args: &[&str]) -> serde_json::Value {
    let mut lines = json_lines(args);
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.remove(0)
}

/// Hex-prefixed keys: `<2 hex digits>/<n>`.
pub fn hex_keys(n: usize) -> Vec<(String, usize)> {
    (0..n)
        .map(|i| (format!("{:02x}/obj-{i:05}", (i * 7919) % 256), i % 13))
        .collect()
}

/// 90% of the keys under one hot prefix, the rest spread over others.
pub fn skewed_keys(n: usize) -> Vec<(String, usize)> {
    (0..n)
        .map(|i| {
            let key = if i % 10 != 0 {
                format!("hot/2024/{i:06}.json")
            } else {
                format!("cold-{}/{i:06}", i % 7)
            };
            (key, i % 5 + 1)
        })
        .collect()
}

/// Flat names, no delimiter at all.
pub fn flat_keys(n: usize) -> Vec<(String, usize)> {
    (0..n).map(|i| (format!("file-{i:06}.bin"), 3)).collect()
}

pub fn total_bytes(objects: &[(String, usize)]) -> u64 {
    objects.iter().map(|(_, n)| *n as u64).sum()
}
