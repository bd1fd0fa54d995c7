//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use mc_aws_common::cli::{AwsArgs, ShardArgs, ThrottleArgs, TwoSidedArgs};
use mc_aws_common::inventory::InventoryArgs;
use mc_aws_common::nagios::NagiosArgs;
use mc_aws_common::output::OutputArgs;
use mc_aws_common::s3url::{S3Url, S3UrlError};

const EXAMPLES: &str = "\
Examples:
  # Objects and bytes of a bucket (64 parallel listings by default)
  s3-key-counter s3://logs-archive

  # One prefix, broken down by the first two path levels and storage class
  s3-key-counter s3://logs-archive/2024/ --by-prefix 2 --by-storage-class

  # The hidden cost of versioning, and forgotten multipart uploads
  s3-key-counter s3://assets --versions --multipart

  # Migration progress: how far the destination lags the source
  s3-key-counter s3://old-bucket s3://new-bucket --dest-profile target

  # For pipelines
  s3-key-counter s3://assets -o json | jq .bytes

  # Split a huge count over 8 machines with balanced slices
  s3-key-counter s3://big --emit-splits 8 > splits.txt
  s3-key-counter s3://big --splits splits.txt --shard 3/8 -o json   # on machine 3

  # Nagios: objects missing from the replica (alert above 1k / 100k)
  s3-key-counter s3://src s3://replica --check diff-objects --warning 1k --critical 100k

  # Big buckets: count from cron, check from the saved count (answers at once)
  s3-key-counter --save-state /var/lib/s3kc/assets.json s3://assets > /dev/null   # cron
  s3-key-counter --from-state /var/lib/s3kc/assets.json --max-age 2h --check objects \\
      --warning 20M --critical 24M

Thresholds (--warning, --critical) are Nagios ranges: N alerts outside 0..N,
N: below N, ~:N above N, A:B outside A..B, @A:B inside A..B. Numbers take
k M G T P (x1000) or Ki Mi Gi Ti Pi (x1024) suffixes, optionally with B.";

/// What `--check` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckMetric {
    /// Objects of each URL.
    Objects,
    /// Bytes of each URL.
    Bytes,
    /// Objects of the first URL minus those of each other URL (how far a copy lags).
    DiffObjects,
    /// Bytes of the first URL minus those of each other URL.
    DiffBytes,
}

impl CheckMetric {
    pub fn is_diff(self) -> bool {
        matches!(self, CheckMetric::DiffObjects | CheckMetric::DiffBytes)
    }
}

/// Count the objects and bytes of S3 buckets fast, listing each key space in
/// parallel.
#[derive(Debug, Parser)]
#[command(
    name = "s3-key-counter",
    version,
    about = "Count the objects and bytes of S3 buckets fast, listing the key space in parallel.",
    long_about = "Count the objects and bytes of S3 buckets fast, listing the key space in parallel.\n\n\
        Lists every key exactly once with many ListObjectsV2 calls at once (the key space is \
        split as it is discovered, so skewed buckets stay fast), keeping only counters in memory. \
        With two or more URLs, counts them all and prints how far each lags the first.",
    after_long_help = format!("{EXAMPLES}\n\n{}", mc_aws_common::exit::HELP_TABLE),
    after_help = "See --help for examples, thresholds and exit codes.",
    mut_arg("warning", |a| a.requires("check")),
    mut_arg("critical", |a| a.requires("check"))
)]
pub struct Cli {
    /// What to count: s3://bucket[/prefix]. With two or more, the first is the
    /// reference the others are compared with.
    // Parsed by `Cli::parsed_urls`, so that a bad one gets one clear line.
    #[arg(required_unless_present = "from_state", value_name = "S3_URL")]
    pub urls: Vec<String>,

    /// Group counts by the first DEPTH levels of the key below the prefix.
    #[arg(long, value_name = "DEPTH", env = "S3KC_BY_PREFIX", value_parser = clap::value_parser!(u32).range(1..=1000), help_heading = "Breakdowns")]
    pub by_prefix: Option<u32>,
    /// What separates levels for --by-prefix.
    #[arg(
        long,
        default_value = "/",
        env = "S3KC_DELIMITER",
        help_heading = "Breakdowns"
    )]
    pub delimiter: String,
    /// Group counts by storage class.
    #[arg(long, env = "S3KC_BY_STORAGE_CLASS", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue, help_heading = "Breakdowns")]
    pub by_storage_class: bool,
    /// Also count noncurrent versions and delete markers, with their bytes
    /// (lists with ListObjectVersions).
    #[arg(long, env = "S3KC_VERSIONS", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue, help_heading = "Breakdowns")]
    pub versions: bool,
    /// Also count incomplete multipart uploads and the bytes of their parts.
    #[arg(long, env = "S3KC_MULTIPART", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue, help_heading = "Breakdowns")]
    pub multipart: bool,

    #[command(flatten)]
    pub shard: ShardArgs,
    /// Print N-1 split points on stdout that cut this count into N balanced
    /// slices (for --splits); the report goes to stderr.
    #[arg(long, value_name = "N", conflicts_with_all = ["shard", "check"], value_parser = clap::value_parser!(u32).range(2..=100_000), help_heading = "Sharding")]
    pub emit_splits: Option<u32>,

    /// Nagios mode: check this value against --warning/--critical and print
    /// one status line with perfdata (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    #[arg(long, value_enum, value_name = "METRIC", help_heading = "Nagios")]
    pub check: Option<CheckMetric>,
    #[command(flatten)]
    pub thresholds: NagiosArgs,

    #[command(flatten)]
    pub inventory: InventoryArgs,
    /// With --inventory: list N narrow key ranges live and report, for them, the keys
    /// added, removed and changed since the report, and the drift of the whole bucket
    /// extrapolated from them (reads the report a second time).
    #[arg(long, value_name = "N", requires = "inventory", value_parser = clap::value_parser!(u32).range(1..=10_000), help_heading = "Inventory")]
    pub cross_check: Option<u32>,

    /// After a complete count, save it (what was counted, when, how) to FILE, atomically,
    /// for checks with --from-state: run this from cron.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "emit_splits",
        help_heading = "State"
    )]
    pub save_state: Option<PathBuf>,
    /// Answer from the count a --save-state run wrote instead of listing (no AWS call): a
    /// check of a 25M-object bucket within check_nrpe's 10 s. URLs, if given, must match.
    #[arg(
        long,
        value_name = "FILE",
        requires = "max_age",
        conflicts_with_all = ["save_state", "emit_splits", "by_prefix", "by_storage_class", "versions", "multipart", "shard"],
        help_heading = "State"
    )]
    pub from_state: Option<PathBuf>,
    /// With --from-state: a count older than this (90m, 26h, 2d) is stale: an error, and
    /// UNKNOWN in a check. Allow the cron interval plus the count's own time.
    #[arg(long, value_name = "DURATION", requires = "from_state", value_parser = mc_aws_common::units::parse_duration, help_heading = "State")]
    pub max_age: Option<Duration>,

    /// Keys per list request (S3's maximum is 1000; lower only for testing).
    #[arg(long, default_value_t = 1000, env = "S3KC_PAGE_SIZE", value_parser = clap::value_parser!(i32).range(1..=1000), hide = true)]
    pub page_size: i32,

    #[command(flatten)]
    pub throttle: ThrottleArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub sides: TwoSidedArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl Cli {
    /// The URLs, parsed; the error names the first bad one.
    pub fn parsed_urls(&self) -> Result<Vec<S3Url>, S3UrlError> {
        self.urls.iter().map(|u| u.parse()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_a_full_command_line() {
        let cli = Cli::try_parse_from([
            "s3-key-counter",
            "s3://a-bucket/p/",
            "s3://b-bucket",
            "--by-prefix",
            "2",
            "--check",
            "diff-objects",
            "--warning",
            "~:10",
            "--critical",
            "@-5:-1",
            "-j",
            "256",
        ])
        .unwrap();
        assert_eq!(cli.urls.len(), 2);
        assert_eq!(cli.parsed_urls().unwrap()[0].prefix, "p/");
        assert_eq!(cli.by_prefix, Some(2));
        assert_eq!(cli.check, Some(CheckMetric::DiffObjects));
        assert_eq!(cli.thresholds.warning.unwrap().as_str(), "~:10");
        assert_eq!(cli.thresholds.critical.unwrap().low, Some(-5.0));
        assert_eq!(cli.throttle.concurrency, 256);
    }

    #[test]
    fn from_state_needs_no_url() {
        let cli = Cli::try_parse_from([
            "s3-key-counter",
            "--from-state",
            "/var/lib/s3-key-counter/assets.json",
            "--max-age",
            "26h",
            "--check",
            "objects",
        ])
        .unwrap();
        assert!(cli.urls.is_empty());
        assert_eq!(cli.max_age, Some(std::time::Duration::from_secs(26 * 3600)));
    }

    #[test]
    fn rejects_conflicts() {
        for args in [
            &["s3-key-counter"][..],
            &["s3-key-counter", "s3://abc", "--splits", "f"],
            &["s3-key-counter", "s3://abc", "--warning", "5"],
            &[
                "s3-key-counter",
                "s3://abc",
                "--emit-splits",
                "4",
                "--shard",
                "0/4",
            ],
            &["s3-key-counter", "s3://abc", "--emit-splits", "1"],
            &["s3-key-counter", "s3://abc", "--shard", "4/4"],
            &[
                "s3-key-counter",
                "s3://abc",
                "--check",
                "objects",
                "--warning",
                "x",
            ],
            // --from-state needs --max-age, and lists nothing.
            &["s3-key-counter", "--from-state", "f.json"],
            &["s3-key-counter", "s3://abc", "--max-age", "2h"],
            &["s3-key-counter", "--from-state", "f", "--max-age", "soon"],
            &[
                "s3-key-counter",
                "--from-state",
                "f",
                "--max-age",
                "2h",
                "--by-prefix",
                "1",
            ],
            &[
                "s3-key-counter",
                "--from-state",
                "f",
                "--max-age",
                "2h",
                "--save-state",
                "g",
            ],
            &[
                "s3-key-counter",
                "s3://abc",
                "--save-state",
                "g",
                "--emit-splits",
                "4",
            ],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
