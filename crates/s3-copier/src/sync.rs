//! `sync`: copy every object that is missing or different at the destination.
//!
//! The source is listed with the shared sharded lister, which yields chunks
//! (the keys of one page plus the span of the key space they account for).
//! For each chunk the same span of the destination is listed and the two
//! sorted lists merge-joined, so memory holds a bounded number of chunks
//! whatever the bucket size. A chunk's span is recorded in the checkpoint
//! (`--state`) only once every copy and delete in it succeeded.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use mc_aws_common::cli::{AwsArgs, Shard};
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::listing::s3::{ObjectEntry, S3Source};
use mc_aws_common::listing::{self, shard_ranges, splits, Chunk, KeyRange, ListOptions, RangeSet};
use mc_aws_common::output::{printable, Format, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;
use serde::Serialize;

use crate::cli::SyncArgs;
use crate::compare::{intersect, map_span, merge_join, Pair};
use crate::copy::{Copier, CopyError, Side};
use crate::interrupt::{Interrupt, GRACE};
use crate::options::{AclMode, CopyOptions};
use crate::preflight;
use crate::report::{Counts, Failure, SyncReport};
use crate::state::Checkpoint;

/// How often the checkpoint is written while a run makes progress.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(3);

/// The source ranges to list: the shard (or everything), minus what the
/// checkpoint says is done. `None` means "the whole prefix" (lets the lister
/// seed its ranges from the first page).
pub fn ranges_to_list(
    prefix: &str,
    shard: Option<Shard>,
    splits: Option<&[String]>,
    done: &RangeSet,
) -> Option<Vec<KeyRange>> {
    let scope = shard.map(|s| shard_ranges(prefix, s, splits));
    if done.ranges().is_empty() {
        return scope.map(|s| vec![s]);
    }
    let left = done.complement();
    Some(match scope {
        None => left,
        Some(s) => left.iter().filter_map(|r| intersect(r, &s)).collect(),
    })
}

/// Lists the source in chunks (pages of up to 1000 keys) for a merge-join at
/// `-j concurrency`: the listing, and how many chunks to compare at once
/// (each with its destination span). Memory is about (cursors + buffer +
/// chunks) pages: the lister gets no more cursors than there are chunk
/// slots, as listing faster than chunks are compared only fills memory with
/// pages waiting for a slot (and makes it grow with the bucket until every
/// cursor of a wider lister is busy).
pub fn list_source(
    source: S3Source,
    ranges: Option<Vec<KeyRange>>,
    concurrency: usize,
) -> (listing::Listing<ObjectEntry, ToolError>, usize) {
    let max_chunks = (concurrency / 4).clamp(4, 64);
    let listing = listing::list(
        source,
        ListOptions {
            concurrency: max_chunks,
            ranges,
            buffer: max_chunks / 4,
        },
    );
    (listing, max_chunks)
}

/// Lists the destination span matching a source span.
pub async fn list_dest_span(
    dst: &S3Source,
    span: &KeyRange,
    src_prefix: &str,
    dst_prefix: &str,
) -> Result<Vec<ObjectEntry>, ToolError> {
    match map_span(span, src_prefix, dst_prefix) {
        Some(s) => dst.list_span(&s).await,
        None => Ok(Vec::new()),
    }
}

/// One line per planned action with --dry-run (`"kind": "action"`; `key`
/// is the source key of a copy, the destination key of a delete).
#[derive(Debug, Serialize)]
struct ActionLine<'a> {
    kind: &'static str,
    action: &'a str,
    key: &'a str,
    /// Where a copy goes, when the folders differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<std::borrow::Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

struct Job {
    copier: Arc<Copier>,
    dst_source: S3Source,
    size_only: bool,
    delete: bool,
    dry_run: bool,
    /// A dry run reads the source ACLs of the objects to copy, because the
    /// destination refuses public ones (BlockPublicAcls).
    dry_run_reads_acls: bool,
    /// Objects in flight at most (per chunk, and over all chunks).
    concurrency: usize,
    /// Objects being copied or deleted at once, over all chunks: each holds
    /// an SDK request's state (~10 KB), and up to `concurrency` of them per
    /// chunk times every chunk in flight came to ~200 MB for nothing, since
    /// the throttles let only so many requests out anyway.
    actions: tokio::sync::Semaphore,
    format: Format,
    printer: Mutex<Printer>,
    /// Once set, no new request is started.
    stop: Interrupt,
}

/// What one chunk came to.
struct ChunkDone {
    span: KeyRange,
    counts: Counts,
    failures: Vec<Failure>,
    /// Stopped by a signal before every action was started: not finished.
    interrupted: bool,
}

enum Action<'a> {
    Copy(&'a ObjectEntry),
    Delete(&'a ObjectEntry),
}

impl Job {
    fn print(&self, line: ActionLine<'_>) {
        let mut p = self.printer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = match self.format {
            Format::Json => p.json(&line),
            Format::Human => {
                let mut s = format!("{}: {}", line.action, printable(line.key));
                if let Some(d) = &line.dest_key {
                    s.push_str(&format!(" -> {}", printable(d)));
                }
                if let Some(r) = &line.reason {
                    s.push_str(&format!(" ({r})"));
                }
                p.line(s)
            }
        };
    }

    async fn chunk(&self, chunk: Chunk<ObjectEntry>) -> ChunkDone {
        let mut counts = Counts {
            listed: chunk.items.len() as u64,
            ..Counts::default()
        };
        let src_prefix = &self.copier.src.url.prefix;
        let dst_prefix = &self.copier.dst.url.prefix;
        if self.stop.is_set() {
            return ChunkDone {
                span: chunk.span,
                counts: Counts::default(),
                failures: Vec::new(),
                interrupted: true,
            };
        }
        let dst_items =
            match list_dest_span(&self.dst_source, &chunk.span, src_prefix, dst_prefix).await {
                Ok(d) => d,
                Err(e) => {
                    let key = chunk.span.after.clone().unwrap_or_default();
                    tracing::warn!("listing the destination after {key:?}: {e}");
                    counts.failed += 1;
                    return ChunkDone {
                        span: chunk.span,
                        counts,
                        failures: vec![Failure {
                            key: format!("(destination span after {key:?})"),
                            reason: e.to_string(),
                        }],
                        interrupted: false,
                    };
                }
            };
        let pairs = merge_join(
            &chunk.items,
            src_prefix,
            &dst_items,
            dst_prefix,
            self.size_only,
        );
        let mut actions = Vec::new();
        for p in &pairs {
            match p {
                Pair::Missing(s) => {
                    counts.missing += 1;
                    actions.push((Action::Copy(s), "missing"));
                }
                Pair::Different(s, _, why) => {
                    counts.different += 1;
                    actions.push((Action::Copy(s), why.as_str()));
                }
                Pair::Same(..) => counts.skipped += 1,
                Pair::Extra(d) => {
                    counts.extra += 1;
                    if self.delete {
                        actions.push((Action::Delete(d), "not at source"));
                    }
                }
            }
        }
        if self.dry_run {
            let mut failures = Vec::new();
            for (a, reason) in &actions {
                let (action, e) = match a {
                    Action::Copy(e) => ("copy", e),
                    Action::Delete(e) => ("delete", e),
                };
                let mut reason = std::borrow::Cow::Borrowed(*reason);
                let refused = match a {
                    Action::Copy(e) if self.dry_run_reads_acls => {
                        self.copier.refused_as_public(&e.key).await
                    }
                    _ => None,
                };
                if let Some(why) = refused {
                    counts.failed += 1;
                    reason = format!("{reason}; would fail: {why}").into();
                    failures.push(Failure {
                        key: e.key.clone(),
                        reason: why,
                    });
                } else if matches!(a, Action::Copy(_)) {
                    counts.copied += 1;
                    counts.copied_bytes += e.size;
                } else {
                    counts.deleted += 1;
                }
                let dest_key = match a {
                    Action::Copy(e) => self.copier.dest_key(&e.key).filter(|d| *d != e.key),
                    Action::Delete(_) => None,
                };
                self.print(ActionLine {
                    kind: "action",
                    action,
                    key: &e.key,
                    dest_key,
                    reason: Some(reason),
                    size: Some(e.size),
                });
            }
            return ChunkDone {
                span: chunk.span,
                counts,
                failures,
                interrupted: false,
            };
        }
        let results: Vec<_> = futures::stream::iter(actions)
            .map(|(a, _)| async move {
                let _slot = self.actions.acquire().await.ok()?;
                if self.stop.is_set() {
                    return None;
                }
                // Boxed once a slot is held: waiting actions stay small.
                Some(match a {
                    Action::Copy(e) => (
                        e,
                        true,
                        Box::pin(self.copier.copy(&e.key, Some(e))).await.map(Some),
                    ),
                    Action::Delete(e) => (
                        e,
                        false,
                        Box::pin(self.copier.delete_dest(&e.key))
                            .await
                            .map(|()| None),
                    ),
                })
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut failures = Vec::new();
        let mut interrupted = false;
        for (e, is_copy, r) in results.into_iter().filter_map(|r| {
            interrupted |= r.is_none();
            r
        }) {
            match r {
                Ok(Some(c)) => {
                    counts.copied += 1;
                    counts.copied_bytes += c.bytes;
                    counts.multipart += u64::from(c.multipart);
                }
                Ok(None) => counts.deleted += 1,
                Err(CopyError::Gone) if is_copy => {
                    tracing::info!(
                        "{}: deleted at the source since it was listed; skipped",
                        e.key
                    );
                    counts.gone += 1;
                }
                Err(err) => {
                    let action = if is_copy { "copy" } else { "delete" };
                    tracing::warn!("{action} {}: {err}", e.key);
                    counts.failed += 1;
                    failures.push(Failure {
                        key: e.key.clone(),
                        reason: err.to_string(),
                    });
                }
            }
        }
        ChunkDone {
            span: chunk.span,
            counts,
            failures,
            interrupted,
        }
    }
}

/// The `--splits` file, checked against `--shard` and the source prefix.
fn read_splits(args: &SyncArgs) -> Result<Option<Vec<String>>, ToolError> {
    let (Some(path), Some(shard)) = (&args.splits, args.shard) else {
        return Ok(None);
    };
    let invalid = |e: splits::SplitsError| ToolError::Invalid {
        what: "--splits".into(),
        message: e.to_string(),
    };
    let points = splits::read_points(path).map_err(invalid)?;
    let prefix = &args.endpoints.source.prefix;
    if let Some(note) = splits::check_for_shard(&points, path, shard, prefix).map_err(invalid)? {
        tracing::warn!("{note}");
    }
    Ok(Some(points))
}

/// Runs `sync`; returns the exit code.
pub async fn run(
    args: SyncArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
) -> Result<i32, ToolError> {
    let started = Instant::now();
    let custom_endpoint = aws.endpoint_url.is_some();
    let opts =
        CopyOptions::from_args(&args.copy, custom_endpoint).map_err(|m| ToolError::Invalid {
            what: "sync".into(),
            message: m,
        })?;
    let ends = &args.endpoints;
    let splits = read_splits(&args)?;
    let mut checkpoint = match &args.state {
        Some(p) => Some(
            Checkpoint::load_or_new(p, &ends.source.to_string(), &ends.dest.to_string()).map_err(
                |e| ToolError::Invalid {
                    what: "--state".into(),
                    message: e.to_string(),
                },
            )?,
        ),
        None => None,
    };
    let throttle = Throttle::from_args(&args.throttle);
    // Copying ACLs reads one per object: a read in S3's accounting (5,500/s
    // per prefix, apart from the 3,500 writes/s), so the reads get a budget
    // of -j of their own and overlap the copies instead of each copy waiting
    // for its read within the same -j. `--max-rps` caps the whole run: then
    // one budget.
    let acl_reads = match (&opts.acl, args.throttle.max_rps) {
        (AclMode::Copy, None) => Throttle::from_args(&args.throttle),
        _ => throttle.clone(),
    };
    let (src, dst): (Side, Side) = preflight::connect(aws, ends, &throttle, &acl_reads).await?;
    let mut pf = preflight::check(&src, &dst, &throttle, &opts.acl).await?;
    let sse = preflight::encryption(&src, &dst, &throttle, &opts, &mut pf.notes).await?;
    for n in &pf.notes {
        tracing::warn!("{n}");
    }
    if let (Some(cp), Some(path)) = (checkpoint.as_mut(), args.state.as_ref()) {
        let left = ranges_to_list(&ends.source.prefix, args.shard, splits.as_deref(), &cp.done);
        if left.is_some_and(|l| l.is_empty()) {
            // A finished checkpoint would make every later run a silent no-op.
            tracing::warn!(
                "{}: the last run finished every range; this run compares everything again",
                path.display()
            );
            cp.done = RangeSet::new();
        }
        if !args.dry_run {
            // Written after the pre-flight (a mistyped bucket leaves no file
            // naming the wrong pair) and before any copy: a checkpoint that
            // cannot be saved is found now, not after hours of copying.
            cp.save(path).map_err(|e| ToolError::Invalid {
                what: "--state".into(),
                message: e.to_string(),
            })?;
        }
    }
    let done = checkpoint
        .as_ref()
        .map(|c| c.done.clone())
        .unwrap_or_default();
    let ranges = ranges_to_list(&ends.source.prefix, args.shard, splits.as_deref(), &done);
    let concurrency = args.throttle.concurrency as usize;
    let src_source = S3Source::new(
        src.client.clone(),
        src.bucket(),
        &ends.source.prefix,
        throttle.clone(),
    )
    .page_size(args.list_page_size);
    let dst_source = S3Source::new(
        dst.client.clone(),
        dst.bucket(),
        &ends.dest.prefix,
        throttle.clone(),
    );
    // Objects in flight: with a read budget of their own (and ACLs to read:
    // not from a bucket with ACLs disabled), -j reading their ACL and -j
    // copying.
    let own_read_budget = !Arc::ptr_eq(&acl_reads, &throttle);
    let objects = if own_read_budget && pf.source_acls {
        2 * concurrency
    } else {
        concurrency
    };
    let copier = Arc::new(Copier {
        src,
        dst,
        throttle: throttle.clone(),
        opts,
        dest_owner: pf.dest_owner.clone(),
        source_acls: pf.source_acls,
        sse,
    });
    let job = Arc::new(Job {
        copier,
        dst_source,
        size_only: args.size_only,
        delete: args.delete,
        dry_run: args.dry_run,
        dry_run_reads_acls: args.dry_run && pf.dest_refuses_public,
        concurrency: objects,
        actions: tokio::sync::Semaphore::new(objects),
        format: out.output,
        printer: Mutex::new(Printer::new()),
        stop: stop.clone(),
    });
    let mut report = SyncReport::new(ends.source.to_string(), ends.dest.to_string(), args.dry_run);
    report.notes = pf.notes.clone();
    let nothing_left = matches!(&ranges, Some(r) if r.is_empty());
    let (mut listing, max_chunks) = list_source(src_source, ranges, concurrency);
    let bar = out.progress(None, "compared");
    let mut inflight = FuturesUnordered::new();
    let mut listing_done = nothing_left;
    let mut stopping = false;
    let mut fatal: Option<ToolError> = None;
    let mut dirty = false;
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    let signal = stop.wait();
    tokio::pin!(signal);
    // After a signal: how long the requests in flight may take.
    let grace = tokio::time::sleep(GRACE);
    tokio::pin!(grace);
    loop {
        if (listing_done || stopping) && inflight.is_empty() {
            break;
        }
        tokio::select! {
            _ = &mut signal, if !stopping => {
                tracing::warn!(
                    "interrupted: finishing the copies in flight (at most {}s), then saving the checkpoint",
                    GRACE.as_secs()
                );
                stopping = true;
                report.complete = false;
                grace.as_mut().reset(tokio::time::Instant::now() + GRACE);
                if dirty && !args.dry_run {
                    save(checkpoint.as_ref(), args.state.as_ref());
                    dirty = false;
                }
            }
            _ = &mut grace, if stopping => {
                tracing::warn!(
                    "{} chunks still in flight after {}s: abandoned (they are not in the checkpoint)",
                    inflight.len(),
                    GRACE.as_secs()
                );
                break;
            }
            Some(d) = inflight.next(), if !inflight.is_empty() => {
                let d: ChunkDone = d;
                bar.inc(d.counts.listed);
                report.counts.add(&d.counts);
                let ok = d.failures.is_empty() && !d.interrupted;
                report.keep_failures(d.failures);
                bar.set_message(format!("compared; {} to copy, {} failed", report.counts.copied, report.counts.failed));
                if ok {
                    if let Some(cp) = checkpoint.as_mut() {
                        cp.done.insert(d.span);
                        dirty = true;
                    }
                }
            }
            next = listing.next(), if !listing_done && !stopping && inflight.len() < max_chunks => {
                match next {
                    None => listing_done = true,
                    Some(Err(e)) => {
                        fatal = Some(e);
                        listing_done = true;
                        report.complete = false;
                    }
                    Some(Ok(chunk)) => {
                        let job = job.clone();
                        inflight.push(async move { job.chunk(chunk).await });
                    }
                }
            }
            _ = tick.tick() => {
                if dirty && !args.dry_run {
                    save(checkpoint.as_ref(), args.state.as_ref());
                    dirty = false;
                }
            }
        }
    }
    bar.finish_and_clear();
    let saved = args.dry_run || save(checkpoint.as_ref(), args.state.as_ref());
    let stats = if own_read_budget {
        throttle.stats() + acl_reads.stats()
    } else {
        throttle.stats()
    };
    report.finish(stats, started.elapsed());
    {
        let mut p = job.printer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = match out.output {
            Format::Json => p.json(&report),
            Format::Human => p.line(report.human().trim_end()),
        };
        let _ = p.flush();
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    Ok(if stopping {
        exit::INTERRUPTED
    } else if report.counts.failed > 0 || !saved {
        exit::PARTIAL_FAILURE
    } else {
        exit::SUCCESS
    })
}

/// Saves the checkpoint, if there is one; `false` (and an error logged) when
/// it could not be written.
fn save(cp: Option<&Checkpoint>, path: Option<&PathBuf>) -> bool {
    if let (Some(cp), Some(path)) = (cp, path) {
        if let Err(e) = cp.save(path) {
            tracing::error!("{e}");
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: Option<&str>, u: Option<&str>) -> KeyRange {
        KeyRange::new(a.map(Into::into), u.map(Into::into))
    }

    #[test]
    fn ranges_left_after_a_checkpoint() {
        let empty = RangeSet::new();
        assert_eq!(ranges_to_list("", None, None, &empty), None);
        let mut done = RangeSet::new();
        done.insert(r(None, Some("m")));
        assert_eq!(
            ranges_to_list("", None, None, &done),
            Some(vec![r(Some("m"), None)])
        );
        done.insert(r(Some("m"), None));
        assert_eq!(ranges_to_list("", None, None, &done), Some(vec![]));
        // A shard limits what is left to its own slice.
        let shard: Shard = "0/2".parse().unwrap();
        let splits = vec!["k".to_string()];
        let mut done = RangeSet::new();
        done.insert(r(None, Some("c")));
        assert_eq!(
            ranges_to_list("", Some(shard), Some(&splits), &done),
            Some(vec![r(Some("c"), Some("k"))])
        );
    }
}
