//! The SQS side of `worker` and `lag`: a client in the queue's region, the
//! queue's ARN (what pre-flight compares the destination's notifications
//! with), its depth.

use std::sync::Arc;

use aws_sdk_sqs::types::QueueAttributeName;
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::config;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::retry::Throttle;
use serde::Serialize;

/// The region in an SQS queue URL (`https://sqs.eu-west-1.amazonaws.com/...`).
pub fn queue_region(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    let mut parts = host.split('.');
    if parts.next()? != "sqs" {
        return None;
    }
    let region = parts.next()?;
    (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
        .then(|| region.to_string())
}

/// A client for `queue`, in the queue's region (from its URL, unless a
/// custom endpoint is set), with the identity `profile`/`role` (or the
/// default one).
pub async fn client(
    aws: &AwsArgs,
    queue: &str,
    profile: Option<&str>,
    role: Option<&str>,
) -> Result<aws_sdk_sqs::Client, ToolError> {
    let mut args = aws.clone();
    if args.endpoint_url.is_none() {
        if let Some(r) = queue_region(queue) {
            args.region = Some(r);
        }
    }
    let conf = config::load(&args, profile, role).await?;
    Ok(aws_sdk_sqs::Client::new(&conf))
}

/// Messages in the queue, as SQS counts them (approximately).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Depth {
    /// Waiting to be received.
    pub visible: u64,
    /// Received, not yet deleted (being handled, or failed and waiting for
    /// their visibility timeout).
    pub in_flight: u64,
    /// Sent with a delay not yet over.
    pub delayed: u64,
}

/// Reads the queue attributes `names`; also checks the queue exists.
async fn attributes(
    sqs: &aws_sdk_sqs::Client,
    throttle: &Arc<Throttle>,
    queue: &str,
    names: &[QueueAttributeName],
) -> Result<std::collections::HashMap<QueueAttributeName, String>, ToolError> {
    let out = throttle
        .call(|| {
            sqs.get_queue_attributes()
                .queue_url(queue)
                .set_attribute_names(Some(names.to_vec()))
                .send()
        })
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("queue {queue}")))?;
    Ok(out.attributes.unwrap_or_default())
}

/// The queue's ARN.
pub async fn arn(
    sqs: &aws_sdk_sqs::Client,
    throttle: &Arc<Throttle>,
    queue: &str,
) -> Result<String, ToolError> {
    let mut a = attributes(sqs, throttle, queue, &[QueueAttributeName::QueueArn]).await?;
    a.remove(&QueueAttributeName::QueueArn)
        .ok_or_else(|| ToolError::Other(format!("queue {queue}: no QueueArn in its attributes")))
}

/// The queue's depth.
pub async fn depth(
    sqs: &aws_sdk_sqs::Client,
    throttle: &Arc<Throttle>,
    queue: &str,
) -> Result<Depth, ToolError> {
    use QueueAttributeName as N;
    let names = [
        N::ApproximateNumberOfMessages,
        N::ApproximateNumberOfMessagesNotVisible,
        N::ApproximateNumberOfMessagesDelayed,
    ];
    let a = attributes(sqs, throttle, queue, &names).await?;
    let n = |name: &N| a.get(name).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(Depth {
        visible: n(&names[0]),
        in_flight: n(&names[1]),
        delayed: n(&names[2]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_from_queue_url() {
        assert_eq!(
            queue_region("https://sqs.eu-west-1.amazonaws.com/123456789012/q").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(queue_region("http://127.0.0.1:4566/000000000000/q"), None);
        assert_eq!(
            queue_region("https://sqs.cn-north-1.amazonaws.com.cn/1/q").as_deref(),
            Some("cn-north-1")
        );
    }
}
