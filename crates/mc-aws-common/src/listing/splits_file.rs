//! Split-point files for `--shard i/N --splits FILE`: N - 1 increasing keys
//! that cut a key space into N slices (written by `s3-key-counter
//! --emit-splits N`, read by every tool that takes `--shard`).
//!
//! One split point per line, written as a JSON string so that any key
//! (newlines included) survives; lines that do not start with `"` are taken
//! literally, so a hand-written file of plain keys works too.

use std::io::{self, BufRead, Write};
use std::path::Path;

use crate::cli::Shard;

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
    #[error("{path}: has {found} split points, more than --shard {shard} can use ({needed}, N - 1): keys past the last slice would be left out")]
    TooMany {
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

/// A short, stable fingerprint of split points (FNV-1a, 64 bits, in hex),
/// so that a checkpoint can tell whether it was made with the same file.
pub fn fingerprint(points: &[String]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in points {
        for b in p.bytes().chain(std::iter::once(b'\n')) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

impl From<SplitsError> for crate::error::ToolError {
    fn from(e: SplitsError) -> Self {
        match e {
            SplitsError::Io { path, source } => crate::error::ToolError::File {
                path: format!("--splits {path}"),
                source,
            },
            other => crate::error::ToolError::Invalid {
                what: "--splits".into(),
                message: other.to_string(),
            },
        }
    }
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

/// Checks `points` (read from `path`) for `--shard` under `prefix`. Fewer
/// points than N - 1 still cover every key: with k points, slice k gets
/// everything after the last one and slices k + 1 to N - 1 get nothing (the
/// answer is a note saying so); more points would leave keys out.
pub fn check_for_shard(
    points: &[String],
    path: &Path,
    shard: Shard,
    prefix: &str,
) -> Result<Option<String>, SplitsError> {
    let name = || path.display().to_string();
    let needed = shard.count as usize - 1;
    if points.len() > needed {
        return Err(SplitsError::TooMany {
            path: name(),
            found: points.len(),
            needed,
            shard: shard.to_string(),
        });
    }
    if let Some(p) = points.iter().find(|p| !p.starts_with(prefix)) {
        return Err(SplitsError::OutsidePrefix {
            path: name(),
            point: p.clone(),
            prefix: prefix.to_string(),
        });
    }
    Ok((points.len() < needed).then(|| {
        format!(
            "{}: {} split points for {} slices: slices {} to {} have no keys",
            name(),
            points.len(),
            shard.count,
            points.len() + 1,
            needed
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn checks_points_against_the_shard() {
        let path = Path::new("splits");
        let shard = |s: &str| s.parse::<Shard>().unwrap();
        let pts = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_for_shard(&pts(&["a/1", "a/2"]), path, shard("0/3"), "a/").unwrap(),
            None
        );
        let note = check_for_shard(&pts(&["a/1"]), path, shard("2/4"), "a/")
            .unwrap()
            .unwrap();
        // Slice 1 holds everything after the one point.
        assert_eq!(
            note,
            "splits: 1 split points for 4 slices: slices 2 to 3 have no keys"
        );
        assert!(matches!(
            check_for_shard(&pts(&["a", "b", "c"]), path, shard("0/3"), ""),
            Err(SplitsError::TooMany {
                found: 3,
                needed: 2,
                ..
            })
        ));
        assert!(matches!(
            check_for_shard(&pts(&["b/1"]), path, shard("0/2"), "a/"),
            Err(SplitsError::OutsidePrefix { .. })
        ));
    }
}
