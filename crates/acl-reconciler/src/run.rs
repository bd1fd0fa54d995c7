//! The driver: plan (arguments, slice, checkpoint), connect both sides and
//! check their ACL settings, execute (batches of keys through the
//! reconciler, records printed, finished parts checkpointed), report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::StreamExt;
use mc_aws_common::acl::Acl;
use mc_aws_common::checkpoint::{Checkpoint, RunId};
use mc_aws_common::cli::ShardPlan;
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::interrupt::{Interrupt, GRACE};
use mc_aws_common::listing::KeyRange;
use mc_aws_common::retry::Throttle;
use mc_aws_common::twosided::{self, merge_join, Folders, Joined};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::cli::Cli;
use crate::error::Error;
use crate::reconcile::{Action, Reconciler, Record};
use crate::report::{Reporter, Summary};
use crate::work::{self, SourceKey, Work};

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

/// What the command line asks for, checked before anything is contacted.
struct Plan {
    folders: Folders,
    shard: ShardPlan,
    run: RunId,
}

impl Plan {
    fn new(cli: &Cli) -> Result<Self, Error> {
        let folders = Folders::new(cli.source.clone(), cli.destination.clone())?;
        let shard = cli.shard.plan(&cli.source.prefix)?;
        let keys_from = cli.keys_from.as_ref().map(|p| p.display().to_string());
        let inv = &cli.inventories;
        let mut run = RunId::new("acl-reconciler", &cli.source, &cli.destination)
            .arg(
                "--source-inventory",
                inv.source_inventory.clone().unwrap_or_default(),
            )
            .arg(
                "--dest-inventory",
                inv.dest_inventory.clone().unwrap_or_default(),
            )
            .arg("--apply", cli.apply)
            .arg("--allow-public", cli.allow_public)
            .arg("--keys-from", keys_from.unwrap_or_default());
        run.shard = shard.id();
        Ok(Self {
            folders,
            shard,
            run,
        })
    }
}

/// Everything a batch needs, shared by all batches of a run.
struct Job {
    reconciler: Reconciler,
    mode: Mode,
    folders: Folders,
    /// Keys of one batch in flight at once (the throttles bound requests).
    width: usize,
}

pub async fn run(cli: &Cli, reporter: &mut Reporter) -> Result<Outcome, Error> {
    let plan = Plan::new(cli)?;
    let throttle = Throttle::from_args(&cli.throttle);
    let acl_reads = cli.acl_reads.throttle(&cli.throttle, &throttle);
    let job = Arc::new(connect(cli, plan.folders.clone(), &throttle, &acl_reads).await?);
    // The state only records reconcile runs: a public scan changes nothing.
    let state_path = cli.state.as_deref().filter(|_| job.mode == Mode::Reconcile);
    let (mut state, resumed) = load_state(state_path, &plan)?;
    let input = open_input(cli, &job, &state, resumed).await?;
    let stop = Interrupt::install("acl-reconciler");
    let mut summary = Summary::default();
    let bar = cli.output.progress(None, "keys");
    let output = (&mut summary, reporter, bar);
    let ended = execute(&job, input, &mut state, state_path, output, &stop).await;
    if let Some(p) = state_path {
        state.save(p)?;
    }
    let interrupted = ended?;
    summary.set_stats(throttle.stats());
    if !Arc::ptr_eq(&throttle, &acl_reads) {
        summary.add_stats(acl_reads.stats());
    }
    let unsupported = (job.mode == Mode::PublicScan).then(|| {
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

/// Connects both sides and decides the mode from their ACL settings.
async fn connect(
    cli: &Cli,
    folders: Folders,
    throttle: &Arc<Throttle>,
    acl_reads: &Arc<Throttle>,
) -> Result<Job, Error> {
    let (source, dest) =
        twosided::connect(&cli.aws, &cli.sides, &folders, throttle, acl_reads).await?;
    let (src_settings, dst_settings) = futures::try_join!(
        source.acl_settings_or_assume(throttle),
        dest.acl_settings_or_assume(throttle),
    )?;
    if !src_settings.acls_enabled() {
        return Err(Error::Unsupported(format!(
            "source s3://{}: ACLs are disabled (Object Ownership is BucketOwnerEnforced): its objects have no ACLs to copy; access is governed by its bucket policy",
            cli.source.bucket
        )));
    }
    if dst_settings.ignores_public_acls() {
        tracing::warn!(
            "destination s3://{}: Block Public Access ignores public ACLs (IgnorePublicAcls): public grants set there have no effect",
            cli.destination.bucket
        );
    }
    let mode = if dst_settings.acls_enabled() {
        Mode::Reconcile
    } else {
        Mode::PublicScan
    };
    Ok(Job {
        reconciler: Reconciler {
            source,
            dest,
            throttle: throttle.clone(),
            dest_settings: dst_settings,
            apply: cli.apply,
            allow_public: cli.allow_public,
        },
        mode,
        folders,
        width: cli.throttle.concurrency as usize,
    })
}

/// The checkpoint: from `--state` when it names one (and the run records
/// anything), else in memory. A finished one starts a new pass.
fn load_state(path: Option<&std::path::Path>, plan: &Plan) -> Result<(Checkpoint, bool), Error> {
    let scope = plan.shard.range.as_ref();
    let Some(path) = path else {
        return Ok((Checkpoint::new(plan.run.clone(), scope), false));
    };
    let (mut state, resumed) = Checkpoint::load_or_new(path, plan.run.clone(), scope)?;
    if resumed && state.is_finished() {
        tracing::warn!(
            "{}: the last run finished every key; this run checks everything again",
            path.display()
        );
        state.restart(scope);
    }
    Ok((state, resumed))
}

/// Where keys come from: a key file, or the source listing of what is left.
async fn open_input(
    cli: &Cli,
    job: &Job,
    state: &Checkpoint,
    resumed: bool,
) -> Result<mpsc::Receiver<Result<Work, Error>>, Error> {
    let buffer = 64;
    if let Some(path) = &cli.keys_from {
        return work::from_file(path, state.lines_done, buffer).await;
    }
    let ranges = state.to_list();
    if resumed {
        tracing::info!("resuming from the state file");
    }
    let source = &job.reconciler.source;
    if let Some(rows) = &source.from_report {
        return Ok(work::from_listing(rows.clone().chunks(ranges), buffer));
    }
    let (listing, _) = twosided::list_source(source.lister.clone(), ranges, &cli.throttle);
    Ok(work::from_listing(listing, buffer))
}

/// Runs batches until the input ends, a signal (or a closed stdout) stops
/// the run, or a batch fails; the batches in flight then finish within
/// [`GRACE`]. Returns whether the run was interrupted.
async fn execute(
    job: &Arc<Job>,
    mut input: mpsc::Receiver<Result<Work, Error>>,
    state: &mut Checkpoint,
    state_path: Option<&std::path::Path>,
    (summary, reporter, bar): (&mut Summary, &mut Reporter, indicatif::ProgressBar),
    stop: &Interrupt,
) -> Result<bool, Error> {
    // Batches are as small as a listing page of a narrow span, so what is
    // bounded is the keys in flight, not batches. A batch waits for its
    // destination listing (a page: several ACL calls' time) before its first
    // read, so the waiting keys must not starve the request slots: at 4× -j
    // 20k keys on the model at -j 256 took 1.5× their floor, at 16× 1.27×
    // (8×: 1.30×; 32×: no better); peak RSS 55 → 67 MiB.
    let max_pending_keys = job.width * 16;
    let max_batches = 1024;
    let (rec_tx, mut rec_rx) = mpsc::unbounded_channel::<Record>();
    // Each batch is its own task, so batches run on all cores.
    let mut inflight: JoinSet<(usize, Result<Option<Finished>, Error>)> = JoinSet::new();
    let mut progress = Progress::new(reporter, summary, bar);
    let (mut input_done, mut stopping, mut interrupted) = (false, false, false);
    let mut fatal: Option<Error> = None;
    let mut pending_keys = 0usize;
    let mut last_save = Instant::now();
    let signal = stop.wait();
    tokio::pin!(signal);
    let grace = tokio::time::sleep(GRACE);
    tokio::pin!(grace);
    loop {
        if (input_done || stopping) && inflight.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            _ = &mut signal, if !interrupted => {
                if !mc_aws_common::output::stdout_closed() {
                    tracing::warn!("interrupted: finishing the keys in flight (at most {}s), then saving the state", GRACE.as_secs());
                }
                interrupted = true;
                stopping = true;
                grace.as_mut().reset(tokio::time::Instant::now() + GRACE);
            }
            _ = &mut grace, if interrupted => {
                tracing::warn!("{} batches still in flight after {}s: abandoned (not in the state)", inflight.len(), GRACE.as_secs());
                inflight.abort_all();
                break;
            }
            Some(rec) = rec_rx.recv() => {
                if !progress.emit(rec) {
                    stopping = true;
                }
            }
            Some(joined) = inflight.join_next(), if !inflight.is_empty() => {
                let (keys, done) = joined.unwrap_or_else(|e| {
                    (0, Err(ToolError::Other(format!("internal error: {e}")).into()))
                });
                pending_keys -= keys;
                // Every record of the batch was sent before it finished.
                while let Ok(rec) = rec_rx.try_recv() {
                    stopping |= !progress.emit(rec);
                }
                match done {
                    Ok(Some(finished)) => finished.record(state, &mut progress.lines_finished),
                    // Cut short by a stop: not finished, to do again.
                    Ok(None) => {}
                    Err(e) => {
                        fatal.get_or_insert(e);
                        stopping = true;
                    }
                }
                if let Some(p) = state_path.filter(|_| last_save.elapsed() >= SAVE_EVERY) {
                    state.save(p)?;
                    last_save = Instant::now();
                }
            }
            next = input.recv(), if !input_done && !stopping && pending_keys < max_pending_keys && inflight.len() < max_batches => {
                match next {
                    Some(Ok(w)) => {
                        let keys = w.len();
                        pending_keys += keys;
                        let batch = process(job.clone(), w, rec_tx.clone(), stop.clone());
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
    progress.finish();
    match fatal {
        Some(e) => Err(e),
        None => Ok(interrupted),
    }
}

/// Records printed and counted as they come.
struct Progress<'a> {
    reporter: &'a mut Reporter,
    summary: &'a mut Summary,
    bar: indicatif::ProgressBar,
    /// Key-file batches finished out of order: first line -> line count.
    lines_finished: BTreeMap<u64, u64>,
}

impl<'a> Progress<'a> {
    fn new(
        reporter: &'a mut Reporter,
        summary: &'a mut Summary,
        bar: indicatif::ProgressBar,
    ) -> Self {
        Self {
            reporter,
            summary,
            bar,
            lines_finished: BTreeMap::new(),
        }
    }

    /// Counts and prints a record; `false` when the output cannot be
    /// written (a closed stdout also stops the run through the interrupt).
    fn emit(&mut self, r: Record) -> bool {
        self.summary.add(&r);
        self.bar.inc(1);
        match self.reporter.record(&r) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => true,
            Err(e) => {
                tracing::error!("cannot write output: {e}");
                false
            }
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// What finishing a batch records in the state.
enum Finished {
    Span(KeyRange),
    Lines { first: u64, count: u64 },
}

impl Finished {
    fn record(self, state: &mut Checkpoint, lines_finished: &mut BTreeMap<u64, u64>) {
        match self {
            Finished::Span(span) => state.done.insert(span),
            Finished::Lines { first, count } => {
                lines_finished.insert(first, count);
                while let Some(count) = lines_finished.remove(&state.lines_done) {
                    state.lines_done += count;
                }
            }
        }
    }
}

/// Runs one batch: sends a record per key, then says what is finished
/// (`None`: cut short by a stop, nothing finished).
async fn process(
    job: Arc<Job>,
    work: Work,
    tx: mpsc::UnboundedSender<Record>,
    stop: Interrupt,
) -> Result<Option<Finished>, Error> {
    let (finished, pairs) = match work {
        Work::Span { span, keys } => {
            let pairs = match job.mode {
                Mode::PublicScan => keys.into_iter().map(|k| (k, Some(None))).collect(),
                Mode::Reconcile => {
                    let dest_span = job.folders.dest_span(&span);
                    let in_dest = dest_rows(&job.reconciler.dest, dest_span).await?;
                    pair_with_dest(keys, &in_dest, &job.folders)
                }
            };
            (Finished::Span(span), pairs)
        }
        Work::Lines { first, count, keys } => {
            let pairs = keys
                .into_iter()
                .filter_map(|key| outside_source(&job, key, &tx))
                .map(|key| (SourceKey { key, acl: None }, Some(None)))
                .collect();
            (Finished::Lines { first, count }, pairs)
        }
    };
    let complete = run_keys(&job, pairs, &tx, &stop).await;
    Ok(complete.then_some(finished))
}

/// `Some(key)` when it is under the source folder; otherwise an error
/// record is sent for it.
fn outside_source(job: &Job, key: String, tx: &mpsc::UnboundedSender<Record>) -> Option<String> {
    if job.folders.dest_key(&key).is_some() {
        return Some(key);
    }
    let mut r = Record::new(key.clone(), &key, Action::Error);
    r.error = Some(format!(
        "not under the source prefix {:?}",
        job.folders.source.prefix
    ));
    let _ = tx.send(r);
    None
}

/// A source key and its destination: `None` when the destination has no
/// such key, `Some(acl)` when it has (with its ACL when a report gave it).
type Pair = (SourceKey, Option<Option<Acl>>);

/// The destination's keys of a span, with their ACLs when its report has them.
async fn dest_rows(
    dest: &mc_aws_common::twosided::Side,
    span: Option<KeyRange>,
) -> Result<Vec<SourceKey>, Error> {
    let Some(span) = span else {
        return Ok(Vec::new());
    };
    if let Some(rows) = dest.from_report.clone() {
        let rows = tokio::task::spawn_blocking(move || rows.span_rows(&span))
            .await
            .map_err(|e| ToolError::Other(format!("reading the sorted report: {e}")))??;
        return Ok(rows.into_iter().map(SourceKey::from).collect());
    }
    let listed = dest.list_span(Some(&span)).await?;
    Ok(listed.into_iter().map(SourceKey::from).collect())
}

/// Pairs sorted source keys with the destination's keys of the same span.
fn pair_with_dest(keys: Vec<SourceKey>, dest: &[SourceKey], folders: &Folders) -> Vec<Pair> {
    let found: Vec<Option<Option<Acl>>> = merge_join(&keys, dest, folders)
        .filter_map(|j| match j {
            Joined::SourceOnly(_) => Some(None),
            Joined::Both(_, d) => Some(Some(d.acl.clone())),
            Joined::DestOnly(_) => None,
        })
        .collect();
    keys.into_iter().zip(found).collect()
}

/// Reconciles the keys, a record each; `false` when a stop cut it short.
async fn run_keys(
    job: &Job,
    pairs: Vec<Pair>,
    tx: &mpsc::UnboundedSender<Record>,
    stop: &Interrupt,
) -> bool {
    let mut cut_short = false;
    futures::stream::iter(pairs)
        .map(|(src, dst)| async move {
            if stop.is_set() {
                return None;
            }
            let key = src.key;
            let dest_key = job.folders.dest_key(&key).unwrap_or_else(|| key.clone());
            Some(match (job.mode, dst) {
                (Mode::PublicScan, _) => job.reconciler.source_public(key, dest_key).await,
                (Mode::Reconcile, None) => {
                    Record::new(key, &dest_key, Action::MissingInDestination)
                }
                // Both reports say the same: no request at all.
                (Mode::Reconcile, Some(Some(before)))
                    if src
                        .acl
                        .as_ref()
                        .is_some_and(|a| job.reconciler.agree(a, &before)) =>
                {
                    Record::new(key, &dest_key, Action::Equal)
                }
                // They differ, or one is not known: the ACLs as they are now.
                (Mode::Reconcile, Some(_)) => job.reconciler.key(key, dest_key).await,
            })
        })
        .buffer_unordered(job.width)
        .for_each(|r| {
            match r {
                Some(r) => {
                    let _ = tx.send(r);
                }
                None => cut_short = true,
            }
            async {}
        })
        .await;
    !cut_short
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
