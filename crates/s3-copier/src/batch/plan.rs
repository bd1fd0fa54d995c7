//! `batch plan` (and the first half of `batch create`): the differences
//! `sync` would copy, found by `sync`'s own comparison, written to a local
//! manifest; the operation that copies them; what the job costs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::{human_bytes, human_count, Format, OutputArgs, Printer};
use serde::Serialize;

use super::versions;
use crate::cli::{BatchPlanArgs, DiffArgs, SyncArgs, VersionScope};
use crate::copy::Copier;
use crate::cost::{self, CopyProfile, Estimate, PriceTable};
use crate::manifest::Sink;
use crate::operation::{self, Facts, Operation};
use crate::report::SyncReport;
use crate::s3control::partition;
use crate::sync;

/// What AWS's limits mean for every job (printed with each plan).
pub const LIMITS: &str = "one source bucket per job; S3's copy takes objects up to 5 GB and no SSE-C objects (they fail, listed in the report); the job runs in the destination's Region (a Lambda job in the function's); rows are not processed in manifest order";

/// A finished plan.
pub struct Planned {
    pub copier: Arc<Copier>,
    pub report: SyncReport,
    /// The manifest names object versions (`--versions noncurrent`).
    pub versions: bool,
    pub profile: CopyProfile,
    /// The operation, or why none fits what was asked.
    pub operation: Result<Operation, String>,
    pub estimate: Estimate,
    /// The diff's own outcome (0, or 1/130 when it is incomplete).
    pub outcome: i32,
    pub manifest_file: PathBuf,
    /// Where the job must be created.
    pub job_region: String,
}

/// The one line (JSON) or block (human) that says what a plan found.
#[derive(Debug, Serialize)]
struct PlanLine<'a> {
    kind: &'static str,
    source: String,
    dest: String,
    compared: u64,
    objects: u64,
    bytes: u64,
    largest: u64,
    missing: u64,
    different: u64,
    manifest_file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation_refused: Option<&'a str>,
    job_region: &'a str,
    complete: bool,
    limits: &'static str,
    notes: &'a [String],
}

/// `sync`'s arguments for a diff that writes a manifest.
fn sync_args(d: &DiffArgs) -> SyncArgs {
    SyncArgs {
        endpoints: d.endpoints.clone(),
        copy: d.copy.clone(),
        throttle: d.throttle.clone(),
        acl_reads: d.acl_reads.clone(),
        shard: d.shard.clone(),
        inventories: d.inventories.clone(),
        filters: d.filters.clone(),
        queue_arn: None,
        dry_run: true,
        delete: false,
        size_only: d.size_only,
        state: None,
        list_page_size: d.list_page_size,
        price_table: None,
        keys_from: None,
        fleet: Default::default(),
    }
}

/// The region of a Lambda function's ARN (`arn:aws:lambda:REGION:...`).
fn function_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() >= 7 && parts[2] == "lambda" && !parts[3].is_empty()).then(|| parts[3])
}

/// What a manifest came to, before the operation is chosen.
pub struct Found {
    pub copier: Arc<Copier>,
    pub report: SyncReport,
    pub profile: CopyProfile,
    pub outcome: i32,
    pub versions: bool,
}

/// Finds what to copy (the differences, or with `--versions noncurrent`
/// every older version), writes it to `manifest_file`, decides.
pub async fn plan(
    d: &DiffArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
    manifest_file: &Path,
) -> Result<Planned, ToolError> {
    let prices = PriceTable::load(d.price_table.as_deref())?;
    let found = match d.versions {
        VersionScope::Current => differences(d, aws, out, stop, manifest_file).await?,
        VersionScope::Noncurrent => versions::noncurrent(d, aws, stop, manifest_file).await?,
    };
    Ok(decide(d, found, &prices, manifest_file))
}

/// The differences, by `sync`'s comparison, into the manifest.
async fn differences(
    d: &DiffArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
    manifest_file: &Path,
) -> Result<Found, ToolError> {
    let sink = Arc::new(Sink::create(manifest_file, &d.endpoints.source.bucket)?);
    let (run, outcome) = sync::diff(&sync_args(d), aws, out, stop, Some(sink.clone())).await?;
    Ok(Found {
        outcome: outcome?,
        profile: sink.finish()?,
        copier: run.job.copier.clone(),
        report: run.report,
        versions: false,
    })
}

/// Chooses the operation and prices the job.
fn decide(d: &DiffArgs, found: Found, prices: &PriceTable, manifest_file: &Path) -> Planned {
    let Found {
        copier,
        report,
        profile,
        outcome,
        versions,
    } = found;
    let dest_region = copier.sse.dest_region.clone();
    let facts = Facts {
        opts: &copier.opts,
        source_acls: copier.source_acls,
        sse: &copier.sse.bulk,
        profile: &profile,
        versions,
        folders: &copier.folders,
    };
    let lambda = d.lambda_arn.as_deref();
    let operation = operation::choose(d.operation, &facts, partition(&dest_region), lambda);
    // A copy job runs in the destination's Region, a Lambda job in the function's.
    let (engine, job_region) = match &operation {
        Ok(op @ Operation::Lambda { function_arn, .. }) => (
            op.engine(),
            function_region(function_arn)
                .unwrap_or(&dest_region)
                .to_string(),
        ),
        Ok(op) => (op.engine(), dest_region.clone()),
        Err(_) => (facts.likely_engine(), dest_region.clone()),
    };
    let estimate = cost::for_copies(&copier, &profile, engine, 1, prices);
    Planned {
        copier,
        report,
        versions,
        profile,
        operation,
        estimate,
        outcome,
        manifest_file: manifest_file.to_path_buf(),
        job_region,
    }
}

/// Prints what a plan found: the summary, then the estimate.
pub fn print(p: &Planned, format: Format) {
    let r = &p.report;
    let line = PlanLine {
        kind: "plan",
        source: r.source.clone(),
        dest: r.dest.clone(),
        compared: r.counts.listed,
        objects: p.profile.objects,
        bytes: p.profile.bytes,
        largest: p.profile.largest,
        missing: r.counts.missing,
        different: r.counts.different,
        manifest_file: p.manifest_file.display().to_string(),
        operation: p.operation.as_ref().ok().map(Operation::name),
        operation_refused: p.operation.as_ref().err().map(String::as_str),
        job_region: &p.job_region,
        complete: p.outcome == exit::SUCCESS,
        limits: LIMITS,
        notes: &r.notes,
    };
    let mut printer = Printer::new();
    let _ = match format {
        Format::Json => printer.json(&line).and_then(|()| printer.json(&p.estimate)),
        Format::Human => printer.line(human(&line, &p.estimate).trim_end()),
    };
    let _ = printer.flush();
}

fn human(l: &PlanLine<'_>, e: &Estimate) -> String {
    let operation = match (l.operation, l.operation_refused) {
        (Some(op), _) => format!("{op} (job in {})", l.job_region),
        (None, Some(why)) => format!("none: {why}"),
        (None, None) => "none".into(),
    };
    let rows = [
        ("source", l.source.clone()),
        ("destination", l.dest.clone()),
        ("compared", human_count(l.compared)),
        (
            "to copy",
            format!(
                "{} ({} missing, {} different), {}; largest {}",
                human_count(l.objects),
                human_count(l.missing),
                human_count(l.different),
                human_bytes(l.bytes),
                human_bytes(l.largest)
            ),
        ),
        ("manifest", l.manifest_file.clone()),
        ("operation", operation),
        ("limits", l.limits.to_string()),
    ];
    let mut out = String::new();
    if !l.complete {
        out.push_str("the comparison stopped early: the manifest is incomplete\n");
    }
    for (k, v) in rows {
        out.push_str(&format!("{k:<15} {v}\n"));
    }
    for n in l.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out.push_str(&e.human());
    out
}

/// Runs `batch plan`.
pub async fn run(
    a: &BatchPlanArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
) -> Result<i32, ToolError> {
    let planned = plan(&a.diff, aws, out, stop, &a.manifest_file).await?;
    print(&planned, out.output);
    Ok(planned.outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_human_plan_names_the_operation_the_limits_and_the_price() {
        let notes = vec!["source bucket old is versioned".to_string()];
        let line = PlanLine {
            kind: "plan",
            source: "s3://old/".into(),
            dest: "s3://new/".into(),
            compared: 2_000,
            objects: 1_200,
            bytes: 3 << 30,
            largest: 5 << 20,
            missing: 1_000,
            different: 200,
            manifest_file: "diff.csv".into(),
            operation: Some("S3PutObjectCopy"),
            operation_refused: None,
            job_region: "eu-west-1",
            complete: true,
            limits: LIMITS,
            notes: &notes,
        };
        let classes = BTreeMap::from([("STANDARD".to_string(), 1_200)]);
        let estimate = cost::estimate(
            &PriceTable::built_in(),
            &cost::Workload {
                jobs: 1,
                objects: 1_200,
                bytes: 3 << 30,
                classes: &classes,
                engine: cost::Engine::NativeCopy,
                cross_region: false,
            },
        );
        let text = human(&line, &estimate);
        for want in [
            "to copy         1,200 (1,000 missing, 200 different), 3.00 GiB; largest 5.00 MiB",
            "operation       S3PutObjectCopy (job in eu-west-1)",
            "limits          one source bucket per job",
            "note: source bucket old is versioned",
            "estimated cost as a Batch Operations job (us-east-1 list prices of 2025-06, USD)",
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
        let refused = PlanLine {
            operation: None,
            operation_refused: Some("--acl copy: ..."),
            complete: false,
            ..line
        };
        let text = human(&refused, &estimate);
        assert!(text.starts_with("the comparison stopped early"), "{text}");
        assert!(
            text.contains("operation       none: --acl copy: ..."),
            "{text}"
        );
    }
}
