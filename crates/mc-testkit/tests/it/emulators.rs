//! The emulators answer over loopback, and the fixture helpers work.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use mc_testkit::{ministack, moto, unique_name};

#[tokio::test]
async fn ministack_s3_create_put_list() {
    let emu = ministack();
    assert!(
        emu.endpoint().starts_with("http://127.0.0.1:"),
        "{}",
        emu.endpoint()
    );
    assert_eq!(emu.region(), "us-east-1");
    let s3 = emu.s3().await;
    let bucket = unique_name("kit-s3");
    mc_testkit::create_bucket(&s3, &bucket).await;
    let objects: Vec<(String, Vec<u8>)> = (0..1205)
        .map(|i| {
            (
                format!("data/{i:05}.txt"),
                format!("object {i}").into_bytes(),
            )
        })
        .collect();
    mc_testkit::put_objects(&s3, &bucket, objects).await;
    mc_testkit::put_objects(&s3, &bucket, [("other/x", "x")]).await;

    let keys = mc_testkit::list_all_keys(&s3, &bucket, "data/").await;
    assert_eq!(keys.len(), 1205, "pagination over 1000-key pages");
    assert_eq!(keys[0], "data/00000.txt");
    assert_eq!(keys[1204], "data/01204.txt");
    assert_eq!(
        mc_testkit::list_all_keys(&s3, &bucket, "").await.len(),
        1206
    );

    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("data/00042.txt")
        .send()
        .await
        .unwrap();
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"object 42");
}

#[tokio::test]
async fn ministack_buckets_default_to_owner_enforced_and_acl_helper_enables_acls() {
    use mc_testkit::aws_sdk_s3::types::{ObjectCannedAcl, ObjectOwnership, Permission, Type};
    let s3 = ministack().s3().await;

    let plain = unique_name("kit-plain");
    mc_testkit::create_bucket(&s3, &plain).await;
    let ownership = s3
        .get_bucket_ownership_controls()
        .bucket(&plain)
        .send()
        .await
        .unwrap();
    let rule = &ownership.ownership_controls().unwrap().rules()[0];
    assert_eq!(
        rule.object_ownership(),
        &ObjectOwnership::BucketOwnerEnforced
    );
    let err = s3
        .put_object()
        .bucket(&plain)
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .body(Vec::from(&b"x"[..]).into())
        .send()
        .await;
    assert!(
        err.is_err(),
        "public-read ACL must be refused when ACLs are disabled"
    );

    let acl_bucket = unique_name("kit-acls");
    mc_testkit::create_bucket_with_acls(&s3, &acl_bucket).await;
    s3.put_object()
        .bucket(&acl_bucket)
        .key("public")
        .acl(ObjectCannedAcl::PublicRead)
        .body(Vec::from(&b"x"[..]).into())
        .send()
        .await
        .unwrap();
    let acl = s3
        .get_object_acl()
        .bucket(&acl_bucket)
        .key("public")
        .send()
        .await
        .unwrap();
    let all_users_read = acl.grants().iter().any(|g| {
        g.permission() == Some(&Permission::Read)
            && g.grantee().is_some_and(|who| {
                who.r#type() == &Type::Group
                    && who.uri().is_some_and(|u| u.ends_with("/global/AllUsers"))
            })
    });
    assert!(
        all_users_read,
        "expected an AllUsers READ grant, got {:?}",
        acl.grants()
    );
}

#[tokio::test]
async fn ministack_sqs_send_receive() {
    let sqs = ministack().sqs().await;
    let queue = unique_name("kit-q");
    let url = mc_testkit::create_queue(&sqs, &queue).await;
    sqs.send_message()
        .queue_url(&url)
        .message_body("hello")
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(msg) = out.messages().first() {
            assert_eq!(msg.body(), Some("hello"));
            break;
        }
        assert!(Instant::now() < deadline, "no message received from {url}");
    }
}

/// A plain SigV4-shaped request (moto does not verify signatures).
fn raw_request(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("set timeout");
    stream.write_all(request.as_bytes()).expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    response
}

#[test]
fn moto_answers_s3_list_buckets_and_ec2_spot_price_history() {
    let emu = moto();
    let port: u16 = emu.endpoint().rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(port, emu.port());
    let auth = |service: &str| {
        format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=00"
        )
    };
    let s3 = raw_request(
        port,
        &format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
            auth("s3")
        ),
    );
    assert!(s3.starts_with("HTTP/1.1 200"), "{s3}");
    assert!(s3.contains("ListAllMyBucketsResult"), "{s3}");

    let body = "Action=DescribeSpotPriceHistory&Version=2016-11-15&InstanceType.1=m5.large";
    let ec2 = raw_request(
        port,
        &format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            auth("ec2"),
            body.len()
        ),
    );
    assert!(ec2.starts_with("HTTP/1.1 200"), "{ec2}");
    assert!(ec2.contains("spotPriceHistorySet"), "{ec2}");
}

#[test]
fn env_points_tools_at_the_emulator_and_away_from_real_aws() {
    let emu = ministack();
    let env: std::collections::HashMap<_, _> = emu.env().into_iter().collect();
    assert_eq!(env["AWS_ENDPOINT_URL"], emu.endpoint());
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_EC2_METADATA_DISABLED"], "true");
    for file in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
        let meta = std::fs::metadata(&env[file]).unwrap();
        assert_eq!(meta.len(), 0, "{file} must be an empty file");
    }
    let mut cmd = std::process::Command::new("env");
    emu.apply_env(&mut cmd);
    cmd.env_remove("AWS_PROFILE_SHOULD_NOT_MATTER");
    let out = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    assert!(
        out.contains(&format!("AWS_ENDPOINT_URL={}", emu.endpoint())),
        "{out}"
    );
    assert!(!out.contains("AWS_PROFILE="), "{out}");
}

#[test]
fn unique_names_are_valid_bucket_and_queue_names() {
    let mut seen = std::collections::HashSet::new();
    for prefix in [
        "",
        "s3-copier",
        "Weird_Prefix.With Spaces!",
        &"x".repeat(100),
    ] {
        for _ in 0..50 {
            let name = unique_name(prefix);
            assert!((3..=63).contains(&name.len()), "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            assert!(
                name.chars().next().unwrap().is_ascii_alphanumeric(),
                "{name}"
            );
            assert!(
                name.chars().last().unwrap().is_ascii_alphanumeric(),
                "{name}"
            );
            assert!(seen.insert(name.clone()), "duplicate {name}");
        }
    }
}

/// The second ministack checks who asks: an unsigned request gets only what
/// is public, and an unknown access key is refused; the usual one lets both
/// through.
#[tokio::test]
async fn ministack_auth_runs_beside_the_usual_one_and_enforces_access() {
    use mc_testkit::aws_sdk_s3::types::ObjectCannedAcl;
    let (auth, plain) = (mc_testkit::ministack_auth(), ministack());
    assert_ne!(auth.endpoint(), plain.endpoint());
    let s3 = auth.s3().await;
    let bucket = unique_name("kit-auth");
    mc_testkit::create_bucket_with_acls(&s3, &bucket).await;
    mc_testkit::put_objects(&s3, &bucket, [("public", "p"), ("private", "q")]).await;
    s3.put_object_acl()
        .bucket(&bucket)
        .key("public")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let get = |key: &str| {
        raw_request(
            auth.port(),
            &format!(
                "GET /{bucket}/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    assert!(
        get("public").starts_with("HTTP/1.1 200"),
        "{}",
        get("public")
    );
    assert!(
        get("private").starts_with("HTTP/1.1 403"),
        "{}",
        get("private")
    );

    let stranger = aws_sdk_s3_with_key(auth, "AKIAUNKNOWNKEY000000").await;
    let err = stranger
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_err();
    use mc_testkit::aws_sdk_s3::error::ProvideErrorMetadata;
    assert_eq!(err.code(), Some("InvalidAccessKeyId"), "{err:?}");
}

async fn aws_sdk_s3_with_key(
    emu: &mc_testkit::Emulator,
    key: &str,
) -> mc_testkit::aws_sdk_s3::Client {
    use mc_testkit::aws_sdk_s3::config::{Builder, Credentials};
    let conf = Builder::from(&emu.sdk_config().await)
        .credentials_provider(Credentials::new(key, "test", None, None, "t"))
        .force_path_style(true)
        .build();
    mc_testkit::aws_sdk_s3::Client::from_conf(conf)
}
