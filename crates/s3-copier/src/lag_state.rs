//! The worker's lag signal (`worker --lag-state FILE`): how long after S3
//! sent each event (its SQS message's `SentTimestamp`) the worker was done
//! with it, over the last few minutes, written every few seconds to a small
//! state file that `s3-copier lag` reads. The file is rewritten even when
//! no event comes (a quiet bucket is not a stale worker), atomically, and
//! stays a few hundred bytes: the worker keeps one counter per 10 seconds
//! of the window, never a list of events.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use mc_aws_common::statefile::{rfc3339, unix_millis};
use serde::{Deserialize, Serialize};

/// What the file says it is (`kind`), and its format.
pub const KIND: &str = "s3-copier worker lag";
pub const VERSION: u32 = 1;
/// The numbers cover the events handled this long before the write.
pub const WINDOW: Duration = Duration::from_secs(300);
/// One counter per this much of the window.
const SLOT: Duration = Duration::from_secs(10);
/// How often the worker rewrites the file.
pub const WRITE_EVERY: Duration = Duration::from_secs(10);

/// The state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagFile {
    pub kind: String,
    pub version: u32,
    /// The queue the worker reads.
    pub queue: String,
    pub written_at: String,
    pub worker_started_at: String,
    /// The window the next four numbers cover.
    pub window_seconds: u64,
    /// Messages handled in the window (failed ones included).
    pub events: u64,
    /// Of those, failed (left on the queue for redelivery).
    pub failed: u64,
    /// The most time any of them took from S3 sending it to the worker
    /// finishing it (0 when none was handled).
    pub max_age_seconds: f64,
    /// The last message handled, whenever it was.
    pub last_event: Option<LastEvent>,
    /// Messages handled since the worker started.
    pub handled_total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastEvent {
    pub done_at: String,
    pub age_seconds: f64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Start of the slot, in slot units since the epoch.
    index: u64,
    events: u64,
    failed: u64,
    max_age: Duration,
}

/// What the worker keeps in memory: a counter per slot of the window.
#[derive(Debug)]
pub struct Recorder {
    queue: String,
    started: SystemTime,
    slots: VecDeque<Slot>,
    total: u64,
    last: Option<(SystemTime, Duration)>,
}

fn slot_index(t: SystemTime) -> u64 {
    unix_millis(t) / SLOT.as_millis() as u64
}

/// Seconds with millisecond precision, for JSON.
fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

impl Recorder {
    pub fn new(queue: &str, started: SystemTime) -> Self {
        Self {
            queue: queue.to_string(),
            started,
            slots: VecDeque::new(),
            total: 0,
            last: None,
        }
    }

    /// Records a message S3 sent at `sent` that the worker finished at `done`.
    pub fn record(&mut self, sent: SystemTime, done: SystemTime, ok: bool) {
        let age = done.duration_since(sent).unwrap_or_default();
        let index = slot_index(done);
        // Messages finish out of order: find or insert the slot, in order.
        let before = self.slots.iter().rposition(|s| s.index <= index);
        let at = match before {
            Some(p) if self.slots[p].index == index => p,
            _ => {
                let at = before.map_or(0, |p| p + 1);
                let empty = Slot {
                    index,
                    events: 0,
                    failed: 0,
                    max_age: Duration::ZERO,
                };
                self.slots.insert(at, empty);
                at
            }
        };
        let slot = &mut self.slots[at];
        slot.events += 1;
        slot.failed += u64::from(!ok);
        slot.max_age = slot.max_age.max(age);
        self.total += 1;
        if self.last.is_none_or(|(t, _)| t <= done) {
            self.last = Some((done, age));
        }
        self.forget_before(done);
    }

    fn forget_before(&mut self, now: SystemTime) {
        let keep_from = slot_index(now).saturating_sub(WINDOW.as_secs() / SLOT.as_secs());
        while self.slots.front().is_some_and(|s| s.index < keep_from) {
            self.slots.pop_front();
        }
    }

    /// The file's contents at `now`.
    pub fn snapshot(&mut self, now: SystemTime) -> LagFile {
        self.forget_before(now);
        let events = self.slots.iter().map(|s| s.events).sum();
        let failed = self.slots.iter().map(|s| s.failed).sum();
        let max_age = self
            .slots
            .iter()
            .map(|s| s.max_age)
            .max()
            .unwrap_or_default();
        LagFile {
            kind: KIND.into(),
            version: VERSION,
            queue: self.queue.clone(),
            written_at: rfc3339(now),
            worker_started_at: rfc3339(self.started),
            window_seconds: WINDOW.as_secs(),
            events,
            failed,
            max_age_seconds: secs(max_age),
            last_event: self.last.map(|(at, age)| LastEvent {
                done_at: rfc3339(at),
                age_seconds: secs(age),
            }),
            handled_total: self.total,
        }
    }
}

/// The `SentTimestamp` attribute (milliseconds since the epoch) as a time.
pub fn sent_at(millis: &str) -> Option<SystemTime> {
    let ms: u64 = millis.trim().parse().ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000 + secs)
    }

    #[test]
    fn keeps_the_window_and_the_oldest_age_in_it() {
        let mut r = Recorder::new("https://sqs.eu-west-1.amazonaws.com/1/q", at(0));
        r.record(at(0), at(2), true);
        r.record(at(10), at(70), false);
        r.record(at(100), at(101), true);
        let f = r.snapshot(at(110));
        assert_eq!((f.events, f.failed, f.max_age_seconds), (3, 1, 60.0));
        assert_eq!(f.handled_total, 3);
        assert_eq!(f.last_event.as_ref().unwrap().age_seconds, 1.0);
        assert_eq!(f.written_at, "2026-11-18T11:08:30Z");
        // Five minutes on (to within a 10 s slot), the 60 s event has left the window.
        let f = r.snapshot(at(385));
        assert_eq!((f.events, f.max_age_seconds), (1, 1.0));
        // Quiet since: nothing in the window, the last event still said.
        let f = r.snapshot(at(1000));
        assert_eq!((f.events, f.max_age_seconds), (0, 0.0));
        assert_eq!(f.handled_total, 3);
        assert!(f.last_event.is_some());
        assert!(r.slots.is_empty(), "memory is bounded by the window");
    }

    #[test]
    fn out_of_order_finishes_and_clock_skew() {
        let mut r = Recorder::new("q", at(0));
        r.record(at(5), at(25), true);
        r.record(at(0), at(19), true);
        // Sent "after" it was done (another clock): age zero, not a panic.
        r.record(at(30), at(21), true);
        let f = r.snapshot(at(30));
        assert_eq!((f.events, f.max_age_seconds), (3, 20.0));
        assert_eq!(f.last_event.unwrap().age_seconds, 20.0);
        assert_eq!(sent_at("1795000000000"), Some(at(0)));
        assert_eq!(sent_at("soon"), None);
    }
}
