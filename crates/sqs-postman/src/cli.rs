//! Command line: `message` and `stats`, compatible with the Node `sqs-postman`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::nagios::NagiosArgs;
use mc_aws_common::output::OutputArgs;
use mc_aws_common::startup::{NagiosMode, Tool, ToolCli};

/// The tool, as its one `main` starts it.
pub const TOOL: Tool = Tool {
    name: "sqs-postman",
    nagios: Some(NagiosMode {
        words: &["--nagios"],
        service: "SQS",
    }),
};

const ABOUT: &str =
    "Send thousands to millions of SQS messages fast, and never claim success falsely.";

const EXAMPLES: &str = "\
Examples:
  # 1 message (the file's JSON) to a queue by name
  sqs-postman message jobs -m message.json

  # 100,000 messages from 50 concurrent producers, a fresh UUID in each
  echo '{\"id\":\"%unique%\",\"n\":%seq%,\"at\":\"%timestamp%\"}' > msg.json
  sqs-postman message jobs -m msg.json -t 100000 -c 50

  # Every line of an NDJSON stream is one message
  jq -c '.events[]' dump.json | sqs-postman message jobs -m - --lines

  # Steady load: 200 messages/s for 10 minutes, JSON summary
  sqs-postman message jobs -m msg.json --rate 200/s --duration 10m -o json

  # FIFO queue, round-robin over 8 message groups
  sqs-postman message orders.fifo -m msg.json -t 1000 --groups 8

  # Queue depth, and a Nagios check on it
  sqs-postman stats jobs
  sqs-postman stats jobs --nagios --warning 1000 --critical 10000

Templates (message bodies and --attribute values):
  %unique%          fresh UUID v4 per message
  %seq%             sequence number in this run, from 1
  %timestamp%       generation time, RFC 3339 UTC with milliseconds
  %epoch_ms%        generation time, Unix milliseconds
  %rand_int(A,B)%   random integer in A..=B
  %rand_hex(N)%     N random hex digits (1..=4096)
  Anything else between % signs is sent as it is.

Debug logs: DEBUG=sqs-postman (or RUST_LOG=sqs_postman=debug, or -vv).
";

const EXIT_NOTE: &str = "\
sqs-postman exits 1 when any message was not delivered (failed or never sent),
and 0 only when every message was accepted by SQS. stats --nagios exits 0/1/2/3.";

/// The original's `-p/--aws-profile` and `-r/--aws-region` on the shared AWS
/// arguments, whose S3 addressing means nothing for SQS.
#[derive(Debug, Clone, Parser)]
#[command(name = "sqs-postman", version, about = ABOUT, after_help = EXAMPLES,
          after_long_help = format!("{EXAMPLES}\n{}\n\n{EXIT_NOTE}", mc_aws_common::exit::HELP_TABLE),
          mut_arg("profile", |a| a.short('p').visible_alias("aws-profile")),
          mut_arg("region", |a| a.short('r').visible_alias("aws-region")
              .help("Region (default: from the profile, the environment, or the queue URL)")),
          mut_arg("endpoint_url", |a| a.help("Custom endpoint (a local emulator, a VPC endpoint)")),
          mut_arg("addressing", |a| a.hide(true)))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl ToolCli for Cli {
    fn output(&self) -> &OutputArgs {
        &self.output
    }

    fn nagios_timeout(&self) -> Option<u64> {
        match &self.command {
            Command::Stats(s) if s.nagios => Some(s.check.timeout),
            _ => None,
        }
    }

    fn writes(&self) -> bool {
        matches!(self.command, Command::Message(_))
    }

    fn log_directive(&self) -> Option<String> {
        debug_directive(std::env::var("DEBUG").ok()?.as_str())
    }
}

/// `DEBUG=sqs-postman` (the Node `debug` module's switch; also `DEBUG=*`,
/// `DEBUG=sqs-postman*`, or a comma-separated list) turns on our debug logs.
fn debug_directive(value: &str) -> Option<String> {
    value
        .split([',', ' '])
        .map(str::trim)
        .any(|d| {
            d == "*"
                || d.trim_end_matches('*').trim_end_matches(':') == TOOL.name
                || d == "postman*"
        })
        .then(|| "sqs_postman=debug".to_string())
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Send messages to a queue.
    #[command(after_help = EXAMPLES, after_long_help = format!("{EXAMPLES}\n{}\n\n{EXIT_NOTE}", mc_aws_common::exit::HELP_TABLE))]
    Message(MessageArgs),
    /// Show a queue's depth: visible, in flight, delayed messages.
    #[command(after_long_help = format!("{}\n\n{EXIT_NOTE}", mc_aws_common::exit::HELP_TABLE))]
    Stats(StatsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct MessageArgs {
    /// Queue name, URL or ARN.
    pub queue: String,

    /// File with the message body (a template), or `-` for stdin.
    #[arg(
        long,
        short = 'm',
        env = "SQS_POSTMAN_MESSAGE_SOURCE",
        help_heading = "Messages"
    )]
    pub message_source: PathBuf,

    /// How many messages to send (default 1; with --lines or --duration: no limit).
    #[arg(
        long,
        short = 't',
        env = "SQS_POSTMAN_TOTAL",
        help_heading = "Messages"
    )]
    pub total: Option<u64>,

    /// Every line of the source is one message (NDJSON), streamed; empty lines are skipped.
    #[arg(long, help_heading = "Messages")]
    pub lines: bool,

    /// Send bodies as they are, without checking that they are JSON.
    #[arg(long, help_heading = "Messages")]
    pub raw: bool,

    /// Send a pretty-printed JSON file as one line, without the white space between tokens
    /// (as the original tool did up to 0.1.5).
    #[arg(long, conflicts_with_all = ["raw", "lines"], help_heading = "Messages")]
    pub compact: bool,

    /// Message attribute, repeatable: NAME=VALUE (String) or NAME:Number=VALUE; values are templates.
    #[arg(long = "attribute", short = 'a', value_name = "NAME[:TYPE]=VALUE", value_parser = parse_attribute, help_heading = "Messages")]
    pub attributes: Vec<AttributeArg>,

    /// Delay before the messages become visible, 0..=900 seconds (standard queues only).
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..=900), help_heading = "Messages")]
    pub delay_seconds: Option<i32>,

    /// FIFO: the MessageGroupId (with --groups: the prefix of the group ids).
    #[arg(long, default_value = "sqs-postman", help_heading = "FIFO queues")]
    pub group_id: String,

    /// FIFO: round-robin over K message groups, GROUP_ID-0 .. GROUP_ID-(K-1).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "group_per_message", help_heading = "FIFO queues")]
    pub groups: Option<u64>,

    /// FIFO: every message in its own group, GROUP_ID-SEQ (no ordering between messages).
    #[arg(long, help_heading = "FIFO queues")]
    pub group_per_message: bool,

    /// Concurrent producers: SendMessageBatch requests in flight (lowered automatically on throttling).
    #[arg(long, short = 'c', default_value_t = 10, env = "SQS_POSTMAN_CONCURRENT_PRODUCERS", value_parser = clap::value_parser!(u32).range(1..=1024), help_heading = "Throughput")]
    pub concurrent_producers: u32,

    /// Steady load: at most this many messages per second (N, N/s, N/m or N/h).
    #[arg(long, value_parser = parse_rate, help_heading = "Throughput")]
    pub rate: Option<f64>,

    /// Stop generating messages after this long (e.g. 90s, 10m, 1h).
    #[arg(long, value_parser = mc_aws_common::units::parse_duration, help_heading = "Throughput")]
    pub duration: Option<Duration>,

    /// Attempts per request and per failed batch entry before giving up.
    #[arg(long, default_value_t = 10, env = "MC_MAX_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..=100), help_heading = "Throughput")]
    pub max_attempts: u32,
}

/// The original's `-w`, `-c` and `-t` on the shared Nagios flags, worded for
/// the metric, and the thresholds only with `--nagios`.
#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("warning", |a| a.short('w').requires("nagios").help(
        "WARNING range for the metric (`1000`: above 1000; also `10k`, `@5:10`, ... as in the plugin guidelines)")),
    mut_arg("critical", |a| a.short('c').requires("nagios").help("CRITICAL range for the metric")),
    mut_arg("timeout", |a| a.short('t').help(
        "With --nagios: answer UNKNOWN when SQS has not answered after this many seconds"))
)]
pub struct StatsArgs {
    /// Queue name, URL or ARN.
    pub queue: String,
    /// Nagios plugin output: one status line with perfdata, exit 0/1/2/3.
    #[arg(long, help_heading = "Nagios")]
    pub nagios: bool,
    /// Which count the thresholds apply to.
    #[arg(long, value_enum, default_value_t = Metric::Visible, help_heading = "Nagios")]
    pub metric: Metric,
    #[command(flatten)]
    pub check: NagiosArgs,
}

/// A queue-depth count for `stats --nagios`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Metric {
    /// Messages available for retrieval.
    Visible,
    /// Received but not yet deleted.
    InFlight,
    /// Not yet visible (delay queues, DelaySeconds).
    Delayed,
    /// All three together.
    Total,
}

/// Data types SQS accepts for message attributes that we can render from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Number,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "String",
            AttrType::Number => "Number",
        }
    }
}

/// `--attribute NAME[:TYPE]=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeArg {
    pub name: String,
    pub data_type: AttrType,
    pub value: String,
}

fn parse_attribute(s: &str) -> Result<AttributeArg, String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected NAME=VALUE or NAME:Number=VALUE"))?;
    let (name, data_type) = match key.split_once(':') {
        None => (key, AttrType::String),
        Some((n, t)) => match t.to_ascii_lowercase().as_str() {
            "string" => (n, AttrType::String),
            "number" => (n, AttrType::Number),
            _ => return Err(format!("{s:?}: attribute type must be String or Number")),
        },
    };
    let valid_name = !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !name.to_ascii_lowercase().starts_with("aws.")
        && !name.to_ascii_lowercase().starts_with("amazon.");
    if !valid_name {
        return Err(format!(
            "{name:?} is not a valid attribute name (letters, digits, _ - . ; at most 256; not starting with AWS. or Amazon.)"
        ));
    }
    if value.is_empty() {
        return Err(format!("attribute {name}: the value must not be empty"));
    }
    Ok(AttributeArg {
        name: name.to_string(),
        data_type,
        value: value.to_string(),
    })
}

/// `100`, `100/s`, `6000/m`, `3600/h` → messages per second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let (n, per) = match s.split_once('/') {
        Some((n, unit)) => {
            let per = match unit.trim() {
                "s" | "sec" | "second" => 1.0,
                "m" | "min" | "minute" => 60.0,
                "h" | "hour" => 3600.0,
                _ => return Err(format!("{s:?}: the unit must be /s, /m or /h")),
            };
            (n, per)
        }
        None => (s, 1.0),
    };
    match n.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v / per),
        _ => Err(format!("{s:?} is not a positive rate, e.g. 100/s")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn original_flags_parse() {
        let cli = Cli::try_parse_from([
            "sqs-postman",
            "message",
            "q",
            "-m",
            "f.json",
            "-t",
            "15",
            "-c",
            "20",
            "-p",
            "prof",
            "-r",
            "us-east-1",
        ])
        .unwrap();
        assert_eq!(cli.aws.profile.as_deref(), Some("prof"));
        assert_eq!(cli.aws.region.as_deref(), Some("us-east-1"));
        let Command::Message(m) = cli.command else {
            panic!("not message")
        };
        assert_eq!(m.total, Some(15));
        assert_eq!(m.concurrent_producers, 20);
        let cli = Cli::try_parse_from([
            "sqs-postman",
            "message",
            "q",
            "--message-source",
            "f",
            "--aws-profile",
            "p",
            "--aws-region",
            "eu-west-1",
            "--concurrent-producers",
            "3",
        ])
        .unwrap();
        assert_eq!(cli.aws.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn the_originals_debug_switch() {
        for on in [
            "sqs-postman",
            "*",
            "sqs-postman*",
            "x,sqs-postman:*",
            "postman*",
        ] {
            assert_eq!(
                debug_directive(on).as_deref(),
                Some("sqs_postman=debug"),
                "{on}"
            );
        }
        for off in ["", "express", "sqs-postman-bin", "postman"] {
            assert_eq!(debug_directive(off), None, "{off}");
        }
    }

    #[test]
    fn rates_and_durations() {
        assert_eq!(parse_rate("100").unwrap(), 100.0);
        assert_eq!(parse_rate("100/s").unwrap(), 100.0);
        assert_eq!(parse_rate("60/m").unwrap(), 1.0);
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("5/d").is_err());
    }

    #[test]
    fn attributes() {
        let a = parse_attribute("source=bench").unwrap();
        assert_eq!(a.data_type, AttrType::String);
        let a = parse_attribute("n:Number=%seq%").unwrap();
        assert_eq!(
            (a.name.as_str(), a.data_type, a.value.as_str()),
            ("n", AttrType::Number, "%seq%")
        );
        assert!(parse_attribute("novalue").is_err());
        assert!(parse_attribute("AWS.x=1").is_err());
        assert!(parse_attribute("a:Binary=1").is_err());
        assert!(parse_attribute("a=").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
