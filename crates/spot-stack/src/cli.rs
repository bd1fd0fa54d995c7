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
  # Tune thresholds offline on the shipped day of demand and spot prices
  spot-stack simulate --svg day.svg
  spot-stack simulate --config stack.toml --demand cpu.csv --spot-prices prices.csv

  # Generate, check and deploy the stack
  spot-stack template --config stack.toml > stack.yaml
  spot-stack template --config stack.toml --strategy mixed --format json
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
Two auto scaling groups serve the same tier: the spot group scales up first (CPU > 50%) so the tier runs \
mostly on spot; when spot capacity goes away CPU rises and the on-demand group (CPU > 80%) fills in, and it \
is phased out again when spot comes back. `simulate` shows what that costs on your own demand and price \
traces before you deploy anything.",
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
    /// Simulate both groups minute by minute on demand and spot-price traces (offline).
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

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// CPU demand CSV (minute,demand in instance-equivalents at 100% CPU). Default: the shipped sample day.
    #[arg(long)]
    pub demand: Option<PathBuf>,
    /// Spot price CSV (minute,USD per hour). Default: the shipped sample day.
    #[arg(long)]
    pub spot_prices: Option<PathBuf>,
    /// On-demand price, USD/hour (default: the bundled table's price for the first instance type).
    #[arg(long, value_parser = parse_price)]
    pub on_demand_price: Option<f64>,
    /// Spot maximum price, USD/hour (default: the config's, else the on-demand price).
    #[arg(long, value_parser = parse_price)]
    pub max_price: Option<f64>,
    /// Boot time in seconds (default: the config's instances.boot_seconds, 75).
    #[arg(long)]
    pub boot_seconds: Option<u32>,
    /// Write an SVG chart of hourly cost and capacity by market.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Print the hourly table too (human output).
    #[arg(long)]
    pub hourly: bool,
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
