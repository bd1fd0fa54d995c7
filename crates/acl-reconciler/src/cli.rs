//! Command-line interface.

use std::path::PathBuf;

use clap::Parser;
use mc_aws_common::cli::{AclReadArgs, AwsArgs, ShardArgs, ThrottleArgs, TwoSidedArgs};
use mc_aws_common::inventory::SideInventoryArgs;
use mc_aws_common::nagios::NagiosArgs;
use mc_aws_common::output::OutputArgs;
use mc_aws_common::s3url::S3Url;

const EXAMPLES: &str = "\
Examples:
  # What would change? (reads only; prints the plan)
  acl-reconciler s3://old-bucket/media/ s3://new-bucket/media/

  # Fix the drift, keeping an audit trail of every change
  acl-reconciler --apply -o json s3://old-bucket s3://new-bucket > acl-fixes.jsonl

  # Only the keys a moderation job touched today
  jq -r .key moderated.jsonl | acl-reconciler --apply --keys-from - s3://src s3://dst

  # Large buckets: 4 machines, each resumable after an interruption
  acl-reconciler --apply --shard 2/4 --state acl-2.state s3://src s3://dst

  # Nagios: WARNING above 10 drifted keys, CRITICAL above 100
  acl-reconciler --nagios --warning 10 --critical 100 --keys-from recent.txt s3://src s3://dst
";

fn after_help() -> String {
    format!(
        "{EXAMPLES}
Comparison: the same set of grants regardless of order; the source object's
owner is mapped to the destination object's owner (canonical IDs differ
across accounts); FULL_CONTROL equals READ+WRITE+READ_ACP+WRITE_ACP.

Safety: nothing is written without --apply. A fix that would add a grant to
AllUsers or AuthenticatedUsers is skipped without --allow-public, and never
forced past the destination's Block Public Access (BlockPublicAcls). If
either bucket has ACLs disabled (Object Ownership = BucketOwnerEnforced), the
tool says so, lists the keys that are public on the source (they need a
bucket policy instead) and exits with 5.

Leaving ACLs behind: `acl-reconciler audit s3://bucket` says what disabling
them would break and proposes the bucket policy that keeps it working (see
`acl-reconciler audit --help`).

{}",
        mc_aws_common::exit::HELP_TABLE
    )
}

/// Find and fix object-ACL drift between two S3 buckets.
///
/// For every key present in both buckets, reads both ACLs, compares them and,
/// with --apply, sets the destination's ACL to match the source.
#[derive(Debug, Parser)]
#[command(
    name = "acl-reconciler",
    version,
    after_long_help = after_help(),
    mut_arg("warning", |a| a.requires("nagios")),
    mut_arg("critical", |a| a.requires("nagios")),
    mut_arg("shard", |a| a.conflicts_with("keys_from"))
)]
pub struct Cli {
    /// Source: s3://bucket[/folder] (the ACLs to copy; a folder as for s3-copier:
    /// s3://b/img means img/).
    #[arg(value_name = "SOURCE", value_parser = S3Url::parse_folder)]
    pub source: S3Url,

    /// Destination: s3://bucket[/folder] (the ACLs to fix). Keys map by their
    /// path relative to the folders.
    #[arg(value_name = "DESTINATION", value_parser = S3Url::parse_folder)]
    pub destination: S3Url,

    /// Write: set the destination ACLs (default: only print the plan).
    #[arg(long)]
    pub apply: bool,

    /// Allow fixes that add a grant to AllUsers or AuthenticatedUsers (making
    /// objects public).
    #[arg(long)]
    pub allow_public: bool,

    /// Check only these source keys, one per line ('-' for stdin), instead of
    /// listing the source. Keys are full keys in the source bucket.
    #[arg(long, value_name = "FILE|-", help_heading = "Keys")]
    pub keys_from: Option<PathBuf>,

    #[command(flatten)]
    pub shard: ShardArgs,

    #[command(flatten)]
    pub inventories: SideInventoryArgs,

    /// Checkpoint file: finished parts are recorded here and skipped when
    /// the same command runs again (written atomically). Not with --nagios: a
    /// check looks at every key each time.
    #[arg(
        long,
        value_name = "FILE",
        env = "ACL_RECONCILER_STATE",
        conflicts_with = "nagios",
        help_heading = "Keys"
    )]
    pub state: Option<PathBuf>,

    /// Also print keys whose ACLs already match.
    #[arg(long, help_heading = "Output")]
    pub show_equal: bool,

    /// Nagios plugin mode: read-only, one status line with perfdata; exit 0/1/2/3. The
    /// thresholds apply to the keys whose ACLs have drifted.
    #[arg(long, conflicts_with = "apply", help_heading = "Nagios")]
    pub nagios: bool,

    #[command(flatten)]
    pub check: NagiosArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub throttle: ThrottleArgs,

    #[command(flatten)]
    pub acl_reads: AclReadArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub sides: TwoSidedArgs,
}
