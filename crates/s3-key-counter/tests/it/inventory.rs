//! `--inventory`: counting from a report (written by the independent
//! fixture writer, uploaded to an inventory bucket on ministack) instead of
//! listing; the report's age in every output; `--cross-check` against the
//! bucket as it is now; `--emit-splits` from the report; the Nagios check;
//! a damaged report is an error, never a count.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use crate::common::*;

/// The report's rows for `keys` (key, size), all STANDARD but every fifth GLACIER.
fn rows(keys: &[(String, usize)]) -> Vec<Value> {
    keys.iter()
        .enumerate()
        .map(|(i, (k, n))| {
            json!({
                "key": k,
                "size": n,
                "storage_class": if i % 5 == 0 { "GLACIER" } else { "STANDARD" },
            })
        })
        .collect()
}

fn spec(source: &str, format: &str, rows: Vec<Value>, damage: Option<&str>) -> Value {
    json!({
        "source_bucket": source,
        "destination_bucket": "inventory",
        "prefix": "reports",
        "config_id": "daily",
        "timestamp": "2026-12-06T01-00Z",
        "created_ms": 1_765_000_800_000i64,
        "format": format,
        "versioned": false,
        "fields": ["Size", "ETag", "StorageClass"],
        "files": 2,
        "rows": rows,
        "damage": damage,
    })
}

/// An inventory bucket holding the report of `spec`; its URL.
async fn inventory_bucket(spec: &Value) -> String {
    let s3 = s3().await;
    let bucket = mc_testkit::unique_name("inventory");
    mc_testkit::create_bucket(&s3, &bucket).await;
    let report = mc_testkit::inventory::write_report(spec);
    mc_testkit::inventory::upload(&s3, &bucket, &report).await;
    format!("s3://{bucket}/reports/")
}

fn json_of(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn counts_from_csv_and_parquet_reports_with_their_age() {
    let rt = rt();
    let keys = hex_keys(1200);
    let source = rt.block_on(bucket_with("inv-src", &[]));
    for format in ["CSV", "Parquet"] {
        let inv = rt.block_on(inventory_bucket(&spec(&source, format, rows(&keys), None)));
        let url = format!("s3://{source}");
        let out = counter()
            .args([
                &url,
                "--inventory",
                &inv,
                "--by-storage-class",
                "-o",
                "json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = &json_of(&out)[0];
        assert_eq!(line["objects"], keys.len() as u64, "{format}");
        assert_eq!(line["bytes"], total_bytes(&keys), "{format}");
        assert_eq!(line["requests"].as_u64().map(|r| r > 0), Some(true));
        let classes = line["by_storage_class"].as_array().unwrap();
        assert_eq!(classes.len(), 2);
        let report = line["inventory"]["report"].as_str().unwrap();
        assert!(report.ends_with("/daily/2026-12-06T01-00Z/"), "{report}");
        assert!(line["inventory"]["age_seconds"].as_u64().unwrap() > 0);
        // A prefix of the bucket counts only its keys.
        let out = counter()
            .args([&format!("{url}/0a/"), "--inventory", &inv, "-o", "json"])
            .output()
            .unwrap();
        let want = keys.iter().filter(|(k, _)| k.starts_with("0a/")).count();
        assert_eq!(json_of(&out)[0]["objects"], want as u64);
    }
}

/// The bucket now: the report's keys but 20 deleted since, 30 added, 10
/// rewritten with another size.
#[test]
fn cross_check_finds_the_drift_since_the_report() {
    let rt = rt();
    let keys = hex_keys(600);
    let mut now: Vec<(String, usize)> = keys[20..].to_vec();
    for (_, n) in now.iter_mut().take(10) {
        *n += 100;
    }
    now.extend((0..30).map(|i| (format!("new/{i:03}"), 1)));
    let source = rt.block_on(bucket_with("drift-src", &now));
    // Without ETags (an inventory need not have them): sizes decide.
    let mut without_etags = spec(&source, "CSV", rows(&keys), None);
    without_etags["fields"] = json!(["Size", "StorageClass"]);
    let inv = rt.block_on(inventory_bucket(&without_etags));
    let out = counter()
        .args([
            &format!("s3://{source}"),
            "--inventory",
            &inv,
            "--cross-check",
            "5000",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_of(&out);
    let drift = lines.iter().find(|l| l["kind"] == "drift").unwrap();
    // Ranges between neighbouring keys cover all but the keys up to the
    // first one: the counts are exact but for that edge.
    assert!(
        (19..=20).contains(&drift["removed"].as_u64().unwrap()),
        "{drift}"
    );
    assert_eq!(drift["changed"], 10, "{drift}");
    assert!(drift["added"].as_u64().unwrap() <= 30, "{drift}");
    assert!(drift["share"].as_f64().unwrap() > 0.99, "{drift}");
}

#[test]
fn splits_checks_and_refusals_from_a_report() {
    let rt = rt();
    let keys = hex_keys(2000);
    let source = rt.block_on(bucket_with("inv-checks", &[]));
    let inv = rt.block_on(inventory_bucket(&spec(
        &source,
        "Parquet",
        rows(&keys),
        None,
    )));
    let url = format!("s3://{source}");
    // Balanced split points from the report's keys.
    let out = counter()
        .args([&url, "--inventory", &inv, "--emit-splits", "4", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let points: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(points.len(), 3);
    let mut sorted: Vec<&String> = keys.iter().map(|(k, _)| k).collect();
    sorted.sort();
    for (i, p) in points.iter().enumerate() {
        let at = sorted.partition_point(|k| *k < p) as i64;
        assert!((at - (i as i64 + 1) * 500).abs() < 40, "{p} at {at}");
    }
    // A Nagios check from the report says how old it is.
    let out = counter()
        .args([
            &url,
            "--inventory",
            &inv,
            "--check",
            "objects",
            "--warning",
            "1000",
        ])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{line}");
    assert!(line.contains("from the inventory of 2025-12-06T"), "{line}");
    assert!(line.contains("'inventory_age'="), "{line}");
    // Too old, or current versions only for --versions: refused (exit 2).
    for extra in [&["--inventory-max-age", "1d"][..], &["--versions"][..]] {
        let out = counter()
            .args([&url, "--inventory", &inv, "-q"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn damaged_or_missing_reports_are_errors_not_counts() {
    let rt = rt();
    let keys = hex_keys(300);
    let source = rt.block_on(bucket_with("inv-bad", &[]));
    for (damage, code) in [
        ("truncated", 2),
        ("md5", 2),
        ("checksum", 3),
        ("missing_file", 3),
    ] {
        let inv = rt.block_on(inventory_bucket(&spec(
            &source,
            "CSV",
            rows(&keys),
            Some(damage),
        )));
        let out = counter()
            .args([
                &format!("s3://{source}"),
                "--inventory",
                &inv,
                "-o",
                "json",
                "-q",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{damage}: {err}");
        assert!(out.stdout.is_empty(), "{damage}: no count printed");
        assert_eq!(err.lines().count(), 1, "{damage}: {err}");
    }
    // No report at all.
    let out = counter()
        .args([
            &format!("s3://{source}"),
            "--inventory",
            &format!("s3://{source}/nothing/"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
