//! `lag --state FILE --queue URL`: how far live replication lags, cheaply.
//!
//! Two signals, both needed: the workers' state files (`worker
//! --lag-state`) say how long after S3 sent them the events of the last
//! five minutes were handled, and the queue's depth (GetQueueAttributes)
//! says what is still waiting, which also catches a worker that stopped
//! taking messages. A state file not rewritten within `--stale-after`
//! means its worker is not running: the check then answers UNKNOWN rather
//! than from old numbers. With `--nagios`, one status line; the thresholds
//! apply to the age (`--warning`/`--critical`, seconds) and the messages
//! waiting (`--depth-warning`/`--depth-critical`), the worse one decides.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::nagios::{Check, Perf, Status};
use mc_aws_common::output::{human_count, Format, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;
use mc_aws_common::statefile;
use mc_aws_common::units::human_duration;
use serde::Serialize;

use crate::cli::LagArgs;
use crate::lag_state::{self, LagFile};
use crate::queue::{self, Depth};
use crate::verify::NAGIOS;

/// One worker's file, read and judged fresh.
#[derive(Debug, Clone, Serialize)]
pub struct Worker {
    pub state: PathBuf,
    #[serde(flatten)]
    pub file: LagFile,
    /// How long ago the worker wrote it.
    pub state_age_seconds: u64,
}

/// What the check measured.
#[derive(Debug, Clone, Serialize)]
pub struct Lag {
    pub kind: &'static str,
    pub queue: String,
    /// The oldest event handled in the window, over all workers (seconds
    /// from S3 sending it to a worker finishing it).
    pub age_seconds: f64,
    pub window_seconds: u64,
    pub events: u64,
    pub failed: u64,
    pub depth: Depth,
    pub workers: Vec<Worker>,
}

/// Reads `path`, a worker's lag file of `queue`, and judges its age at `now`.
pub fn read_state(
    path: &Path,
    queue: &str,
    stale_after: Duration,
    now: SystemTime,
) -> Result<Worker, ToolError> {
    let file: LagFile = statefile::load_json(path, "--state")?;
    let invalid = |message: String| ToolError::Invalid {
        what: format!("--state {}", path.display()),
        message,
    };
    if file.kind != lag_state::KIND || file.version != lag_state::VERSION {
        return Err(invalid(format!(
            "not a worker lag file of this version (kind {:?}, version {})",
            file.kind, file.version
        )));
    }
    if file.queue != queue {
        return Err(invalid(format!(
            "written by a worker of queue {}, not {queue}",
            file.queue
        )));
    }
    let written = statefile::parse_rfc3339(&file.written_at).map_err(invalid)?;
    let age = statefile::age(written, now, stale_after).map_err(|age| {
        invalid(format!(
            "stale: last written {} ago, more than --stale-after {}; is the worker running?",
            human_duration(age),
            human_duration(stale_after)
        ))
    })?;
    Ok(Worker {
        state: path.to_path_buf(),
        file,
        state_age_seconds: age.as_secs(),
    })
}

/// Combines the workers' files with the queue's depth.
pub fn combine(queue: &str, workers: Vec<Worker>, depth: Depth) -> Lag {
    let files = || workers.iter().map(|w| &w.file);
    Lag {
        kind: "lag",
        queue: queue.to_string(),
        age_seconds: files().map(|f| f.max_age_seconds).fold(0.0, f64::max),
        window_seconds: files().map(|f| f.window_seconds).max().unwrap_or(0),
        events: files().map(|f| f.events).sum(),
        failed: files().map(|f| f.failed).sum(),
        depth,
        workers,
    }
}

impl Lag {
    /// "oldest event of the last 5m 0s handled 2.1 s after S3 sent it (35
    /// events, 0 failed); 3 messages waiting, 1 in flight".
    pub fn summary(&self) -> String {
        let window = human_duration(Duration::from_secs(self.window_seconds));
        let events = if self.events == 0 {
            format!("no event handled in the last {window}")
        } else {
            format!(
                "oldest event of the last {window} handled {:.1} s after S3 sent it ({} events, {} failed)",
                self.age_seconds,
                human_count(self.events),
                human_count(self.failed)
            )
        };
        format!(
            "{events}; {} messages waiting, {} in flight",
            human_count(self.depth.visible),
            human_count(self.depth.in_flight)
        )
    }

    /// The Nagios result: the worse of the age and the depth.
    pub fn check(&self, args: &LagArgs) -> Check {
        let th = &args.check;
        let (dw, dc) = (args.depth_warning.as_ref(), args.depth_critical.as_ref());
        let age = th.status(self.age_seconds);
        let depth = Status::of(self.depth.visible as f64, dw, dc);
        let mut check = Check::new(NAGIOS.service, age.worst(depth), self.summary());
        let state_age = self.workers.iter().map(|w| w.state_age_seconds).max();
        check.perf = vec![
            Perf::new("age", self.age_seconds, "s")
                .ranges(th.warning.as_ref(), th.critical.as_ref())
                .min(0.0),
            Perf::new("waiting", self.depth.visible as f64, "")
                .ranges(dw, dc)
                .min(0.0),
            Perf::new("in_flight", self.depth.in_flight as f64, "").min(0.0),
            Perf::new("events", self.events as f64, "").min(0.0),
            Perf::new("failed", self.failed as f64, "").min(0.0),
            Perf::new("state_age", state_age.unwrap_or(0) as f64, "s").min(0.0),
        ];
        check
    }
}

/// Runs `lag`; returns the exit code.
pub async fn run(args: &LagArgs, aws: &AwsArgs, out: &OutputArgs) -> Result<i32, ToolError> {
    let now = SystemTime::now();
    let workers = args
        .states
        .iter()
        .map(|p| read_state(p, &args.queue, args.stale_after, now))
        .collect::<Result<Vec<_>, _>>()?;
    let throttle = Throttle::from_args(&Default::default());
    let sqs = queue::client(aws, &args.queue, None, None).await?;
    let depth = queue::depth(&sqs, &throttle, &args.queue).await?;
    let lag = combine(&args.queue, workers, depth);
    if args.nagios {
        return Ok(lag.check(args).emit());
    }
    let mut p = Printer::new();
    let _ = match out.output {
        Format::Json => p.json(&lag),
        Format::Human => p.line(format!("{}: {}", lag.queue, lag.summary())),
    };
    let _ = p.flush();
    Ok(exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lag_state::Recorder;
    use clap::Parser;

    const Q: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/old-bucket-events";

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000 + secs)
    }

    fn args(extra: &[&str]) -> LagArgs {
        let mut argv = vec!["s3-copier", "lag", "--state", "f", "--queue", Q];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Lag(a) => a,
            other => panic!("{other:?}"),
        }
    }

    fn worker(ages: &[(u64, u64)]) -> Worker {
        let mut r = Recorder::new(Q, at(0));
        for &(sent, done) in ages {
            r.record(at(sent), at(done), true);
        }
        Worker {
            state: "f".into(),
            file: r.snapshot(at(100)),
            state_age_seconds: 3,
        }
    }

    fn depth(visible: u64) -> Depth {
        Depth {
            visible,
            in_flight: 1,
            delayed: 0,
        }
    }

    #[test]
    fn alarms_on_age_and_on_depth() {
        let a = args(&[
            "--nagios",
            "--warning",
            "60",
            "--critical",
            "300",
            "--depth-warning",
            "1000",
            "--depth-critical",
            "10000",
        ]);
        let lag = combine(Q, vec![worker(&[(0, 2), (10, 12)])], depth(3));
        let c = lag.check(&a);
        assert_eq!(c.status, Status::Ok);
        assert_eq!(
            c.to_string(),
            "S3COPIER OK - oldest event of the last 5m 0s handled 2.0 s after S3 sent it (2 events, 0 failed); 3 messages waiting, 1 in flight | 'age'=2s;60;300;0 'waiting'=3;1000;10000;0 'in_flight'=1;;;0 'events'=2;;;0 'failed'=0;;;0 'state_age'=3s;;;0"
        );
        let slow = combine(Q, vec![worker(&[(0, 90)])], depth(3));
        assert_eq!(slow.check(&a).status, Status::Warning);
        let backlog = combine(Q, vec![worker(&[(0, 2)])], depth(20_000));
        assert_eq!(backlog.check(&a).status, Status::Critical);
        // Two workers: the older age and the events of both.
        let two = combine(Q, vec![worker(&[(0, 2)]), worker(&[(0, 400)])], depth(0));
        assert_eq!(two.check(&a).status, Status::Critical);
        assert_eq!(two.events, 2);
        let quiet = combine(Q, vec![worker(&[])], depth(0));
        assert!(quiet
            .summary()
            .starts_with("no event handled in the last 5m 0s"));
    }

    #[test]
    fn stale_foreign_and_broken_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lag.json");
        let mut r = Recorder::new(Q, at(0));
        statefile::save_json(&path, &r.snapshot(at(0))).unwrap();
        let minute = Duration::from_secs(60);
        assert!(read_state(&path, Q, minute, at(59)).is_ok());
        let e = read_state(&path, Q, minute, at(61)).unwrap_err();
        assert!(
            e.to_string()
                .contains("stale: last written 1m 1s ago, more than --stale-after 1m 0s"),
            "{e}"
        );
        assert!(e.to_string().contains("is the worker running?"), "{e}");
        let e = read_state(
            &path,
            "https://sqs.eu-west-1.amazonaws.com/1/other",
            minute,
            at(1),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not https://sqs"), "{e}");
        std::fs::write(&path, r#"{"kind": "something else"}"#).unwrap();
        assert_eq!(
            read_state(&path, Q, minute, at(1)).unwrap_err().exit_code(),
            exit::USAGE
        );
    }
}
