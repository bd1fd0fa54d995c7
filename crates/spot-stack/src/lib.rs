//! CloudFormation stacks that prefer spot instances and fall back to
//! on-demand: template, validate, deploy, status, savings, simulate.
//!
//! Modules: [`config`] (the TOML file, defaults from the write-up),
//! [`template`] (the CloudFormation template), [`validate`] (local
//! invariants), [`simulate`] + [`svg`] (offline what-if), [`prices`]
//! (on-demand price table), [`ec2`] (DescribeSpotPriceHistory without the EC2
//! SDK), [`stack`] (deploy/delete with event streaming), [`status`] and
//! [`savings`]; [`commands`] runs each command.

pub mod advisor;
pub mod cli;
mod commands;
pub mod comparison_svg;
pub mod config;
pub mod ec2;
pub mod error;
pub mod fleet;
pub mod market;
pub mod prices;
pub mod replay;
pub mod savings;
pub mod series;
pub mod stack;
pub mod status;
pub mod svg;
pub mod template;
pub mod text;
pub mod tree;
pub mod validate;
pub mod yaml;

use mc_aws_common::startup::{Threads, Tool};

use crate::error::Error;

/// The tool, as the toolkit's one `main` starts it (no Nagios mode).
const TOOL: Tool = Tool {
    name: "spot-stack",
    nagios: None,
};

/// Runs the tool; returns the process exit code. One runtime thread: the
/// tool makes a few control-plane calls at a time.
pub fn main() -> i32 {
    TOOL.main::<cli::Cli, Error>(Threads::One, commands::run)
}
