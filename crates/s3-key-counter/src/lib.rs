//! Count the keys and bytes of huge S3 buckets fast, listing the key space in parallel.
//!
//! The library behind the `s3-key-counter` binary: [`count`] drives the
//! sharded lister of `mc-aws-common` over one URL and feeds a [`tally`]
//! (constant memory: counters, never keys), or with `--versions`
//! `mc_aws_common::listing::versions`; [`multipart`] counts
//! incomplete uploads; [`splits`] turns a count into balanced `--shard`
//! split points; [`report`] and [`check`] render the result as text, JSON
//! lines or one Nagios status line ([`threshold`] parses Nagios ranges).

pub mod check;
pub mod cli;
pub mod count;
pub mod cross_check;
pub mod from_inventory;
pub mod multipart;
pub mod report;
pub mod splits;
pub mod state;
pub mod tally;

use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

use futures::future::try_join_all;
use mc_aws_common::config;
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::inventory::Coverage;
use mc_aws_common::listing::s3::S3Source;
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
    // One thread: a page costs ~0.5 ms of CPU, and cross-thread wake-ups and
    // frees cost more than a second core gives (-30% CPU at -j 64); inventory
    // files are read on blocking threads either way.
    TOOL.main::<Cli, Error>(Threads::One, execute)
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
    if cli.inventory.inventory.is_some() && urls.len() != 1 {
        return Err(Error::Usage(
            "--inventory counts one URL at a time (the report is of one bucket)".into(),
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
    let progress = if cli.check.is_some() {
        mc_aws_common::output::progress_bar(None, "", false)
    } else {
        let what = match urls.as_slice() {
            [one] => format!("counting {one}"),
            many => format!("counting {} URLs", many.len()),
        };
        cli.output.progress(None, &what)
    };
    let counted = if cli.inventory.inventory.is_some() {
        count_from_inventory(cli, &urls[0], ranges, &progress, &stop).await
    } else {
        count_live(cli, &urls, ranges, &progress, &stop).await
    };
    progress.finish_and_clear();
    let (mut counts, points, drift) = counted?;
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
        let points = points.unwrap_or_else(|| {
            counts
                .first_mut()
                .and_then(|c| c.splits.take())
                .map(|r| r.split_points(n as usize))
                .unwrap_or_default()
        });
        return emit_splits(cli, n, &points, &counts);
    }
    let mut out = Printer::new();
    write_report(&mut out, cli, &counts)?;
    if let Some(d) = &drift {
        report::write_drift(&mut out, d, cli.output.output)?;
    }
    out.flush()?;
    Ok(exit::SUCCESS)
}

/// What a count leaves: the counts, split points when they came from a
/// sample (`--emit-splits` from a report), a cross-check's drift.
type Counted = (Vec<Count>, Option<Vec<String>>, Option<cross_check::Drift>);

/// Counts every URL by listing it, all under one throttle.
async fn count_live(
    cli: &Cli,
    urls: &[S3Url],
    ranges: Vec<Option<KeyRange>>,
    progress: &indicatif::ProgressBar,
    stop: &Interrupt,
) -> Result<Counted, Error> {
    let (source_config, dest_config) = identities(cli, urls.len()).await?;
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
            let opts = count_options(cli, range);
            let throttle = run_throttle.sharing_limits();
            async move {
                let client =
                    mc_aws_common::config::client_for_bucket(sdk, &cli.aws, &url.bucket, &throttle)
                        .await?;
                let credentials = sdk.credentials_provider();
                count::count_url(
                    client,
                    credentials,
                    throttle,
                    url.clone(),
                    &opts,
                    progress,
                    stop,
                )
                .await
            }
        });
    Ok((try_join_all(jobs).await?, None, None))
}

/// Counts one URL from its inventory report (`--inventory`), with
/// `--emit-splits` from the report's key sample and `--cross-check` live.
async fn count_from_inventory(
    cli: &Cli,
    url: &S3Url,
    mut ranges: Vec<Option<KeyRange>>,
    progress: &indicatif::ProgressBar,
    stop: &Interrupt,
) -> Result<Counted, Error> {
    let (source_config, _) = identities(cli, 1).await?;
    let throttle = Throttle::from_args(&cli.throttle);
    let client =
        config::client_for_bucket(&source_config, &cli.aws, &url.bucket, &throttle).await?;
    let need = Coverage {
        source: url,
        versions: cli.versions,
    };
    let report = cli
        .inventory
        .open(&cli.aws, &client, need, &throttle)
        .await?
        .ok_or_else(|| Error::Usage("--inventory names no report".into()))?;
    let opts = count_options(cli, ranges.remove(0));
    let sample_keys = cli.emit_splits.is_some() || cli.cross_check.is_some();
    let from_inventory::Counted { mut count, sample } =
        from_inventory::count_report(&report, url, &opts, sample_keys, progress, stop).await?;
    let drift = match cli.cross_check {
        Some(n) if !count.interrupted => {
            let source = S3Source::new(client.clone(), &url.bucket, &url.prefix, throttle.clone())
                .credentials(source_config.credentials_provider());
            let total = count.tally.total.objects;
            Some(cross_check::run(&report, url, sample.clone(), n as usize, total, &source).await?)
        }
        _ => None,
    };
    if cli.multipart && !count.interrupted {
        count.multipart = Some(
            multipart::count(
                &client,
                &throttle,
                &url.bucket,
                &url.prefix,
                opts.range.as_ref(),
                opts.concurrency,
            )
            .await?,
        );
    }
    count.requests = throttle.stats();
    let points = cli.emit_splits.map(|n| sample.split_points(n as usize));
    Ok((vec![count], points, drift))
}

/// The SDK configs: the source's, and the destination's when its identity
/// differs (`--dest-profile`, `--dest-role-arn`) and there is more than one URL.
async fn identities(
    cli: &Cli,
    urls: usize,
) -> Result<(aws_config::SdkConfig, Option<aws_config::SdkConfig>), Error> {
    let s = &cli.sides;
    let source = config::load(
        &cli.aws,
        s.source_profile.as_deref(),
        s.source_role_arn.as_deref(),
    )
    .await?;
    let dest = if urls > 1 && (s.dest_profile.is_some() || s.dest_role_arn.is_some()) {
        Some(
            config::load(
                &cli.aws,
                s.dest_profile.as_deref(),
                s.dest_role_arn.as_deref(),
            )
            .await?,
        )
    } else {
        None
    };
    Ok((source, dest))
}

fn count_options(cli: &Cli, range: Option<KeyRange>) -> CountOptions {
    CountOptions {
        concurrency: cli.throttle.list_cursors(false),
        page_size: cli.page_size,
        range,
        by_prefix: cli.by_prefix.map(|d| (d as usize, cli.delimiter.clone())),
        by_storage_class: cli.by_storage_class,
        versions: cli.versions,
        multipart: cli.multipart,
        record_splits: cli.emit_splits.is_some(),
    }
}

/// `--emit-splits N`: the points on stdout, the report on stderr.
fn emit_splits(cli: &Cli, n: u32, points: &[String], counts: &[Count]) -> Result<i32, Error> {
    mc_aws_common::listing::splits_file::write_points(Printer::new(), points)?;
    if cli.output.quiet {
        return Ok(exit::SUCCESS);
    }
    let mut err = io::stderr().lock();
    write_report(&mut err, cli, counts)?;
    writeln!(
        err,
        "wrote {} split points for {n} slices (use with --splits FILE --shard i/{n})",
        points.len()
    )?;
    if points.len() + 1 < n as usize {
        // Points fall on page boundaries (up to 1000 keys apart), or on sampled keys.
        writeln!(
            err,
            "note: too few keys to cut {n} slices: slices {} to {} will have no keys",
            points.len() + 1,
            n - 1
        )?;
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
