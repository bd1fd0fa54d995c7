//! One chunk of `sync`: list the destination span of a source chunk,
//! merge-join the two, then copy (or delete) what differs, or with
//! `--dry-run` say what would be done.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::keyfilter::KeyFilter;
use mc_aws_common::listing::ObjectEntry;
use mc_aws_common::listing::{Chunk, KeyRange};
use mc_aws_common::output::{printable, Format, Printer};
use serde::Serialize;

use crate::compare::{plan_span, Action};
use crate::copy::{Copied, Copier, CopyError};
use crate::cost::CopyProfile;
use crate::manifest::Sink;
use crate::report::{Counts, Failure};

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
    reason: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

/// What every chunk of a run shares.
pub struct Job {
    pub copier: Arc<Copier>,
    pub size_only: bool,
    /// `--include`/`--exclude`: keys left out are neither copied nor deleted.
    pub filter: KeyFilter,
    pub delete: bool,
    /// Before each delete, ask the source whether it has the key (the
    /// source's keys came from an inventory report, which may be stale).
    pub recheck_deletes: bool,
    pub dry_run: bool,
    /// A dry run reads the source ACLs of the objects to copy, because the
    /// destination refuses public ones (BlockPublicAcls).
    pub dry_run_reads_acls: bool,
    /// Objects in flight at most (per chunk, and over all chunks).
    pub concurrency: usize,
    /// Objects being copied or deleted at once, over all chunks: each holds
    /// an SDK request's state (~10 KB), and up to `concurrency` of them per
    /// chunk times every chunk in flight came to ~200 MB for nothing, since
    /// the throttles let only so many requests out anyway.
    pub actions: tokio::sync::Semaphore,
    pub format: Format,
    pub printer: Mutex<Printer>,
    /// Once set, no new request is started.
    pub stop: Interrupt,
    /// `batch`: the objects to copy go to this manifest instead.
    pub manifest: Option<Arc<Sink>>,
}

/// What one chunk came to.
pub struct ChunkDone {
    pub span: KeyRange,
    pub counts: Counts,
    pub failures: Vec<Failure>,
    /// Stopped by a signal before every action was started: not finished.
    pub interrupted: bool,
    /// What the objects to copy are like (dry run, manifest).
    pub profile: CopyProfile,
}

impl ChunkDone {
    fn new(span: KeyRange, counts: Counts) -> Self {
        Self {
            span,
            counts,
            failures: Vec::new(),
            interrupted: false,
            profile: CopyProfile::default(),
        }
    }

    /// Whether the span can be recorded as finished.
    pub fn finished(&self) -> bool {
        self.failures.is_empty() && !self.interrupted
    }
}

impl Job {
    /// Compares one source chunk with its destination span and acts on it.
    pub async fn chunk(&self, mut chunk: Chunk<ObjectEntry>) -> ChunkDone {
        if self.stop.is_set() {
            let mut done = ChunkDone::new(chunk.span, Counts::default());
            done.interrupted = true;
            return done;
        }
        let folders = &self.copier.folders;
        let excluded = self.filter.retain(&mut chunk.items, &folders.source.prefix);
        let mut counts = Counts {
            listed: chunk.items.len() as u64,
            excluded,
            ..Counts::default()
        };
        let dest_span = self.copier.folders.dest_span(&chunk.span);
        let mut dst_items = match self.copier.dst.list_span(dest_span.as_ref()).await {
            Ok(d) => d,
            Err(e) => {
                let key = chunk.span.after.clone().unwrap_or_default();
                tracing::warn!("listing the destination after {key:?}: {e}");
                counts.failed += 1;
                let mut done = ChunkDone::new(chunk.span, counts);
                done.failures.push(Failure {
                    key: format!("(destination span after {key:?})"),
                    reason: e.to_string(),
                });
                return done;
            }
        };
        self.filter.retain(&mut dst_items, &folders.dest.prefix);
        self.act(chunk.span, &chunk.items, &dst_items, counts).await
    }

    /// `--keys-from`: the named source keys, each read with HeadObject on
    /// both sides and compared as a listing would be.
    pub async fn keys(&self, mut keys: Vec<String>) -> ChunkDone {
        let span = KeyRange::new(None, None);
        if self.stop.is_set() {
            let mut done = ChunkDone::new(span, Counts::default());
            done.interrupted = true;
            return done;
        }
        keys.sort_unstable();
        keys.dedup();
        let mut counts = Counts::default();
        let read = futures::stream::iter(keys)
            .map(|k| async move {
                let dst_key = self.copier.dest_key(&k);
                let (s, d) = match &dst_key {
                    Some(dk) => tokio::join!(
                        self.copier.head_entry(&k, false),
                        self.copier.head_entry(dk, true)
                    ),
                    None => (Ok(None), Ok(None)),
                };
                (k, dst_key.is_some(), s, d)
            })
            .buffered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
        let (mut src, mut dst, mut failures) = (Vec::new(), Vec::new(), Vec::new());
        for (key, in_folder, s, d) in read {
            match (s, d) {
                (Ok(Some(s)), Ok(d)) => {
                    src.push(s);
                    dst.extend(d);
                }
                (Ok(None), Ok(_)) if in_folder => {
                    tracing::info!("{key}: not at the source; skipped");
                    counts.gone += 1;
                }
                (Ok(None), Ok(_)) => failures.push(Failure {
                    key,
                    reason: "outside the source folder".into(),
                }),
                (Err(e), _) | (_, Err(e)) => failures.push(Failure {
                    key,
                    reason: e.to_string(),
                }),
            }
        }
        let folders = &self.copier.folders;
        counts.excluded = self.filter.retain(&mut src, &folders.source.prefix);
        self.filter.retain(&mut dst, &folders.dest.prefix);
        counts.listed = src.len() as u64;
        counts.failed += failures.len() as u64;
        let mut done = self.act(span, &src, &dst, counts).await;
        done.failures.extend(failures);
        done
    }

    /// Compares one span's listings and acts on the differences.
    async fn act(
        &self,
        span: KeyRange,
        src: &[ObjectEntry],
        dst: &[ObjectEntry],
        mut counts: Counts,
    ) -> ChunkDone {
        let actions = plan_span(
            src,
            dst,
            &self.copier.folders,
            self.size_only,
            self.delete,
            &mut counts,
        );
        if let Some(sink) = &self.manifest {
            to_manifest(sink, span, &actions, counts)
        } else if self.dry_run {
            self.predict(span, actions, counts).await
        } else {
            self.apply(span, actions, counts).await
        }
    }

    /// `--dry-run`: one line per action, and the copies the destination
    /// would refuse counted as failed, as the real run would.
    async fn predict(
        &self,
        span: KeyRange,
        actions: Vec<(Action<'_>, &'static str)>,
        counts: Counts,
    ) -> ChunkDone {
        let mut done = ChunkDone::new(span, counts);
        for (a, reason) in &actions {
            let e = a.entry();
            let mut reason = Cow::Borrowed(*reason);
            let refused = match a {
                Action::Copy(e) if self.dry_run_reads_acls => {
                    self.copier.refused_as_public(&e.key).await
                }
                _ => None,
            };
            let (action, dest_key) = match a {
                Action::Copy(e) => ("copy", self.copier.dest_key(&e.key).filter(|d| *d != e.key)),
                Action::Delete(_) => ("delete", None),
            };
            if let Some(why) = refused {
                done.counts.failed += 1;
                reason = format!("{reason}; would fail: {why}").into();
                done.failures.push(Failure {
                    key: e.key.clone(),
                    reason: why,
                });
            } else if action == "copy" {
                done.counts.copied += 1;
                done.counts.copied_bytes += e.size;
                done.profile.add_object(e.size, e.storage_class.as_deref());
            } else {
                done.counts.deleted += 1;
            }
            self.print(ActionLine {
                kind: "action",
                action,
                key: &e.key,
                dest_key,
                reason: Some(reason),
                size: Some(e.size),
            });
        }
        done
    }

    /// Copies and deletes, at most `concurrency` objects at once.
    async fn apply(
        &self,
        span: KeyRange,
        actions: Vec<(Action<'_>, &'static str)>,
        counts: Counts,
    ) -> ChunkDone {
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
                    Action::Delete(e) => (e, false, Box::pin(self.delete(&e.key)).await),
                })
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut done = ChunkDone::new(span, counts);
        for r in results {
            match r {
                Some((e, is_copy, r)) => done.count(e, is_copy, r),
                None => done.interrupted = true,
            }
        }
        done
    }

    /// Deletes a destination object, unless the source has it after all.
    async fn delete(&self, dst_key: &str) -> Result<Option<Copied>, CopyError> {
        if self.recheck_deletes && self.copier.source_has(dst_key).await? {
            tracing::info!("{dst_key}: not in the source's report, but at the source now: kept");
            return Err(CopyError::KeptAtSource);
        }
        self.copier.delete_dest(dst_key).await.map(|()| None)
    }

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
}

/// `batch`: the span's copies written to the manifest, counted as to copy.
fn to_manifest(
    sink: &Sink,
    span: KeyRange,
    actions: &[(Action<'_>, &'static str)],
    counts: Counts,
) -> ChunkDone {
    let mut done = ChunkDone::new(span, counts);
    let copies: Vec<&ObjectEntry> = actions
        .iter()
        .filter_map(|(a, _)| match a {
            Action::Copy(e) => Some(*e),
            Action::Delete(_) => None,
        })
        .collect();
    for e in &copies {
        done.counts.copied += 1;
        done.counts.copied_bytes += e.size;
        done.profile.add_object(e.size, e.storage_class.as_deref());
    }
    sink.add(copies);
    done
}

impl ChunkDone {
    /// Counts the outcome of one copy (`is_copy`) or delete.
    fn count(&mut self, e: &ObjectEntry, is_copy: bool, r: Result<Option<Copied>, CopyError>) {
        let counts = &mut self.counts;
        match r {
            Ok(Some(c)) => {
                counts.copied += 1;
                counts.copied_bytes += c.bytes;
                counts.multipart += u64::from(c.multipart);
            }
            Ok(None) => counts.deleted += 1,
            Err(CopyError::KeptAtSource) => counts.kept += 1,
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
                self.failures.push(Failure {
                    key: e.key.clone(),
                    reason: err.to_string(),
                });
            }
        }
    }
}
