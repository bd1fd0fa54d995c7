//! Parallel listing of one S3 prefix: every key exactly once, close to the
//! fastest S3 allows (see `shared/design/sharded-listing.md` in the project
//! history, and ARCHITECTURE.md).
//!
//! Work is a set of key ranges `(after, upto]`. Each cursor lists its range
//! with `StartAfter = after` and stops at `upto`. An idle cursor takes over
//! half of the busiest range (split between its current position and its
//! end), so no prior knowledge of the key distribution is needed. The engine
//! ([`sharded`]) is generic over a "list one page" interface ([`PageSource`])
//! so it is property-tested in memory; [`s3`] implements it for S3.
//!
//! The lister yields [`Chunk`]s: the keys of one page together with the span
//! of the key space they cover. Spans of all chunks partition the listed
//! space, which lets a consumer (a) compare the same span of another bucket
//! (merge-join, constant memory) and (b) checkpoint finished spans in a
//! [`RangeSet`] and resume without re-listing them.

mod entry;
#[cfg(feature = "aws")]
mod fast_list;
#[cfg(feature = "aws")]
pub mod fast_xml;
mod range;
pub mod s3;
mod sharded;
mod split_points;
pub mod splits_file;
pub mod versions;

#[cfg(feature = "inventory")]
pub(crate) use entry::rfc3339_secs;
pub use entry::{storage_class, Detail, ObjectEntry};
pub use range::{KeyRange, RangeSet};
pub use sharded::{list, Chunk, ListOptions, Listing, Page, PageSource};
pub use split_points::{even_points, shard_ranges, split_n, Alphabet};

/// The longest prefix every key in `(after, upto]` must start with: `base`
/// (the listing's prefix), or the longer prefix both ends share, since any
/// string between two strings shares their common prefix. Listing with it
/// keeps a page from carrying keys past the range's end.
pub fn narrowed_prefix(base: &str, after: Option<&str>, upto: Option<&str>) -> String {
    let (Some(a), Some(u)) = (after, upto) else {
        return base.to_string();
    };
    let common = a
        .char_indices()
        .zip(u.chars())
        .take_while(|((_, x), y)| x == y)
        .last()
        .map_or(0, |((i, c), _)| i + c.len_utf8());
    let shared = &a[..common];
    if shared.len() > base.len() && shared.starts_with(base) {
        shared.to_string()
    } else {
        base.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::narrowed_prefix;

    #[test]
    fn narrows_to_what_both_ends_share() {
        assert_eq!(narrowed_prefix("", Some("3f/abc"), Some("3f/xyz")), "3f/");
        assert_eq!(narrowed_prefix("3f/", Some("3f/a"), Some("3f/b")), "3f/");
        assert_eq!(narrowed_prefix("p/", None, Some("p/zz")), "p/");
        assert_eq!(narrowed_prefix("p/", Some("p/a"), None), "p/");
        assert_eq!(narrowed_prefix("", Some("日本a"), Some("日本b")), "日本");
        assert_eq!(narrowed_prefix("", Some("ab"), Some("ab")), "ab");
    }
}
