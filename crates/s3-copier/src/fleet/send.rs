//! Sending the ranges: SendMessageBatch, ten messages a request. A request
//! that fails as a whole is retried by the run's throttle; entries SQS
//! lists in `Failed[]` (which no SDK retry resends) are resent here with
//! backoff, and entries it rejects as the sender's fault end the run.

use std::sync::Arc;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::StreamExt;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::retry::{Backoff, Throttle};

/// Entries per SendMessageBatch (SQS's limit).
const PER_BATCH: usize = 10;
/// Batches in flight.
const BATCHES_AT_ONCE: usize = 8;

/// Sends every body (each a message), or after a signal no more batches;
/// returns how many were sent.
pub async fn all(
    sqs: &aws_sdk_sqs::Client,
    throttle: &Arc<Throttle>,
    queue: &str,
    bodies: Vec<String>,
    stop: &Interrupt,
) -> Result<u64, ToolError> {
    let batches: Vec<Vec<(usize, String)>> = bodies
        .into_iter()
        .enumerate()
        .collect::<Vec<_>>()
        .chunks(PER_BATCH)
        .map(<[_]>::to_vec)
        .collect();
    let mut sent = 0;
    let mut results = futures::stream::iter(batches)
        .take_while(|_| std::future::ready(!stop.is_set()))
        .map(|b| batch(sqs, throttle, queue, b))
        .buffer_unordered(BATCHES_AT_ONCE);
    while let Some(r) = results.next().await {
        sent += r?;
    }
    Ok(sent)
}

/// One batch, resending what SQS failed through no fault of ours.
async fn batch(
    sqs: &aws_sdk_sqs::Client,
    throttle: &Arc<Throttle>,
    queue: &str,
    mut pending: Vec<(usize, String)>,
) -> Result<u64, ToolError> {
    let backoff = Backoff::default();
    let mut sent = 0;
    for attempt in 1..=backoff.max_attempts {
        if attempt > 1 {
            tokio::time::sleep(backoff.delay(attempt)).await;
        }
        let entries: Vec<SendMessageBatchRequestEntry> = pending
            .iter()
            .filter_map(|(id, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(id.to_string())
                    .message_body(body)
                    .build()
                    .ok()
            })
            .collect();
        let out = throttle
            .call(|| {
                sqs.send_message_batch()
                    .queue_url(queue)
                    .set_entries(Some(entries.clone()))
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &format!("queue {queue}")))?;
        let ok: Vec<&str> = out.successful().iter().map(|s| s.id()).collect();
        if let Some(f) = out.failed().iter().find(|f| f.sender_fault()) {
            return Err(ToolError::Invalid {
                what: format!("queue {queue}"),
                message: format!(
                    "SQS refused range {}: {} ({})",
                    f.id(),
                    f.message().unwrap_or(""),
                    f.code()
                ),
            });
        }
        sent += ok.len() as u64;
        // Failed through no fault of ours, or not answered at all: again.
        pending.retain(|(id, _)| !ok.contains(&id.to_string().as_str()));
        if pending.is_empty() {
            return Ok(sent);
        }
        tracing::debug!(
            left = pending.len(),
            attempt,
            "SendMessageBatch entries failed; resending"
        );
    }
    Err(ToolError::Service {
        what: format!("queue {queue}"),
        message: format!(
            "{} ranges still failing after {} attempts of SendMessageBatch",
            pending.len(),
            backoff.max_attempts
        ),
    })
}
