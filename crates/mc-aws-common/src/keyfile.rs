//! Key files: one S3 key per line (`--keys-from FILE`, `-` for stdin), read
//! in batches on a channel, bounded in memory whatever the file (a line is
//! at most an S3 key's 1024 bytes). Shared by acl-reconciler and
//! `s3-copier sync`.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

use crate::error::ToolError;

/// Lines per batch.
pub const LINES_PER_BATCH: u64 = 500;
/// S3 keys are at most 1024 bytes of UTF-8; a longer line is not a key.
const MAX_KEY_BYTES: usize = 1024;

/// Lines `first..first + count` of a key file (blank lines counted, not keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBatch {
    pub first: u64,
    pub count: u64,
    pub keys: Vec<String>,
}

/// Reads keys, one per line, from `path` (`-`: stdin), skipping the first
/// `skip` lines (already done), in batches of [`LINES_PER_BATCH`]. A file
/// that cannot be opened fails here; a bad line (not UTF-8, longer than a
/// key) arrives as the channel's last item.
pub async fn read_batches(
    path: &Path,
    skip: u64,
    buffer: usize,
) -> Result<mpsc::Receiver<Result<KeyBatch, ToolError>>, ToolError> {
    let reader: Box<dyn AsyncRead + Send + Unpin> = if path == Path::new("-") {
        Box::new(tokio::io::stdin())
    } else {
        Box::new(
            tokio::fs::File::open(path)
                .await
                .map_err(|e| ToolError::file(path, e))?,
        )
    };
    let (tx, rx) = mpsc::channel(buffer.max(1));
    let path = path.to_path_buf();
    tokio::spawn(async move {
        if let Err(e) = read_lines(reader, &path, skip, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    Ok(rx)
}

/// One line without its `\n` / `\r\n`; `None` at the end of the input.
async fn next_line(
    reader: &mut BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    buf: &mut Vec<u8>,
    path: &PathBuf,
) -> Result<Option<()>, ToolError> {
    buf.clear();
    // Bounded: a file without newlines must not be read into memory whole.
    let limit = (MAX_KEY_BYTES + 2) as u64;
    let n = reader
        .take(limit)
        .read_until(b'\n', buf)
        .await
        .map_err(|e| ToolError::file(path, e))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(()))
}

async fn read_lines(
    reader: Box<dyn AsyncRead + Send + Unpin>,
    path: &PathBuf,
    skip: u64,
    tx: &mpsc::Sender<Result<KeyBatch, ToolError>>,
) -> Result<(), ToolError> {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut batch = KeyBatch {
        first: skip,
        count: 0,
        keys: Vec::new(),
    };
    while next_line(&mut reader, &mut buf, path).await?.is_some() {
        let bad = |what: &str| {
            let line = std::io::Error::other(format!("line {}: {what}", line_no + 1));
            ToolError::file(path, line)
        };
        if buf.len() > MAX_KEY_BYTES {
            return Err(bad("longer than 1024 bytes, the longest S3 key"));
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            return Err(bad("not valid UTF-8"));
        };
        line_no += 1;
        if line_no <= skip {
            continue;
        }
        if !line.is_empty() {
            batch.keys.push(line.to_string());
        }
        batch.count += 1;
        if batch.count >= LINES_PER_BATCH {
            let next = KeyBatch {
                first: line_no,
                count: 0,
                keys: Vec::new(),
            };
            if tx
                .send(Ok(std::mem::replace(&mut batch, next)))
                .await
                .is_err()
            {
                return Ok(());
            }
        }
    }
    if batch.count > 0 {
        let _ = tx.send(Ok(batch)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all(path: &Path, skip: u64) -> Vec<Result<KeyBatch, ToolError>> {
        let mut rx = read_batches(path, skip, 4).await.unwrap();
        let mut out = Vec::new();
        while let Some(b) = rx.recv().await {
            out.push(b);
        }
        out
    }

    #[tokio::test]
    async fn batches_skip_and_strip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.txt");
        let mut text = String::new();
        for i in 0..(LINES_PER_BATCH + 3) {
            text.push_str(&format!("k{i}\r\n"));
        }
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        let batches: Vec<KeyBatch> = all(&path, 2)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].first, 2);
        assert_eq!(batches[0].count, LINES_PER_BATCH);
        assert_eq!(batches[0].keys[0], "k2");
        assert_eq!(batches[1].first, LINES_PER_BATCH + 2);
        // The blank last line counts as a line but yields no key.
        assert_eq!(batches[1].count, 2);
        assert_eq!(batches[1].keys, vec![format!("k{}", LINES_PER_BATCH + 2)]);
    }

    #[tokio::test]
    async fn bad_lines_end_the_stream_with_one_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.txt");
        std::fs::write(&path, b"ok\n\xff\xfe\n").unwrap();
        let got = all(&path, 0).await;
        let err = got.last().unwrap().as_ref().unwrap_err().to_string();
        assert!(err.contains("line 2: not valid UTF-8"), "{err}");
        std::fs::write(&path, vec![b'a'; 5000]).unwrap();
        let err = all(&path, 0).await.pop().unwrap().unwrap_err().to_string();
        assert!(err.contains("longer than 1024 bytes"), "{err}");
        let missing = read_batches(&dir.path().join("nope"), 0, 1).await;
        assert_eq!(missing.unwrap_err().exit_code(), crate::exit::NOT_FOUND);
    }
}
