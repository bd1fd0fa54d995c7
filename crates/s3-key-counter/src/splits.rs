//! Balanced split points for `--shard i/N` across machines.
//!
//! `--emit-splits N` records, per listed chunk, its span and how many entries
//! it held (one small record per page, never the keys), then picks the chunk
//! boundaries closest to each N-th of the total. The points are accurate to a
//! page (1,000 keys), which is plenty to balance millions of keys.
//!
//! The file format and its checks are `mc_aws_common::listing::splits_file`.

use mc_aws_common::listing::KeyRange;

/// Per-chunk counts, gathered while listing.
#[derive(Debug, Default, Clone)]
pub struct SplitRecorder {
    chunks: Vec<(KeyRange, u64)>,
}

impl SplitRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one chunk: its span and how many entries it held.
    pub fn record(&mut self, span: &KeyRange, entries: u64) {
        self.chunks.push((span.clone(), entries));
    }

    /// Up to `n - 1` increasing split points that cut the recorded entries
    /// into `n` slices of about equal size.
    pub fn split_points(mut self, n: usize) -> Vec<String> {
        if n < 2 {
            return Vec::new();
        }
        // Spans partition the key space: ordering them by lower end orders them.
        self.chunks.sort_by(|a, b| a.0.after.cmp(&b.0.after));
        let total: u64 = self.chunks.iter().map(|c| c.1).sum();
        // Cumulative count at the upper end of each bounded span.
        let mut bounds: Vec<(u64, String)> = Vec::with_capacity(self.chunks.len());
        let mut acc = 0u64;
        for (span, entries) in self.chunks {
            acc += entries;
            if let Some(upto) = span.upto {
                bounds.push((acc, upto));
            }
        }
        let mut out: Vec<String> = Vec::with_capacity(n - 1);
        let mut from = 0usize;
        for i in 1..n as u64 {
            let target = (u128::from(total) * u128::from(i) / n as u128) as u64;
            // The first boundary at or past the target, or the one just before it if closer.
            let mut j = from + bounds[from..].partition_point(|b| b.0 < target);
            if j > from && (j == bounds.len() || target - bounds[j - 1].0 < bounds[j].0 - target) {
                j -= 1;
            }
            let Some((_, key)) = bounds.get(j) else {
                break;
            };
            if out.last().is_none_or(|last| key > last) {
                out.push(key.clone());
            }
            from = j;
        }
        out
    }
}

/// A uniform sample of keys (reservoir sampling, bounded), for split points
/// and cross-check ranges of an unsorted source such as an inventory
/// report: points from 65,536 sampled keys land within about 1% of their
/// ideal place in the key order.
#[derive(Debug, Clone)]
pub struct KeySample {
    keys: Vec<String>,
    seen: u64,
    rng: u64,
    /// Algorithm L (Li, 1994): the count at which the next key is kept, and
    /// the running weight that draws the skip to it. Keys between are not
    /// even looked at: one random draw per kept key, not one per key.
    next: u64,
    weight: f64,
}

impl Default for KeySample {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            seen: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
            next: 0,
            weight: 1.0,
        }
    }
}

impl KeySample {
    /// Keys kept at most.
    pub const SIZE: usize = 65_536;

    pub fn new() -> Self {
        Self::default()
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: a fixed seed, so the same report gives the same points.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A uniform draw in (0, 1).
    fn unit(&mut self) -> f64 {
        ((self.next_random() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Draws the weight and the count of the next key to keep.
    fn schedule(&mut self) {
        let k = Self::SIZE as f64;
        self.weight *= (self.unit().ln() / k).exp();
        let skip = (self.unit().ln() / (-self.weight).ln_1p()).floor();
        // Saturating: a skip past u64 is "never again" for any real report.
        self.next = self.seen.saturating_add(skip as u64).saturating_add(1);
    }

    /// Offers one key.
    pub fn offer(&mut self, key: &str) {
        self.seen += 1;
        if self.keys.len() < Self::SIZE {
            self.keys.push(key.to_string());
            if self.keys.len() == Self::SIZE {
                self.schedule();
            }
            return;
        }
        if self.seen < self.next {
            return;
        }
        let slot = (self.next_random() % Self::SIZE as u64) as usize;
        if let Some(k) = self.keys.get_mut(slot) {
            key.clone_into(k);
        }
        self.schedule();
    }

    /// Keys offered.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The sampled keys, sorted and without duplicates.
    pub fn sorted(mut self) -> Vec<String> {
        self.keys.sort_unstable();
        self.keys.dedup();
        self.keys
    }

    /// Up to `n - 1` increasing split points that cut the sampled key
    /// order into `n` slices of about equal size.
    pub fn split_points(self, n: usize) -> Vec<String> {
        let keys = self.sorted();
        let mut out: Vec<String> = Vec::new();
        for i in 1..n {
            let Some(k) = keys.get(i * keys.len() / n) else {
                break;
            };
            if out.last().is_none_or(|last| k > last) {
                out.push(k.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(a: Option<&str>, u: Option<&str>) -> KeyRange {
        KeyRange::new(a.map(String::from), u.map(String::from))
    }

    #[test]
    fn sampled_points_balance_an_unsorted_stream() {
        let mut s = KeySample::new();
        // 200,000 keys in a scrambled order: more than the sample holds.
        for i in 0..200_000u64 {
            s.offer(&format!("k{:06}", (i * 7919) % 200_000));
        }
        assert_eq!(s.seen(), 200_000);
        assert_points_near(&s.split_points(4), 3, 50_000, 2_000);
    }

    /// `points` ("k" and a number) are `n` and each within `tolerance` of
    /// its ideal place, a multiple of `step`.
    fn assert_points_near(points: &[String], n: usize, step: u64, tolerance: u64) {
        assert_eq!(points.len(), n);
        for (i, p) in points.iter().enumerate() {
            let at: u64 = p[1..].parse().unwrap();
            let ideal = (i as u64 + 1) * step;
            assert!(at.abs_diff(ideal) < tolerance, "{p} vs {ideal}");
        }
    }

    #[test]
    fn a_sorted_stream_is_sampled_evenly_to_its_end() {
        // Sorted order is where a skipping reservoir would show a bias: keys
        // late in the stream must keep their share of the sample.
        let mut s = KeySample::new();
        for i in 0..1_000_000u64 {
            s.offer(&format!("k{i:07}"));
        }
        assert_points_near(&s.split_points(10), 9, 100_000, 10_000);
    }

    #[test]
    fn balanced_points_from_out_of_order_chunks() {
        let mut r = SplitRecorder::new();
        // 4 chunks of 10, recorded out of order; the last one is unbounded.
        r.record(&span(Some("c"), Some("d")), 10);
        r.record(&span(None, Some("b")), 10);
        r.record(&span(Some("d"), None), 10);
        r.record(&span(Some("b"), Some("c")), 10);
        assert_eq!(r.clone().split_points(2), ["c"]);
        assert_eq!(r.clone().split_points(4), ["b", "c", "d"]);
        // More slices than chunks: fewer points, never duplicates.
        let pts = r.clone().split_points(10);
        assert!(pts.windows(2).all(|w| w[0] < w[1]), "{pts:?}");
        assert!(r.split_points(1).is_empty());
        assert!(SplitRecorder::new().split_points(4).is_empty());
    }

    #[test]
    fn skewed_chunks_still_balance() {
        let mut r = SplitRecorder::new();
        r.record(&span(None, Some("a")), 1);
        for (i, k) in ["h1", "h2", "h3", "h4", "h5", "h6"].iter().enumerate() {
            let after = if i == 0 {
                "a"
            } else {
                ["h1", "h2", "h3", "h4", "h5"][i - 1]
            };
            r.record(&span(Some(after), Some(k)), 100);
        }
        r.record(&span(Some("h6"), None), 1);
        assert_eq!(r.split_points(3), ["h2", "h4"]);
    }
}
