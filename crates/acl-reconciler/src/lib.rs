//! Find and fix object-ACL drift between two S3 buckets.
//!
//! For every key present in both buckets (from the sharded lister, merge-joined
//! span by span with the destination, or from a key file), both ACLs are read
//! concurrently and compared semantically with [`mc_aws_common::acl`] (the
//! comparison s3-copier uses too). With `--apply` the destination's ACL is
//! replaced to match; public grants need `--allow-public` and are never forced
//! past Block Public Access.
//!
//! Modules: [`cli`] (arguments), [`work`] (where keys come from),
//! [`reconcile`] (one key), [`run`] (the driver), [`state`] (resume),
//! [`report`] (output, summary, Nagios).

pub mod cli;
pub mod error;
pub mod reconcile;
pub mod report;
pub mod run;
pub mod state;
pub mod work;

use clap::Parser;
use mc_aws_common::nagios::Check;
use mc_aws_common::{exit, logging};

use crate::cli::Cli;
use crate::report::Reporter;

const NAME: &str = "acl-reconciler";

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    logging::init(cli.output.verbosity(), None);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{NAME}: error: cannot start the async runtime: {e}");
            return exit::SERVICE;
        }
    };
    runtime.block_on(run_cli(cli))
}

async fn run_cli(cli: Cli) -> i32 {
    let mut reporter = Reporter::new(
        cli.output.output,
        cli.output.quiet,
        cli.show_equal,
        cli.nagios,
    );
    match run::run(&cli, &mut reporter).await {
        Ok(outcome) => {
            if cli.nagios {
                if let Some(msg) = &outcome.unsupported {
                    return Check::unknown("ACL_DRIFT", msg).emit();
                }
                return outcome.summary.nagios(cli.warning, cli.critical).emit();
            }
            let _ = reporter.summary(&outcome.summary, !cli.apply);
            if let Some(msg) = &outcome.unsupported {
                eprintln!("{NAME}: error: {msg}");
            } else if outcome.summary.skipped_public > 0 {
                eprintln!(
                    "{NAME}: warning: {} keys need a public grant; re-run with --allow-public to apply it",
                    outcome.summary.skipped_public
                );
            }
            if outcome.interrupted {
                eprintln!("{NAME}: interrupted");
            }
            run::exit_code(&outcome)
        }
        Err(e) => {
            let _ = reporter.flush();
            if cli.nagios {
                return Check::unknown("ACL_DRIFT", &e).emit();
            }
            eprintln!("{NAME}: error: {e}");
            e.exit_code()
        }
    }
}
