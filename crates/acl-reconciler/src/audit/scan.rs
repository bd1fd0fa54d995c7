//! The live pass: the bucket listed by the shared sharded lister (every
//! version through ListObjectVersions when the bucket is versioned), each
//! listed span's ACLs read in parallel through the run's ACL reader and
//! its budget (`--acl-reads`), and summed up into groups and the layout.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use mc_aws_common::acl::{Acl, AclReader};
use mc_aws_common::error::ToolError;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::listing::s3::S3Source;
use mc_aws_common::listing::versions::{VersionEntry, VersionKind};
use mc_aws_common::listing::{self, Chunk, ListOptions, Listing, ObjectEntry};
use mc_aws_common::retry::Throttle;
use serde::Serialize;
use tokio::task::JoinSet;

use super::bucket::Bucket;
use super::cli::AuditArgs;
use super::grants::Access;
use super::layout::{Groups, Layout, Slot, Span};
use crate::error::Error;

/// Keys kept in the layout at most (about 200 bytes each): past this the
/// proposal falls back to tags, which need no key list.
pub const MAX_KEPT_KEYS: usize = 1_000_000;

/// One listed version (or the current object of an unversioned bucket).
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub version: Option<String>,
    pub latest: bool,
    pub size: u64,
    pub delete_marker: bool,
}

/// A version whose ACL could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub error: String,
}

/// One version with grants besides the owner's, for `-o json`.
#[derive(Debug, Clone, Serialize)]
pub struct Granted {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub latest: bool,
    pub size: u64,
    /// Its group (also the value of the tag fallback's tag).
    pub group: String,
}

/// What the pass found.
#[derive(Debug, Default)]
pub struct Scan {
    pub layout: Layout,
    pub groups: Groups,
    pub unreadable: Vec<Unreadable>,
    /// Versions (current objects included) whose ACL was read or tried.
    pub versions: u64,
    pub current: u64,
    pub bytes: u64,
    pub delete_markers: u64,
    /// The layout lacks keys (more than [`MAX_KEPT_KEYS`]).
    pub partial_layout: bool,
    /// Keys kept so far.
    kept: usize,
    pub interrupted: bool,
}

impl Scan {
    /// Adds a finished span: its groups, its kept keys (while under
    /// [`MAX_KEPT_KEYS`]), its counts; each version with grants to `on_granted`.
    fn absorb(
        &mut self,
        out: SpanOut,
        spans: &mut BTreeMap<Option<String>, Span>,
        on_granted: &mut impl FnMut(Granted),
    ) {
        let map = self.groups.merge(out.groups);
        let mut span = out.span;
        span.renumber(&map);
        for (mut g, local) in out.granted {
            g.group = self.groups.access(map[local as usize]).fingerprint();
            on_granted(g);
        }
        self.kept += span.kept();
        self.partial_layout |= self.kept > MAX_KEPT_KEYS;
        if !self.partial_layout {
            spans.insert(out.after, span);
        }
        self.unreadable.extend(out.unreadable);
        let [v, c, b, m] = out.counts;
        self.versions += v;
        self.current += c;
        self.bytes += b;
        self.delete_markers += m;
    }
}

/// What one span gives back.
pub struct SpanOut {
    after: Option<String>,
    span: Span,
    groups: Groups,
    unreadable: Vec<Unreadable>,
    counts: [u64; 4],
    granted: Vec<(Granted, u32)>,
}

/// Lists and reads everything; `on_granted` sees each version with grants.
pub async fn scan(
    bucket: &Bucket,
    args: &AuditArgs,
    acl_reads: &Arc<Throttle>,
    throttle: &Arc<Throttle>,
    stop: &Interrupt,
    on_granted: impl FnMut(Granted),
) -> Result<Scan, Error> {
    let (url, job) = (&args.url, Job::new(bucket, args, acl_reads));
    let cursors = args.throttle.list_cursors(true);
    let opts = ListOptions {
        concurrency: cursors,
        ranges: None,
        buffer: (cursors / 4).max(1),
    };
    let (client, payer) = (bucket.client.clone(), bucket.requester_pays);
    if bucket.versioned {
        let source = S3Source::new(client, &url.bucket, &url.prefix, throttle.clone());
        let listing = listing::list(source.requester_pays(payer).versions(), opts);
        drive(listing, job, stop, on_granted, Listed::from).await
    } else {
        let source = S3Source::new(client, &url.bucket, &url.prefix, throttle.clone())
            .credentials(bucket.conf.credentials_provider());
        let listing = listing::list(source.requester_pays(payer), opts);
        drive(listing, job, stop, on_granted, Listed::from).await
    }
}

impl From<VersionEntry> for Listed {
    fn from(v: VersionEntry) -> Self {
        Self {
            latest: matches!(v.kind, VersionKind::Version { latest: true }),
            delete_marker: v.kind == VersionKind::DeleteMarker,
            key: v.key,
            version: v.version_id,
            size: v.size,
        }
    }
}

impl From<ObjectEntry> for Listed {
    fn from(o: ObjectEntry) -> Self {
        Self {
            key: o.key,
            version: None,
            latest: true,
            size: o.size,
            delete_marker: false,
        }
    }
}

/// Shared by every span.
#[derive(Clone)]
struct Job {
    reader: Arc<AclReader>,
    owner: Arc<str>,
    width: usize,
}

impl Job {
    fn new(bucket: &Bucket, args: &AuditArgs, acl_reads: &Arc<Throttle>) -> Self {
        let reader = AclReader::new(
            bucket.client.clone(),
            args.url.bucket.clone(),
            acl_reads.clone(),
            bucket.conf.credentials_provider(),
        );
        Self {
            reader: Arc::new(reader.requester_pays(bucket.requester_pays)),
            owner: Arc::from(bucket.owner.as_str()),
            width: args.throttle.concurrency as usize,
        }
    }
}

/// Spans in flight at most.
const SPANS_IN_FLIGHT: usize = 16;

async fn drive<T: Send + 'static>(
    mut listing: Listing<T, ToolError>,
    job: Job,
    stop: &Interrupt,
    mut on_granted: impl FnMut(Granted),
    to_listed: impl Fn(T) -> Listed,
) -> Result<Scan, Error> {
    let mut scan = Scan::default();
    let mut spans: BTreeMap<Option<String>, Span> = BTreeMap::new();
    let mut tasks: JoinSet<SpanOut> = JoinSet::new();
    let mut listed_all = false;
    let signal = stop.wait();
    tokio::pin!(signal);
    while !(listed_all && tasks.is_empty()) {
        tokio::select! {
            biased;
            _ = &mut signal => {
                tasks.abort_all();
                scan.interrupted = true;
                return Ok(scan);
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                let out = done.map_err(|e| ToolError::Other(format!("internal error: {e}")))?;
                scan.absorb(out, &mut spans, &mut on_granted);
            }
            next = listing.next(), if !listed_all && tasks.len() < SPANS_IN_FLIGHT => match next {
                Some(Ok(Chunk { span, items })) => {
                    let listed: Vec<Listed> = items.into_iter().map(&to_listed).collect();
                    let job = job.clone();
                    tasks.spawn(read_span(job, span.after, listed));
                }
                Some(Err(e)) => return Err(e.into()),
                None => listed_all = true,
            }
        }
    }
    if scan.partial_layout {
        spans.clear();
    }
    scan.layout = Layout::assemble(spans);
    Ok(scan)
}

impl SpanOut {
    /// The version's group; `Some(None)` when its ACL could not be read (it
    /// is listed), `None` when the object is gone since it was listed.
    fn group_of(
        &mut self,
        l: &Listed,
        acl: Result<Acl, ToolError>,
        owner: &str,
    ) -> Option<Option<u32>> {
        match acl {
            Ok(acl) => Some(Some(self.groups.id(&Access::of(&acl, owner)))),
            Err(ToolError::NotFound { .. }) => None,
            Err(e) => {
                self.unreadable.push(Unreadable {
                    key: l.key.clone(),
                    version: l.version.clone(),
                    error: e.to_string(),
                });
                Some(None)
            }
        }
    }
}

/// Reads the ACLs of one listed span (versions of a key are consecutive).
async fn read_span(job: Job, after: Option<String>, listed: Vec<Listed>) -> SpanOut {
    let markers = listed.iter().filter(|l| l.delete_marker).count() as u64;
    let reads = futures::stream::iter(listed.into_iter().filter(|l| !l.delete_marker).map(|l| {
        let reader = job.reader.clone();
        async move {
            let acl = reader.get_version(&l.key, l.version.as_deref()).await;
            (l, acl)
        }
    }))
    .buffered(job.width)
    .collect::<Vec<_>>()
    .await;
    let mut out = summarise_span(&job.owner, after, reads);
    out.counts[3] = markers;
    out
}

/// One span's versions with their ACLs (in key order) as groups and
/// layout. The hook for an S3 Inventory source: its rows carry the Object
/// ACL field, so an inventory reader (being built in mc-aws-common) hands
/// them here instead of reading each ACL, and the rest of the audit
/// (proposal, verifier, saved audit, check) is the same.
pub fn summarise_span(
    owner: &str,
    after: Option<String>,
    reads: Vec<(Listed, Result<Acl, ToolError>)>,
) -> SpanOut {
    let mut out = SpanOut {
        after,
        span: Span::default(),
        groups: Groups::default(),
        unreadable: Vec::new(),
        counts: [0; 4],
        granted: Vec::new(),
    };
    let mut key: Option<String> = None;
    let mut slots: Vec<Slot> = Vec::new();
    for (l, acl) in reads {
        if key.as_deref() != Some(&l.key) {
            if let Some(k) = key.take() {
                out.span.push(&k, std::mem::take(&mut slots));
            }
            key = Some(l.key.clone());
        }
        let Some(group) = out.group_of(&l, acl, owner) else {
            continue;
        };
        out.counts[0] += 1;
        out.counts[1] += u64::from(l.latest);
        out.counts[2] += l.size;
        if let Some(g) = group {
            out.groups.count(g, &l.key, l.latest, l.size);
            if g != super::layout::OWNER_ONLY {
                out.granted.push((
                    Granted {
                        key: l.key.clone(),
                        version: l.version.clone(),
                        latest: l.latest,
                        size: l.size,
                        group: String::new(),
                    },
                    g,
                ));
            }
        }
        slots.push(Slot {
            version: l.version,
            latest: l.latest,
            group,
        });
    }
    if let Some(k) = key {
        out.span.push(&k, slots);
    }
    out
}
