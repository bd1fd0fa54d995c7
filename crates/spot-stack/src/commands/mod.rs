//! Each command: read its inputs, run it, print its report on stdout
//! (through `Printer` / `write_stdout`, so a closed pipe is noticed).

use std::path::Path;

use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::{self, Format, Printer};

use crate::cli::{self, Cli, Command, ShapeArgs};
use crate::config::{self, StackConfig};
use crate::error::Error;
use crate::prices::OnDemandPrices;
use crate::tree::Node;
use crate::{savings, stack, status, template, validate};

mod simulate;

/// Runs the command line's command; the exit code on success.
pub async fn run(cli: &Cli) -> Result<i32, Error> {
    let mut out = Printer::new();
    dispatch(cli, &mut out).await?;
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
        Command::Simulate(a) => simulate::run(&config, a, format, out),
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
