//! Reading S3 Inventory reports written by an independent writer
//! (`mc_testkit::inventory`: Python's csv and gzip, pyarrow) in AWS's
//! documented layout, from a local copy: every row read back as written,
//! in CSV.gz and Parquet, current and versioned, with the Object ACL field;
//! damaged reports are refused with a clear error, never half read.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use mc_aws_common::acl::{Grantee, Group, Permission};
use mc_aws_common::inventory::{InventoryAcl, InventoryRow, Report, Store};
use mc_aws_common::listing::Detail;
use serde_json::{json, Value};

const OWNER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn rows(n: usize) -> Vec<Value> {
    let awkward = mc_testkit::awkward_keys();
    (0..n)
        .map(|i| {
            let key = match awkward.get(i) {
                Some((k, _)) => k.clone(),
                None => format!("{:02x}/obj-{i:05}", (i * 7919) % 256),
            };
            let acl = if i % 10 == 0 {
                json!({"status": "UNAVAILABLE"})
            } else {
                let mut grants = vec![json!({"type": "CanonicalUser", "canonicalId": OWNER, "permission": "FULL_CONTROL"})];
                if i % 3 == 0 {
                    grants.push(json!({"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers", "permission": "READ"}));
                }
                json!({"status": "AVAILABLE", "grants": grants})
            };
            json!({
                "key": key,
                "size": i * 3,
                "etag": format!("{i:032x}"),
                "storage_class": if i % 4 == 0 { "GLACIER" } else { "STANDARD" },
                "last_modified_ms": 1_700_000_000_000i64 + i as i64 * 1000,
                "acl": acl,
                "owner": OWNER,
            })
        })
        .collect()
}

fn spec(format: &str, rows: Vec<Value>, damage: Option<&str>) -> Value {
    json!({
        "source_bucket": "photos",
        "destination_bucket": "inventories",
        "prefix": "inv",
        "config_id": "daily",
        "timestamp": "2026-12-06T01-00Z",
        "created_ms": 1_765_000_800_000i64,
        "format": format,
        "versioned": false,
        "fields": ["Size", "LastModifiedDate", "ETag", "StorageClass", "EncryptionStatus", "ObjectAccessControlList", "ObjectOwner"],
        "files": 3,
        "rows": rows,
        "damage": damage,
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Every row of the latest report under `prefix`, sorted by key.
async fn read_all(dir: &std::path::Path, prefix: &str) -> Result<Vec<InventoryRow>, String> {
    let store = Arc::new(Store::Local(dir.to_path_buf()));
    let report = Arc::new(
        Report::latest(store, prefix, "photos")
            .await
            .map_err(|e| e.to_string())?,
    );
    let mut rx = report.rows(Detail::Full, 2);
    let mut out = Vec::new();
    while let Some(batch) = rx.recv().await {
        out.extend(batch.map_err(|e| e.to_string())?);
    }
    out.sort_by(|a, b| a.entry.key.cmp(&b.entry.key));
    Ok(out)
}

fn check_rows(got: &[InventoryRow], written: &[Value]) {
    assert_eq!(got.len(), written.len());
    let mut want = written.to_vec();
    want.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.entry.key, w["key"].as_str().unwrap());
        assert_eq!(g.entry.size, w["size"].as_u64().unwrap());
        assert_eq!(g.entry.etag, w["etag"].as_str().unwrap());
        assert_eq!(
            g.entry.storage_class.as_deref(),
            w["storage_class"].as_str()
        );
        assert_eq!(
            g.entry.last_modified,
            Some(w["last_modified_ms"].as_i64().unwrap() / 1000)
        );
        assert!(g.is_latest && !g.is_delete_marker);
        match (&g.acl, w["acl"]["status"].as_str()) {
            (Some(InventoryAcl::Unavailable), Some("UNAVAILABLE")) => {}
            (Some(InventoryAcl::Known(acl)), Some("AVAILABLE")) => {
                assert_eq!(acl.owner.as_deref(), Some(OWNER));
                let public = acl.grants().any(|gr| {
                    gr.grantee == Grantee::Group(Group::AllUsers)
                        && gr.permission == Permission::Read
                });
                assert_eq!(public, w["acl"]["grants"].as_array().unwrap().len() == 2);
            }
            other => panic!("{}: ACL {other:?}", g.entry.key),
        }
    }
}

#[test]
fn csv_and_parquet_reports_read_back_every_row() {
    let rt = rt();
    for format in ["CSV", "Parquet"] {
        let written = rows(700);
        let report = mc_testkit::inventory::write_report(&spec(format, written.clone(), None));
        // From the configuration's folder, and from the report's own folder.
        for prefix in ["inv/photos/daily/", report.folder.as_str(), "inv/"] {
            let got = rt.block_on(read_all(report.dir.path(), prefix)).unwrap();
            check_rows(&got, &written);
        }
    }
}

#[test]
fn versioned_reports_keep_versions_and_delete_markers() {
    let rt = rt();
    let rows = vec![
        json!({"key": "a", "version_id": "v2", "is_latest": true, "size": 5}),
        json!({"key": "a", "version_id": "v1", "is_latest": false, "size": 3}),
        json!({"key": "b", "version_id": "v9", "is_latest": true, "is_delete_marker": true}),
        json!({"key": "b", "version_id": "v8", "is_latest": false, "size": 7}),
    ];
    for format in ["CSV", "Parquet"] {
        let mut s = spec(format, rows.clone(), None);
        s["versioned"] = json!(true);
        s["fields"] = json!(["Size", "ETag", "StorageClass"]);
        s["files"] = json!(1);
        let report = mc_testkit::inventory::write_report(&s);
        let got = rt
            .block_on(read_all(report.dir.path(), "inv/photos/daily/"))
            .unwrap();
        let seen: Vec<(String, Option<String>, bool, bool, u64)> = got
            .iter()
            .map(|r| {
                (
                    r.entry.key.clone(),
                    r.version_id.clone(),
                    r.is_latest,
                    r.is_delete_marker,
                    r.entry.size,
                )
            })
            .collect();
        assert!(
            seen.contains(&("a".into(), Some("v1".into()), false, false, 3)),
            "{format}: {seen:?}"
        );
        assert!(
            seen.contains(&("b".into(), Some("v9".into()), true, true, 0)),
            "{format}: {seen:?}"
        );
        assert_eq!(seen.len(), 4);
    }
}

#[test]
fn damaged_reports_are_refused_with_a_clear_error() {
    let rt = rt();
    // (damage, format, what the error says)
    let cases = [
        ("checksum", "CSV", "does not match manifest.checksum"),
        ("missing_file", "CSV", "is missing"),
        ("truncated", "CSV", "row"),
        ("md5", "CSV", "does not match the manifest"),
        ("md5", "Parquet", "does not match the manifest"),
    ];
    for (damage, format, says) in cases {
        let report = mc_testkit::inventory::write_report(&spec(format, rows(300), Some(damage)));
        let err = rt
            .block_on(read_all(report.dir.path(), "inv/photos/daily/"))
            .unwrap_err();
        assert!(err.contains(says), "{damage} {format}: {err}");
        assert!(!err.contains('\n'), "{damage}: one line: {err}");
    }
}

#[test]
fn an_incomplete_newest_report_falls_back_to_the_previous_one() {
    let rt = rt();
    let older = mc_testkit::inventory::write_report(&spec("CSV", rows(50), None));
    let mut newer_spec = spec("CSV", rows(60), Some("missing_file"));
    newer_spec["timestamp"] = json!("2026-12-07T01-00Z");
    let newer = mc_testkit::inventory::write_report(&newer_spec);
    // Both reports in one inventory bucket.
    for (key, path) in newer.files() {
        let dest = older.dir.path().join(key);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(path, dest).unwrap();
    }
    let got = rt.block_on(read_all(older.dir.path(), "inv/")).unwrap();
    assert_eq!(got.len(), 50, "the complete older report");
    // Another bucket's report is refused.
    let store = Arc::new(Store::Local(older.dir.path().to_path_buf()));
    let e = rt
        .block_on(Report::latest(store, "inv/photos/daily/", "other-bucket"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("not of other-bucket"), "{e}");
}
