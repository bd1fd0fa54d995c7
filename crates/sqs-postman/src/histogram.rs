//! A fixed-size latency histogram: constant memory for any number of samples.
//!
//! Buckets are logarithmic, 16 per doubling (each about 4.4% wide), from
//! 10 µs to about 11 minutes; a percentile is reported as its bucket's
//! geometric middle, so it is within about 2.2% of the exact value.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const PER_DOUBLING: f64 = 16.0;
const BUCKETS: usize = 420;
const MIN_NANOS: f64 = 10_000.0;

/// Shared by all producers; recording is one atomic increment.
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    max_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max_nanos: AtomicU64::new(0),
        }
    }
}

fn bucket(nanos: u64) -> usize {
    let n = nanos as f64;
    if n <= MIN_NANOS {
        return 0;
    }
    let i = ((n / MIN_NANOS).log2() * PER_DOUBLING) as usize + 1;
    i.min(BUCKETS - 1)
}

/// The geometric middle of bucket `i`.
fn middle(i: usize) -> Duration {
    if i == 0 {
        return Duration::from_nanos(MIN_NANOS as u64);
    }
    let lo = MIN_NANOS * ((i - 1) as f64 / PER_DOUBLING).exp2();
    let hi = MIN_NANOS * (i as f64 / PER_DOUBLING).exp2();
    Duration::from_nanos((lo * hi).sqrt() as u64)
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[bucket(nanos)].fetch_add(1, Ordering::Relaxed);
        self.max_nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile (0.0..=1.0), `None` without samples.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c.load(Ordering::Relaxed);
            if seen >= rank {
                return Some(middle(i).min(self.max()));
            }
        }
        Some(self.max())
    }

    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_nanos.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_close() {
        let h = Histogram::default();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.count(), 1000);
        let p50 = h.quantile(0.5).unwrap().as_secs_f64() * 1000.0;
        let p99 = h.quantile(0.99).unwrap().as_secs_f64() * 1000.0;
        assert!((p50 - 500.0).abs() / 500.0 < 0.03, "p50 {p50}");
        assert!((p99 - 990.0).abs() / 990.0 < 0.03, "p99 {p99}");
        assert_eq!(h.max(), Duration::from_millis(1000));
    }

    #[test]
    fn empty_and_extremes() {
        let h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        h.record(Duration::ZERO);
        h.record(Duration::from_secs(100_000));
        assert_eq!(h.count(), 2);
        assert!(h.quantile(1.0).is_some());
    }
}
