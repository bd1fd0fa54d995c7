//! Where keys come from: the sharded lister (spans of the source key space)
//! or a key file. Both arrive as batches of [`Work`] on a channel, so the
//! driver can wait on them and on finished batches at once.

use std::path::Path;

use mc_aws_common::acl::Acl;
use mc_aws_common::error::ToolError;
use mc_aws_common::inventory::{InventoryAcl, SortedRow};
use mc_aws_common::listing::ObjectEntry;
use mc_aws_common::listing::{KeyRange, Listing};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

use crate::error::Error;

/// Keys per batch read from a key file.
pub const LINES_PER_BATCH: u64 = 500;
/// S3 keys are at most 1024 bytes of UTF-8; a longer line is not a key.
const MAX_KEY_BYTES: usize = 1024;

/// A source key, with its ACL when an inventory report gave it.
#[derive(Debug, Clone)]
pub struct SourceKey {
    pub key: String,
    pub acl: Option<Acl>,
}

impl mc_aws_common::twosided::Keyed for SourceKey {
    fn key(&self) -> &str {
        &self.key
    }
}

/// A batch of source keys and what finishing it records in the state.
#[derive(Debug)]
pub enum Work {
    /// All source keys of a span of the key space (listed, or from a report).
    Span {
        span: KeyRange,
        keys: Vec<SourceKey>,
    },
    /// Lines `first..first + count` of the key file (blank lines included).
    Lines {
        first: u64,
        count: u64,
        keys: Vec<String>,
    },
}

impl From<ObjectEntry> for SourceKey {
    fn from(o: ObjectEntry) -> Self {
        Self {
            key: o.key,
            acl: None,
        }
    }
}

impl From<SortedRow> for SourceKey {
    fn from(r: SortedRow) -> Self {
        Self {
            key: r.entry.key,
            acl: known(r.acl),
        }
    }
}

/// A report's ACL when it is known (an UNAVAILABLE one is read live).
pub fn known(acl: Option<InventoryAcl>) -> Option<Acl> {
    match acl {
        Some(InventoryAcl::Known(a)) => Some(a),
        _ => None,
    }
}

impl Work {
    /// Keys in the batch.
    pub fn len(&self) -> usize {
        match self {
            Work::Span { keys, .. } => keys.len(),
            Work::Lines { keys, .. } => keys.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Forwards the chunks of a source listing (or sorted report) as [`Work`].
pub fn from_listing<T: Into<SourceKey> + Send + 'static>(
    mut listing: Listing<T, ToolError>,
    buffer: usize,
) -> mpsc::Receiver<Result<Work, Error>> {
    let (tx, rx) = mpsc::channel(buffer.max(1));
    tokio::spawn(async move {
        while let Some(chunk) = listing.next().await {
            let work = chunk.map_err(Error::from).map(|c| Work::Span {
                span: c.span,
                keys: c.items.into_iter().map(Into::into).collect(),
            });
            if tx.send(work).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Reads keys, one per line, from `path` (`-`: stdin), skipping the first
/// `skip` lines (already done), in batches of [`LINES_PER_BATCH`].
pub async fn from_file(
    path: &Path,
    skip: u64,
    buffer: usize,
) -> Result<mpsc::Receiver<Result<Work, Error>>, Error> {
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

async fn read_lines(
    reader: Box<dyn AsyncRead + Send + Unpin>,
    path: &Path,
    skip: u64,
    tx: &mpsc::Sender<Result<Work, Error>>,
) -> Result<(), Error> {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut first = skip;
    let mut keys = Vec::new();
    loop {
        let bad = |what: &str| -> Error {
            let line = std::io::Error::other(format!("line {}: {what}", line_no + 1));
            ToolError::file(path, line).into()
        };
        buf.clear();
        // Bounded: a file without newlines must not be read into memory whole.
        let limit = (MAX_KEY_BYTES + 2) as u64;
        let n = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .await
            .map_err(|e| ToolError::file(path, e))?;
        if n == 0 {
            break;
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
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
            keys.push(line.to_string());
        }
        if line_no - first >= LINES_PER_BATCH {
            let work = Work::Lines {
                first,
                count: line_no - first,
                keys: std::mem::take(&mut keys),
            };
            first = line_no;
            if tx.send(Ok(work)).await.is_err() {
                return Ok(());
            }
        }
    }
    if line_no > first {
        let _ = tx
            .send(Ok(Work::Lines {
                first,
                count: line_no - first,
                keys,
            }))
            .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn key_file_batches_skip_and_strip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.txt");
        let mut text = String::new();
        for i in 0..(LINES_PER_BATCH + 3) {
            text.push_str(&format!("k{i}\r\n"));
        }
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        let mut rx = from_file(&path, 2, 4).await.unwrap();
        let mut batches = Vec::new();
        while let Some(w) = rx.recv().await {
            match w.unwrap() {
                Work::Lines { first, count, keys } => batches.push((first, count, keys)),
                Work::Span { .. } => unreachable!(),
            }
        }
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].0, 2);
        assert_eq!(batches[0].1, LINES_PER_BATCH);
        assert_eq!(batches[0].2[0], "k2");
        assert_eq!(batches[1].0, LINES_PER_BATCH + 2);
        // The blank last line counts as a line but yields no key.
        assert_eq!(batches[1].1, 2);
        assert_eq!(batches[1].2, vec![format!("k{}", LINES_PER_BATCH + 2)]);
    }
}
