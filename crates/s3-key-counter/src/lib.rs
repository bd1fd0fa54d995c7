//! Count the keys and bytes of huge S3 buckets fast, listing the key space in parallel.
//!
//! The library behind the `s3-key-counter` binary: [`count`] drives the
//! sharded lister of `mc-aws-common` over one URL and feeds a [`tally`]
//! (constant memory: counters, never keys); [`versions`] lists
//! ListObjectVersions through the same lister; [`multipart`] counts
//! incomplete uploads; [`splits`] turns a count into balanced `--shard`
//! split points; [`report`] and [`check`] render the result as text, JSON
//! lines or one Nagios status line ([`threshold`] parses Nagios ranges).

pub mod check;
pub mod cli;
pub mod count;
pub mod multipart;
pub mod report;
pub mod splits;
pub mod state;
pub mod tally;
pub mod versions;

use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

use aws_config::SdkConfig;
use futures::future::try_join_all;
use mc_aws_common::config;
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::listing::KeyRange;
use mc_aws_common::nagios::Check;
use mc_aws_common::output::{Format, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;
use mc_aws_common::startup::{Failure, NagiosMode, Threads, Tool, ToolCli};
use mc_aws_common::statefile;

use crate::cli::Cli;
use crate::count::{Count, CountOptions};
use crate::report::Difference;
use mc_aws_common::s3url::S3Url;

/// Everything that can stop a run, each with a documented exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write the output: {0}")]
    Output(#[from] io::Error),
}

impl Failure for Error {
    fn exit_code(&self) -> i32 {
        match self {
            Error::Tool(e) => e.exit_code(),
            Error::Usage(_) => exit::USAGE,
            Error::Output(_) => exit::SERVICE,
        }
    }
}

const TOOL: Tool = Tool {
    name: "s3-key-counter",
    nagios: Some(NagiosMode {
        words: &["--check"],
        service: check::SERVICE,
    }),
};

impl ToolCli for Cli {
    fn output(&self) -> &OutputArgs {
        &self.output
    }

    fn nagios_timeout(&self) -> Option<u64> {
        self.check.map(|_| self.thresholds.timeout)
    }
}

/// Runs the tool with the process arguments; returns the exit code.
pub fn main() -> i32 {
    TOOL.main::<Cli, Error>(Threads::Many, execute)
}

/// Checks what clap cannot: combinations that depend on the number of URLs
/// and the splits file. Returns each URL's key range (`--shard`).
fn plan_ranges(cli: &Cli, urls: &[S3Url]) -> Result<Vec<Option<KeyRange>>, Error> {
    if cli.check.is_some_and(cli::CheckMetric::is_diff) && urls.len() < 2 {
        return Err(Error::Usage(
            "--check diff-objects/diff-bytes needs two or more URLs: the reference first".into(),
        ));
    }
    if cli.emit_splits.is_some() && urls.len() != 1 {
        return Err(Error::Usage(
            "--emit-splits works on one URL at a time".into(),
        ));
    }
    urls.iter()
        .map(|url| Ok(cli.shard.plan(&url.prefix)?.range))
        .collect()
}

async fn execute(cli: &Cli) -> Result<i32, Error> {
    let stop = Interrupt::install(TOOL.name);
    let urls = cli.parsed_urls().map_err(|e| Error::Usage(e.to_string()))?;
    if let Some(path) = &cli.from_state {
        return answer_from_state(cli, &urls, path);
    }
    let ranges = plan_ranges(cli, &urls)?;
    let started = SystemTime::now();
    let mut counts = count_all(cli, &urls, ranges, &stop).await?;

    if counts.iter().any(|c| c.interrupted) || stop.is_set() {
        return interrupted(cli, &counts);
    }
    if let Some(path) = &cli.save_state {
        let shard = cli.shard.shard.map(|s| s.to_string());
        let saved = state::of_counts(&counts, started, cli.versions, shard);
        statefile::save_json(path, &saved)?;
    }
    if let Some(metric) = cli.check {
        let check = check::evaluate(metric, &counts, &cli.thresholds);
        return Ok(check.emit());
    }
    if let Some(n) = cli.emit_splits {
        return emit_splits(cli, n, &mut counts);
    }
    let mut out = Printer::new();
    write_report(&mut out, cli, &counts)?;
    out.flush()?;
    Ok(exit::SUCCESS)
}

/// The first URL's identity, and the others' when `--dest-profile` or
/// `--dest-role-arn` gives them one of their own.
async fn identities(cli: &Cli, urls: usize) -> Result<(SdkConfig, Option<SdkConfig>), Error> {
    let sides = &cli.sides;
    let (source_profile, source_role) = (
        sides.source_profile.as_deref(),
        sides.source_role_arn.as_deref(),
    );
    let source = config::load(&cli.aws, source_profile, source_role).await?;
    if urls < 2 || (sides.dest_profile.is_none() && sides.dest_role_arn.is_none()) {
        return Ok((source, None));
    }
    let (dest_profile, dest_role) = (
        sides.dest_profile.as_deref(),
        sides.dest_role_arn.as_deref(),
    );
    let dest = config::load(&cli.aws, dest_profile, dest_role).await?;
    Ok((source, Some(dest)))
}

/// The progress line (none in a check).
fn progress(cli: &Cli, urls: &[S3Url]) -> indicatif::ProgressBar {
    if cli.check.is_some() {
        return mc_aws_common::output::progress_bar(None, "", false);
    }
    let what = match urls {
        [one] => format!("counting {one}"),
        many => format!("counting {} URLs", many.len()),
    };
    cli.output.progress(None, &what)
}

/// Counts every URL at once (its own range each), under one throttle.
async fn count_all(
    cli: &Cli,
    urls: &[S3Url],
    ranges: Vec<Option<KeyRange>>,
    stop: &Interrupt,
) -> Result<Vec<Count>, Error> {
    let (source_config, dest_config) = identities(cli, urls.len()).await?;
    let progress = progress(cli, urls);
    let opts = |range: Option<KeyRange>| CountOptions {
        concurrency: cli.throttle.list_cursors(false),
        page_size: cli.page_size,
        range,
        by_prefix: cli.by_prefix.map(|d| (d as usize, cli.delimiter.clone())),
        by_storage_class: cli.by_storage_class,
        versions: cli.versions,
        multipart: cli.multipart,
        record_splits: cli.emit_splits.is_some(),
    };
    // One throttle per run: -j bounds the requests of every URL together.
    let run_throttle = Throttle::from_args(&cli.throttle);
    let jobs = urls
        .iter()
        .zip(ranges)
        .enumerate()
        .map(|(i, (url, range))| {
            let sdk = match (&dest_config, i) {
                (Some(d), i) if i > 0 => d,
                _ => &source_config,
            };
            let opts = opts(range);
            let progress = &progress;
            let throttle = run_throttle.sharing_limits();
            async move {
                let client =
                    mc_aws_common::config::client_for_bucket(sdk, &cli.aws, &url.bucket, &throttle)
                        .await?;
                count::count_url(client, throttle, url.clone(), &opts, progress, stop).await
            }
        });
    let result = try_join_all(jobs).await;
    progress.finish_and_clear();
    Ok(result?)
}

/// `--emit-splits N`: the split points on stdout, the report on stderr.
fn emit_splits(cli: &Cli, n: u32, counts: &mut [Count]) -> Result<i32, Error> {
    let points = counts
        .first_mut()
        .and_then(|c| c.splits.take())
        .map(|r| r.split_points(n as usize))
        .unwrap_or_default();
    mc_aws_common::listing::splits_file::write_points(Printer::new(), &points)?;
    if !cli.output.quiet {
        let mut err = io::stderr().lock();
        write_report(&mut err, cli, counts)?;
        writeln!(
            err,
            "wrote {} split points for {n} slices (use with --splits FILE --shard i/{n})",
            points.len()
        )?;
        if points.len() + 1 < n as usize {
            // Points fall on page boundaries (up to 1000 keys apart).
            writeln!(
                err,
                "note: too few pages to cut {n} slices: slices {} to {} will have no keys",
                points.len() + 1,
                n - 1
            )?;
        }
    }
    Ok(exit::SUCCESS)
}

/// `--from-state`: the check, or the report, from a saved count; no AWS call.
fn answer_from_state(cli: &Cli, urls: &[S3Url], path: &Path) -> Result<i32, Error> {
    let max_age = cli.max_age.unwrap_or_default();
    let now = SystemTime::now();
    let loaded = state::load(path, urls, max_age, now)?;
    if let Some(metric) = cli.check {
        if metric.is_diff() && loaded.counts.len() < 2 {
            return Err(Error::Usage(format!(
                "--check diff-objects/diff-bytes needs a count of two or more URLs; {} has one",
                path.display()
            )));
        }
        let mut check = check::evaluate(metric, &loaded.counts, &cli.thresholds);
        state::annotate(&mut check, &loaded);
        return Ok(check.emit());
    }
    let mut out = Printer::new();
    state::write_report(&mut out, cli.output.output, &loaded, now)?;
    out.flush()?;
    Ok(exit::SUCCESS)
}

/// After SIGINT/SIGTERM: the counts so far (marked partial), exit 130;
/// UNKNOWN in Nagios mode (a partial count must not pass a threshold).
fn interrupted(cli: &Cli, counts: &[Count]) -> Result<i32, Error> {
    if cli.check.is_some() {
        return Ok(Check::unknown(check::SERVICE, "interrupted before the count finished").emit());
    }
    if cli.emit_splits.is_some() {
        // No split points from a partial count; stdout stays empty.
        write_report(&mut io::stderr().lock(), cli, counts)?;
    } else {
        let mut out = Printer::new();
        write_report(&mut out, cli, counts)?;
        out.flush()?;
    }
    let _ = writeln!(
        io::stderr(),
        "s3-key-counter: interrupted: the counts are partial (what was listed before the signal)"
    );
    Ok(exit::INTERRUPTED)
}

fn differences(counts: &[Count]) -> Vec<Difference> {
    counts
        .iter()
        .skip(1)
        .map(|c| Difference::between(&counts[0], c))
        .collect()
}

/// The human report (or JSON lines) to any writer.
fn write_report(w: &mut impl Write, cli: &Cli, counts: &[Count]) -> io::Result<()> {
    let shard = cli.shard.shard.map(|s| s.to_string());
    if cli.output.output == Format::Json {
        for c in counts {
            serde_json::to_writer(&mut *w, &report::json_line(c, cli.versions, shard.clone()))?;
            writeln!(w)?;
        }
        for d in differences(counts) {
            serde_json::to_writer(&mut *w, &d)?;
            writeln!(w)?;
        }
        return Ok(());
    }
    // Several URLs: one comparison table, with each URL's details only when
    // a breakdown asks for more than the table shows.
    let details = counts.len() == 1
        || cli.by_prefix.is_some()
        || cli.by_storage_class
        || cli.versions
        || cli.multipart;
    if details {
        for (i, c) in counts.iter().enumerate() {
            if i > 0 {
                writeln!(w)?;
            }
            write!(w, "{}", report::human(c, cli.versions, shard.as_deref()))?;
        }
    }
    if counts.len() > 1 {
        if details {
            writeln!(w)?;
        }
        write!(
            w,
            "{}",
            report::human_comparison(counts, &differences(counts))
        )?;
    }
    Ok(())
}
