//! Choosing split points between two keys, in the alphabet actually seen.
//!
//! A string over an alphabet of `B` characters maps to a fraction in base `B`
//! (digit `i` = the i-th character), which preserves S3's order (UTF-8 byte
//! order = code point order) up to ties between strings that differ only by
//! trailing smallest characters. Splitting a range is then arithmetic on the
//! first digits after the common prefix of its ends, rounded to the shortest
//! string near the target, and every candidate is checked against the real
//! string order. Using only characters observed in real keys keeps splits out of
//! empty parts of the key space (halving toward U+10FFFF would waste round
//! trips), and an unbounded end is "the prefix followed by the largest
//! observed character, forever".

use std::collections::BTreeSet;

use crate::cli::Shard;

use super::KeyRange;

/// The characters seen in keys so far.
#[derive(Debug, Clone, Default)]
pub struct Alphabet {
    ascii: u128,
    other: BTreeSet<char>,
}

impl Alphabet {
    pub fn new() -> Self {
        Self::default()
    }

    /// An alphabet of the given characters.
    pub fn of(s: &str) -> Self {
        let mut a = Self::new();
        a.add(s);
        a
    }

    pub fn add(&mut self, s: &str) {
        if s.is_ascii() {
            for b in s.bytes() {
                self.ascii |= 1u128 << b;
            }
        } else {
            for c in s.chars() {
                if c.is_ascii() {
                    self.ascii |= 1u128 << (c as u32);
                } else {
                    self.other.insert(c);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ascii == 0 && self.other.is_empty()
    }

    /// Sorted characters (ASCII sorts before everything else in code point order).
    fn chars(&self) -> Vec<char> {
        let mut v: Vec<char> = (0u8..128)
            .filter(|b| self.ascii & (1u128 << b) != 0)
            .map(char::from)
            .collect();
        v.extend(self.other.iter().copied());
        v
    }
}

/// Digits of a string; every char must be in `chars`.
fn digits(s: &str, chars: &[char]) -> Vec<u128> {
    s.chars()
        .map(|c| chars.binary_search(&c).map_or(0, |i| i as u128))
        .collect()
}

struct Frame {
    /// The characters both ends share.
    common: String,
    base: u128,
    width_digits: u32,
    lo: u128,
    hi: u128,
    chars: Vec<char>,
}

/// Sets up the arithmetic for the range `(lo, hi)` under `prefix`
/// (`after = None` means the prefix itself, `upto = None` the end of the prefix).
fn frame(prefix: &str, range: &KeyRange, alphabet: &Alphabet) -> Frame {
    let lo = range.after.as_deref().unwrap_or(prefix);
    let mut a = alphabet.clone();
    a.add(lo);
    a.add(prefix);
    if let Some(u) = &range.upto {
        a.add(u);
    }
    if a.is_empty() || a.chars().len() < 2 {
        // Nothing seen yet: assume printable ASCII.
        a.add(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");
    }
    let chars = a.chars();
    let base = chars.len() as u128;
    // As many digits as fit in u120, so sums and steps never overflow u128.
    let width_digits = ((120.0 / (base as f64).log2()).floor() as u32).max(2);
    let lo_d = digits(lo, &chars);
    let (common_len, hi_d): (usize, Option<Vec<u128>>) = match &range.upto {
        Some(u) => {
            let hi_d = digits(u, &chars);
            let l = lo_d.iter().zip(&hi_d).take_while(|(a, b)| a == b).count();
            (l, Some(hi_d))
        }
        None => {
            let p = digits(prefix, &chars);
            (
                lo_d.iter().zip(&p).take_while(|(a, b)| a == b).count(),
                None,
            )
        }
    };
    let value = |d: &[u128]| -> u128 {
        (0..width_digits as usize).fold(0u128, |acc, i| {
            acc * base + d.get(common_len + i).copied().unwrap_or(0)
        })
    };
    let lo_v = value(&lo_d);
    let hi_v = match &hi_d {
        Some(h) => value(h),
        None => base.pow(width_digits),
    };
    Frame {
        common: lo.chars().take(common_len).collect(),
        base,
        width_digits,
        lo: lo_v,
        hi: hi_v,
        chars,
    }
}

impl Frame {
    /// The string for digit value `v` (after the common part), trailing
    /// smallest characters trimmed since they do not change the value.
    fn render(&self, v: u128) -> String {
        let mut ds = Vec::with_capacity(self.width_digits as usize);
        let mut x = v;
        for _ in 0..self.width_digits {
            ds.push(x % self.base);
            x /= self.base;
        }
        while ds.first() == Some(&0) {
            ds.remove(0);
        }
        let mut s = self.common.clone();
        s.extend(ds.iter().rev().map(|&d| self.chars[d as usize]));
        s
    }

    /// Candidates near `target`, shortest first: `target` rounded down and up
    /// to 1, 2, ... digits, within `tolerance`, then `target` itself.
    fn near(&self, target: u128, tolerance: u128) -> impl Iterator<Item = String> + '_ {
        (1..=self.width_digits)
            .flat_map(move |p| {
                let unit = self.base.pow(self.width_digits - p);
                let down = target / unit * unit;
                [down, down + unit]
            })
            .filter(move |&c| {
                c.abs_diff(target) <= tolerance && c < self.base.pow(self.width_digits)
            })
            .chain(std::iter::once(target))
            .map(|c| self.render(c))
    }

    /// Natural log of the range's width as a fraction of the key space.
    fn log_width(&self) -> f64 {
        let span = self.hi.saturating_sub(self.lo).max(1) as f64;
        let per_digit = (self.base as f64).ln();
        span.ln() - per_digit * (self.width_digits as f64 + self.common.chars().count() as f64)
    }
}

/// Up to `n - 1` increasing split points strictly inside `range` (and inside
/// the prefix), evenly spaced in the alphabet's digit space.
pub fn split_n(prefix: &str, range: &KeyRange, alphabet: &Alphabet, n: usize) -> Vec<String> {
    let fractions: Vec<f64> = (1..n).map(|i| i as f64 / n as f64).collect();
    split_at(prefix, range, alphabet, &fractions)
}

/// Split points at these increasing fractions (in `(0, 1)`) of `range`'s
/// width in the alphabet's digit space; points that fall on no distinct key
/// are left out.
pub fn split_at(
    prefix: &str,
    range: &KeyRange,
    alphabet: &Alphabet,
    fractions: &[f64],
) -> Vec<String> {
    let f = frame(prefix, range, alphabet);
    let span = f.hi.saturating_sub(f.lo);
    let lo_key = range.after.as_deref();
    let mut out: Vec<String> = Vec::with_capacity(fractions.len());
    let mut prev = f.lo;
    for &frac in fractions {
        // f64 keeps 53 bits: plenty for a split point, which need not be exact.
        let target = f.lo + (span as f64 * frac.clamp(0.0, 1.0)) as u128;
        let gap = target.saturating_sub(prev);
        if gap == 0 {
            continue;
        }
        prev = target;
        let chosen = f.near(target, gap / 4).find(|c| {
            let above = lo_key.is_none_or(|l| c.as_str() > l) && out.last().is_none_or(|p| c > p);
            let below = range.upto.as_deref().is_none_or(|u| c.as_str() < u);
            above && below && c.starts_with(prefix) && c.as_str() != prefix
        });
        if let Some(c) = chosen {
            out.push(c);
        }
    }
    out
}

/// Natural log of the width of `range` as a fraction of the key space: larger is wider.
pub(crate) fn log_width(prefix: &str, range: &KeyRange, alphabet: &Alphabet) -> f64 {
    frame(prefix, range, alphabet).log_width()
}

/// The fixed alphabet for `--shard` without a splits file: every machine must
/// compute the same split points without seeing any key.
const SHARD_ALPHABET: &str = "-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// The split points that cut the key space under `prefix` into `n` slices
/// evenly over the fixed alphabet of `--shard` without a splits file (fewer
/// when the alphabet runs out of distinct keys): the same points on every
/// machine, without seeing any key.
pub fn even_points(prefix: &str, n: usize) -> Vec<String> {
    split_n(prefix, &KeyRange::all(), &Alphabet::of(SHARD_ALPHABET), n)
}

/// The range of shard `i` of `N` under `prefix`: `N` slices of the key space
/// split evenly over a fixed alphabet (or over `splits`, N - 1 sorted keys,
/// when given, e.g. from `s3-key-counter --emit-splits`).
pub fn shard_ranges(prefix: &str, shard: Shard, splits: Option<&[String]>) -> KeyRange {
    let points: Vec<String> = match splits {
        Some(s) => s.to_vec(),
        None => even_points(prefix, shard.count as usize),
    };
    let i = shard.index as usize;
    let after = if i == 0 {
        None
    } else {
        points.get(i - 1).cloned()
    };
    let upto = points.get(i).cloned();
    // If fewer points exist than shards (tiny alphabets, small buckets), the
    // extra shards get an empty range (with no points at all, shard 0 gets
    // everything; `(None, None)` would be everything again).
    if i > points.len() {
        let last = points.last().cloned().unwrap_or_else(|| prefix.to_string());
        return KeyRange::new(Some(last.clone()), Some(last));
    }
    KeyRange::new(after, upto)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn range(a: Option<&str>, u: Option<&str>) -> KeyRange {
        KeyRange::new(a.map(String::from), u.map(String::from))
    }

    #[test]
    fn splits_hex_space_evenly() {
        let pts = split_n("", &KeyRange::all(), &Alphabet::of("0123456789abcdef"), 16);
        assert_eq!(
            pts,
            ["1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        );
    }

    #[test]
    fn splits_stay_inside_the_prefix_and_range() {
        let a = Alphabet::of("hot/0123456789");
        let pts = split_n("hot/", &range(Some("hot/1234"), None), &a, 4);
        assert!(!pts.is_empty());
        for p in &pts {
            assert!(p.starts_with("hot/") && p.as_str() > "hot/1234", "{p}");
        }
        let pts = split_n("", &range(Some("ab"), Some("ab0")), &Alphabet::of("ab0"), 2);
        assert!(
            pts.iter().all(|p| p.as_str() > "ab" && p.as_str() < "ab0"),
            "{pts:?}"
        );
    }

    #[test]
    fn no_split_between_adjacent_keys() {
        // Nothing lies strictly between "a" and "a" + the smallest character.
        assert!(split_n("", &range(Some("a"), Some("a0")), &Alphabet::of("a0"), 2).is_empty());
    }

    #[test]
    fn wider_ranges_have_larger_width() {
        let a = Alphabet::of("abcdefghijklmnopqrstuvwxyz");
        assert!(
            log_width("", &range(Some("a"), Some("z")), &a)
                > log_width("", &range(Some("a"), Some("c")), &a)
        );
        assert!(
            log_width("", &range(Some("a"), None), &a)
                > log_width("", &range(Some("aa"), Some("ab")), &a)
        );
    }

    #[test]
    fn shards_partition_the_space() {
        let n = 7;
        let mut prev_upto = None;
        for i in 0..n {
            let r = shard_ranges("", Shard { index: i, count: n }, None);
            assert_eq!(r.after, prev_upto);
            prev_upto = r.upto.clone();
        }
        assert_eq!(prev_upto, None);
    }

    proptest! {
        /// Any splits file with at most N - 1 points (fewer when the bucket
        /// was small) gives each key to exactly one of the N shards.
        #[test]
        fn shards_from_a_splits_file_cover_each_key_once(
            points in proptest::collection::btree_set("p/[a-d]{0,3}", 0..5),
            keys in proptest::collection::vec("p/[a-e]{0,4}", 0..40),
            extra in 1u32..4,
        ) {
            let points: Vec<String> = points.into_iter().collect();
            let count = points.len() as u32 + extra;
            for key in &keys {
                let owners = (0..count)
                    .filter(|&index| {
                        shard_ranges("p/", Shard { index, count }, Some(&points)).contains(key)
                    })
                    .count();
                prop_assert_eq!(owners, 1, "{} with {:?}", key, points);
            }
        }

        #[test]
        fn split_points_are_strictly_inside(
            lo in proptest::option::of("[a-c\u{e9}\u{65e5}\u{1F600}/]{0,6}"),
            hi in proptest::option::of("[a-c\u{e9}\u{65e5}\u{1F600}/]{0,6}"),
            seen in "[a-z0-9/\u{e9}]{0,10}",
            n in 2usize..70,
        ) {
            let r = KeyRange::new(lo.clone(), hi.clone());
            prop_assume!(!r.is_empty());
            let pts = split_n("", &r, &Alphabet::of(&seen), n);
            prop_assert!(pts.len() < n);
            for w in pts.windows(2) {
                prop_assert!(w[0] < w[1]);
            }
            for p in &pts {
                prop_assert!(lo.as_deref().is_none_or(|l| p.as_str() > l));
                prop_assert!(hi.as_deref().is_none_or(|h| p.as_str() < h));
            }
        }
    }
}
