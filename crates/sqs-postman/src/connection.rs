//! The SDK client, the HTTP connector it shares with [`crate::wire`], the
//! limiter and the resolved queue.

use std::sync::Arc;

use aws_config::Region;
use aws_smithy_runtime_api::client::http::http_client_fn;
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::retry::{Backoff, Throttle};

use crate::error::{Error, Result};
use crate::queue::{self, Queue, QueueRef};

/// SDK config and client, their HTTP connector, the limiter and the resolved queue.
pub struct Connection {
    pub sdk: aws_config::SdkConfig,
    pub client: aws_sdk_sqs::Client,
    /// The connection pool shared by the SDK client and [`crate::wire::Wire`].
    pub connector: mc_aws_common::lean::Connector,
    pub throttle: Arc<Throttle>,
    pub queue: Queue,
}

/// Loads the AWS config (the region from the queue's URL or ARN when none is
/// given), and resolves the queue.
pub async fn connect(
    aws: &AwsArgs,
    queue: &QueueRef,
    concurrency: usize,
    max_attempts: u32,
) -> Result<Connection> {
    let mut sdk = mc_aws_common::config::load(aws, None, None).await?;
    if aws.region.is_none() {
        if let Some(r) = queue.region_hint() {
            sdk = sdk.into_builder().region(Region::new(r)).build();
        }
    }
    if sdk.region().is_none() {
        return Err(Error::Input(
            "no AWS region: pass --region, set AWS_REGION, or name the queue by URL or ARN".into(),
        ));
    }
    // One connector (TLS set up once, one pool) for the SDK's calls and ours.
    let connector = mc_aws_common::lean::https_connector(sdk.sleep_impl());
    let shared = connector.shared();
    let sdk = sdk
        .into_builder()
        .http_client(http_client_fn(move |_, _| shared.clone()))
        .build();
    let client = aws_sdk_sqs::Client::new(&sdk);
    let backoff = Backoff {
        max_attempts,
        ..Backoff::default()
    };
    let throttle = Throttle::new(concurrency, None, backoff);
    let queue = queue::resolve(&client, &throttle, queue).await?;
    Ok(Connection {
        sdk,
        client,
        connector,
        throttle,
        queue,
    })
}
