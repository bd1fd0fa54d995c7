//! The producers: each takes a batch, sends it with SendMessageBatch through
//! the shared [`Throttle`], and resends only the entries SQS failed through
//! no fault of ours, with backoff, until they succeed or run out of attempts.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use mc_aws_common::error::{classify, describe_sdk_error, ErrorClass, ToolError};
use mc_aws_common::retry::{Backoff, Throttle};
use tokio::sync::{mpsc, Mutex};

use crate::control::Control;
use crate::report::Tally;
use crate::source::Pending;

/// Everything a producer needs.
pub struct Sender {
    pub client: Client,
    pub queue_url: String,
    pub queue_name: String,
    pub throttle: Arc<Throttle>,
    /// Backoff and attempts for resending failed entries.
    pub backoff: Backoff,
    /// Attempts per request (for messages).
    pub throttle_attempts: u32,
    pub tally: Arc<Tally>,
    pub ctl: Arc<Control>,
    pub progress: indicatif::ProgressBar,
}

/// Batches shared by all producers.
pub type Batches = Arc<Mutex<mpsc::Receiver<Vec<Pending>>>>;

/// Error codes meaning "this batch is too big": split it and try the halves.
const TOO_LONG: &[&str] = &[
    "AWS.SimpleQueueService.BatchRequestTooLong",
    "BatchRequestTooLong",
];

impl Sender {
    /// One producer: sends batches until there are no more or the run aborts.
    pub async fn run(self: Arc<Self>, batches: Batches) {
        loop {
            let batch = { batches.lock().await.recv().await };
            let Some(batch) = batch else { return };
            if self.ctl.is_aborted() {
                self.tally
                    .unsent
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                continue;
            }
            self.send(batch).await;
        }
    }

    /// Sends one batch, splitting it if SQS finds it too long, and resending
    /// failed entries that were not the sender's fault.
    async fn send(&self, batch: Vec<Pending>) {
        let mut work = vec![(batch, 0u32)];
        while let Some((batch, attempt)) = work.pop() {
            if self.ctl.is_aborted() {
                self.tally
                    .unsent
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                continue;
            }
            if attempt > 0 {
                tokio::time::sleep(self.backoff.delay(attempt)).await;
            }
            // The first attempt takes the entries; only a retried request rebuilds them.
            let entries = |b: &[Pending]| -> Vec<SendMessageBatchRequestEntry> {
                b.iter().map(|p| p.entry.clone()).collect()
            };
            let mut first = Some(entries(&batch));
            let result = self
                .throttle
                .call(|| {
                    let req = self
                        .client
                        .send_message_batch()
                        .queue_url(&self.queue_url)
                        .set_entries(Some(first.take().unwrap_or_else(|| entries(&batch))));
                    async move {
                        let start = Instant::now();
                        let r = req.send().await;
                        self.tally.latency.record(start.elapsed());
                        r
                    }
                })
                .await;
            let out = match result {
                Ok(out) => out,
                Err(err) => {
                    let code = err.code().unwrap_or("");
                    if TOO_LONG.contains(&code) && batch.len() > 1 {
                        tracing::debug!(
                            entries = batch.len(),
                            "batch too long for the service: splitting"
                        );
                        let mut first = batch;
                        let second = first.split_off(first.len() / 2);
                        work.push((second, attempt));
                        work.push((first, attempt));
                        continue;
                    }
                    let n = batch.len() as u64;
                    let what = format!("queue {}", self.queue_name);
                    let class = classify(&err);
                    let described = if class == ErrorClass::Permanent {
                        describe_sdk_error(&err, &what)
                    } else {
                        let detail = describe_sdk_error(&err, &what).to_string();
                        let detail = detail.strip_prefix(&format!("{what}: ")).unwrap_or(&detail);
                        ToolError::Service {
                            what,
                            message: format!(
                                "{detail} (SendMessageBatch, {} attempts)",
                                self.throttle_attempts
                            ),
                        }
                    };
                    let code = if code.is_empty() {
                        "RequestFailed"
                    } else {
                        code
                    };
                    self.tally.fail(n, code, || described.to_string());
                    // A request that fails for good (access denied, queue gone,
                    // retries exhausted) would fail for every other batch too.
                    tracing::debug!(?class, "SendMessageBatch failed: {err:?}");
                    self.ctl.abort(described.into());
                    continue;
                }
            };
            self.tally.batches.fetch_add(1, Ordering::Relaxed);
            let mut done = vec![false; batch.len()];
            let find = |id: &str| batch.iter().position(|p| p.entry.id == id);
            let mut sent = 0u64;
            for ok in out.successful() {
                if let Some(i) = find(ok.id()) {
                    if !done[i] {
                        done[i] = true;
                        sent += 1;
                    }
                }
            }
            self.tally.sent.fetch_add(sent, Ordering::Relaxed);
            self.progress.inc(sent);
            let mut retry = Vec::new();
            let attempts_left = attempt + 1 < self.backoff.max_attempts;
            for f in out.failed() {
                let Some(i) = find(f.id()) else { continue };
                if done[i] {
                    continue;
                }
                done[i] = true;
                let p = &batch[i];
                if f.sender_fault() || !attempts_left {
                    let why = if f.sender_fault() {
                        "rejected"
                    } else {
                        "still failing after retries"
                    };
                    self.tally.fail(1, f.code(), || {
                        format!(
                            "message {}: {why}: {} ({})",
                            p.seq,
                            f.message().unwrap_or(""),
                            f.code()
                        )
                    });
                } else {
                    tracing::debug!(seq = p.seq, code = f.code(), "entry failed, will resend");
                    retry.push(p.clone());
                }
            }
            // An entry in neither list: SQS said nothing about it, so resend it.
            for (i, p) in batch.iter().enumerate() {
                if !done[i] {
                    if attempts_left {
                        retry.push(p.clone());
                    } else {
                        self.tally.fail(1, "NoResult", || {
                            format!("message {}: no result from SQS after retries", p.seq)
                        });
                    }
                }
            }
            if !retry.is_empty() {
                self.tally
                    .retried
                    .fetch_add(retry.len() as u64, Ordering::Relaxed);
                work.push((retry, attempt + 1));
            }
        }
    }
}
