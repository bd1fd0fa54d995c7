//! `message`: plan (flags and input checked before any AWS call), connect
//! (queue, endpoint, size limit), execute (generator and producers), report
//! (summary and exit code).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::{self, Format, Printer};
use mc_aws_common::retry::Backoff;
use tokio::sync::{mpsc, Mutex};

use crate::cli::{Cli, MessageArgs, TOOL};
use crate::connection::{connect, Connection};
use crate::control::Control;
use crate::error::{Error, Result};
use crate::input;
use crate::queue::{self, QueueRef};
use crate::report::{RunInfo, Summary, Tally};
use crate::send::{Batches, Sender};
use crate::source::{self, Fifo, Groups, Input, Pace, Packer};
use crate::wire::Wire;

/// Sends the messages; the exit code says whether SQS accepted every one.
pub async fn run(cli: &Cli, args: &MessageArgs) -> Result<i32> {
    let queue = QueueRef::parse(&args.queue);
    let plan = plan(args, &queue).await?;
    let target = connect_queue(cli, args, &queue).await?;
    let packer = packer(args, &plan, &target)?;
    let outcome = execute(cli, args, plan, target, &packer).await;
    report(cli, args, outcome)
}

/// What to send, checked before the first AWS call.
struct Plan {
    input: Input,
    /// `None`: until the lines or `--duration` end.
    total: Option<u64>,
}

async fn plan(args: &MessageArgs, queue: &QueueRef) -> Result<Plan> {
    check_flags(args, queue.is_fifo())?;
    let input = if args.lines {
        input::open_lines(&args.message_source).await?
    } else {
        let mut text = input::read_template(&args.message_source)?;
        if args.compact {
            text = input::compact_json(&text);
        }
        Input::Template(input::template(&text, &args.message_source, args.raw)?)
    };
    let total = match (&input, args.total) {
        (_, Some(n)) => Some(n),
        (Input::Lines(_), None) => None,
        (Input::Template(_), None) if args.duration.is_some() => None,
        (Input::Template(_), None) => Some(1),
    };
    Ok(Plan { input, total })
}

fn check_flags(args: &MessageArgs, fifo: bool) -> Result<()> {
    if args.total == Some(0) {
        return Err(Error::Input("--total must be at least 1".into()));
    }
    if fifo && args.delay_seconds.is_some() {
        return Err(Error::Input(
            "--delay-seconds: FIFO queues do not take a per-message delay (set the queue's DelaySeconds instead)".into(),
        ));
    }
    if !fifo && (args.groups.is_some() || args.group_per_message) {
        return Err(Error::Input(
            "--groups and --group-per-message are for FIFO queues (names ending in .fifo)".into(),
        ));
    }
    Ok(())
}

/// The resolved queue, where its SendMessageBatch requests go, and its size limit.
struct Target {
    conn: Connection,
    /// The endpoint the SDK resolved, without a query string (JSON protocol).
    endpoint: String,
    region: String,
    max_message: usize,
}

async fn connect_queue(cli: &Cli, args: &MessageArgs, queue: &QueueRef) -> Result<Target> {
    let producers = args.concurrent_producers as usize;
    let conn = connect(&cli.aws, queue, producers, args.max_attempts).await?;
    let capture = mc_aws_common::lean::EndpointCapture::default();
    let max_message =
        queue::max_message_size(&conn.client, &conn.throttle, &conn.queue, &capture).await?;
    let endpoint = capture
        .get()
        .map(|u| u.split('?').next().unwrap_or(&u).to_string())
        .ok_or_else(|| {
            Error::Input(format!(
                "queue {}: no SQS endpoint was resolved for it",
                conn.queue.name
            ))
        })?;
    let region = conn
        .sdk
        .region()
        .map(|r| r.as_ref().to_string())
        .unwrap_or_default();
    let q = &conn.queue;
    tracing::debug!(url = %q.url, %endpoint, max_message, fifo = q.fifo, "queue resolved");
    Ok(Target {
        conn,
        endpoint,
        region,
        max_message,
    })
}

/// The entry builder for this queue; a template whose messages cannot fit
/// the queue's MaximumMessageSize is refused before anything is sent.
fn packer(args: &MessageArgs, plan: &Plan, target: &Target) -> Result<Packer> {
    let fifo = target.conn.queue.fifo.then(|| Fifo {
        groups: match (args.groups, args.group_per_message) {
            (Some(k), _) => Groups::RoundRobin {
                prefix: args.group_id.clone(),
                k,
            },
            (None, true) => Groups::PerMessage {
                prefix: args.group_id.clone(),
            },
            (None, false) => Groups::Fixed(args.group_id.clone()),
        },
        run_id: uuid::Uuid::new_v4().simple().to_string(),
    });
    let max_message = target.max_message;
    let packer = Packer::new(
        &args.attributes,
        fifo,
        args.delay_seconds,
        max_message,
        !args.raw,
    )
    .map_err(|e| Error::Input(format!("--attribute: {e}")))?;
    if let Input::Template(t) = &plan.input {
        let body = t.max_len_with_seq(plan.total);
        let attrs = packer.attributes_max_len(plan.total);
        if body + attrs > max_message {
            return Err(Error::Input(format!(
                "message source {}: a message is up to {} bytes (body {body} + attributes {attrs}), over the queue's MaximumMessageSize of {max_message} bytes; nothing was sent",
                args.message_source.display(),
                body + attrs
            )));
        }
    }
    Ok(packer)
}

/// How a run ended: its summary, and what stopped it early, if anything.
struct Outcome {
    summary: Summary,
    /// The message source failed mid-run.
    read_error: Option<std::io::Error>,
    /// A request failed for good.
    fatal: Option<Error>,
}

async fn execute(
    cli: &Cli,
    args: &MessageArgs,
    plan: Plan,
    target: Target,
    packer: &Packer,
) -> Outcome {
    let tally = Arc::new(Tally::default());
    let ctl = Arc::new(Control::default());
    let progress = cli.output.progress(plan.total, "sending");
    let sender = Arc::new(sender(args, &target, &tally, &ctl, progress.clone()));
    let stop_on_interrupt = {
        let (interrupt, ctl) = (Interrupt::install(TOOL.name), ctl.clone());
        tokio::spawn(async move {
            interrupt.wait().await;
            ctl.interrupt();
        })
    };

    let start = Instant::now();
    let producers = args.concurrent_producers as usize;
    let (tx, rx) = mpsc::channel(producers);
    let batches: Batches = Arc::new(Mutex::new(rx));
    let workers: Vec<_> = (0..producers)
        .map(|_| tokio::spawn(sender.clone().run(batches.clone())))
        .collect();
    let pace = Pace {
        total: plan.total,
        deadline: args.duration.map(|d| tokio::time::Instant::now() + d),
        rate: args.rate,
    };
    let generated = source::generate(plan.input, packer, pace, tx, &ctl, &tally).await;
    for w in workers {
        let _ = w.await;
    }
    stop_on_interrupt.abort();
    progress.finish_and_clear();
    count_unsent(&batches, &tally).await;

    let t = target.conn.throttle.stats();
    let queue = &target.conn.queue;
    let summary = Summary::new(
        &tally,
        RunInfo {
            queue: &queue.name,
            queue_url: &queue.url,
            requested: plan.total,
            elapsed: start.elapsed(),
            request_retries: t.retries,
            throttled: t.throttled,
            interrupted: ctl.was_interrupted(),
        },
    );
    Outcome {
        summary,
        read_error: generated.err(),
        fatal: ctl.take_fatal(),
    }
}

/// The producers' shared part: the request, the limiter, the counters.
fn sender(
    args: &MessageArgs,
    target: &Target,
    tally: &Arc<Tally>,
    ctl: &Arc<Control>,
    progress: indicatif::ProgressBar,
) -> Sender {
    let conn = &target.conn;
    let wire = Wire::new(
        conn.connector.clone(),
        target.endpoint.clone(),
        target.region.clone(),
        conn.sdk.credentials_provider(),
        &conn.queue.url,
    );
    Sender {
        wire,
        queue_name: conn.queue.name.clone(),
        throttle: conn.throttle.clone(),
        backoff: Backoff {
            max_attempts: args.max_attempts,
            ..Backoff::default()
        },
        throttle_attempts: args.max_attempts,
        tally: tally.clone(),
        ctl: ctl.clone(),
        progress,
    }
}

/// Whatever is still queued after an abort was never sent.
async fn count_unsent(batches: &Batches, tally: &Tally) {
    let mut rx = batches.lock().await;
    while let Ok(b) = rx.try_recv() {
        tally.unsent.fetch_add(b.len() as u64, Ordering::Relaxed);
    }
}

/// Prints the summary and gives the exit code: 0 only when SQS accepted
/// every message.
fn report(cli: &Cli, args: &MessageArgs, outcome: Outcome) -> Result<i32> {
    let Outcome {
        summary,
        read_error,
        fatal,
    } = outcome;
    print_summary(cli, &summary);
    if let Some(source) = read_error {
        return Err(Error::Read {
            what: format!("message source {}", args.message_source.display()),
            source,
        });
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    if summary.interrupted {
        eprintln!("{}: interrupted", TOOL.name);
        return Ok(exit::INTERRUPTED);
    }
    if !summary.complete() {
        eprintln!(
            "{}: error: {} message(s) not delivered ({} failed, {} not sent)",
            TOOL.name,
            summary.failed + summary.unsent,
            summary.failed,
            summary.unsent
        );
        return Ok(exit::PARTIAL_FAILURE);
    }
    Ok(exit::SUCCESS)
}

/// The summary on stdout; on stderr instead when stdout is closed, so that
/// every message is still accounted for (the run then ends with 130).
fn print_summary(cli: &Cli, summary: &Summary) {
    let mut out = Printer::new();
    let written = match cli.output.output {
        Format::Json => out.json(summary),
        Format::Human if cli.output.quiet && summary.complete() => Ok(()),
        Format::Human => out.line(summary.human().trim_end()),
    };
    if written.and_then(|()| out.flush()).is_err() && output::stdout_closed() {
        eprint!("{}", summary.human());
    }
}
