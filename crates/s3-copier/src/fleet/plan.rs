//! How `sync --publish-ranges` cuts the source key space into ranges: at
//! the points of a splits file (`--range-splits`, e.g. `s3-key-counter
//! --emit-splits N`: ranges of equal key counts), or evenly over the fixed
//! alphabet `--shard` uses without one (`--ranges N`). Either way the ranges
//! are `(None, p0], (p0, p1], ..., (pN, None)`: they partition the key space,
//! so every key is in exactly one.

use std::path::Path;

use mc_aws_common::cli::Shard;
use mc_aws_common::error::ToolError;
use mc_aws_common::listing::{even_points, splits_file, KeyRange};

/// Where the cut points come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut<'a> {
    /// Split points from a file (one range more than points).
    Splits(&'a Path),
    /// This many ranges, evenly over the fixed alphabet.
    Even(u32),
}

/// The ranges of `cut` under the source folder `prefix`.
pub fn ranges(prefix: &str, cut: &Cut<'_>) -> Result<Vec<KeyRange>, ToolError> {
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
    };
    Ok(between(points))
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
        let r = ranges("logs/", &Cut::Even(16)).unwrap();
        assert_eq!(r.len(), 16);
        assert_eq!(r[0].after, None);
        assert_eq!(r[15].upto, None);
        assert!(r[1..]
            .iter()
            .all(|x| x.after.as_deref().unwrap().starts_with("logs/")));
        assert_eq!(ranges("", &Cut::Even(1)).unwrap(), [KeyRange::all()]);
    }

    #[test]
    fn splits_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("splits");
        std::fs::write(&path, "a/1\na/5\n").unwrap();
        let r = ranges("a/", &Cut::Splits(&path)).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1], KeyRange::new(Some("a/1".into()), Some("a/5".into())));
        assert!(
            ranges("b/", &Cut::Splits(&path)).is_err(),
            "points outside the folder"
        );
        let missing = ranges("", &Cut::Splits(&dir.path().join("nope"))).unwrap_err();
        assert_eq!(missing.exit_code(), 3);
    }

    proptest! {
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
