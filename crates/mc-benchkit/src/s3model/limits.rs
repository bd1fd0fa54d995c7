//! S3's per-prefix request-rate limits, as a sliding one-second window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which S3 request-rate budget an operation draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpClass {
    /// GET/HEAD/LIST: 5,500 requests per second per prefix.
    Read,
    /// PUT/COPY/POST/DELETE: 3,500 requests per second per prefix.
    Write,
    /// Bucket-level calls, not limited by the model.
    Bucket,
}

/// Sliding-window counters keyed by (class, bucket, prefix).
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<(OpClass, String, String), VecDeque<Instant>>>,
}

impl RateLimiter {
    /// Admits one request if fewer than `limit` were admitted in the last second.
    pub fn admit(&self, class: OpClass, bucket: &str, prefix: &str, limit: u32) -> bool {
        let Ok(mut w) = self.windows.lock() else {
            return true;
        };
        let now = Instant::now();
        let q = w
            .entry((class, bucket.to_owned(), prefix.to_owned()))
            .or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            q.pop_front();
        }
        if q.len() >= limit as usize {
            return false;
        }
        q.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window() {
        let r = RateLimiter::default();
        for _ in 0..5 {
            assert!(r.admit(OpClass::Write, "b", "p/", 5));
        }
        assert!(!r.admit(OpClass::Write, "b", "p/", 5));
        assert!(r.admit(OpClass::Write, "b", "q/", 5));
        assert!(r.admit(OpClass::Read, "b", "p/", 5));
    }
}
