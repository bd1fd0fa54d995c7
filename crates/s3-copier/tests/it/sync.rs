//! `sync` against ministack: special keys, metadata/ACL/tags, multipart, dry-run, pre-flight.
#![allow(clippy::unwrap_used)]

use crate::common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectCannedAcl;
use common::*;
use mc_aws_common::acl::Acl;

const SPECIAL_KEYS: &[&str] = &[
    "plain.txt",
    "with space/file name.jpg",
    "plus+sign+key",
    "percent%20literal%2F",
    "question?mark&amp=1",
    "unicode/café/日本語/😀.png",
    "hash#tag",
    "dir/../dots",
    "trailing space ",
];

#[tokio::test]
async fn copies_special_keys_with_metadata_tags_and_acls() {
    let (s3, src, dst) = buckets("meta").await;
    for (i, k) in SPECIAL_KEYS.iter().enumerate() {
        put(&s3, &src, *k, ByteStream::from(vec![b'x'; i + 1])).await;
    }
    // One object with everything that must survive the copy.
    s3.put_object()
        .bucket(&src)
        .key("rich/object.html")
        .body(ByteStream::from_static(b"<h1>hi</h1>"))
        .content_type("text/html; charset=utf-8")
        .content_encoding("identity")
        .content_disposition("inline; filename=\"o.html\"")
        .content_language("fr")
        .cache_control("max-age=60")
        .metadata("origin", "popjam")
        .tagging("team=mobile&kind=thumb%20nail")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    // And one private object: it must stay private.
    put(&s3, &src, "rich/private", ByteStream::from_static(b"p")).await;

    let out = sync_json(&format!("s3://{src}"), &format!("s3://{dst}"), &[]);
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert_eq!(r["copied"], SPECIAL_KEYS.len() + 2);
    assert_eq!(r["failed"], 0);

    let keys = mc_testkit::list_all_keys(&s3, &dst, "").await;
    for k in SPECIAL_KEYS {
        assert!(
            keys.contains(&k.to_string()),
            "{k:?} missing at the destination: {keys:?}"
        );
    }
    let head = s3
        .head_object()
        .bucket(&dst)
        .key("rich/object.html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(
        head.content_disposition(),
        Some("inline; filename=\"o.html\"")
    );
    assert_eq!(head.content_language(), Some("fr"));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(
        head.metadata().unwrap().get("origin").map(String::as_str),
        Some("popjam")
    );
    let tags = s3
        .get_object_tagging()
        .bucket(&dst)
        .key("rich/object.html")
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(String, String)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key().into(), t.value().into()))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        vec![
            ("kind".into(), "thumb nail".into()),
            ("team".into(), "mobile".into())
        ]
    );

    let acl_of = |bucket: String, key: &'static str| {
        let s3 = s3.clone();
        async move {
            let a = s3
                .get_object_acl()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            Acl::from_sdk(a.owner(), a.grants())
        }
    };
    let (sa, da) = (
        acl_of(src.clone(), "rich/object.html").await,
        acl_of(dst.clone(), "rich/object.html").await,
    );
    assert!(
        da.is_public(),
        "public-read source must stay public-read: {da}"
    );
    assert!(sa.matches(&da), "{sa} vs {da}");
    let (sp, dp) = (
        acl_of(src.clone(), "rich/private").await,
        acl_of(dst.clone(), "rich/private").await,
    );
    assert!(
        !dp.is_public(),
        "a private object must never become public: {dp}"
    );
    assert!(sp.matches(&dp), "{sp} vs {dp}");

    // A second run copies nothing.
    let out = sync_json(&format!("s3://{src}"), &format!("s3://{dst}"), &[]);
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert_eq!(r["copied"], 0);
    assert_eq!(r["skipped"], SPECIAL_KEYS.len() + 2);
}

#[tokio::test]
async fn multipart_path_keeps_bytes_metadata_and_tags() {
    let (s3, src, dst) = buckets("mp").await;
    let body: Vec<u8> = (0..(6 * 1024 * 1024 + 123))
        .map(|i: u32| (i % 251) as u8)
        .collect();
    s3.put_object()
        .bucket(&src)
        .key("big/video file.bin")
        .body(ByteStream::from(body.clone()))
        .content_type("video/mp4")
        .metadata("camera", "x1")
        .tagging("size=big")
        .send()
        .await
        .unwrap();
    put(&s3, &src, "big/small", ByteStream::from_static(b"s")).await;
    let out = sync_json(
        &format!("s3://{src}/big/"),
        &format!("s3://{dst}/copy/"),
        &["--multipart-threshold", "1MiB", "--part-size", "5MiB"],
    );
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert_eq!(r["copied"], 2);
    assert_eq!(r["multipart"], 1);
    assert_eq!(get_body(&s3, &dst, "copy/video file.bin").await, body);
    let head = s3
        .head_object()
        .bucket(&dst)
        .key("copy/video file.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("video/mp4"));
    assert_eq!(
        head.metadata().unwrap().get("camera").map(String::as_str),
        Some("x1")
    );
    let tags = s3
        .get_object_tagging()
        .bucket(&dst)
        .key("copy/video file.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set().len(), 1);
    // Re-sync: the multipart ETag is not compared with the source's, sizes decide.
    let out = sync_json(
        &format!("s3://{src}/big/"),
        &format!("s3://{dst}/copy/"),
        &["--multipart-threshold", "1MiB", "--part-size", "5MiB"],
    );
    assert_eq!(report(&out)["copied"], 0);
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let (s3, src, dst) = buckets("dry").await;
    mc_testkit::put_objects(
        &s3,
        &src,
        (0..20).map(|i| (format!("k{i:02}"), b"v".to_vec())),
    )
    .await;
    mc_testkit::put_objects(&s3, &dst, [("extra".to_string(), b"e".to_vec())]).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let out = run(&[
        "sync",
        "--dry-run",
        "--delete",
        "--state",
        state.to_str().unwrap(),
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("copy: k00 (missing)"), "{stdout}");
    assert!(stdout.contains("delete: extra (not at source)"), "{stdout}");
    assert_eq!(
        mc_testkit::list_all_keys(&s3, &dst, "").await,
        vec!["extra".to_string()]
    );
    assert!(!state.exists(), "dry-run must not write the state file");
}

/// `--shard i/N`, alone and with a `--splits` file as `s3-key-counter
/// --emit-splits` writes it (JSON strings): the shards copy every key once.
#[tokio::test]
async fn shards_copy_every_key_once() {
    let (s3, src, dst) = buckets("shards").await;
    let keys: Vec<String> = (0..40)
        .map(|i| format!("k{i:02}"))
        .chain(SPECIAL_KEYS.iter().map(|k| k.to_string()))
        .collect();
    mc_testkit::put_objects(&s3, &src, keys.iter().map(|k| (k.clone(), b"v".to_vec()))).await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let dir = tempfile::tempdir().unwrap();
    let splits = dir.path().join("splits");
    std::fs::write(&splits, "\"k13\"\n\"k27\"\n\"unicode/caf\\u00e9\"\n").unwrap();
    let splits = splits.to_str().unwrap();
    for (n, file) in [(3, None), (4, Some(splits)), (6, Some(splits))] {
        let mut listed = Vec::new();
        for i in 0..n {
            let shard = format!("{i}/{n}");
            let mut extra = vec!["--acl", "skip", "--shard", &shard];
            extra.extend(file.map(|f| ["--splits", f]).into_iter().flatten());
            let out = sync_json(&s, &d, &extra);
            assert_eq!(out.status.code(), Some(0));
            listed.push(report(&out)["listed"].as_u64().unwrap());
        }
        let total: u64 = listed.iter().sum();
        assert_eq!(total, keys.len() as u64, "{n} shards, splits {file:?}");
        if n == 4 {
            // The points were read as keys, not as quoted text: up to k13
            // (with dir/.. and hash#..), k14..k27, up to unicode/café (k28..k39
            // and five special keys), the rest.
            assert_eq!(listed, [16, 14, 17, 2], "{listed:?}");
        }
        let mut expected = keys.clone();
        expected.sort();
        assert_eq!(mc_testkit::list_all_keys(&s3, &dst, "").await, expected);
    }
    // A file with more points than the shards can use would leave keys out.
    let out = sync_json(
        &s,
        &d,
        &["--acl", "skip", "--shard", "0/3", "--splits", splits],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("more than --shard 0/3 can use"), "{stderr}");
}

/// `verify --shard i/N --splits F` checks exactly the slice that `sync`
/// with the same two flags copied: that slice is complete, and the other
/// slices find exactly the rest missing.
#[tokio::test]
async fn verify_checks_the_slice_sync_copied() {
    let (s3, src, dst) = buckets("slice").await;
    let keys: Vec<String> = (0..30).map(|i| format!("k{i:02}")).collect();
    mc_testkit::put_objects(&s3, &src, keys.iter().map(|k| (k.clone(), b"v".to_vec()))).await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let dir = tempfile::tempdir().unwrap();
    let splits = dir.path().join("splits");
    // Uneven on purpose: the fixed alphabet would cut elsewhere.
    std::fs::write(&splits, "\"k04\"\n\"k21\"\n").unwrap();
    let splits = splits.to_str().unwrap();
    let slice = ["--shard", "1/3", "--splits", splits];
    let out = sync_json(&s, &d, &[&["--acl", "skip"][..], &slice].concat());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report(&out)["copied"], 17, "k05..k21");
    let verify = |shard: &str| {
        let out = run(&[
            "verify", "-o", "json", "--shard", shard, "--splits", splits, &s, &d,
        ]);
        let last = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .unwrap();
        (out.status.code(), last["totals"].clone())
    };
    let (code, t) = verify("1/3");
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(
        (t["checked"].as_u64(), t["missing"].as_u64()),
        (Some(17), Some(0))
    );
    let (code, t) = verify("2/3");
    assert_eq!(code, Some(1));
    assert_eq!(
        (t["checked"].as_u64(), t["missing"].as_u64()),
        (Some(8), Some(8))
    );
    let (_, t) = verify("0/3");
    assert_eq!(t["missing"].as_u64(), Some(5), "k00..k04");
}

/// A destination that blocks public ACLs refuses the copy of a public
/// object: the dry run says so beforehand, and the run reports it.
#[tokio::test]
async fn block_public_acls_is_predicted_by_the_dry_run() {
    let (s3, src, dst) = buckets("bpa").await;
    s3.put_object()
        .bucket(&src)
        .key("public")
        .body(ByteStream::from_static(b"p"))
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    put(&s3, &src, "private", ByteStream::from_static(b"q")).await;
    s3.put_public_access_block()
        .bucket(&dst)
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let dry = sync_json(&s, &d, &["--dry-run"]);
    let real = sync_json(&s, &d, &[]);
    for out in [&dry, &real] {
        assert_eq!(out.status.code(), Some(1));
        let r = report(out);
        assert_eq!(
            (r["copied"].as_u64(), r["failed"].as_u64()),
            (Some(1), Some(1)),
            "{r}"
        );
        assert_eq!(r["failures"][0]["key"], "public", "{r}");
    }
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert!(stdout.contains("would fail: its ACL is public"), "{stdout}");
    assert_eq!(mc_testkit::list_all_keys(&s3, &dst, "").await, ["private"]);
}

/// `s3://bucket/dir` is a folder, as for `aws s3 sync`: `--delete` under
/// `copy` must not touch `copy2/`.
#[tokio::test]
async fn prefixes_are_folders() {
    let (s3, src, dst) = buckets("folders").await;
    let objects = |keys: &[&str]| {
        keys.iter()
            .map(|k| (k.to_string(), b"v".to_vec()))
            .collect::<Vec<_>>()
    };
    mc_testkit::put_objects(&s3, &src, objects(&["img/a", "img2/x", "imgx"])).await;
    mc_testkit::put_objects(&s3, &dst, objects(&["copy/old", "copy2/keep", "copyright"])).await;
    let (s, d) = (format!("s3://{src}/img"), format!("s3://{dst}/copy"));
    // The dry run's JSON lines say what each one is, and where a copy goes.
    let out = sync_json(&s, &d, &["--acl", "skip", "--delete", "--dry-run"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let action = |a: &str| lines.iter().find(|l| l["action"] == a).unwrap().clone();
    assert_eq!(action("copy")["kind"], "action");
    assert_eq!(action("copy")["key"], "img/a");
    assert_eq!(action("copy")["dest_key"], "copy/a");
    assert_eq!(action("delete")["key"], "copy/old");
    assert_eq!(lines[2]["kind"], "summary");

    let out = sync_json(&s, &d, &["--acl", "skip", "--delete"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        mc_testkit::list_all_keys(&s3, &dst, "").await,
        ["copy/a", "copy2/keep", "copyright"]
    );
}

#[tokio::test]
async fn delete_removes_extra_objects_only_when_asked() {
    let (s3, src, dst) = buckets("del").await;
    mc_testkit::put_objects(&s3, &src, [("a".to_string(), b"1".to_vec())]).await;
    mc_testkit::put_objects(&s3, &dst, [("zz".to_string(), b"1".to_vec())]).await;
    let out = sync_json(
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
        &["--acl", "skip"],
    );
    assert_eq!(report(&out)["extra"], 1);
    assert_eq!(
        mc_testkit::list_all_keys(&s3, &dst, "").await,
        vec!["a", "zz"]
    );
    let out = sync_json(
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
        &["--acl", "skip", "--delete"],
    );
    assert_eq!(report(&out)["deleted"], 1);
    assert_eq!(mc_testkit::list_all_keys(&s3, &dst, "").await, vec!["a"]);
}

#[tokio::test]
async fn bucket_owner_enforced_destination_stops_unless_acl_skip() {
    let s3 = s3().await;
    let src = mc_testkit::unique_name("boe-src");
    let dst = mc_testkit::unique_name("boe-dst");
    mc_testkit::create_bucket_with_acls(&s3, &src).await;
    mc_testkit::create_bucket(&s3, &dst).await; // the 2023+ default: ACLs disabled
    mc_testkit::put_objects(&s3, &src, [("a".to_string(), b"1".to_vec())]).await;
    let out = run(&["sync", &format!("s3://{src}"), &format!("s3://{dst}")]);
    assert_eq!(out.status.code(), Some(mc_aws_common::exit::UNSUPPORTED));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("BucketOwnerEnforced") && err.contains("--acl skip"),
        "{err}"
    );
    assert!(mc_testkit::list_all_keys(&s3, &dst, "").await.is_empty());
    let out = run(&[
        "sync",
        "--acl",
        "skip",
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(mc_testkit::list_all_keys(&s3, &dst, "").await, vec!["a"]);
}

#[tokio::test]
async fn missing_bucket_is_a_clear_error() {
    let (_s3, src, _dst) = buckets("nb").await;
    let out = run(&[
        "sync",
        &format!("s3://{src}"),
        "s3://no-such-bucket-s3copier-x",
    ]);
    assert_eq!(out.status.code(), Some(mc_aws_common::exit::NOT_FOUND));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("s3-copier: error: bucket no-such-bucket-s3copier-x"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
