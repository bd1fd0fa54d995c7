//! S3 Inventory as a key source, beside the live lister: find the latest
//! complete report of a bucket, and stream its rows.
//!
//! A report is `manifest.json` (checked against `manifest.checksum`, the
//! MD5 of its bytes) and data files (CSV.gz or Parquet; ORC is refused: no
//! maintained Rust reader without Arrow), each with its size and MD5 in the
//! manifest. "Latest complete" means: the newest report folder whose
//! manifest matches its checksum and whose every data file is present with
//! the manifest's size; each file's MD5 is checked as it is read, and a
//! mismatch fails the whole read (nothing half-counted is ever reported as
//! a count). Rows stream through a bounded channel, a few files at a time,
//! so memory stays bounded whatever the report's size.
//!
//! Reports live in the inventory bucket, a side of its own (profile, role,
//! region; possibly another account, possibly SSE-KMS), or in a local copy
//! of it. Layout (AWS's): `<prefix>/<source-bucket>/<config-id>/
//! YYYY-MM-DDTHH-MMZ/manifest.json` and `.../data/<file>.csv.gz`.

mod acl;
mod manifest;
mod open;
mod parquet_rows;
mod rows;
mod sorted;
mod store;

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use md5::{Digest, Md5};
use tokio::sync::mpsc;

pub use acl::InventoryAcl;
pub use manifest::{DataFile, Field, Format, Manifest};
pub use open::{Coverage, InventoryArgs, SideInventoryArgs};
pub use rows::InventoryRow;
pub use sorted::{SortBudget, SortedRow, SortedRows};
pub use store::Store;

use crate::error::ToolError;
use crate::listing::Detail;
use rows::Layout;

/// Rows per message on the channel.
const ROWS_PER_BATCH: usize = 2048;
/// Batches buffered ahead of the consumer.
const BATCHES_AHEAD: usize = 4;

/// A complete report, ready to read.
pub struct Report {
    pub store: Arc<Store>,
    /// The folder of its manifest (`.../config-id/2026-12-06T01-00Z/`).
    pub folder: String,
    pub manifest: Manifest,
    pub format: Format,
    pub columns: Vec<Field>,
    /// When S3 began scanning the bucket for it.
    pub created: SystemTime,
}

/// Whether a folder name is a report's timestamp (`2016-11-06T21-32Z/`).
fn is_report_folder(prefix: &str) -> bool {
    let name = prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    let b = name.as_bytes();
    b.len() == 17
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b'-'
        && b[16] == b'Z'
        && name
            .bytes()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16) || c.is_ascii_digit())
}

impl Report {
    /// The latest complete report at `prefix` of `store`, for
    /// `source_bucket`. `prefix` may be a report folder, the folder of one
    /// inventory configuration (`.../source-bucket/config-id/`), or a
    /// folder above it holding just one configuration.
    pub async fn latest(
        store: Arc<Store>,
        prefix: &str,
        source_bucket: &str,
    ) -> Result<Self, ToolError> {
        let prefix = normalise(prefix);
        let candidates = candidates(&store, &prefix, source_bucket).await?;
        let mut skipped = Vec::new();
        for folder in candidates {
            match Self::load(store.clone(), &folder).await? {
                Ok(report) => {
                    for note in &skipped {
                        tracing::warn!("{note}");
                    }
                    return report.for_bucket(source_bucket);
                }
                Err(why) => skipped.push(why),
            }
        }
        let tried = if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", skipped.join("; "))
        };
        Err(ToolError::NotFound {
            what: store.describe(&prefix),
            code: format!("no complete S3 Inventory report{tried}"),
        })
    }

    /// The report in `folder`, or why it is not complete.
    async fn load(store: Arc<Store>, folder: &str) -> Result<Result<Self, String>, ToolError> {
        let where_ = store.describe(folder);
        let (json, sum) = (
            store.get(&format!("{folder}manifest.json")).await?,
            store.get(&format!("{folder}manifest.checksum")).await?,
        );
        let (Some(json), Some(sum)) = (json, sum) else {
            return Ok(Err(format!(
                "{where_}: no manifest.json and manifest.checksum (still being written?)"
            )));
        };
        let manifest = match Manifest::parse_checked(&json, &sum, &where_) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let invalid = |message: String| ToolError::Invalid {
            what: where_.clone(),
            message,
        };
        let format = manifest.format().map_err(invalid)?;
        let columns = manifest.columns().map_err(invalid)?;
        for file in &manifest.files {
            match store.size(&file.key).await? {
                Some(size) if size == file.size => {}
                Some(size) => {
                    return Ok(Err(format!(
                        "{where_}: data file {} is {size} bytes, the manifest says {}",
                        file.key, file.size
                    )))
                }
                None => {
                    return Ok(Err(format!(
                        "{where_}: data file {} is missing",
                        store.describe(&file.key)
                    )))
                }
            }
        }
        let created = manifest
            .created_ms()
            .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Ok(Ok(Self {
            store,
            folder: folder.to_string(),
            manifest,
            format,
            columns,
            created,
        }))
    }

    /// Refuses a report of another bucket, or in a format we cannot read.
    fn for_bucket(self, source_bucket: &str) -> Result<Self, ToolError> {
        let what = self.store.describe(&self.folder);
        if self.manifest.source_bucket != source_bucket {
            return Err(ToolError::Invalid {
                what,
                message: format!(
                    "an inventory of bucket {}, not of {source_bucket}",
                    self.manifest.source_bucket
                ),
            });
        }
        if self.format == Format::Orc {
            return Err(ToolError::Invalid {
                what,
                message: "an ORC report: no maintained Rust reader reads ORC without Arrow; configure the inventory as CSV or Parquet".into(),
            });
        }
        Ok(self)
    }

    /// How old the report is.
    pub fn age(&self) -> Duration {
        SystemTime::now()
            .duration_since(self.created)
            .unwrap_or_default()
    }

    /// Whether the report lists every version (else only current ones).
    pub fn is_versioned(&self) -> bool {
        self.manifest.is_versioned()
    }

    /// Every row, in batches, reading `files_at_once` data files in
    /// parallel. A damaged file (MD5, truncated, malformed) ends the stream
    /// with its error.
    pub fn rows(
        self: &Arc<Self>,
        detail: Detail,
        files_at_once: usize,
    ) -> mpsc::Receiver<Result<Vec<InventoryRow>, ToolError>> {
        let (tx, rx) = mpsc::channel(BATCHES_AHEAD);
        let report = self.clone();
        tokio::spawn(async move {
            let slots = Arc::new(tokio::sync::Semaphore::new(files_at_once.max(1)));
            let mut tasks = tokio::task::JoinSet::new();
            for file in report.manifest.files.clone() {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (report, tx) = (report.clone(), tx.clone());
                tasks.spawn(async move {
                    let result = report.read_file(&file, detail, &tx).await;
                    drop(slot);
                    if let Err(e) = result {
                        let _ = tx.send(Err(e)).await;
                    }
                });
            }
            while tasks.join_next().await.is_some() {}
        });
        rx
    }

    /// Reads one data file on a blocking thread, sending its rows.
    async fn read_file(
        &self,
        file: &DataFile,
        detail: Detail,
        tx: &mpsc::Sender<Result<Vec<InventoryRow>, ToolError>>,
    ) -> Result<(), ToolError> {
        let reader = self.store.open(&file.key).await?;
        let what = self.store.describe(&file.key);
        let (format, layout, file) = (self.format, Layout::of(&self.columns), file.clone());
        let tx = tx.clone();
        let read = tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(ROWS_PER_BATCH);
            let mut emit = |row: InventoryRow| {
                batch.push(row);
                if batch.len() < ROWS_PER_BATCH {
                    return true;
                }
                let full = std::mem::replace(&mut batch, Vec::with_capacity(ROWS_PER_BATCH));
                tx.blocking_send(Ok(full)).is_ok()
            };
            let read = read_checked(reader, &file, format, &layout, detail, &mut emit);
            if read.is_ok() && !batch.is_empty() {
                let _ = tx.blocking_send(Ok(batch));
            }
            read
        });
        match read.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(ToolError::Invalid { what, message }),
            Err(e) => Err(ToolError::Other(format!("{what}: reader failed: {e}"))),
        }
    }
}

/// Reads a data file through an MD5 of its bytes, checked at the end.
fn read_checked(
    reader: Box<dyn Read + Send>,
    file: &DataFile,
    format: Format,
    layout: &Layout,
    detail: Detail,
    emit: &mut dyn FnMut(InventoryRow) -> bool,
) -> Result<(), String> {
    let mut hashed = Md5Reader {
        inner: reader,
        md5: Md5::new(),
        bytes: 0,
    };
    match format {
        Format::Csv => {
            rows::read_csv_gz(&mut hashed, layout, detail, &mut *emit)?;
            // Stopped early by the consumer: the rest still counts for the MD5.
            std::io::copy(&mut hashed, &mut std::io::sink()).map_err(|e| e.to_string())?;
            hashed.check(file)
        }
        Format::Parquet => {
            // Parquet is read from its end: a local copy first, checked
            // before a byte of it is believed.
            let mut local = tempfile::tempfile().map_err(|e| format!("a temp file: {e}"))?;
            std::io::copy(&mut hashed, &mut local).map_err(|e| e.to_string())?;
            hashed.check(file)?;
            parquet_rows::read_parquet(local, detail, &mut *emit).map(|_| ())
        }
        Format::Orc => Err("ORC is not read".into()),
    }
}

impl<R> Md5Reader<R> {
    /// Whether what was read is the file the manifest names.
    fn check(&self, file: &DataFile) -> Result<(), String> {
        let got: String = self
            .md5
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if got.eq_ignore_ascii_case(file.md5.trim()) {
            return Ok(());
        }
        Err(format!(
            "MD5 {got} does not match the manifest's {} ({} bytes read): damaged or replaced",
            file.md5, self.bytes
        ))
    }
}

/// A reader that hashes what passes through it.
struct Md5Reader<R> {
    inner: R,
    md5: Md5,
    bytes: u64,
}

impl<R: Read> Read for Md5Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

fn normalise(prefix: &str) -> String {
    let p = prefix.trim_start_matches('/');
    match p.strip_suffix("manifest.json") {
        Some(folder) => folder.to_string(),
        None if p.is_empty() || p.ends_with('/') => p.to_string(),
        None => format!("{p}/"),
    }
}

/// The report folders to try, newest first.
async fn candidates(
    store: &Store,
    prefix: &str,
    source_bucket: &str,
) -> Result<Vec<String>, ToolError> {
    if is_report_folder(prefix) {
        return Ok(vec![prefix.to_string()]);
    }
    let mut at = prefix.to_string();
    // Down at most two levels (source bucket, configuration) to the reports.
    for _ in 0..3 {
        let folders = store.folders(&at).await?;
        let mut reports: Vec<String> = folders
            .iter()
            .filter(|f| is_report_folder(f))
            .cloned()
            .collect();
        if !reports.is_empty() {
            reports.sort();
            reports.reverse();
            return Ok(reports);
        }
        let other: Vec<&String> = folders
            .iter()
            .filter(|f| !f.ends_with("hive/") && !f.ends_with("data/"))
            .collect();
        at = match other.as_slice() {
            [one] => (*one).clone(),
            many => match many.iter().find(|f| {
                f.trim_end_matches('/')
                    .ends_with(&format!("/{source_bucket}"))
                    || f.trim_end_matches('/') == source_bucket
            }) {
                Some(f) => (*f).clone(),
                None if many.is_empty() => break,
                None => {
                    return Err(ToolError::Invalid {
                        what: store.describe(&at),
                        message: format!(
                            "holds several inventories ({}): name one of them",
                            many.iter()
                                .map(|f| f.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
                }
            },
        };
    }
    Err(ToolError::NotFound {
        what: store.describe(prefix),
        code: "no S3 Inventory report folders (YYYY-MM-DDTHH-MMZ/) below it".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_folders_are_timestamps() {
        assert!(is_report_folder("inv/src/cfg/2016-11-06T21-32Z/"));
        assert!(is_report_folder("2016-11-06T21-32Z"));
        assert!(!is_report_folder("inv/src/cfg/data/"));
        assert!(!is_report_folder("inv/src/cfg/hive/"));
        assert!(!is_report_folder("2016-11-06T21:32Z/"));
    }

    #[test]
    fn locations_normalise_to_folders() {
        assert_eq!(normalise("inv/src/cfg"), "inv/src/cfg/");
        assert_eq!(
            normalise("inv/x/2016-11-06T21-32Z/manifest.json"),
            "inv/x/2016-11-06T21-32Z/"
        );
        assert_eq!(normalise(""), "");
    }
}
