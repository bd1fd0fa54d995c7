//! Naming a queue by name, URL or ARN, and reading what the sender needs to know about it.

use std::sync::Arc;

use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::Client;
use mc_aws_common::error::describe_sdk_error;
use mc_aws_common::lean::EndpointCapture;
use mc_aws_common::retry::Throttle;

use crate::batch::SQS_MAX_BYTES;
use crate::error::Result;

/// How the queue was named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueRef {
    /// `https://sqs.eu-west-1.amazonaws.com/123456789012/jobs`
    Url { url: String, name: String },
    /// `jobs`, or from an ARN `arn:aws:sqs:eu-west-1:123456789012:jobs`.
    Name {
        name: String,
        account: Option<String>,
        region: Option<String>,
    },
}

impl QueueRef {
    pub fn parse(s: &str) -> Self {
        let s = s.trim();
        if s.starts_with("https://") || s.starts_with("http://") {
            let name = s
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string();
            return QueueRef::Url {
                url: s.to_string(),
                name,
            };
        }
        if let Some(rest) = s.strip_prefix("arn:") {
            // arn:PARTITION:sqs:REGION:ACCOUNT:NAME
            let f: Vec<&str> = rest.splitn(5, ':').collect();
            if let [_partition, "sqs", region, account, name] = f.as_slice() {
                return QueueRef::Name {
                    name: (*name).to_string(),
                    account: Some((*account).to_string()).filter(|a| !a.is_empty()),
                    region: Some((*region).to_string()).filter(|r| !r.is_empty()),
                };
            }
        }
        QueueRef::Name {
            name: s.to_string(),
            account: None,
            region: None,
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        match self {
            QueueRef::Url { name, .. } | QueueRef::Name { name, .. } => name,
        }
    }

    /// The region the queue lives in, when the reference says so
    /// (`sqs.REGION.amazonaws.com` URLs, ARNs).
    pub fn region_hint(&self) -> Option<String> {
        match self {
            QueueRef::Name { region, .. } => region.clone(),
            QueueRef::Url { url, .. } => {
                let host = url.split("://").nth(1)?.split('/').next()?;
                let mut labels = host.split('.');
                match (labels.next(), labels.next(), labels.next()) {
                    (Some("sqs"), Some(region), Some("amazonaws")) => Some(region.to_string()),
                    _ => None,
                }
            }
        }
    }

    /// FIFO queues are the ones named `*.fifo`.
    pub fn is_fifo(&self) -> bool {
        self.name().ends_with(".fifo")
    }
}

/// A resolved queue.
#[derive(Debug, Clone)]
pub struct Queue {
    pub url: String,
    pub name: String,
    pub fifo: bool,
}

/// Finds the queue's URL (GetQueueUrl for names and ARNs).
pub async fn resolve(client: &Client, throttle: &Arc<Throttle>, queue: &QueueRef) -> Result<Queue> {
    let url = match queue {
        QueueRef::Url { url, .. } => url.clone(),
        QueueRef::Name { name, account, .. } => {
            let out = throttle
                .call(|| {
                    client
                        .get_queue_url()
                        .queue_name(name)
                        .set_queue_owner_aws_account_id(account.clone())
                        .send()
                })
                .await
                .map_err(|e| describe_sdk_error(&e, &format!("queue {name}")))?;
            out.queue_url().unwrap_or_default().to_string()
        }
    };
    Ok(Queue {
        url,
        name: queue.name().to_string(),
        fifo: queue.is_fifo(),
    })
}

/// The queue's MaximumMessageSize (bytes), capped at [`SQS_MAX_BYTES`].
/// Also proves the queue exists and the credentials work, before anything is
/// sent, and records the endpoint the SDK resolved in `endpoint`.
pub async fn max_message_size(
    client: &Client,
    throttle: &Arc<Throttle>,
    queue: &Queue,
    endpoint: &EndpointCapture,
) -> Result<usize> {
    let out = throttle
        .call(|| {
            client
                .get_queue_attributes()
                .queue_url(&queue.url)
                .attribute_names(QueueAttributeName::MaximumMessageSize)
                .customize()
                .interceptor(endpoint.clone())
                .send()
        })
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("queue {}", queue.name)))?;
    let size = out
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::MaximumMessageSize))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(SQS_MAX_BYTES);
    Ok(size.min(SQS_MAX_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_urls_and_arns() {
        let q = QueueRef::parse("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo");
        assert_eq!(q.name(), "jobs.fifo");
        assert!(q.is_fifo());
        assert_eq!(q.region_hint().as_deref(), Some("eu-west-1"));
        let q = QueueRef::parse("http://127.0.0.1:4566/000000000000/jobs");
        assert_eq!(q.name(), "jobs");
        assert_eq!(q.region_hint(), None);
        let q = QueueRef::parse("arn:aws:sqs:us-east-1:123456789012:jobs");
        assert_eq!(
            q,
            QueueRef::Name {
                name: "jobs".into(),
                account: Some("123456789012".into()),
                region: Some("us-east-1".into())
            }
        );
        let q = QueueRef::parse("jobs");
        assert_eq!(q.name(), "jobs");
        assert!(!q.is_fifo());
    }
}
