//! PostgreSQL index bloat from a production-vs-fresh-restore comparison, as a
//! report and a Nagios check.
//!
//! The library behind the `pgindexbloat` binary: [`input`] reads index-size
//! lists (CSV or a live database via [`conn`]) under the rules of
//! [`naming`], [`compare`] pairs production with the fresh restore,
//! [`report`] and [`check`] render the result, [`estimate`] works without a
//! restore.

pub mod check;
pub mod cli;
mod commands;
pub mod compare;
pub mod conn;
pub mod connstr;
mod csvfile;
pub mod dump;
pub mod error;
pub mod estimate;
mod hash;
pub mod index;
pub mod input;
pub mod naming;
pub mod reindex;
pub mod report;
pub mod size;
pub mod snapshot;
mod stdout;
pub mod tls;

use mc_aws_common::startup::{NagiosMode, Tool};

/// The tool, as the one `main` of the toolkit starts it: `check` is its
/// Nagios mode.
const TOOL: Tool = Tool {
    name: "pgindexbloat",
    nagios: Some(NagiosMode {
        words: &["check"],
        service: check::SERVICE,
    }),
};

/// Runs the tool with the process arguments; returns the exit code.
pub fn main() -> i32 {
    TOOL.main_sync::<cli::Cli, error::Error>(commands::run)
}
