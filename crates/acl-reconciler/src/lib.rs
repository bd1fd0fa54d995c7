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

use mc_aws_common::logging;
use mc_aws_common::nagios::{run_check, Check};
use mc_aws_common::startup::{self, NagiosMode};

use crate::cli::Cli;
use crate::report::Reporter;

const NAME: &str = "acl-reconciler";
const NAGIOS: NagiosMode = NagiosMode {
    words: &["--nagios"],
    service: "ACL_DRIFT",
};

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<_> = std::env::args_os().collect();
    let cli = match startup::parse_args::<Cli>(&args, Some(NAGIOS)) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    logging::init(cli.output.verbosity(), None);
    match startup::runtime(NAME, true) {
        Ok(runtime) if cli.nagios => {
            let seconds = cli.timeout;
            run_check(runtime, seconds, NAGIOS.service, run_cli(cli)).unwrap_or_else(|code| code)
        }
        Ok(runtime) => runtime.block_on(run_cli(cli)),
        Err(code) => code,
    }
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
                    return Check::unknown(NAGIOS.service, msg).emit();
                }
                return outcome
                    .summary
                    .nagios(cli.warning.as_ref(), cli.critical.as_ref())
                    .emit();
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
                return Check::unknown(NAGIOS.service, &e).emit();
            }
            eprintln!("{NAME}: error: {e}");
            e.exit_code()
        }
    }
}
