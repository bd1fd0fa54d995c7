//! The audit's conclusion for people (`-o human`) and pipelines (`-o json`:
//! one object per line, `kind` = `bucket`, `object`, `group`, `policy`,
//! `step`, `summary`): per group what disabling ACLs changes and what keeps
//! it, the verdict and why, the steps in order, and the policy.

use std::io;

use mc_aws_common::output::{human_bytes, human_count, printable, Format, Printer};
use serde::Serialize;
use serde_json::{json, Value};

use super::bucket::{AccountBpa, Bucket};
use super::grants::{Change, Reader};
use super::policy::{Mode, Proposal, Scope, POLICY_LIMIT};
use super::scan::{Granted, Scan, Unreadable};
use super::summary::{GroupLine, Summary, FORMAT};
use super::verify::Verification;

/// One step of the way off ACLs.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// Everything the report says.
pub struct Findings<'a> {
    pub bucket: &'a Bucket,
    pub scope: &'a Scope,
    pub scan: &'a Scan,
    pub proposal: &'a Proposal,
    pub verification: &'a Verification,
    pub policy_file: Option<&'a str>,
}

/// The groups, the verdict and its reasons.
pub fn summarise(f: &Findings<'_>, existing: &[Value]) -> Summary {
    let groups: Vec<GroupLine> = f
        .scan
        .groups
        .list
        .iter()
        .skip(1)
        .filter(|g| g.versions > 0)
        .map(|g| group_line(g, f))
        .collect();
    let with_grants = groups.iter().map(|g| g.versions).sum();
    let mut reasons = reasons(f, &groups);
    let unsure = super::evaluate::uncertain(existing);
    if unsure > 0 {
        reasons.push((false, format!("{unsure} statements of the bucket's policy depend on conditions the verifier cannot evaluate; they apply alike before and after the switch, so the comparison leaves them out")));
    }
    Summary {
        format: FORMAT.into(),
        bucket: f.scope.bucket.clone(),
        prefix: f.scope.prefix.clone(),
        written_at: super::saved::now(),
        ownership: f.bucket.settings.ownership.to_string(),
        acls_enabled: f.bucket.settings.acls_enabled(),
        versions: f.scan.versions,
        current: f.scan.current,
        bytes: f.scan.bytes,
        delete_markers: f.scan.delete_markers,
        with_grants,
        unreadable: f.scan.unreadable.len() as u64,
        safe: reasons.iter().all(|(blocks, _)| !blocks),
        reasons: reasons.into_iter().map(|(_, r)| r).collect(),
        groups,
        policy_in_place: f.proposal.in_place(existing),
    }
}

fn group_line(g: &super::layout::GroupStats, f: &Findings<'_>) -> GroupLine {
    let kept_by = |reader: &Reader| -> Option<String> {
        f.proposal
            .targets
            .iter()
            .find(|t| &t.reader == reader)
            .map(|t| t.sid.clone())
    };
    let changes = g
        .access
        .changes()
        .into_iter()
        .map(|c| match c {
            Change::LosesRead { reader } if reader == Reader::Public && f.scope.public_ignored => {
                format!(
                    "{reader} has READ by ACL, ignored already (IgnorePublicAcls): nothing changes"
                )
            }
            Change::LosesRead { reader } => match kept_by(&reader) {
                Some(sid) => format!("{reader} loses READ: kept by statement {sid}"),
                None => format!("{reader} loses READ"),
            },
            Change::NoEquivalent { what } => format!("{what} (no policy equivalent)"),
            Change::Meaningless { what } => what,
        })
        .collect();
    let fingerprint = g.access.fingerprint();
    GroupLine {
        kept_by: g.access.readers().iter().filter_map(kept_by).collect(),
        group: fingerprint,
        grants: g.access.describe(),
        writer: g.access.writer.clone(),
        versions: g.versions,
        current: g.current,
        bytes: g.bytes,
        examples: g.examples.clone(),
        changes,
    }
}

/// `(blocks the verdict, why)`.
fn reasons(f: &Findings<'_>, groups: &[GroupLine]) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let unreadable = f.scan.unreadable.len();
    if unreadable > 0 {
        out.push((true, format!("{unreadable} object versions' ACLs could not be read (listed): they may grant access the proposal does not keep")));
    }
    let no_equivalent: u64 = groups
        .iter()
        .filter(|g| {
            g.changes
                .iter()
                .any(|c| c.ends_with("(no policy equivalent)"))
        })
        .map(|g| g.versions)
        .sum();
    if no_equivalent > 0 {
        out.push((true, format!("{no_equivalent} object versions have grants no bucket policy can keep (see their groups): switching drops them; decide that first")));
    }
    if !f.proposal.fits {
        out.push((
            true,
            format!(
                "no equivalent policy fits: {} bytes, S3's limit is {POLICY_LIMIT}",
                f.proposal.size
            ),
        ));
    }
    let v = f.verification;
    if v.widened_count > 0 {
        out.push((
            true,
            format!(
                "the verifier found {} reads the policy would allow that are not allowed today",
                v.widened_count
            ),
        ));
    }
    if v.lost_count > 0 {
        out.push((
            true,
            format!(
                "the verifier found {} reads allowed today that the policy would not keep",
                v.lost_count
            ),
        ));
    }
    let public = f
        .proposal
        .targets
        .iter()
        .any(|t| t.reader == Reader::Public);
    if let (AccountBpa::Unknown { why, .. }, true) = (&f.bucket.account, public) {
        out.push((true, format!("the account's Block Public Access is unknown ({why}): if it ignores public ACLs, the public statement would widen access; if it blocks or restricts public policies, it must change")));
    }
    if f.scan.partial_layout {
        out.push((false, "more objects carry grants than the audit keeps keys for: the policy uses tags and the verifier checked groups, not every key".into()));
    }
    out
}

/// The steps, in order.
pub fn steps(f: &Findings<'_>) -> Vec<Step> {
    let b = &f.scope.bucket;
    let mut out = Vec::new();
    let public = f
        .proposal
        .targets
        .iter()
        .any(|t| t.reader == Reader::Public);
    let pab = f.bucket.settings.public_access_block;
    if public && (pab.block_public_policy || pab.restrict_public_buckets) {
        out.push(Step {
            text: "let the bucket take a public policy (BlockPublicPolicy and RestrictPublicBuckets off; the ACL settings as they are)".into(),
            command: Some(format!(
                "aws s3api put-public-access-block --bucket {b} --public-access-block-configuration BlockPublicAcls={},IgnorePublicAcls={},BlockPublicPolicy=false,RestrictPublicBuckets=false",
                pab.block_public_acls, pab.ignore_public_acls
            )),
        });
    }
    if let (AccountBpa::Known { account, bpa }, true) = (&f.bucket.account, public) {
        if bpa.block_public_policy || bpa.restrict_public_buckets {
            out.push(Step {
                text: format!("account {account} blocks public policies: turn BlockPublicPolicy and RestrictPublicBuckets off there too (it covers every bucket of the account)"),
                command: Some(format!("aws s3control put-public-access-block --account-id {account} --public-access-block-configuration BlockPublicAcls={},IgnorePublicAcls={},BlockPublicPolicy=false,RestrictPublicBuckets=false", bpa.block_public_acls, bpa.ignore_public_acls)),
            });
        }
    }
    let tagged = f.proposal.tagged_groups();
    if !tagged.is_empty() {
        let versions: u64 = tagged
            .iter()
            .map(|g| f.scan.groups.list[*g as usize].versions)
            .sum();
        out.push(Step {
            text: format!("tag {versions} object versions with {}=<their group> (the `object` lines of -o json name each key, version and group): PutObjectTagging replaces an object's whole tag set, so merge with its tags (10 at most); for many objects, an S3 Batch Operations job with a manifest made from those lines", super::evaluate::TAG_KEY),
            command: None,
        });
    }
    let file = f.policy_file.unwrap_or("policy.json");
    out.push(Step {
        text: format!("apply the policy (the bucket's statements with ours merged in; written with --policy-out {file})"),
        command: Some(format!("aws s3api put-bucket-policy --bucket {b} --policy file://{file}")),
    });
    out.push(Step {
        text: "check: audit again; it must say the policy is in place and the verifier holds"
            .into(),
        command: Some(format!("acl-reconciler audit s3://{b}/{}", f.scope.prefix)),
    });
    if !f.bucket.bucket_grants.is_empty() {
        out.push(Step {
            text: format!("the bucket's own ACL grants {} besides the owner: BucketOwnerEnforced is refused until it is private (move what it grants into the policy first)", join_grants(&f.bucket.bucket_grants)),
            command: Some(format!("aws s3api put-bucket-acl --bucket {b} --acl private")),
        });
    }
    out.push(Step {
        text: "disable ACLs. Afterwards any writer that still sends an ACL other than bucket-owner-full-control gets AccessControlListNotSupported: find such writers first in the server access logs (field aclRequired = Yes, and REST.PUT.ACL operations) or CloudTrail data events (additionalEventData.aclRequired, requestParameters x-amz-acl / x-amz-grant-*)".into(),
        command: Some(format!("aws s3api put-bucket-ownership-controls --bucket {b} --ownership-controls 'Rules=[{{ObjectOwnership=BucketOwnerEnforced}}]'")),
    });
    out
}

fn join_grants(grants: &[mc_aws_common::acl::Grant]) -> String {
    grants
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints the report.
pub struct Report {
    printer: Printer,
    format: Format,
    quiet: bool,
}

impl Report {
    pub fn new(format: Format, quiet: bool) -> Self {
        Self {
            printer: Printer::new(),
            format,
            quiet,
        }
    }

    fn json(&mut self, kind: &str, value: Value) -> io::Result<()> {
        let mut v = value;
        v["kind"] = json!(kind);
        self.printer.json(&v)
    }

    /// One version with grants (JSON only: a manifest for tagging).
    pub fn granted(&mut self, g: &Granted) -> io::Result<()> {
        if self.format == Format::Json && !self.quiet {
            self.json("object", json!(g))?;
        }
        Ok(())
    }

    /// The bucket's settings and what the audit found.
    pub fn conclusion(
        &mut self,
        f: &Findings<'_>,
        summary: &Summary,
        unreadable: &[Unreadable],
    ) -> io::Result<()> {
        match self.format {
            Format::Json => self.json_conclusion(f, summary, unreadable),
            Format::Human => self.human_conclusion(f, summary, unreadable),
        }?;
        self.printer.flush()
    }

    fn json_conclusion(
        &mut self,
        f: &Findings<'_>,
        s: &Summary,
        unreadable: &[Unreadable],
    ) -> io::Result<()> {
        self.json("bucket", bucket_json(f.bucket, f.scope))?;
        for u in unreadable {
            self.json(
                "object",
                json!({"key": u.key, "version": u.version, "unreadable": u.error}),
            )?;
        }
        for g in &s.groups {
            self.json("group", json!(g))?;
        }
        self.json("policy", json!({"document": f.proposal.document, "size": f.proposal.size, "fits": f.proposal.fits, "in_place": s.policy_in_place, "statements": f.proposal.targets}))?;
        self.json("verification", json!(f.verification))?;
        for (i, step) in steps(f).iter().enumerate() {
            self.json(
                "step",
                json!({"n": i + 1, "text": step.text, "command": step.command}),
            )?;
        }
        self.json("summary", json!(s))
    }

    fn human_conclusion(
        &mut self,
        f: &Findings<'_>,
        s: &Summary,
        unreadable: &[Unreadable],
    ) -> io::Result<()> {
        let p = &mut self.printer;
        for line in bucket_lines(f.bucket, f.scope) {
            p.line(line)?;
        }
        human_objects(p, s, unreadable)?;
        for g in &s.groups {
            human_group(p, g)?;
        }
        p.line("")?;
        human_proposal(p, f, s)?;
        human_verdict(p, f, s)
    }

    /// A bucket with ACLs disabled already.
    pub fn nothing_to_do(&mut self, bucket: &Bucket, scope: &Scope) -> io::Result<()> {
        let text = format!("s3://{}: ACLs are disabled already (Object Ownership is BucketOwnerEnforced): nothing to do", scope.bucket);
        match self.format {
            Format::Json => {
                self.json("bucket", bucket_json(bucket, scope))?;
                self.json("summary", json!({"acls_enabled": false, "safe": true, "nothing_to_do": true, "text": text}))?;
            }
            Format::Human => self.printer.line(text)?,
        }
        self.printer.flush()
    }
}

fn bucket_json(b: &Bucket, scope: &Scope) -> Value {
    let account = match &b.account {
        AccountBpa::Known { account, bpa } => {
            json!({"account": account, "public_access_block": bpa})
        }
        AccountBpa::Unknown { account, why } => json!({"account": account, "unknown": why}),
    };
    json!({
        "bucket": scope.bucket, "prefix": scope.prefix, "owner": b.owner,
        "ownership": b.settings.ownership.to_string(),
        "public_access_block": b.settings.public_access_block,
        "account_public_access_block": account,
        "versioned": b.versioned, "requester_pays": b.requester_pays,
        "bucket_acl_grants": b.bucket_grants,
        "policy_statements": b.policy.as_ref().map(|p| super::policy::statements(p).len()).unwrap_or(0),
    })
}

fn bucket_lines(b: &Bucket, scope: &Scope) -> Vec<String> {
    let pab = b.settings.public_access_block;
    let onoff = |x: bool| if x { "on" } else { "off" };
    let account = match &b.account {
        AccountBpa::Known { account, bpa } => format!(
            "account {account}: BlockPublicAcls {} IgnorePublicAcls {} BlockPublicPolicy {} RestrictPublicBuckets {}",
            onoff(bpa.block_public_acls), onoff(bpa.ignore_public_acls), onoff(bpa.block_public_policy), onoff(bpa.restrict_public_buckets)
        ),
        AccountBpa::Unknown { why, .. } => format!("account: unknown ({why})"),
    };
    vec![
        format!(
            "bucket s3://{}/{}: Object Ownership {}, versioning {}, requester pays {}{}",
            scope.bucket, scope.prefix, b.settings.ownership,
            if b.versioned { "on (every version audited)" } else { "off" },
            if b.requester_pays { "yes (requests sent with x-amz-request-payer: requester)" } else { "no" },
            match b.policy.as_ref().map(|p| super::policy::statements(p).len()) {
                Some(n) => format!(", a policy of {n} statements"),
                None => ", no policy".into(),
            }
        ),
        format!(
            "block public access: bucket BlockPublicAcls {} IgnorePublicAcls {} BlockPublicPolicy {} RestrictPublicBuckets {}; {account}",
            onoff(pab.block_public_acls), onoff(pab.ignore_public_acls), onoff(pab.block_public_policy), onoff(pab.restrict_public_buckets)
        ),
    ]
}

/// With a version, ` (version v)`.
fn version_note(v: Option<&str>) -> String {
    v.map(|v| format!(" (version {v})")).unwrap_or_default()
}

fn human_objects(p: &mut Printer, s: &Summary, unreadable: &[Unreadable]) -> io::Result<()> {
    p.line(format!(
        "objects: {} versions ({} current, {} delete markers), {}; {} carry grants besides the bucket owner's, in {} groups; {} unreadable",
        human_count(s.versions), human_count(s.current), human_count(s.delete_markers), human_bytes(s.bytes),
        human_count(s.with_grants), s.groups.len(), human_count(s.unreadable)
    ))?;
    for u in unreadable.iter().take(50) {
        let version = version_note(u.version.as_deref());
        p.line(format!(
            "  unreadable {}{version}  {}",
            printable(&u.key),
            u.error
        ))?;
    }
    Ok(())
}

fn human_group(p: &mut Printer, g: &GroupLine) -> io::Result<()> {
    p.line("")?;
    p.line(format!(
        "group {}: {} versions ({} current), {}: {}",
        g.group,
        human_count(g.versions),
        human_count(g.current),
        human_bytes(g.bytes),
        g.grants
    ))?;
    let examples: Vec<String> = g
        .examples
        .iter()
        .map(|k| printable(k).into_owned())
        .collect();
    p.line(format!("  examples: {}", examples.join(", ")))?;
    for c in &g.changes {
        p.line(format!("  - {c}"))?;
    }
    Ok(())
}

fn human_proposal(p: &mut Printer, f: &Findings<'_>, s: &Summary) -> io::Result<()> {
    for t in &f.proposal.targets {
        let how = match &t.mode {
            Mode::Keys { resources } => format!("{} keys and prefixes", resources.len()),
            Mode::Tags { groups } => format!(
                "tagged versions of {} groups ({})",
                groups.len(),
                t.why_tags.as_deref().unwrap_or("")
            ),
        };
        p.line(format!("statement {}: {} may read {how}", t.sid, t.reader))?;
    }
    let v = f.verification;
    p.line(format!(
        "policy: {} bytes of {POLICY_LIMIT}{}; verifier: {} versions and {} owner-only runs checked, {} reads widened, {} lost that a statement could keep, {} lost with no equivalent",
        f.proposal.size, if s.policy_in_place { ", already in place" } else { "" },
        human_count(v.versions), human_count(v.private_runs), v.widened_count, v.lost_count, v.lost_without_equivalent
    ))?;
    for w in v.widened.iter().chain(&v.lost) {
        let version = version_note(w.version.as_deref());
        p.line(format!(
            "  {} {} {}{version}",
            w.who,
            w.action,
            printable(&w.key)
        ))?;
    }
    Ok(())
}

fn human_verdict(p: &mut Printer, f: &Findings<'_>, s: &Summary) -> io::Result<()> {
    p.line(if s.safe {
        "verdict: safe to disable ACLs once the steps below are done"
    } else {
        "verdict: NOT safe to disable ACLs yet"
    })?;
    for r in &s.reasons {
        p.line(format!("  - {r}"))?;
    }
    p.line("steps:")?;
    for (i, step) in steps(f).iter().enumerate() {
        p.line(format!("  {}. {}", i + 1, step.text))?;
        if let Some(c) = &step.command {
            p.line(format!("     {c}"))?;
        }
    }
    p.line("policy:")?;
    p.line(serde_json::to_string_pretty(&f.proposal.document).unwrap_or_default())
}
