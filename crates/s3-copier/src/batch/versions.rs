//! `--versions noncurrent`: every older version of a versioned source, with
//! its version id, for a job of its own. A job does not keep its manifest's
//! order, so AWS's advice is followed: the noncurrent versions in one job,
//! then, once it has finished, the current versions in a later job (the
//! default `--versions current`, which compares with the destination as the
//! first job left it, so the source's current version ends up current).
//! Each key's versions are written oldest first all the same. Delete
//! markers are counted and reported, never copied. Listed with the shared
//! parallel lister over ListObjectVersions (`listing::versions`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::keyfilter::KeyFilter;
use mc_aws_common::listing::s3::S3Source;
use mc_aws_common::listing::versions::{VersionEntry, VersionKind};
use mc_aws_common::listing::{self, KeyRange, ListOptions};
use mc_aws_common::output::printable;
use mc_aws_common::retry::Throttle;

use super::plan::Found;
use crate::cli::DiffArgs;
use crate::copy::Copier;
use crate::cost::CopyProfile;
use crate::manifest::write_row;
use crate::preflight;
use crate::report::SyncReport;

/// What the listing found.
#[derive(Default)]
struct Tally {
    listed: u64,
    profile: CopyProfile,
    /// Keys whose current version is a delete marker.
    deleted_keys: u64,
    examples: Vec<String>,
}

/// Writes the noncurrent versions of one chunk (whole keys, each key's
/// versions newest first as S3 lists them) oldest first, and counts the
/// keys whose current entry is a delete marker.
fn take_chunk(
    items: &[VersionEntry],
    (filter, folder): (&KeyFilter, &str),
    out: &mut impl Write,
    bucket: &str,
    t: &mut Tally,
) -> std::io::Result<()> {
    let selected = |k: &str| filter.selects(k.strip_prefix(folder).unwrap_or(k));
    for key in items.chunk_by(|a, b| a.key == b.key) {
        if !selected(&key[0].key) {
            continue;
        }
        for v in key.iter().rev() {
            match v.kind {
                VersionKind::DeleteMarker => {}
                VersionKind::Version { latest: true } => t.listed += 1,
                VersionKind::Version { latest: false } => {
                    t.listed += 1;
                    let id = v.version_id.as_deref().unwrap_or("null");
                    write_row(out, bucket, &v.key, Some(id))?;
                    t.profile.add_object(v.size, v.storage_class.as_deref());
                }
            }
        }
        // Every key has one current entry: no current version, a delete marker.
        let current = |v: &VersionEntry| v.kind == VersionKind::Version { latest: true };
        if !key.iter().any(current) {
            t.deleted_keys += 1;
            if t.examples.len() < 5 {
                t.examples.push(printable(&key[0].key).into_owned());
            }
        }
    }
    Ok(())
}

/// Lists every version under the source folder (the shard's keys) with
/// the shared parallel lister, into `manifest_file`; whether it finished.
async fn list(
    copier: &Copier,
    d: &DiffArgs,
    range: Option<KeyRange>,
    stop: &Interrupt,
    manifest_file: &Path,
) -> Result<(Tally, bool), ToolError> {
    let side = &copier.src;
    let source = S3Source::new(
        side.client.clone(),
        side.bucket(),
        &side.url.prefix,
        copier.throttle.clone(),
    )
    .versions();
    let cursors = d.throttle.list_cursors(false);
    let options = ListOptions {
        concurrency: cursors,
        ranges: range.map(|r| vec![r]),
        buffer: cursors,
    };
    let mut listing = listing::list(source, options);
    let file = File::create(manifest_file).map_err(|e| ToolError::file(manifest_file, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let io = |e| ToolError::file(manifest_file, e);
    let mut t = Tally::default();
    while let Some(chunk) = listing.next().await {
        if stop.is_set() {
            return Ok((t, false));
        }
        let filter = (&d.filters.filter, side.url.prefix.as_str());
        take_chunk(&chunk?.items, filter, &mut out, side.bucket(), &mut t).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok((t, true))
}

/// `--versions noncurrent`: the manifest of every older version.
pub async fn noncurrent(
    d: &DiffArgs,
    aws: &AwsArgs,
    stop: Interrupt,
    manifest_file: &Path,
) -> Result<Found, ToolError> {
    let invalid = |m: String| ToolError::Invalid {
        what: "batch --versions noncurrent".into(),
        message: m,
    };
    let opts = d
        .copy
        .options(aws.endpoint_url.is_some())
        .map_err(invalid)?;
    let ends = &d.endpoints;
    let shard = d.shard.plan(&ends.source.prefix)?;
    let throttle = Throttle::from_args(&d.throttle);
    if d.inventories.any() {
        return Err(invalid(
            "lists the versions live: not with --source-inventory/--dest-inventory".into(),
        ));
    }
    let (copier, pf) = preflight::copier(aws, ends, opts, (&throttle, &throttle), None).await?;
    let (t, complete) = list(&copier, d, shard.range, &stop, manifest_file).await?;
    let mut report = SyncReport::new(ends.source.to_string(), ends.dest.to_string(), true);
    report.notes = pf
        .notes
        .into_iter()
        .filter(|n| !n.contains("only current versions"))
        .collect();
    report.notes.push(
        "run the current versions' job (--versions current) only once this one has finished: it compares with the destination as this job leaves it".into(),
    );
    if t.deleted_keys > 0 {
        report.notes.push(format!(
            "{} keys are deleted at the source (a delete marker is their current version, e.g. {}): markers are not copied; their older versions are, so delete these keys at the destination afterwards if they must stay deleted (sync --delete)",
            t.deleted_keys,
            t.examples.join(", ")
        ));
    }
    report.counts.listed = t.listed;
    report.counts.missing = t.profile.objects;
    report.counts.copied = t.profile.objects;
    report.counts.copied_bytes = t.profile.bytes;
    report.complete = complete;
    Ok(Found {
        copier: Arc::new(copier),
        report,
        profile: t.profile,
        outcome: if complete {
            exit::SUCCESS
        } else {
            exit::INTERRUPTED
        },
        versions: true,
    })
}
