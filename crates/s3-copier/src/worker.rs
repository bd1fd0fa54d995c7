//! `worker --queue URL`: live replication from S3 event notifications
//! delivered to SQS.
//!
//! Long polling; up to `--messages` messages handled at once; while a
//! message is being handled its visibility timeout is extended (a heartbeat
//! of ChangeMessageVisibility every half timeout), so a 5 GiB multipart copy
//! is not handed to another worker halfway. A message is deleted only after
//! every record in it was handled; otherwise it comes back after the
//! timeout and, after the queue's maxReceiveCount, goes to its dead-letter
//! queue. Any number of workers can share a queue.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::Message;
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::config;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::exit;
use mc_aws_common::output::{Format, Kinded, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::cli::WorkerArgs;
use crate::copy::Copier;
use crate::events::{self, Sequencers};
use crate::lambda::{handle_records, EventSummary};
use crate::preflight;
use mc_aws_common::interrupt::{Interrupt, GRACE};

/// Totals of a worker's run, printed when it stops.
#[derive(Debug, Default, Serialize)]
pub struct WorkerReport {
    pub messages: u64,
    pub deleted_messages: u64,
    pub failed_messages: u64,
    pub records: u64,
    pub copied: u64,
    pub acl_applied: u64,
    pub deleted: u64,
    pub ignored: u64,
    pub stale: u64,
    pub gone: u64,
}

impl WorkerReport {
    fn add(&mut self, s: &EventSummary) {
        self.records += s.records as u64;
        self.copied += s.copied as u64;
        self.acl_applied += s.acl_applied as u64;
        self.deleted += s.deleted as u64;
        self.ignored += s.ignored as u64;
        self.stale += s.stale as u64;
        self.gone += s.gone as u64;
    }
}

struct Ctx {
    sqs: aws_sdk_sqs::Client,
    queue: String,
    copier: Copier,
    throttle: Arc<Throttle>,
    visibility: u32,
    propagate_deletes: bool,
    seq: Mutex<Sequencers>,
    report: Mutex<WorkerReport>,
}

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

impl Ctx {
    async fn handle(self: Arc<Self>, msg: Message) {
        let Some(receipt) = msg.receipt_handle().map(str::to_string) else {
            return;
        };
        let id = msg.message_id().unwrap_or("?").to_string();
        let heartbeat = tokio::spawn(self.clone().heartbeat(receipt.clone()));
        let result = match events::parse(msg.body().unwrap_or("")) {
            Ok(records) => handle_records(&self.copier, records, self.propagate_deletes, &self.seq)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        heartbeat.abort();
        let ok = match result {
            Ok(summary) => {
                self.lock_report().add(&summary);
                true
            }
            Err(e) => {
                tracing::warn!("message {id}: {e}; left on the queue for redelivery");
                false
            }
        };
        self.lock_report().messages += 1;
        if !ok {
            self.lock_report().failed_messages += 1;
            return;
        }
        let deleted = self
            .throttle
            .call(|| {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue)
                    .receipt_handle(&receipt)
                    .send()
            })
            .await;
        match deleted {
            Ok(_) => self.lock_report().deleted_messages += 1,
            Err(e) => tracing::warn!(
                "message {id}: handled, but could not be deleted (it will be handled again, harmlessly): {}",
                describe_sdk_error(&e, "queue")
            ),
        }
    }

    fn lock_report(&self) -> std::sync::MutexGuard<'_, WorkerReport> {
        self.report.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Extends the message's visibility every half timeout while it is handled.
    async fn heartbeat(self: Arc<Self>, receipt: String) {
        let every = Duration::from_secs(u64::from(self.visibility / 2).max(1));
        loop {
            tokio::time::sleep(every).await;
            let r = self
                .throttle
                .call(|| {
                    self.sqs
                        .change_message_visibility()
                        .queue_url(&self.queue)
                        .receipt_handle(&receipt)
                        .visibility_timeout(self.visibility as i32)
                        .send()
                })
                .await;
            if let Err(e) = r {
                tracing::warn!(
                    "could not extend a message's visibility: {}",
                    describe_sdk_error(&e, "queue")
                );
            }
        }
    }
}

/// Runs the worker until SIGINT/SIGTERM (or `--exit-when-idle`).
pub async fn run(
    args: &WorkerArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
) -> Result<i32, ToolError> {
    let opts = args
        .copy
        .options(aws.endpoint_url.is_some())
        .map_err(|m| ToolError::Invalid {
            what: "worker".into(),
            message: m,
        })?;
    let throttle = Throttle::from_args(&args.throttle);
    let acl_reads = args.acl_reads.throttle(&args.throttle, &throttle);
    let (copier, _) =
        preflight::copier(aws, &args.endpoints, opts, (&throttle, &acl_reads), None).await?;
    // The queue usually lives with the source bucket: use the source identity, in the queue's region.
    let sides = &args.endpoints.sides;
    let mut sqs_args = aws.clone();
    if sqs_args.endpoint_url.is_none() {
        if let Some(r) = queue_region(&args.queue) {
            sqs_args.region = Some(r);
        }
    }
    let conf = config::load(
        &sqs_args,
        sides.source_profile.as_deref(),
        sides.source_role_arn.as_deref(),
    )
    .await?;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    throttle
        .call(|| {
            sqs.get_queue_attributes()
                .queue_url(&args.queue)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
        })
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("queue {}", args.queue)))?;
    let ctx = Arc::new(Ctx {
        sqs,
        queue: args.queue.clone(),
        copier,
        throttle: throttle.clone(),
        visibility: args.visibility_timeout,
        propagate_deletes: args.propagate_deletes,
        seq: Mutex::new(Sequencers::default()),
        report: Mutex::new(WorkerReport::default()),
    });
    tracing::info!("worker: polling {}", args.queue);
    let slots = Arc::new(Semaphore::new(args.messages as usize));
    let mut last_message = Instant::now();
    let signal = stop.wait();
    tokio::pin!(signal);
    let mut stopped_by_signal = false;
    loop {
        // Receive only as many as there are free slots (at most 10 per call).
        let free = slots.available_permits().min(10);
        if free == 0 {
            tokio::select! {
                _ = &mut signal => { stopped_by_signal = true; break; }
                p = slots.clone().acquire_owned() => { drop(p); continue; }
            }
        }
        let idle = slots.available_permits() == args.messages as usize;
        if let Some(limit) = args.exit_when_idle {
            if idle && last_message.elapsed() >= Duration::from_secs(limit) {
                break;
            }
        }
        let wait = match args.exit_when_idle {
            Some(limit) => limit.clamp(1, 20) as i32,
            None => 20,
        };
        let receive = throttle.call(|| {
            ctx.sqs
                .receive_message()
                .queue_url(&args.queue)
                .max_number_of_messages(free as i32)
                .wait_time_seconds(wait)
                .visibility_timeout(args.visibility_timeout as i32)
                .send()
        });
        let got = tokio::select! {
            _ = &mut signal => { stopped_by_signal = true; break; }
            r = receive => r.map_err(|e| describe_sdk_error(&e, &format!("queue {}", args.queue)))?,
        };
        for msg in got.messages.unwrap_or_default() {
            last_message = Instant::now();
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let ctx = ctx.clone();
            tokio::spawn(async move {
                ctx.handle(msg).await;
                drop(permit);
            });
        }
    }
    if stopped_by_signal {
        tracing::warn!(
            "stopping: finishing the messages in flight (at most {}s)",
            GRACE.as_secs()
        );
        // Messages still in flight after the grace period are not deleted:
        // they come back after their visibility timeout.
        let all = tokio::time::timeout(GRACE, slots.acquire_many(args.messages)).await;
        if all.is_err() {
            let left = args.messages as usize - slots.available_permits();
            tracing::warn!(
                "{left} messages still in flight after {}s: left on the queue for redelivery",
                GRACE.as_secs()
            );
        }
    } else {
        // Wait for every message in flight.
        let _all = slots.acquire_many(args.messages).await;
    }
    let report = std::mem::take(&mut *ctx.lock_report());
    let mut p = Printer::new();
    let _ = match out.output {
        Format::Json => p.json(&Kinded {
            kind: "summary",
            value: &report,
        }),
        Format::Human => p.line(format!(
            "messages {} ({} failed, left for redelivery); copied {}, ACLs applied {}, deleted {}, stale {}, gone {}, ignored {}",
            report.messages,
            report.failed_messages,
            report.copied,
            report.acl_applied,
            report.deleted,
            report.stale,
            report.gone,
            report.ignored
        )),
    };
    let _ = p.flush();
    Ok(if stopped_by_signal {
        exit::INTERRUPTED
    } else if report.failed_messages > 0 {
        exit::PARTIAL_FAILURE
    } else {
        exit::SUCCESS
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
