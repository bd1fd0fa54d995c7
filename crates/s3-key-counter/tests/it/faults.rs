//! Counting through the fault-injecting proxy of the bench kit (10% of
//! requests answered `503 SlowDown`, 2% of connections reset): the count is
//! still exact, and every injected fault shows up as a retry in the report.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use mc_benchkit::proxy::Proxy;

#[test]
fn exact_count_under_slowdowns_and_resets() {
    let rt = rt();
    let keys = hex_keys(1000);
    let bytes: u64 = keys.iter().map(|(_, n)| *n as u64).sum();
    let bucket = rt.block_on(bucket_with("kc-faults", &keys));
    let seed = mc_testkit::child::seed("exact_count_under_slowdowns_and_resets");
    let upstream = mc_testkit::ministack().endpoint();
    let proxy = Proxy::faulty_blocking(upstream, 0.10, 0.02, seed).unwrap();
    let out = counter()
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .args([&format!("s3://{bucket}"), "-o", "json", "--page-size", "10"])
        .output()
        .unwrap();
    let stats = proxy.stats();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("proxy: {stats:?}\n--- stderr\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["objects"], 1000, "{line}");
    assert_eq!(line["bytes"], bytes, "{line}");
    // Every injected fault was retried, and counted.
    let faults: u64 = stats.faults.values().sum();
    assert!(faults > 0, "{stats:?}");
    assert_eq!(line["retries"], faults, "{line} {stats:?}");
    assert_eq!(line["requests"], stats.requests, "{line} {stats:?}");
}
