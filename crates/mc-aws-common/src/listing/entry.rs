//! What a listing (or an inventory report) says about one object.

use std::borrow::Cow;

use serde::Serialize;

/// What a listing returns per object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectEntry {
    pub key: String,
    pub size: u64,
    /// As S3 returns it, with quotes removed; multipart ETags end in `-N`.
    pub etag: String,
    /// The usual classes are shared statics: one allocation fewer per key.
    pub storage_class: Option<Cow<'static, str>>,
    /// Seconds since the epoch.
    pub last_modified: Option<i64>,
}

/// How much of each listed object to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Detail {
    /// Every field of [`ObjectEntry`].
    #[default]
    Full,
    /// Key, size and storage class only: `etag` stays empty and
    /// `last_modified` `None` (for counting: an allocation and a date parse
    /// fewer per key).
    Counts,
}

/// `name` as a static when it is one of S3's storage classes.
pub fn storage_class(name: &str) -> Cow<'static, str> {
    // Nearly every object's: no search.
    if name == "STANDARD" {
        return Cow::Borrowed("STANDARD");
    }
    match aws_sdk_s3::types::ObjectStorageClass::values()
        .iter()
        .find(|k| **k == name)
    {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(name.to_owned()),
    }
}

/// Seconds since the epoch of an RFC 3339 timestamp as S3 writes it
/// (`2024-08-21T15:28:26.000Z`).
pub(crate) fn rfc3339_secs(s: &str) -> Option<i64> {
    aws_smithy_types::DateTime::from_str(s, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .map(|t| t.secs())
}
