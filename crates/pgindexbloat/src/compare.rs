//! The restore method: production sizes against the sizes of the same indexes
//! freshly built by a restore.

use std::collections::hash_map::Entry as Entry_;
use std::collections::HashMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::hash::{BuildPassThrough, Key};
use crate::index::Index;
use crate::snapshot::Snapshot;

/// Which indexes to compare and report (the original script's options).
#[derive(Debug, Clone)]
pub struct Options {
    /// Report an index only when production/fresh*100 (truncated) is above this (`-t`, default 102).
    pub percent_threshold: f64,
    /// Report an index only when its bloat is above this many bytes (`-b`, default 0).
    pub min_bloat: u64,
    /// Compare an index only when its production size is above this (`-c`, default 100000000).
    pub size_threshold: u64,
    /// Do not report indexes missing from the restore (`-i`).
    pub ignore_missing: bool,
    /// Pair indexes whose names differ but whose definitions are the same.
    pub match_by_definition: bool,
    /// Scale the fresh size by production rows / restored rows when both are known.
    pub normalise: bool,
    /// Order of [`Comparison::reported`].
    pub order: Order,
    /// Keep every compared index in [`Comparison::compared`] (the Nagios
    /// check's perfdata needs them; a report needs only the reported ones).
    pub keep_compared: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            percent_threshold: 102.0,
            min_bloat: 0,
            size_threshold: 100_000_000,
            ignore_missing: false,
            match_by_definition: true,
            normalise: true,
            order: Order::default(),
            keep_compared: true,
        }
    }
}

/// Report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    /// Largest bloat in bytes first.
    #[default]
    Bloat,
    /// Largest production/fresh percentage first.
    Percent,
    /// Largest production size first.
    Size,
    /// By name.
    Name,
}

/// The order of a report: a key, largest first (names A to Z), or reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Order {
    pub key: SortKey,
    pub reverse: bool,
}

impl Order {
    /// The original script's pretty mode as its README shows it: the
    /// smallest bloat first (`idx3` 2.30G before `idx2` 9.31G).
    pub const SEED: Order = Order {
        key: SortKey::Bloat,
        reverse: true,
    };
}

/// How a production index found its fresh counterpart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    Name,
    Definition,
}

/// One index present on both sides (names borrowed from the snapshots).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry<'a> {
    pub index: &'a str,
    /// The restored index's name when it differs (matched by definition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fresh_index: Option<&'a str>,
    pub matched_by: MatchedBy,
    pub production_bytes: u64,
    pub fresh_bytes: u64,
    /// The fresh size scaled to production's row count (equals `fresh_bytes` without row counts).
    pub expected_bytes: u64,
    /// production / expected * 100, truncated like the original script.
    pub percent: u64,
    /// production - expected; negative when production is smaller.
    pub bloat_bytes: i64,
    /// bloat / production * 100 (0 when not bloated): the share of the index that is bloat.
    pub bloat_ratio: f64,
    /// Production's `CREATE INDEX` statement, when the list has it (for `--reindex-sql`).
    #[serde(skip)]
    pub definition: Option<&'a str>,
}

/// An index of production that the restore does not have.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missing<'a> {
    pub index: &'a str,
    pub production_bytes: u64,
}

/// The result of a comparison.
#[derive(Debug, Clone, Default)]
pub struct Comparison<'a> {
    /// Indexes over the thresholds, sorted.
    pub reported: Vec<Entry<'a>>,
    /// Every compared index (over `-c`), in production's order; a superset of
    /// `reported`. Empty unless [`Options::keep_compared`].
    pub compared: Vec<Entry<'a>>,
    /// How many indexes were compared (over `-c`), kept or not.
    pub indexes_compared: usize,
    /// Indexes missing from the restore (empty with `ignore_missing`), by size.
    pub missing: Vec<Missing<'a>>,
    /// Compared indexes that are smaller in production than in the restore.
    pub smaller: Vec<Entry<'a>>,
    /// Sum of the reported indexes' bloat (never negative).
    pub total_bloat: u64,
}

/// Definition without the index name: `CREATE INDEX i ON t USING btree (a)` → `CREATE INDEX ON t USING btree (a)`.
pub fn definition_key(def: &str) -> String {
    let Some(pos) = def.find(" INDEX ") else {
        return def.to_string();
    };
    let head = &def[..pos + " INDEX ".len()];
    let rest = &def[pos + " INDEX ".len()..];
    let after_name = if let Some(quoted) = rest.strip_prefix('"') {
        // "na""me" ON ...
        let mut i = 0;
        let bytes = quoted.as_bytes();
        loop {
            match bytes.get(i) {
                None => return def.to_string(),
                Some(b'"') if bytes.get(i + 1) == Some(&b'"') => i += 2,
                Some(b'"') => break &quoted[i + 1..],
                Some(_) => i += 1,
            }
        }
    } else {
        match rest.find(' ') {
            Some(sp) => &rest[sp..],
            None => return def.to_string(),
        }
    };
    format!("{head}{}", after_name.trim_start())
}

fn percent(production: u64, expected: u64) -> u64 {
    // expected > 0 is checked by the caller; u128 avoids overflow.
    u64::try_from(u128::from(production) * 100 / u128::from(expected.max(1))).unwrap_or(u64::MAX)
}

/// The numbers of an [`Entry`], without its names (cheap: no allocation).
#[derive(Clone, Copy)]
struct Measure {
    expected: u64,
    percent: u64,
    bloat_bytes: i64,
    bloat_ratio: f64,
}

fn measure(a: &Index<'_>, b: &Index<'_>, opts: &Options) -> Measure {
    let expected = match (opts.normalise, a.live_tuples, b.live_tuples) {
        (true, Some(pa), Some(pb)) if pa > 0 && pb > 0 && pa != pb => {
            let scaled = u128::from(b.size) * u128::from(pa) / u128::from(pb);
            u64::try_from(scaled).unwrap_or(u64::MAX).max(1)
        }
        _ => b.size,
    };
    let bloat = i128::from(a.size) - i128::from(expected);
    let bloat_bytes = i64::try_from(bloat).unwrap_or(if bloat < 0 { i64::MIN } else { i64::MAX });
    let bloat_ratio = if bloat > 0 && a.size > 0 {
        (bloat as f64) * 100.0 / (a.size as f64)
    } else {
        0.0
    };
    Measure {
        expected,
        percent: percent(a.size, expected),
        bloat_bytes,
        bloat_ratio,
    }
}

fn entry<'a>(a: &Index<'a>, b: &Index<'a>, by: MatchedBy, m: Measure) -> Entry<'a> {
    Entry {
        index: a.name,
        fresh_index: (by == MatchedBy::Definition).then_some(b.name),
        matched_by: by,
        production_bytes: a.size,
        fresh_bytes: b.size,
        expected_bytes: m.expected,
        percent: m.percent,
        bloat_bytes: m.bloat_bytes,
        bloat_ratio: m.bloat_ratio,
        definition: a.definition,
    }
}

fn sort_entries(entries: &mut [Entry<'_>], order: Order) {
    let flip = |o: std::cmp::Ordering| if order.reverse { o.reverse() } else { o };
    // Names are unique, so the unstable sort is deterministic.
    entries.sort_unstable_by(|x, y| {
        let primary = match order.key {
            SortKey::Bloat => y.bloat_bytes.cmp(&x.bloat_bytes),
            SortKey::Percent => y.percent.cmp(&x.percent),
            SortKey::Size => y.production_bytes.cmp(&x.production_bytes),
            SortKey::Name => return flip(x.index.cmp(y.index)),
        };
        flip(primary).then_with(|| x.index.cmp(y.index))
    });
}

fn duplicate(snap: &Snapshot, first: usize, dup: usize) -> Error {
    let (first, dup) = (snap.get(first), snap.get(dup));
    let what = if dup.line == 0 {
        String::new()
    } else {
        format!(" (first on line {})", first.line)
    };
    Error::input(
        &snap.label,
        dup.line,
        format!("duplicate index {}{what}", dup.name),
    )
}

type Pairs = (Vec<(usize, usize, MatchedBy)>, Vec<usize>);

const NO_ROW: u32 = u32::MAX;

/// A row of B and the row of A that matched it (or [`NO_ROW`]).
#[derive(Clone, Copy)]
struct Slot {
    b: u32,
    a: u32,
}

/// B's names by their 64-bit hash. Keyed by the hash alone, an entry is 16
/// bytes (a name key would be 40): the map stays in cache far better. A
/// second name with the same hash (astronomically rare) goes to `overflow`.
struct NameMap<'a> {
    names: &'a Snapshot,
    by_hash: HashMap<u64, Slot, BuildPassThrough>,
    overflow: HashMap<Key<'a>, Slot, BuildPassThrough>,
}

impl<'a> NameMap<'a> {
    fn with_capacity(names: &'a Snapshot, n: usize) -> Self {
        NameMap {
            names,
            by_hash: HashMap::with_capacity_and_hasher(n, BuildPassThrough::default()),
            overflow: HashMap::default(),
        }
    }

    /// Adds row `i`; `Err(first row)` when its name is there already.
    fn insert(&mut self, i: usize) -> std::result::Result<(), usize> {
        let (hash, name) = (self.names.hash(i), self.names.name(i));
        let slot = Slot {
            b: i as u32,
            a: NO_ROW,
        };
        let first = match self.by_hash.entry(hash) {
            Entry_::Vacant(v) => {
                v.insert(slot);
                return Ok(());
            }
            Entry_::Occupied(o) => o.get().b as usize,
        };
        if self.names.name(first) == name {
            return Err(first);
        }
        match self.overflow.entry(Key { hash, name }) {
            Entry_::Occupied(o) => Err(o.get().b as usize),
            Entry_::Vacant(v) => {
                v.insert(slot);
                Ok(())
            }
        }
    }

    fn get_mut(&mut self, hash: u64, name: &'a str) -> Option<&mut Slot> {
        match self.by_hash.get_mut(&hash) {
            Some(s) if self.names.name(s.b as usize) == name => Some(s),
            Some(_) => self.overflow.get_mut(&Key { hash, name }),
            None => None,
        }
    }
}

/// Bit 40 of a name's hash picks its shard: independent of the map's
/// bucket bits (low) and tag bits (top 7).
fn shard(hash: u64) -> usize {
    ((hash >> 40) & 1) as usize
}

/// Pairs A's indexes with B's by name and finds duplicates on both sides.
///
/// Names were hashed while loading (A and B on two threads); the hashes
/// split the names into two shards handled by two threads: the work is
/// hash-map lookups that wait on memory, and 1M-index lists are the target.
fn pair_by_name<'a>(a: &'a Snapshot, b: &'a Snapshot) -> Result<Pairs> {
    if a.len().max(b.len()) >= NO_ROW as usize {
        return Err(Error::Usage("too many indexes to compare".into()));
    }
    let (r0, r1) = std::thread::scope(|s| {
        let h = s.spawn(|| pair_shard(a, b, 1));
        let r0 = pair_shard(a, b, 0);
        let r1 = h
            .join()
            .unwrap_or_else(|_| Err(Error::Usage("comparison thread failed".into())));
        (r0, r1)
    });
    let ((p0, u0), (p1, u1)) = match (r0, r1) {
        (Ok(x), Ok(y)) => (x, y),
        // Both failed: report the earlier line, whatever the thread timing.
        (Err(e0), Err(e1)) => return Err(earlier(e0, e1)),
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    // Production's order, independent of the shards: each shard is in that
    // order already, so a merge does it.
    Ok((merge_by(p0, p1, |p| p.0), merge_by(u0, u1, |&i| i)))
}

/// [`pair_by_name`] for the names of one shard.
fn pair_shard<'a>(a: &'a Snapshot, b: &'a Snapshot, which: usize) -> Result<Pairs> {
    let mut by_name = NameMap::with_capacity(b, b.len() / 2 + 16);
    for ib in (0..b.len()).filter(|&ib| shard(b.hash(ib)) == which) {
        by_name
            .insert(ib)
            .map_err(|first| duplicate(b, first, ib))?;
    }
    let mut pairs = Vec::with_capacity(a.len() / 2 + 16);
    let mut unmatched = Vec::new();
    for ia in (0..a.len()).filter(|&ia| shard(a.hash(ia)) == which) {
        match by_name.get_mut(a.hash(ia), a.name(ia)) {
            Some(slot) if slot.a != NO_ROW => return Err(duplicate(a, slot.a as usize, ia)),
            Some(slot) => {
                slot.a = ia as u32;
                pairs.push((ia, slot.b as usize, MatchedBy::Name));
            }
            None => unmatched.push(ia),
        }
    }
    drop(by_name);
    check_unique(a, &unmatched)?;
    Ok((pairs, unmatched))
}

/// A's names that B does not have are not in any map yet: a duplicate
/// among them is found here.
fn check_unique(a: &Snapshot, rows: &[usize]) -> Result<()> {
    let mut seen: HashMap<Key<'_>, usize, BuildPassThrough> =
        HashMap::with_capacity_and_hasher(rows.len(), BuildPassThrough::default());
    for &ia in rows {
        let key = Key {
            hash: a.hash(ia),
            name: a.name(ia),
        };
        if let Some(first) = seen.insert(key, ia) {
            return Err(duplicate(a, first, ia));
        }
    }
    Ok(())
}

/// Merges two lists sorted by `key` into one.
fn merge_by<T: Copy>(x: Vec<T>, y: Vec<T>, key: impl Fn(&T) -> usize) -> Vec<T> {
    let mut out = Vec::with_capacity(x.len() + y.len());
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        if key(&x[i]) <= key(&y[j]) {
            out.push(x[i]);
            i += 1;
        } else {
            out.push(y[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&x[i..]);
    out.extend_from_slice(&y[j..]);
    out
}

fn earlier(x: Error, y: Error) -> Error {
    match (&x, &y) {
        (
            Error::Input {
                file: fx, line: lx, ..
            },
            Error::Input {
                file: fy, line: ly, ..
            },
        ) if (fy, ly) < (fx, lx) => y,
        _ => x,
    }
}

/// Compares production (`a`) with the fresh restore (`b`); both as made by
/// [`crate::input::normalise`] (unique names).
///
/// Errors only on a fresh index of size 0 (no PostgreSQL index is empty: a
/// btree has at least its metapage), which would make the percentage undefined.
pub fn compare<'a>(a: &'a Snapshot, b: &'a Snapshot, opts: &Options) -> Result<Comparison<'a>> {
    let (pairs, unmatched) = pair_by_name(a, b)?;
    let (pairs, missing_rows) = if opts.match_by_definition && !unmatched.is_empty() {
        pair_by_definition(a, b, pairs, unmatched)
    } else {
        (pairs, unmatched)
    };
    let mut out = measure_pairs(a, b, &pairs, opts)?;
    if !opts.ignore_missing {
        out.missing = missing(a, missing_rows);
    }
    // `compared` stays in A's order (deterministic); only the report is sorted.
    sort_entries(&mut out.reported, opts.order);
    out.smaller.sort_by(|x, y| x.index.cmp(y.index));
    Ok(out)
}

/// Pairs A's unmatched indexes with B's unpaired indexes of the same
/// definition (renamed indexes, pg_repack leftovers); returns all pairs and
/// the rows of A still unmatched.
fn pair_by_definition(
    a: &Snapshot,
    b: &Snapshot,
    mut pairs: Vec<(usize, usize, MatchedBy)>,
    unmatched: Vec<usize>,
) -> Pairs {
    let mut paired = vec![false; b.len()];
    for &(_, ib, _) in &pairs {
        paired[ib] = true;
    }
    let mut by_def: HashMap<String, Vec<usize>> = HashMap::new();
    for (ib, row) in b.iter().enumerate().rev() {
        if let (false, Some(def)) = (paired[ib], row.definition) {
            by_def.entry(definition_key(def)).or_default().push(ib);
        }
    }
    let mut missing_rows = Vec::new();
    for ia in unmatched {
        let found = a
            .get(ia)
            .definition
            .and_then(|d| by_def.get_mut(&definition_key(d)))
            .and_then(Vec::pop);
        match found {
            Some(ib) => pairs.push((ia, ib, MatchedBy::Definition)),
            None => missing_rows.push(ia),
        }
    }
    (pairs, missing_rows)
}

/// Measures every pair over the size threshold and keeps what the options ask for.
fn measure_pairs<'a>(
    a: &'a Snapshot,
    b: &'a Snapshot,
    pairs: &[(usize, usize, MatchedBy)],
    opts: &Options,
) -> Result<Comparison<'a>> {
    let mut out = Comparison::default();
    for &(ia, ib, by) in pairs {
        let (ra, rb) = (a.get(ia), b.get(ib));
        if rb.size == 0 {
            return Err(Error::input(&b.label, rb.line, format!("fresh index {} has size 0; a restored index has at least one page, so the bloat percentage is undefined", rb.name)));
        }
        if ra.size <= opts.size_threshold {
            continue;
        }
        out.indexes_compared += 1;
        let m = measure(&ra, &rb, opts);
        let over = (m.percent as f64) > opts.percent_threshold
            && m.bloat_bytes > 0
            && (m.bloat_bytes as u64) > opts.min_bloat;
        if m.bloat_bytes < 0 {
            out.smaller.push(entry(&ra, &rb, by, m));
        }
        if over {
            out.total_bloat = out.total_bloat.saturating_add(m.bloat_bytes as u64);
            out.reported.push(entry(&ra, &rb, by, m));
        }
        if opts.keep_compared {
            out.compared.push(entry(&ra, &rb, by, m));
        }
    }
    Ok(out)
}

/// A's rows that the restore lacks, largest first.
fn missing(a: &Snapshot, rows: Vec<usize>) -> Vec<Missing<'_>> {
    let mut missing: Vec<Missing<'_>> = rows
        .into_iter()
        .map(|i| Missing {
            index: a.name(i),
            production_bytes: a.size(i),
        })
        .collect();
    missing.sort_unstable_by(|x, y| {
        y.production_bytes
            .cmp(&x.production_bytes)
            .then_with(|| x.index.cmp(y.index))
    });
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{normalise, read_csv};
    use crate::naming::Toast;

    pub(crate) fn snap(label: &str, csv: &str) -> Snapshot {
        normalise(
            read_csv(csv.as_bytes(), label).unwrap(),
            label,
            "file",
            Toast::Map,
        )
        .unwrap()
    }

    fn seed() -> (Snapshot, Snapshot) {
        (
            snap("csva.csv", "public.idx1,15563390976\npublic.idx2,15563128832\npublic.idx3,15558934528\npublic.idx4,15558934528\n"),
            snap("csvb.csv", "public.idx1,15563390976\npublic.idx2,5563128832\npublic.idx3,13258934528\n"),
        )
    }

    #[test]
    fn seed_example() {
        let (a, b) = seed();
        let c = compare(&a, &b, &Options::default()).unwrap();
        let got: Vec<_> = c
            .reported
            .iter()
            .map(|e| (e.index, e.percent, e.bloat_bytes))
            .collect();
        assert_eq!(
            got,
            [
                ("public.idx2", 279, 10_000_000_000),
                ("public.idx3", 117, 2_300_000_000)
            ]
        );
        assert_eq!(
            c.missing,
            [Missing {
                index: "public.idx4",
                production_bytes: 15_558_934_528
            }]
        );
        assert_eq!(c.total_bloat, 12_300_000_000);
        assert_eq!(c.compared.len(), 3);
    }

    #[test]
    fn orders() {
        let (a, b) = seed();
        let names = |order: Order| {
            let opts = Options {
                order,
                ..Options::default()
            };
            let c = compare(&a, &b, &opts).unwrap();
            c.reported.iter().map(|e| e.index).collect::<Vec<_>>()
        };
        let (idx2, idx3) = ("public.idx2", "public.idx3");
        assert_eq!(names(Order::default()), [idx2, idx3]);
        assert_eq!(names(Order::SEED), [idx3, idx2]);
        let by = |key, reverse| names(Order { key, reverse });
        assert_eq!(by(SortKey::Percent, false), [idx2, idx3]);
        assert_eq!(by(SortKey::Percent, true), [idx3, idx2]);
        assert_eq!(by(SortKey::Size, false), [idx2, idx3]);
        assert_eq!(by(SortKey::Name, false), [idx2, idx3]);
        assert_eq!(by(SortKey::Name, true), [idx3, idx2]);
    }

    #[test]
    fn thresholds() {
        let (a, b) = seed();
        let c = compare(
            &a,
            &b,
            &Options {
                percent_threshold: 200.0,
                ignore_missing: true,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(c.reported.len(), 1);
        assert!(c.missing.is_empty());
        let c = compare(
            &a,
            &b,
            &Options {
                min_bloat: 5_000_000_000,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(c.reported.len(), 1);
        let c = compare(
            &a,
            &b,
            &Options {
                size_threshold: 20_000_000_000,
                ..Options::default()
            },
        )
        .unwrap();
        assert!(c.compared.is_empty());
        assert_eq!(
            c.missing.len(),
            1,
            "missing indexes are reported whatever their size"
        );
    }

    #[test]
    fn duplicates_are_errors() {
        let err = |a: &str, b: &str| {
            compare(&snap("a.csv", a), &snap("b.csv", b), &Options::default())
                .unwrap_err()
                .to_string()
        };
        let dup = "relation,size\npublic.idx1,1\nidx2,2\nidx1,3\n";
        assert_eq!(
            err(dup, "idx1,1\n"),
            "a.csv:4: duplicate index public.idx1 (first on line 2)"
        );
        assert_eq!(
            err(dup, "idx3,1\n"),
            "a.csv:4: duplicate index public.idx1 (first on line 2)"
        );
        assert_eq!(
            err("idx1,1\n", dup),
            "b.csv:4: duplicate index public.idx1 (first on line 2)"
        );
    }

    #[test]
    fn zero_size_fresh_index_is_an_error() {
        let a = snap("a.csv", "public.i,100\n");
        let b = snap("b.csv", "relation,size\npublic.i,0\n");
        let e = compare(&a, &b, &Options::default()).unwrap_err();
        assert_eq!(e.to_string(), "b.csv:2: fresh index public.i has size 0; a restored index has at least one page, so the bloat percentage is undefined");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn negative_bloat_is_not_reported_but_listed() {
        let a = snap("a.csv", "public.i,100\n");
        let b = snap("b.csv", "public.i,200\n");
        let c = compare(
            &a,
            &b,
            &Options {
                size_threshold: 0,
                ..Options::default()
            },
        )
        .unwrap();
        assert!(c.reported.is_empty());
        assert_eq!(c.smaller.len(), 1);
        assert_eq!(c.smaller[0].bloat_bytes, -100);
        assert_eq!(c.smaller[0].percent, 50);
        assert_eq!(c.total_bloat, 0);
    }

    #[test]
    fn matches_by_definition() {
        let a = snap(
            "a.csv",
            "public.old_name,300,public.t,CREATE INDEX old_name ON public.t USING btree (a)\n",
        );
        let b = snap(
            "b.csv",
            "public.new_name,100,public.t,CREATE INDEX new_name ON public.t USING btree (a)\n",
        );
        let c = compare(
            &a,
            &b,
            &Options {
                size_threshold: 0,
                ..Options::default()
            },
        )
        .unwrap();
        assert!(c.missing.is_empty());
        assert_eq!(c.reported[0].matched_by, MatchedBy::Definition);
        assert_eq!(c.reported[0].fresh_index, Some("public.new_name"));
        let c = compare(
            &a,
            &b,
            &Options {
                size_threshold: 0,
                match_by_definition: false,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(c.missing.len(), 1);
    }

    #[test]
    fn normalises_for_new_rows() {
        // Production has twice the rows of the backup: a 2x index is not bloated.
        let a = snap("a.csv", "public.i,2000,public.t,,200\n");
        let b = snap("b.csv", "public.i,1000,public.t,,100\n");
        let c = compare(
            &a,
            &b,
            &Options {
                size_threshold: 0,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(c.compared[0].expected_bytes, 2000);
        assert_eq!(c.compared[0].percent, 100);
        assert!(c.reported.is_empty());
        let c = compare(
            &a,
            &b,
            &Options {
                size_threshold: 0,
                normalise: false,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(c.reported[0].percent, 200);
    }

    #[test]
    fn definition_keys() {
        assert_eq!(
            definition_key("CREATE UNIQUE INDEX foo ON public.t USING btree (a)"),
            "CREATE UNIQUE INDEX ON public.t USING btree (a)"
        );
        assert_eq!(
            definition_key(r#"CREATE INDEX "a ""b"" ON x" ON public.t USING btree (a)"#),
            "CREATE INDEX ON public.t USING btree (a)"
        );
        assert_eq!(definition_key("garbage"), "garbage");
    }

    #[test]
    fn merges_shards_in_order() {
        assert_eq!(
            merge_by(vec![1, 4, 5], vec![0, 2, 3, 9], |&i| i),
            [0, 1, 2, 3, 4, 5, 9]
        );
        assert_eq!(merge_by(vec![], vec![7], |&i| i), [7]);
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let a = snap("a.csv", &format!("public.i,{}\n", u64::MAX));
        let b = snap("b.csv", "public.i,1\n");
        let c = compare(&a, &b, &Options::default()).unwrap();
        assert_eq!(c.reported[0].percent, u64::MAX);
        assert_eq!(c.reported[0].bloat_bytes, i64::MAX);
    }
}
