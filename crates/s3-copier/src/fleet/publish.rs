//! `sync --publish-ranges QUEUE --progress S3URL`: plan the ranges, check
//! (or create) the queue and both buckets, write the plan to the progress
//! record, send one message per range, report (and with `--wait`, wait).

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::ToolError;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::listing::KeyRange;
use mc_aws_common::output::{Format, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;
use mc_aws_common::twosided::Side;
use mc_aws_common::{exit, statefile, twosided};
use serde::Serialize;

use super::message::{self, RangeMessage};
use super::plan::{self, Cut};
use super::progress::{self, Plan, Store};
use super::{send, status};
use crate::cli::SyncArgs;
use crate::queue;

/// What the publisher did, printed at the end.
#[derive(Debug, Serialize)]
struct Published<'a> {
    kind: &'static str,
    run: &'a str,
    source: &'a str,
    dest: &'a str,
    ranges: usize,
    sent: u64,
    queue: &'a str,
    dead_letter_queue: Option<&'a str>,
    max_receive_count: Option<u32>,
    progress: String,
}

/// Runs `sync --publish-ranges`; returns the exit code.
pub async fn run(
    args: &SyncArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
) -> Result<i32, ToolError> {
    let (mut plan, cut) = plan(args)?;
    let throttle = Throttle::from_args(&args.throttle);
    let (sqs, store, source) = connect(args, aws, &mut plan, &throttle).await?;
    if let Cut::Listed { keys, bytes } = cut {
        let cut = (keys, bytes);
        let ranges = plan::listed(
            &source,
            &args.throttle,
            args.list_page_size,
            cut,
            (out, &stop),
        );
        match ranges.await? {
            Some(r) => plan.ranges = r,
            None => return Ok(exit::INTERRUPTED),
        }
    }
    store.put_plan(&plan).await?;
    let bodies = messages(&plan, &store);
    let sent = send::all(&sqs, &throttle, &plan.queue, bodies, &stop).await?;
    print(&plan, &store, sent, out.output);
    if sent < plan.ranges.len() as u64 {
        tracing::warn!(
            "interrupted: {sent} of {} ranges sent; fleet-status counts the others missing for good: publish again (a new run)",
            plan.ranges.len()
        );
        return Ok(exit::INTERRUPTED);
    }
    if !args.fleet.wait {
        return Ok(exit::SUCCESS);
    }
    status::report(&store, aws, out, Some(WAIT_EVERY), stop).await
}

/// How often `--wait` looks at the progress record.
const WAIT_EVERY: Duration = Duration::from_secs(10);

/// The run's id: when it was published (to the second), and 32 random bits.
fn run_id(now: SystemTime) -> String {
    let stamp: String = statefile::rfc3339(now)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take("20261207T064500".len())
        .collect();
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("{stamp}Z-{:08x}", random as u32)
}

/// The ranges (unless they come from a listing) and everything the
/// messages carry, checked before anything is contacted.
fn plan(args: &SyncArgs) -> Result<(Plan, Cut<'_>), ToolError> {
    let ends = &args.endpoints;
    let folders = ends.folders()?;
    let f = &args.fleet;
    let cut = match (&f.range_splits, f.ranges) {
        (Some(path), _) => Cut::Splits(path),
        (None, Some(n)) => Cut::Even(n),
        (None, None) => Cut::Listed {
            keys: f.range_keys,
            bytes: f.range_bytes,
        },
    };
    let ranges: Vec<KeyRange> = plan::ranges(&folders.source.prefix, &cut)?.unwrap_or_default();
    let now = SystemTime::now();
    let plan = Plan {
        format: progress::FORMAT,
        run: run_id(now),
        created: statefile::rfc3339(now),
        source: ends.source.to_string(),
        dest: ends.dest.to_string(),
        queue: args.fleet.publish_ranges.clone().unwrap_or_default(),
        dead_letter_queue: None,
        max_receive_count: None,
        size_only: args.size_only,
        filters: message::filter_rules(&args.filters.filter),
        ranges,
    };
    Ok((plan, cut))
}

/// Both buckets (they must exist; the source is returned for a listing),
/// the queue (created with its dead-letter queue on request; its redrive
/// policy read into the plan), and the progress record's folder.
async fn connect(
    args: &SyncArgs,
    aws: &AwsArgs,
    plan: &mut Plan,
    throttle: &Arc<Throttle>,
) -> Result<(aws_sdk_sqs::Client, Store, Side), ToolError> {
    let ends = &args.endpoints;
    let folders = ends.folders()?;
    let (source, _) = twosided::connect(aws, &ends.sides, &folders, throttle, throttle).await?;
    let sides = &ends.sides;
    let sqs = queue::client(
        aws,
        &plan.queue,
        sides.source_profile.as_deref(),
        sides.source_role_arn.as_deref(),
    )
    .await?;
    if args.fleet.create_queue {
        queue::create_with_dlq(&sqs, throttle, &plan.queue, args.fleet.max_receive_count).await?;
    }
    match queue::redrive(&sqs, throttle, &plan.queue).await? {
        Some(r) => {
            plan.max_receive_count = Some(r.max_receive_count);
            plan.dead_letter_queue = queue::url_of(&sqs, throttle, &r.dead_letter_arn)
                .await
                .inspect_err(|e| tracing::warn!("the dead-letter queue: {e}"))
                .ok();
        }
        None => tracing::warn!(
            "queue {}: no redrive policy, so a range that keeps failing comes back forever; give it a dead-letter queue (--create-queue does)",
            plan.queue
        ),
    }
    let Some(progress) = &args.fleet.progress else {
        return Err(ToolError::Invalid {
            what: "--publish-ranges".into(),
            message: "needs --progress".into(),
        });
    };
    let store = Store::connect(aws, status::run_folder(progress, &plan.run), throttle).await?;
    Ok((sqs, store, source))
}

/// One message body per range.
fn messages(plan: &Plan, store: &Store) -> Vec<String> {
    let of = plan.ranges.len() as u32;
    plan.ranges
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let m = RangeMessage {
                s3_copier_range: message::FORMAT,
                run: plan.run.clone(),
                index: i as u32,
                of,
                after: r.after.clone(),
                upto: r.upto.clone(),
                source: plan.source.clone(),
                dest: plan.dest.clone(),
                progress: store.folder.to_string(),
                size_only: plan.size_only,
                filters: plan.filters.clone(),
                max_receive_count: plan.max_receive_count,
            };
            serde_json::to_string(&m).unwrap_or_default()
        })
        .collect()
}

fn print(plan: &Plan, store: &Store, sent: u64, format: Format) {
    let p = Published {
        kind: "summary",
        run: &plan.run,
        source: &plan.source,
        dest: &plan.dest,
        ranges: plan.ranges.len(),
        sent,
        queue: &plan.queue,
        dead_letter_queue: plan.dead_letter_queue.as_deref(),
        max_receive_count: plan.max_receive_count,
        progress: store.folder.to_string(),
    };
    let mut printer = Printer::new();
    let _ = match format {
        Format::Json => printer.json(&p),
        Format::Human => printer.line(format!(
            "published {} ranges of {} -> {} to {} as run {}\nprogress: {} (s3-copier fleet-status {})",
            p.sent, p.source, p.dest, p.queue, p.run, p.progress, p.progress
        )),
    };
    let _ = printer.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_dated_and_distinct() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let (a, b) = (run_id(t), run_id(t));
        assert_ne!(a, b);
        assert_eq!(a.len(), "20261207T064500Z-0a1b2c3d".len(), "{a}");
        assert!(a.starts_with("2026") && a.contains("Z-"), "{a}");
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
    }
}
