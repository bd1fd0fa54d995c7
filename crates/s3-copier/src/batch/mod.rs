//! `batch`: the backlog as an S3 Batch Operations job.
//!
//! - [`plan`]: the differences `sync` would copy, by `sync`'s own
//!   comparison, as a local manifest; the operation; the cost;
//! - [`create`]: the manifest uploaded, the job created (S3 Control);
//! - [`status`]: the job's progress (DescribeJob), confirming or
//!   cancelling it (UpdateJobStatus);
//! - [`report`]: the completion report read back, the failed objects
//!   written as a manifest or a key list;
//! - [`keys`]: a key list turned into a manifest;
//! - [`versions`]: the older versions of a versioned source, for a job of their own.

pub mod create;
pub mod keys;
pub mod plan;
pub mod report;
pub mod status;
pub mod versions;

use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::ToolError;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::OutputArgs;

use crate::cli::{BatchArgs, BatchCommand};

/// Runs `batch`; returns the exit code.
pub async fn run(
    a: &BatchArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
) -> Result<i32, ToolError> {
    match &a.command {
        BatchCommand::Plan(p) => plan::run(p, aws, out, stop).await,
        BatchCommand::Create(c) => create::run(c, aws, out, stop).await,
        BatchCommand::Status(s) => status::run(s, aws, out).await,
        BatchCommand::Confirm(s) => status::update(s, aws, out, "Ready").await,
        BatchCommand::Cancel(s) => status::update(s, aws, out, "Cancelled").await,
        BatchCommand::Report(r) => report::run(r, aws, out).await,
        BatchCommand::Manifest(m) => keys::run(m).await,
    }
}
