//! The producers: each takes a batch, sends it with SendMessageBatch (see
//! [`crate::wire`]) through the shared [`Throttle`], and resends only the
//! entries SQS failed through no fault of ours, with backoff, until they
//! succeed or run out of attempts.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use mc_aws_common::error::{ErrorClass, ToolError};
use mc_aws_common::lean::LeanError;
use mc_aws_common::retry::{Backoff, Classify, Throttle};
use tokio::sync::{mpsc, Mutex};

use crate::batch::BatchEntry;
use crate::control::Control;
use crate::report::Tally;
use crate::wire::{BatchResult, Wire};

/// Everything a producer needs.
pub struct Sender {
    pub wire: Wire,
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
pub type Batches = Arc<Mutex<mpsc::Receiver<Vec<BatchEntry>>>>;

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
    async fn send(&self, batch: Vec<BatchEntry>) {
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
            match self.request(&batch).await {
                Ok(out) => {
                    let retry = self.settle(&batch, &out, attempt);
                    if !retry.is_empty() {
                        work.push((retry, attempt + 1));
                    }
                }
                Err(err) if TOO_LONG.contains(&err.code()) && batch.len() > 1 => {
                    tracing::debug!(
                        entries = batch.len(),
                        "batch too long for the service: splitting"
                    );
                    let mut first = batch;
                    let second = first.split_off(first.len() / 2);
                    work.push((second, attempt));
                    work.push((first, attempt));
                }
                Err(err) => self.fail_for_good(batch.len() as u64, &err),
            }
        }
    }

    /// One SendMessageBatch, through the limiter (which retries the request).
    async fn request(&self, batch: &[BatchEntry]) -> Result<BatchResult, LeanError> {
        self.throttle
            .call(|| async {
                let start = Instant::now();
                let r = self.wire.send(batch).await;
                self.tally.latency.record(start.elapsed());
                r
            })
            .await
    }

    /// A request that fails for good (access denied, queue gone, retries
    /// exhausted) would fail for every other batch too: the run stops.
    fn fail_for_good(&self, entries: u64, err: &LeanError) {
        let what = format!("queue {}", self.queue_name);
        let class = err.class();
        let described = if class == ErrorClass::Permanent {
            err.describe(&what)
        } else {
            let detail = err.describe(&what).to_string();
            let detail = detail.strip_prefix(&format!("{what}: ")).unwrap_or(&detail);
            ToolError::Service {
                what,
                message: format!(
                    "{detail} (SendMessageBatch, {} attempts)",
                    self.throttle_attempts
                ),
            }
        };
        self.tally
            .fail(entries, err.code(), || described.to_string());
        tracing::debug!(?class, "SendMessageBatch failed: {err}");
        self.ctl.abort(described.into());
    }

    /// Counts what SQS accepted and rejected; returns the entries to resend
    /// (failed through no fault of the sender, or not mentioned at all).
    fn settle(&self, batch: &[BatchEntry], out: &BatchResult, attempt: u32) -> Vec<BatchEntry> {
        self.tally.batches.fetch_add(1, Ordering::Relaxed);
        let mut done = vec![false; batch.len()];
        let mut sent = 0u64;
        for &i in &out.successful {
            if !done[i] {
                done[i] = true;
                sent += 1;
            }
        }
        self.tally.sent.fetch_add(sent, Ordering::Relaxed);
        self.progress.inc(sent);
        let mut retry = Vec::new();
        let attempts_left = attempt + 1 < self.backoff.max_attempts;
        for f in &out.failed {
            if done[f.index] {
                continue;
            }
            done[f.index] = true;
            let p = &batch[f.index];
            if f.sender_fault || !attempts_left {
                let why = if f.sender_fault {
                    "rejected"
                } else {
                    "still failing after retries"
                };
                self.tally.fail(1, &f.code, || {
                    format!("message {}: {why}: {} ({})", p.seq, f.message, f.code)
                });
            } else {
                tracing::debug!(seq = p.seq, code = %f.code, "entry failed, will resend");
                retry.push(p.clone());
            }
        }
        for p in batch
            .iter()
            .zip(&done)
            .filter_map(|(p, &d)| (!d).then_some(p))
        {
            if attempts_left {
                retry.push(p.clone());
            } else {
                self.tally.fail(1, "NoResult", || {
                    format!("message {}: no result from SQS after retries", p.seq)
                });
            }
        }
        if !retry.is_empty() {
            self.tally
                .retried
                .fetch_add(retry.len() as u64, Ordering::Relaxed);
        }
        retry
    }
}
