//! `sync`: copy every object that is missing or different at the destination.
//!
//! The source is listed with the shared sharded lister, which yields chunks
//! (the keys of one page plus the span of the key space they account for).
//! For each chunk the same span of the destination is listed and the two
//! sorted lists merge-joined ([`chunk`]), so memory holds a bounded number
//! of chunks whatever the bucket size. A chunk's span is recorded in the
//! checkpoint (`--state`) only once every copy and delete in it succeeded.

pub mod chunk;
mod input;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use indicatif::ProgressBar;
use mc_aws_common::checkpoint::{Checkpoint, RunId};
use mc_aws_common::cli::{AwsArgs, ShardPlan, ThrottleArgs};
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::interrupt::{Interrupt, GRACE};
use mc_aws_common::listing::KeyRange;
use mc_aws_common::output::{Format, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;

use crate::cli::SyncArgs;
use crate::cost::{self, PriceTable};
use crate::manifest::Sink;
use crate::operation::Facts;
use crate::options::{AclMode, CopyOptions};
use crate::preflight;
use crate::report::SyncReport;
use chunk::{ChunkDone, Job};
use input::Input;

/// How often the checkpoint is written while a run makes progress.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(3);

/// What the command line asks for, checked before anything is contacted.
struct Plan {
    opts: CopyOptions,
    shard: ShardPlan,
    run: RunId,
}

impl Plan {
    fn new(args: &SyncArgs, aws: &AwsArgs) -> Result<Self, ToolError> {
        let mut opts =
            args.copy
                .options(aws.endpoint_url.is_some())
                .map_err(|m| ToolError::Invalid {
                    what: "sync".into(),
                    message: m,
                })?;
        opts.notifications.own_queues.extend(args.queue_arn.clone());
        opts.notifications.deletes = args.delete;
        let ends = &args.endpoints;
        ends.folders()?;
        let shard = args.shard.plan(&ends.source.prefix)?;
        let inv = &args.inventories;
        let mut run = RunId::new("s3-copier sync", &ends.source, &ends.dest)
            .arg("--delete", args.delete)
            .arg("--size-only", args.size_only);
        // Only when given: checkpoints of runs without them stay valid.
        let filter = &args.filters.filter;
        if !filter.is_empty() {
            run = run.arg("--include/--exclude", filter);
        }
        for (flag, location) in [
            ("--source-inventory", &inv.source_inventory),
            ("--dest-inventory", &inv.dest_inventory),
        ] {
            if let Some(l) = location {
                run = run.arg(flag, l);
            }
        }
        run.shard = shard.id();
        Ok(Self { opts, shard, run })
    }
}

/// What a pass over the source takes from the command line (or, for a
/// worker's range, from the worker's).
pub(crate) struct Pass {
    /// `--keys-from`: the named keys instead of a listing.
    pub keys_from: Option<PathBuf>,
    pub throttle: ThrottleArgs,
    pub page_size: i32,
    /// Where the checkpoint is saved (nowhere on a dry run).
    pub state: Option<PathBuf>,
    pub bar: ProgressBar,
}

impl Pass {
    fn of(args: &SyncArgs, out: &OutputArgs) -> Self {
        Self {
            keys_from: args.keys_from.clone(),
            throttle: args.throttle.clone(),
            page_size: args.list_page_size,
            state: args.state.clone().filter(|_| !args.dry_run),
            bar: out.progress(None, "compared"),
        }
    }
}

/// A connected run: both sides checked, the checkpoint loaded and saved.
pub struct Connected {
    pub job: Arc<Job>,
    throttle: Arc<Throttle>,
    acl_reads: Arc<Throttle>,
    checkpoint: Checkpoint,
    pub report: SyncReport,
}

/// Runs `sync`; returns the exit code.
pub async fn run(
    args: &SyncArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
) -> Result<i32, ToolError> {
    if args.fleet.publish_ranges.is_some() {
        return crate::fleet::publish::run(args, aws, out, stop).await;
    }
    let prices = match args.dry_run {
        true => Some(PriceTable::load(args.price_table.as_deref())?),
        false => None,
    };
    let (mut run, outcome) = diff(args, aws, out, stop, None).await?;
    // Nothing to copy, nothing to price.
    if let Some(t) = prices.as_ref().filter(|_| run.report.profile.objects > 0) {
        let copier = &run.job.copier;
        let facts = Facts {
            opts: &copier.opts,
            source_acls: copier.source_acls,
            sse: &copier.sse.bulk,
            profile: &run.report.profile,
            versions: false,
            folders: &copier.folders,
        };
        let engine = facts.likely_engine();
        run.report.estimate = Some(cost::for_copies(copier, &run.report.profile, engine, 1, t));
    }
    print_report(&run.job, &run.report, out.output);
    outcome
}

/// Compares both sides span by span and acts on the differences: copies
/// them, or with `--dry-run` says what would be copied, or with a
/// `manifest` writes the objects to copy to it (`batch`). Returns the run
/// (its report finished, not printed) and its outcome.
pub async fn diff(
    args: &SyncArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
    manifest: Option<Arc<Sink>>,
) -> Result<(Connected, Result<i32, ToolError>), ToolError> {
    let started = Instant::now();
    let plan = Plan::new(args, aws)?;
    let mut run = connect(args, aws, out, plan, stop, manifest).await?;
    let (stopped, fatal) = execute(Pass::of(args, out), &mut run).await;
    let saved = args.dry_run || save(&run.checkpoint, args.state.as_deref());
    let stats = if Arc::ptr_eq(&run.acl_reads, &run.throttle) {
        run.throttle.stats()
    } else {
        run.throttle.stats() + run.acl_reads.stats()
    };
    run.report.finish(stats, started.elapsed());
    let outcome = match fatal {
        Some(e) => Err(e),
        None if stopped => Ok(exit::INTERRUPTED),
        None if run.report.counts.failed > 0 || !saved => Ok(exit::PARTIAL_FAILURE),
        None => Ok(exit::SUCCESS),
    };
    Ok((run, outcome))
}

/// Loads the checkpoint, connects both sides, runs the pre-flight, then
/// (unless a dry run) writes the checkpoint: one that cannot be saved is
/// found now, not after hours of copying, and a mistyped bucket leaves no
/// file naming the wrong pair.
async fn connect(
    args: &SyncArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    plan: Plan,
    stop: Interrupt,
    manifest: Option<Arc<Sink>>,
) -> Result<Connected, ToolError> {
    let throttle = Throttle::from_args(&args.throttle);
    let acl_reads = args.acl_reads.throttle(&args.throttle, &throttle);
    let reads_acls = plan.opts.acl == AclMode::Copy;
    let checkpoint = load_checkpoint(args, &plan.shard, plan.run)?;
    let (copier, pf) = preflight::copier(
        aws,
        &args.endpoints,
        plan.opts,
        (&throttle, &acl_reads),
        Some(&args.inventories),
    )
    .await?;
    if let (Some(path), false) = (&args.state, args.dry_run) {
        checkpoint.save(path).map_err(|e| ToolError::Invalid {
            what: "--state".into(),
            message: e.to_string(),
        })?;
    }
    // Objects in flight: copies under -j, and, when each reads its ACL
    // under a budget of its own, as many again reading.
    let reads_acls = reads_acls && pf.source_acls;
    let own_budget = !Arc::ptr_eq(&acl_reads, &throttle);
    let reading = if reads_acls && own_budget {
        acl_reads.max_in_flight()
    } else {
        0
    };
    let objects = args.throttle.concurrency as usize + reading;
    let mut report = SyncReport::new(
        args.endpoints.source.to_string(),
        args.endpoints.dest.to_string(),
        args.dry_run,
    );
    report.notes = pf.notes.clone();
    let job = Arc::new(Job {
        copier: Arc::new(copier),
        size_only: args.size_only,
        filter: args.filters.filter.clone(),
        delete: args.delete,
        // An inventory's word alone deletes nothing: the source is asked.
        recheck_deletes: args.inventories.source_inventory.is_some(),
        dry_run: args.dry_run,
        dry_run_reads_acls: args.dry_run && pf.dest_refuses_public && manifest.is_none(),
        concurrency: objects,
        actions: tokio::sync::Semaphore::new(objects),
        format: out.output,
        printer: Mutex::new(Printer::new()),
        stop,
        manifest,
    });
    Ok(Connected {
        job,
        throttle,
        acl_reads,
        checkpoint,
        report,
    })
}

/// The checkpoint of this run: from `--state` when it names one, else in
/// memory. A finished one starts a new pass, since "sync until nothing is
/// left" must not become a silent no-op.
fn load_checkpoint(
    args: &SyncArgs,
    shard: &ShardPlan,
    run: RunId,
) -> Result<Checkpoint, ToolError> {
    let scope = shard.range.as_ref();
    let Some(path) = &args.state else {
        return Ok(Checkpoint::new(run, scope));
    };
    let (mut cp, resumed) = Checkpoint::load_or_new(path, run, scope)?;
    if resumed && cp.is_finished() {
        tracing::warn!(
            "{}: the last run finished every range; this run compares everything again",
            path.display()
        );
        cp.restart(scope);
    }
    Ok(cp)
}

/// One published range (`worker`): the very pass `sync` makes, over
/// exactly `range` (a checkpoint in memory scoped to it), on the worker's
/// connected copier. Returns the pass's report and whether every span of
/// the range was finished.
pub async fn range_pass(
    job: Arc<Job>,
    (throttle, acl_reads): (Arc<Throttle>, Arc<Throttle>),
    run: RunId,
    range: &KeyRange,
    throttle_args: &ThrottleArgs,
    out: &OutputArgs,
) -> (SyncReport, Result<bool, ToolError>) {
    let started = Instant::now();
    let folders = &job.copier.folders;
    let report = SyncReport::new(folders.source.to_string(), folders.dest.to_string(), false);
    let mut conn = Connected {
        job,
        throttle,
        acl_reads,
        checkpoint: Checkpoint::new(run, Some(range)),
        report,
    };
    let pass = Pass {
        keys_from: None,
        throttle: throttle_args.clone(),
        page_size: 1000,
        state: None,
        bar: out.progress(None, "compared"),
    };
    let (stopped, fatal) = execute(pass, &mut conn).await;
    conn.report.finish(Default::default(), started.elapsed());
    let outcome = match fatal {
        Some(e) => Err(e),
        None => Ok(!stopped && conn.checkpoint.is_finished()),
    };
    (conn.report, outcome)
}

/// Lists the source and works on its chunks until the listing ends, a
/// signal stops the run, or the listing fails. Returns whether the run was
/// stopped, and the listing's error.
async fn execute(pass: Pass, run: &mut Connected) -> (bool, Option<ToolError>) {
    let (mut input, nothing_left, max_chunks) = match Input::open(&pass, run).await {
        Ok(i) => i,
        Err(e) => return (false, Some(e)),
    };
    let bar = pass.bar;
    let mut inflight = FuturesUnordered::new();
    let mut listing_done = nothing_left;
    let mut stopping = false;
    let mut fatal: Option<ToolError> = None;
    let mut dirty = false;
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    let stop = run.job.stop.clone();
    let signal = stop.wait();
    tokio::pin!(signal);
    // After a signal: how long the requests in flight may take.
    let grace = tokio::time::sleep(GRACE);
    tokio::pin!(grace);
    let state = pass.state.as_deref();
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
                run.report.complete = false;
                grace.as_mut().reset(tokio::time::Instant::now() + GRACE);
                if std::mem::take(&mut dirty) {
                    save(&run.checkpoint, state);
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
                dirty |= record(run, d);
                bar.set_message(format!("compared; {} to copy, {} failed", run.report.counts.copied, run.report.counts.failed));
            }
            next = input.next(), if !listing_done && !stopping && inflight.len() < max_chunks => {
                match next {
                    None => listing_done = true,
                    Some(Err(e)) => {
                        fatal = Some(e);
                        listing_done = true;
                        run.report.complete = false;
                    }
                    Some(Ok(work)) => {
                        let job = run.job.clone();
                        inflight.push(async move { work.run(&job).await });
                    }
                }
            }
            _ = tick.tick() => {
                if std::mem::take(&mut dirty) {
                    save(&run.checkpoint, state);
                }
            }
        }
    }
    bar.finish_and_clear();
    (stopping, fatal)
}

/// Adds a finished chunk to the report and, when everything in it
/// succeeded, its span to the checkpoint; whether the checkpoint changed.
fn record(run: &mut Connected, d: ChunkDone) -> bool {
    run.report.counts.add(&d.counts);
    run.report.profile.merge(&d.profile);
    let finished = d.finished();
    run.report.keep_failures(d.failures);
    if finished {
        run.checkpoint.done.insert(d.span);
    }
    finished
}

fn print_report(job: &Job, report: &SyncReport, format: Format) {
    let mut p = job.printer.lock().unwrap_or_else(|e| e.into_inner());
    let _ = match format {
        Format::Json => p.json(report),
        Format::Human => p.line(report.human().trim_end()),
    };
    let _ = p.flush();
}

/// Saves the checkpoint to `path`, if there is one; `false` (and an error
/// logged) when it could not be written.
fn save(cp: &Checkpoint, path: Option<&Path>) -> bool {
    if let Some(path) = path {
        if let Err(e) = cp.save(path) {
            tracing::error!("{e}");
            return false;
        }
    }
    true
}
