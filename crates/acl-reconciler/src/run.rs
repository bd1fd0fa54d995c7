//! The driver: set up both sides, check the buckets' ACL settings, stream
//! batches of keys through the reconciler, print, checkpoint.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::StreamExt;
use mc_aws_common::acl::{self, AclReader, BucketAclSettings, ObjectOwnership};
use mc_aws_common::error::ToolError;
use mc_aws_common::listing::s3::S3Source;
use mc_aws_common::listing::{shard_ranges, KeyRange};
use mc_aws_common::retry::Throttle;
use mc_aws_common::{config, exit};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::cli::Cli;
use crate::error::Error;
use crate::reconcile::{Action, Reconciler, Record};
use crate::report::{Reporter, Summary};
use crate::state::{RunId, State};
use crate::work::{self, Work};

/// How often the state file is rewritten while batches finish.
const SAVE_EVERY: Duration = Duration::from_secs(2);

/// What the run does per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Compare and (with --apply) fix.
    Reconcile,
    /// The destination has ACLs disabled: only report public source keys.
    PublicScan,
}

/// How the run ended.
pub struct Outcome {
    pub summary: Summary,
    pub interrupted: bool,
    /// Set when the destination has ACLs disabled (exit 5 after the report).
    pub unsupported: Option<String>,
}

struct Job {
    reconciler: Reconciler,
    mode: Mode,
    source: mc_aws_common::s3url::S3Url,
    dest: mc_aws_common::s3url::S3Url,
    dest_lister: S3Source,
    /// Keys of one batch in flight at once (the throttle bounds requests).
    width: usize,
}

pub async fn run(cli: &Cli, reporter: &mut Reporter) -> Result<Outcome, Error> {
    let throttle = Throttle::from_args(&cli.throttle);
    let (src_conf, dst_conf) = futures::join!(
        config::load(
            &cli.aws,
            cli.sides.source_profile.as_deref(),
            cli.sides.source_role_arn.as_deref()
        ),
        config::load(
            &cli.aws,
            cli.sides.dest_profile.as_deref(),
            cli.sides.dest_role_arn.as_deref()
        ),
    );
    let (src_conf, dst_conf) = (src_conf?, dst_conf?);
    let (src_client, dst_client) = futures::try_join!(
        config::client_for_bucket(&src_conf, &cli.aws, &cli.source.bucket, &throttle),
        config::client_for_bucket(&dst_conf, &cli.aws, &cli.destination.bucket, &throttle),
    )?;
    let (src_settings, dst_settings) = futures::try_join!(
        settings(&src_client, &throttle, &cli.source.bucket),
        settings(&dst_client, &throttle, &cli.destination.bucket),
    )?;
    if !src_settings.acls_enabled() {
        return Err(Error::Unsupported(format!(
            "source s3://{}: ACLs are disabled (Object Ownership is BucketOwnerEnforced): its objects have no ACLs to copy; access is governed by its bucket policy",
            cli.source.bucket
        )));
    }
    let mode = if dst_settings.acls_enabled() {
        Mode::Reconcile
    } else {
        Mode::PublicScan
    };
    if dst_settings.ignores_public_acls() {
        tracing::warn!(
            "destination s3://{}: Block Public Access ignores public ACLs (IgnorePublicAcls): public grants set there have no effect",
            cli.destination.bucket
        );
    }

    let job = Arc::new(Job {
        reconciler: Reconciler {
            source: src_client.clone(),
            dest: dst_client.clone(),
            source_bucket: cli.source.bucket.clone(),
            dest_bucket: cli.destination.bucket.clone(),
            throttle: throttle.clone(),
            source_acls: AclReader::new(
                src_client.clone(),
                &cli.source.bucket,
                throttle.clone(),
                src_conf.credentials_provider(),
            ),
            dest_acls: AclReader::new(
                dst_client.clone(),
                &cli.destination.bucket,
                throttle.clone(),
                dst_conf.credentials_provider(),
            ),
            dest_settings: dst_settings,
            apply: cli.apply,
            allow_public: cli.allow_public,
        },
        mode,
        source: cli.source.clone(),
        dest: cli.destination.clone(),
        dest_lister: S3Source::new(
            dst_client,
            &cli.destination.bucket,
            &cli.destination.prefix,
            throttle.clone(),
        ),
        width: cli.throttle.concurrency as usize,
    });

    // The state only records reconcile runs: a public scan changes nothing.
    let state_path = cli.state.as_deref().filter(|_| mode == Mode::Reconcile);
    let run_id = RunId {
        source: cli.source.to_string(),
        destination: cli.destination.to_string(),
        shard: cli.shard.map(|s| s.to_string()),
        keys_from: cli.keys_from.as_ref().map(|p| p.display().to_string()),
    };
    let loaded = match state_path {
        Some(p) => State::load(p, &run_id)?,
        None => None,
    };
    let resumed = loaded.is_some();
    let mut state = loaded.unwrap_or_else(|| match cli.shard {
        Some(shard) => State::limited_to(
            run_id.clone(),
            &shard_ranges(&cli.source.prefix, shard, None),
        ),
        None => State::new(run_id.clone()),
    });

    // Batches are as small as a listing page of a narrow span, so what is
    // bounded is the keys in flight (enough to keep every request slot busy
    // while batches wait for their destination listing), not batches.
    let max_pending_keys = job.width * 4;
    let max_batches = 1024;
    let buffer = 64;
    let cursors = (job.width / 4).clamp(8, 64);
    let mut input = match &cli.keys_from {
        Some(path) => work::from_file(path, state.lines_done, buffer).await?,
        None => {
            let ranges = (resumed || cli.shard.is_some()).then(|| state.remaining());
            if ranges.as_ref().is_some_and(Vec::is_empty) {
                tracing::info!("the state file says everything is done");
            }
            let source = S3Source::new(
                src_client,
                &cli.source.bucket,
                &cli.source.prefix,
                throttle.clone(),
            );
            work::from_listing(source, ranges, cursors, buffer)
        }
    };

    let progress = cli.output.progress(None, "keys");
    let (rec_tx, mut rec_rx) = mpsc::unbounded_channel::<Record>();
    // Each batch is its own task, so batches run on all cores.
    let mut inflight: JoinSet<(usize, Result<Finished, Error>)> = JoinSet::new();
    let mut summary = Summary::default();
    let mut input_done = false;
    let mut stopping = false;
    let mut interrupted = false;
    let mut fatal: Option<Error> = None;
    let mut pending_keys = 0usize;
    let mut lines_finished: BTreeMap<u64, u64> = BTreeMap::new();
    let mut last_save = Instant::now();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    let emit = |r: Record, summary: &mut Summary, reporter: &mut Reporter| -> bool {
        summary.add(&r);
        progress.inc(1);
        match reporter.record(&r) {
            Ok(()) => true,
            // `acl-reconciler ... | head`: stop quietly.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => false,
            Err(e) => {
                tracing::error!("cannot write output: {e}");
                false
            }
        }
    };

    loop {
        if (input_done || stopping) && inflight.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            _ = &mut ctrl_c, if !interrupted => {
                tracing::warn!("interrupted: saving state and stopping");
                interrupted = true;
                stopping = true;
                // Unfinished batches are cancelled; their spans stay to do.
                inflight.abort_all();
            }
            Some(rec) = rec_rx.recv() => {
                if !emit(rec, &mut summary, reporter) {
                    stopping = true;
                    inflight.abort_all();
                }
            }
            Some(joined) = inflight.join_next(), if !inflight.is_empty() => {
                let (keys, done) = match joined {
                    Ok(j) => j,
                    // Cancelled after an interruption: nothing to record.
                    Err(e) if e.is_cancelled() => continue,
                    Err(e) => (0, Err(Error::Aws(ToolError::Other(format!("internal error: {e}"))))),
                };
                pending_keys -= keys;
                // Every record of the batch was sent before it finished.
                while let Ok(rec) = rec_rx.try_recv() {
                    if !emit(rec, &mut summary, reporter) {
                        stopping = true;
                    }
                }
                match done {
                    Ok(Finished::Span(span)) => state.done.insert(span),
                    Ok(Finished::Lines { first, count }) => {
                        lines_finished.insert(first, count);
                        while let Some(count) = lines_finished.remove(&state.lines_done) {
                            state.lines_done += count;
                        }
                    }
                    Err(e) => {
                        fatal.get_or_insert(e);
                        stopping = true;
                        inflight.abort_all();
                    }
                }
                if let Some(p) = state_path {
                    if last_save.elapsed() >= SAVE_EVERY {
                        state.save(p)?;
                        last_save = Instant::now();
                    }
                }
            }
            next = input.recv(), if !input_done && !stopping && pending_keys < max_pending_keys && inflight.len() < max_batches => {
                match next {
                    Some(Ok(w)) => {
                        let keys = w.len();
                        pending_keys += keys;
                        let batch = process(job.clone(), w, rec_tx.clone());
                        inflight.spawn(async move { (keys, batch.await) });
                    }
                    Some(Err(e)) => {
                        fatal.get_or_insert(e);
                        stopping = true;
                    }
                    None => input_done = true,
                }
            }
        }
    }
    drop(inflight);
    progress.finish_and_clear();
    if let Some(p) = state_path {
        state.save(p)?;
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    summary.set_stats(throttle.stats());
    let unsupported = (mode == Mode::PublicScan).then(|| {
        format!(
            "destination s3://{}: ACLs are disabled (Object Ownership is BucketOwnerEnforced): object ACLs cannot be set there; {} source keys are public and need a bucket policy instead",
            cli.destination.bucket, summary.public_on_source
        )
    });
    Ok(Outcome {
        summary,
        interrupted,
        unsupported,
    })
}

/// Reads a bucket's ACL settings; without permission to read them, assumes
/// ACLs work and nothing blocks public ACLs (S3 will still refuse what it refuses).
async fn settings(
    client: &aws_sdk_s3::Client,
    throttle: &Arc<Throttle>,
    bucket: &str,
) -> Result<BucketAclSettings, Error> {
    match acl::bucket_acl_settings(client, throttle, bucket).await {
        Ok(s) => Ok(s),
        Err(ToolError::AccessDenied { .. }) => {
            tracing::warn!("bucket {bucket}: cannot read Object Ownership / Block Public Access (access denied); assuming ACLs are enabled");
            Ok(BucketAclSettings {
                ownership: ObjectOwnership::ObjectWriter,
                public_access_block: Default::default(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

enum Finished {
    Span(KeyRange),
    Lines { first: u64, count: u64 },
}

/// Runs one batch: sends a record per key, then says what is finished.
async fn process(
    job: Arc<Job>,
    work: Work,
    tx: mpsc::UnboundedSender<Record>,
) -> Result<Finished, Error> {
    match work {
        Work::Span { span, keys } => {
            let pairs = match job.mode {
                Mode::PublicScan => keys.into_iter().map(|k| (k, true)).collect(),
                Mode::Reconcile => {
                    let dspan = work::dest_span(&span, &job.source, &job.dest);
                    let in_dest = job.dest_lister.list_span(&dspan).await?;
                    merge_join(keys, in_dest.iter().map(|o| o.key.as_str()), &job)
                }
            };
            run_keys(&job, pairs, &tx).await;
            Ok(Finished::Span(span))
        }
        Work::Lines { first, count, keys } => {
            let mut pairs = Vec::with_capacity(keys.len());
            for key in keys {
                if key.starts_with(job.source.prefix.as_str()) {
                    pairs.push((key, true));
                } else {
                    let mut r = Record::new(key.clone(), &key, Action::Error);
                    r.error = Some(format!(
                        "not under the source prefix {:?}",
                        job.source.prefix
                    ));
                    let _ = tx.send(r);
                }
            }
            run_keys(&job, pairs, &tx).await;
            Ok(Finished::Lines { first, count })
        }
    }
}

/// Pairs sorted source keys with the sorted destination keys of the same
/// span: `(key, present in destination)`.
fn merge_join<'a>(
    source: Vec<String>,
    dest: impl Iterator<Item = &'a str>,
    job: &Job,
) -> Vec<(String, bool)> {
    let mut dest = dest.peekable();
    source
        .into_iter()
        .map(|key| {
            let want = job.source.map_key(&key, &job.dest);
            while dest.next_if(|d| *d < want.as_str()).is_some() {}
            let present = dest.next_if(|d| *d == want.as_str()).is_some();
            (key, present)
        })
        .collect()
}

async fn run_keys(job: &Job, pairs: Vec<(String, bool)>, tx: &mpsc::UnboundedSender<Record>) {
    futures::stream::iter(pairs)
        .map(|(key, in_dest)| async move {
            let dest_key = job.source.map_key(&key, &job.dest);
            match (job.mode, in_dest) {
                (Mode::PublicScan, _) => job.reconciler.source_public(key, dest_key).await,
                (Mode::Reconcile, false) => {
                    Record::new(key, &dest_key, Action::MissingInDestination)
                }
                (Mode::Reconcile, true) => job.reconciler.key(key, dest_key).await,
            }
        })
        .buffer_unordered(job.width)
        .for_each(|r| {
            let _ = tx.send(r);
            async {}
        })
        .await;
}

/// The exit code for a finished run.
pub fn exit_code(outcome: &Outcome) -> i32 {
    if outcome.interrupted {
        exit::INTERRUPTED
    } else if outcome.unsupported.is_some() {
        exit::UNSUPPORTED
    } else if outcome.summary.errors > 0 {
        exit::PARTIAL_FAILURE
    } else {
        exit::SUCCESS
    }
}
