//! The command line: `sync`, `verify`, `worker`, `lag`, `batch`, `fleet-status`, `iam-policy`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mc_aws_common::cli::{AclReadArgs, AwsArgs, ShardArgs, ThrottleArgs, TwoSidedArgs};
use mc_aws_common::error::ToolError;
use mc_aws_common::inventory::SideInventoryArgs;
use mc_aws_common::keyfilter::FilterArgs;
use mc_aws_common::nagios::{NagiosArgs, Threshold};
use mc_aws_common::output::OutputArgs;
use mc_aws_common::s3url::S3Url;
use mc_aws_common::twosided::Folders;

use crate::notifications;
use crate::operation::Requested;
use crate::options::{parse_size, AclMode, CopyOptions, MAX_SINGLE, MIN_PART};

const ABOUT: &str =
    "Zero-downtime S3 bucket migration: parallel server-side sync, live replication from S3 events, verification.";

const LONG_ABOUT: &str = "\
Zero-downtime S3 bucket migration.

A migration is: start `worker` (or the Lambda handler) on the source bucket's
ObjectCreated events, run `sync` until it reports nothing left to copy, check
with `verify`, then switch the application to the destination bucket.

Every copy is server-side (CopyObject, or UploadPartCopy above the multipart
threshold) and keeps user metadata, content headers, tags, storage class and,
by default, the object's ACL grant for grant. Nothing is ever made more public
than it was: an explicit canned ACL is only used when asked for with --acl.";

const EXAMPLES: &str = "\
Examples:
  # What would be copied (writes nothing)
  s3-copier sync --dry-run s3://old-bucket s3://new-bucket
  # Bulk copy, resumable after a crash or Ctrl-C
  s3-copier sync --state migrate.json s3://old-bucket s3://new-bucket
  # Four machines, one shard each
  s3-copier sync --shard 2/4 --state shard2.json s3://old s3://new
  # Many machines, no coordinator: ranges to SQS for any number of workers (fleet-status: done?)
  s3-copier sync --publish-ranges https://sqs.eu-west-1.amazonaws.com/123456789012/ranges \\
      --create-queue --progress s3://ops/fleet/ s3://old s3://new
  # Live replication from S3 event notifications delivered to SQS
  s3-copier worker --queue https://sqs.eu-west-1.amazonaws.com/123456789012/old-bucket-events s3://old-bucket s3://new-bucket
  # Anything missing or different? (JSON lines for jq; Nagios check)
  s3-copier verify -o json s3://old-bucket s3://new-bucket | jq -c 'select(.status != \"summary\")'
  s3-copier verify --nagios --warning 100 --critical 10000 s3://old-bucket s3://new-bucket
  # Least-privilege IAM policy for the worker
  s3-copier iam-policy --mode worker s3://old-bucket s3://new-bucket";

#[derive(Debug, Parser)]
#[command(
    name = "s3-copier",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = format!("{EXAMPLES}\n\n{}", mc_aws_common::exit::HELP_TABLE),
    propagate_version = true,
)]
pub struct Cli {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy every object that is missing or different at the destination.
    #[command(after_long_help = format!("{EXAMPLES}\n\n{}", mc_aws_common::exit::HELP_TABLE))]
    Sync(SyncArgs),
    /// Compare source and destination: missing, different and extra keys.
    #[command(after_long_help = format!("{VERIFY_NOTES}\n\n{}", mc_aws_common::exit::HELP_TABLE))]
    Verify(VerifyArgs),
    /// Replicate live: copy the objects named by S3 event notifications from an SQS queue.
    #[command(after_long_help = format!("{WORKER_NOTES}\n\n{}", mc_aws_common::exit::HELP_TABLE))]
    Worker(WorkerArgs),
    /// How far live replication lags: the workers' --lag-state files and the queue's depth.
    #[command(after_long_help = format!("{LAG_NOTES}\n\n{}", mc_aws_common::exit::HELP_TABLE))]
    Lag(LagArgs),
    /// Copy the differences with S3 Batch Operations: manifest, job, status, report.
    #[command(after_long_help = format!("{BATCH_NOTES}\n\n{}", mc_aws_common::exit::HELP_TABLE))]
    Batch(BatchArgs),
    /// A run published with `sync --publish-ranges`: ranges done, missing, dead-lettered.
    #[command(after_long_help = format!("{FLEET_NOTES}\n\n{}", mc_aws_common::exit::HELP_TABLE))]
    FleetStatus(FleetStatusArgs),
    /// Print the least-privilege IAM policy a mode needs.
    IamPolicy(IamPolicyArgs),
}

/// `--storage-class`: one S3 knows (any case), checked before any copy.
fn storage_class(s: &str) -> Result<String, String> {
    let known = aws_sdk_s3::types::StorageClass::values();
    match known.iter().find(|k| k.eq_ignore_ascii_case(s)) {
        Some(k) => Ok(k.to_string()),
        // Another store's own class: checked with the endpoint (CopyOptions).
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            Ok(s.to_string())
        }
        None => Err(format!("not a storage class; one of {}", known.join(", "))),
    }
}

/// Source and destination, with per-side identities.
#[derive(Debug, Clone, Args)]
pub struct Endpoints {
    /// Source: s3://bucket[/folder] (a folder, as for `aws s3 sync`: s3://b/img means img/).
    #[arg(value_parser = S3Url::parse_folder)]
    pub source: S3Url,
    /// Destination: s3://bucket[/folder] (keys keep their path relative to the folders).
    #[arg(value_parser = S3Url::parse_folder)]
    pub dest: S3Url,
    #[command(flatten)]
    pub sides: TwoSidedArgs,
}

impl Endpoints {
    /// The two folders (refused when they overlap).
    pub fn folders(&self) -> Result<Folders, ToolError> {
        Folders::new(self.source.clone(), self.dest.clone())
    }
}

/// How each object is copied (shared by `sync` and `worker`).
#[derive(Debug, Clone, Args)]
pub struct CopyArgs {
    /// ACLs: `copy` the source object's grants (owner mapped to the destination
    /// owner, never widened), `skip` (destination default: private to the bucket
    /// owner), or a canned ACL for every object (private, public-read, ...).
    #[arg(long, default_value = "copy", env = "S3_COPIER_ACL", value_parser = AclMode::parse, help_heading = "Copy")]
    pub acl: AclMode,
    /// Storage class for every copy (default: keep the source object's class).
    #[arg(long, env = "S3_COPIER_STORAGE_CLASS", help_heading = "Copy", value_parser = storage_class)]
    pub storage_class: Option<String>,
    /// Encrypt every copy with this KMS key (default: keep the source's encryption where
    /// readable, else the destination bucket's default).
    #[arg(long, env = "S3_COPIER_SSE_KMS_KEY_ID", help_heading = "Copy")]
    pub sse_kms_key_id: Option<String>,
    /// Run even when the destination would encrypt less strictly than the source
    /// (source default SSE-KMS, destination default not, no --sse-kms-key-id).
    #[arg(long, env = "S3_COPIER_SSE_ALLOW_WEAKER", help_heading = "Copy")]
    pub sse_allow_weaker: bool,
    /// Read every source object's encryption (one HeadObject each), so that objects
    /// encrypted differently from their bucket's default (SSE-KMS in an SSE-S3
    /// bucket) keep it. Default: only objects above --multipart-threshold are read.
    #[arg(long, env = "S3_COPIER_SSE_PER_OBJECT", help_heading = "Copy")]
    pub sse_per_object: bool,
    /// Objects larger than this are copied in parts (UploadPartCopy); CopyObject's limit is 5 GiB.
    #[arg(long, default_value = "5GiB", value_parser = parse_size, env = "S3_COPIER_MULTIPART_THRESHOLD", help_heading = "Copy")]
    pub multipart_threshold: u64,
    /// Part size for multipart copies (5 MiB to 5 GiB; raised automatically to stay within 10,000 parts).
    #[arg(long, default_value = "256MiB", value_parser = parse_size, env = "S3_COPIER_PART_SIZE", help_heading = "Copy")]
    pub part_size: u64,
    /// Run even when the destination bucket's event notifications send the copies straight
    /// back to the copier's own queue or function (pre-flight refuses that loop otherwise).
    #[arg(long, env = "S3_COPIER_ALLOW_NOTIFICATION_LOOP", help_heading = "Copy")]
    pub allow_notification_loop: bool,
}

impl CopyArgs {
    /// The checked options; `custom_endpoint`: `--endpoint-url` is set, so
    /// a storage class S3 does not know may be the store's own.
    pub fn options(&self, custom_endpoint: bool) -> Result<CopyOptions, String> {
        let known = aws_sdk_s3::types::StorageClass::values();
        if let Some(c) = self.storage_class.as_deref() {
            if !custom_endpoint && !known.contains(&c) {
                return Err(format!(
                    "--storage-class {c} is not an S3 storage class; one of {}",
                    known.join(", ")
                ));
            }
        }
        if self.part_size < MIN_PART || self.part_size > MAX_SINGLE {
            return Err(format!(
                "--part-size {} is outside S3's limits (5 MiB to 5 GiB)",
                self.part_size
            ));
        }
        if self.multipart_threshold > MAX_SINGLE {
            return Err(format!(
                "--multipart-threshold {} is above CopyObject's 5 GiB limit",
                self.multipart_threshold
            ));
        }
        Ok(CopyOptions {
            acl: self.acl.clone(),
            storage_class: self.storage_class.clone(),
            sse_kms_key_id: self.sse_kms_key_id.clone(),
            sse_allow_weaker: self.sse_allow_weaker,
            sse_per_object: self.sse_per_object,
            multipart_threshold: self.multipart_threshold,
            part_size: self.part_size,
            notifications: notifications::Guard {
                allow_loop: self.allow_notification_loop,
                acls: self.acl == AclMode::Copy,
                ..notifications::Guard::default()
            },
        })
    }
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub endpoints: Endpoints,
    #[command(flatten)]
    pub copy: CopyArgs,
    #[command(flatten)]
    pub throttle: ThrottleArgs,
    #[command(flatten)]
    pub acl_reads: AclReadArgs,
    #[command(flatten)]
    pub shard: ShardArgs,
    #[command(flatten)]
    pub inventories: SideInventoryArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Show what would be copied (and deleted) without writing anything.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Also delete destination objects that do not exist at the source.
    #[arg(long)]
    pub delete: bool,
    /// Compare sizes only (for SSE-KMS sources, whose ETags differ from copy to copy).
    #[arg(long)]
    pub size_only: bool,
    /// ARN of the migration's event queue (the one the workers read): pre-flight refuses to
    /// run when the destination's notifications send the copies straight to it (a loop).
    #[arg(long, value_name = "ARN", value_parser = queue_arn, env = "S3_COPIER_QUEUE_ARN")]
    pub queue_arn: Option<String>,
    /// Checkpoint file: finished key ranges are recorded, and a rerun lists only what is left
    /// (after a finished run, the next one starts a new pass).
    #[arg(long, env = "S3_COPIER_STATE")]
    pub state: Option<PathBuf>,
    /// Only these source keys, one a line ('-' for stdin; e.g. `batch report --keys-out`):
    /// each is read on both sides and copied when missing or different. Not with
    /// --state, --shard or --delete.
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["state", "shard", "delete", "source_inventory", "dest_inventory"])]
    pub keys_from: Option<PathBuf>,
    /// Keys per ListObjectsV2 page (testing and debugging; S3's maximum is 1000).
    #[arg(long, default_value_t = 1000, hide = true, value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub list_page_size: i32,
    /// Price table for the cost estimate of --dry-run (default: the built-in, dated one).
    #[arg(long, value_name = "FILE", env = "S3_COPIER_PRICE_TABLE")]
    pub price_table: Option<PathBuf>,
    #[command(flatten)]
    pub fleet: PublishArgs,
}

/// `sync --publish-ranges`: the key space as range messages for a fleet of workers
/// (the default: not published).
#[derive(Debug, Clone, Default, Args)]
pub struct PublishArgs {
    /// Copy nothing here: cut the source key space into ranges and send one message per
    /// range to this SQS queue (URL), for any number of `s3-copier worker`s (see fleet-status).
    #[arg(
        long,
        value_name = "QUEUE_URL",
        value_parser = queue_url,
        requires = "progress",
        conflicts_with_all = ["dry_run", "state", "keys_from", "shard", "delete", "source_inventory", "dest_inventory"],
        help_heading = "Fleet"
    )]
    pub publish_ranges: Option<String>,
    /// Where the run's progress record goes: s3://bucket[/prefix] (the run's folder is made
    /// under it; workers acknowledge each range there).
    #[arg(long, value_name = "S3URL", value_parser = location, requires = "publish_ranges", help_heading = "Fleet")]
    pub progress: Option<S3Url>,
    /// Ranges of at most about this many keys: the source is listed once first and cut
    /// where a range reaches it (or --range-bytes). The default way to cut.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Fleet")]
    pub range_keys: u64,
    /// ... and of at most about this many bytes (whichever limit a range reaches first).
    #[arg(long, value_name = "SIZE", default_value = "1TiB", value_parser = parse_size, help_heading = "Fleet")]
    pub range_bytes: u64,
    /// Cut at these split points instead, one per line (`s3-key-counter --emit-splits N`,
    /// live or from an inventory report: N ranges of equal key counts, no listing here).
    #[arg(long, value_name = "FILE", requires = "publish_ranges", conflicts_with_all = ["ranges", "range_keys", "range_bytes"], help_heading = "Fleet")]
    pub range_splits: Option<PathBuf>,
    /// Cut into N ranges evenly over the fixed alphabet of --shard instead (no listing; keys
    /// spread unevenly over the alphabet, such as dates, make uneven ranges).
    #[arg(long, value_name = "N", requires = "publish_ranges", conflicts_with_all = ["range_keys", "range_bytes"], value_parser = clap::value_parser!(u32).range(1..=1_000_000), help_heading = "Fleet")]
    pub ranges: Option<u32>,
    /// Create the queue (named by the URL's last segment) with a dead-letter queue NAME-dlq
    /// that takes a range after --max-receive-count failed attempts.
    #[arg(long, requires = "publish_ranges", help_heading = "Fleet")]
    pub create_queue: bool,
    /// Attempts of a range before the dead-letter queue (the created queue's maxReceiveCount).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000), help_heading = "Fleet")]
    pub max_receive_count: u32,
    /// After publishing, wait until every range is acknowledged or dead-lettered (as
    /// `fleet-status --wait`).
    #[arg(long, requires = "publish_ranges", help_heading = "Fleet")]
    pub wait: bool,
}

const FLEET_NOTES: &str = "\
A run published with `sync --publish-ranges QUEUE --progress S3URL` has a
folder under S3URL named after the run (the publisher prints it): plan.json
(every range), done/N.json (one object per range a worker finished, written
before it deleted the message) and dead/N.json (a range whose last attempt
before the dead-letter queue failed). fleet-status reads them: N of M ranges
done, which are missing (waiting, being copied, or failed and coming back)
and which ended in the dead-letter queue.

Exit code: 0 when every range is done, 1 when some are not (with --wait:
once nothing is missing, i.e. the rest is dead-lettered).

Examples:
  s3-copier sync --publish-ranges https://sqs.eu-west-1.amazonaws.com/123456789012/ranges \\
      --create-queue --progress s3://ops-bucket/fleet/ s3://old-bucket s3://new-bucket
  s3-copier worker --queue https://sqs.eu-west-1.amazonaws.com/123456789012/ranges \\
      s3://old-bucket s3://new-bucket
  s3-copier fleet-status --wait s3://ops-bucket/fleet/RUN_ID/
  s3-copier verify s3://old-bucket s3://new-bucket";

#[derive(Debug, Args)]
pub struct FleetStatusArgs {
    /// The run's folder, as the publisher printed it: s3://bucket/prefix/RUN_ID/.
    #[arg(value_name = "RUN_URL", value_parser = location)]
    pub run: S3Url,
    /// Wait until every range is acknowledged or dead-lettered.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between two looks with --wait.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub every: u64,
}

const VERIFY_NOTES: &str = "\
Output: with -o json, one JSON object per line for each missing, different or
extra key, then a summary line. Exit code 1 when anything is missing or
different (extra keys alone do not fail the check).

Nagios: --nagios prints one status line with perfdata; the thresholds apply to
missing + different objects (migration lag). verify lists both buckets: give
big ones a --timeout (and check_nrpe a -t) long enough. Example:
  define command {
    command_name check_s3_migration
    command_line /usr/local/bin/s3-copier verify --nagios
      --timeout 110 --warning $ARG3$ --critical $ARG4$ s3://$ARG1$ s3://$ARG2$
  }
(one line in the real file; with check_nrpe -t 120).";

#[derive(Debug, Args)]
#[command(
    mut_arg("warning", |a| a.requires("nagios")),
    mut_arg("critical", |a| a.requires("nagios"))
)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub endpoints: Endpoints,
    #[command(flatten)]
    pub throttle: ThrottleArgs,
    #[command(flatten)]
    pub acl_reads: AclReadArgs,
    #[command(flatten)]
    pub shard: ShardArgs,
    #[command(flatten)]
    pub inventories: SideInventoryArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Compare sizes only.
    #[arg(long)]
    pub size_only: bool,
    /// Also compare ACLs of objects present on both sides (owner mapped).
    #[arg(long)]
    pub acl: bool,
    /// Nagios plugin output: one status line with perfdata, exit 0/1/2/3; the thresholds
    /// apply to missing + different objects (the migration lag).
    #[arg(long, help_heading = "Nagios")]
    pub nagios: bool,
    #[command(flatten)]
    pub check: NagiosArgs,
}

const WORKER_NOTES: &str = "\
Wiring: the source bucket's event notification configuration sends
s3:ObjectCreated:* (and optionally s3:ObjectRemoved:*, s3:ObjectAcl:Put) to an
SQS queue, directly or through SNS. Give the queue a redrive policy to a
dead-letter queue: a message is deleted only after every record in it was
handled, so failures come back after the visibility timeout and end in the
DLQ after maxReceiveCount attempts. Any number of workers can share a queue.

Ranges: the same queue (or another, a second --queue) may carry the ranges
of `sync --publish-ranges`. A worker runs the same pass as `sync` over exactly
that range, extends the message's visibility while it works, acknowledges
the range in the run's progress record and only then deletes the message; a
range that keeps failing goes to the dead-letter queue. Ranges of another
source or destination than the worker's are refused (left for another worker).
--messages bounds the ranges in work at once too.";

/// `--queue`: a queue URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`),
/// which is what SQS calls take; an ARN or a bare name gets a hint.
fn queue_url(s: &str) -> Result<String, String> {
    const EXPECTED: &str =
        "expected the queue's URL, e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/events";
    if s.starts_with("arn:") {
        return Err(format!("an ARN, not a queue URL: {EXPECTED}"));
    }
    mc_aws_common::cli::endpoint_url(s).map_err(|_| EXPECTED.to_string())?;
    // host/ACCOUNT/NAME (a custom endpoint may put more in front).
    let path = s.split_once("://").map_or("", |(_, rest)| rest);
    let segments = path.split('/').skip(1).filter(|p| !p.is_empty()).count();
    if segments < 2 {
        return Err(format!("no account and queue name in the path: {EXPECTED}"));
    }
    Ok(s.to_string())
}

/// `--queue-arn`: an SQS queue ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`).
fn queue_arn(s: &str) -> Result<String, String> {
    let fields: Vec<&str> = s.split(':').collect();
    let ok = fields.len() == 6
        && fields[0] == "arn"
        && fields[2] == "sqs"
        && fields[3..].iter().all(|f| !f.is_empty());
    if !ok {
        return Err(
            "expected a queue ARN, e.g. arn:aws:sqs:eu-west-1:123456789012:old-bucket-events"
                .into(),
        );
    }
    Ok(s.to_string())
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// URL of the SQS queue receiving the source bucket's event notifications, or the ranges
    /// of `sync --publish-ranges`, or both; repeatable (e.g. the events' queue, then the
    /// ranges'; --lag-state is about the first).
    #[arg(long, env = "S3_COPIER_QUEUE", value_parser = queue_url, required = true)]
    pub queue: Vec<String>,
    #[command(flatten)]
    pub endpoints: Endpoints,
    #[command(flatten)]
    pub copy: CopyArgs,
    #[command(flatten)]
    pub throttle: ThrottleArgs,
    #[command(flatten)]
    pub acl_reads: AclReadArgs,
    /// Messages handled at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1000), env = "S3_COPIER_MESSAGES")]
    pub messages: u32,
    /// Visibility timeout in seconds for received messages; extended while a copy runs.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(10..=43200))]
    pub visibility_timeout: u32,
    /// Also delete destination objects on s3:ObjectRemoved:* events (only when the source object is really gone).
    #[arg(long, env = "S3_COPIER_PROPAGATE_DELETES")]
    pub propagate_deletes: bool,
    /// Exit after the queue has been empty for this many seconds (default: run until SIGINT/SIGTERM).
    #[arg(long, value_name = "SECONDS")]
    pub exit_when_idle: Option<u64>,
    /// Record how long after S3 sent each event it was handled (its SentTimestamp) in this
    /// small state file, rewritten every 10 s, for `s3-copier lag` (one file per worker).
    #[arg(long, value_name = "FILE", env = "S3_COPIER_LAG_STATE")]
    pub lag_state: Option<PathBuf>,
}

const LAG_NOTES: &str = "\
Run each worker with --lag-state FILE; the file says how long after S3 sent
them the events of the last 5 minutes were handled (from each SQS message's
SentTimestamp), rewritten every 10 s even when no event comes. A file older
than --stale-after means its worker is not running: UNKNOWN in Nagios mode,
exit 2 otherwise. The queue's depth (GetQueueAttributes) shows what waits,
including when no worker takes messages at all.

Nagios: --warning/--critical apply to the age in seconds, --depth-warning/
--depth-critical to the messages waiting; the worse one decides. Example
(one line in the real file):
  define command {
    command_name check_s3_replication_lag
    command_line /usr/local/bin/s3-copier lag --nagios --state /var/lib/s3-copier/lag.json
      --queue $ARG1$ --warning 60 --critical 300 --depth-warning 1000 --depth-critical 10000
  }
The managed alternative: CloudWatch's ApproximateAgeOfOldestMessage of the queue.";

#[derive(Debug, Args)]
#[command(
    mut_arg("warning", |a| a.requires("nagios")),
    mut_arg("critical", |a| a.requires("nagios"))
)]
pub struct LagArgs {
    /// A worker's --lag-state file (repeatable, one per worker: the worst counts).
    #[arg(long = "state", value_name = "FILE", required = true)]
    pub states: Vec<PathBuf>,
    /// URL of the queue the workers read (its depth: the messages waiting).
    #[arg(long, env = "S3_COPIER_QUEUE", value_parser = queue_url)]
    pub queue: String,
    /// A state file not rewritten for this long means its worker is not running (UNKNOWN).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = mc_aws_common::units::parse_duration)]
    pub stale_after: std::time::Duration,
    /// Nagios plugin output: one status line with perfdata, exit 0/1/2/3; --warning and
    /// --critical apply to the age in seconds of the oldest event handled in the last 5 minutes.
    #[arg(long, help_heading = "Nagios")]
    pub nagios: bool,
    #[command(flatten)]
    pub check: NagiosArgs,
    /// WARNING range of the messages waiting in the queue (same syntax as --warning).
    #[arg(
        long,
        value_name = "RANGE",
        requires = "nagios",
        help_heading = "Nagios"
    )]
    pub depth_warning: Option<Threshold>,
    /// CRITICAL range of the messages waiting in the queue.
    #[arg(
        long,
        value_name = "RANGE",
        requires = "nagios",
        help_heading = "Nagios"
    )]
    pub depth_critical: Option<Threshold>,
}

const BATCH_NOTES: &str = "\
The backlog on AWS's fleet: `plan` writes what `sync` would copy (the same
comparison) as a Batch Operations CSV manifest and prices the job; `create`
uploads the manifest and creates the job (S3's own copy where it keeps what
was asked for, else the s3-copier Lambda handler), which waits for `confirm`
unless --yes; `status` shows its progress, `cancel` stops it; `report` reads
its completion report back and writes the failed objects as a manifest or as
a key list for `sync --keys-from`; `verify` closes the loop.

Limits (AWS's): one source bucket per job; S3's copy takes objects up to
5 GB and no SSE-C objects; the job is created in the destination's Region
(a Lambda job in the function's); a job does not keep the manifest's order.

Examples:
  s3-copier batch plan --acl skip --manifest-file diff.csv s3://old-bucket s3://new-bucket
  s3-copier iam-policy --mode batch s3://old-bucket s3://new-bucket --manifest s3://ops-bucket/batch/
  s3-copier batch create --acl skip --manifest s3://ops-bucket/batch/ \\
      --role-arn arn:aws:iam::111122223333:role/s3-copier-batch s3://old-bucket s3://new-bucket
  s3-copier batch status --account-id 111122223333 --region eu-west-1 JOB_ID
  s3-copier batch report --keys-out failed.txt s3://ops-bucket/batch/reports/job-JOB_ID/manifest.json
  s3-copier sync --keys-from failed.txt s3://old-bucket s3://new-bucket";

#[derive(Debug, Args)]
pub struct BatchArgs {
    #[command(subcommand)]
    pub command: BatchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Write the differences as a manifest file and price the job (nothing is written to AWS).
    Plan(BatchPlanArgs),
    /// Upload the manifest and create the job (S3 Control CreateJob).
    Create(BatchCreateArgs),
    /// A job's status and progress (S3 Control DescribeJob).
    Status(BatchStatusArgs),
    /// Let a job waiting for confirmation run (S3 Control UpdateJobStatus: Ready).
    Confirm(BatchStatusArgs),
    /// Cancel a job (S3 Control UpdateJobStatus: Cancelled).
    Cancel(BatchStatusArgs),
    /// Read a job's completion report: the failed objects as a manifest or a key list.
    Report(BatchReportArgs),
    /// Turn a key list (one key a line) into a manifest.
    Manifest(BatchManifestArgs),
}

/// What a job copies: the same comparison as `sync`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub endpoints: Endpoints,
    #[command(flatten)]
    pub copy: CopyArgs,
    #[command(flatten)]
    pub throttle: ThrottleArgs,
    #[command(flatten)]
    pub acl_reads: AclReadArgs,
    #[command(flatten)]
    pub shard: ShardArgs,
    #[command(flatten)]
    pub inventories: SideInventoryArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Compare sizes only (as sync --size-only).
    #[arg(long)]
    pub size_only: bool,
    /// Which versions: the current ones that differ (as sync), or every noncurrent (older)
    /// version, with its version id, for a job that must finish before the current one runs.
    #[arg(long, value_enum, default_value_t = VersionScope::Current, help_heading = "Job")]
    pub versions: VersionScope,
    /// How the job copies: S3's copy where it keeps what was asked for, else the Lambda handler.
    #[arg(long, value_enum, default_value_t = Requested::Auto, help_heading = "Job")]
    pub operation: Requested,
    /// The s3-copier-lambda function's ARN (for --operation lambda, or when S3's copy cannot do).
    #[arg(
        long,
        value_name = "ARN",
        env = "S3_COPIER_LAMBDA_ARN",
        help_heading = "Job"
    )]
    pub lambda_arn: Option<String>,
    /// Price table for the estimate (default: the built-in, dated one).
    #[arg(
        long,
        value_name = "FILE",
        env = "S3_COPIER_PRICE_TABLE",
        help_heading = "Job"
    )]
    pub price_table: Option<PathBuf>,
    /// Keys per ListObjectsV2 page (testing and debugging).
    #[arg(long, default_value_t = 1000, hide = true, value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub list_page_size: i32,
}

/// `--versions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersionScope {
    /// Current versions that are missing or different at the destination.
    Current,
    /// Every noncurrent version (delete markers are reported, not copied).
    Noncurrent,
}

#[derive(Debug, Args)]
pub struct BatchPlanArgs {
    #[command(flatten)]
    pub diff: DiffArgs,
    /// Where to write the manifest (CSV, URL-encoded keys).
    #[arg(long, value_name = "FILE")]
    pub manifest_file: PathBuf,
}

/// `s3://bucket[/prefix]` of a place the tool writes to.
fn location(s: &str) -> Result<S3Url, String> {
    S3Url::parse_folder(s)
}

/// A role ARN (`arn:PARTITION:iam::ACCOUNT:role/NAME`).
fn role_arn(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].starts_with("role/");
    if ok {
        Ok(s.to_string())
    } else {
        Err("expected an IAM role ARN, e.g. arn:aws:iam::111122223333:role/s3-copier-batch".into())
    }
}

/// A 12-digit AWS account id.
fn account_id(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err("expected a 12-digit AWS account id".into())
    }
}

#[derive(Debug, Args)]
pub struct BatchCreateArgs {
    #[command(flatten)]
    pub diff: DiffArgs,
    /// Where the manifest is uploaded: s3://bucket[/prefix] (a file named after the run goes under it).
    #[arg(long, value_name = "S3URL", value_parser = location, help_heading = "Job")]
    pub manifest: S3Url,
    /// The role Batch Operations assumes (see `iam-policy --mode batch`).
    #[arg(long, value_name = "ARN", value_parser = role_arn, env = "S3_COPIER_BATCH_ROLE_ARN", help_heading = "Job")]
    pub role_arn: String,
    /// Where the completion report goes (default: `reports/` under --manifest).
    #[arg(long, value_name = "S3URL", value_parser = location, help_heading = "Job")]
    pub report: Option<S3Url>,
    /// Report every task, not only the failed ones.
    #[arg(long, help_heading = "Job")]
    pub report_all: bool,
    /// The account that owns the job (default: the role's).
    #[arg(long, value_parser = account_id, env = "S3_COPIER_ACCOUNT_ID", help_heading = "Job")]
    pub account_id: Option<String>,
    /// The job's priority (higher runs first).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i32).range(0..=2147483647), help_heading = "Job")]
    pub priority: i32,
    /// Let the job run at once; without it the job waits for confirmation (Suspended).
    #[arg(long, short = 'y', help_heading = "Job")]
    pub yes: bool,
    /// Also keep the manifest here (default: a temporary file).
    #[arg(long, value_name = "FILE", help_heading = "Job")]
    pub manifest_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BatchStatusArgs {
    /// The job id (CreateJob's answer).
    #[arg(value_name = "JOB_ID", value_parser = job_id)]
    pub job_id: String,
    /// The account that owns the job.
    #[arg(long, value_parser = account_id, env = "S3_COPIER_ACCOUNT_ID")]
    pub account_id: String,
}

/// A job id as S3 Control gives them (`[a-zA-Z0-9\-_]{5,36}`).
fn job_id(s: &str) -> Result<String, String> {
    let ok = (5..=36).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(s.to_string())
    } else {
        Err("expected a Batch Operations job id (5 to 36 letters, digits, - and _)".into())
    }
}

#[derive(Debug, Args)]
pub struct BatchReportArgs {
    /// The report's manifest.json: s3://bucket/prefix/job-ID/manifest.json, or a local copy
    /// (the file, or its directory, with the result files under results/).
    #[arg(value_name = "MANIFEST_JSON")]
    pub location: String,
    /// Write the failed objects as a new Batch Operations manifest.
    #[arg(long, value_name = "FILE")]
    pub manifest_out: Option<PathBuf>,
    /// Write the failed keys, one a line (for `sync --keys-from`).
    #[arg(long, value_name = "FILE")]
    pub keys_out: Option<PathBuf>,
}

/// A bucket name as S3 allows them (3 to 63 of a-z, 0-9, '.', '-').
fn bucket_name(s: &str) -> Result<String, String> {
    let ok = (3..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok {
        Ok(s.to_string())
    } else {
        Err("not a bucket name (3 to 63 of a-z, 0-9, '.' and '-')".into())
    }
}

#[derive(Debug, Args)]
pub struct BatchManifestArgs {
    /// The bucket every row names.
    #[arg(long, value_parser = bucket_name)]
    pub bucket: String,
    /// The keys, one a line ('-' for stdin).
    #[arg(long, value_name = "FILE|-")]
    pub keys_from: PathBuf,
    /// Where to write the manifest.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub manifest_file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyMode {
    Sync,
    Worker,
    Lambda,
    Verify,
    // `lag`: reads the queue's attributes, nothing else.
    Lag,
    // The role S3 Batch Operations assumes (`batch create --role-arn`), and its trust policy.
    Batch,
    // `sync --publish-ranges`: sends range messages, writes and reads the progress record.
    Publish,
}

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// Which mode the policy is for.
    #[arg(long, value_enum, default_value_t = PolicyMode::Sync)]
    pub mode: PolicyMode,
    /// Source (default: a SOURCE_BUCKET placeholder).
    #[arg(value_parser = S3Url::parse_folder)]
    pub source: Option<S3Url>,
    /// Destination (default: a DEST_BUCKET placeholder).
    #[arg(value_parser = S3Url::parse_folder)]
    pub dest: Option<S3Url>,
    /// Leave out the ACL permissions (for --acl skip).
    #[arg(long)]
    pub no_acl: bool,
    /// Include s3:DeleteObject on the destination (sync --delete, --propagate-deletes).
    #[arg(long)]
    pub delete: bool,
    /// The queue ARN: the worker's (default: a placeholder), or a Lambda's SQS trigger.
    #[arg(long)]
    pub queue_arn: Option<String>,
    /// KMS key ARN the copies decrypt or encrypt with (SSE-KMS source keys, --sse-kms-key-id);
    /// repeatable: adds kms:Decrypt and kms:GenerateDataKey on these keys.
    #[arg(long, value_name = "ARN")]
    pub kms_key: Vec<String>,
    /// batch: where manifests and reports go (`batch create --manifest`; default: a placeholder).
    #[arg(long, value_name = "S3URL", value_parser = S3Url::parse_folder)]
    pub manifest: Option<S3Url>,
    /// batch: the job invokes this s3-copier-lambda function instead of copying itself.
    #[arg(long, value_name = "ARN")]
    pub lambda_arn: Option<String>,
    /// batch: print the role's trust policy (Batch Operations may assume it) instead.
    #[arg(long)]
    pub trust: bool,
    /// publish, worker: the progress record's location (`--progress` of the publisher).
    #[arg(long, value_name = "S3URL", value_parser = S3Url::parse_folder)]
    pub progress: Option<S3Url>,
    /// publish: the publisher creates the queue and its dead-letter queue (`--create-queue`).
    #[arg(long)]
    pub create_queue: bool,
}
