//! Each command: read its inputs, run it, print its report on stdout
//! (through `Printer` / `write_stdout`, so a closed pipe is noticed).

use std::path::Path;

use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::{self, table, Format, Printer};

use crate::cli::{self, Cli, Command, ShapeArgs, SimulateArgs};
use crate::config::{self, StackConfig};
use crate::error::Error;
use crate::prices::OnDemandPrices;
use crate::simulate::{Params, Report, Series};
use crate::text::{duration, fmt_num};
use crate::tree::Node;
use crate::{savings, simulate, stack, status, svg, template, validate};

/// Runs the command line's command; the exit code on success.
pub async fn run(cli: Cli) -> Result<i32, Error> {
    let mut out = Printer::new();
    dispatch(&cli, &mut out).await?;
    out.flush()?;
    Ok(exit::SUCCESS)
}

async fn dispatch(cli: &Cli, out: &mut Printer) -> Result<(), Error> {
    let config = load_config(cli.config.as_deref())?;
    let format = cli.output.output;
    match &cli.command {
        Command::Template(a) => {
            check_locally(&config, &a.shape, format, out, false)?;
            let text = template::render(&build(&config, &a.shape)?, a.format);
            output::write_stdout(text.as_bytes())?;
            Ok(())
        }
        Command::Validate(a) => {
            check_locally(&config, &a.shape, format, out, true)?;
            if a.local {
                return Ok(());
            }
            let body = template::render(&build(&config, &a.shape)?, template::TemplateFormat::Yaml);
            stack::validate_remote(&cli.aws, &body, format, out).await
        }
        Command::Deploy(a) => {
            check_locally(&config, &a.shape, format, out, false)?;
            let body = template::render(&build(&config, &a.shape)?, template::TemplateFormat::Yaml);
            let interrupt = Interrupt::install("spot-stack");
            stack::deploy(&cli.aws, a, &body, format, out, &interrupt).await
        }
        Command::Delete(a) => {
            let interrupt = Interrupt::install("spot-stack");
            stack::delete(&cli.aws, a, format, out, &interrupt).await
        }
        Command::Status(a) => {
            let prices = on_demand_prices(&a.prices)?;
            status::run(&cli.aws, &config, &prices, a, format, out).await
        }
        Command::Savings(a) => {
            let prices = on_demand_prices(&a.prices)?;
            savings::run(&cli.aws, &config, &prices, a, format, out).await
        }
        Command::Simulate(a) => simulate_cmd(&config, a, format, out),
    }
}

fn build(config: &StackConfig, shape: &ShapeArgs) -> Result<Node, Error> {
    template::build(config, shape.shape(config)).map_err(|e| Error::Invalid(e.to_string()))
}

fn load_config(path: Option<&Path>) -> Result<StackConfig, Error> {
    let Some(p) = path else {
        return Ok(StackConfig::default());
    };
    StackConfig::load(p).map_err(|e| match e {
        config::ConfigError::Read { path, source } => Error::local_file(&path, source),
        other => Error::Invalid(other.to_string()),
    })
}

fn on_demand_prices(args: &cli::PriceArgs) -> Result<OnDemandPrices, Error> {
    let mut p = OnDemandPrices::with_overrides(&args.on_demand_price)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    if let Some(f) = &args.on_demand_prices {
        p.load_file(f).map_err(|e| Error::Invalid(e.to_string()))?;
    }
    Ok(p)
}

/// Local invariants: warnings on stderr, errors stop the command. With
/// `report`, every problem (and "ok") goes to stdout as well.
fn check_locally(
    config: &StackConfig,
    shape: &ShapeArgs,
    format: Format,
    out: &mut Printer,
    report: bool,
) -> Result<(), Error> {
    let od_price = OnDemandPrices::default()
        .get(config.primary_type())
        .map(|(p, _)| p);
    let problems = validate::check(config, shape.shape(config), od_price);
    if report {
        print_problems(&problems, format, out)?;
    } else {
        warn(
            problems
                .iter()
                .filter(|p| p.severity == validate::Severity::Warning),
        );
    }
    refuse_errors(&problems)?;
    if report && format == Format::Human {
        out.line(format!(
            "ok: local checks passed ({} warning{})",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        ))?;
    }
    Ok(())
}

fn print_problems(
    problems: &[validate::Problem],
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    for p in problems {
        match format {
            Format::Json => out.json(p)?,
            Format::Human => out.line(p)?,
        }
    }
    Ok(())
}

/// Warnings go to stderr: they must not mix with a template on stdout.
fn warn<'a>(problems: impl Iterator<Item = &'a validate::Problem>) {
    for p in problems {
        eprintln!("spot-stack: {p}");
    }
}

/// The first error (and how many more) as the command's error.
fn refuse_errors(problems: &[validate::Problem]) -> Result<(), Error> {
    let mut errors = problems
        .iter()
        .filter(|p| p.severity == validate::Severity::Error);
    let Some(first) = errors.next() else {
        return Ok(());
    };
    let more = match errors.count() {
        0 => String::new(),
        n => format!(" (and {n} more; run `spot-stack validate`)"),
    };
    Err(Error::Invalid(format!(
        "invalid configuration: {}: {}{more}",
        first.setting, first.message
    )))
}

const SAMPLE_DEMAND: &str = include_str!("../data/demand-day.csv");
const SAMPLE_SPOT: &str = include_str!("../data/spot-price-day.csv");

fn read_series(path: Option<&Path>, sample: &str, what: &str) -> Result<Series, Error> {
    let parsed = match path {
        None => Series::from_csv(sample, &format!("shipped sample {what}")),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::local_file(p, e))?;
            Series::from_csv(&text, &p.display().to_string())
        }
    };
    parsed.map_err(|e| Error::Invalid(e.to_string()))
}

fn simulate_cmd(
    config: &StackConfig,
    a: &SimulateArgs,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let demand = read_series(a.demand.as_deref(), SAMPLE_DEMAND, "demand")?;
    let spot = read_series(a.spot_prices.as_deref(), SAMPLE_SPOT, "spot prices")?;
    let params = simulate_params(config, a)?;
    let report = simulate::run(&params, &demand, &spot);
    if let Some(path) = &a.svg {
        let title = format!(
            "spot-stack simulate: {} h, {} at ${}/h on demand, max price ${}",
            fmt_num(f64::from(report.minutes) / 60.0),
            config.primary_type(),
            fmt_num(params.on_demand_price),
            fmt_num(params.max_price)
        );
        std::fs::write(path, svg::chart(&report, &title))
            .map_err(|e| Error::local_file(path, e))?;
    }
    match format {
        Format::Json => out.json(&report)?,
        Format::Human => print_simulation(config, a, &params, &report, out)?,
    }
    Ok(())
}

/// The simulation's parameters, after the checks that matter offline
/// (`instances.*` settings only matter to a deployed stack).
fn simulate_params(config: &StackConfig, a: &SimulateArgs) -> Result<Params, Error> {
    let on_demand_price = match a.on_demand_price {
        Some(p) => p,
        None => OnDemandPrices::default()
            .require(config.primary_type())
            .map_err(|e| Error::Invalid(format!("{e} (or --on-demand-price PRICE)")))?,
    };
    let mut shape = template::Shape::of(config, template::Strategy::TwoGroups);
    shape.max_price = a.max_price;
    let problems = validate::check(config, shape, Some(on_demand_price));
    let offline: Vec<_> = problems
        .into_iter()
        .filter(|p| !p.setting.starts_with("instances."))
        .collect();
    refuse_errors(&offline)?;
    warn(offline.iter());
    Ok(Params {
        on_demand: config.on_demand,
        spot: config.spot.group,
        boot_seconds: a.boot_seconds.unwrap_or(config.instances.boot_seconds),
        on_demand_price,
        max_price: a
            .max_price
            .or(config.spot.max_price)
            .unwrap_or(on_demand_price),
    })
}

fn print_simulation(
    config: &StackConfig,
    a: &SimulateArgs,
    params: &Params,
    report: &Report,
    out: &mut Printer,
) -> Result<(), Error> {
    out.line(format!(
        "simulated {} of demand; {} at ${}/h on demand, spot max ${}/h, boot {} s",
        duration(report.minutes),
        config.primary_type(),
        fmt_num(params.on_demand_price),
        fmt_num(params.max_price),
        params.boot_seconds
    ))?;
    out.line(table(&["", "value"], &summary_rows(report)).trim_end())?;
    if a.hourly {
        out.line("")?;
        out.line(hourly_table(report).trim_end())?;
    }
    if let Some(p) = &a.svg {
        out.line(format!("chart written to {}", p.display()))?;
    }
    Ok(())
}

fn summary_rows(r: &Report) -> Vec<Vec<String>> {
    let row = |k: &str, v: String| vec![k.to_string(), v];
    vec![
        row("cost", format!("${:.2}", r.cost)),
        row("all on-demand", format!("${:.2}", r.all_on_demand_cost)),
        row("saving", format!("{:.1}%", r.saving_percent)),
        row(
            "on-demand instance-hours",
            format!("{:.1}", r.on_demand_instance_hours),
        ),
        row(
            "spot instance-hours",
            format!("{:.1}", r.spot_instance_hours),
        ),
        row(
            "demand (instance-hours at 100% CPU)",
            format!("{:.1}", r.demand_instance_hours),
        ),
        row("minutes short of capacity", r.short_minutes.to_string()),
        row(
            "spot reclaims (instances)",
            format!("{} ({})", r.reclaim_events, r.spot_instances_reclaimed),
        ),
        row(
            "scale-ups on-demand / spot",
            format!("{} / {}", r.on_demand_scale_ups, r.spot_scale_ups),
        ),
        row(
            "scale-downs on-demand / spot",
            format!("{} / {}", r.on_demand_scale_downs, r.spot_scale_downs),
        ),
        row("peak instances", r.peak_instances.to_string()),
    ]
}

fn hourly_table(r: &Report) -> String {
    let rows: Vec<Vec<String>> = r
        .hours
        .iter()
        .map(|h| {
            vec![
                format!("{:02}", h.hour),
                format!("{:.2}", h.demand),
                format!("{:.1}", h.on_demand_instances),
                format!("{:.1}", h.spot_instances),
                format!("{:.3}", h.on_demand_cost),
                format!("{:.3}", h.spot_cost),
                h.short_minutes.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "hour",
            "demand",
            "on-demand",
            "spot",
            "od $",
            "spot $",
            "short min",
        ],
        &rows,
    )
}
