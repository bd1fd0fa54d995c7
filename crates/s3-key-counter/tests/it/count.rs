//! End-to-end counts against ministack: exact objects and bytes for every key
//! distribution, checked against a plain sequential listing.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;

/// Counts `objects` in a fresh bucket through the binary and checks the
/// result against the fixture and against a sequential ListObjectsV2.
fn assert_exact(label: &str, objects: Vec<(String, usize)>) {
    let rt = rt();
    let bucket = rt.block_on(bucket_with(label, &objects));
    let listed = rt.block_on(async { mc_testkit::list_all_keys(&s3().await, &bucket, "").await });
    assert_eq!(listed.len(), objects.len(), "fixture");
    let url = format!("s3://{bucket}");
    let c = count_json(&[&url]);
    assert_eq!(c["kind"], "count");
    assert_eq!(c["url"], format!("s3://{bucket}/"));
    assert_eq!(c["objects"], objects.len() as u64, "{label}: {c}");
    assert_eq!(c["bytes"], total_bytes(&objects), "{label}: {c}");
    assert!(c["requests"].as_u64().unwrap() >= (objects.len() as u64).div_ceil(37));
}

#[test]
fn hex_prefixed_keys_exactly() {
    assert_exact("hex", hex_keys(600));
}

#[test]
fn skewed_keys_exactly() {
    assert_exact("skew", skewed_keys(900));
}

#[test]
fn flat_keys_exactly() {
    assert_exact("flat", flat_keys(400));
}

#[test]
fn unicode_and_special_character_keys_exactly() {
    assert_exact("awkward", mc_testkit::awkward_keys());
}

#[test]
fn empty_bucket_and_empty_prefix() {
    let rt = rt();
    let bucket = rt.block_on(bucket_with("empty", &[]));
    let c = count_json(&[&format!("s3://{bucket}")]);
    assert_eq!(
        (c["objects"].as_u64(), c["bytes"].as_u64()),
        (Some(0), Some(0))
    );
    let c = count_json(&[&format!("s3://{bucket}/nothing/here/")]);
    assert_eq!(c["objects"], 0);
}

#[test]
fn counts_under_a_prefix_only() {
    let rt = rt();
    let objects = skewed_keys(300);
    let bucket = rt.block_on(bucket_with("prefix", &objects));
    let hot: Vec<_> = objects
        .iter()
        .filter(|(k, _)| k.starts_with("hot/"))
        .cloned()
        .collect();
    let c = count_json(&[&format!("s3://{bucket}/hot/")]);
    assert_eq!(c["objects"], hot.len() as u64);
    assert_eq!(c["bytes"], total_bytes(&hot));
}

#[test]
fn human_report_has_exact_and_readable_numbers() {
    let rt = rt();
    let objects: Vec<(String, usize)> = (0..50).map(|i| (format!("k{i:03}"), 2048)).collect();
    let bucket = rt.block_on(bucket_with("human", &objects));
    let out = counter().arg(format!("s3://{bucket}")).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with(&format!("s3://{bucket}/\n")), "{text}");
    assert!(
        text.contains("  objects   50\n") || text.contains("objects  50"),
        "{text}"
    );
    assert!(text.contains("100.00 KiB (102,400 bytes)"), "{text}");
    assert!(text.contains("keys/s"), "{text}");
    assert!(
        out.stderr.is_empty(),
        "no progress when stderr is not a terminal: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn breakdowns_by_prefix_and_storage_class() {
    let rt = rt();
    let objects = vec![
        ("logs/2024/01/a".to_string(), 10),
        ("logs/2024/01/b".to_string(), 20),
        ("logs/2024/02/a".to_string(), 30),
        ("logs/2025/a".to_string(), 40),
        ("logs/top".to_string(), 50),
        ("other/x".to_string(), 60),
    ];
    let bucket = rt.block_on(async {
        let b = bucket_with("breakdown", &objects).await;
        // One object in another storage class.
        s3().await
            .put_object()
            .bucket(&b)
            .key("logs/2025/cold")
            .storage_class(aws_sdk_s3::types::StorageClass::StandardIa)
            .body(vec![b'x'; 5].into())
            .send()
            .await
            .unwrap();
        b
    });
    let c = count_json(&[
        &format!("s3://{bucket}/logs/"),
        "--by-prefix",
        "2",
        "--by-storage-class",
    ]);
    assert_eq!(c["objects"], 6);
    assert_eq!(c["bytes"], 155);
    let rows: Vec<(String, u64, u64)> = c["by_prefix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["objects"].as_u64().unwrap(),
                r["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("logs/".to_string(), 1, 50),
            ("logs/2024/01/".to_string(), 2, 30),
            ("logs/2024/02/".to_string(), 1, 30),
            ("logs/2025/".to_string(), 2, 45),
        ]
    );
    let classes: Vec<(String, u64, u64)> = c["by_storage_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["objects"].as_u64().unwrap(),
                r["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        classes,
        [
            ("STANDARD".to_string(), 5, 150),
            ("STANDARD_IA".to_string(), 1, 5)
        ]
    );
    // Human tables, with a custom delimiter.
    let out = counter()
        .args([
            &format!("s3://{bucket}"),
            "--by-prefix",
            "1",
            "--delimiter",
            "/20",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("logs/20 "), "{text}");
    assert!(text.contains("(top level)"), "{text}");
}

#[test]
fn shards_add_up_to_the_whole() {
    let rt = rt();
    let objects = hex_keys(300);
    let bucket = rt.block_on(bucket_with("shards", &objects));
    let url = format!("s3://{bucket}");
    let mut total = 0;
    for i in 0..5 {
        let c = count_json(&[&url, "--shard", &format!("{i}/5")]);
        assert_eq!(c["shard"], format!("{i}/5"));
        total += c["objects"].as_u64().unwrap();
    }
    assert_eq!(total, 300);
}

#[test]
fn emitted_splits_balance_the_shards() {
    let rt = rt();
    let objects = skewed_keys(800);
    let bucket = rt.block_on(bucket_with("splits", &objects));
    let url = format!("s3://{bucket}");
    let out = counter()
        .args([&url, "--emit-splits", "4"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wrote 3 split points"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("splits.txt");
    std::fs::write(&file, &out.stdout).unwrap();
    let file = file.to_str().unwrap();
    let mut sizes = Vec::new();
    for i in 0..4 {
        let c = count_json(&[&url, "--splits", file, "--shard", &format!("{i}/4")]);
        sizes.push(c["objects"].as_u64().unwrap());
    }
    assert_eq!(sizes.iter().sum::<u64>(), 800, "{sizes:?}");
    // Accurate to a page (37 keys here) around each split point.
    for s in &sizes {
        assert!(s.abs_diff(200) <= 2 * 37, "unbalanced slices: {sizes:?}");
    }
    // Used for more slices, the file still covers every key once (the extra
    // slices are empty, and say so).
    let mut total = 0;
    for i in 0..6 {
        let out = counter()
            .args([
                &url,
                "-o",
                "json",
                "--splits",
                file,
                "--shard",
                &format!("{i}/6"),
            ])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stderr).contains("slices 4 to 5 have no keys"));
        let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        total += c["objects"].as_u64().unwrap();
    }
    assert_eq!(total, 800);
    // For fewer slices it would leave keys out: refused.
    counter()
        .args([&url, "--splits", file, "--shard", "0/3"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "more than --shard 0/3 can use (2, N - 1)",
        ));
}

#[test]
fn emitted_splits_of_a_small_bucket_still_cover_every_key() {
    let rt = rt();
    let objects: Vec<(String, usize)> = (0..30).map(|i| (format!("k{i:02}"), 1)).collect();
    let bucket = rt.block_on(bucket_with("fewsplits", &objects));
    let url = format!("s3://{bucket}");
    let out = counter()
        .args([&url, "--emit-splits", "4"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("slices 1 to 3 will have no keys"),
        "{stderr}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("splits.txt");
    std::fs::write(&file, &out.stdout).unwrap();
    let file = file.to_str().unwrap();
    let total: u64 = (0..4)
        .map(|i| {
            count_json(&[&url, "--splits", file, "--shard", &format!("{i}/4")])["objects"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 30);
}
