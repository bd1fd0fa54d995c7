//! Where keys come from: the sharded lister (spans of the source key space)
//! or a key file. Both arrive as batches of [`Work`] on a channel, so the
//! driver can wait on them and on finished batches at once.

use std::path::Path;

use mc_aws_common::acl::Acl;
use mc_aws_common::error::ToolError;
use mc_aws_common::inventory::{InventoryAcl, SortedRow};
use mc_aws_common::keyfile;
use mc_aws_common::listing::ObjectEntry;
use mc_aws_common::listing::{KeyRange, Listing};
use tokio::sync::mpsc;

use crate::error::Error;

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
/// `skip` lines (already done), in batches (the shared key-file reader).
pub async fn from_file(
    path: &Path,
    skip: u64,
    buffer: usize,
) -> Result<mpsc::Receiver<Result<Work, Error>>, Error> {
    let mut batches = keyfile::read_batches(path, skip, buffer).await?;
    let (tx, rx) = mpsc::channel(buffer.max(1));
    tokio::spawn(async move {
        while let Some(b) = batches.recv().await {
            let work = b.map_err(Error::from).map(|b| Work::Lines {
                first: b.first,
                count: b.count,
                keys: b.keys,
            });
            if tx.send(work).await.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn key_file_lines_become_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.txt");
        std::fs::write(&path, "a\n\nb\nc\n").unwrap();
        let mut rx = from_file(&path, 1, 4).await.unwrap();
        match rx.recv().await.unwrap().unwrap() {
            Work::Lines { first, count, keys } => {
                assert_eq!((first, count), (1, 3));
                assert_eq!(keys, ["b", "c"]);
            }
            Work::Span { .. } => unreachable!(),
        }
        assert!(rx.recv().await.is_none());
    }
}
