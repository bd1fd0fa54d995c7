//! The S3 model served to aws-sdk-rust, latency scaled to 0.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AccessControlPolicy, CompletedMultipartUpload, CompletedPart, EncodingType, Grant, Grantee,
    MetadataDirective, ObjectCannedAcl, Owner, Permission, Type,
};
use aws_sdk_s3::Client;
use mc_benchkit::s3model::{ModelConfig, RateLimits, S3Model, OWNER_ID};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn client(endpoint: &str) -> Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDWHATEVER",
            "any-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The reference: keys > start_after under prefix, rolled up at the delimiter, a common prefix
/// equal to start_after not repeated.
fn reference(
    keys: &[String],
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in keys {
        if !k.starts_with(prefix) || start_after.is_some_and(|s| k.as_str() <= s) {
            continue;
        }
        let item = match delimiter.and_then(|d| k[prefix.len()..].find(d).map(|i| (i, d))) {
            Some((i, d)) => format!("P:{}", &k[..prefix.len() + i + d.len()]),
            None => format!("K:{k}"),
        };
        if Some(&item[2..]) == start_after && item.starts_with("P:") {
            continue;
        }
        if out.last() != Some(&item) {
            out.push(item);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_objects_v2_matches_reference_over_random_key_sets() {
    let model = S3Model::start(ModelConfig::instant()).await.expect("start");
    let s3 = client(&model.endpoint());
    let alphabet = ["a", "bkt", "/", "é", "日", "-", ".", "z", "//", "+", " "];
    let mut rng = StdRng::seed_from_u64(7);
    for round in 0..12 {
        let bucket = format!("bucket-{round}");
        let mut keys: Vec<String> = (0..rng.random_range(1..60))
            .map(|_| {
                (0..rng.random_range(1..7))
                    .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                    .collect::<String>()
            })
            .collect();
        keys.sort();
        keys.dedup();
        for k in &keys {
            model.insert_object(&bucket, k, "x").expect("insert");
        }
        for _ in 0..12 {
            let prefix = match rng.random_range(0..3) {
                0 => String::new(),
                _ => alphabet[rng.random_range(0..alphabet.len())].to_owned(),
            };
            let delimiter = match rng.random_range(0..3) {
                0 => None,
                1 => Some("/".to_owned()),
                _ => Some(alphabet[rng.random_range(0..alphabet.len())].to_owned()),
            };
            let start_after = match rng.random_range(0..3) {
                0 => Some(keys[rng.random_range(0..keys.len())].clone()),
                _ => None,
            };
            let max_keys = rng.random_range(1..8);
            let url = rng.random_bool(0.5);
            let want = reference(&keys, &prefix, delimiter.as_deref(), start_after.as_deref());
            let mut got = Vec::new();
            let mut token: Option<String> = None;
            let mut pages = 0;
            loop {
                let mut req = s3
                    .list_objects_v2()
                    .bucket(&bucket)
                    .prefix(&prefix)
                    .max_keys(max_keys)
                    .fetch_owner(true);
                if let Some(d) = &delimiter {
                    req = req.delimiter(d);
                }
                if let Some(s) = &start_after {
                    req = req.start_after(s);
                }
                if let Some(t) = &token {
                    req = req.continuation_token(t);
                }
                if url {
                    req = req.encoding_type(EncodingType::Url);
                }
                let out = req.send().await.expect("list");
                let fix = |s: &str| if url { decode(s) } else { s.to_owned() };
                let mut page: Vec<(String, String)> = Vec::new();
                for o in out.contents() {
                    assert_eq!(
                        o.owner().and_then(|o| o.id()),
                        Some(OWNER_ID),
                        "fetch-owner"
                    );
                    page.push((o.key().map(fix).unwrap_or_default(), "K".into()));
                }
                for p in out.common_prefixes() {
                    page.push((p.prefix().map(fix).unwrap_or_default(), "P".into()));
                }
                page.sort();
                assert!(page.len() <= max_keys as usize);
                assert_eq!(out.key_count(), Some(page.len() as i32));
                got.extend(page.into_iter().map(|(k, t)| format!("{t}:{k}")));
                pages += 1;
                assert!(pages < 100, "runaway pagination");
                if out.is_truncated() == Some(true) {
                    token = out.next_continuation_token().map(str::to_owned);
                    assert!(token.is_some());
                } else {
                    break;
                }
            }
            // Within a page we sorted by name; across pages order is by key, so compare
            // sorted-by-name (entries are unique).
            let mut want_sorted = want.clone();
            want_sorted.sort_by(|a, b| a[2..].cmp(&b[2..]));
            got.sort_by(|a, b| a[2..].cmp(&b[2..]));
            assert_eq!(
                got, want_sorted,
                "prefix={prefix:?} delim={delimiter:?} start_after={start_after:?} max={max_keys} url={url} keys={keys:?}"
            );
            let expected_pages = want.len().div_ceil(max_keys as usize).max(1);
            assert_eq!(pages, expected_pages, "page count");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_objects_v1_marker_paging_and_list_buckets() {
    let model = S3Model::start(ModelConfig::instant()).await.expect("start");
    let s3 = client(&model.endpoint());
    s3.create_bucket()
        .bucket("bkt-v1")
        .send()
        .await
        .expect("create");
    s3.head_bucket()
        .bucket("bkt-v1")
        .send()
        .await
        .expect("head");
    s3.get_bucket_location()
        .bucket("bkt-v1")
        .send()
        .await
        .expect("location");
    let keys = ["a/1", "a/2", "bkt", "c/x", "d", "e/f/g"];
    for k in keys {
        model.insert_object("bkt-v1", k, "x").expect("insert");
    }
    let mut marker: Option<String> = None;
    let mut got = Vec::new();
    loop {
        let mut req = s3
            .list_objects()
            .bucket("bkt-v1")
            .delimiter("/")
            .max_keys(2);
        if let Some(m) = &marker {
            req = req.marker(m);
        }
        let out = req.send().await.expect("list v1");
        got.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        got.extend(
            out.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned)),
        );
        if out.is_truncated() != Some(true) {
            break;
        }
        marker = out.next_marker().map(str::to_owned);
        assert!(marker.is_some());
    }
    got.sort();
    assert_eq!(got, vec!["a/", "bkt", "c/", "d", "e/"]);
    let buckets = s3.list_buckets().send().await.expect("list buckets");
    assert_eq!(buckets.buckets().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_copy_with_metadata_directives_and_grants() {
    let model = S3Model::start(ModelConfig::instant()).await.expect("start");
    let s3 = client(&model.endpoint());
    s3.create_bucket()
        .bucket("bkt")
        .send()
        .await
        .expect("create");
    let put = s3
        .put_object()
        .bucket("bkt")
        .key("dir/src.txt")
        .body(ByteStream::from_static(b"hello model"))
        .content_type("text/plain")
        .metadata("color", "blue")
        .send()
        .await
        .expect("put");
    let want_etag = format!("\"{}\"", hex(&md5_raw(b"hello model")));
    assert_eq!(put.e_tag(), Some(want_etag.as_str()));
    let got = s3
        .get_object()
        .bucket("bkt")
        .key("dir/src.txt")
        .range("bytes=6-10")
        .send()
        .await
        .expect("get range");
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"model");

    // COPY keeps metadata and content type.
    s3.copy_object()
        .bucket("bkt")
        .key("dir/copy1")
        .copy_source("bkt/dir/src.txt")
        .send()
        .await
        .expect("copy");
    let h = s3
        .head_object()
        .bucket("bkt")
        .key("dir/copy1")
        .send()
        .await
        .expect("head");
    assert_eq!(h.content_type(), Some("text/plain"));
    assert_eq!(
        h.metadata()
            .and_then(|m| m.get("color"))
            .map(String::as_str),
        Some("blue")
    );
    assert_eq!(h.e_tag(), put.e_tag());

    // REPLACE takes the request's metadata; grant headers set the ACL.
    s3.copy_object()
        .bucket("bkt")
        .key("dir/copy2")
        .copy_source("bkt/dir/src.txt")
        .metadata_directive(MetadataDirective::Replace)
        .metadata("color", "red")
        .content_type("application/json")
        .grant_read("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")
        .grant_full_control(format!("id=\"{OWNER_ID}\""))
        .send()
        .await
        .expect("copy replace");
    let h = s3
        .head_object()
        .bucket("bkt")
        .key("dir/copy2")
        .send()
        .await
        .expect("head");
    assert_eq!(h.content_type(), Some("application/json"));
    assert_eq!(
        h.metadata()
            .and_then(|m| m.get("color"))
            .map(String::as_str),
        Some("red")
    );
    let acl = s3
        .get_object_acl()
        .bucket("bkt")
        .key("dir/copy2")
        .send()
        .await
        .expect("acl");
    assert_eq!(acl.grants().len(), 2);
    assert!(acl
        .grants()
        .iter()
        .any(|g| g.permission() == Some(&Permission::Read)
            && g.grantee().and_then(|g| g.uri())
                == Some("http://acs.amazonaws.com/groups/global/AllUsers")));

    // Canned ACL on copy.
    s3.copy_object()
        .bucket("bkt")
        .key("dir/copy3")
        .copy_source("bkt/dir/src.txt")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .expect("copy canned");
    let acl = s3
        .get_object_acl()
        .bucket("bkt")
        .key("dir/copy3")
        .send()
        .await
        .expect("acl");
    assert_eq!(acl.grants().len(), 2);

    // Copy onto itself without changes is illegal, as on S3.
    let err = s3
        .copy_object()
        .bucket("bkt")
        .key("dir/src.txt")
        .copy_source("bkt/dir/src.txt")
        .send()
        .await
        .expect_err("self copy");
    assert_eq!(err.code(), Some("InvalidRequest"));

    // Delete.
    s3.delete_object()
        .bucket("bkt")
        .key("dir/copy3")
        .send()
        .await
        .expect("delete");
    assert_eq!(model.object_count("bkt"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_part_copy() {
    let model = S3Model::start(ModelConfig::instant()).await.expect("start");
    let s3 = client(&model.endpoint());
    model
        .insert_object("bkt", "src", &b"0123456789ab"[..])
        .expect("insert");
    let up = s3
        .create_multipart_upload()
        .bucket("bkt")
        .key("dst")
        .content_type("text/x-test")
        .send()
        .await
        .expect("create mpu");
    let id = up.upload_id().expect("id").to_owned();
    let mut parts = Vec::new();
    for (n, range) in [(1, "bytes=0-5"), (2, "bytes=6-11")] {
        let p = s3
            .upload_part_copy()
            .bucket("bkt")
            .key("dst")
            .upload_id(&id)
            .part_number(n)
            .copy_source("bkt/src")
            .copy_source_range(range)
            .send()
            .await
            .expect("upload part copy");
        let etag = p
            .copy_part_result()
            .and_then(|r| r.e_tag())
            .expect("etag")
            .to_owned();
        parts.push(CompletedPart::builder().part_number(n).e_tag(etag).build());
    }
    let p3 = s3
        .upload_part()
        .bucket("bkt")
        .key("dst")
        .upload_id(&id)
        .part_number(3)
        .body(ByteStream::from_static(b"-tail"))
        .send()
        .await
        .expect("upload part");
    parts.push(
        CompletedPart::builder()
            .part_number(3)
            .e_tag(p3.e_tag().expect("etag"))
            .build(),
    );
    let done = s3
        .complete_multipart_upload()
        .bucket("bkt")
        .key("dst")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    // md5 of concatenated binary md5s of "012345", "6789ab", "-tail", then "-3".
    let mut cat = Vec::new();
    for p in [&b"012345"[..], b"6789ab", b"-tail"] {
        cat.extend_from_slice(&md5_raw(p));
    }
    let want = format!("\"{}-3\"", hex(&md5_raw(&cat)));
    assert_eq!(done.e_tag(), Some(want.as_str()));
    let got = s3
        .get_object()
        .bucket("bkt")
        .key("dst")
        .send()
        .await
        .expect("get");
    assert_eq!(got.content_type(), Some("text/x-test"));
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"0123456789ab-tail");

    // Abort.
    let up = s3
        .create_multipart_upload()
        .bucket("bkt")
        .key("gone")
        .send()
        .await
        .expect("create");
    s3.abort_multipart_upload()
        .bucket("bkt")
        .key("gone")
        .upload_id(up.upload_id().expect("id"))
        .send()
        .await
        .expect("abort");
}

fn md5_raw(b: &[u8]) -> Vec<u8> {
    use md5::Digest;
    md5::Md5::digest(b).to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_round_trip() {
    let model = S3Model::start(ModelConfig::instant()).await.expect("start");
    let s3 = client(&model.endpoint());
    model.insert_object("bkt", "k", "x").expect("insert");
    let acl = s3
        .get_object_acl()
        .bucket("bkt")
        .key("k")
        .send()
        .await
        .expect("get acl");
    assert_eq!(acl.owner().and_then(|o| o.id()), Some(OWNER_ID));
    assert_eq!(acl.grants().len(), 1, "private by default");

    let policy = AccessControlPolicy::builder()
        .owner(Owner::builder().id(OWNER_ID).build())
        .grants(
            Grant::builder()
                .grantee(
                    Grantee::builder()
                        .r#type(Type::CanonicalUser)
                        .id(OWNER_ID)
                        .build()
                        .expect("grantee"),
                )
                .permission(Permission::FullControl)
                .build(),
        )
        .grants(
            Grant::builder()
                .grantee(
                    Grantee::builder()
                        .r#type(Type::Group)
                        .uri("http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
                        .build()
                        .expect("grantee"),
                )
                .permission(Permission::ReadAcp)
                .build(),
        )
        .grants(
            Grant::builder()
                .grantee(
                    Grantee::builder()
                        .r#type(Type::AmazonCustomerByEmail)
                        .email_address("someone@example.com")
                        .build()
                        .expect("grantee"),
                )
                .permission(Permission::Read)
                .build(),
        )
        .build();
    s3.put_object_acl()
        .bucket("bkt")
        .key("k")
        .access_control_policy(policy)
        .send()
        .await
        .expect("put acl xml");
    let acl = s3
        .get_object_acl()
        .bucket("bkt")
        .key("k")
        .send()
        .await
        .expect("get acl");
    let perms: Vec<_> = acl
        .grants()
        .iter()
        .map(|g| {
            (
                g.grantee().map(|g| g.r#type().clone()),
                g.permission().cloned(),
            )
        })
        .collect();
    assert_eq!(
        perms,
        vec![
            (Some(Type::CanonicalUser), Some(Permission::FullControl)),
            (Some(Type::Group), Some(Permission::ReadAcp)),
            (Some(Type::AmazonCustomerByEmail), Some(Permission::Read)),
        ]
    );

    s3.put_object_acl()
        .bucket("bkt")
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .expect("canned");
    let acl = s3
        .get_object_acl()
        .bucket("bkt")
        .key("k")
        .send()
        .await
        .expect("get");
    assert_eq!(acl.grants().len(), 2);

    s3.put_object_acl()
        .bucket("bkt")
        .key("k")
        .grant_write_acp(format!("id=\"{OWNER_ID}\""))
        .send()
        .await
        .expect("grant header");
    let acl = s3
        .get_object_acl()
        .bucket("bkt")
        .key("k")
        .send()
        .await
        .expect("get");
    assert_eq!(acl.grants().len(), 1);
    assert_eq!(acl.grants()[0].permission(), Some(&Permission::WriteAcp));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowdown_above_per_prefix_limit() {
    let cfg = ModelConfig {
        rate_limits: Some(RateLimits {
            write_per_sec: 5,
            read_per_sec: 8,
        }),
        ..ModelConfig::instant()
    };
    let model = S3Model::start(cfg).await.expect("start");
    let s3 = client(&model.endpoint());
    model.create_bucket("bkt").expect("bucket");
    let mut ok = 0;
    let mut slow = 0;
    for i in 0..12 {
        match s3
            .put_object()
            .bucket("bkt")
            .key(format!("hot/k{i}"))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
        {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.code(), Some("SlowDown"), "{e:?}");
                assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(503));
                slow += 1;
            }
        }
    }
    // The loop is far faster than a second on loopback, but tolerate a slow machine.
    assert!(ok >= 5 && slow >= 1, "ok={ok} slow={slow}");
    // Another prefix has its own budget.
    s3.put_object()
        .bucket("bkt")
        .key("cold/k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("other prefix");
    assert!(model.slowdowns() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ownership_controls_and_bucket_acl_settings() {
    use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls, OwnershipControlsRule};
    let model = S3Model::start(ModelConfig::instant()).await.expect("start");
    let s3 = client(&model.endpoint());

    // No ownership controls: ACLs enabled, as on buckets made before April 2023.
    s3.create_bucket()
        .bucket("old")
        .send()
        .await
        .expect("create");
    let e = s3
        .get_bucket_ownership_controls()
        .bucket("old")
        .send()
        .await
        .expect_err("no controls");
    assert_eq!(e.code(), Some("OwnershipControlsNotFoundError"));
    let e = s3
        .get_public_access_block()
        .bucket("old")
        .send()
        .await
        .expect_err("no block");
    assert_eq!(e.code(), Some("NoSuchPublicAccessBlockConfiguration"));
    let acl = s3.get_bucket_acl().bucket("old").send().await.expect("acl");
    assert_eq!(acl.owner().and_then(|o| o.id()), Some(OWNER_ID));
    let v = s3
        .get_bucket_versioning()
        .bucket("old")
        .send()
        .await
        .expect("versioning");
    assert!(v.status().is_none());
    s3.put_object()
        .bucket("old")
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("ACLs are allowed");

    // BucketOwnerEnforced (the default on AWS since 2023): ACLs refused.
    s3.create_bucket()
        .bucket("new")
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .send()
        .await
        .expect("create");
    let got = s3
        .get_bucket_ownership_controls()
        .bucket("new")
        .send()
        .await
        .expect("controls");
    let rule = got
        .ownership_controls()
        .and_then(|c| c.rules().first())
        .map(|r| r.object_ownership().clone());
    assert_eq!(rule, Some(ObjectOwnership::BucketOwnerEnforced));
    let e = s3
        .copy_object()
        .bucket("new")
        .key("k")
        .copy_source("old/k")
        .grant_read("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")
        .send()
        .await
        .expect_err("grants refused");
    assert_eq!(e.code(), Some("AccessControlListNotSupported"));
    let e = s3
        .put_object_acl()
        .bucket("old")
        .key("k")
        .acl(ObjectCannedAcl::Private)
        .send()
        .await;
    assert!(e.is_ok(), "old bucket still takes ACLs");
    for acl in [None, Some(ObjectCannedAcl::BucketOwnerFullControl)] {
        s3.copy_object()
            .bucket("new")
            .key("k")
            .copy_source("old/k")
            .set_acl(acl)
            .send()
            .await
            .expect("no ACL or bucket-owner-full-control is accepted");
    }

    // Switching to ObjectWriter enables ACLs again.
    s3.put_bucket_ownership_controls()
        .bucket("new")
        .ownership_controls(
            OwnershipControls::builder()
                .rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(ObjectOwnership::ObjectWriter)
                        .build()
                        .expect("rule"),
                )
                .build()
                .expect("controls"),
        )
        .send()
        .await
        .expect("put controls");
    s3.put_object_acl()
        .bucket("new")
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .expect("ACLs enabled again");
    s3.delete_bucket_ownership_controls()
        .bucket("new")
        .send()
        .await
        .expect("delete controls");
    let e = s3
        .get_bucket_ownership_controls()
        .bucket("new")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(e.code(), Some("OwnershipControlsNotFoundError"));
}
