//! SDK clients for the emulators, plus small S3 fixture helpers.
//! Behind the `aws` feature (on by default).
//!
//! The helpers panic on failure with the SDK's full error: they are for
//! setting up and checking test fixtures, not for code under test.

// The non-deprecated names live in aws-runtime, which is not a direct
// dependency; these aliases are the same types.
#[allow(deprecated)]
use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketCannedAcl, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration,
};
use futures::StreamExt;

use crate::emulator::{Emulator, ACCESS_KEY_ID, SECRET_ACCESS_KEY};

/// How many `PutObject` calls [`put_objects`] keeps in flight.
pub const PUT_CONCURRENCY: usize = 16;

impl Emulator {
    /// Shared SDK config for this emulator: its endpoint and region, static
    /// fake credentials, and empty profile files (the developer's `~/.aws`
    /// is never read).
    #[allow(deprecated)]
    pub async fn sdk_config(&self) -> SdkConfig {
        let credentials = aws_sdk_s3::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "mc-testkit",
        );
        let empty_profiles = ProfileFiles::builder()
            .with_contents(ProfileFileKind::Config, "")
            .with_contents(ProfileFileKind::Credentials, "")
            .build();
        aws_config::defaults(BehaviorVersion::latest())
            .profile_files(empty_profiles)
            .profile_name("default")
            .region(Region::new(self.region().to_owned()))
            .endpoint_url(self.endpoint())
            .credentials_provider(credentials)
            .load()
            .await
    }

    /// S3 client with path-style addressing.
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .endpoint_url(self.endpoint())
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// SQS client.
    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::config::Builder::from(&self.sdk_config().await)
            .endpoint_url(self.endpoint())
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }
}

/// Create a bucket with the service defaults (on ministack, as on AWS, that
/// means ObjectOwnership=BucketOwnerEnforced: ACLs are disabled).
pub async fn create_bucket(client: &aws_sdk_s3::Client, name: &str) {
    if let Err(e) = client.create_bucket().bucket(name).send().await {
        panic!(
            "mc-testkit: CreateBucket {name}: {:?}",
            e.into_service_error()
        );
    }
}

/// Create bucket `name` in another region (a `LocationConstraint`, as AWS
/// requires outside us-east-1) and return a client for that region. Buckets
/// created this way enforce bucket ownership (no ACLs), like new AWS buckets.
pub async fn create_bucket_in_region(
    client: &aws_sdk_s3::Client,
    name: &str,
    region: &str,
) -> aws_sdk_s3::Client {
    let constraint = aws_sdk_s3::types::BucketLocationConstraint::from(region);
    let conf = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(constraint)
        .build();
    if let Err(e) = client
        .create_bucket()
        .bucket(name)
        .create_bucket_configuration(conf)
        .send()
        .await
    {
        panic!(
            "mc-testkit: CreateBucket {name} in {region}: {:?}",
            e.into_service_error()
        );
    }
    let conf = client
        .config()
        .to_builder()
        .region(aws_sdk_s3::config::Region::new(region.to_string()))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Create a bucket in which ACLs work: ObjectOwnership=ObjectWriter and Block
/// Public Access off, so tests can set and check `public-read` grants.
pub async fn create_bucket_with_acls(client: &aws_sdk_s3::Client, name: &str) {
    create_bucket(client, name).await;
    let rule = OwnershipControlsRule::builder()
        .object_ownership(ObjectOwnership::ObjectWriter)
        .build()
        .expect("mc-testkit: ownership rule is complete");
    let controls = OwnershipControls::builder()
        .rules(rule)
        .build()
        .expect("mc-testkit: ownership controls are complete");
    if let Err(e) = client
        .put_bucket_ownership_controls()
        .bucket(name)
        .ownership_controls(controls)
        .send()
        .await
    {
        panic!(
            "mc-testkit: PutBucketOwnershipControls {name}: {:?}",
            e.into_service_error()
        );
    }
    let open = PublicAccessBlockConfiguration::builder()
        .block_public_acls(false)
        .ignore_public_acls(false)
        .block_public_policy(false)
        .restrict_public_buckets(false)
        .build();
    if let Err(e) = client
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(open)
        .send()
        .await
    {
        panic!(
            "mc-testkit: PutPublicAccessBlock {name}: {:?}",
            e.into_service_error()
        );
    }
    // Make sure ACLs are really usable now, with the bucket left private.
    if let Err(e) = client
        .put_bucket_acl()
        .bucket(name)
        .acl(BucketCannedAcl::Private)
        .send()
        .await
    {
        panic!(
            "mc-testkit: PutBucketAcl {name} after enabling ACLs: {:?}",
            e.into_service_error()
        );
    }
}

/// Turn versioning on for `bucket`.
pub async fn enable_versioning(client: &aws_sdk_s3::Client, bucket: &str) {
    let on = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    if let Err(e) = client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(on)
        .send()
        .await
    {
        panic!(
            "mc-testkit: PutBucketVersioning {bucket}: {:?}",
            e.into_service_error()
        );
    }
}

/// GetObjectAcl of `bucket/key`, panicking with the service error.
pub async fn get_object_acl(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> aws_sdk_s3::operation::get_object_acl::GetObjectAclOutput {
    match client.get_object_acl().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) => panic!(
            "mc-testkit: GetObjectAcl {bucket}/{key}: {:?}",
            e.into_service_error()
        ),
    }
}

/// Uploads one small object with a canned ACL.
pub async fn put_object_with_acl(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    acl: aws_sdk_s3::types::ObjectCannedAcl,
) {
    if let Err(e) = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .acl(acl)
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
    {
        panic!(
            "mc-testkit: PutObject s3://{bucket}/{key}: {:?}",
            e.into_service_error()
        );
    }
}

/// Upload objects concurrently ([`PUT_CONCURRENCY`] in flight).
pub async fn put_objects<I, K, B>(client: &aws_sdk_s3::Client, bucket: &str, objects: I)
where
    I: IntoIterator<Item = (K, B)>,
    K: Into<String>,
    B: AsRef<[u8]>,
{
    let puts = objects.into_iter().map(|(key, body)| {
        let key: String = key.into();
        let body = ByteStream::from(body.as_ref().to_vec());
        async move {
            let result = client
                .put_object()
                .bucket(bucket)
                .key(&key)
                .body(body)
                .send()
                .await;
            (key, result)
        }
    });
    let mut results = futures::stream::iter(puts).buffer_unordered(PUT_CONCURRENCY);
    while let Some((key, result)) = results.next().await {
        if let Err(e) = result {
            panic!(
                "mc-testkit: PutObject s3://{bucket}/{key}: {:?}",
                e.into_service_error()
            );
        }
    }
}

/// Every key under `prefix` ("" for all), in listing order, by plain
/// sequential ListObjectsV2 pagination: the reference for tests.
pub async fn list_all_keys(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = client.list_objects_v2().bucket(bucket);
        if !prefix.is_empty() {
            req = req.prefix(prefix);
        }
        if let Some(t) = token.take() {
            req = req.continuation_token(t);
        }
        let page = match req.send().await {
            Ok(page) => page,
            Err(e) => panic!(
                "mc-testkit: ListObjectsV2 s3://{bucket}/{prefix}: {:?}",
                e.into_service_error()
            ),
        };
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match page.next_continuation_token() {
            Some(t) if page.is_truncated().unwrap_or(false) => token = Some(t.to_owned()),
            _ => break,
        }
    }
    keys
}

/// Create an SQS queue and return its URL.
pub async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    match client.create_queue().queue_name(name).send().await {
        Ok(out) => out
            .queue_url()
            .unwrap_or_else(|| panic!("mc-testkit: CreateQueue {name} returned no QueueUrl"))
            .to_owned(),
        Err(e) => panic!(
            "mc-testkit: CreateQueue {name}: {:?}",
            e.into_service_error()
        ),
    }
}

/// The ARN of the queue at `url` (what bucket notifications name).
pub async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("mc-testkit: GetQueueAttributes {url}: {e:?}"));
    out.attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .unwrap_or_else(|| panic!("mc-testkit: queue {url} has no QueueArn"))
        .clone()
}

/// Keys that need every kind of escaping, plus keys that are prefixes of others.
pub fn awkward_keys() -> Vec<(String, usize)> {
    [
        "with space",
        "with  two spaces ",
        "plus+sign",
        "percent%20encoded",
        "percent%",
        "question?mark",
        "hash#tag",
        "amp&lt<gt>",
        "quote\"d'single",
        "back\\slash",
        "tilde~",
        "emoji😀/file",
        "emoji😀",
        "music𝄞",
        "日本語/キー",
        "é-accent",
        "a",
        "a/",
        "a/b",
        "a/b/c",
        "z=equals,comma;semi",
        "~leading-tilde",
        "!bang",
    ]
    .iter()
    .enumerate()
    .map(|(i, k)| (k.to_string(), i + 1))
    .collect()
}
