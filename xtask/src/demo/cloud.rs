//! The AWS side of the set-up, done with the SDK against the emulator: the
//! buckets, the event queue and the notification wiring, and the queue depth
//! the switch-over waits on.

use anyhow::{anyhow, Context, Result};
use mc_testkit::aws_sdk_s3::error::DisplayErrorContext;
use mc_testkit::aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use mc_testkit::aws_sdk_sqs::types::QueueAttributeName;

/// An SDK error with the service's code and message (the plain Display is
/// only "service error").
pub(crate) fn sdk_error<E: std::error::Error + 'static>(e: E) -> anyhow::Error {
    anyhow!("{}", DisplayErrorContext(e))
}

/// A bucket in which object ACLs work (ObjectWriter, Block Public Access off),
/// as the application's bucket was before ACLs were disabled by default.
pub(crate) async fn create_bucket(s3: &mc_testkit::aws_sdk_s3::Client, name: &str) {
    mc_testkit::create_bucket_with_acls(s3, name).await;
}

/// Create `queue_name` and send the bucket's `s3:ObjectCreated:*` events to
/// it; returns the queue URL.
///
/// Only ObjectCreated, as in the original migration: there was no event for
/// an ACL change then, which is why the ACLs drifted. (S3 now has
/// `s3:ObjectAcl:Put`, which `s3-copier worker` also handles.)
pub(crate) async fn wire_events(
    s3: &mc_testkit::aws_sdk_s3::Client,
    sqs: &mc_testkit::aws_sdk_sqs::Client,
    bucket: &str,
    queue_name: &str,
) -> Result<String> {
    let url = sqs
        .create_queue()
        .queue_name(queue_name)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("CreateQueue {queue_name}"))?
        .queue_url
        .ok_or_else(|| anyhow!("CreateQueue {queue_name} returned no QueueUrl"))?;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("GetQueueAttributes {url}"))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| anyhow!("GetQueueAttributes {url} returned no QueueArn"))?;
    let rule = QueueConfiguration::builder()
        .id("replicate-to-new-bucket")
        .queue_arn(arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .build()
        .context("queue configuration")?;
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(rule)
                .build(),
        )
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("PutBucketNotificationConfiguration {bucket}"))?;
    Ok(url)
}

/// Messages waiting in the queue and messages being handled (received, not
/// yet deleted).
pub(crate) async fn queue_depth(
    sqs: &mc_testkit::aws_sdk_sqs::Client,
    url: &str,
) -> Result<(u64, u64)> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("GetQueueAttributes {url}"))?
        .attributes
        .unwrap_or_default();
    let get = |name: QueueAttributeName| -> Result<u64> {
        let value = attrs
            .get(&name)
            .ok_or_else(|| anyhow!("GetQueueAttributes {url} returned no {name}"))?;
        value
            .parse()
            .with_context(|| format!("GetQueueAttributes {url}: {name} = {value:?}"))
    };
    Ok((
        get(QueueAttributeName::ApproximateNumberOfMessages)?,
        get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?,
    ))
}
