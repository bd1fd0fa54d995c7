//! `acl-reconciler audit s3://bucket[/prefix]`: the safe way off object
//! ACLs. Reads every object version's ACL, groups them by what they grant
//! besides the bucket owner, says per group what disabling ACLs
//! (BucketOwnerEnforced) changes, proposes the bucket policy that keeps
//! the access the grants gave, verifies it against every object, and says
//! the steps in order.
//!
//! Modules: [`grants`] (one ACL seen from the bucket owner), [`layout`]
//! (the key space, kept small), [`cover`] (keys and prefixes),
//! [`policy`] (the proposal), [`evaluate`] (our policy evaluator),
//! [`verify`] (the verifier).

pub mod bucket;
pub mod cli;
pub mod cover;
pub mod evaluate;
pub mod grants;
pub mod layout;
pub mod policy;
pub mod report;
pub mod saved;
pub mod scan;
pub mod summary;
pub mod verify;

use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::{self, OutputArgs};
use mc_aws_common::retry::Throttle;
use mc_aws_common::startup::{NagiosMode, Threads, Tool, ToolCli};
use serde_json::Value;

use crate::error::Error;
use bucket::Bucket;
use cli::{AuditArgs, AuditCli};
use policy::Scope;
use report::{Findings, Report};
use verify::Effective;

const TOOL: Tool = Tool {
    name: "acl-reconciler",
    nagios: Some(NagiosMode {
        words: &["--nagios"],
        service: summary::SERVICE,
    }),
};

impl ToolCli for AuditCli {
    fn output(&self) -> &OutputArgs {
        &self.output
    }

    fn nagios_timeout(&self) -> Option<u64> {
        let a = self.args();
        a.nagios.then_some(a.check.timeout)
    }
}

/// Runs `acl-reconciler audit ...`; returns the exit code.
pub fn main() -> i32 {
    TOOL.main::<AuditCli, Error>(Threads::Many, run)
}

async fn run(cli: &AuditCli) -> Result<i32, Error> {
    let args = cli.args();
    if let (Some(path), Some(age)) = (&args.from, args.max_age) {
        return saved::check(args, path, age);
    }
    for path in [&args.save, &args.policy_out].into_iter().flatten() {
        saved::check_writable(path)?;
    }
    let throttle = Throttle::from_args(&args.throttle);
    let acl_reads = args.acl_reads.throttle(&args.throttle, &throttle);
    let bucket = bucket::connect(args, &cli.aws, &throttle).await?;
    let scope = scope(args, &bucket);
    let mut report = Report::new(cli.output.output, cli.output.quiet || args.nagios);
    if !bucket.settings.acls_enabled() {
        return nothing_to_do(args, &bucket, &scope, &mut report);
    }
    let stop = Interrupt::install("acl-reconciler");
    let bar = cli.output.progress(None, "object ACLs");
    let mut scan = scan::scan(&bucket, args, &acl_reads, &throttle, &stop, |g| {
        bar.inc(1);
        let _ = report.granted(&g);
    })
    .await?;
    bar.finish_and_clear();
    if scan.interrupted {
        if !output::stdout_closed() {
            eprintln!("acl-reconciler: interrupted: the audit is incomplete (nothing saved)");
        }
        return Ok(exit::INTERRUPTED);
    }
    let scope = Scope {
        partial_layout: scan.partial_layout,
        ..scope
    };
    conclude(args, &bucket, &scope, &mut scan, &mut report)
}

fn scope(args: &AuditArgs, bucket: &Bucket) -> Scope {
    Scope {
        bucket: args.url.bucket.clone(),
        prefix: args.url.prefix.clone(),
        accounts: args.accounts.iter().cloned().collect(),
        exact_keys: args.exact_keys,
        public_ignored: bucket.ignores_public_acls(),
        partial_layout: false,
    }
}

fn nothing_to_do(
    args: &AuditArgs,
    bucket: &Bucket,
    scope: &Scope,
    report: &mut Report,
) -> Result<i32, Error> {
    if args.nagios {
        let s = summary::Summary {
            format: summary::FORMAT.into(),
            bucket: scope.bucket.clone(),
            prefix: scope.prefix.clone(),
            written_at: saved::now(),
            ownership: bucket.settings.ownership.to_string(),
            acls_enabled: false,
            versions: 0,
            current: 0,
            bytes: 0,
            delete_markers: 0,
            with_grants: 0,
            unreadable: 0,
            groups: Vec::new(),
            safe: true,
            reasons: Vec::new(),
            policy_in_place: false,
        };
        return Ok(s.check(&args.check, None).emit());
    }
    let _ = report.nothing_to_do(bucket, scope);
    Ok(exit::SUCCESS)
}

/// Block Public Access as it bears on reads today, and once the steps
/// turned RestrictPublicBuckets off where a public statement needs it.
fn block_public_access(bucket: &Bucket, proposal: &policy::Proposal) -> (Effective, Effective) {
    let before = Effective {
        ignore_public_acls: bucket.ignores_public_acls(),
        restrict_public: bucket.restricts_public(),
    };
    let public = proposal
        .targets
        .iter()
        .any(|t| t.reader == grants::Reader::Public);
    let after = Effective {
        restrict_public: before.restrict_public && !public,
        ..before
    };
    (before, after)
}

/// `--policy-out` and `--save`.
fn write_files(
    args: &AuditArgs,
    document: &Value,
    summary: &summary::Summary,
) -> Result<(), Error> {
    if let Some(path) = &args.policy_out {
        let text = serde_json::to_vec(document).unwrap_or_default();
        saved::write_atomically(path, &text)?;
    }
    if let Some(path) = &args.save {
        saved::write(path, summary)?;
    }
    Ok(())
}

/// Proposal, verification, report, saved audit; the exit code.
fn conclude(
    args: &AuditArgs,
    bucket: &Bucket,
    scope: &Scope,
    scan: &mut scan::Scan,
    report: &mut Report,
) -> Result<i32, Error> {
    let existing: Vec<Value> = bucket
        .policy
        .as_ref()
        .map(policy::statements)
        .unwrap_or_default();
    let proposal = policy::propose(&scan.layout, &scan.groups, bucket.policy.as_ref(), scope);
    let bpa = block_public_access(bucket, &proposal);
    let verification = verify::verify(&scan.layout, &scan.groups, &existing, &proposal, scope, bpa);
    let policy_file = args.policy_out.as_ref().map(|p| p.display().to_string());
    let findings = Findings {
        bucket,
        scope,
        scan,
        proposal: &proposal,
        verification: &verification,
        policy_file: policy_file.as_deref(),
    };
    let summary = report::summarise(&findings, &existing);
    write_files(args, &proposal.document, &summary)?;
    if args.nagios {
        return Ok(summary.check(&args.check, None).emit());
    }
    let _ = report.conclusion(&findings, &summary, &scan.unreadable);
    if output::stdout_closed() {
        return Ok(exit::SUCCESS);
    }
    Ok(if summary.unreadable > 0 {
        exit::PARTIAL_FAILURE
    } else {
        exit::SUCCESS
    })
}
