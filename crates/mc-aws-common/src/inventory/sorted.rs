//! A report's rows in key order, in bounded memory: an external merge sort.
//!
//! Rows are gathered in runs of a fixed byte budget, each run sorted and
//! spilled to a temporary file, then the runs are merged into one sorted
//! file with a sparse index (every [`INDEX_EVERY`] rows). From it, the
//! two-sided core gets what the live lister gives: chunks of sorted keys
//! whose spans partition exactly the ranges asked for (the source side),
//! or the rows of one span (the destination side). Memory is the run
//! budget plus a read buffer per merged run, whatever the report's size:
//! runs are merged [`SortBudget::fan_in`] at a time as they pile up (levels,
//! as in a log-structured merge), so neither memory nor open files grow with
//! the row count. Disk is about twice the rows' encoded size while merging;
//! each row is written once more per level (3.75 times on average in a
//! 100M × 100M diff: 62 GiB written, one pass over both sides being 16.6).

use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{InventoryAcl, InventoryRow, Report};
use crate::acl::Acl;
use crate::error::ToolError;
use crate::listing::{storage_class, Chunk, Detail, KeyRange, Listing, ObjectEntry};

/// Rows between two index entries.
const INDEX_EVERY: u64 = 1024;
/// Keys per chunk handed to the two-sided core (a listing page's worth).
const CHUNK_ROWS: usize = 1000;

/// What is spilled of a row: what the two-sided core compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedRow {
    pub entry: ObjectEntry,
    pub acl: Option<InventoryAcl>,
}

/// A report's current objects under a prefix, sorted by key on disk.
pub struct SortedRows {
    file: File,
    /// (key, byte offset) of every [`INDEX_EVERY`]th row.
    index: Vec<(String, u64)>,
    pub rows: u64,
    /// Bytes on disk.
    pub spilled: u64,
}

/// How much to hold in memory while sorting.
#[derive(Debug, Clone, Copy)]
pub struct SortBudget {
    /// Bytes of rows per run (in memory, estimated).
    pub run_bytes: usize,
    /// Runs merged at once, each with a read buffer of [`READ_BUFFER`]
    /// bytes and an open file: 64 keep a merge within 4 MiB and a side's
    /// open files within a few hundred for billions of rows.
    pub fan_in: usize,
}

impl Default for SortBudget {
    fn default() -> Self {
        Self {
            run_bytes: 4 << 20,
            fan_in: 64,
        }
    }
}

/// A merge's read buffer per run.
const READ_BUFFER: usize = 64 << 10;

impl SortedRows {
    /// Reads every current object of `report` under `prefix` and sorts
    /// them. `acls`: keep the Object ACL field (acl-reconciler).
    pub async fn of(
        report: &Arc<Report>,
        prefix: &str,
        acls: bool,
        budget: SortBudget,
        files_at_once: usize,
    ) -> Result<Self, ToolError> {
        let detail = Detail::Full;
        let mut rows = report.rows(detail, files_at_once);
        let mut runs = Runs::new(budget);
        while let Some(batch) = rows.recv().await {
            for row in batch? {
                if row.is_latest && !row.is_delete_marker && row.entry.key.starts_with(prefix) {
                    runs.push(SortedRow {
                        acl: if acls { row.acl } else { None },
                        entry: row.entry,
                    })?;
                }
            }
        }
        let what = report.store.describe(&report.folder);
        tokio::task::spawn_blocking(move || runs.merge())
            .await
            .map_err(|e| ToolError::Other(format!("{what}: sorting failed: {e}")))?
    }

    /// The objects of `span` (sorted): the destination side of a chunk.
    pub fn span(&self, span: &KeyRange) -> Result<Vec<ObjectEntry>, ToolError> {
        Ok(self.span_rows(span)?.into_iter().map(|r| r.entry).collect())
    }

    /// The rows of `span` (sorted), with their ACL fields.
    pub fn span_rows(&self, span: &KeyRange) -> Result<Vec<SortedRow>, ToolError> {
        let start = match &span.after {
            None => 0,
            // The last index entry at or before the span's start.
            Some(a) => match self.index.partition_point(|(k, _)| k <= a) {
                0 => 0,
                i => self.index[i - 1].1,
            },
        };
        let mut reader = self.reader(start)?;
        let mut out = Vec::new();
        while let Some(row) = read_row(&mut reader).map_err(io)? {
            if span.upto.as_ref().is_some_and(|u| &row.entry.key > u) {
                break;
            }
            if span.contains(&row.entry.key) {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Chunks of sorted rows whose spans partition exactly `ranges`
    /// (`None`: the whole key space), as the live lister yields them.
    pub fn chunks(self: Arc<Self>, ranges: Option<Vec<KeyRange>>) -> Listing<SortedRow, ToolError> {
        let (tx, rx) = mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            let ranges = ranges.unwrap_or_else(|| vec![KeyRange::all()]);
            for range in ranges.iter().filter(|r| !r.is_empty()) {
                if let Err(e) = self.chunk_range(range, &tx) {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        });
        Listing::from_channel(rx)
    }

    /// [`SortedRows::chunks`] with the listed objects only (sync, verify).
    pub fn entry_chunks(
        self: Arc<Self>,
        ranges: Option<Vec<KeyRange>>,
    ) -> Listing<ObjectEntry, ToolError> {
        let mut rows = self.chunks(ranges);
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            while let Some(chunk) = rows.next().await {
                let chunk = chunk.map(|c| Chunk {
                    span: c.span,
                    items: c.items.into_iter().map(|r| r.entry).collect(),
                });
                if tx.send(chunk).await.is_err() {
                    return;
                }
            }
        });
        Listing::from_channel(rx)
    }

    /// Sends the chunks of one range: spans from the range's start to each
    /// chunk's last key, the last one to the range's end.
    fn chunk_range(
        &self,
        range: &KeyRange,
        tx: &mpsc::Sender<Result<Chunk<SortedRow>, ToolError>>,
    ) -> Result<(), ToolError> {
        let start = match &range.after {
            None => 0,
            Some(a) => match self.index.partition_point(|(k, _)| k <= a) {
                0 => 0,
                i => self.index[i - 1].1,
            },
        };
        let mut reader = self.reader(start)?;
        let mut after = range.after.clone();
        let mut items: Vec<SortedRow> = Vec::with_capacity(CHUNK_ROWS);
        while let Some(row) = read_row(&mut reader).map_err(io)? {
            if !range.contains(&row.entry.key) {
                if range.upto.as_ref().is_some_and(|u| &row.entry.key > u) {
                    break;
                }
                continue;
            }
            items.push(row);
            if items.len() == CHUNK_ROWS {
                let upto = items.last().map(|r| r.entry.key.clone());
                let span = KeyRange::new(after.replace(upto.clone().unwrap_or_default()), upto);
                let chunk = Chunk {
                    span,
                    items: std::mem::take(&mut items),
                };
                if tx.blocking_send(Ok(chunk)).is_err() {
                    return Ok(());
                }
            }
        }
        // The rest, to the range's end (possibly no rows: the span still counts).
        let span = KeyRange::new(after, range.upto.clone());
        if !span.is_empty() || !items.is_empty() {
            let _ = tx.blocking_send(Ok(Chunk { span, items }));
        }
        Ok(())
    }

    /// A reader from `offset`: positioned reads, so that readers of the
    /// same file (spans looked up in parallel) never move each other.
    fn reader(&self, offset: u64) -> Result<BufReader<PosReader>, ToolError> {
        let file = self.file.try_clone().map_err(io)?;
        Ok(BufReader::with_capacity(
            64 << 10,
            PosReader { file, pos: offset },
        ))
    }
}

/// Reads a file from its own position with `pread`, whatever other
/// handles of the same file do.
struct PosReader {
    file: File,
    pos: u64,
}

impl Read for PosReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

fn io(e: std::io::Error) -> ToolError {
    ToolError::Other(format!("inventory sort spill: {e}"))
}

/// Sorted runs on disk, and the run being gathered.
struct Runs {
    budget: SortBudget,
    current: Vec<SortedRow>,
    bytes: usize,
    /// Sorted run files by level: level `k + 1` holds merges of `fan_in`
    /// runs of level `k`.
    levels: Vec<Vec<File>>,
    spilled: u64,
}

impl Runs {
    fn new(budget: SortBudget) -> Self {
        Self {
            budget,
            current: Vec::new(),
            bytes: 0,
            levels: Vec::new(),
            spilled: 0,
        }
    }

    fn push(&mut self, row: SortedRow) -> Result<(), ToolError> {
        self.bytes += memory_len(&row);
        self.current.push(row);
        if self.bytes >= self.budget.run_bytes {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), ToolError> {
        if self.current.is_empty() {
            return Ok(());
        }
        self.current
            .sort_unstable_by(|a, b| a.entry.key.cmp(&b.entry.key));
        let mut f = tempfile::tempfile().map_err(io)?;
        {
            let mut w = BufWriter::with_capacity(256 << 10, &mut f);
            for row in self.current.drain(..) {
                write_row(&mut w, &row).map_err(io)?;
            }
            w.flush().map_err(io)?;
        }
        self.spilled += f.stream_position().map_err(io)?;
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        self.bytes = 0;
        self.current.shrink_to(0);
        self.add_run(0, f)
    }

    /// Adds a run at `level`, merging the level into the next one when it
    /// is full.
    fn add_run(&mut self, level: usize, run: File) -> Result<(), ToolError> {
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        self.levels[level].push(run);
        if self.levels[level].len() < self.budget.fan_in.max(2) {
            return Ok(());
        }
        let full = std::mem::take(&mut self.levels[level]);
        let mut out = tempfile::tempfile().map_err(io)?;
        let written = {
            let mut w = BufWriter::with_capacity(256 << 10, &mut out);
            let mut written = 0u64;
            merge_runs(full, |row| {
                written += write_row(&mut w, row)?;
                Ok(())
            })
            .map_err(io)?;
            w.flush().map_err(io)?;
            written
        };
        self.spilled += written;
        out.seek(SeekFrom::Start(0)).map_err(io)?;
        self.add_run(level + 1, out)
    }

    /// Merges the runs into one sorted file with its index.
    fn merge(mut self) -> Result<SortedRows, ToolError> {
        self.spill()?;
        let runs: Vec<File> = self.levels.drain(..).flatten().collect();
        let mut out = tempfile::tempfile().map_err(io)?;
        let mut index = Vec::new();
        let mut rows = 0u64;
        let mut offset = 0u64;
        {
            let mut w = BufWriter::with_capacity(256 << 10, &mut out);
            merge_runs(runs, |row| {
                if rows.is_multiple_of(INDEX_EVERY) {
                    index.push((row.entry.key.clone(), offset));
                }
                offset += write_row(&mut w, row)?;
                rows += 1;
                Ok(())
            })
            .map_err(io)?;
            w.flush().map_err(io)?;
        }
        let spilled = self.spilled + offset;
        tracing::info!(rows, spilled, "inventory rows sorted on disk");
        Ok(SortedRows {
            file: out,
            index,
            rows,
            spilled,
        })
    }
}

/// Hands the rows of sorted `runs` to `emit` in key order (a k-way merge);
/// each run's file is closed (and, unlinked, freed) when the merge ends.
fn merge_runs(
    runs: Vec<File>,
    mut emit: impl FnMut(&SortedRow) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut readers: Vec<BufReader<File>> = runs
        .into_iter()
        .map(|f| BufReader::with_capacity(READ_BUFFER, f))
        .collect();
    let mut heap = BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some(row) = read_row(r)? {
            heap.push(Head(row, i));
        }
    }
    while let Some(Head(row, i)) = heap.pop() {
        emit(&row)?;
        if let Some(next) = read_row(&mut readers[i])? {
            heap.push(Head(next, i));
        }
    }
    Ok(())
}

/// A run's next row, ordered for a min-heap on the key.
struct Head(SortedRow, usize);

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.0.entry.key == other.0.entry.key && self.1 == other.1
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .0
            .entry
            .key
            .cmp(&self.0.entry.key)
            .then(other.1.cmp(&self.1))
    }
}

// The spill format: per row, length-prefixed fields (little-endian).

/// What a row takes in memory while its run is gathered (the struct, its
/// strings' heap blocks, an ACL's grants).
fn memory_len(row: &SortedRow) -> usize {
    let e = &row.entry;
    std::mem::size_of::<SortedRow>()
        + e.key.len()
        + e.etag.len()
        + 32
        + row.acl.as_ref().map_or(0, |_| 256)
}

fn write_str(w: &mut impl Write, s: &str) -> std::io::Result<u64> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())?;
    Ok(4 + s.len() as u64)
}

fn write_row(w: &mut impl Write, row: &SortedRow) -> std::io::Result<u64> {
    let e = &row.entry;
    let mut n = write_str(w, &e.key)?;
    w.write_all(&e.size.to_le_bytes())?;
    n += 8;
    n += write_str(w, &e.etag)?;
    n += write_str(w, e.storage_class.as_deref().unwrap_or(""))?;
    w.write_all(&e.last_modified.unwrap_or(i64::MIN).to_le_bytes())?;
    n += 8;
    let acl = match &row.acl {
        None => String::new(),
        Some(InventoryAcl::Unavailable) => "U".to_string(),
        Some(InventoryAcl::Known(a)) => format!("K{}", serde_json::to_string(a)?),
    };
    n += write_str(w, &acl)?;
    Ok(n)
}

fn read_str(r: &mut impl Read) -> std::io::Result<Option<String>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut buf)?;
    String::from_utf8(buf)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_row(r: &mut impl Read) -> std::io::Result<Option<SortedRow>> {
    let Some(key) = read_str(r)? else {
        return Ok(None);
    };
    let truncated = || std::io::Error::new(std::io::ErrorKind::InvalidData, "truncated spill");
    let size = read_u64(r)?;
    let etag = read_str(r)?.ok_or_else(truncated)?;
    let class = read_str(r)?.ok_or_else(truncated)?;
    let modified = read_u64(r)? as i64;
    let acl = read_str(r)?.ok_or_else(truncated)?;
    let acl = match acl.split_at_checked(1) {
        Some(("U", _)) => Some(InventoryAcl::Unavailable),
        Some(("K", json)) => Some(InventoryAcl::Known(
            serde_json::from_str::<Acl>(json).map_err(std::io::Error::other)?,
        )),
        _ => None,
    };
    Ok(Some(SortedRow {
        entry: ObjectEntry {
            key,
            size,
            etag,
            storage_class: (!class.is_empty()).then(|| storage_class(&class)),
            last_modified: (modified != i64::MIN).then_some(modified),
        },
        acl,
    }))
}

/// A sorted row is compared by its key.
impl crate::twosided::Keyed for SortedRow {
    fn key(&self) -> &str {
        &self.entry.key
    }
}

impl From<InventoryRow> for SortedRow {
    fn from(row: InventoryRow) -> Self {
        Self {
            entry: row.entry,
            acl: row.acl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(key: &str) -> SortedRow {
        SortedRow {
            entry: ObjectEntry {
                key: key.into(),
                size: key.len() as u64,
                etag: "e".into(),
                storage_class: Some(storage_class("STANDARD")),
                last_modified: Some(7),
            },
            acl: None,
        }
    }

    fn sorted(keys: &[String], run_bytes: usize, fan_in: usize) -> SortedRows {
        let mut runs = Runs::new(SortBudget { run_bytes, fan_in });
        for k in keys {
            runs.push(row(k)).unwrap();
        }
        runs.merge().unwrap()
    }

    fn collect(rows: SortedRows, ranges: Option<Vec<KeyRange>>) -> Vec<Chunk<SortedRow>> {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let mut l = Arc::new(rows).chunks(ranges);
            let mut out = Vec::new();
            while let Some(c) = l.next().await {
                out.push(c.unwrap());
            }
            out
        })
    }

    #[test]
    fn rows_round_trip_the_spill_format() {
        let mut r = row("a\u{1F600}b");
        r.acl = Some(InventoryAcl::Known(Acl::private("me")));
        let mut buf = Vec::new();
        write_row(&mut buf, &r).unwrap();
        write_row(&mut buf, &row("z")).unwrap();
        let mut rd = &buf[..];
        assert_eq!(read_row(&mut rd).unwrap(), Some(r));
        assert_eq!(read_row(&mut rd).unwrap(), Some(row("z")));
        assert_eq!(read_row(&mut rd).unwrap(), None);
    }

    #[test]
    fn runs_pile_up_in_levels_not_in_one_wide_merge() {
        // 1000 rows, a run per row or two: without levels, 500+ files
        // open at once (and a read buffer each) in the final merge.
        let mut runs = Runs::new(SortBudget {
            run_bytes: 1,
            fan_in: 4,
        });
        for i in (0..1000).rev() {
            runs.push(row(&format!("k{i:04}"))).unwrap();
            assert!(runs.levels.iter().all(|l| l.len() < 4));
        }
        assert!(runs.levels.len() <= 6, "{} levels", runs.levels.len());
        let sorted = runs.merge().unwrap();
        assert_eq!(sorted.rows, 1000);
        let keys: Vec<String> = sorted
            .span(&KeyRange::all())
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect();
        let want: Vec<String> = (0..1000).map(|i| format!("k{i:04}")).collect();
        assert_eq!(keys, want);
    }

    proptest! {
        /// Whatever the run size and ranges: every key in the ranges comes
        /// out once, sorted within a chunk, and the chunk spans partition
        /// the ranges exactly; `span` finds exactly a span's keys.
        #[test]
        fn chunks_partition_the_ranges(
            keys in proptest::collection::btree_set("[a-d/é]{1,5}", 0..300),
            run_bytes in 64usize..4096,
            fan_in in 2usize..6,
            cut in proptest::option::of(("[a-d]{1,3}", "[a-d]{1,3}")),
        ) {
            let keys: Vec<String> = keys.into_iter().rev().collect(); // unsorted input
            let ranges = cut.map(|(a, b)| {
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                vec![KeyRange::new(None, Some(lo.clone())), KeyRange::new(Some(hi), None)]
            });
            let rows = sorted(&keys, run_bytes, fan_in);
            let probe = KeyRange::new(Some("b".into()), Some("c".into()));
            let in_probe: Vec<String> = rows.span(&probe).unwrap().into_iter().map(|e| e.key).collect();
            let mut want_probe: Vec<String> = keys.iter().filter(|k| probe.contains(k)).cloned().collect();
            want_probe.sort();
            prop_assert_eq!(in_probe, want_probe);
            let chunks = collect(rows, ranges.clone());
            let wanted: Vec<KeyRange> = ranges.unwrap_or_else(|| vec![KeyRange::all()]);
            let mut got: Vec<String> = Vec::new();
            let mut spans = crate::listing::RangeSet::new();
            for c in &chunks {
                prop_assert!(c.items.windows(2).all(|w| w[0].entry.key < w[1].entry.key));
                for r in &c.items {
                    prop_assert!(c.span.contains(&r.entry.key));
                    got.push(r.entry.key.clone());
                }
                spans.insert(c.span.clone());
            }
            let mut want: Vec<String> = keys.iter().filter(|k| wanted.iter().any(|r| r.contains(k))).cloned().collect();
            want.sort();
            got.sort();
            prop_assert_eq!(got, want);
            // The spans cover the ranges (merged, they are the ranges).
            let mut expected = crate::listing::RangeSet::new();
            for r in wanted.iter().filter(|r| !r.is_empty()) {
                expected.insert(r.clone());
            }
            prop_assert_eq!(spans, expected);
        }
    }
}
