//! `--versions` (ListObjectVersions through the parallel lister) and
//! `--multipart` against ministack.
#![allow(clippy::unwrap_used)]

use crate::common;

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use common::*;

async fn put(client: &aws_sdk_s3::Client, bucket: &str, key: &str, size: usize) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(vec![b'v'; size].into())
        .send()
        .await
        .unwrap();
}

#[test]
fn versions_and_delete_markers_with_bytes() {
    let rt = rt();
    let bucket = rt.block_on(async {
        let client = s3().await;
        let bucket = mc_testkit::unique_name("versions");
        mc_testkit::create_bucket(&client, &bucket).await;
        client
            .put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        // 20 keys of 10 bytes.
        for i in 0..20 {
            put(&client, &bucket, &format!("k/{i:02}"), 10).await;
        }
        // Overwrite 5 with 20 bytes: 5 noncurrent versions of 10 bytes.
        for i in 0..5 {
            put(&client, &bucket, &format!("k/{i:02}"), 20).await;
        }
        // Delete 3: 3 delete markers, 3 more noncurrent versions of 10 bytes.
        for i in 10..13 {
            client
                .delete_object()
                .bucket(&bucket)
                .key(format!("k/{i:02}"))
                .send()
                .await
                .unwrap();
        }
        // One key with 9 versions of 1..=9 bytes: more versions than a page.
        for size in 1..=9 {
            put(&client, &bucket, "many versions", size).await;
        }
        bucket
    });
    let url = format!("s3://{bucket}");
    // current: 15 + 1 keys; 5×20 + 12×10 … see below.
    let expect_objects = 20 - 3 + 1;
    let expect_bytes = 5 * 20 + 12 * 10 + 9;
    let expect_noncurrent = 5 + 3 + 8;
    let expect_noncurrent_bytes = 5 * 10 + 3 * 10 + (1..=8).sum::<u64>();
    for page in ["2", "3", "7", "1000"] {
        let c = count_json(&[&url, "--versions", "--page-size", page, "--by-prefix", "1"]);
        assert_eq!(c["objects"], expect_objects, "page {page}: {c}");
        assert_eq!(c["bytes"], expect_bytes, "page {page}: {c}");
        let v = &c["versions"];
        assert_eq!(
            v["noncurrent_versions"], expect_noncurrent,
            "page {page}: {c}"
        );
        assert_eq!(
            v["noncurrent_bytes"], expect_noncurrent_bytes,
            "page {page}: {c}"
        );
        assert_eq!(v["delete_markers"], 3, "page {page}: {c}");
        assert_eq!(v["versions"], expect_objects + expect_noncurrent);
        let rows = c["by_prefix"].as_array().unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[1]["name"], "k/");
        assert_eq!(rows[1]["delete_markers"], 3);
    }
    // Without --versions, the same bucket counts current objects only.
    let c = count_json(&[&url]);
    assert_eq!(c["objects"], expect_objects);
    assert_eq!(c["bytes"], expect_bytes);
    assert!(c.get("versions").is_none());
}

#[test]
fn incomplete_multipart_uploads() {
    let rt = rt();
    let bucket = rt.block_on(async {
        let client = s3().await;
        let bucket = bucket_with("multipart", &[("done".to_string(), 4)]).await;
        for (key, parts) in [("big/one", 2), ("big/two", 1), ("other", 3)] {
            let up = client
                .create_multipart_upload()
                .bucket(&bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            for n in 1..=parts {
                client
                    .upload_part()
                    .bucket(&bucket)
                    .key(key)
                    .upload_id(up.upload_id().unwrap())
                    .part_number(n)
                    .body(vec![b'p'; 1000].into())
                    .send()
                    .await
                    .unwrap();
            }
        }
        bucket
    });
    let c = count_json(&[&format!("s3://{bucket}"), "--multipart"]);
    assert_eq!(c["objects"], 1);
    let m = &c["multipart"];
    assert_eq!(m["uploads"], 3, "{c}");
    assert_eq!(m["parts"], 6, "{c}");
    assert_eq!(m["bytes"], 6000, "{c}");
    assert!(m["oldest_initiated"].is_string(), "{c}");
    let c = count_json(&[&format!("s3://{bucket}/big/"), "--multipart"]);
    assert_eq!(c["multipart"]["uploads"], 2, "{c}");
    let out = counter()
        .args([&format!("s3://{bucket}"), "--multipart"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("incomplete uploads  3 (6 parts, 5.86 KiB)"),
        "{text}"
    );
}
