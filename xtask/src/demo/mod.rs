//! `cargo xtask demo [--objects N] [--keep] [--release]`: a live,
//! zero-downtime bucket migration, played on a private local emulator with
//! the real tool binaries.
//!
//! The story (the seed's 25M-image PopJam migration, in miniature):
//!
//! 1. the application's bucket: objects of mixed sizes, keys with spaces,
//!    `+`, `%`, `?` and unicode, user metadata, private and public-read ACLs;
//!    the application keeps writing new objects all along;
//! 2. `s3-key-counter` sizes it; the new bucket is created; the old bucket's
//!    `s3:ObjectCreated:*` events go to an SQS queue that `s3-copier worker`
//!    consumes (live replication);
//! 3. `s3-copier sync` backfills while writes continue;
//! 4. moderation changes ACLs on the source (there is no event for that in the
//!    story); `acl-reconciler` finds the drift, plans, and fixes it;
//! 5. the application switches to the new bucket; the queue drains;
//!    `s3-copier verify --acl` and `s3-key-counter` compare both buckets;
//! 6. a summary table; the exit code is 0 only if the copy is complete and
//!    exact (nothing missing or different, ACLs equal, counts and bytes equal).
//!
//! Every child process (the tools, the emulator) is stopped at the end, on
//! error and on Ctrl-C; `--keep` leaves the emulator up until Ctrl-C and
//! prints how to point the tools at it.

mod cloud;
mod fixture;
mod story;
mod summary;
mod tools;

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mc_aws_common::output::human_count;
use mc_testkit::{Emulator, EmulatorKind};
use serde_json::Value;

use fixture::Application;
use story::Story;
use summary::secs;
use tools::{Run, Tools};

const USAGE: &str = "usage: cargo xtask demo [--objects N] [--keep] [--release]";

const SOURCE: &str = "old-bucket";
const DEST: &str = "new-bucket";
const QUEUE: &str = "old-bucket-events";

/// Exit code after Ctrl-C.
const INTERRUPTED: u8 = 130;

/// Parsed `xtask demo` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DemoArgs {
    /// Objects in the source bucket before the migration starts.
    pub objects: u64,
    /// Leave the emulator running (until Ctrl-C) after the demo.
    pub keep: bool,
    /// Build the tools in release mode.
    pub release: bool,
}

impl Default for DemoArgs {
    fn default() -> Self {
        Self {
            objects: 2000,
            keep: false,
            release: false,
        }
    }
}

impl DemoArgs {
    /// Fewest objects that still make a story (some public, some private, a few moderated).
    const MIN_OBJECTS: u64 = 20;
    /// Most: the emulator holds every byte in memory and lists in O(bucket).
    const MAX_OBJECTS: u64 = 100_000;

    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut parsed = Self::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
                _ => (arg.as_str(), None),
            };
            match flag {
                "--objects" => {
                    let value = match inline {
                        Some(v) => v,
                        None => iter
                            .next()
                            .cloned()
                            .with_context(|| format!("--objects needs a number ({USAGE})"))?,
                    };
                    let n: u64 = value.replace(['_', ','], "").parse().with_context(|| {
                        format!("--objects: `{value}` is not a number ({USAGE})")
                    })?;
                    if !(Self::MIN_OBJECTS..=Self::MAX_OBJECTS).contains(&n) {
                        bail!(
                            "--objects {n}: must be between {} and {}",
                            Self::MIN_OBJECTS,
                            human_count(Self::MAX_OBJECTS)
                        );
                    }
                    parsed.objects = n;
                }
                "--keep" if inline.is_none() => parsed.keep = true,
                "--release" if inline.is_none() => parsed.release = true,
                "-h" | "--help" => bail!("{USAGE}"),
                other => bail!("unknown argument `{other}` ({USAGE})"),
            }
        }
        Ok(parsed)
    }

    /// New objects per second the application writes during the migration.
    fn write_rate(&self) -> u32 {
        u32::try_from((self.objects / 200).clamp(5, 50)).unwrap_or(5)
    }

    /// Objects moderation changes, each way (public -> private, private -> public).
    fn moderated(&self) -> usize {
        usize::try_from((self.objects / 40).max(2)).unwrap_or(2)
    }

    /// Longest a single tool run may take before the demo gives up on it.
    fn tool_timeout(&self) -> Duration {
        Duration::from_secs(120 + self.objects / 20)
    }
}

pub(crate) fn run(args: &[String]) -> Result<u8> {
    let args = DemoArgs::parse(args)?;
    let setup = Instant::now();
    println!(
        "xtask demo: a zero-downtime migration of a live bucket ({} objects to start with), \
         on a private local ministack; nothing touches AWS.",
        human_count(args.objects)
    );

    let started = heading("0", "Build the tools");
    let bins = tools::build(args.release)?;
    println!(
        "    built {} in {}",
        tools::TOOLS.join(", "),
        secs(started.elapsed())
    );

    let started = heading("0", "Start a private ministack");
    // Installs the emulators into .venv/ on first use (as `cargo xtask test` does).
    crate::test::setup_emulators()?;
    let emulator = start_ministack()?;
    println!(
        "    ministack at {} (region {}), ready in {}",
        emulator.endpoint(),
        emulator.region(),
        secs(started.elapsed())
    );
    let tools = Tools::new(bins, emulator.env());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    // Set once the queue exists, for --keep.
    let queue_url = OnceLock::new();
    let setup = setup.elapsed();
    let migration = Instant::now();
    let outcome = runtime.block_on(async {
        tokio::select! {
            r = migrate(&emulator, &tools, &args, &queue_url) => r.map(Some),
            _ = tokio::signal::ctrl_c() => Ok(None),
        }
    });
    let code = match outcome {
        Ok(Some(problems)) => {
            verdict(&problems, migration.elapsed(), setup);
            u8::from(!problems.is_empty())
        }
        Ok(None) => {
            eprintln!("\nxtask demo: interrupted; stopping the tools and the emulator");
            emulator.stop();
            return Ok(INTERRUPTED);
        }
        Err(e) => {
            eprintln!("\nxtask demo: error: {e:#}");
            1
        }
    };
    if args.keep {
        keep(&emulator, &tools, queue_url.get());
        runtime.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
        println!("\nxtask demo: stopping ministack");
    }
    drop(runtime);
    emulator.stop();
    Ok(code)
}

/// A private ministack; the kit panics when it cannot start one, which is
/// turned into an error here (the panic message is the explanation).
fn start_ministack() -> Result<Emulator> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let started = std::panic::catch_unwind(|| Emulator::start(EmulatorKind::Ministack));
    std::panic::set_hook(hook);
    started.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "unknown reason".into());
        anyhow::anyhow!("cannot start ministack: {message}")
    })
}

/// `==> [1/6] title`; returns the start time.
fn heading(number: &str, title: &str) -> Instant {
    let title = if number == "0" {
        title.to_owned()
    } else {
        format!("[{number}/6] {title}")
    };
    crate::step(&title)
}

/// Steps 1-6 ([`story`]); the problems found at the end (none: complete and exact).
async fn migrate(
    emulator: &Emulator,
    tools: &Tools,
    args: &DemoArgs,
    queue_url: &OnceLock<String>,
) -> Result<Vec<String>> {
    let mut story = Story::new(emulator, tools, args).await;
    let live = story.source_bucket().await?;
    let replication = story.size_and_replicate(queue_url).await?;
    story.backfill(&live, &replication).await?;
    story.acl_drift().await?;
    let (end, worker) = story.switch_over(live, replication).await?;
    Ok(story.summary(&end, &worker))
}

fn counted(run: &Run, url: &str) -> Result<(u64, u64)> {
    if run.code != 0 {
        bail!("s3-key-counter failed (exit code {})", run.code);
    }
    let want = url.trim_end_matches('/');
    let line = run
        .lines
        .iter()
        .find(|l| {
            l["kind"] == "count"
                && l["url"]
                    .as_str()
                    .is_some_and(|u| u.trim_end_matches('/') == want)
        })
        .with_context(|| format!("s3-key-counter printed no count for {url}"))?;
    Ok((num(&line["objects"]), num(&line["bytes"])))
}

/// A JSON number as u64 (0 when absent).
fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// `plan  photos/…/IMG_00012.jpg  -group:AllUsers=READ`.
fn describe_drift(line: &Value) -> String {
    let grants = |field: &str, sign: char| -> Vec<String> {
        line[field]
            .as_array()
            .map(|gs| {
                gs.iter()
                    .map(|g| {
                        let who = g["grantee"]
                            .as_object()
                            .and_then(|o| o.iter().next())
                            .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or("?")))
                            .unwrap_or_else(|| "?".into());
                        format!("{sign}{who}={}", g["permission"].as_str().unwrap_or("?"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut changes = grants("removed", '-');
    changes.extend(grants("added", '+'));
    format!(
        "{:<15} {}  {}",
        line["action"].as_str().unwrap_or("?"),
        line["key"].as_str().unwrap_or("?"),
        changes.join(" ")
    )
}

/// Await `work`, printing what else is going on every few seconds when the
/// tool's own progress bar is not shown (stderr is not a terminal).
async fn with_heartbeat<T>(
    work: impl std::future::Future<Output = Result<T>>,
    app: &Application,
    sqs: &mc_testkit::aws_sdk_sqs::Client,
    queue: &str,
) -> Result<T> {
    if std::io::stderr().is_terminal() {
        return work.await;
    }
    tokio::pin!(work);
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = tick.tick() => {
                let queue_state = match cloud::queue_depth(sqs, queue).await {
                    Ok((waiting, in_flight)) => format!(
                        "events: {waiting} queued, {in_flight} being copied"
                    ),
                    Err(e) => format!("queue depth unknown ({e:#})"),
                };
                println!(
                    "      … {:>3.0} s: the application has written {} new objects; {queue_state}",
                    started.elapsed().as_secs_f64(),
                    human_count(app.objects())
                );
            }
        }
    }
}

/// Wait until the queue has no message waiting or being handled (twice in a
/// row, half a second apart); how long that took.
async fn drain(
    sqs: &mc_testkit::aws_sdk_sqs::Client,
    queue: &str,
    timeout: Duration,
) -> Result<Duration> {
    let started = Instant::now();
    let mut empty_polls = 0;
    loop {
        let (waiting, in_flight) = cloud::queue_depth(sqs, queue).await?;
        empty_polls = if waiting + in_flight == 0 {
            empty_polls + 1
        } else {
            0
        };
        if empty_polls >= 2 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > timeout {
            bail!(
                "the event queue did not drain within {timeout:?} ({waiting} waiting, {in_flight} in flight)"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The final line: complete and exact, or what is wrong.
fn verdict(problems: &[String], migration: Duration, setup: Duration) {
    let took = format!(
        "the migration took {}, building the tools and starting ministack {}",
        secs(migration),
        secs(setup)
    );
    if problems.is_empty() {
        println!("\nxtask demo: MIGRATION COMPLETE AND EXACT, with zero downtime ({took})");
    } else {
        println!("\nxtask demo: MIGRATION INCOMPLETE ({took}):");
        for p in problems {
            println!("    - {p}");
        }
    }
}

/// `--keep`: how to point the tools at the emulator that stays up.
fn keep(emulator: &Emulator, tools: &Tools, queue_url: Option<&String>) {
    println!(
        "\n==> --keep: ministack stays up at {} until you press Ctrl-C",
        emulator.endpoint()
    );
    println!("    In another shell, point the tools at it:\n");
    let env = emulator.env();
    // Anything else of AWS_* here (a profile, a session token) would win over these.
    let stray: Vec<String> = std::env::vars_os()
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .filter(|k| k.starts_with("AWS_") && !env.iter().any(|(e, _)| e == k))
        .collect();
    if !stray.is_empty() {
        println!("    unset {}", stray.join(" "));
    }
    let env: Vec<String> = env
        .into_iter()
        .map(|(k, v)| format!("{k}={}", shell_quote(&v)))
        .collect();
    println!("    export {}", env.join(" \\\n           "));
    let bin = |tool: &str| {
        tools.path(tool).map_or_else(
            || tool.to_owned(),
            |p| shell_quote(&p.display().to_string()),
        )
    };
    println!();
    println!("    {} s3://{SOURCE} s3://{DEST}", bin("s3-key-counter"));
    println!(
        "    {} verify --acl s3://{SOURCE} s3://{DEST}",
        bin("s3-copier")
    );
    println!("    {} s3://{SOURCE} s3://{DEST}", bin("acl-reconciler"));
    println!(
        "    {} s3://{SOURCE} --by-prefix 1 --by-storage-class",
        bin("s3-key-counter")
    );
    if let Some(queue) = queue_url {
        println!("    # the source still sends its events to the queue: replicate live again");
        println!(
            "    {} worker --queue {queue} s3://{SOURCE} s3://{DEST}",
            bin("s3-copier")
        );
    }
}

/// Single-quote for a POSIX shell when needed.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<DemoArgs> {
        DemoArgs::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_and_flags() {
        assert_eq!(parse(&[]).unwrap(), DemoArgs::default());
        let a = parse(&["--objects", "300", "--keep", "--release"]).unwrap();
        assert_eq!(
            a,
            DemoArgs {
                objects: 300,
                keep: true,
                release: true
            }
        );
        assert_eq!(parse(&["--objects=5_000"]).unwrap().objects, 5000);
    }

    #[test]
    fn bad_arguments_are_one_clear_error() {
        for bad in [
            &["--objects"][..],
            &["--objects", "many"],
            &["--objects", "3"],
            &["--objects", "1000000"],
            &["--fast"],
            &["--keep=yes"],
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{bad:?}: {e}");
        }
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(
            shell_quote("http://127.0.0.1:4566"),
            "http://127.0.0.1:4566"
        );
        assert_eq!(shell_quote("/a b/c"), "'/a b/c'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
