//! S3 Batch Operations CSV manifests (`S3BatchOperations_CSV_20180820`):
//! one object a row, `bucket,key[,version id]`, no header, the key (and
//! version id) URL-encoded as AWS requires.
//!
//! Every byte but RFC 3986's unreserved ones and `/` is percent-encoded
//! (a space is `%20`, never `+`), so the rows need no CSV quoting and decode
//! the same under form decoding (S3's reading of `+`) and plain
//! percent-decoding.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mc_aws_common::error::ToolError;
use mc_aws_common::keys::decode_event_key;
use mc_aws_common::listing::ObjectEntry;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::cost::CopyProfile;

/// What is left as is in a manifest's keys.
const MANIFEST: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The manifest format's name in CreateJob.
pub const FORMAT: &str = "S3BatchOperations_CSV_20180820";

/// One row of a manifest, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

/// Writes one row.
pub fn write_row(
    out: &mut impl Write,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> std::io::Result<()> {
    write!(out, "{bucket},{}", utf8_percent_encode(key, MANIFEST))?;
    if let Some(v) = version_id {
        write!(out, ",{}", utf8_percent_encode(v, MANIFEST))?;
    }
    out.write_all(b"\n")
}

/// The manifest's `Fields` in CreateJob.
pub fn fields(versions: bool) -> &'static [&'static str] {
    if versions {
        &["Bucket", "Key", "VersionId"]
    } else {
        &["Bucket", "Key"]
    }
}

/// Reads a manifest (ours, or any in the documented format, quoted or
/// not): rows with their keys decoded; a bad row is an error naming its line.
pub fn read_rows(input: impl Read) -> impl Iterator<Item = Result<Row, String>> {
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    reader
        .into_records()
        .enumerate()
        .map(|(i, r)| row(i + 1, r.map_err(|e| e.to_string())?))
}

fn row(line: usize, r: csv::StringRecord) -> Result<Row, String> {
    let bad = |what: &str| format!("line {line}: {what}");
    if !(2..=3).contains(&r.len()) {
        return Err(bad("expected bucket,key[,version id]"));
    }
    let bucket = r[0].trim().to_string();
    if bucket.is_empty() {
        return Err(bad("no bucket"));
    }
    let key = decode_event_key(&r[1]).map_err(|e| bad(&e.to_string()))?;
    let version_id = match r.get(2).filter(|v| !v.is_empty()) {
        Some(v) => Some(decode_event_key(v).map_err(|e| bad(&e.to_string()))?),
        None => None,
    };
    Ok(Row {
        bucket,
        key,
        version_id,
    })
}

/// Where a run's diff goes: rows written to a local file as chunks finish
/// (memory stays flat), and the profile of what they name.
pub struct Sink {
    bucket: String,
    path: PathBuf,
    out: Mutex<State>,
}

struct State {
    writer: BufWriter<File>,
    profile: CopyProfile,
    error: Option<std::io::Error>,
}

impl Sink {
    /// Creates (truncates) `path` for rows of `bucket`.
    pub fn create(path: &Path, bucket: &str) -> Result<Self, ToolError> {
        let file = File::create(path).map_err(|e| ToolError::file(path, e))?;
        Ok(Self {
            bucket: bucket.to_string(),
            path: path.to_path_buf(),
            out: Mutex::new(State {
                writer: BufWriter::with_capacity(1 << 20, file),
                profile: CopyProfile::default(),
                error: None,
            }),
        })
    }

    /// Adds the objects of one finished chunk.
    pub fn add<'a>(&self, objects: impl IntoIterator<Item = &'a ObjectEntry>) {
        let mut s = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let s = &mut *s;
        for e in objects {
            if s.error.is_some() {
                return;
            }
            match write_row(&mut s.writer, &self.bucket, &e.key, None) {
                Ok(()) => s.profile.add_object(e.size, e.storage_class.as_deref()),
                Err(err) => s.error = Some(err),
            }
        }
    }

    /// Flushes the file: what the rows name, or the first write error.
    pub fn finish(&self) -> Result<CopyProfile, ToolError> {
        let mut s = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = s.error.take() {
            return Err(ToolError::file(&self.path, e));
        }
        s.writer
            .flush()
            .map_err(|e| ToolError::file(&self.path, e))?;
        Ok(s.profile.clone())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn written(rows: &[(&str, &str, Option<&str>)]) -> String {
        let mut out = Vec::new();
        for (b, k, v) in rows {
            write_row(&mut out, b, k, *v).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn awkward_keys_are_url_encoded_without_quoting() {
        let text = written(&[
            ("b", "a b+c,d\"e%f?g#h", None),
            ("b", "dir/日本/ü\n\r\ttab", Some("3/L4kqtJl+cR")),
        ]);
        assert_eq!(
            text,
            "b,a%20b%2Bc%2Cd%22e%25f%3Fg%23h\n\
             b,dir/%E6%97%A5%E6%9C%AC/%C3%BC%0A%0D%09tab,3/L4kqtJl%2BcR\n"
        );
        let back: Vec<Row> = read_rows(text.as_bytes()).map(Result::unwrap).collect();
        assert_eq!(back[0].key, "a b+c,d\"e%f?g#h");
        assert_eq!(back[1].version_id.as_deref(), Some("3/L4kqtJl+cR"));
    }

    #[test]
    fn reads_the_documented_examples_and_refuses_bad_rows() {
        // From AWS's "Specifying a manifest" (quoted and unquoted rows).
        let doc = "Examplebucket,objectkey1\nExamplebucket,objectkey2\n\
                   \"examplebucket\",\"photos/jpgs/photo1.jpg\",\"PZ9ibn9D5lP6p298B7S9_ceqx1n5EJ0p\"\n";
        let rows: Vec<Row> = read_rows(doc.as_bytes()).map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].key, "photos/jpgs/photo1.jpg");
        assert_eq!(
            rows[2].version_id.as_deref(),
            Some("PZ9ibn9D5lP6p298B7S9_ceqx1n5EJ0p")
        );
        let bad: Vec<_> = read_rows("b\n".as_bytes()).collect();
        assert_eq!(
            bad[0].as_ref().unwrap_err(),
            "line 1: expected bucket,key[,version id]"
        );
        let bad: Vec<_> = read_rows("b,%FF\n".as_bytes()).collect();
        assert!(bad[0].as_ref().unwrap_err().starts_with("line 1:"));
    }

    #[test]
    fn the_sink_writes_rows_and_profiles_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        let sink = Sink::create(&path, "src").unwrap();
        let e = |k: &str, size: u64, class: Option<&'static str>| ObjectEntry {
            key: k.into(),
            size,
            etag: String::new(),
            storage_class: class.map(Into::into),
            last_modified: None,
        };
        sink.add(&[e("a b", 5, None), e("c", 7, Some("STANDARD_IA"))]);
        let p = sink.finish().unwrap();
        assert_eq!((p.objects, p.bytes, p.largest), (2, 12, 7));
        assert_eq!(p.classes.len(), 2);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "src,a%20b\nsrc,c\n"
        );
    }

    proptest! {
        /// Any key (any Unicode, commas, quotes, newlines, '+', '%') comes back as written.
        #[test]
        fn keys_round_trip(key in "\\PC{1,40}|[ ,\"+%\\n\\r/a-z]{1,20}", version in proptest::option::of("[A-Za-z0-9._+/=-]{1,32}")) {
            let text = written(&[("bucket", &key, version.as_deref())]);
            prop_assert_eq!(text.lines().count(), 1);
            let rows: Vec<Row> = read_rows(text.as_bytes()).map(Result::unwrap).collect();
            prop_assert_eq!(&rows[0].key, &key);
            prop_assert_eq!(&rows[0].version_id, &version);
        }
    }
}
