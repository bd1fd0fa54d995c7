//! `--source-inventory` / `--dest-inventory`: sync and verify from S3
//! Inventory reports (written by the independent fixture writer) instead
//! of listings: the report sorted on disk in bounded memory and compared
//! through the same two-sided core; nothing deleted on a report's word
//! alone; 1M rows against 1M under a fixed memory cap.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::{json, Value};

use crate::common::*;

fn spec(source: &str, rows: Value) -> Value {
    json!({
        "source_bucket": source,
        "destination_bucket": "inventory",
        "prefix": "",
        "config_id": "daily",
        "timestamp": "2026-12-06T01-00Z",
        "created_ms": 1_765_000_800_000i64,
        "format": "Parquet",
        "versioned": false,
        "fields": ["Size", "StorageClass"],
        "files": 2,
        "rows": rows,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_from_a_source_report_never_deletes_on_its_word_alone() {
    let (s3, src, dst) = buckets("inv-sync").await;
    // The bucket now: a..e, and `late` (written after the report).
    let now = ["a", "b", "c", "d", "e", "late"];
    mc_testkit::put_objects(&s3, &src, now.iter().map(|k| (k.to_string(), "x"))).await;
    // The destination already has `late` (the worker copied it) and `old`.
    mc_testkit::put_objects(&s3, &dst, [("late", "x"), ("old", "x")]).await;
    // The report: a..e and `gone` (deleted since), not `late`.
    let rows: Vec<Value> = ["a", "b", "c", "d", "e", "gone"]
        .iter()
        .map(|k| json!({"key": k, "size": 1}))
        .collect();
    let written = mc_testkit::inventory::write_report(&spec(&src, json!(rows)));
    let local = written.dir.path().display().to_string();
    let out = sync_json(
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
        &["--acl", "skip", "--delete", "--source-inventory", &local],
    );
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert_eq!(r["copied"], 5, "{r}");
    assert_eq!(r["gone"], 1, "gone: deleted since the report: {r}");
    assert_eq!(r["kept"], 1, "late: not in the report, at the source: {r}");
    assert_eq!(r["deleted"], 1, "old: {r}");
    let keys = mc_testkit::list_all_keys(&s3, &dst, "").await;
    assert_eq!(keys, ["a", "b", "c", "d", "e", "late"]);
    let notes = r["notes"].to_string();
    assert!(notes.contains("from inventory report"), "{notes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_compares_two_reports_without_listing() {
    let (_s3, src, dst) = buckets("inv-verify").await;
    let keys: Vec<String> = (0..3000)
        .map(|i| format!("{:02x}/k{i:05}", i % 256))
        .collect();
    let source: Vec<Value> = keys.iter().map(|k| json!({"key": k, "size": 1})).collect();
    // The destination lacks every 100th key and has every 300th at another size.
    let dest: Vec<Value> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 100 != 0)
        .map(|(i, k)| json!({"key": k, "size": if i % 300 == 1 { 2 } else { 1 }}))
        .collect();
    let a = mc_testkit::inventory::write_report(&spec(&src, json!(source)));
    let b = mc_testkit::inventory::write_report(&spec(&dst, json!(dest)));
    let (a_dir, b_dir) = (
        a.dir.path().display().to_string(),
        b.dir.path().display().to_string(),
    );
    let out = run(&[
        "verify",
        "-o",
        "json",
        "--source-inventory",
        &a_dir,
        "--dest-inventory",
        &b_dir,
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
    ]);
    let t = report(&out)["totals"].clone();
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert_eq!(t["checked"], 3000, "{t}");
    assert_eq!(t["missing"], 30, "{t}");
    assert_eq!(t["different"], 10, "{t}");
}

/// 1M rows against 1M through the spill path under a 64 MiB cap: the
/// reports are sorted on disk, not in memory (slow test: debug build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_rows_against_a_million_in_64_mib() {
    if !mc_testkit::child::slow_tests("a_million_rows_against_a_million_in_64_mib") {
        return;
    }
    let (_s3, src, dst) = buckets("inv-1m").await;
    let mut a = spec(&src, json!([]));
    a["generate"] = json!({"count": 1_000_000, "key_format": "obj-%08d"});
    let mut b = spec(&dst, json!([]));
    b["generate"] = json!({"count": 1_000_000, "key_format": "obj-%08d", "skip_every": 1000, "change_every": 500});
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            mc_testkit::inventory::write_report(&a),
            mc_testkit::inventory::write_report(&b),
        )
    })
    .await
    .unwrap();
    let mut cmd = Command::new(mc_testkit::cli::bin("s3-copier"));
    emulator().apply_env(&mut cmd);
    cmd.args(["verify", "-o", "json", "-q", "--source-inventory"])
        .arg(a.dir.path())
        .arg("--dest-inventory")
        .arg(b.dir.path())
        .args([format!("s3://{src}"), format!("s3://{dst}")]);
    let (out, peak) =
        tokio::task::spawn_blocking(move || mc_testkit::child::output_with_peak_memory(&mut cmd))
            .await
            .unwrap();
    let stderr = mc_testkit::cli::stderr(&out);
    let t = report(&out)["totals"].clone();
    assert_eq!(t["checked"], 1_000_000, "{t} {stderr}");
    // Skipped: every 1000th (1,000 keys); changed: every 500th not skipped (1,000).
    assert_eq!(t["missing"], 1000, "{t}");
    assert_eq!(t["different"], 1000, "{t}");
    eprintln!("peak: {peak:?}");
    // The cap is on anonymous memory, what two million rows would grow
    // (well over 64 MiB held at once): the debug binary's own code, ~40 MiB
    // of file-backed pages, says nothing about the spill path.
    assert!(peak.anon_kib < 64 * 1024, "{peak:?}: over 64 MiB");
}

/// `batch plan` from two reports: the diff of two inventories as a Batch
/// Operations manifest, without listing either bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_plan_turns_two_reports_into_a_manifest() {
    let (_s3, src, dst) = buckets("inv-batch").await;
    let keys: Vec<String> = (0..500)
        .map(|i| format!("{:02x}/k {i:04}+", i % 64))
        .collect();
    let source: Vec<Value> = keys.iter().map(|k| json!({"key": k, "size": 1})).collect();
    // The destination lacks every 10th key and has every 25th at another size.
    let dest: Vec<Value> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 10 != 0)
        .map(|(i, k)| json!({"key": k, "size": if i % 25 == 1 { 2 } else { 1 }}))
        .collect();
    let a = mc_testkit::inventory::write_report(&spec(&src, json!(source)));
    let b = mc_testkit::inventory::write_report(&spec(&dst, json!(dest)));
    let (a_dir, b_dir) = (
        a.dir.path().display().to_string(),
        b.dir.path().display().to_string(),
    );
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("diff.csv");
    let out = run(&[
        "batch",
        "-o",
        "json",
        "plan",
        "--acl",
        "skip",
        "--manifest-file",
        file.to_str().unwrap(),
        "--source-inventory",
        &a_dir,
        "--dest-inventory",
        &b_dir,
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let plan: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(
        (plan["missing"].as_u64(), plan["different"].as_u64()),
        (Some(50), Some(20)),
        "{plan}"
    );
    let rows: Vec<_> = s3_copier::manifest::read_rows(std::fs::File::open(&file).unwrap())
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 70);
    let mut want: Vec<&String> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 10 == 0 || i % 25 == 1)
        .map(|(_, k)| k)
        .collect();
    want.sort();
    let mut got: Vec<&String> = rows.iter().map(|r| &r.key).collect();
    got.sort();
    assert_eq!(got, want);
}
