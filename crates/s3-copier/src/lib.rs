//! Zero-downtime S3 bucket migration: parallel server-side sync, live
//! replication from S3 events, verification.
//!
//! - [`sync`]: list both sides range by range ([`compare`]), copy what is
//!   missing or different ([`copy`]), checkpoint finished ranges ([`state`]);
//! - [`verify`]: the same merge-join, reporting instead of copying;
//! - [`worker`] / [`lambda`]: copy the objects named by S3 event
//!   notifications ([`events`]) from SQS, or as an AWS Lambda handler and
//!   S3 Batch Operations target;
//! - [`batch`]: the same differences as an S3 Batch Operations job
//!   ([`manifest`], [`operation`], [`cost`], [`s3control`], [`completion`]);
//! - [`fleet`]: `sync --publish-ranges` sends the key space as ranges to
//!   SQS for any number of workers, `fleet-status` reads their progress;
//! - [`iam`]: the least-privilege policy each mode needs;
//! - [`preflight`]: what is checked before anything is written.

pub mod batch;
pub mod cli;
pub mod compare;
pub mod completion;
pub mod copy;
pub mod cost;
pub mod events;
pub mod fleet;
pub mod iam;
pub mod lag;
pub mod lag_state;
pub mod lambda;
pub mod manifest;
pub mod notifications;
pub mod operation;
pub mod options;
pub mod preflight;
pub mod queue;
pub mod record_log;
pub mod report;
pub mod s3control;
pub mod sse;
pub mod sync;
pub mod verify;
pub mod worker;

use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::{OutputArgs, Printer};
use mc_aws_common::startup::{Threads, Tool, ToolCli};

use crate::cli::{BatchCommand, Cli, Command};

const TOOL: Tool = Tool {
    name: "s3-copier",
    nagios: Some(verify::NAGIOS),
};

impl ToolCli for Cli {
    fn output(&self) -> &OutputArgs {
        &self.output
    }

    fn nagios_timeout(&self) -> Option<u64> {
        match &self.command {
            Command::Verify(a) if a.nagios => Some(a.check.timeout),
            Command::Lag(a) if a.nagios => Some(a.check.timeout),
            _ => None,
        }
    }

    fn writes(&self) -> bool {
        match &self.command {
            Command::Sync(a) => !a.dry_run,
            Command::Worker(_) => true,
            Command::Batch(b) => !matches!(b.command, BatchCommand::Status(_)),
            Command::Verify(_)
            | Command::Lag(_)
            | Command::FleetStatus(_)
            | Command::IamPolicy(_) => false,
        }
    }
}

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    // One thread: a copy costs tens of microseconds of CPU, less than the
    // cross-thread wake-ups of a multi-thread runtime would add to it.
    TOOL.main::<Cli, ToolError>(Threads::One, run)
}

async fn run(cli: &Cli) -> Result<i32, ToolError> {
    let stop = Interrupt::install(TOOL.name);
    match &cli.command {
        Command::Sync(a) => sync::run(a, &cli.aws, &cli.output, stop).await,
        Command::Verify(a) => verify::run(a, &cli.aws, &cli.output, stop).await,
        Command::Worker(a) => worker::run(a, &cli.aws, &cli.output, stop).await,
        Command::Batch(a) => batch::run(a, &cli.aws, &cli.output, stop).await,
        Command::Lag(a) => lag::run(a, &cli.aws, &cli.output).await,
        Command::FleetStatus(a) => fleet::status::run(a, &cli.aws, &cli.output, stop).await,
        Command::IamPolicy(a) => {
            let text = serde_json::to_string_pretty(&iam::policy(a)).unwrap_or_default();
            let mut p = Printer::new();
            let _ = p.line(text).and_then(|()| p.flush());
            Ok(exit::SUCCESS)
        }
    }
}
