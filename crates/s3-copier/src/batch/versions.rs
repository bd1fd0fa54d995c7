//! `--versions noncurrent`: every older version of a versioned source, with
//! its version id, for a job of its own. A job does not keep its manifest's
//! order, so AWS's advice is followed: the noncurrent versions in one job,
//! then, once it has finished, the current versions in a later job (the
//! default `--versions current`, which compares with the destination as the
//! first job left it, so the source's current version ends up current).
//! Each key's versions are written oldest first all the same. Delete
//! markers are counted and reported, never copied.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::listing::KeyRange;
use mc_aws_common::output::printable;
use mc_aws_common::retry::Throttle;

use super::plan::Found;
use crate::cli::DiffArgs;
use crate::copy::Copier;
use crate::cost::CopyProfile;
use crate::manifest::write_row;
use crate::preflight;
use crate::report::SyncReport;

/// One noncurrent version.
struct Version {
    key: String,
    id: String,
    size: u64,
    class: Option<String>,
}

/// What the listing found.
#[derive(Default)]
struct Tally {
    listed: u64,
    profile: CopyProfile,
    /// Keys whose current version is a delete marker.
    deleted_keys: u64,
    examples: Vec<String>,
}

/// Writes the rows of one key's versions (listed newest first) oldest first.
fn flush(
    out: &mut impl Write,
    bucket: &str,
    pending: &mut Vec<Version>,
    t: &mut Tally,
) -> std::io::Result<()> {
    for v in pending.drain(..).rev() {
        write_row(out, bucket, &v.key, Some(&v.id))?;
        t.profile.add_object(v.size, v.class.as_deref());
    }
    Ok(())
}

/// The page's versions and delete markers, checked against the shard.
fn take_page(
    page: &ListObjectVersionsOutput,
    range: Option<&KeyRange>,
    out: &mut impl Write,
    bucket: &str,
    (pending, t): (&mut Vec<Version>, &mut Tally),
) -> std::io::Result<bool> {
    let inside = |k: &str| range.is_none_or(|r| r.contains(k));
    for m in page.delete_markers() {
        let key = m.key().unwrap_or_default();
        if m.is_latest().unwrap_or(false) && inside(key) {
            t.deleted_keys += 1;
            if t.examples.len() < 5 {
                t.examples.push(printable(key).into_owned());
            }
        }
    }
    for v in page.versions() {
        let key = v.key().unwrap_or_default();
        if range.is_some_and(|r| r.upto.as_deref().is_some_and(|u| key > u)) {
            return Ok(false);
        }
        if !inside(key) {
            continue;
        }
        t.listed += 1;
        if pending.last().is_some_and(|p| p.key != key) {
            flush(out, bucket, pending, t)?;
        }
        if !v.is_latest().unwrap_or(false) {
            pending.push(Version {
                key: key.to_string(),
                id: v.version_id().unwrap_or("null").to_string(),
                size: v.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                class: v.storage_class().map(|c| c.as_str().to_string()),
            });
        }
    }
    Ok(true)
}

/// Lists every version under the source folder (the shard's keys), one
/// page after the other, into `manifest_file`.
async fn list(
    copier: &Copier,
    throttle: &Throttle,
    range: Option<&KeyRange>,
    stop: &Interrupt,
    manifest_file: &Path,
) -> Result<(Tally, bool), ToolError> {
    let side = &copier.src;
    let what = format!("bucket {}", side.bucket());
    let file = File::create(manifest_file).map_err(|e| ToolError::file(manifest_file, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let io = |e| ToolError::file(manifest_file, e);
    let (mut t, mut pending) = (Tally::default(), Vec::new());
    let mut markers = (range.and_then(|r| r.after.clone()), None::<String>);
    let complete = loop {
        if stop.is_set() {
            break false;
        }
        let page = throttle
            .call(|| {
                side.client
                    .list_object_versions()
                    .bucket(side.bucket())
                    .prefix(&side.url.prefix)
                    .set_key_marker(markers.0.clone())
                    .set_version_id_marker(markers.1.clone())
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &what))?;
        let more = take_page(
            &page,
            range,
            &mut out,
            side.bucket(),
            (&mut pending, &mut t),
        )
        .map_err(io)?;
        if !more || !page.is_truncated().unwrap_or(false) {
            break true;
        }
        markers = (
            page.next_key_marker().map(str::to_string),
            page.next_version_id_marker().map(str::to_string),
        );
    };
    flush(&mut out, side.bucket(), &mut pending, &mut t).map_err(io)?;
    out.flush().map_err(io)?;
    Ok((t, complete))
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
    let (t, complete) = list(
        &copier,
        &throttle,
        shard.range.as_ref(),
        &stop,
        manifest_file,
    )
    .await?;
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
