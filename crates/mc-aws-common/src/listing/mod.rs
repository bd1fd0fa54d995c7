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

mod range;
pub mod s3;
mod sharded;
mod split;

pub use range::{KeyRange, RangeSet};
pub use sharded::{list, Chunk, ListOptions, Listing, Page, PageSource};
pub use split::{shard_ranges, split_n, Alphabet};
