//! `fleet-status` (and `sync --publish-ranges --wait`): where a published
//! run stands, from its progress record, once or until it settles.

use std::time::Duration;

use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::{Format, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;

use super::progress::{Mark, Status, Store};
use crate::cli::FleetStatusArgs;
use crate::queue;

/// Runs `fleet-status`; returns the exit code.
pub async fn run(
    args: &FleetStatusArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
) -> Result<i32, ToolError> {
    let throttle = Throttle::new(8, None, Default::default());
    let store = Store::connect(aws, args.run.clone(), &throttle).await?;
    let every = args.wait.then(|| Duration::from_secs(args.every));
    report(&store, aws, out, every, stop).await
}

/// Reads the run's standing (with `every`: again until it settles or a
/// signal comes), prints it, and gives the exit code.
pub async fn report(
    store: &Store,
    aws: &AwsArgs,
    out: &OutputArgs,
    every: Option<Duration>,
    stop: Interrupt,
) -> Result<i32, ToolError> {
    let plan = store.plan().await?;
    let dead_letters = match &plan.dead_letter_queue {
        Some(url) => queue::client(aws, url, None, None)
            .await
            .ok()
            .map(|c| (c, url)),
        None => None,
    };
    let throttle = Throttle::new(4, None, Default::default());
    loop {
        let (done, dead) = tokio::try_join!(store.marked(Mark::Done), store.marked(Mark::Dead))?;
        let mut status = Status::of(&plan, &done, &dead);
        if let Some((sqs, url)) = &dead_letters {
            status.dead_letter_queue_messages = queue::depth(sqs, &throttle, url)
                .await
                .ok()
                .map(|d| d.visible);
        }
        let Some(every) = every.filter(|_| !status.settled()) else {
            print(&status, out.output);
            return Ok(if status.finished {
                exit::SUCCESS
            } else {
                exit::PARTIAL_FAILURE
            });
        };
        tracing::info!(
            "{} of {} ranges done; looking again in {}s",
            status.done,
            status.ranges,
            every.as_secs()
        );
        tokio::select! {
            _ = stop.wait() => {
                print(&status, out.output);
                return Ok(exit::INTERRUPTED);
            }
            _ = tokio::time::sleep(every) => {}
        }
    }
}

fn print(status: &Status, format: Format) {
    let mut p = Printer::new();
    let _ = match format {
        Format::Json => p.json(status),
        Format::Human => p.line(status.human()),
    };
    let _ = p.flush();
}

/// The run's folder under `--progress`.
pub fn run_folder(
    progress: &mc_aws_common::s3url::S3Url,
    run: &str,
) -> mc_aws_common::s3url::S3Url {
    mc_aws_common::s3url::S3Url {
        bucket: progress.bucket.clone(),
        prefix: format!("{}{run}/", progress.prefix),
    }
}
