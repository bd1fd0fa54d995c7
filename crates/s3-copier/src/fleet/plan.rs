//! How `sync --publish-ranges` cuts the source key space into ranges: by
//! default from one listing of the source (the parallel lister's chunks,
//! whose spans partition the key space, summed in key order and cut where a
//! range reaches `--range-keys` keys or `--range-bytes` bytes); or at the
//! points of a splits file (`--range-splits`, e.g. `s3-key-counter
//! --emit-splits N`, from an inventory for billions of keys); or evenly over
//! the fixed alphabet `--shard` uses without one (`--ranges N`, no listing).
//! Either way the ranges are `(None, p0], (p0, p1], ..., (pN, None)`: they
//! partition the key space, so every key is in exactly one.

use std::path::Path;

use mc_aws_common::cli::{Shard, ThrottleArgs};
use mc_aws_common::error::ToolError;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::listing::{even_points, splits_file, KeyRange};
use mc_aws_common::output::OutputArgs;
use mc_aws_common::twosided::Side;

/// Where the cut points come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut<'a> {
    /// Split points from a file (one range more than points).
    Splits(&'a Path),
    /// This many ranges, evenly over the fixed alphabet.
    Even(u32),
    /// From a listing: ranges of at most about this many keys or bytes.
    Listed { keys: u64, bytes: u64 },
}

/// The ranges of `cut` under the source folder `prefix`; `None` for
/// [`Cut::Listed`], which [`listed`] answers once the source is connected.
pub fn ranges(prefix: &str, cut: &Cut<'_>) -> Result<Option<Vec<KeyRange>>, ToolError> {
    let points = match cut {
        Cut::Splits(path) => {
            let points = splits_file::read_points(path).map_err(ToolError::from)?;
            // The shard check of a file for as many slices as it makes:
            // increasing points, each under the source folder.
            let slices = Shard {
                index: 0,
                count: points.len() as u32 + 1,
            };
            splits_file::check_for_shard(&points, path, slices, prefix)?;
            points
        }
        Cut::Even(n) => even_points(prefix, *n as usize),
        Cut::Listed { .. } => return Ok(None),
    };
    Ok(Some(between(points)))
}

/// What one listed chunk held.
#[derive(Debug, Clone)]
struct Tally {
    span: KeyRange,
    keys: u64,
    bytes: u64,
}

/// Lists the source once and cuts it into ranges of at most about `keys`
/// keys or `bytes` bytes (a range ends with the chunk that reaches either,
/// so it may hold one listing page more). Memory: one small record per
/// page of 1,000 keys. `None` when a signal stopped the listing.
pub async fn listed(
    source: &Side,
    throttle: &ThrottleArgs,
    page_size: i32,
    (keys, bytes): (u64, u64),
    (out, stop): (&OutputArgs, &Interrupt),
) -> Result<Option<Vec<KeyRange>>, ToolError> {
    let (mut listing, _) = source.chunks(None, throttle, page_size);
    let bar = out.progress(None, "listed to cut ranges");
    let mut tallies = Vec::new();
    loop {
        let chunk = tokio::select! {
            _ = stop.wait() => return Ok(None),
            c = listing.next() => c,
        };
        let Some(chunk) = chunk else { break };
        let chunk = chunk?;
        bar.inc(chunk.items.len() as u64);
        tallies.push(Tally {
            keys: chunk.items.len() as u64,
            bytes: chunk.items.iter().map(|e| e.size).sum(),
            span: chunk.span,
        });
    }
    bar.finish_and_clear();
    Ok(Some(between(cut_points(tallies, keys, bytes))))
}

/// The points that end a range wherever the keys or bytes summed in key
/// order since the last point reach `keys` or `bytes`.
fn cut_points(mut tallies: Vec<Tally>, keys: u64, bytes: u64) -> Vec<String> {
    // Spans partition the key space: ordered by their lower ends (the
    // start, `None`, first), each one's end is the next one's start.
    tallies.sort_by(|a, b| a.span.after.cmp(&b.span.after));
    let (mut k, mut b) = (0u64, 0u64);
    let mut points = Vec::new();
    for t in tallies {
        k += t.keys;
        b += t.bytes;
        if k >= keys.max(1) || b >= bytes.max(1) {
            if let Some(end) = t.span.upto {
                points.push(end);
                (k, b) = (0, 0);
            }
        }
    }
    points
}

/// The ranges between increasing `points`, from the start to the end.
fn between(points: Vec<String>) -> Vec<KeyRange> {
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut after = None;
    for p in points {
        out.push(KeyRange::new(after.take(), Some(p.clone())));
        after = Some(p);
    }
    out.push(KeyRange::new(after, None));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn even_ranges_cover_the_prefix() {
        let r = ranges("logs/", &Cut::Even(16)).unwrap().unwrap();
        assert_eq!(r.len(), 16);
        assert_eq!(r[0].after, None);
        assert_eq!(r[15].upto, None);
        assert!(r[1..]
            .iter()
            .all(|x| x.after.as_deref().unwrap().starts_with("logs/")));
        assert_eq!(
            ranges("", &Cut::Even(1)).unwrap().unwrap(),
            [KeyRange::all()]
        );
        let listed = Cut::Listed { keys: 1, bytes: 1 };
        assert_eq!(ranges("", &listed).unwrap(), None);
    }

    #[test]
    fn splits_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("splits");
        std::fs::write(&path, "a/1\na/5\n").unwrap();
        let r = ranges("a/", &Cut::Splits(&path)).unwrap().unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1], KeyRange::new(Some("a/1".into()), Some("a/5".into())));
        assert!(
            ranges("b/", &Cut::Splits(&path)).is_err(),
            "points outside the folder"
        );
        let missing = ranges("", &Cut::Splits(&dir.path().join("nope"))).unwrap_err();
        assert_eq!(missing.exit_code(), 3);
    }

    fn tally(after: Option<&str>, upto: Option<&str>, keys: u64, bytes: u64) -> Tally {
        Tally {
            span: KeyRange::new(after.map(Into::into), upto.map(Into::into)),
            keys,
            bytes,
        }
    }

    #[test]
    fn listed_spans_are_cut_by_keys_or_bytes_in_key_order() {
        let t = vec![
            tally(Some("c"), Some("e"), 600, 10),
            tally(None, Some("c"), 600, 10),
            tally(Some("e"), Some("g"), 10, 5_000),
            tally(Some("g"), None, 600, 10),
        ];
        // 1,000 keys or 1,000 bytes a range: "c" and "e" reach the keys, "g" the bytes.
        assert_eq!(cut_points(t.clone(), 1_000, 1_000), ["e", "g"]);
        assert_eq!(cut_points(t.clone(), 500, u64::MAX), ["c", "e"]);
        assert!(cut_points(t, 10_000, u64::MAX).is_empty(), "one range");
    }

    proptest! {
        /// Cut points of spans that partition the key space are increasing,
        /// and each ends a span: the ranges between them partition it too.
        #[test]
        fn cut_points_increase_and_end_spans(
            mut ends in proptest::collection::btree_set("[a-c]{1,3}", 0..12),
            counts in proptest::collection::vec(0u64..50, 13),
            keys in 1u64..100,
        ) {
            let ends: Vec<String> = std::mem::take(&mut ends).into_iter().collect();
            let mut spans = Vec::new();
            let mut after = None;
            for (i, e) in ends.iter().enumerate() {
                spans.push(tally(after.as_deref(), Some(e), counts[i], 0));
                after = Some(e.clone());
            }
            spans.push(tally(after.as_deref(), None, counts[12], 0));
            spans.reverse();
            let points = cut_points(spans, keys, u64::MAX);
            prop_assert!(points.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(points.iter().all(|p| ends.contains(p)));
        }

        /// Every key is in exactly one range, whatever the points.
        #[test]
        fn ranges_partition_the_key_space(
            points in proptest::collection::btree_set("[a-c/é]{1,4}", 0..12),
            keys in proptest::collection::vec("[a-c/é]{0,5}", 0..40),
        ) {
            let r = between(points.into_iter().collect());
            for k in &keys {
                prop_assert_eq!(r.iter().filter(|x| x.contains(k)).count(), 1, "{}", k);
            }
        }
    }
}
