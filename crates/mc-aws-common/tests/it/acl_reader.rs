#![allow(clippy::unwrap_used)]
//! [`AclReader`] against the emulators: after its first read it sends the
//! signed GETs itself, and reads exactly what the SDK reads, for any key.

use aws_sdk_s3::types::ObjectCannedAcl;
use mc_aws_common::acl::{Acl, AclReader, Grant, Grantee, Group, Permission};
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
    // Writes: the first through the SDK, the others beside it; each one is
    // what the SDK then reads.
    let throttle = Throttle::new(8, None, Backoff::default());
    for (i, key) in KEYS.iter().enumerate() {
        let now = reader.get(key).await.unwrap();
        let mut grants: Vec<Grant> = now
            .grants()
            .filter(|g| !g.grantee.is_public())
            .cloned()
            .collect();
        if i % 2 == 0 {
            grants.push(Grant::new(
                Grantee::Group(Group::AllUsers),
                Permission::Read,
            ));
        }
        let want = Acl::new(now.owner.clone(), grants);
        reader.put(&throttle, key, &want).await.unwrap();
        let sdk = s3
            .get_object_acl()
            .bucket(&bucket)
            .key(*key)
            .send()
            .await
            .unwrap();
        let got = Acl::from_sdk(sdk.owner(), sdk.grants());
        assert!(
            got.same_grants(&want),
            "{} {key:?}: {got:?}",
            emu.kind().name()
        );
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

/// The S3 model checking SigV4 (s3s): the lean GETs are signed as S3 wants,
/// session token included, for every awkward key; credentials it refuses
/// send the read back through the SDK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lean_reads_pass_a_signature_check() {
    use crate::signed_model::{credentials as creds, SECRET};
    let (model, s3) = crate::signed_model::start("eu-west-1").await;
    s3.create_bucket().bucket("signed").send().await.unwrap();
    mc_testkit::put_objects(&s3, "signed", KEYS.map(|k| (k, b"x"))).await;
    let throttle = Throttle::new(8, None, Backoff::default());
    let reader = AclReader::new(s3.clone(), "signed", throttle.clone(), Some(creds(SECRET)));
    let refused = AclReader::new(
        s3.clone(),
        "signed",
        throttle.clone(),
        Some(creds("wrong-secret")),
    );
    for key in KEYS.iter().chain(KEYS.iter()) {
        let sdk = s3
            .get_object_acl()
            .bucket("signed")
            .key(*key)
            .send()
            .await
            .unwrap();
        let expected = Acl::from_sdk(sdk.owner(), sdk.grants());
        assert_eq!(reader.get(key).await.unwrap(), expected, "{key:?}");
        assert_eq!(refused.get(key).await.unwrap(), expected, "{key:?}");
    }
    assert!(reader.is_lean());
    // Lean PutObjectAcl (after the first) passes the check too.
    for key in KEYS.iter().chain(KEYS.iter()) {
        let acl = reader.get(key).await.unwrap();
        reader.put(&throttle, key, &acl).await.unwrap();
    }
    // The model does check: the SDK with the wrong secret is refused.
    let wrong = aws_sdk_s3::Client::from_conf(
        s3.config()
            .to_builder()
            .credentials_provider(creds("wrong-secret"))
            .build(),
    );
    let err = wrong
        .get_object_acl()
        .bucket("signed")
        .key("plain")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&err),
        Some("SignatureDoesNotMatch"),
        "{err:?}"
    );
    // 6 keys x 2 rounds x (our SDK check + 2 readers), plus the refused
    // reader's lean attempts: every read was answered, none refused for a
    // bad signature but the wrong secret's.
    let acl_calls = model
        .op_counts()
        .get(&mc_benchkit::s3model::ModelOp::GetAcl)
        .copied()
        .unwrap_or(0);
    assert!(acl_calls >= 36, "{acl_calls}");
}

/// A version id in the query and `x-amz-request-payer` in the headers are
/// signed with the lean GET (the model checks SigV4 over both), and a first
/// read that named a version does not stick to the later ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_requester_pays_are_signed() {
    let (_model, s3) = crate::signed_model::start("us-east-1").await;
    let creds = crate::signed_model::credentials(crate::signed_model::SECRET);
    s3.create_bucket().bucket("versions").send().await.unwrap();
    mc_testkit::put_objects(&s3, "versions", KEYS.map(|k| (k, b"x"))).await;
    let throttle = Throttle::new(4, None, Backoff::default());
    let reader = AclReader::new(s3.clone(), "versions", throttle, Some(creds)).requester_pays(true);
    let expected = |key: &str| {
        let s3 = s3.clone();
        let key = key.to_string();
        async move {
            let sdk = s3
                .get_object_acl()
                .bucket("versions")
                .key(key)
                .send()
                .await
                .unwrap();
            Acl::from_sdk(sdk.owner(), sdk.grants())
        }
    };
    for (i, key) in KEYS.iter().enumerate() {
        let version = (i % 2 == 0).then_some("null");
        let got = reader.get_version(key, version).await.unwrap();
        assert_eq!(got, expected(key).await, "{key:?} {version:?}");
    }
    assert!(reader.is_lean());
}
