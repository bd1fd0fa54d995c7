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

pub mod audit;
pub mod cli;
pub mod error;
pub mod reconcile;
pub mod report;
pub mod run;
pub mod work;

use mc_aws_common::nagios::Check;
use mc_aws_common::output::{self, OutputArgs};
use mc_aws_common::startup::{NagiosMode, Threads, Tool, ToolCli};

use crate::cli::Cli;
use crate::error::Error;
use crate::report::Reporter;

const NAGIOS: NagiosMode = NagiosMode {
    words: &["--nagios"],
    service: "ACL_DRIFT",
};

const TOOL: Tool = Tool {
    name: "acl-reconciler",
    nagios: Some(NAGIOS),
};

impl ToolCli for Cli {
    fn output(&self) -> &OutputArgs {
        &self.output
    }

    fn nagios_timeout(&self) -> Option<u64> {
        self.nagios.then_some(self.check.timeout)
    }

    fn writes(&self) -> bool {
        self.apply
    }
}

/// Runs the tool; returns the process exit code. `acl-reconciler audit
/// ...` has a command line of its own ([`audit::cli`]), so the two-bucket
/// reconcile's stays as it was.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if audit::cli::asked(&args) {
        return audit::main();
    }
    // One thread: an ACL read costs tens of microseconds of CPU, less than
    // the cross-thread wake-ups of a multi-thread runtime would add to it.
    TOOL.main::<Cli, Error>(Threads::One, run_cli)
}

async fn run_cli(cli: &Cli) -> Result<i32, Error> {
    let mut reporter = Reporter::new(
        cli.output.output,
        cli.output.quiet,
        cli.show_equal,
        cli.nagios,
    );
    let outcome = match run::run(cli, &mut reporter).await {
        Ok(outcome) => outcome,
        Err(e) => {
            let _ = reporter.flush();
            return Err(e);
        }
    };
    if cli.nagios {
        return Ok(match &outcome.unsupported {
            Some(msg) => Check::unknown(NAGIOS.service, msg).emit(),
            None => outcome.summary.nagios(&cli.check).emit(),
        });
    }
    let _ = reporter.summary(&outcome.summary, !cli.apply);
    if output::stdout_closed() {
        // Stopped early by a closed pipe: main says what that means.
        return Ok(run::exit_code(&outcome));
    }
    if let Some(msg) = &outcome.unsupported {
        eprintln!("{}: error: {msg}", TOOL.name);
    } else if outcome.summary.skipped_public > 0 {
        eprintln!(
            "{}: warning: {} keys need a public grant; re-run with --allow-public to apply it",
            TOOL.name, outcome.summary.skipped_public
        );
    }
    if outcome.interrupted {
        eprintln!("{}: interrupted", TOOL.name);
    }
    Ok(run::exit_code(&outcome))
}
