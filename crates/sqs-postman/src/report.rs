//! Run counters shared by the generator and the producers, and the final summary.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use mc_aws_common::output::human_count;
use serde::Serialize;

use crate::histogram::Histogram;

/// How many distinct error kinds the summary keeps (the rest are counted under "other").
const MAX_ERROR_KINDS: usize = 32;

/// Counters for one run; every field only grows.
#[derive(Default)]
pub struct Tally {
    /// Messages packed into batches.
    pub generated: AtomicU64,
    /// Messages SQS accepted.
    pub sent: AtomicU64,
    /// Messages given up on: rejected input, sender faults, retries exhausted.
    pub failed: AtomicU64,
    /// Messages packed but never sent because the run was aborted.
    pub unsent: AtomicU64,
    /// Batch entries resent after SQS failed them (not the sender's fault).
    pub retried: AtomicU64,
    /// Successful SendMessageBatch requests.
    pub batches: AtomicU64,
    /// Latency of every SendMessageBatch attempt.
    pub latency: Histogram,
    errors: Mutex<BTreeMap<String, ErrorKind>>,
}

/// One kind of failure, with how many messages it hit and one example.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorKind {
    pub code: String,
    pub count: u64,
    pub example: String,
}

impl Tally {
    /// Counts `n` messages as failed with `code` (an SQS error code or our own).
    pub fn fail(&self, n: u64, code: &str, example: impl FnOnce() -> String) {
        self.failed.fetch_add(n, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        let key = if errors.len() >= MAX_ERROR_KINDS && !errors.contains_key(code) {
            "other"
        } else {
            code
        };
        errors
            .entry(key.to_string())
            .or_insert_with(|| ErrorKind {
                code: key.to_string(),
                count: 0,
                example: example(),
            })
            .count += n;
    }

    pub fn errors(&self) -> Vec<ErrorKind> {
        let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<ErrorKind> = errors.values().cloned().collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
        v
    }

    fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// The final report (`--output json` prints it as one object).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub queue: String,
    pub queue_url: String,
    /// `--total`, when one was given.
    pub requested: Option<u64>,
    pub sent: u64,
    pub failed: u64,
    pub unsent: u64,
    pub retried: u64,
    pub request_retries: u64,
    pub throttled: u64,
    pub batches: u64,
    pub elapsed_seconds: f64,
    pub msgs_per_s: f64,
    pub latency_ms: Latency,
    pub interrupted: bool,
    pub errors: Vec<ErrorKind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

/// What the summary is built from besides the tally.
pub struct RunInfo<'a> {
    pub queue: &'a str,
    pub queue_url: &'a str,
    pub requested: Option<u64>,
    pub elapsed: Duration,
    pub request_retries: u64,
    pub throttled: u64,
    pub interrupted: bool,
}

impl Summary {
    pub fn new(t: &Tally, info: RunInfo<'_>) -> Self {
        let sent = Tally::get(&t.sent);
        let failed = Tally::get(&t.failed);
        let mut unsent = Tally::get(&t.unsent);
        // With --total, messages never generated (abort, interrupt) are not delivered either.
        if let Some(n) = info.requested {
            unsent = unsent.max(n.saturating_sub(sent + failed));
        }
        let secs = info.elapsed.as_secs_f64();
        let ms = |d: Option<Duration>| d.map(|d| (d.as_secs_f64() * 1e5).round() / 100.0);
        let has = t.latency.count() > 0;
        Summary {
            queue: info.queue.to_string(),
            queue_url: info.queue_url.to_string(),
            requested: info.requested,
            sent,
            failed,
            unsent,
            retried: Tally::get(&t.retried),
            request_retries: info.request_retries,
            throttled: info.throttled,
            batches: Tally::get(&t.batches),
            elapsed_seconds: (secs * 1000.0).round() / 1000.0,
            msgs_per_s: if secs > 0.0 {
                (sent as f64 / secs * 10.0).round() / 10.0
            } else {
                0.0
            },
            latency_ms: Latency {
                p50: ms(t.latency.quantile(0.5)),
                p99: ms(t.latency.quantile(0.99)),
                max: ms(has.then(|| t.latency.max())),
            },
            interrupted: info.interrupted,
            errors: t.errors(),
        }
    }

    /// Whether every message that should have been sent was.
    pub fn complete(&self) -> bool {
        self.failed == 0 && self.unsent == 0
    }

    /// Human text, several lines.
    pub fn human(&self) -> String {
        let mut out = format!(
            "sent {} messages to {} in {:.2} s ({} msgs/s)",
            human_count(self.sent),
            self.queue,
            self.elapsed_seconds,
            human_count(self.msgs_per_s.round() as u64)
        );
        if let Some(n) = self.requested {
            out.push_str(&format!(" of {} requested", human_count(n)));
        }
        out.push('\n');
        out.push_str(&format!(
            "  failed {}, not sent {}, retried {} (entries resent), request retries {} ({} throttled)\n",
            human_count(self.failed),
            human_count(self.unsent),
            human_count(self.retried),
            human_count(self.request_retries),
            human_count(self.throttled),
        ));
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1} ms"));
        out.push_str(&format!(
            "  batches {}, latency p50 {}, p99 {}, max {}\n",
            human_count(self.batches),
            f(self.latency_ms.p50),
            f(self.latency_ms.p99),
            f(self.latency_ms.max),
        ));
        for e in &self.errors {
            out.push_str(&format!(
                "  error {} x{}: {}\n",
                e.code,
                human_count(e.count),
                e.example
            ));
        }
        if self.interrupted {
            out.push_str("  interrupted: stopped early\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(requested: Option<u64>) -> RunInfo<'static> {
        RunInfo {
            queue: "q",
            queue_url: "http://x/q",
            requested,
            elapsed: Duration::from_secs(2),
            request_retries: 0,
            throttled: 0,
            interrupted: false,
        }
    }

    #[test]
    fn unsent_covers_messages_never_generated() {
        let t = Tally::default();
        t.sent.store(90, Ordering::Relaxed);
        t.fail(4, "InternalError", || "boom".into());
        let s = Summary::new(&t, info(Some(100)));
        assert_eq!((s.sent, s.failed, s.unsent), (90, 4, 6));
        assert!(!s.complete());
        assert_eq!(s.msgs_per_s, 45.0);
        assert_eq!(s.errors[0].count, 4);
    }

    #[test]
    fn complete_run() {
        let t = Tally::default();
        t.sent.store(10, Ordering::Relaxed);
        let s = Summary::new(&t, info(Some(10)));
        assert!(s.complete());
        assert!(s
            .human()
            .starts_with("sent 10 messages to q in 2.00 s (5 msgs/s) of 10 requested\n"));
    }

    #[test]
    fn error_kinds_are_bounded() {
        let t = Tally::default();
        for i in 0..100 {
            t.fail(1, &format!("E{i}"), String::new);
        }
        let e = t.errors();
        assert_eq!(e.len(), MAX_ERROR_KINDS + 1);
        assert_eq!(e.iter().map(|e| e.count).sum::<u64>(), 100);
    }
}
