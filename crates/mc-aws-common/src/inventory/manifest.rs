//! An S3 Inventory report's `manifest.json`: what the report is of, when it
//! was made, its format, the columns of its data files (`fileSchema`), and
//! the data files with their sizes and MD5s.

use md5::{Digest, Md5};
use serde::Deserialize;

use crate::error::ToolError;

/// `manifest.json`, as S3 writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub source_bucket: String,
    /// The inventory bucket's ARN (`arn:aws:s3:::bucket`).
    pub destination_bucket: String,
    /// Milliseconds since the epoch, as a string: when S3 began scanning.
    pub creation_timestamp: String,
    pub file_format: String,
    pub file_schema: String,
    pub files: Vec<DataFile>,
}

/// One data file of a report.
#[derive(Debug, Clone, Deserialize)]
pub struct DataFile {
    /// Its key in the inventory bucket.
    pub key: String,
    pub size: u64,
    #[serde(rename = "MD5checksum")]
    pub md5: String,
}

/// The data files' format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Gzip-compressed CSV, no header, keys URL-encoded.
    Csv,
    /// Snappy-compressed Parquet.
    Parquet,
    /// ORC: read by no Rust crate without Arrow, so refused.
    Orc,
}

/// A column of a report, by what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Bucket,
    Key,
    VersionId,
    IsLatest,
    IsDeleteMarker,
    Size,
    LastModifiedDate,
    ETag,
    StorageClass,
    EncryptionStatus,
    ObjectAccessControlList,
    ObjectOwner,
    /// A column this reader does not use (replication status, Object Lock, ...).
    Other(String),
}

impl Field {
    /// From a CSV column name (`LastModifiedDate`) or an ORC/Parquet one
    /// (`last_modified_date`): the same names with the case folded and the
    /// underscores dropped.
    pub(crate) fn named(name: &str) -> Self {
        let folded: String = name
            .chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match folded.as_str() {
            "bucket" => Field::Bucket,
            "key" => Field::Key,
            "versionid" => Field::VersionId,
            "islatest" => Field::IsLatest,
            "isdeletemarker" => Field::IsDeleteMarker,
            "size" => Field::Size,
            "lastmodifieddate" => Field::LastModifiedDate,
            "etag" => Field::ETag,
            "storageclass" => Field::StorageClass,
            "encryptionstatus" => Field::EncryptionStatus,
            "objectaccesscontrollist" => Field::ObjectAccessControlList,
            "objectowner" => Field::ObjectOwner,
            _ => Field::Other(name.to_string()),
        }
    }
}

impl Manifest {
    /// Parses `manifest.json` after checking it against `manifest.checksum`
    /// (the MD5 of its bytes, in hex): a manifest that does not match is a
    /// report still being written, or damaged.
    pub fn parse_checked(json: &[u8], checksum: &[u8], what: &str) -> Result<Self, ToolError> {
        let want = String::from_utf8_lossy(checksum)
            .trim()
            .to_ascii_lowercase();
        let got = md5_hex(json);
        if want != got {
            return Err(ToolError::Invalid {
                what: what.to_string(),
                message: format!(
                    "manifest.json does not match manifest.checksum (MD5 {got}, checksum says {want:?}): the report is incomplete or damaged"
                ),
            });
        }
        serde_json::from_slice(json).map_err(|e| ToolError::Invalid {
            what: what.to_string(),
            message: format!("manifest.json is not an S3 Inventory manifest: {e}"),
        })
    }

    /// When S3 began scanning the bucket for this report, in milliseconds
    /// since the epoch.
    pub fn created_ms(&self) -> Option<i64> {
        self.creation_timestamp.trim().parse().ok()
    }

    pub fn format(&self) -> Result<Format, String> {
        match self.file_format.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            "orc" => Ok(Format::Orc),
            other => Err(format!("unknown inventory file format {other:?}")),
        }
    }

    /// The columns of the data files, in order, from `fileSchema`.
    pub fn columns(&self) -> Result<Vec<Field>, String> {
        let names = schema_names(&self.file_schema)?;
        let fields: Vec<Field> = names.iter().map(|n| Field::named(n)).collect();
        if !fields.contains(&Field::Key) {
            return Err(format!(
                "fileSchema has no Key column: {:?}",
                self.file_schema
            ));
        }
        Ok(fields)
    }

    /// Whether the report lists every version (it has version columns).
    pub fn is_versioned(&self) -> bool {
        self.columns()
            .is_ok_and(|c| c.contains(&Field::VersionId) || c.contains(&Field::IsLatest))
    }
}

/// The column names of a `fileSchema`: CSV's `Bucket, Key, Size`, ORC's
/// `struct<bucket:string,key:string>` or Parquet's `message s3.inventory {
/// required binary bucket (UTF8); ... }`.
fn schema_names(schema: &str) -> Result<Vec<String>, String> {
    let s = schema.trim();
    if let Some(inner) = s.strip_prefix("struct<").and_then(|r| r.strip_suffix('>')) {
        return Ok(inner
            .split(',')
            .filter_map(|f| f.split(':').next())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect());
    }
    if s.starts_with("message") {
        let body = s
            .split_once('{')
            .and_then(|(_, b)| b.rsplit_once('}'))
            .map(|(b, _)| b)
            .ok_or_else(|| format!("unreadable Parquet fileSchema {schema:?}"))?;
        return Ok(body
            .split(';')
            .filter_map(|f| {
                // `optional int64 size (TIMESTAMP_MILLIS)`: the name is the third word.
                let words: Vec<&str> = f.split_whitespace().collect();
                words.get(2).map(|n| n.trim_end_matches(';').to_string())
            })
            .collect());
    }
    Ok(s.split(',')
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect())
}

/// The MD5 of `bytes`, in lowercase hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = r#"{
        "sourceBucket": "example-source-bucket",
        "destinationBucket": "arn:aws:s3:::example-inventory-destination-bucket",
        "version": "2016-11-30",
        "creationTimestamp" : "1514944800000",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, ObjectLockLegalHoldStatus, IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm",
        "files": [{"key": "Inventory/example-source-bucket/2016-11-06T21-32Z/files/939c6d46-85a9-4ba8-87bd-9db705a579ce.csv.gz", "size": 2147483647, "MD5checksum": "f11166069f1990abeb9c97ace9cdfabc"}]
    }"#;

    /// AWS's documented examples parse, their checksums are checked.
    #[test]
    fn documented_manifests() {
        let sum = md5_hex(CSV.as_bytes());
        let m =
            Manifest::parse_checked(CSV.as_bytes(), format!("{sum}\n").as_bytes(), "m").unwrap();
        assert_eq!(m.format(), Ok(Format::Csv));
        assert_eq!(m.created_ms(), Some(1_514_944_800_000));
        assert!(m.is_versioned());
        let cols = m.columns().unwrap();
        assert_eq!(cols[..3], [Field::Bucket, Field::Key, Field::VersionId]);
        assert_eq!(cols[5], Field::Size);
        assert_eq!(m.files[0].md5, "f11166069f1990abeb9c97ace9cdfabc");
        let e = Manifest::parse_checked(CSV.as_bytes(), b"0123", "m").unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
    }

    #[test]
    fn orc_and_parquet_schemas() {
        let orc = "struct<bucket:string,key:string,version_id:string,is_latest:boolean,size:bigint,e_tag:string>";
        assert_eq!(
            schema_names(orc).unwrap(),
            ["bucket", "key", "version_id", "is_latest", "size", "e_tag"]
        );
        let parquet = "message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional int64 size; optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary object_access_control_list (UTF8); }";
        let fields: Vec<Field> = schema_names(parquet)
            .unwrap()
            .iter()
            .map(|n| Field::named(n))
            .collect();
        assert_eq!(
            fields,
            [
                Field::Bucket,
                Field::Key,
                Field::Size,
                Field::LastModifiedDate,
                Field::ObjectAccessControlList
            ]
        );
    }
}
