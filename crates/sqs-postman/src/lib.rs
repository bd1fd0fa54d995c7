//! Send thousands to millions of SQS messages fast, in batches from many
//! concurrent producers, and never claim success falsely.
//!
//! * [`cli`]: the command line (compatible with the Node `sqs-postman`);
//! * [`message`]: the `message` command, planned, connected, run and reported;
//! * [`input`]: reading the message source (a template, or lines);
//! * [`template`]: message templates (`%unique%`, `%seq%`, ...), parsed once;
//! * [`source`]: lazy message generation and batch packing within SQS limits;
//! * [`batch`]: a batch entry and the SQS limits, below everything that sends;
//! * [`send`]: the producers, with partial-failure resends;
//! * [`wire`]: the lean, signed SendMessageBatch request the producers send;
//! * [`sigv4`]: its signature, with the signing key derived once a day;
//! * [`report`], [`histogram`]: counters and the final summary;
//! * [`connection`], [`queue`], [`stats`]: clients, naming queues and reading their depth.

pub mod batch;
pub mod cli;
pub mod connection;
pub mod control;
pub mod error;
pub mod histogram;
pub mod input;
pub mod message;
pub mod queue;
pub mod report;
pub mod send;
pub mod sigv4;
pub mod source;
pub mod stats;
pub mod template;
pub mod wire;

use mc_aws_common::startup::Threads;

use crate::cli::{Cli, Command, TOOL};
use crate::error::Error;

/// Runs the tool; returns the process exit code. One runtime thread drives
/// every request: a batch costs tens of microseconds of CPU, so one core keeps
/// thousands of requests a second in flight, and the cross-thread wake-ups of
/// a multi-thread runtime cost more than they would parallelise (measured: a
/// third of the CPU went to the scheduler).
pub fn main() -> i32 {
    TOOL.main::<Cli, Error>(Threads::One, run)
}

async fn run(cli: &Cli) -> Result<i32, Error> {
    match &cli.command {
        Command::Message(args) => message::run(cli, args).await,
        Command::Stats(args) => stats::run(cli, args).await,
    }
}
