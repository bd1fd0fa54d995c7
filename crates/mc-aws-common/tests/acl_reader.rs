#![allow(clippy::unwrap_used)]
//! [`AclReader`] against the emulators: after its first read it sends the
//! signed GETs itself, and reads exactly what the SDK reads, for any key.

use aws_sdk_s3::types::ObjectCannedAcl;
use mc_aws_common::acl::{Acl, AclReader};
use mc_aws_common::error::ToolError;
use mc_aws_common::retry::{Backoff, Throttle};
use mc_testkit::{create_bucket_with_acls, unique_name, Emulator};

const KEYS: [&str; 6] = [
    "plain",
    "a b/c+d%e?f#g&h=i",
    "ünï/ködé/日本",
    "dir/./..//x",
    "quote\"'`^|\\{}[]<>!$*(),;:@~",
    "tab\there",
];

async fn check(emu: &Emulator) {
    let s3 = emu.s3().await;
    let conf = emu.sdk_config().await;
    let bucket = unique_name("aclreader");
    create_bucket_with_acls(&s3, &bucket).await;
    for (i, key) in KEYS.iter().enumerate() {
        let mut put = s3
            .put_object()
            .bucket(&bucket)
            .key(*key)
            .body(b"x".to_vec().into());
        if i % 2 == 1 {
            put = put.acl(ObjectCannedAcl::PublicRead);
        }
        put.send().await.unwrap();
    }
    let throttle = Throttle::new(8, None, Backoff::default());
    let reader = AclReader::new(s3.clone(), &bucket, throttle, conf.credentials_provider());
    for _round in 0..2 {
        for key in KEYS {
            let sdk = s3
                .get_object_acl()
                .bucket(&bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            let expected = Acl::from_sdk(sdk.owner(), sdk.grants());
            let got = reader.get(key).await.unwrap();
            assert_eq!(got, expected, "{} {key:?}", emu.kind().name());
        }
    }
    assert!(
        reader.is_lean(),
        "{}: reads still go through the SDK",
        emu.kind().name()
    );
    match reader.get("no/such key").await {
        Err(ToolError::NotFound { .. }) => {}
        other => panic!("{}: a missing key read as {other:?}", emu.kind().name()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_like_the_sdk_on_ministack() {
    check(mc_testkit::ministack()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_like_the_sdk_on_moto() {
    check(mc_testkit::moto()).await;
}
