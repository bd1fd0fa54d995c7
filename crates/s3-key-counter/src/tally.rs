//! Running totals: objects, bytes, versions, and the optional breakdowns.
//!
//! A [`Tally`] is fed one listed entry at a time and never keeps keys, only
//! counters (plus one row per distinct prefix or storage class when a
//! breakdown asks for it), so memory stays flat however large the bucket is.

use std::collections::BTreeMap;

use mc_aws_common::listing::versions::{VersionEntry, VersionKind};
use mc_aws_common::listing::ObjectEntry;
use serde::{Deserialize, Serialize};

/// What one listed entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An object from ListObjectsV2 (the current version).
    Object,
    /// A version from ListObjectVersions; `latest` is the current one.
    Version { latest: bool },
    /// A delete marker from ListObjectVersions.
    DeleteMarker,
}

/// An entry the counter can tally.
pub trait Countable {
    fn key(&self) -> &str;
    fn size(&self) -> u64;
    fn storage_class(&self) -> Option<&str>;
    fn kind(&self) -> Kind;
}

impl Countable for ObjectEntry {
    fn key(&self) -> &str {
        &self.key
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn storage_class(&self) -> Option<&str> {
        self.storage_class.as_deref()
    }
    fn kind(&self) -> Kind {
        Kind::Object
    }
}

impl Countable for VersionEntry {
    fn key(&self) -> &str {
        &self.key
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn storage_class(&self) -> Option<&str> {
        self.storage_class.as_deref()
    }
    fn kind(&self) -> Kind {
        match self.kind {
            VersionKind::Version { latest } => Kind::Version { latest },
            VersionKind::DeleteMarker => Kind::DeleteMarker,
        }
    }
}

/// Counters for one group of entries (the whole listing, a prefix, a storage class).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    /// Current objects (what ListObjectsV2 shows).
    pub objects: u64,
    /// Bytes of the current objects.
    pub bytes: u64,
    /// Noncurrent versions (`--versions` only).
    pub noncurrent_versions: u64,
    /// Bytes of the noncurrent versions: the hidden cost of a versioned bucket.
    pub noncurrent_bytes: u64,
    /// Delete markers (`--versions` only).
    pub delete_markers: u64,
}

impl Counts {
    fn add(&mut self, kind: Kind, size: u64) {
        match kind {
            Kind::Object | Kind::Version { latest: true } => {
                self.objects += 1;
                self.bytes += size;
            }
            Kind::Version { latest: false } => {
                self.noncurrent_versions += 1;
                self.noncurrent_bytes += size;
            }
            Kind::DeleteMarker => self.delete_markers += 1,
        }
    }

    /// Every stored version (current and noncurrent).
    pub fn versions(&self) -> u64 {
        self.objects + self.noncurrent_versions
    }

    /// Bytes of every stored version.
    pub fn version_bytes(&self) -> u64 {
        self.bytes + self.noncurrent_bytes
    }

    /// Entries listed (objects, versions and delete markers).
    pub fn entries(&self) -> u64 {
        self.versions() + self.delete_markers
    }

    pub fn merge(&mut self, other: &Counts) {
        self.objects += other.objects;
        self.bytes += other.bytes;
        self.noncurrent_versions += other.noncurrent_versions;
        self.noncurrent_bytes += other.noncurrent_bytes;
        self.delete_markers += other.delete_markers;
    }
}

/// `--by-prefix DEPTH`: group keys by their first DEPTH delimiter-terminated
/// components below the listed prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixGrouping {
    /// The listed prefix (groups are reported with it).
    pub base: String,
    pub depth: usize,
    pub delimiter: String,
}

impl PrefixGrouping {
    /// The group of `key`: the base prefix plus up to `depth` components that
    /// end in the delimiter. A key with fewer delimiters lands in the deepest
    /// group it has (a key right under the base prefix: the base itself).
    pub fn group<'k>(&self, key: &'k str) -> &'k str {
        let Some(rest) = key.strip_prefix(self.base.as_str()) else {
            return key;
        };
        let mut end = self.base.len();
        if self.delimiter.is_empty() {
            return &key[..end];
        }
        let mut tail = rest;
        for _ in 0..self.depth {
            match tail.find(self.delimiter.as_str()) {
                Some(i) => {
                    let step = i + self.delimiter.len();
                    end += step;
                    tail = &tail[step..];
                }
                None => break,
            }
        }
        &key[..end]
    }
}

/// Totals of one listing, with optional breakdowns.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub total: Counts,
    by_prefix: Option<(PrefixGrouping, BTreeMap<String, Counts>)>,
    by_storage_class: Option<BTreeMap<String, Counts>>,
}

/// Storage class of an entry S3 listed without one (S3 omits nothing, but some stores do).
const DEFAULT_CLASS: &str = "STANDARD";

impl Tally {
    pub fn new(by_prefix: Option<PrefixGrouping>, by_storage_class: bool) -> Self {
        Self {
            total: Counts::default(),
            by_prefix: by_prefix.map(|g| (g, BTreeMap::new())),
            by_storage_class: by_storage_class.then(BTreeMap::new),
        }
    }

    /// Counts one entry.
    pub fn add<T: Countable>(&mut self, item: &T) {
        let kind = item.kind();
        let size = item.size();
        self.total.add(kind, size);
        if let Some((grouping, groups)) = &mut self.by_prefix {
            bump(groups, grouping.group(item.key()), kind, size);
        }
        if let Some(classes) = &mut self.by_storage_class {
            // Delete markers have no storage class and use no storage.
            if kind != Kind::DeleteMarker {
                let class = item.storage_class().unwrap_or(DEFAULT_CLASS);
                bump(classes, class, kind, size);
            }
        }
    }

    /// Rows of the `--by-prefix` breakdown, in key order.
    pub fn by_prefix(&self) -> Option<&BTreeMap<String, Counts>> {
        self.by_prefix.as_ref().map(|(_, g)| g)
    }

    /// Rows of the `--by-storage-class` breakdown, by class name.
    pub fn by_storage_class(&self) -> Option<&BTreeMap<String, Counts>> {
        self.by_storage_class.as_ref()
    }
}

/// Adds to a group, allocating its name only the first time it is seen.
fn bump(groups: &mut BTreeMap<String, Counts>, name: &str, kind: Kind, size: u64) {
    match groups.get_mut(name) {
        Some(c) => c.add(kind, size),
        None => {
            let mut c = Counts::default();
            c.add(kind, size);
            groups.insert(name.to_string(), c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct E(&'static str, u64, Kind, Option<&'static str>);

    impl Countable for E {
        fn key(&self) -> &str {
            self.0
        }
        fn size(&self) -> u64 {
            self.1
        }
        fn storage_class(&self) -> Option<&str> {
            self.3
        }
        fn kind(&self) -> Kind {
            self.2
        }
    }

    fn grouping(base: &str, depth: usize, delimiter: &str) -> PrefixGrouping {
        PrefixGrouping {
            base: base.into(),
            depth,
            delimiter: delimiter.into(),
        }
    }

    #[test]
    fn groups_by_depth_below_the_base() {
        let g = grouping("logs/", 2, "/");
        assert_eq!(g.group("logs/2024/01/a.gz"), "logs/2024/01/");
        assert_eq!(g.group("logs/2024/a.gz"), "logs/2024/");
        assert_eq!(g.group("logs/a.gz"), "logs/");
        assert_eq!(g.group("logs/2024/01/"), "logs/2024/01/");
        let g = grouping("", 1, "/");
        assert_eq!(g.group("a/b/c"), "a/");
        assert_eq!(g.group("flat"), "");
        let g = grouping("", 1, "::");
        assert_eq!(g.group("a::b::c"), "a::");
        assert_eq!(grouping("", 1, "/").group("日本/ファイル"), "日本/");
        assert_eq!(grouping("", 3, "").group("abc"), "");
    }

    #[test]
    fn counts_objects_versions_and_markers() {
        let mut t = Tally::new(Some(grouping("", 1, "/")), true);
        for e in [
            E("a/1", 10, Kind::Version { latest: true }, Some("STANDARD")),
            E("a/1", 7, Kind::Version { latest: false }, Some("STANDARD")),
            E("a/2", 0, Kind::DeleteMarker, None),
            E("a/2", 5, Kind::Version { latest: false }, Some("GLACIER")),
            E("b", 3, Kind::Object, None),
        ] {
            t.add(&e);
        }
        let c = t.total;
        assert_eq!((c.objects, c.bytes), (2, 13));
        assert_eq!((c.noncurrent_versions, c.noncurrent_bytes), (2, 12));
        assert_eq!(c.delete_markers, 1);
        assert_eq!((c.versions(), c.version_bytes(), c.entries()), (4, 25, 5));
        let p = t.by_prefix().unwrap();
        assert_eq!(p.keys().collect::<Vec<_>>(), ["", "a/"]);
        assert_eq!(p["a/"].objects, 1);
        assert_eq!(p["a/"].delete_markers, 1);
        let s = t.by_storage_class().unwrap();
        assert_eq!(s.keys().collect::<Vec<_>>(), ["GLACIER", "STANDARD"]);
        assert_eq!(s["STANDARD"].version_bytes(), 20);
        assert_eq!(s["GLACIER"].noncurrent_bytes, 5);
    }
}
