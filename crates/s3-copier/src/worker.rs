//! `worker --queue URL`: live replication from S3 event notifications
//! delivered to SQS.
//!
//! Long polling; up to `--messages` messages handled at once; while a
//! message is being handled its visibility timeout is extended (a heartbeat
//! of ChangeMessageVisibility every half timeout), so a 5 GiB multipart copy
//! is not handed to another worker halfway. A message is deleted only after
//! every record in it was handled; otherwise it comes back after the
//! timeout and, after the queue's maxReceiveCount, goes to its dead-letter
//! queue. Any number of workers can share a queue. With `--lag-state`, the
//! age of each message handled goes to a state file for `s3-copier lag`
//! ([`crate::lag_state`]). A message published by `sync --publish-ranges`
//! is a range, run as a `sync` pass and acknowledged ([`crate::fleet::work`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::exit;
use mc_aws_common::interrupt::{Interrupt, GRACE};
use mc_aws_common::output::{Format, Kinded, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;
use mc_aws_common::statefile;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::cli::WorkerArgs;
use crate::copy::Copier;
use crate::events::{self, Sequencers};
use crate::fleet::message::{self as range_message, RangeMessage};
use crate::fleet::work::Ranges;
use crate::lag_state::{self, Recorder};
use crate::lambda::{handle_records, EventSummary};
use crate::preflight;
use crate::queue;

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
    /// Published ranges finished and acknowledged.
    pub ranges: u64,
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

/// A queue the worker reads (`--queue`, repeatable), with a client in its region.
struct Queue {
    url: String,
    sqs: aws_sdk_sqs::Client,
}

struct Ctx {
    queues: Vec<Queue>,
    copier: Arc<Copier>,
    throttle: Arc<Throttle>,
    /// Published ranges (`sync --publish-ranges`), on any of the queues.
    ranges: Ranges,
    visibility: u32,
    propagate_deletes: bool,
    seq: Mutex<Sequencers>,
    report: Mutex<WorkerReport>,
    /// `--lag-state`: the age of each message handled.
    lag: Option<Mutex<Recorder>>,
}

impl Ctx {
    /// Handles a message of queue `q`.
    async fn handle(self: Arc<Self>, q: usize, msg: Message) {
        let Some(receipt) = msg.receipt_handle().map(str::to_string) else {
            return;
        };
        let id = msg.message_id().unwrap_or("?").to_string();
        let heartbeat = tokio::spawn(self.clone().heartbeat(q, receipt.clone()));
        let body = msg.body().unwrap_or("");
        let range = range_message::parse(body);
        // A range's age says when it was published, not how far replication lags.
        let is_event = range.is_none();
        let result = match range {
            Some(range) => self.range(range, &msg).await,
            None => match events::parse(body) {
                Ok(records) => {
                    handle_records(&*self.copier, records, self.propagate_deletes, &self.seq)
                        .await
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            },
        };
        heartbeat.abort();
        if is_event {
            self.record_age(&msg, result.is_ok());
        }
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
        let queue = &self.queues[q];
        let deleted = self
            .throttle
            .call(|| {
                queue
                    .sqs
                    .delete_message()
                    .queue_url(&queue.url)
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

    /// A published range: what it came to, counted as one copy summary.
    async fn range(
        &self,
        range: Result<RangeMessage, String>,
        msg: &Message,
    ) -> Result<EventSummary, String> {
        let attempt = msg
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let copied = self.ranges.handle(&range?, attempt).await?;
        let mut report = self.lock_report();
        report.ranges += 1;
        report.copied += copied;
        Ok(EventSummary::default())
    }

    fn lock_report(&self) -> std::sync::MutexGuard<'_, WorkerReport> {
        self.report.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes how long after S3 sent `msg` it was handled (`--lag-state`).
    fn record_age(&self, msg: &Message, ok: bool) {
        let Some(lag) = &self.lag else { return };
        let sent = msg
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
            .and_then(|t| lag_state::sent_at(t));
        if let Some(sent) = sent {
            let mut r = lag.lock().unwrap_or_else(|e| e.into_inner());
            r.record(sent, SystemTime::now(), ok);
        }
    }

    /// Writes the `--lag-state` file; an error is logged, the worker goes on.
    async fn write_lag(self: &Arc<Self>, path: &Path) -> Result<(), ToolError> {
        let Some(lag) = &self.lag else { return Ok(()) };
        let file = lag
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .snapshot(SystemTime::now());
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || statefile::save_json(&path, &file))
            .await
            .map_err(|e| ToolError::Other(e.to_string()))?
    }

    /// Extends the message's visibility every half timeout while it is handled.
    async fn heartbeat(self: Arc<Self>, q: usize, receipt: String) {
        let every = Duration::from_secs(u64::from(self.visibility / 2).max(1));
        let queue = &self.queues[q];
        loop {
            tokio::time::sleep(every).await;
            let r = self
                .throttle
                .call(|| {
                    queue
                        .sqs
                        .change_message_visibility()
                        .queue_url(&queue.url)
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
    let ctx = connect(args, aws, out, stop.clone()).await?;
    if let Some(path) = &args.lag_state {
        // One that cannot be written is found now, not by the check later.
        ctx.write_lag(path).await.map_err(|e| ToolError::Invalid {
            what: "--lag-state".into(),
            message: e.to_string(),
        })?;
    }
    let lag_writer = args
        .lag_state
        .clone()
        .map(|path| tokio::spawn(write_lag_every(ctx.clone(), path)));
    tracing::info!("worker: polling {}", args.queue.join(", "));
    // Messages are handled on this thread's local set (see `poll`).
    let stopped = tokio::task::LocalSet::new()
        .run_until(poll(&ctx, args, stop))
        .await?;
    if let Some(w) = lag_writer {
        w.abort();
    }
    if let Some(path) = &args.lag_state {
        if let Err(e) = ctx.write_lag(path).await {
            tracing::warn!("--lag-state: {e}");
        }
    }
    let report = std::mem::take(&mut *ctx.lock_report());
    print_report(&report, out.output);
    Ok(if stopped {
        exit::INTERRUPTED
    } else if report.failed_messages > 0 {
        exit::PARTIAL_FAILURE
    } else {
        exit::SUCCESS
    })
}

/// Checks the queue (its ARN: pre-flight refuses a destination that
/// notifies it), then both buckets, and builds the worker's context.
async fn connect(
    args: &WorkerArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
) -> Result<Arc<Ctx>, ToolError> {
    let mut opts =
        args.copy
            .options(aws.endpoint_url.is_some())
            .map_err(|m| ToolError::Invalid {
                what: "worker".into(),
                message: m,
            })?;
    let throttle = Throttle::from_args(&args.throttle);
    // The queue usually lives with the source bucket: the source identity, in the queue's region.
    let sides = &args.endpoints.sides;
    let (profile, role) = (
        sides.source_profile.as_deref(),
        sides.source_role_arn.as_deref(),
    );
    let mut queues = Vec::new();
    for url in &args.queue {
        let sqs = queue::client(aws, url, profile, role).await?;
        opts.notifications
            .own_queues
            .push(queue::arn(&sqs, &throttle, url).await?);
        queues.push(Queue {
            url: url.clone(),
            sqs,
        });
    }
    opts.notifications.deletes = args.propagate_deletes;
    let acl_reads = args.acl_reads.throttle(&args.throttle, &throttle);
    let (copier, _) =
        preflight::copier(aws, &args.endpoints, opts, (&throttle, &acl_reads), None).await?;
    let copier = Arc::new(copier);
    let ranges = Ranges {
        copier: copier.clone(),
        throttles: (throttle.clone(), acl_reads.clone()),
        throttle_args: args.throttle.clone(),
        aws: aws.clone(),
        out: out.clone(),
        stop,
        stores: Default::default(),
    };
    // The events' queue: the first (published ranges say nothing of lag).
    let lag = args
        .lag_state
        .as_ref()
        .map(|_| Mutex::new(Recorder::new(&args.queue[0], SystemTime::now())));
    Ok(Arc::new(Ctx {
        queues,
        copier,
        throttle,
        ranges,
        visibility: args.visibility_timeout,
        propagate_deletes: args.propagate_deletes,
        seq: Mutex::new(Sequencers::default()),
        report: Mutex::new(WorkerReport::default()),
        lag,
    }))
}

async fn write_lag_every(ctx: Arc<Ctx>, path: PathBuf) {
    let mut tick = tokio::time::interval(lag_state::WRITE_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = ctx.write_lag(&path).await {
            tracing::warn!("--lag-state: {e}");
        }
    }
}

/// Receives and hands out messages of every queue until a signal (`true`)
/// or `--exit-when-idle` (`false`), then waits for those in flight.
async fn poll(ctx: &Arc<Ctx>, args: &WorkerArgs, stop: Interrupt) -> Result<bool, ToolError> {
    let slots = Arc::new(Semaphore::new(args.messages as usize));
    let loops = (0..ctx.queues.len()).map(|q| receive(ctx, q, args, &slots, stop.clone()));
    let stopped = futures::future::try_join_all(loops).await?;
    let stopped_by_signal = stopped.contains(&true);
    drain(&slots, args.messages, stopped_by_signal).await;
    Ok(stopped_by_signal)
}

/// Receives the messages of queue `q` while there are free slots (shared
/// by every queue), until a signal (`true`) or `--exit-when-idle` (`false`).
async fn receive(
    ctx: &Arc<Ctx>,
    q: usize,
    args: &WorkerArgs,
    slots: &Arc<Semaphore>,
    stop: Interrupt,
) -> Result<bool, ToolError> {
    let queue = &ctx.queues[q];
    let mut last_message = Instant::now();
    let signal = stop.wait();
    tokio::pin!(signal);
    loop {
        // Receive only as many as there are free slots (at most 10 per call).
        let free = slots.available_permits().min(10);
        if free == 0 {
            tokio::select! {
                _ = &mut signal => return Ok(true),
                p = slots.clone().acquire_owned() => { drop(p); continue; }
            }
        }
        let idle = slots.available_permits() == args.messages as usize;
        if let Some(limit) = args.exit_when_idle {
            if idle && last_message.elapsed() >= Duration::from_secs(limit) {
                return Ok(false);
            }
        }
        let wait = match args.exit_when_idle {
            Some(limit) => limit.clamp(1, 20) as i32,
            None => 20,
        };
        let receive = ctx.throttle.call(|| {
            queue
                .sqs
                .receive_message()
                .queue_url(&queue.url)
                .max_number_of_messages(free as i32)
                .wait_time_seconds(wait)
                .visibility_timeout(args.visibility_timeout as i32)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
        });
        let got = tokio::select! {
            _ = &mut signal => return Ok(true),
            r = receive => r.map_err(|e| describe_sdk_error(&e, &format!("queue {}", queue.url)))?,
        };
        for msg in got.messages.unwrap_or_default() {
            last_message = Instant::now();
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let ctx = ctx.clone();
            // Local: a range runs `sync`'s pass, whose futures the compiler
            // cannot prove `Send` (the runtime has one thread anyway).
            tokio::task::spawn_local(async move {
                ctx.handle(q, msg).await;
                drop(permit);
            });
        }
    }
}

/// Waits for the messages in flight: all of them, or after a signal at most
/// the grace period (those not finished are not deleted: they come back
/// after their visibility timeout).
async fn drain(slots: &Semaphore, messages: u32, stopped_by_signal: bool) {
    if !stopped_by_signal {
        let _all = slots.acquire_many(messages).await;
        return;
    }
    tracing::warn!(
        "stopping: finishing the messages in flight (at most {}s)",
        GRACE.as_secs()
    );
    let all = tokio::time::timeout(GRACE, slots.acquire_many(messages)).await;
    if all.is_err() {
        let left = messages as usize - slots.available_permits();
        tracing::warn!(
            "{left} messages still in flight after {}s: left on the queue for redelivery",
            GRACE.as_secs()
        );
    }
}

fn print_report(report: &WorkerReport, format: Format) {
    let mut p = Printer::new();
    let _ = match format {
        Format::Json => p.json(&Kinded {
            kind: "summary",
            value: report,
        }),
        Format::Human => {
            // Only when there were some: the line of an events-only worker is unchanged.
            let ranges = match report.ranges {
                0 => String::new(),
                n => format!("ranges {n}; "),
            };
            p.line(format!(
                "messages {} ({} failed, left for redelivery); {ranges}copied {}, ACLs applied {}, deleted {}, stale {}, gone {}, ignored {}",
                report.messages,
                report.failed_messages,
                report.copied,
                report.acl_applied,
                report.deleted,
                report.stale,
                report.gone,
                report.ignored
            ))
        }
    };
    let _ = p.flush();
}
