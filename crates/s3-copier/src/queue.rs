//! The SQS side of `worker`, `lag` and published ranges: a client in the
//! queue's region, the queue's ARN (what pre-flight compares the
//! destination's notifications with), its depth, its redrive policy, and
//! (`sync --publish-ranges --create-queue`) a queue with its dead-letter queue.

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

/// The last segment of a queue URL: the queue's name.
pub fn queue_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

/// A queue's redrive policy: where a message goes after `max_receive_count` receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub dead_letter_arn: String,
    pub max_receive_count: u32,
}

impl Redrive {
    /// Reads the `RedrivePolicy` attribute (maxReceiveCount as a number or a string).
    pub fn parse(text: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let count = &v["maxReceiveCount"];
        let max_receive_count = count
            .as_u64()
            .or_else(|| count.as_str().and_then(|s| s.parse().ok()))?;
        Some(Self {
            dead_letter_arn: v["deadLetterTargetArn"].as_str()?.to_string(),
            max_receive_count: u32::try_from(max_receive_count).ok()?,
        })
    }

    fn to_attribute(&self) -> String {
        serde_json::json!({
            "deadLetterTargetArn": self.dead_letter_arn,
            "maxReceiveCount": self.max_receive_count.to_string(),
        })
        .to_string()
    }
}

/// The queue's redrive policy, if it has one (also checks the queue exists).
pub async fn redrive(
    sqs: &aws_sdk_sqs::Client,
    throttle: &Arc<Throttle>,
    queue: &str,
) -> Result<Option<Redrive>, ToolError> {
    let a = attributes(sqs, throttle, queue, &[QueueAttributeName::RedrivePolicy]).await?;
    Ok(a.get(&QueueAttributeName::RedrivePolicy)
        .and_then(|p| Redrive::parse(p)))
}

/// The URL of the queue with ARN `arn` (`arn:aws:sqs:REGION:ACCOUNT:NAME`).
pub async fn url_of(
    sqs: &aws_sdk_sqs::Client,
    throttle: &Arc<Throttle>,
    arn: &str,
) -> Result<String, ToolError> {
    let fields: Vec<&str> = arn.split(':').collect();
    let (account, name) = match fields.as_slice() {
        [.., account, name] => (*account, *name),
        _ => ("", arn),
    };
    let out = throttle
        .call(|| {
            sqs.get_queue_url()
                .queue_name(name)
                .queue_owner_aws_account_id(account)
                .send()
        })
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("queue {arn}")))?;
    Ok(out.queue_url.unwrap_or_default())
}

/// How long SQS keeps a message at most (14 days): ranges and dead letters
/// wait for workers that long.
const RETENTION_SECONDS: &str = "1209600";

/// Creates the queue at `url` (by its name) with a dead-letter queue
/// `NAME-dlq` after `max_receive_count` receives; both keep messages 14
/// days. CreateQueue is idempotent: queues that exist with these settings
/// are kept. Returns the dead-letter queue's URL.
pub async fn create_with_dlq(
    sqs: &aws_sdk_sqs::Client,
    throttle: &Arc<Throttle>,
    url: &str,
    max_receive_count: u32,
) -> Result<String, ToolError> {
    let name = queue_name(url);
    if name.ends_with(".fifo") {
        return Err(ToolError::Invalid {
            what: format!("queue {url}"),
            message: "a FIFO queue; published ranges need a standard queue".into(),
        });
    }
    let dlq = create(sqs, throttle, &format!("{name}-dlq"), Vec::new()).await?;
    let redrive = Redrive {
        dead_letter_arn: arn(sqs, throttle, &dlq).await?,
        max_receive_count,
    };
    let attrs = vec![(QueueAttributeName::RedrivePolicy, redrive.to_attribute())];
    create(sqs, throttle, name, attrs).await?;
    Ok(dlq)
}

async fn create(
    sqs: &aws_sdk_sqs::Client,
    throttle: &Arc<Throttle>,
    name: &str,
    mut attrs: Vec<(QueueAttributeName, String)>,
) -> Result<String, ToolError> {
    attrs.push((
        QueueAttributeName::MessageRetentionPeriod,
        RETENTION_SECONDS.into(),
    ));
    let attrs: std::collections::HashMap<_, _> = attrs.into_iter().collect();
    let out = throttle
        .call(|| {
            sqs.create_queue()
                .queue_name(name)
                .set_attributes(Some(attrs.clone()))
                .send()
        })
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("creating queue {name}")))?;
    tracing::info!("queue {name}: created (or already there with these settings)");
    Ok(out.queue_url.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redrive_policies_and_names() {
        let r = Redrive::parse(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:1:q-dlq","maxReceiveCount":"5"}"#,
        )
        .unwrap();
        assert_eq!(r.max_receive_count, 5);
        assert_eq!(Redrive::parse(&r.to_attribute()), Some(r.clone()));
        assert_eq!(
            Redrive::parse(r#"{"deadLetterTargetArn":"a","maxReceiveCount":3}"#)
                .map(|r| r.max_receive_count),
            Some(3)
        );
        assert_eq!(Redrive::parse("{}"), None);
        assert_eq!(
            queue_name("http://127.0.0.1:4566/000000000000/ranges"),
            "ranges"
        );
    }

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
