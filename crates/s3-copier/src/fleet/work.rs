//! A worker's range: checked against the worker's own source and
//! destination, skipped when the progress record already acknowledges it,
//! else run as the `sync` pass over exactly that range
//! ([`crate::sync::range_pass`]) and acknowledged in the progress record;
//! a failure at the last attempt before the dead-letter queue is recorded
//! there too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mc_aws_common::checkpoint::RunId;
use mc_aws_common::cli::{AwsArgs, ThrottleArgs};
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::{OutputArgs, Printer};
use mc_aws_common::retry::Throttle;
use mc_aws_common::s3url::S3Url;
use mc_aws_common::statefile;

use super::message::RangeMessage;
use super::progress::{Mark, RangeRecord, Store};
use crate::copy::Copier;
use crate::report::SyncReport;
use crate::sync::{self, chunk::Job};

/// What every range a worker takes shares.
pub struct Ranges {
    pub copier: Arc<Copier>,
    pub throttles: (Arc<Throttle>, Arc<Throttle>),
    pub throttle_args: ThrottleArgs,
    pub aws: AwsArgs,
    pub out: OutputArgs,
    pub stop: Interrupt,
    /// A store per progress folder seen (one per run, usually one).
    pub stores: tokio::sync::Mutex<HashMap<String, Arc<Store>>>,
}

impl Ranges {
    /// Works on one range; `Ok(copied)` when its message may be deleted,
    /// else why not (the message comes back after its visibility timeout,
    /// and after the queue's maxReceiveCount goes to its dead-letter queue,
    /// which the last attempt records).
    pub async fn handle(&self, m: &RangeMessage, attempt: u32) -> Result<u64, String> {
        let store = self.store(&m.progress).await.map_err(|e| e.to_string())?;
        let why = match self.work(m, &store, attempt).await {
            Ok(copied) => return Ok(copied),
            Err(why) => format!("{}: {why}", m.describe()),
        };
        if m.max_receive_count.is_some_and(|max| attempt >= max) {
            let last = record(m, attempt, serde_json::Value::String(why.clone()));
            if let Err(e) = store.mark(Mark::Dead, &last).await {
                tracing::warn!("{}: not recorded as dead-lettered: {e}", m.describe());
            }
        }
        Err(why)
    }

    /// The range, unless done already, then its acknowledgement.
    async fn work(&self, m: &RangeMessage, store: &Store, attempt: u32) -> Result<u64, String> {
        self.check(m)?;
        if store.is_done(m.index).await.map_err(|e| e.to_string())? {
            tracing::info!("{}: acknowledged already; message deleted", m.describe());
            return Ok(0);
        }
        let (report, outcome) = self.pass(m).await?;
        match outcome {
            Ok(true) => {}
            Ok(false) => return Err(failed_because(&report)),
            Err(e) => return Err(e.to_string()),
        }
        let counts = serde_json::to_value(&report.counts).unwrap_or_default();
        store
            .mark(Mark::Done, &record(m, attempt, counts))
            .await
            .map_err(|e| format!("copied, but not acknowledged: {e}"))?;
        tracing::info!("{}: done ({} copied)", m.describe(), report.counts.copied);
        Ok(report.counts.copied)
    }

    /// A range of another migration is not this worker's to copy.
    fn check(&self, m: &RangeMessage) -> Result<(), String> {
        let f = &self.copier.folders;
        let (src, dst) = (f.source.to_string(), f.dest.to_string());
        if m.source != src || m.dest != dst {
            return Err(format!(
                "of {} -> {}, this worker copies {src} -> {dst}",
                m.source, m.dest
            ));
        }
        Ok(())
    }

    async fn store(&self, progress: &str) -> Result<Arc<Store>, mc_aws_common::error::ToolError> {
        let mut stores = self.stores.lock().await;
        if let Some(s) = stores.get(progress) {
            return Ok(s.clone());
        }
        let folder = S3Url::parse_folder(progress).map_err(|m| {
            mc_aws_common::error::ToolError::Invalid {
                what: "the range's progress location".into(),
                message: m,
            }
        })?;
        let store = Arc::new(Store::connect(&self.aws, folder, &self.throttles.0).await?);
        stores.insert(progress.to_string(), store.clone());
        Ok(store)
    }

    /// The `sync` pass over the range, with the run's options.
    async fn pass(
        &self,
        m: &RangeMessage,
    ) -> Result<(SyncReport, Result<bool, mc_aws_common::error::ToolError>), String> {
        let filter = m.filter()?;
        let concurrency = self.throttle_args.concurrency as usize;
        let job = Arc::new(Job {
            copier: self.copier.clone(),
            size_only: m.size_only,
            filter,
            delete: false,
            recheck_deletes: false,
            dry_run: false,
            dry_run_reads_acls: false,
            concurrency,
            actions: tokio::sync::Semaphore::new(concurrency),
            format: self.out.output,
            printer: Mutex::new(Printer::new()),
            stop: self.stop.clone(),
            manifest: None,
        });
        let run = RunId::new("s3-copier worker range", &m.source, &m.dest);
        let throttles = (self.throttles.0.clone(), self.throttles.1.clone());
        let range = m.range();
        Ok(sync::range_pass(job, throttles, run, &range, &self.throttle_args, &self.out).await)
    }
}

/// Why a pass did not finish its range.
fn failed_because(report: &SyncReport) -> String {
    match report.failures.first() {
        Some(f) => format!(
            "{} objects failed (first: {}: {})",
            report.counts.failed, f.key, f.reason
        ),
        None => "stopped before the range was finished".into(),
    }
}

fn record(m: &RangeMessage, attempt: u32, outcome: serde_json::Value) -> RangeRecord {
    RangeRecord {
        run: m.run.clone(),
        index: m.index,
        at: statefile::rfc3339(std::time::SystemTime::now()),
        worker: worker_name(),
        attempt,
        outcome,
    }
}

/// This worker, for the records: host and process id.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host} pid {}", std::process::id())
}
