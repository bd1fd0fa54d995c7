//! Retry with full-jitter backoff, and one adaptive concurrency limiter shared
//! by every request of a run.
//!
//! The limiter does additive increase / multiplicative decrease (AIMD, as TCP
//! does): each success raises the limit by 1/limit (about +1 per round of
//! requests), each throttling answer halves it, at most once per round (only
//! requests sent after the last decrease can trigger the next one), so a
//! burst of SlowDowns from one overload counts once. A tool that hits a
//! service limit therefore backs off instead of hammering it, and climbs back
//! when the service allows.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;
use rand::Rng;
use tokio::sync::Notify;

use crate::cli::ThrottleArgs;
use crate::error::{classify, ErrorClass};

/// Errors that know whether a retry can help.
pub trait Classify {
    fn class(&self) -> ErrorClass;
}

impl<E: ProvideErrorMetadata + std::error::Error + 'static> Classify for SdkError<E, Response> {
    fn class(&self) -> ErrorClass {
        classify(self)
    }
}

/// Counters for the final report.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    pub transient: AtomicU64,
    pub failed: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub transient: u64,
    pub failed: u64,
}

impl std::ops::Add for StatsSnapshot {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            requests: self.requests + o.requests,
            retries: self.retries + o.retries,
            throttled: self.throttled + o.throttled,
            transient: self.transient + o.transient,
            failed: self.failed + o.failed,
        }
    }
}

/// Backoff parameters: full jitter, `sleep = random(0, min(cap, base * 2^attempt))`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(20),
            max_attempts: 10,
        }
    }
}

impl Backoff {
    /// The sleep before retry number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX));
        let ceiling = exp.min(self.cap);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }
}

struct LimitState {
    limit: f64,
    in_flight: usize,
    epoch: u64,
}

/// The limits of a run: adaptive concurrency and the optional rate cap.
struct Limiter {
    max: f64,
    state: Mutex<LimitState>,
    freed: Notify,
    next_slot: Option<Mutex<Instant>>,
    interval: Duration,
}

/// Shared by all requests of a run: caps concurrency (adaptively), the
/// request rate (optionally), and retries failed calls.
pub struct Throttle {
    limiter: Arc<Limiter>,
    backoff: Backoff,
    stats: Stats,
}

/// A slot in the limiter, released on drop.
pub struct Permit<'a> {
    throttle: &'a Throttle,
    epoch: u64,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.throttle.lock().in_flight -= 1;
        self.throttle.limiter.freed.notify_one();
    }
}

impl Throttle {
    /// `max_concurrency` requests at most, `max_rps` per second at most.
    pub fn new(max_concurrency: usize, max_rps: Option<f64>, backoff: Backoff) -> Arc<Self> {
        let max = max_concurrency.max(1) as f64;
        Arc::new(Self {
            limiter: Arc::new(Limiter {
                max,
                state: Mutex::new(LimitState {
                    limit: max,
                    in_flight: 0,
                    epoch: 0,
                }),
                freed: Notify::new(),
                next_slot: max_rps.map(|_| Mutex::new(Instant::now())),
                interval: max_rps
                    .map(|r| Duration::from_secs_f64(1.0 / r))
                    .unwrap_or_default(),
            }),
            backoff,
            stats: Stats::default(),
        })
    }

    /// A throttle under the same limits (the same slots, the same rate
    /// cap) that counts its own requests: several parts of one run (the
    /// URLs of a count) share `-j` and still report apart.
    pub fn sharing_limits(&self) -> Arc<Self> {
        Arc::new(Self {
            limiter: self.limiter.clone(),
            backoff: self.backoff,
            stats: Stats::default(),
        })
    }

    /// From the shared `--concurrency`, `--max-rps`, `--max-attempts` flags.
    pub fn from_args(args: &ThrottleArgs) -> Arc<Self> {
        let backoff = Backoff {
            max_attempts: args.max_attempts,
            ..Backoff::default()
        };
        Self::new(args.concurrency as usize, args.max_rps, backoff)
    }

    fn lock(&self) -> MutexGuard<'_, LimitState> {
        // A panic while holding this lock cannot leave the counters half-updated.
        self.limiter.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most requests it lets in flight (`-j`): the adaptive limit never
    /// goes above it.
    pub fn max_in_flight(&self) -> usize {
        self.limiter.max as usize
    }

    /// The current adaptive limit (for progress displays and tests).
    pub fn current_limit(&self) -> usize {
        self.lock().limit as usize
    }

    pub fn stats(&self) -> StatsSnapshot {
        let s = &self.stats;
        StatsSnapshot {
            requests: s.requests.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            throttled: s.throttled.load(Ordering::Relaxed),
            transient: s.transient.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
        }
    }

    /// Waits for a slot under the current limit and the rate cap.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.limiter.freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let granted = {
                let mut st = self.lock();
                if (st.in_flight as f64) < st.limit.floor().max(1.0) {
                    st.in_flight += 1;
                    Some(st.epoch)
                } else {
                    None
                }
            };
            if let Some(epoch) = granted {
                self.wait_rate_slot().await;
                return Permit {
                    throttle: self,
                    epoch,
                };
            }
            notified.await;
        }
    }

    async fn wait_rate_slot(&self) {
        let Some(slot) = &self.limiter.next_slot else {
            return;
        };
        let at = {
            let mut next = slot.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.limiter.interval;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }

    fn on_success(&self) {
        let mut st = self.lock();
        st.limit = (st.limit + 1.0 / st.limit).min(self.limiter.max);
    }

    fn on_throttled(&self, permit_epoch: u64) {
        let mut st = self.lock();
        if permit_epoch == st.epoch {
            st.limit = (st.limit / 2.0).max(1.0);
            st.epoch += 1;
            tracing::debug!(limit = st.limit, "throttled: concurrency lowered");
        }
    }

    /// Runs `op` under the limiter, retrying throttling and transient errors
    /// with full-jitter backoff up to `max_attempts`.
    pub async fn call<T, E, F, Fut>(&self, mut op: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Classify + std::fmt::Debug,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let permit = self.acquire().await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let result = op().await;
            let err = match result {
                Ok(v) => {
                    self.on_success();
                    return Ok(v);
                }
                Err(e) => e,
            };
            let class = err.class();
            match class {
                ErrorClass::Throttled => {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    self.on_throttled(permit.epoch);
                }
                ErrorClass::Transient => {
                    self.stats.transient.fetch_add(1, Ordering::Relaxed);
                }
                ErrorClass::Permanent => {}
            }
            drop(permit);
            if class == ErrorClass::Permanent || attempt >= self.backoff.max_attempts {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                return Err(err);
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(attempt, ?class, "retrying after {err:?}");
            tokio::time::sleep(self.backoff.delay(attempt)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Debug)]
    struct Fake(ErrorClass);
    impl Classify for Fake {
        fn class(&self) -> ErrorClass {
            self.0
        }
    }

    fn fast() -> Backoff {
        Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
            max_attempts: 5,
        }
    }

    #[tokio::test]
    async fn retries_transient_then_succeeds() {
        let t = Throttle::new(4, None, fast());
        let calls = AtomicUsize::new(0);
        let r: Result<u32, Fake> = t
            .call(|| async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(Fake(ErrorClass::Transient))
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(t.stats().retries, 2);
        assert_eq!(t.stats().requests, 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let t = Throttle::new(4, None, fast());
        let r: Result<(), Fake> = t.call(|| async { Err(Fake(ErrorClass::Permanent)) }).await;
        assert!(r.is_err());
        assert_eq!(t.stats().requests, 1);
        assert_eq!(t.stats().failed, 1);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let t = Throttle::new(4, None, fast());
        let r: Result<(), Fake> = t.call(|| async { Err(Fake(ErrorClass::Throttled)) }).await;
        assert!(r.is_err());
        assert_eq!(t.stats().requests, 5);
    }

    #[tokio::test]
    async fn throttling_halves_once_per_round_and_recovers() {
        let t = Throttle::new(64, None, fast());
        // A burst of throttled answers from requests of the same round halves once.
        let permits: Vec<_> = futures::future::join_all((0..8).map(|_| t.acquire())).await;
        for p in &permits {
            t.on_throttled(p.epoch);
        }
        drop(permits);
        assert_eq!(t.current_limit(), 32);
        for _ in 0..200 {
            t.on_success();
        }
        assert!(t.current_limit() > 32);
    }

    #[tokio::test]
    async fn concurrency_never_exceeds_the_limit() {
        let t = Throttle::new(3, None, fast());
        let live = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let ops = (0..20).map(|_| {
            let (t, live, peak) = (t.clone(), live.clone(), peak.clone());
            async move {
                let _: Result<(), Fake> = t
                    .call(|| async {
                        let n = live.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(n, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        live.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .await;
            }
        });
        futures::future::join_all(ops).await;
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_cap_spaces_requests() {
        let t = Throttle::new(100, Some(10.0), fast());
        let start = tokio::time::Instant::now();
        for _ in 0..11 {
            let _: Result<(), Fake> = t.call(|| async { Ok(()) }).await;
        }
        // 11 requests at 10/s: the last starts one second after the first.
        assert!(start.elapsed() >= Duration::from_millis(990));
    }

    #[test]
    fn backoff_is_bounded() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            max_attempts: 3,
        };
        for attempt in 1..40 {
            assert!(b.delay(attempt) <= Duration::from_secs(1));
        }
    }
}
