//! Key ranges `(after, upto]` and sets of them (checkpoints).

use serde::{Deserialize, Serialize};

/// Keys `k` with `after < k <= upto`; `None` means unbounded on that side
/// (the start or the end of the listed prefix). The open lower end makes a
/// split at `m` simply `(after, m]` + `(m, upto]`, and the second half is
/// listed with `StartAfter = m`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct KeyRange {
    pub after: Option<String>,
    pub upto: Option<String>,
}

impl KeyRange {
    /// The whole key space.
    pub fn all() -> Self {
        Self::default()
    }

    pub fn new(after: Option<String>, upto: Option<String>) -> Self {
        Self { after, upto }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.after.as_deref().is_none_or(|a| key > a)
            && self.upto.as_deref().is_none_or(|u| key <= u)
    }

    /// Whether the range can hold any key at all.
    pub fn is_empty(&self) -> bool {
        matches!((&self.after, &self.upto), (Some(a), Some(u)) if a >= u)
    }
}

/// Compares lower bounds, `None` (the start) first.
fn lower_cmp(a: &Option<String>, b: &Option<String>) -> std::cmp::Ordering {
    match (a, b) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, _) => std::cmp::Ordering::Less,
        (_, None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y),
    }
}

/// `upper >= lower` where `upper = None` is the end and `lower = None` the start.
fn reaches(upper: &Option<String>, lower: &Option<String>) -> bool {
    match (upper, lower) {
        (None, _) | (_, None) => true,
        (Some(u), Some(l)) => u >= l,
    }
}

/// A set of disjoint ranges, kept merged: the finished part of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeSet {
    ranges: Vec<KeyRange>,
}

impl RangeSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn ranges(&self) -> &[KeyRange] {
        &self.ranges
    }

    /// Adds a range, merging it with touching or overlapping neighbours.
    pub fn insert(&mut self, range: KeyRange) {
        if range.is_empty() {
            return;
        }
        let pos = self
            .ranges
            .partition_point(|r| lower_cmp(&r.after, &range.after).is_lt());
        self.ranges.insert(pos, range);
        // Merge around the insertion point (the set was merged before).
        let mut i = pos.saturating_sub(1);
        while i + 1 < self.ranges.len() {
            if reaches(&self.ranges[i].upto, &self.ranges[i + 1].after) {
                let next = self.ranges.remove(i + 1);
                let cur = &mut self.ranges[i];
                cur.upto = match (cur.upto.take(), next.upto) {
                    (None, _) | (_, None) => None,
                    (Some(a), Some(b)) => Some(a.max(b)),
                };
            } else if i > pos {
                break;
            } else {
                i += 1;
            }
        }
    }

    /// Whether the set covers the whole key space.
    pub fn is_complete(&self) -> bool {
        matches!(
            self.ranges.as_slice(),
            [KeyRange {
                after: None,
                upto: None
            }]
        )
    }

    /// The ranges not in the set: what is left to list.
    pub fn complement(&self) -> Vec<KeyRange> {
        let mut out = Vec::new();
        let mut cursor: Option<Option<String>> = Some(None); // Some(lower bound of the next gap)
        for r in &self.ranges {
            if let Some(lower) = cursor.take() {
                if r.after.is_some() {
                    let gap = KeyRange::new(lower, r.after.clone());
                    if !gap.is_empty() {
                        out.push(gap);
                    }
                }
            }
            cursor = r.upto.clone().map(Some);
        }
        if let Some(lower) = cursor {
            out.push(KeyRange::new(lower, None));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: Option<&str>, u: Option<&str>) -> KeyRange {
        KeyRange::new(a.map(String::from), u.map(String::from))
    }

    #[test]
    fn contains_is_exclusive_below_inclusive_above() {
        let x = r(Some("b"), Some("d"));
        assert!(!x.contains("b"));
        assert!(x.contains("c"));
        assert!(x.contains("d"));
        assert!(!x.contains("d0"));
        assert!(KeyRange::all().contains(""));
    }

    #[test]
    fn merges_and_complements() {
        let mut s = RangeSet::new();
        assert_eq!(s.complement(), vec![KeyRange::all()]);
        s.insert(r(Some("m"), Some("p")));
        s.insert(r(None, Some("c")));
        assert_eq!(
            s.complement(),
            vec![r(Some("c"), Some("m")), r(Some("p"), None)]
        );
        s.insert(r(Some("c"), Some("m")));
        assert_eq!(s.ranges(), &[r(None, Some("p"))]);
        s.insert(r(Some("p"), None));
        assert!(s.is_complete());
        assert!(s.complement().is_empty());
    }

    #[test]
    fn out_of_order_inserts_merge() {
        let mut s = RangeSet::new();
        for (a, u) in [("e", "f"), ("a", "b"), ("c", "d"), ("b", "c"), ("d", "e")] {
            s.insert(r(Some(a), Some(u)));
        }
        assert_eq!(s.ranges(), &[r(Some("a"), Some("f"))]);
    }
}
