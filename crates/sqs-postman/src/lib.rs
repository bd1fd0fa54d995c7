//! Send thousands to millions of SQS messages fast, in batches from many
//! concurrent producers, and never claim success falsely.
//!
//! * [`cli`]: the command line (compatible with the Node `sqs-postman`);
//! * [`template`]: message templates (`%unique%`, `%seq%`, ...), parsed once;
//! * [`source`]: lazy message generation and batch packing within SQS limits;
//! * [`send`]: the producers, with partial-failure resends;
//! * [`wire`]: the lean, signed SendMessageBatch request the producers send;
//! * [`sigv4`]: its signature, with the signing key derived once a day;
//! * [`report`], [`histogram`]: counters and the final summary;
//! * [`queue`], [`stats`]: naming queues and reading their depth.

pub mod cli;
pub mod control;
pub mod error;
pub mod histogram;
pub mod queue;
pub mod report;
pub mod send;
pub mod sigv4;
pub mod source;
pub mod stats;
pub mod template;
pub mod wire;

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use aws_config::Region;
use aws_smithy_runtime_api::client::http::{http_client_fn, SharedHttpConnector};
use mc_aws_common::exit;
use mc_aws_common::output::{Format, Printer};
use mc_aws_common::retry::{Backoff, Throttle};
use mc_aws_common::startup::{self, NagiosMode};
use tokio::io::AsyncBufRead;
use tokio::sync::{mpsc, Mutex};

use crate::cli::{Cli, Command, ConnArgs, MessageArgs, StatsArgs};
use crate::control::Control;
use crate::error::{Error, Result};
use crate::queue::{Queue, QueueRef};
use crate::report::{RunInfo, Summary, Tally};
use crate::send::Sender;
use crate::source::{Fifo, Groups, Input, Pace, Packer};
use crate::template::Template;
use crate::wire::{EndpointCapture, Wire};

const TOOL: &str = "sqs-postman";
const NAGIOS: NagiosMode = NagiosMode {
    words: &["--nagios"],
    service: "SQS",
};

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<_> = std::env::args_os().collect();
    let cli = match startup::parse_args::<Cli>(&args, Some(NAGIOS)) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    mc_aws_common::logging::init(cli.output.verbosity(), debug_directive().as_deref());
    // One thread drives every request: a batch costs tens of microseconds of
    // CPU, so one core keeps thousands of requests a second in flight, and
    // the cross-thread wake-ups of a multi-thread runtime cost more than they
    // would parallelise (measured: a third of the CPU went to the scheduler).
    let runtime = match startup::runtime(TOOL, false) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let nagios = match &cli.command {
        Command::Stats(s) if s.nagios => Some(s.timeout),
        _ => None,
    };
    let result = match nagios {
        Some(seconds) => {
            mc_aws_common::nagios::run_check(runtime, seconds, NAGIOS.service, run(cli))
                .unwrap_or_else(Ok)
        }
        None => runtime.block_on(run(cli)),
    };
    match result {
        Ok(code) => code,
        Err(e) if nagios.is_some() => {
            mc_aws_common::nagios::Check::unknown(NAGIOS.service, &e).emit()
        }
        Err(e) => {
            eprintln!("{TOOL}: error: {e}");
            e.exit_code()
        }
    }
}

/// `DEBUG=sqs-postman` (the Node `debug` module's switch; also `DEBUG=*`,
/// `DEBUG=sqs-postman*`, or a comma-separated list) turns on our debug logs.
fn debug_directive() -> Option<String> {
    let value = std::env::var("DEBUG").ok()?;
    value
        .split([',', ' '])
        .map(str::trim)
        .any(|d| {
            d == "*" || d.trim_end_matches('*').trim_end_matches(':') == TOOL || d == "postman*"
        })
        .then(|| "sqs_postman=debug".to_string())
}

async fn run(cli: Cli) -> Result<i32> {
    match &cli.command {
        Command::Message(args) => message(&cli, args).await,
        Command::Stats(args) => stats_cmd(&cli, args).await,
    }
}

/// SDK config and client, their HTTP connector, the limiter and the resolved queue.
struct Connection {
    sdk: aws_config::SdkConfig,
    client: aws_sdk_sqs::Client,
    /// The connection pool shared by the SDK client and [`wire::Wire`].
    connector: SharedHttpConnector,
    throttle: Arc<Throttle>,
    queue: Queue,
}

async fn connect(
    conn: &ConnArgs,
    queue: &QueueRef,
    concurrency: usize,
    max_attempts: u32,
) -> Result<Connection> {
    let mut sdk = mc_aws_common::config::load(&conn.to_aws_args(), None, None).await?;
    if conn.region.is_none() {
        if let Some(r) = queue.region_hint() {
            sdk = sdk.into_builder().region(Region::new(r)).build();
        }
    }
    if sdk.region().is_none() {
        return Err(Error::Input(
            "no AWS region: pass --region, set AWS_REGION, or name the queue by URL or ARN".into(),
        ));
    }
    // One connector (TLS set up once, one pool) for the SDK's calls and ours.
    let connector = mc_aws_common::lean::https_connector(sdk.sleep_impl());
    let shared = connector.clone();
    let sdk = sdk
        .into_builder()
        .http_client(http_client_fn(move |_, _| shared.clone()))
        .build();
    let client = aws_sdk_sqs::Client::new(&sdk);
    let backoff = Backoff {
        max_attempts,
        ..Backoff::default()
    };
    let throttle = Throttle::new(concurrency, None, backoff);
    let queue = queue::resolve(&client, &throttle, queue).await?;
    Ok(Connection {
        sdk,
        client,
        connector,
        throttle,
        queue,
    })
}

async fn stats_cmd(cli: &Cli, args: &StatsArgs) -> Result<i32> {
    let queue = QueueRef::parse(&args.queue);
    let Connection {
        client,
        throttle,
        queue,
        ..
    } = connect(&cli.aws, &queue, 4, 5).await?;
    let depth = stats::depth(&client, &throttle, &queue).await?;
    if args.nagios {
        return Ok(stats::check(&queue, &depth, args).emit());
    }
    let mut out = Printer::new();
    let written = match cli.output.output {
        Format::Human => out.line(stats::human(&queue, &depth).trim_end()),
        Format::Json => out.json(&stats::json(&queue, &depth)),
    };
    let _ = written.and_then(|()| out.flush());
    Ok(exit::SUCCESS)
}

/// Reads the whole message source (a template), at most what SQS could take.
fn read_template(path: &Path) -> Result<String> {
    let what = if path == Path::new("-") {
        "message source (stdin)".to_string()
    } else {
        format!("message source {}", path.display())
    };
    let read_err = |source| Error::Read {
        what: what.clone(),
        source,
    };
    let limit = (queue::SQS_MAX_BYTES * 2) as u64;
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
            .map_err(read_err)?;
    }
    if bytes.len() as u64 > limit {
        return Err(Error::Input(format!(
            "{what}: larger than any SQS message can be (1 MiB)"
        )));
    }
    let mut text = String::from_utf8(bytes)
        .map_err(|_| Error::Input(format!("{what}: not valid UTF-8 (SQS bodies are text)")))?;
    // Editors end files with a newline; it is not part of the message.
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(Error::Input(format!(
            "{what}: empty (SQS does not accept empty messages)"
        )));
    }
    Ok(text)
}

/// Opens the line source (file or stdin) before anything is sent.
async fn open_lines(path: &Path) -> Result<Box<dyn AsyncBufRead + Unpin + Send>> {
    const BUF: usize = 256 * 1024;
    if path == Path::new("-") {
        return Ok(Box::new(tokio::io::BufReader::with_capacity(
            BUF,
            tokio::io::stdin(),
        )));
    }
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|source| Error::Read {
            what: format!("message source {}", path.display()),
            source,
        })?;
    Ok(Box::new(tokio::io::BufReader::with_capacity(BUF, file)))
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

async fn message(cli: &Cli, args: &MessageArgs) -> Result<i32> {
    let queue_ref = QueueRef::parse(&args.queue);
    check_flags(args, queue_ref.is_fifo())?;

    // Everything about the input is checked before the first AWS call.
    let input = if args.lines {
        Input::Lines(open_lines(&args.message_source).await?)
    } else {
        let text = read_template(&args.message_source)?;
        let template =
            Template::parse(&text).map_err(|e| Error::Input(format!("message source: {e}")))?;
        if !args.raw {
            let sample = template.render(1);
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&sample) {
                return Err(Error::Input(format!(
                    "message source {}: not valid JSON ({e}); use --raw to send it as it is",
                    args.message_source.display()
                )));
            }
        }
        Input::Template(template)
    };
    if let Input::Template(t) = &input {
        for word in t.unknown_placeholders() {
            tracing::warn!(
                "message source: %{word}% is not a placeholder; it is sent as it is (see --help)"
            );
        }
    }
    let total = match (&input, args.total) {
        (_, Some(n)) => Some(n),
        (Input::Lines(_), None) => None,
        (Input::Template(_), None) if args.duration.is_some() => None,
        (Input::Template(_), None) => Some(1),
    };

    let producers = args.concurrent_producers as usize;
    let Connection {
        sdk,
        client,
        connector,
        throttle,
        queue,
    } = connect(&cli.aws, &queue_ref, producers, args.max_attempts).await?;
    let endpoint = EndpointCapture::default();
    let max_message = queue::max_message_size(&client, &throttle, &queue, &endpoint).await?;
    // JSON-protocol calls go to the endpoint itself: no query string.
    let endpoint = endpoint
        .get()
        .map(|u| u.split('?').next().unwrap_or(&u).to_string());
    let endpoint = endpoint.ok_or_else(|| {
        Error::Input(format!(
            "queue {}: no SQS endpoint was resolved for it",
            queue.name
        ))
    })?;
    let region = sdk
        .region()
        .map(|r| r.as_ref().to_string())
        .unwrap_or_default();
    tracing::debug!(url = %queue.url, %endpoint, max_message, fifo = queue.fifo, "queue resolved");

    let fifo = queue.fifo.then(|| Fifo {
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
    let packer = Packer::new(
        &args.attributes,
        fifo,
        args.delay_seconds,
        max_message,
        !args.raw,
    )
    .map_err(|e| Error::Input(format!("--attribute: {e}")))?;
    if let Input::Template(t) = &input {
        let body = t.max_len_with_seq(total);
        let attrs = packer.attributes_max_len(total);
        if body + attrs > max_message {
            return Err(Error::Input(format!(
                "message source {}: a message is up to {} bytes (body {body} + attributes {attrs}), over the queue's MaximumMessageSize of {max_message} bytes; nothing was sent",
                args.message_source.display(),
                body + attrs
            )));
        }
    }

    let tally = Arc::new(Tally::default());
    let ctl = Arc::new(Control::default());
    let progress = cli.output.progress(total, "sending");
    let wire = Wire::new(
        connector,
        endpoint,
        region,
        sdk.credentials_provider(),
        &queue.url,
    );
    let sender = Arc::new(Sender {
        wire,
        queue_name: queue.name.clone(),
        throttle: throttle.clone(),
        backoff: Backoff {
            max_attempts: args.max_attempts,
            ..Backoff::default()
        },
        throttle_attempts: args.max_attempts,
        tally: tally.clone(),
        ctl: ctl.clone(),
        progress: progress.clone(),
    });
    let signals = tokio::spawn(watch_signals(ctl.clone()));

    let start = Instant::now();
    let (tx, rx) = mpsc::channel(producers);
    let batches = Arc::new(Mutex::new(rx));
    let workers: Vec<_> = (0..producers)
        .map(|_| tokio::spawn(sender.clone().run(batches.clone())))
        .collect();
    let pace = Pace {
        total,
        deadline: args.duration.map(|d| tokio::time::Instant::now() + d),
        rate: args.rate,
    };
    let generated = source::generate(input, &packer, pace, tx, &ctl, &tally).await;
    for w in workers {
        let _ = w.await;
    }
    signals.abort();
    progress.finish_and_clear();
    // Whatever is still queued after an abort was never sent.
    {
        let mut rx = batches.lock().await;
        while let Ok(b) = rx.try_recv() {
            tally
                .unsent
                .fetch_add(b.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let elapsed = start.elapsed();
    let t = throttle.stats();
    let summary = Summary::new(
        &tally,
        RunInfo {
            queue: &queue.name,
            queue_url: &queue.url,
            requested: total,
            elapsed,
            request_retries: t.retries,
            throttled: t.throttled,
            interrupted: ctl.was_interrupted(),
        },
    );
    print_summary(cli, &summary);

    if let Err(e) = generated {
        return Err(Error::Read {
            what: format!("message source {}", args.message_source.display()),
            source: e,
        });
    }
    if let Some(e) = ctl.take_fatal() {
        return Err(e);
    }
    if summary.interrupted {
        eprintln!("{TOOL}: interrupted");
        return Ok(exit::INTERRUPTED);
    }
    if !summary.complete() {
        eprintln!(
            "{TOOL}: error: {} message(s) not delivered ({} failed, {} not sent)",
            summary.failed + summary.unsent,
            summary.failed,
            summary.unsent
        );
        return Ok(exit::PARTIAL_FAILURE);
    }
    Ok(exit::SUCCESS)
}

fn print_summary(cli: &Cli, summary: &Summary) {
    let mut out = Printer::new();
    let written = match cli.output.output {
        Format::Json => out.json(summary),
        Format::Human if cli.output.quiet && summary.complete() => Ok(()),
        Format::Human => out.line(summary.human().trim_end()),
    };
    let _ = written.and_then(|()| out.flush());
}

/// First Ctrl-C / SIGTERM: stop generating, finish what is in flight, report.
/// Second: exit at once.
async fn watch_signals(ctl: Arc<Control>) {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn next(term: &mut Option<Signal>) {
        match term {
            Some(t) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = t.recv() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    let mut term = signal(SignalKind::terminate()).ok();
    next(&mut term).await;
    eprintln!("{TOOL}: interrupted: finishing the batches in flight (again to quit now)");
    ctl.interrupt();
    next(&mut term).await;
    std::process::exit(exit::INTERRUPTED);
}
