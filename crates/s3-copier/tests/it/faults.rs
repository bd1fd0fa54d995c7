//! `sync` through the fault-injecting proxy (10% of requests answered
//! `503 SlowDown`, 2% of connections reset): it finishes, `verify` run
//! directly against ministack finds nothing missing or different (ACLs
//! included), and the report counts the retries.
#![allow(clippy::unwrap_used)]

use crate::common;

use aws_sdk_s3::primitives::ByteStream;
use common::*;
use mc_testkit::child::*;

#[tokio::test]
async fn sync_under_slowdowns_and_resets_loses_nothing() {
    let (s3, src, dst) = buckets("faults").await;
    let n = 300u64;
    mc_testkit::put_objects(
        &s3,
        &src,
        (0..n).map(|i| (format!("k/{i:04} é+%"), format!("value {i}"))),
    )
    .await;
    // Two objects above the multipart threshold: UploadPartCopy under faults too.
    for i in 0..2 {
        put(
            &s3,
            &src,
            format!("big/{i}"),
            ByteStream::from(vec![b'b'; 6 << 20]),
        )
        .await;
    }
    let total = n + 2;
    let seed = seed("sync_under_faults");
    let upstream = mc_testkit::ministack().endpoint();
    let proxy = mc_benchkit::proxy::Proxy::faulty_blocking(upstream, 0.10, 0.02, seed).unwrap();
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let out = copier()
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .args([
            "sync",
            "-o",
            "json",
            "--concurrency",
            "16",
            "--list-page-size",
            "50",
            "--multipart-threshold",
            "5MiB",
            "--part-size",
            "5MiB",
            &s,
            &d,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stats = proxy.stats();
    eprintln!("proxy: {stats:?}\n--- stderr\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let r = report(&out);
    assert_eq!(r["failed"], 0, "{r}");
    assert_eq!(r["copied"], total, "{r}");
    assert_eq!(r["multipart"], 2, "{r}");
    // The faults really happened, and the report counts the retries.
    let faults = |k: &str| stats.faults.get(k).copied().unwrap_or(0);
    assert!(faults("SlowDown") > 0 && faults("Reset") > 0, "{stats:?}");
    assert!(r["retries"].as_u64().unwrap() > 0, "{r}");
    // Every fault was retried (none surfaced), and every request counted.
    let injected: u64 = stats.faults.values().sum();
    assert_eq!(r["retries"], injected, "{r} {stats:?}");
    assert_eq!(r["requests"], stats.requests, "{r} {stats:?}");
    assert!(r["throttled"].as_u64().unwrap() > 0, "{r}");

    // Verified directly against ministack, ACLs included.
    let out = run(&["verify", "-o", "json", "--acl", &s, &d]);
    assert_eq!(out.status.code(), Some(0));
    let t = &report(&out)["totals"];
    assert_eq!(t["missing"], 0, "{t}");
    assert_eq!(t["different"], 0, "{t}");
    assert_eq!(t["acl_different"], 0, "{t}");
    assert_eq!(t["checked"], total, "{t}");
}

/// S3 can answer a CopyObject `200 OK` with an `<Error>` body: the copy
/// failed. A fifth of the copies get that answer from the proxy (which then
/// does not copy): every one is retried, none is taken for a copy, and the
/// lean copies after the first (through the SDK) see most of them.
#[tokio::test]
async fn a_200_with_an_error_body_is_a_failed_copy() {
    use mc_benchkit::proxy::{Faults, Proxy, ProxyConfig};

    let (s3, src, dst) = buckets("err200").await;
    let n = 60u64;
    mc_testkit::put_objects(&s3, &src, (0..n).map(|i| (format!("k/{i:03}"), "v"))).await;
    let proxy = Proxy::start_blocking(ProxyConfig {
        upstream: mc_testkit::ministack().endpoint().to_string(),
        faults: Faults {
            error_in_200: 0.2,
            only_ops: vec!["CopyObject".into()],
            ..Faults::default()
        },
        seed: seed("error_in_200"),
        ..ProxyConfig::default()
    })
    .unwrap();
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let out = copier()
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .args(["sync", "-o", "json", "-j", "4", "--acl", "skip", &s, &d])
        .output()
        .unwrap();
    let stats = proxy.stats();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let r = report(&out);
    let injected = stats.faults.get("ErrorIn200").copied().unwrap_or(0);
    assert!(injected >= 5, "{stats:?}");
    assert_eq!(r["copied"], n, "{r}");
    assert_eq!(r["retries"], injected, "{r} {stats:?}");
    // Every object is really there (a 200 taken for a copy would be missing).
    let out = run(&["verify", "-o", "json", &s, &d]);
    assert_eq!(out.status.code(), Some(0));
    let t = &report(&out)["totals"];
    assert_eq!(
        (t["missing"].as_u64(), t["checked"].as_u64()),
        (Some(0), Some(n)),
        "{t}"
    );
}
