//! The command line (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::output::OutputArgs;
use mc_aws_common::startup::ToolCli;

use crate::config::StackConfig;
use crate::template::{Shape, Strategy, TemplateFormat};

const EXAMPLES: &str = "\
Examples:
  # Compare the strategies offline on the shipped day of demand and spot capacity events
  spot-stack simulate --config stack.toml --svg day.svg
  spot-stack simulate --config stack.toml --demand cpu.csv --events events.csv
  spot-stack simulate --config stack.toml --random-events 6 --seed 7
  spot-stack simulate --model bidding --spot-prices prices.csv    # the old price-driven replay

  # Generate, check and deploy the stack
  spot-stack template --config stack.toml > stack.yaml
  spot-stack template --config stack.toml --strategy mixed --format json
  spot-stack template --config stack.toml --strategy seed    # the write-up's template exactly
  spot-stack validate --config stack.toml
  spot-stack deploy   --config stack.toml --stack-name web-tier

  # Watch it and see what spot saves
  spot-stack status  --config stack.toml --stack-name web-tier
  spot-stack savings --config stack.toml --days 30 -o json | tail -1 | jq .saving_percent
  spot-stack delete  --stack-name web-tier";

const EXIT_EXTRA: &str = "\n\nFor deploy and delete, exit code 1 means the stack operation ran and failed (rolled back);\nthe failing resource and its reason are printed.";

/// The `--help` trailer: examples, then the exit codes.
pub fn after_long_help() -> String {
    format!(
        "{EXAMPLES}\n\n{}{EXIT_EXTRA}",
        mc_aws_common::exit::HELP_TABLE
    )
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "spot-stack",
    version,
    about = "CloudFormation stacks that run on spot instances and fall back to on-demand: template, validate, deploy, status, savings, simulate.",
    long_about = "CloudFormation stacks that run an app tier on spot instances and fall back to on-demand.\n\n\
Two auto scaling groups serve the same tier with the write-up's thresholds: the spot group scales up first \
(CPU > 50%) so the tier runs mostly on spot, the on-demand group at 80%. Spot draws from several instance \
types; when it cannot launch, a fallback group of on-demand instances covers the shortfall within minutes, \
without waiting for CPU, and leaves when spot serves again. `simulate` compares that with the write-up's \
original, AWS's mixed group, and the mixed group with the fallback, on your demand and on spot capacity \
events, before you deploy anything.",
    after_long_help = after_long_help()
)]
pub struct Cli {
    /// Stack configuration (TOML); every threshold defaults to the write-up's values.
    #[arg(long, short = 'c', env = "SPOT_STACK_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl ToolCli for Cli {
    fn output(&self) -> &OutputArgs {
        &self.output
    }

    /// Deploy and delete change a stack: a closed stdout stops them as
    /// SIGINT does (the stack operation itself goes on in CloudFormation).
    fn writes(&self) -> bool {
        matches!(self.command, Command::Deploy(_) | Command::Delete(_))
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Print the CloudFormation template.
    Template(TemplateArgs),
    /// Check the configuration's invariants, then ask CloudFormation to validate the template.
    Validate(ValidateArgs),
    /// Create or update the stack and stream its events until it settles.
    Deploy(DeployArgs),
    /// Delete the stack and stream its events until it is gone.
    Delete(DeleteArgs),
    /// Groups, instances by market, spot price against the max price, recent scaling.
    Status(StatusArgs),
    /// Expected saving against all on-demand, from EC2 spot price history.
    Savings(SavingsArgs),
    /// Compare strategies minute by minute on a demand trace and spot capacity events (offline).
    Simulate(SimulateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ShapeArgs {
    /// Two groups (the write-up's pattern) with a fallback group, one group with a MixedInstancesPolicy and a fallback group, or the write-up's template exactly (seed).
    #[arg(long, value_enum, default_value_t = Strategy::TwoGroups, env = "SPOT_STACK_STRATEGY")]
    pub strategy: Strategy,
    /// Spot maximum price in USD/hour (default: unset, i.e. capped at the on-demand price, as AWS advises).
    #[arg(long, value_parser = parse_price, env = "SPOT_STACK_MAX_PRICE")]
    pub max_price: Option<f64>,
    /// Leave out the fallback group (and its alarms) whatever the config says.
    #[arg(long)]
    pub no_fallback: bool,
}

impl ShapeArgs {
    /// The template's shape: these flags over the config.
    pub fn shape(&self, config: &StackConfig) -> Shape {
        Shape {
            strategy: self.strategy,
            max_price: self.max_price,
            fallback: config.fallback.enabled && !self.no_fallback,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct TemplateArgs {
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// Template format.
    #[arg(long, short = 'f', value_enum, default_value_t = TemplateFormat::Yaml)]
    pub format: TemplateFormat,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// Only the local checks: do not call CloudFormation ValidateTemplate.
    #[arg(long)]
    pub local: bool,
}

#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    /// Seconds between polls of the stack's events.
    #[arg(long, default_value_t = 5.0, value_parser = parse_seconds, env = "SPOT_STACK_POLL_SECONDS")]
    pub poll_seconds: f64,
    /// Give up waiting after this many seconds (the stack operation goes on).
    #[arg(long, default_value_t = 3600.0, value_parser = parse_seconds)]
    pub timeout_seconds: f64,
}

#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// Stack name.
    #[arg(long, short = 's', env = "SPOT_STACK_NAME")]
    pub stack_name: String,
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// Update with UpdateStack instead of a change set.
    #[arg(long)]
    pub no_change_set: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// Stack name.
    #[arg(long, short = 's', env = "SPOT_STACK_NAME")]
    pub stack_name: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Stack name.
    #[arg(long, short = 's', env = "SPOT_STACK_NAME")]
    pub stack_name: String,
    /// Scaling activities shown per group.
    #[arg(long, default_value_t = 5)]
    pub activities: i32,
    #[command(flatten)]
    pub prices: PriceArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PriceArgs {
    /// On-demand price override, TYPE=USD_PER_HOUR (repeatable).
    #[arg(long = "on-demand-price", value_name = "TYPE=PRICE")]
    pub on_demand_price: Vec<String>,
    /// CSV of on-demand prices: instance_type,price.
    #[arg(long = "on-demand-prices", value_name = "FILE")]
    pub on_demand_prices: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct SavingsArgs {
    /// Days of spot price history to look at.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90))]
    pub days: u32,
    /// Only this availability zone (default: every zone with history).
    #[arg(long)]
    pub zone: Option<String>,
    /// Average size of the tier (instances) for the tier-level estimate.
    #[arg(long, default_value_t = 6.0, value_parser = parse_positive)]
    pub average_instances: f64,
    /// Spot maximum price in USD/hour (default: the config's, else the on-demand price).
    #[arg(long, value_parser = parse_price)]
    pub max_price: Option<f64>,
    #[command(flatten)]
    pub prices: PriceArgs,
}

/// The market `simulate` models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Model {
    /// Today's: capacity comes and goes per pool (interruption bands, shortages, the two-minute notice); four strategies side by side.
    Capacity,
    /// Before 2017: replay a spot price history, spot reclaimed above the max price (the seed's two groups only).
    Bidding,
}

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// capacity (the default) or bidding (the default with --spot-prices).
    #[arg(long, value_enum)]
    pub model: Option<Model>,
    /// CPU demand CSV (minute,demand in instance-equivalents at 100% CPU). Default: the shipped sample day.
    #[arg(long)]
    pub demand: Option<PathBuf>,
    /// Capacity events CSV (start_minute,end_minute,instance_type,zone; * for all). Default: the shipped sample day's.
    #[arg(long, value_name = "FILE", conflicts_with = "random_events")]
    pub events: Option<PathBuf>,
    /// Instead of an events file: N shortages drawn at random (from --seed).
    #[arg(long, value_name = "N")]
    pub random_events: Option<u32>,
    /// Seed of the random draws: interruptions, price drift, --random-events (default: the config's simulate.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Spot price CSV (minute,USD per hour) to replay (--model bidding). Default: the shipped sample day.
    #[arg(long)]
    pub spot_prices: Option<PathBuf>,
    /// On-demand price override: PRICE for the first instance type, or TYPE=PRICE (repeatable). Default: the bundled table.
    #[arg(long = "on-demand-price", value_name = "[TYPE=]PRICE")]
    pub on_demand_price: Vec<String>,
    /// CSV of on-demand prices: instance_type,price.
    #[arg(long = "on-demand-prices", value_name = "FILE")]
    pub on_demand_prices: Option<PathBuf>,
    /// Spot maximum price, USD/hour (default: the config's, else none: capped at on-demand).
    #[arg(long, value_parser = parse_price)]
    pub max_price: Option<f64>,
    /// Boot time in seconds (default: the config's instances.boot_seconds, 75).
    #[arg(long)]
    pub boot_seconds: Option<u32>,
    /// Write an SVG chart: the strategies side by side (capacity), or hourly cost and capacity (bidding).
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Print the hourly table too (human output).
    #[arg(long)]
    pub hourly: bool,
}

impl SimulateArgs {
    pub fn model(&self) -> Model {
        self.model.unwrap_or(if self.spot_prices.is_some() {
            Model::Bidding
        } else {
            Model::Capacity
        })
    }

    /// The on-demand price flags as `TYPE=PRICE` (a bare price is the
    /// first type's).
    pub fn prices(&self, primary: &str) -> PriceArgs {
        PriceArgs {
            on_demand_price: self
                .on_demand_price
                .iter()
                .map(|p| match p.contains('=') {
                    true => p.clone(),
                    false => format!("{primary}={p}"),
                })
                .collect(),
            on_demand_prices: self.on_demand_prices.clone(),
        }
    }
}

fn parse_price(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!(
            "{s:?} is not a price (a positive number of USD per hour)"
        )),
    }
}

fn parse_positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() && v <= 86_400.0 * 7.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds")),
    }
}
