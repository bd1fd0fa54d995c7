//! Balanced split points for `--shard i/N` across machines.
//!
//! `--emit-splits N` records, per listed chunk, its span and how many entries
//! it held (one small record per page, never the keys), then picks the chunk
//! boundaries closest to each N-th of the total. The points are accurate to a
//! page (1,000 keys), which is plenty to balance millions of keys.
//!
//! The file format is one split point per line, written as a JSON string so
//! that any key (newlines included) survives; lines that do not start with
//! `"` are taken literally, so a hand-written file of plain keys works too.

use std::io::{self, BufRead, Write};
use std::path::Path;

use mc_aws_common::listing::KeyRange;

/// Per-chunk counts, gathered while listing.
#[derive(Debug, Default, Clone)]
pub struct SplitRecorder {
    chunks: Vec<(KeyRange, u64)>,
}

impl SplitRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one chunk: its span and how many entries it held.
    pub fn record(&mut self, span: &KeyRange, entries: u64) {
        self.chunks.push((span.clone(), entries));
    }

    /// Up to `n - 1` increasing split points that cut the recorded entries
    /// into `n` slices of about equal size.
    pub fn split_points(mut self, n: usize) -> Vec<String> {
        if n < 2 {
            return Vec::new();
        }
        // Spans partition the key space: ordering them by lower end orders them.
        self.chunks.sort_by(|a, b| a.0.after.cmp(&b.0.after));
        let total: u64 = self.chunks.iter().map(|c| c.1).sum();
        // Cumulative count at the upper end of each bounded span.
        let mut bounds: Vec<(u64, String)> = Vec::with_capacity(self.chunks.len());
        let mut acc = 0u64;
        for (span, entries) in self.chunks {
            acc += entries;
            if let Some(upto) = span.upto {
                bounds.push((acc, upto));
            }
        }
        let mut out: Vec<String> = Vec::with_capacity(n - 1);
        let mut from = 0usize;
        for i in 1..n as u64 {
            let target = (u128::from(total) * u128::from(i) / n as u128) as u64;
            // The first boundary at or past the target, or the one just before it if closer.
            let mut j = from + bounds[from..].partition_point(|b| b.0 < target);
            if j > from && (j == bounds.len() || target - bounds[j - 1].0 < bounds[j].0 - target) {
                j -= 1;
            }
            let Some((_, key)) = bounds.get(j) else {
                break;
            };
            if out.last().is_none_or(|last| key > last) {
                out.push(key.clone());
            }
            from = j;
        }
        out
    }
}

/// Writes split points, one JSON string per line.
pub fn write_points(mut w: impl Write, points: &[String]) -> io::Result<()> {
    for p in points {
        serde_json::to_writer(&mut w, p).map_err(io::Error::other)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Why a splits file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SplitsError {
    #[error("cannot read the splits file {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}:{line}: not a JSON string: {message}")]
    Json {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: split points must be in increasing order ({prev:?} then {next:?})")]
    Unordered {
        path: String,
        prev: String,
        next: String,
    },
    #[error("{path}: has {found} split points; --shard {shard} needs {needed} (N - 1)")]
    Count {
        path: String,
        found: usize,
        needed: usize,
        shard: String,
    },
    #[error("{path}: split point {point:?} is outside the prefix {prefix:?}")]
    OutsidePrefix {
        path: String,
        point: String,
        prefix: String,
    },
}

/// Reads split points written by [`write_points`] (or plain lines). Blank lines are skipped.
pub fn read_points(path: &Path) -> Result<Vec<String>, SplitsError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| SplitsError::Io {
        path: name.clone(),
        source,
    })?;
    let mut out: Vec<String> = Vec::new();
    for (i, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| SplitsError::Io {
            path: name.clone(),
            source,
        })?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let point = if line.starts_with('"') {
            serde_json::from_str::<String>(line).map_err(|e| SplitsError::Json {
                path: name.clone(),
                line: i + 1,
                message: e.to_string(),
            })?
        } else {
            line.to_string()
        };
        if let Some(prev) = out.last() {
            if &point <= prev {
                return Err(SplitsError::Unordered {
                    path: name,
                    prev: prev.clone(),
                    next: point,
                });
            }
        }
        out.push(point);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(a: Option<&str>, u: Option<&str>) -> KeyRange {
        KeyRange::new(a.map(String::from), u.map(String::from))
    }

    #[test]
    fn balanced_points_from_out_of_order_chunks() {
        let mut r = SplitRecorder::new();
        // 4 chunks of 10, recorded out of order; the last one is unbounded.
        r.record(&span(Some("c"), Some("d")), 10);
        r.record(&span(None, Some("b")), 10);
        r.record(&span(Some("d"), None), 10);
        r.record(&span(Some("b"), Some("c")), 10);
        assert_eq!(r.clone().split_points(2), ["c"]);
        assert_eq!(r.clone().split_points(4), ["b", "c", "d"]);
        // More slices than chunks: fewer points, never duplicates.
        let pts = r.clone().split_points(10);
        assert!(pts.windows(2).all(|w| w[0] < w[1]), "{pts:?}");
        assert!(r.split_points(1).is_empty());
        assert!(SplitRecorder::new().split_points(4).is_empty());
    }

    #[test]
    fn skewed_chunks_still_balance() {
        let mut r = SplitRecorder::new();
        r.record(&span(None, Some("a")), 1);
        for (i, k) in ["h1", "h2", "h3", "h4", "h5", "h6"].iter().enumerate() {
            let after = if i == 0 {
                "a"
            } else {
                ["h1", "h2", "h3", "h4", "h5"][i - 1]
            };
            r.record(&span(Some(after), Some(k)), 100);
        }
        r.record(&span(Some("h6"), None), 1);
        assert_eq!(r.split_points(3), ["h2", "h4"]);
    }

    #[test]
    fn file_round_trip_with_awkward_keys() {
        let dir = std::env::temp_dir().join(format!("s3kc-splits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("splits");
        let points = vec![
            "a b".to_string(),
            "line\nbreak".into(),
            "quote\"d".into(),
            "日本/😀".into(),
        ];
        write_points(std::fs::File::create(&path).unwrap(), &points).unwrap();
        assert_eq!(read_points(&path).unwrap(), points);
        std::fs::write(&path, "plain/1\n\nplain/2\n").unwrap();
        assert_eq!(read_points(&path).unwrap(), ["plain/1", "plain/2"]);
        std::fs::write(&path, "b\na\n").unwrap();
        assert!(matches!(
            read_points(&path),
            Err(SplitsError::Unordered { .. })
        ));
        std::fs::write(&path, "\"broken\n").unwrap();
        assert!(matches!(read_points(&path), Err(SplitsError::Json { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
