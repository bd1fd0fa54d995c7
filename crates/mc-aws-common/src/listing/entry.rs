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
    s3_timestamp_secs(s.as_bytes()).or_else(|| {
        aws_smithy_types::DateTime::from_str(s, aws_smithy_types::date_time::Format::DateTime)
            .ok()
            .map(|t| t.secs())
    })
}

/// The form S3 writes every timestamp in, `YYYY-MM-DDTHH:MM:SS.mmmZ`
/// (or without the fraction), read in a few nanoseconds instead of the
/// general parser's ~100; `None` for anything else, which the general
/// parser then reads (or refuses) as before.
fn s3_timestamp_secs(s: &[u8]) -> Option<i64> {
    use crate::calendar::{days_from_civil, days_in_month};
    let fraction = match s.len() {
        20 => false,
        24 => true,
        _ => return None,
    };
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        s[range].iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if punctuation.iter().any(|&(i, c)| s[i] != c) || s[s.len() - 1] != b'Z' {
        return None;
    }
    if fraction && (s[19] != b'.' || digits(20..23).is_none()) {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hh, mm, ss) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn general(s: &str) -> Option<i64> {
        aws_smithy_types::DateTime::from_str(s, aws_smithy_types::date_time::Format::DateTime)
            .ok()
            .map(|t| t.secs())
    }

    #[test]
    fn reads_s3_timestamps_as_the_general_parser() {
        for s in [
            "2024-08-21T15:28:26.000Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59.999Z",
            "1969-12-31T23:59:59.000Z",
            "2100-03-01T00:00:00Z",
        ] {
            assert_eq!(s3_timestamp_secs(s.as_bytes()), general(s), "{s}");
            assert!(general(s).is_some(), "{s}");
        }
        for s in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00+01:00",
            "2024-01-01T00:00:00.5Z",
        ] {
            assert_eq!(s3_timestamp_secs(s.as_bytes()), None, "{s}");
        }
        // What the fast path leaves, the general parser still reads.
        assert_eq!(
            rfc3339_secs("2024-01-01T00:00:00.5Z"),
            general("2024-01-01T00:00:00.5Z")
        );
    }

    proptest! {
        /// Any timestamp of S3's form, valid or not, reads as the general
        /// parser reads it.
        #[test]
        fn fast_path_agrees(
            y in 0i64..10_000, m in 0i64..14, d in 0i64..33,
            hh in 0i64..26, mm in 0i64..62, ss in 0i64..62, ms in proptest::option::of(0u32..1000),
        ) {
            let mut s = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
            if let Some(ms) = ms {
                s.push_str(&format!(".{ms:03}"));
            }
            s.push('Z');
            if let Some(fast) = s3_timestamp_secs(s.as_bytes()) {
                prop_assert_eq!(Some(fast), general(&s), "{}", s);
            } else {
                prop_assert_eq!(rfc3339_secs(&s), general(&s), "{}", s);
            }
        }
    }
}
