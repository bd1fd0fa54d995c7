//! Zero-downtime S3 bucket migration: parallel server-side sync, live
//! replication from S3 events, verification.
//!
//! - [`sync`]: list both sides range by range ([`compare`]), copy what is
//!   missing or different ([`copy`]), checkpoint finished ranges ([`state`]);
//! - [`verify`]: the same merge-join, reporting instead of copying;
//! - [`worker`] / [`lambda`]: copy the objects named by S3 event
//!   notifications ([`events`]) from SQS, or as an AWS Lambda handler and
//!   S3 Batch Operations target;
//! - [`iam`]: the least-privilege policy each mode needs;
//! - [`preflight`]: what is checked before anything is written.

pub mod cli;
pub mod compare;
pub mod copy;
pub mod events;
pub mod iam;
pub mod interrupt;
pub mod lambda;
pub mod options;
pub mod preflight;
pub mod report;
pub mod sse;
pub mod state;
pub mod sync;
pub mod verify;
pub mod worker;

use mc_aws_common::exit;
use mc_aws_common::startup;

use crate::cli::{Cli, Command};

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<_> = std::env::args_os().collect();
    let cli = match startup::parse_args::<Cli>(&args, Some(verify::NAGIOS)) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    mc_aws_common::logging::init(cli.output.verbosity(), None);
    let runtime = match startup::runtime("s3-copier", true) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let nagios = match &cli.command {
        Command::Verify(a) if a.nagios => Some(a.timeout),
        _ => None,
    };
    let work = async {
        let stop = interrupt::Interrupt::install("s3-copier");
        match cli.command {
            Command::Sync(a) => sync::run(a, &cli.aws, &cli.output, stop).await,
            Command::Verify(a) => verify::run(a, &cli.aws, &cli.output, stop).await,
            Command::Worker(a) => worker::run(a, &cli.aws, &cli.output, stop).await,
            Command::IamPolicy(a) => {
                let policy = iam::policy(&a);
                let text = serde_json::to_string_pretty(&policy).unwrap_or_default();
                let mut p = mc_aws_common::output::Printer::new();
                let _ = p.line(text);
                let _ = p.flush();
                Ok(exit::SUCCESS)
            }
        }
    };
    let result = match nagios {
        Some(seconds) => {
            mc_aws_common::nagios::run_check(runtime, seconds, verify::NAGIOS.service, work)
                .unwrap_or_else(Ok)
        }
        None => runtime.block_on(work),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("s3-copier: error: {e}");
            e.exit_code()
        }
    }
}
