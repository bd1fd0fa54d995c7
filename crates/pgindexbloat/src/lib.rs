//! PostgreSQL index bloat from a production-vs-fresh-restore comparison, as a
//! report and a Nagios check.
//!
//! The library behind the `pgindexbloat` binary: [`input`] reads index-size
//! lists (CSV or a live database via [`conn`]), [`compare`] pairs production
//! with the fresh restore, [`report`] and [`check`] render the result,
//! [`estimate`] works without a restore.

pub mod check;
pub mod cli;
pub mod compare;
pub mod conn;
mod csvfile;
pub mod error;
pub mod estimate;
mod hash;
pub mod index;
pub mod input;
pub mod naming;
pub mod report;
pub mod size;
pub mod snapshot;

use std::ffi::OsString;
use std::io::{self, Write};

use anyhow::Context;
use mc_aws_common::exit;
use mc_aws_common::nagios::Check;
use mc_aws_common::output::{self, Format, OutputArgs, Printer};
use mc_aws_common::startup::{self, NagiosMode};

use crate::cli::{CheckArgs, Cli, Command, CompareArgs, DumpArgs, EstimateArgs};
use crate::compare::Options;
use crate::error::Error;
use crate::input::Source;
use crate::naming::Toast;
use crate::snapshot::Snapshot;

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
        words: &["check"],
        service: check::SERVICE,
    };
    let cli = match startup::parse_args::<Cli>(&args, Some(nagios)) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    mc_aws_common::logging::init(cli.output.verbosity(), None);
    let result = match &cli.command {
        None => report_command(&cli),
        Some(Command::Check(args)) => return check_command(args, &cli.output),
        Some(Command::Dump(args)) => dump_command(args, &cli.output),
        Some(Command::Estimate(args)) => estimate_command(args, &cli.output),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                if io.kind() == io::ErrorKind::BrokenPipe {
                    return exit::SUCCESS; // `pgindexbloat ... | head`
                }
            }
            let code = e
                .downcast_ref::<Error>()
                .map_or(exit::SERVICE, Error::exit_code);
            let _ = writeln!(io::stderr(), "pgindexbloat: error: {}", one_line(&e));
            code
        }
    }
}

/// The error and its causes on one line, each cause once.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !msg.contains(&text) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&text);
        }
    }
    msg.replace('\n', " ")
}

fn options(args: &CompareArgs) -> Options {
    Options {
        percent_threshold: args.percent_threshold,
        min_bloat: args.bloat_bytes,
        size_threshold: args.size_threshold,
        ignore_missing: args.ignore_missing,
        match_by_definition: !args.by_name_only,
        normalise: !args.no_normalise,
        sort: args.sort,
        keep_compared: true,
    }
}

/// Loads production and restore (concurrently: two files or two databases).
pub fn load_pair(
    production: &str,
    fresh: &str,
    toast: Toast,
    exact_counts: bool,
) -> Result<(Snapshot, Snapshot), Error> {
    let (sa, sb) = (Source::parse(production), Source::parse(fresh));
    if sa == Source::Stdin && sb == Source::Stdin {
        return Err(Error::Usage("A and B cannot both be '-' (stdin)".into()));
    }
    let (a, b) = std::thread::scope(|s| {
        let ha = s.spawn(|| input::load(&sa, toast, exact_counts));
        let b = input::load(&sb, toast, exact_counts);
        let a = ha.join().unwrap_or_else(|_| {
            Err(Error::Usage(format!(
                "reading {} failed unexpectedly",
                sa.label()
            )))
        });
        (a, b)
    });
    Ok((a?, b?))
}

fn warn(quiet: bool, lines: &[String]) {
    if quiet {
        return;
    }
    let mut err = io::stderr().lock();
    for l in lines {
        let _ = writeln!(err, "pgindexbloat: {l}");
    }
}

fn report_command(cli: &Cli) -> anyhow::Result<i32> {
    let (Some(a), Some(b)) = (&cli.production, &cli.fresh) else {
        return Err(Error::Usage("A and B are required".into()).into());
    };
    let started = std::time::Instant::now();
    let (a, b) = load_pair(a, b, cli.compare.toast, cli.compare.exact_counts)?;
    tracing::debug!("loaded in {:?}", started.elapsed());
    tracing::info!(
        "{}: {} indexes ({} left out); {}: {} indexes ({} left out)",
        a.label,
        a.len(),
        a.excluded,
        b.label,
        b.len(),
        b.excluded
    );
    let opts = Options {
        keep_compared: false, // only the check lists every compared index
        ..options(&cli.compare)
    };
    let c = compare::compare(&a, &b, &opts)?;
    tracing::debug!("compared in {:?}", started.elapsed());
    warn(cli.output.quiet, &report::warnings(&c, &a, &b));
    let style = match (cli.output.output, cli.pretty) {
        (Format::Json, _) => report::Style::Json,
        (_, true) => report::Style::Pretty,
        _ => report::Style::Plain,
    };
    // One locked, large buffer: the report can be a line per index.
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    report::write(&mut out, &c, &b, style, cli.sum)?;
    out.flush()?;
    tracing::debug!("printed in {:?}", started.elapsed());
    Ok(if c.missing.is_empty() {
        exit::SUCCESS
    } else {
        exit::PARTIAL_FAILURE
    })
}

fn check_command(args: &CheckArgs, out: &OutputArgs) -> i32 {
    let thresholds = check::Thresholds {
        warning_bytes: args.warning_bytes,
        critical_bytes: args.critical_bytes,
        warning_percent: args.warning_percent,
        critical_percent: args.critical_percent,
    };
    let result = load_pair(
        &args.production,
        &args.fresh,
        args.compare.toast,
        args.compare.exact_counts,
    )
    .and_then(|(a, b)| {
        let c = compare::compare(&a, &b, &options(&args.compare))?;
        warn(out.quiet, &report::warnings(&c, &a, &b));
        Ok(check::evaluate(&c, &b, &thresholds))
    });
    let result = result.unwrap_or_else(|e| Check::unknown(check::SERVICE, e));
    let mut p = Printer::new();
    let printed = if out.output == Format::Json {
        p.json(&serde_json::json!({
            "service": result.service,
            "status": result.status.to_string(),
            "code": result.status.code(),
            "summary": result.summary,
            "perfdata": result.perf.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }))
    } else {
        p.line(&result)
    };
    let _ = printed.and_then(|()| p.flush());
    result.status.code()
}

fn dump_command(args: &DumpArgs, out: &OutputArgs) -> anyhow::Result<i32> {
    let target = args
        .conn
        .as_deref()
        .map_or_else(|| "the PG* environment".to_string(), conn::redact);
    let mut client = conn::connect(args.conn.as_deref())?;
    let rows = conn::dump(&mut client, &target, args.exact_counts)?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| args.extra || !r.name.starts_with("pg_toast."))
        .collect();
    tracing::info!("{} indexes from {target}", rows.len());
    let write = |w: &mut dyn Write| -> anyhow::Result<()> {
        if out.output == Format::Json {
            for r in &rows {
                serde_json::to_writer(&mut *w, r)?;
                w.write_all(b"\n")?;
            }
            w.flush()?;
        } else {
            conn::write_csv(&rows, args.extra, &mut *w).map_err(|e| match e.into_kind() {
                csv::ErrorKind::Io(io) => anyhow::Error::new(io),
                other => anyhow::anyhow!("{other:?}"),
            })?;
        }
        Ok(())
    };
    match &args.file {
        None => write(&mut io::stdout().lock())?,
        Some(path) => {
            // Write next to the target and rename: readers never see half a file.
            let tmp = path.with_extension("csv.tmp");
            let file = std::fs::File::create(&tmp).map_err(|e| Error::Write {
                what: tmp.display().to_string(),
                source: e,
            })?;
            let mut w = io::BufWriter::new(file);
            write(&mut w).with_context(|| format!("cannot write {}", tmp.display()))?;
            drop(w);
            std::fs::rename(&tmp, path).map_err(|e| Error::Write {
                what: path.display().to_string(),
                source: e,
            })?;
        }
    }
    Ok(exit::SUCCESS)
}

fn estimate_command(args: &EstimateArgs, out: &OutputArgs) -> anyhow::Result<i32> {
    let target = args
        .conn
        .as_deref()
        .map_or_else(|| "the PG* environment".to_string(), conn::redact);
    let mut client = conn::connect(args.conn.as_deref())?;
    if args.create_extension {
        estimate::create_extension(&mut client, &target)?;
    }
    let (method, rows) = estimate::run(&mut client, &target, args.method, args.size_threshold)?;
    let mut p = Printer::new();
    if out.output == Format::Json {
        for r in &rows {
            p.json(r)?;
        }
    } else {
        p.line(format!("method: {}", estimate::describe(method)))?;
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    naming::display_name(&r.index).to_string(),
                    size::convert_bytes(r.production_bytes),
                    size::convert_bytes(r.expected_bytes),
                    size::convert_bytes(r.bloat_bytes),
                    format!("{:.1}%", r.bloat_ratio),
                    format!("{}%", r.percent),
                    r.note.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let text = output::table(
            &[
                "index",
                "size",
                "fresh (est.)",
                "bloat",
                "bloat share",
                "percent",
                "note",
            ],
            &table,
        );
        for line in text.lines() {
            p.line(line)?;
        }
    }
    p.flush()?;
    Ok(exit::SUCCESS)
}
