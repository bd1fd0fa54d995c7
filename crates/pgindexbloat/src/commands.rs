//! The commands: the report (`pgindexbloat A B`), `check`, `dump` and
//! `estimate`, each as plan → load or connect → compute → print.

use std::io::{self, Write};
use std::path::Path;

use mc_aws_common::exit;
use mc_aws_common::nagios::Check;
use mc_aws_common::output::{self, Format, OutputArgs, Printer};

use crate::cli::{CheckArgs, Cli, Command, CompareArgs, DumpArgs, EstimateArgs};
use crate::compare::{self, Comparison, Options, Order};
use crate::error::{Error, Result};
use crate::index::IndexRow;
use crate::input::{self, Source};
use crate::naming::{self, Toast};
use crate::snapshot::Snapshot;
use crate::stdout::Stdout;
use crate::{check, conn, dump, estimate, reindex, report, size};

/// Runs the command the command line asks for; returns the exit code.
pub fn run(cli: &Cli) -> Result<i32> {
    match &cli.command {
        None => report_command(cli),
        Some(Command::Check(args)) => check_command(args, &cli.output),
        Some(Command::Dump(args)) => dump_command(args, &cli.output),
        Some(Command::Estimate(args)) => estimate_command(args, &cli.output),
    }
}

/// The comparison's options; `pretty` (the original's compatibility mode)
/// orders like the original unless `--sort` says otherwise.
fn options(args: &CompareArgs, pretty: bool) -> Options {
    let order = match (args.sort, pretty) {
        (None, true) => Order {
            reverse: !args.reverse,
            ..Order::SEED
        },
        (key, _) => Order {
            key: key.unwrap_or_default(),
            reverse: args.reverse,
        },
    };
    Options {
        percent_threshold: args.percent_threshold,
        min_bloat: args.bloat_bytes,
        size_threshold: args.size_threshold,
        ignore_missing: args.ignore_missing,
        match_by_definition: !args.by_name_only,
        normalise: !args.no_normalise,
        order,
        keep_compared: true,
    }
}

/// Loads production and restore (concurrently: two files or two databases).
fn load_pair(
    production: &str,
    fresh: &str,
    toast: Toast,
    exact_counts: bool,
) -> Result<(Snapshot, Snapshot)> {
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

fn report_command(cli: &Cli) -> Result<i32> {
    let (Some(a), Some(b)) = (&cli.production, &cli.fresh) else {
        return Err(Error::Usage("A and B are required".into()));
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
        ..options(&cli.compare, cli.pretty)
    };
    let c = compare::compare(&a, &b, &opts)?;
    tracing::debug!("compared in {:?}", started.elapsed());
    warn(cli.output.quiet, &report::warnings(&c, &a, &b));
    print_report(cli, &c, &a, &b)?;
    tracing::debug!("printed in {:?}", started.elapsed());
    Ok(if c.missing.is_empty() {
        exit::SUCCESS
    } else {
        exit::PARTIAL_FAILURE
    })
}

fn print_report(
    cli: &Cli,
    c: &Comparison<'_>,
    production: &Snapshot,
    fresh: &Snapshot,
) -> Result<()> {
    // The rebuild runs on production: its version decides the statements.
    let reindex = cli
        .reindex_sql
        .then(|| match production.server_version.or(cli.server_version) {
            Some(v) => reindex::Target::Version(v),
            None => reindex::Target::Assumed,
        });
    let style = match (cli.output.output, reindex, cli.pretty) {
        (Format::Json, reindex, _) => report::Style::Json(reindex),
        (_, Some(target), _) => report::Style::ReindexSql(target),
        (_, None, true) => report::Style::Pretty,
        _ => report::Style::Plain,
    };
    let mut out = Stdout::default();
    report::write(&mut out, c, fresh, style, cli.sum)
        .and_then(|()| out.flush())
        .map_err(Error::stdout)
}

fn check_command(args: &CheckArgs, out: &OutputArgs) -> Result<i32> {
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
        let c = compare::compare(&a, &b, &options(&args.compare, false))?;
        warn(out.quiet, &report::warnings(&c, &a, &b));
        Ok(check::evaluate(&c, &b, &thresholds))
    });
    // An input that cannot be read is UNKNOWN, in the format asked for.
    let result = result.unwrap_or_else(|e| Check::unknown(check::SERVICE, e));
    print_check(&result, out.output);
    Ok(result.status.code())
}

/// The status line, or its JSON; a closed stdout does not change the answer.
fn print_check(result: &Check, format: Format) {
    let mut p = Printer::new();
    let printed = if format == Format::Json {
        p.json(&serde_json::json!({
            "service": result.service,
            "status": result.status.to_string(),
            "code": result.status.code(),
            "summary": result.summary,
            "perfdata": result.perf.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }))
    } else {
        p.line(result)
    };
    let _ = printed.and_then(|()| p.flush());
}

fn dump_command(args: &DumpArgs, out: &OutputArgs) -> Result<i32> {
    let mut db = conn::connect(args.conn.as_deref())?;
    let rows: Vec<IndexRow> = dump::dump(&mut db, args.exact_counts)?
        .into_iter()
        .filter(|r| args.extra || !r.name.starts_with("pg_toast."))
        .collect();
    tracing::info!("{} indexes from {}", rows.len(), db.target);
    let json = out.output == Format::Json;
    match &args.file {
        None => {
            let mut w = Stdout::default();
            write_rows(&rows, json, args.extra, &mut w).map_err(Error::stdout)?;
        }
        Some(path) => write_file_atomically(path, |w| write_rows(&rows, json, args.extra, w))?,
    }
    Ok(exit::SUCCESS)
}

/// The dumped rows as CSV (or JSON lines).
fn write_rows(rows: &[IndexRow], json: bool, extra: bool, w: &mut dyn Write) -> io::Result<()> {
    if json {
        for r in rows {
            serde_json::to_writer(&mut *w, r)?;
            w.write_all(b"\n")?;
        }
    } else {
        dump::write_csv(rows, extra, &mut *w).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => io::Error::other(format!("{other:?}")),
        })?;
    }
    w.flush()
}

/// Writes `path` through a temporary file next to it and a rename, so a
/// reader (a check) never sees half a file.
fn write_file_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let tmp = path.with_extension("csv.tmp");
    let failed = |what: &Path| {
        let what = what.display().to_string();
        move |source| Error::Write { what, source }
    };
    let file = std::fs::File::create(&tmp).map_err(failed(&tmp))?;
    let mut w = io::BufWriter::new(file);
    write(&mut w).map_err(failed(&tmp))?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(failed(path))
}

fn estimate_command(args: &EstimateArgs, out: &OutputArgs) -> Result<i32> {
    let mut db = conn::connect(args.conn.as_deref())?;
    if args.create_extension {
        estimate::create_extension(&mut db.client, &db.target)?;
    }
    let (method, rows) =
        estimate::run(&mut db.client, &db.target, args.method, args.size_threshold)?;
    print_estimates(method, &rows, out.output).map_err(Error::stdout)?;
    Ok(exit::SUCCESS)
}

fn print_estimates(
    method: estimate::Method,
    rows: &[estimate::Estimate],
    format: Format,
) -> io::Result<()> {
    let mut p = Printer::new();
    if format == Format::Json {
        for r in rows {
            p.json(r)?;
        }
        return p.flush();
    }
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
    let headers = [
        "index",
        "size",
        "fresh (est.)",
        "bloat",
        "bloat share",
        "percent",
        "note",
    ];
    for line in output::table(&headers, &table).lines() {
        p.line(line)?;
    }
    p.flush()
}
