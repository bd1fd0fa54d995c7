//! `acl-reconciler audit`: parsed by a command line of its own, so the
//! two-bucket reconcile stays the tool's default command line unchanged.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use mc_aws_common::cli::{AclReadArgs, AwsArgs, ThrottleArgs};
use mc_aws_common::nagios::NagiosArgs;
use mc_aws_common::output::OutputArgs;
use mc_aws_common::s3url::S3Url;

const EXAMPLES: &str = "\
Examples:
  # What disabling ACLs would break, and the policy that keeps it working
  acl-reconciler audit --policy-out policy.json s3://media

  # Cross-account grants named by account ID in the policy
  acl-reconciler audit --account 79a59df9...ef2be=111122223333 s3://media

  # Nightly, for the Nagios check (answers in milliseconds at any size)
  acl-reconciler audit -q --save /var/lib/acl/media.audit s3://media
  acl-reconciler audit --nagios --from /var/lib/acl/media.audit --max-age 26h s3://media
";

fn after_help() -> String {
    format!(
        "{EXAMPLES}
Steps, once the audit says it is safe: apply the policy (aws s3api
put-bucket-policy), run the audit again (it must say the policy is in
place), then set Object Ownership to BucketOwnerEnforced. Nothing is
written by this command.

{}",
        mc_aws_common::exit::HELP_TABLE
    )
}

/// The command line of `acl-reconciler [global options] audit ...`.
#[derive(Debug, Parser)]
#[command(name = "acl-reconciler", version)]
pub struct AuditCli {
    #[command(subcommand)]
    pub command: AuditCommand,

    /// `-o`, `-q`, `-v`: also before `audit`.
    #[command(flatten)]
    pub output: OutputArgs,

    /// `--profile`, `--region`, `--endpoint-url`: also before `audit`.
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// What disabling object ACLs would break, and the bucket policy that keeps it working.
    ///
    /// Reads every object's ACL (every version's, in a versioned bucket), groups objects by
    /// what their ACL grants besides the bucket owner, says per group what disabling ACLs
    /// (Object Ownership = BucketOwnerEnforced) changes, proposes the bucket policy that keeps
    /// the access the grants gave, and verifies it against every object before anyone applies
    /// it. Reads only.
    #[command(
        after_long_help = after_help(),
        mut_arg("warning", |a| a.requires("nagios")),
        mut_arg("critical", |a| a.requires("nagios"))
    )]
    Audit(AuditArgs),
}

impl AuditCli {
    pub fn args(&self) -> &AuditArgs {
        let AuditCommand::Audit(a) = &self.command;
        a
    }
}

/// Whether the command line is the audit's: it has the word `audit`, and
/// it is not a reconcile command line (where `audit` can only be an
/// option's value, e.g. `--profile audit`).
pub fn asked(args: &[OsString]) -> bool {
    use clap::Parser as _;
    args.iter().skip(1).any(|a| a == "audit") && crate::cli::Cli::try_parse_from(args).is_err()
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The bucket, or a folder of it: s3://bucket[/folder].
    #[arg(value_name = "BUCKET", value_parser = S3Url::parse_folder)]
    pub url: S3Url,

    /// Write the proposed bucket policy to FILE (JSON, ready for `aws s3api put-bucket-policy
    /// --policy file://FILE`).
    #[arg(long, value_name = "FILE")]
    pub policy_out: Option<PathBuf>,

    /// The account of a canonical user ID that grants name (repeatable): the policy then
    /// names `arn:aws:iam::ACCOUNT_ID:root` instead of the CanonicalUser.
    #[arg(long = "account", value_name = "CANONICAL_ID=ACCOUNT_ID", value_parser = parse_account)]
    pub accounts: Vec<(String, String)>,

    /// Name keys only in the policy, no prefixes (a prefix also covers objects written under
    /// it later).
    #[arg(long)]
    pub exact_keys: bool,

    /// Pay for the requests of a requester-pays bucket (sent anyway when the bucket says it
    /// is one).
    #[arg(long, value_name = "PAYER", value_parser = ["requester"])]
    pub request_payer: Option<String>,

    /// Save the audit's summary to FILE (small JSON, written atomically) for `--nagios --from`.
    #[arg(long, value_name = "FILE", conflicts_with = "from")]
    pub save: Option<PathBuf>,

    /// Nagios plugin mode: one status line; the value is the object versions that still carry
    /// grants besides the bucket owner's (default: WARNING above 0). Unreadable ACLs make it
    /// at least WARNING.
    #[arg(long, help_heading = "Nagios")]
    pub nagios: bool,

    /// Answer from a saved audit (`--save`) instead of reading every ACL again.
    #[arg(long, value_name = "FILE", requires_all = ["nagios", "max_age"], help_heading = "Nagios")]
    pub from: Option<PathBuf>,

    /// With --from: a saved audit older than this is stale (UNKNOWN): 90s, 30m, 26h, 2d.
    #[arg(long, value_name = "DURATION", value_parser = mc_aws_common::units::parse_duration, requires = "from", help_heading = "Nagios")]
    pub max_age: Option<Duration>,

    #[command(flatten)]
    pub check: NagiosArgs,

    #[command(flatten)]
    pub throttle: ThrottleArgs,

    #[command(flatten)]
    pub acl_reads: AclReadArgs,
}

fn parse_account(s: &str) -> Result<(String, String), String> {
    let err = || format!("{s:?}: expected CANONICAL_ID=ACCOUNT_ID (64 hex digits = 12 digits)");
    let (canonical, account) = s.split_once('=').ok_or_else(err)?;
    let (canonical, account) = (canonical.trim(), account.trim());
    let hex = canonical.len() == 64 && canonical.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if hex && digits {
        Ok((canonical.to_ascii_lowercase(), account.to_string()))
    } else {
        Err(err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_is_asked_for_by_its_word_only() {
        let a = |args: &[&str]| -> bool {
            let args: Vec<OsString> = std::iter::once("acl-reconciler")
                .chain(args.iter().copied())
                .map(OsString::from)
                .collect();
            asked(&args)
        };
        assert!(a(&["audit", "s3://abc"]));
        assert!(a(&["-v", "-o", "json", "audit", "s3://abc"]));
        assert!(a(&["audit", "--help"]));
        assert!(a(&["audit"]));
        // A profile named audit is a reconcile command line.
        assert!(!a(&["--profile", "audit", "s3://abc", "s3://def"]));
        assert!(!a(&["s3://abc", "s3://def"]));
        assert!(!a(&["--help"]));
    }

    #[test]
    fn ages_and_accounts_parse() {
        let id = "a".repeat(64);
        assert_eq!(
            parse_account(&format!("{id}=111122223333")),
            Ok((id.clone(), "111122223333".into()))
        );
        assert!(parse_account(&format!("{id}=1111")).is_err());
        assert!(parse_account("x=111122223333").is_err());
    }
}
