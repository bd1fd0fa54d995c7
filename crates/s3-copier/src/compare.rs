//! Comparing the two sides: mapping key spans between prefixes, and the
//! merge-join of two sorted listings of the same span.
//!
//! Both listings come from ListObjectsV2 in UTF-8 byte order, which is
//! Rust's `str` order, and replacing one prefix by another keeps that order,
//! so one pass over both lists finds every missing, different and extra key.

use mc_aws_common::listing::s3::ObjectEntry;
use mc_aws_common::listing::KeyRange;

/// Why a destination object does not count as a copy of the source one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Difference {
    Size,
    Etag,
    /// ETags cannot be compared (multipart), sizes match, but the destination is older.
    Older,
}

impl Difference {
    pub fn as_str(self) -> &'static str {
        match self {
            Difference::Size => "size",
            Difference::Etag => "etag",
            Difference::Older => "older",
        }
    }
}

/// One step of the merge-join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pair<'a> {
    /// At the source only.
    Missing(&'a ObjectEntry),
    /// On both sides but different.
    Different(&'a ObjectEntry, &'a ObjectEntry, Difference),
    /// On both sides, the same.
    Same(&'a ObjectEntry, &'a ObjectEntry),
    /// At the destination only.
    Extra(&'a ObjectEntry),
}

/// A multipart ETag (`<md5 of md5s>-<parts>`) is not an MD5 of the content,
/// and depends on the part size, so it cannot be compared with another ETag.
pub fn is_multipart_etag(etag: &str) -> bool {
    etag.contains('-')
}

/// Whether `dst` is a copy of `src`: same size, and the same ETag when both
/// are plain MD5s. When either ETag is a multipart one (a 6 GiB object copied
/// in parts of another size, or a multipart source copied with CopyObject),
/// the sizes decide, provided the destination is not older than the source.
pub fn compare(src: &ObjectEntry, dst: &ObjectEntry, size_only: bool) -> Option<Difference> {
    if src.size != dst.size {
        return Some(Difference::Size);
    }
    if size_only {
        return None;
    }
    if is_multipart_etag(&src.etag) || is_multipart_etag(&dst.etag) {
        return match (src.last_modified, dst.last_modified) {
            (Some(s), Some(d)) if d < s => Some(Difference::Older),
            _ => None,
        };
    }
    (src.etag != dst.etag).then_some(Difference::Etag)
}

/// Merge-joins two listings of the same span, each sorted by key; keys are
/// compared relative to their side's prefix.
pub fn merge_join<'a>(
    src: &'a [ObjectEntry],
    src_prefix: &str,
    dst: &'a [ObjectEntry],
    dst_prefix: &str,
    size_only: bool,
) -> Vec<Pair<'a>> {
    let rel = |k: &'a str, p: &str| -> &'a str { k.strip_prefix(p).unwrap_or(k) };
    let mut out = Vec::with_capacity(src.len().max(dst.len()));
    let (mut i, mut j) = (0, 0);
    while i < src.len() || j < dst.len() {
        match (src.get(i), dst.get(j)) {
            (Some(s), Some(d)) => match rel(&s.key, src_prefix).cmp(rel(&d.key, dst_prefix)) {
                std::cmp::Ordering::Less => {
                    out.push(Pair::Missing(s));
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(Pair::Extra(d));
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(match compare(s, d, size_only) {
                        Some(why) => Pair::Different(s, d, why),
                        None => Pair::Same(s, d),
                    });
                    i += 1;
                    j += 1;
                }
            },
            (Some(s), None) => {
                out.push(Pair::Missing(s));
                i += 1;
            }
            (None, Some(d)) => {
                out.push(Pair::Extra(d));
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// Where one bound of a source span falls in the destination's key space.
enum Mapped {
    Key(String),
    /// Before every key under the source prefix.
    Below,
    /// After every key under the source prefix.
    Above,
}

fn map_bound(bound: &str, src_prefix: &str, dst_prefix: &str) -> Mapped {
    match bound.strip_prefix(src_prefix) {
        Some(rest) => Mapped::Key(format!("{dst_prefix}{rest}")),
        None if bound < src_prefix => Mapped::Below,
        None => Mapped::Above,
    }
}

/// The destination span holding the copies of the keys of source span
/// `span`, or `None` when no key under the prefix can fall in it.
pub fn map_span(span: &KeyRange, src_prefix: &str, dst_prefix: &str) -> Option<KeyRange> {
    let after = match span
        .after
        .as_deref()
        .map(|a| map_bound(a, src_prefix, dst_prefix))
    {
        None | Some(Mapped::Below) => None,
        Some(Mapped::Key(k)) => Some(k),
        Some(Mapped::Above) => return None,
    };
    let upto = match span
        .upto
        .as_deref()
        .map(|u| map_bound(u, src_prefix, dst_prefix))
    {
        None | Some(Mapped::Above) => None,
        Some(Mapped::Key(k)) => Some(k),
        Some(Mapped::Below) => return None,
    };
    let mapped = KeyRange::new(after, upto);
    (!mapped.is_empty()).then_some(mapped)
}

/// The part of `a` inside `b`, if any.
pub fn intersect(a: &KeyRange, b: &KeyRange) -> Option<KeyRange> {
    let after = match (&a.after, &b.after) {
        (None, x) | (x, None) => x.clone(),
        (Some(x), Some(y)) => Some(x.max(y).clone()),
    };
    let upto = match (&a.upto, &b.upto) {
        (None, x) | (x, None) => x.clone(),
        (Some(x), Some(y)) => Some(x.min(y).clone()),
    };
    let r = KeyRange::new(after, upto);
    (!r.is_empty()).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn e(key: &str, size: u64, etag: &str) -> ObjectEntry {
        ObjectEntry {
            key: key.into(),
            size,
            etag: etag.into(),
            storage_class: None,
            last_modified: Some(100),
        }
    }

    #[test]
    fn joins_missing_different_same_extra() {
        let src = vec![
            e("s/a", 1, "x"),
            e("s/b", 2, "y"),
            e("s/c", 3, "z"),
            e("s/e", 1, "q"),
        ];
        let dst = vec![
            e("d/b", 2, "y"),
            e("d/c", 4, "z"),
            e("d/d", 1, "w"),
            e("d/e", 1, "r"),
        ];
        let out = merge_join(&src, "s/", &dst, "d/", false);
        let kinds: Vec<String> = out
            .iter()
            .map(|p| match p {
                Pair::Missing(s) => format!("missing {}", s.key),
                Pair::Different(s, _, why) => format!("different {} {}", s.key, why.as_str()),
                Pair::Same(s, _) => format!("same {}", s.key),
                Pair::Extra(d) => format!("extra {}", d.key),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "missing s/a",
                "same s/b",
                "different s/c size",
                "extra d/d",
                "different s/e etag"
            ]
        );
        // --size-only ignores the ETag.
        let out = merge_join(&src[3..], "s/", &dst[3..], "d/", true);
        assert!(matches!(out[0], Pair::Same(..)));
    }

    #[test]
    fn multipart_etags_fall_back_to_size_and_age() {
        let s = e("k", 10, "abc-3");
        let mut d = e("k", 10, "def");
        assert_eq!(compare(&s, &d, false), None);
        d.last_modified = Some(50);
        assert_eq!(compare(&s, &d, false), Some(Difference::Older));
        d.size = 11;
        assert_eq!(compare(&s, &d, false), Some(Difference::Size));
    }

    #[test]
    fn spans_map_through_prefixes() {
        let r =
            |a: Option<&str>, u: Option<&str>| KeyRange::new(a.map(Into::into), u.map(Into::into));
        assert_eq!(
            map_span(&r(Some("src/a"), Some("src/m")), "src/", "dst/x/"),
            Some(r(Some("dst/x/a"), Some("dst/x/m")))
        );
        assert_eq!(
            map_span(&r(None, None), "src/", "dst/"),
            Some(r(None, None))
        );
        // Bounds outside the source prefix: below it, above it.
        assert_eq!(
            map_span(&r(Some("a"), Some("src/c")), "src/", ""),
            Some(r(None, Some("c")))
        );
        assert_eq!(
            map_span(&r(Some("src/c"), Some("zzz")), "src/", "d/"),
            Some(r(Some("d/c"), None))
        );
        assert_eq!(map_span(&r(Some("zzz"), None), "src/", "d/"), None);
        assert_eq!(map_span(&r(None, Some("a")), "src/", "d/"), None);
    }

    #[test]
    fn intersections() {
        let r =
            |a: Option<&str>, u: Option<&str>| KeyRange::new(a.map(Into::into), u.map(Into::into));
        assert_eq!(
            intersect(&r(None, Some("m")), &r(Some("c"), None)),
            Some(r(Some("c"), Some("m")))
        );
        assert_eq!(intersect(&r(None, Some("c")), &r(Some("m"), None)), None);
        assert_eq!(
            intersect(&r(None, None), &r(None, None)),
            Some(r(None, None))
        );
    }

    fn keys() -> impl Strategy<Value = BTreeMap<String, (u64, u8)>> {
        proptest::collection::btree_map("[a-c/ é日+%]{0,6}", (0u64..3, 0u8..3), 0..40)
    }

    proptest! {
        /// The merge-join classifies every key exactly as a map lookup would.
        #[test]
        fn merge_join_matches_a_map_lookup(src in keys(), dst in keys()) {
            let entries = |m: &BTreeMap<String, (u64, u8)>, p: &str| -> Vec<ObjectEntry> {
                m.iter().map(|(k, (s, t))| e(&format!("{p}{k}"), *s, &t.to_string())).collect()
            };
            let (s, d) = (entries(&src, "from/"), entries(&dst, "to/x/"));
            let out = merge_join(&s, "from/", &d, "to/x/", false);
            let mut seen = 0;
            for p in &out {
                match p {
                    Pair::Missing(x) => { prop_assert!(!dst.contains_key(&x.key["from/".len()..])); seen += 1; }
                    Pair::Extra(x) => prop_assert!(!src.contains_key(&x.key["to/x/".len()..])),
                    Pair::Same(x, _) => { prop_assert_eq!(src.get(&x.key["from/".len()..]), dst.get(&x.key["from/".len()..])); seen += 1; }
                    Pair::Different(x, _, _) => { prop_assert_ne!(src.get(&x.key["from/".len()..]), dst.get(&x.key["from/".len()..])); seen += 1; }
                }
            }
            prop_assert_eq!(seen, src.len());
            prop_assert_eq!(out.len(), src.len() + dst.keys().filter(|k| !src.contains_key(*k)).count());
        }

        /// A key is in a source span exactly when its copy is in the mapped span.
        #[test]
        fn mapped_spans_hold_exactly_the_copies(key in "[a-c/é]{0,5}", a in proptest::option::of("[a-c/é]{0,5}"), u in proptest::option::of("[a-c/é]{0,5}")) {
            let span = KeyRange::new(a.map(|x| format!("p/{x}")), u.map(|x| format!("p/{x}")));
            let src_key = format!("p/{key}");
            let dst_key = format!("q/r/{key}");
            let inside = span.contains(&src_key);
            let mapped = map_span(&span, "p/", "q/r/");
            prop_assert_eq!(inside, mapped.is_some_and(|m| m.contains(&dst_key)));
        }
    }
}
