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
pub mod interrupt;
pub mod multipart;
pub mod report;
pub mod splits;
pub mod tally;
/// Nagios ranges, shared with the other tools' checks.
pub use mc_aws_common::nagios::threshold;
pub mod versions;

use std::ffi::OsString;
use std::io::{self, Write};

use futures::future::try_join_all;
use mc_aws_common::config;
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::listing::{shard_ranges, KeyRange};
use mc_aws_common::nagios::{run_check, Check};
use mc_aws_common::output::Format;
use mc_aws_common::retry::Throttle;
use mc_aws_common::startup::{self, NagiosMode};

use crate::cli::Cli;
use crate::count::{Count, CountOptions};
use crate::report::Difference;
use crate::splits::SplitsError;
use mc_aws_common::s3url::S3Url;

/// Everything that can stop a run, each with a documented exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Splits(#[from] SplitsError),
    #[error("cannot write the output: {0}")]
    Output(#[from] io::Error),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Tool(e) => e.exit_code(),
            Error::Usage(_) => exit::USAGE,
            Error::Splits(SplitsError::Io { source, .. })
                if source.kind() == io::ErrorKind::NotFound =>
            {
                exit::NOT_FOUND
            }
            Error::Splits(_) => exit::USAGE,
            Error::Output(_) => exit::SERVICE,
        }
    }
}

/// Runs the tool with the process arguments; returns the exit code.
pub fn main() -> i32 {
    run(std::env::args_os())
}

/// Runs the tool with the given arguments (the first is the program name).
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let nagios = NagiosMode {
        words: &["--check"],
        service: check::SERVICE,
    };
    let cli = match startup::parse_args::<Cli>(&args, Some(nagios)) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    mc_aws_common::logging::init(cli.output.verbosity(), None);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&cli, &Error::Output(e)),
    };
    let result = if cli.check.is_some() {
        run_check(runtime, cli.timeout, check::SERVICE, execute(&cli)).unwrap_or_else(Ok)
    } else {
        runtime.block_on(execute(&cli))
    };
    match result {
        Ok(code) => code,
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => exit::SUCCESS,
        Err(e) => fail(&cli, &e),
    }
}

/// Reports a failure: UNKNOWN in Nagios mode, one line on stderr otherwise.
fn fail(cli: &Cli, e: &Error) -> i32 {
    if cli.check.is_some() {
        return Check::unknown(check::SERVICE, e).emit();
    }
    let _ = writeln!(io::stderr(), "s3-key-counter: error: {e}");
    e.exit_code()
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
    let points = match &cli.splits {
        Some(path) => Some(splits::read_points(path)?),
        None => None,
    };
    let Some(shard) = cli.shard else {
        return Ok(vec![None; urls.len()]);
    };
    urls.iter()
        .map(|url| {
            if let (Some(points), Some(path)) = (&points, &cli.splits) {
                if let Some(note) = splits::check_for_shard(points, path, shard, &url.prefix)? {
                    tracing::warn!("{note}");
                }
            }
            Ok(Some(shard_ranges(&url.prefix, shard, points.as_deref())))
        })
        .collect()
}

async fn execute(cli: &Cli) -> Result<i32, Error> {
    let stop = interrupt::Interrupt::install("s3-key-counter");
    let urls = cli.parsed_urls().map_err(|e| Error::Usage(e.to_string()))?;
    let ranges = plan_ranges(cli, &urls)?;
    let source_config = config::load(
        &cli.aws,
        cli.sides.source_profile.as_deref(),
        cli.sides.source_role_arn.as_deref(),
    )
    .await?;
    let dest_config = if urls.len() > 1
        && (cli.sides.dest_profile.is_some() || cli.sides.dest_role_arn.is_some())
    {
        Some(
            config::load(
                &cli.aws,
                cli.sides.dest_profile.as_deref(),
                cli.sides.dest_role_arn.as_deref(),
            )
            .await?,
        )
    } else {
        None
    };
    let progress = if cli.check.is_some() {
        mc_aws_common::output::progress_bar(None, "", false)
    } else {
        let what = match urls.as_slice() {
            [one] => format!("counting {one}"),
            many => format!("counting {} URLs", many.len()),
        };
        cli.output.progress(None, &what)
    };
    let opts = |range: Option<KeyRange>| CountOptions {
        concurrency: cli.throttle.concurrency as usize,
        page_size: cli.page_size,
        range,
        by_prefix: cli.by_prefix.map(|d| (d as usize, cli.delimiter.clone())),
        by_storage_class: cli.by_storage_class,
        versions: cli.versions,
        multipart: cli.multipart,
        record_splits: cli.emit_splits.is_some(),
    };
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
            let stop = &stop;
            async move {
                let throttle = Throttle::from_args(&cli.throttle);
                let client =
                    mc_aws_common::config::client_for_bucket(sdk, &cli.aws, &url.bucket, &throttle)
                        .await?;
                count::count_url(client, throttle, url.clone(), &opts, progress, stop).await
            }
        });
    let result = try_join_all(jobs).await;
    progress.finish_and_clear();
    let mut counts = result?;

    if counts.iter().any(|c| c.interrupted) || stop.is_set() {
        return interrupted(cli, &counts);
    }
    if let Some(metric) = cli.check {
        let check = check::evaluate(metric, &counts, cli.warning.as_ref(), cli.critical.as_ref());
        return Ok(check.emit());
    }
    if let Some(n) = cli.emit_splits {
        let points = counts
            .first_mut()
            .and_then(|c| c.splits.take())
            .map(|r| r.split_points(n as usize))
            .unwrap_or_default();
        splits::write_points(io::stdout().lock(), &points)?;
        if !cli.output.quiet {
            let mut err = io::stderr().lock();
            write_report(&mut err, cli, &counts)?;
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
        return Ok(exit::SUCCESS);
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    write_report(&mut out, cli, &counts)?;
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
        let mut out = io::BufWriter::new(io::stdout().lock());
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
    let shard = cli.shard.map(|s| s.to_string());
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
