//! The rows of a report's data files: what a row says of an object (or of a
//! version, in a report of every version), read from CSV.gz or Parquet.

use std::io::Read;

use crate::keys::decode_event_key;
use crate::listing::{rfc3339_secs, storage_class, Detail, ObjectEntry};

use super::acl::InventoryAcl;
use super::manifest::Field;

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRow {
    /// Key, size, ETag, storage class, last modified (with [`Detail::Counts`]:
    /// key, size and class only).
    pub entry: ObjectEntry,
    /// Versioned reports: the version (`None`: the null version).
    pub version_id: Option<String>,
    /// Current-version reports: always true.
    pub is_latest: bool,
    pub is_delete_marker: bool,
    /// The Object ACL field, when the report has it (and [`Detail::Full`]).
    pub acl: Option<InventoryAcl>,
    /// `SSE-S3`, `SSE-KMS`, `NOT-SSE`, ..., when the report has it.
    pub encryption: Option<String>,
}

/// Where each field is in a row (a CSV record's fields, a Parquet file's
/// leaf columns).
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    pub(super) key: usize,
    pub(super) size: Option<usize>,
    pub(super) etag: Option<usize>,
    pub(super) class: Option<usize>,
    pub(super) modified: Option<usize>,
    pub(super) version: Option<usize>,
    pub(super) latest: Option<usize>,
    pub(super) deleted: Option<usize>,
    pub(super) acl: Option<usize>,
    pub(super) owner: Option<usize>,
    pub(super) encryption: Option<usize>,
    width: usize,
}

impl Layout {
    /// The layout of the manifest's `fileSchema` (CSV).
    pub(crate) fn of(columns: &[Field]) -> Self {
        let at = |f: Field| columns.iter().position(|c| *c == f);
        Self::located(at, at(Field::Key).unwrap_or(1), columns.len())
    }

    /// Fields where `at` finds them, the key at `key`, `width` in all.
    pub(super) fn located(at: impl Fn(Field) -> Option<usize>, key: usize, width: usize) -> Self {
        Self {
            key,
            size: at(Field::Size),
            etag: at(Field::ETag),
            class: at(Field::StorageClass),
            modified: at(Field::LastModifiedDate),
            version: at(Field::VersionId),
            latest: at(Field::IsLatest),
            deleted: at(Field::IsDeleteMarker),
            acl: at(Field::ObjectAccessControlList),
            owner: at(Field::ObjectOwner),
            encryption: at(Field::EncryptionStatus),
            width,
        }
    }

    /// Without the fields `detail` does not read (a column reader not
    /// opened is a column not decompressed).
    pub(super) fn only(self, detail: Detail) -> Self {
        if detail == Detail::Full {
            return self;
        }
        Self {
            etag: None,
            modified: None,
            acl: None,
            owner: None,
            encryption: None,
            ..self
        }
    }

    /// A row from its fields as text (`get(i)`: field i, `None` when
    /// empty or null); `key_encoded`: CSV keys are URL-encoded.
    pub(crate) fn row<'a>(
        &self,
        get: impl Fn(usize) -> Option<&'a str>,
        key_encoded: bool,
        detail: Detail,
    ) -> Result<InventoryRow, String> {
        let raw_key = get(self.key).ok_or("a row without a key")?;
        let key = if key_encoded {
            decode_event_key(raw_key).map_err(|e| e.to_string())?
        } else {
            raw_key.to_string()
        };
        let full = detail == Detail::Full;
        let flag = |i: Option<usize>| {
            i.and_then(&get)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        };
        let size = match self.size.and_then(&get) {
            Some(s) => s
                .parse()
                .map_err(|_| format!("{key:?}: size {s:?} is not a number"))?,
            None => 0,
        };
        let acl = match self.acl.and_then(&get).filter(|_| full) {
            Some(field) => Some(
                InventoryAcl::decode(field, self.owner.and_then(&get))
                    .map_err(|e| format!("{key:?}: {e}"))?,
            ),
            None => None,
        };
        Ok(InventoryRow {
            entry: ObjectEntry {
                size,
                etag: if full {
                    self.etag
                        .and_then(&get)
                        .unwrap_or("")
                        .trim_matches('"')
                        .to_string()
                } else {
                    String::new()
                },
                storage_class: self.class.and_then(&get).map(storage_class),
                last_modified: self
                    .modified
                    .and_then(&get)
                    .filter(|_| full)
                    .and_then(rfc3339_secs),
                key,
            },
            version_id: self.version.and_then(&get).map(String::from),
            is_latest: self.latest.is_none() || flag(self.latest),
            is_delete_marker: flag(self.deleted),
            acl,
            encryption: self
                .encryption
                .and_then(&get)
                .filter(|_| full)
                .map(String::from),
        })
    }
}

/// Reads a gzip-compressed CSV data file (no header, every value quoted,
/// keys URL-encoded) and hands each row to `emit`, which returns `false` to
/// stop. Returns the rows read.
pub(crate) fn read_csv_gz(
    file: impl Read,
    layout: &Layout,
    detail: Detail,
    mut emit: impl FnMut(InventoryRow) -> bool,
) -> Result<u64, String> {
    let gz = flate2::read::MultiGzDecoder::new(file);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(gz);
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(rows),
            Ok(true) => {}
            Err(e) => return Err(format!("row {}: {e}", rows + 1)),
        }
        if record.len() != layout.width {
            return Err(format!(
                "row {}: {} fields, the manifest's fileSchema names {}",
                rows + 1,
                record.len(),
                layout.width
            ));
        }
        let get = |i: usize| record.get(i).filter(|v| !v.is_empty());
        let row = layout
            .row(get, true, detail)
            .map_err(|e| format!("row {}: {e}", rows + 1))?;
        rows += 1;
        if !emit(row) {
            return Ok(rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(text: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn csv_rows_decode_keys_and_versions() {
        let columns = [
            Field::Bucket,
            Field::Key,
            Field::VersionId,
            Field::IsLatest,
            Field::IsDeleteMarker,
            Field::Size,
            Field::StorageClass,
        ];
        let data = gz(concat!(
            "\"b\",\"a+b%2Bc/%C3%A9\",\"v1\",\"true\",\"false\",\"12\",\"STANDARD\"\n",
            "\"b\",\"gone\",\"v2\",\"true\",\"true\",\"\",\"\"\n",
        ));
        let mut rows = Vec::new();
        let n = read_csv_gz(&data[..], &Layout::of(&columns), Detail::Full, |r| {
            rows.push(r);
            true
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(rows[0].entry.key, "a b+c/é");
        assert_eq!(rows[0].entry.size, 12);
        assert_eq!(rows[0].version_id.as_deref(), Some("v1"));
        assert!(rows[0].is_latest && !rows[0].is_delete_marker);
        assert!(rows[1].is_delete_marker);
        assert_eq!(rows[1].entry.storage_class, None);
    }

    #[test]
    fn damaged_files_are_errors() {
        let columns = [Field::Bucket, Field::Key, Field::Size];
        let layout = Layout::of(&columns);
        let whole = gz("\"b\",\"k\",\"1\"\n\"b\",\"l\",\"2\"\n");
        let truncated = &whole[..whole.len() - 6];
        assert!(read_csv_gz(truncated, &layout, Detail::Full, |_| true).is_err());
        let short = gz("\"b\",\"k\"\n");
        let e = read_csv_gz(&short[..], &layout, Detail::Full, |_| true).unwrap_err();
        assert!(e.contains("fileSchema names 3"), "{e}");
        let bad = gz("\"b\",\"k\",\"x\"\n");
        assert!(read_csv_gz(&bad[..], &layout, Detail::Full, |_| true).is_err());
    }
}
