//! Server-side encryption against ministack (which applies bucket default
//! encryption and SSE headers on CopyObject and multipart uploads, and refuses
//! to read SSE-C objects without their key). Key ARNs are not checked by the
//! emulator, so the decisions about keys are unit-tested in `src/sse.rs`.
#![allow(clippy::unwrap_used)]

use crate::common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use aws_sdk_s3::Client;
use common::*;

/// A key in the emulator's region (us-east-1): usable at the destination.
const LOCAL_KEY: &str =
    "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555";
/// A key in another region: not usable at the destination.
const FAR_KEY: &str =
    "arn:aws:kms:ap-south-1:000000000000:key/99999999-2222-3333-4444-555555555555";

/// 32 bytes of `*`, base64, and its MD5 (base64).
const SSE_C_KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
const SSE_C_KEY_MD5: &str = "SaaDheEjzuynJH8eW6AEpQ==";

async fn default_encryption(
    s3: &Client,
    bucket: &str,
    alg: ServerSideEncryption,
    key: Option<&str>,
) {
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(alg)
        .set_kms_master_key_id(key.map(str::to_string))
        .build()
        .unwrap();
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(by_default)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn sse_of(s3: &Client, bucket: &str, key: &str) -> (Option<String>, Option<String>) {
    let h = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    (
        h.server_side_encryption().map(|s| s.as_str().to_string()),
        h.ssekms_key_id().map(str::to_string),
    )
}

#[tokio::test]
async fn kms_source_default_and_weaker_destination_stops_unless_told() {
    let (s3, src, dst) = buckets("ssew").await;
    default_encryption(&s3, &src, ServerSideEncryption::AwsKms, Some(FAR_KEY)).await;
    default_encryption(&s3, &dst, ServerSideEncryption::Aes256, None).await;
    put(&s3, &src, "a", b"a".to_vec().into()).await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let out = run(&["sync", "-o", "json", &s, &d]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--sse-allow-weaker"), "{err}");
    assert!(mc_testkit::list_all_keys(&s3, &dst, "").await.is_empty());

    let out = run(&["sync", "-o", "json", "--sse-allow-weaker", &s, &d]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(sse_of(&s3, &dst, "a").await.0.as_deref(), Some("AES256"));
}

#[tokio::test]
async fn kms_source_key_usable_at_the_destination_is_carried() {
    let (s3, src, dst) = buckets("ssek").await;
    default_encryption(&s3, &src, ServerSideEncryption::AwsKms, Some(LOCAL_KEY)).await;
    put(&s3, &src, "small", b"s".to_vec().into()).await;
    put(&s3, &src, "big", vec![7u8; 6 * 1024 * 1024 + 1].into()).await;
    let out = sync_json(
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
        &["--multipart-threshold", "1MiB", "--part-size", "5MiB"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report(&out)["multipart"], 1);
    for k in ["small", "big"] {
        let (alg, key) = sse_of(&s3, &dst, k).await;
        assert_eq!(alg.as_deref(), Some("aws:kms"), "{k}");
        assert_eq!(key.as_deref(), Some(LOCAL_KEY), "{k}");
    }
}

/// Listings do not say how an object is encrypted; the multipart path reads
/// each object with HeadObject and carries its own encryption.
#[tokio::test]
async fn per_object_kms_is_kept_on_the_multipart_path() {
    let (s3, src, dst) = buckets("sseo").await;
    s3.put_object()
        .bucket(&src)
        .key("big")
        .body(ByteStream::from(vec![1u8; 6 * 1024 * 1024 + 1]))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(LOCAL_KEY)
        .send()
        .await
        .unwrap();
    let out = sync_json(
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
        &["--multipart-threshold", "1MiB", "--part-size", "5MiB"],
    );
    assert_eq!(out.status.code(), Some(0));
    let (alg, key) = sse_of(&s3, &dst, "big").await;
    assert_eq!(alg.as_deref(), Some("aws:kms"));
    assert_eq!(key.as_deref(), Some(LOCAL_KEY));
}

/// Below the multipart threshold, `--sse-per-object` reads each object and
/// keeps an encryption that differs from its bucket's default.
#[tokio::test]
async fn per_object_kms_is_kept_with_sse_per_object() {
    let (s3, src, dst) = buckets("ssep").await;
    s3.put_object()
        .bucket(&src)
        .key("kms")
        .body(ByteStream::from_static(b"k"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(LOCAL_KEY)
        .send()
        .await
        .unwrap();
    put(&s3, &src, "plain", b"p".to_vec().into()).await;
    let out = sync_json(
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
        &["--sse-per-object"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report(&out)["copied"], 2);
    let (alg, key) = sse_of(&s3, &dst, "kms").await;
    assert_eq!(alg.as_deref(), Some("aws:kms"));
    assert_eq!(key.as_deref(), Some(LOCAL_KEY));
    assert_ne!(
        sse_of(&s3, &dst, "plain").await.0.as_deref(),
        Some("aws:kms")
    );
}

#[tokio::test]
async fn sse_c_objects_fail_with_a_clear_reason() {
    let (s3, src, dst) = buckets("ssec").await;
    s3.put_object()
        .bucket(&src)
        .key("secret")
        .body(ByteStream::from_static(b"x"))
        .sse_customer_algorithm("AES256")
        .sse_customer_key(SSE_C_KEY)
        .sse_customer_key_md5(SSE_C_KEY_MD5)
        .send()
        .await
        .unwrap();
    put(&s3, &src, "plain", b"p".to_vec().into()).await;
    let out = sync_json(&format!("s3://{src}"), &format!("s3://{dst}"), &[]);
    assert_eq!(out.status.code(), Some(1));
    let r = report(&out);
    assert_eq!(r["copied"], 1);
    assert_eq!(r["failed"], 1);
    let reason = r["failures"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("SSE-C"), "{reason}");
}
