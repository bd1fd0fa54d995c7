//! CloudFormation stacks that prefer spot instances and fall back to
//! on-demand: template, validate, deploy, status, savings, simulate.
//!
//! Modules: [`config`] (the TOML file, defaults from the write-up),
//! [`template`] (the CloudFormation template), [`validate`] (local
//! invariants), [`simulate`] + [`svg`] (offline what-if), [`prices`]
//! (on-demand price table), [`ec2`] (DescribeSpotPriceHistory without the EC2
//! SDK), [`stack`] (deploy/delete with event streaming), [`status`] and
//! [`savings`].

pub mod cli;
pub mod config;
pub mod ec2;
pub mod prices;
pub mod savings;
pub mod simulate;
pub mod stack;
pub mod status;
pub mod svg;
pub mod template;
pub mod validate;

use std::io;
use std::path::Path;

use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::output::{Format, Printer};

use crate::cli::{Cli, Command, ShapeArgs, SimulateArgs};
use crate::config::StackConfig;
use crate::prices::OnDemandPrices;
use crate::simulate::{Params, Series};

/// Everything that can stop a command, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: config, CSV, flags, broken invariants.
    #[error("{0}")]
    Invalid(String),
    /// A file named on the command line does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The stack operation ran and failed (rolled back).
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Aws(#[from] ToolError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) => exit::USAGE,
            Error::NotFound(_) => exit::NOT_FOUND,
            Error::Failed(_) => exit::PARTIAL_FAILURE,
            Error::Aws(e) => e.exit_code(),
            Error::Io(_) => exit::SERVICE,
        }
    }
}

/// Numbers without trailing zeros: 80, 0.5, 12.25.
pub fn fmt_num(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<_> = std::env::args_os().collect();
    let cli = match mc_aws_common::startup::parse_args::<Cli>(&args, None) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    mc_aws_common::logging::init(cli.output.verbosity(), None);
    let mut out = Printer::new();
    let result = run(&cli, &mut out).and_then(|()| out.flush().map_err(Error::from));
    match result {
        Ok(()) => exit::SUCCESS,
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => exit::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            eprintln!("spot-stack: error: {e}");
            e.exit_code()
        }
    }
}

fn run(cli: &Cli, out: &mut Printer) -> Result<(), Error> {
    let config = load_config(cli.config.as_deref())?;
    let format = cli.output.output;
    match &cli.command {
        Command::Template(a) => {
            check_locally(&config, &a.shape, format, out, false)?;
            let t = template::build(&config, a.shape.strategy, a.shape.max_price)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            let text = template::render(&t, a.format);
            io::Write::write_all(&mut io::stdout().lock(), text.as_bytes())?;
            Ok(())
        }
        Command::Validate(a) => {
            check_locally(&config, &a.shape, format, out, true)?;
            if a.local {
                return Ok(());
            }
            let t = template::build(&config, a.shape.strategy, a.shape.max_price)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            runtime()?.block_on(stack::validate_remote(
                &cli.aws,
                &template::render(&t, template::TemplateFormat::Yaml),
                format,
                out,
            ))
        }
        Command::Deploy(a) => {
            check_locally(&config, &a.shape, format, out, false)?;
            let t = template::build(&config, a.shape.strategy, a.shape.max_price)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            let body = template::render(&t, template::TemplateFormat::Yaml);
            runtime()?.block_on(stack::deploy(&cli.aws, a, &body, format, out))
        }
        Command::Delete(a) => runtime()?.block_on(stack::delete(&cli.aws, a, format, out)),
        Command::Status(a) => {
            let prices = on_demand_prices(&a.prices)?;
            runtime()?.block_on(status::run(&cli.aws, &config, &prices, a, format, out))
        }
        Command::Savings(a) => {
            let prices = on_demand_prices(&a.prices)?;
            runtime()?.block_on(savings::run(&cli.aws, &config, &prices, a, format, out))
        }
        Command::Simulate(a) => simulate_cmd(&config, a, format, out),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn load_config(path: Option<&Path>) -> Result<StackConfig, Error> {
    match path {
        None => Ok(StackConfig::default()),
        Some(p) => StackConfig::load(p).map_err(|e| match &e {
            config::ConfigError::Read { source, .. }
                if source.kind() == io::ErrorKind::NotFound =>
            {
                Error::NotFound(e.to_string())
            }
            _ => Error::Invalid(e.to_string()),
        }),
    }
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
    let problems = validate::check(config, shape.strategy, shape.max_price, od_price);
    let errors = problems
        .iter()
        .filter(|p| p.severity == validate::Severity::Error)
        .count();
    if report {
        match format {
            Format::Json => {
                for p in &problems {
                    out.json(p)?;
                }
            }
            Format::Human => {
                for p in &problems {
                    out.line(p)?;
                }
            }
        }
    } else {
        for p in problems
            .iter()
            .filter(|p| p.severity == validate::Severity::Warning)
        {
            eprintln!("spot-stack: {p}");
        }
    }
    if errors > 0 {
        let first = problems
            .iter()
            .find(|p| p.severity == validate::Severity::Error)
            .map(|p| format!("{}: {}", p.setting, p.message))
            .unwrap_or_default();
        let more = if errors > 1 {
            format!(" (and {} more; run `spot-stack validate`)", errors - 1)
        } else {
            String::new()
        };
        return Err(Error::Invalid(format!(
            "invalid configuration: {first}{more}"
        )));
    }
    if report && format == Format::Human {
        out.line(format!(
            "ok: local checks passed ({} warning{})",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        ))?;
    }
    Ok(())
}

const SAMPLE_DEMAND: &str = include_str!("../data/demand-day.csv");
const SAMPLE_SPOT: &str = include_str!("../data/spot-price-day.csv");

fn read_series(path: Option<&Path>, sample: &str, what: &str) -> Result<Series, Error> {
    match path {
        None => Series::from_csv(sample, &format!("shipped sample {what}")),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                let msg = format!("{}: {e}", p.display());
                if e.kind() == io::ErrorKind::NotFound {
                    Error::NotFound(msg)
                } else {
                    Error::Invalid(msg)
                }
            })?;
            Series::from_csv(&text, &p.display().to_string())
        }
    }
    .map_err(|e| Error::Invalid(e.to_string()))
}

fn simulate_cmd(
    config: &StackConfig,
    a: &SimulateArgs,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let demand = read_series(a.demand.as_deref(), SAMPLE_DEMAND, "demand")?;
    let spot = read_series(a.spot_prices.as_deref(), SAMPLE_SPOT, "spot prices")?;
    let on_demand_price = match a.on_demand_price {
        Some(p) => p,
        None => OnDemandPrices::default()
            .require(config.primary_type())
            .map_err(|e| Error::Invalid(format!("{e} (or --on-demand-price PRICE)")))?,
    };
    let max_price = a
        .max_price
        .or(config.spot.max_price)
        .unwrap_or(on_demand_price);
    let params = Params {
        on_demand: config.on_demand,
        spot: config.spot.group,
        boot_seconds: a.boot_seconds.unwrap_or(config.instances.boot_seconds),
        on_demand_price,
        max_price,
    };
    let problems = validate::check(
        config,
        template::Strategy::TwoGroups,
        a.max_price,
        Some(on_demand_price),
    );
    for p in problems
        .iter()
        .filter(|p| !p.setting.starts_with("instances."))
    {
        if p.severity == validate::Severity::Error {
            return Err(Error::Invalid(format!(
                "invalid configuration: {}: {}",
                p.setting, p.message
            )));
        }
        eprintln!("spot-stack: {p}");
    }
    let report = simulate::run(&params, &demand, &spot);
    if let Some(path) = &a.svg {
        let title = format!(
            "spot-stack simulate: {} h, {} at ${}/h on demand, max price ${}",
            fmt_num(f64::from(report.minutes) / 60.0),
            config.primary_type(),
            fmt_num(on_demand_price),
            fmt_num(max_price)
        );
        std::fs::write(path, svg::chart(&report, &title))
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    }
    match format {
        Format::Json => out.json(&report)?,
        Format::Human => {
            let rows = vec![
                vec!["cost".into(), format!("${:.2}", report.cost)],
                vec![
                    "all on-demand".into(),
                    format!("${:.2}", report.all_on_demand_cost),
                ],
                vec!["saving".into(), format!("{:.1}%", report.saving_percent)],
                vec![
                    "on-demand instance-hours".into(),
                    format!("{:.1}", report.on_demand_instance_hours),
                ],
                vec![
                    "spot instance-hours".into(),
                    format!("{:.1}", report.spot_instance_hours),
                ],
                vec![
                    "demand (instance-hours at 100% CPU)".into(),
                    format!("{:.1}", report.demand_instance_hours),
                ],
                vec![
                    "minutes short of capacity".into(),
                    report.short_minutes.to_string(),
                ],
                vec![
                    "spot reclaims (instances)".into(),
                    format!(
                        "{} ({})",
                        report.reclaim_events, report.spot_instances_reclaimed
                    ),
                ],
                vec![
                    "scale-ups on-demand / spot".into(),
                    format!("{} / {}", report.on_demand_scale_ups, report.spot_scale_ups),
                ],
                vec![
                    "scale-downs on-demand / spot".into(),
                    format!(
                        "{} / {}",
                        report.on_demand_scale_downs, report.spot_scale_downs
                    ),
                ],
                vec!["peak instances".into(), report.peak_instances.to_string()],
            ];
            out.line(format!(
                "simulated {} of demand; {} at ${}/h on demand, spot max ${}/h, boot {} s",
                duration(report.minutes),
                config.primary_type(),
                fmt_num(on_demand_price),
                fmt_num(max_price),
                params.boot_seconds
            ))?;
            out.line(mc_aws_common::output::table(&["", "value"], &rows).trim_end())?;
            if a.hourly {
                let rows: Vec<Vec<String>> = report
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
                out.line("")?;
                out.line(
                    mc_aws_common::output::table(
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
                    .trim_end(),
                )?;
            }
            if let Some(p) = &a.svg {
                out.line(format!("chart written to {}", p.display()))?;
            }
        }
    }
    Ok(())
}

fn duration(minutes: u32) -> String {
    if minutes % 60 == 0 {
        format!("{} h", minutes / 60)
    } else {
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}
