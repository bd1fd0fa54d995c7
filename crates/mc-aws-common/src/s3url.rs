//! `s3://bucket/prefix` URLs.

use std::fmt;
use std::str::FromStr;

/// A bucket and a key prefix (possibly empty), parsed from `s3://bucket[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3UrlError {
    #[error("{0:?} is not an S3 URL: expected s3://bucket[/prefix]")]
    Scheme(String),
    #[error("{0:?} has no bucket name: expected s3://bucket[/prefix]")]
    NoBucket(String),
    #[error("{url:?}: invalid bucket name {bucket:?}: {why}")]
    BadBucket {
        url: String,
        bucket: String,
        why: &'static str,
    },
}

impl FromStr for S3Url {
    type Err = S3UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("s3://")
            .or_else(|| s.strip_prefix("S3://"))
            .ok_or_else(|| S3UrlError::Scheme(s.to_string()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(S3UrlError::NoBucket(s.to_string()));
        }
        if let Some(why) = bucket_name_problem(bucket) {
            return Err(S3UrlError::BadBucket {
                url: s.to_string(),
                bucket: bucket.to_string(),
                why,
            });
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

/// Checks the rules every bucket must follow (3-63 characters of lowercase
/// letters, digits, '.', '-', '_' for legacy buckets; starting and ending
/// with a letter or digit). Returns why a name is invalid.
fn bucket_name_problem(name: &str) -> Option<&'static str> {
    if name.len() < 3 || name.len() > 255 {
        return Some("must be 3 to 63 characters long");
    }
    if !name.bytes().all(|b| {
        b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || b"-._".contains(&b)
            || b.is_ascii_uppercase()
    }) {
        return Some("may only contain letters, digits, '.', '-' and '_'");
    }
    let first_last_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !first_last_ok(name.as_bytes().first()) || !first_last_ok(name.as_bytes().last()) {
        return Some("must start and end with a letter or digit");
    }
    None
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

impl S3Url {
    /// The prefix, or None when it is empty (for SDK calls).
    pub fn prefix_opt(&self) -> Option<&str> {
        (!self.prefix.is_empty()).then_some(self.prefix.as_str())
    }

    /// The URL as a folder, as `aws s3 sync` reads `s3://bucket/dir`: a
    /// non-empty prefix gets a trailing `/`, so that `dir` does not also
    /// mean `dir2/` and `directory/`.
    pub fn into_folder(mut self) -> Self {
        if !self.prefix.is_empty() && !self.prefix.ends_with('/') {
            self.prefix.push('/');
        }
        self
    }

    /// Parses `s3://bucket[/folder]` as a folder (clap's value parser for the
    /// two-bucket tools, whose keys map by their path below the folders).
    pub fn parse_folder(s: &str) -> Result<S3Url, String> {
        s.parse::<S3Url>()
            .map(S3Url::into_folder)
            .map_err(|e| e.to_string())
    }

    /// Maps a key under this URL's prefix to the same relative key under `other`'s prefix.
    pub fn map_key(&self, key: &str, other: &S3Url) -> String {
        let rel = key.strip_prefix(self.prefix.as_str()).unwrap_or(key);
        format!("{}{rel}", other.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_end_with_a_slash() {
        let folder = |s: &str| s.parse::<S3Url>().unwrap().into_folder().prefix;
        assert_eq!(folder("s3://bkt"), "");
        assert_eq!(folder("s3://bkt/"), "");
        assert_eq!(folder("s3://bkt/img"), "img/");
        assert_eq!(folder("s3://bkt/img/"), "img/");
        assert_eq!(folder("s3://bkt/a b/c"), "a b/c/");
    }

    #[test]
    fn parses_bucket_and_prefix() {
        let u: S3Url = "s3://my-bucket/a/b c/".parse().unwrap();
        assert_eq!(u.bucket, "my-bucket");
        assert_eq!(u.prefix, "a/b c/");
        let u: S3Url = "s3://my-bucket".parse().unwrap();
        assert_eq!(u.prefix, "");
        assert_eq!(u.prefix_opt(), None);
        assert_eq!(u.to_string(), "s3://my-bucket/");
    }

    #[test]
    fn rejects_bad_urls_with_clear_messages() {
        assert_eq!(
            "my-bucket/x".parse::<S3Url>().unwrap_err().to_string(),
            "\"my-bucket/x\" is not an S3 URL: expected s3://bucket[/prefix]"
        );
        assert!(matches!(
            "s3://".parse::<S3Url>(),
            Err(S3UrlError::NoBucket(_))
        ));
        assert!(matches!(
            "s3:///x".parse::<S3Url>(),
            Err(S3UrlError::NoBucket(_))
        ));
        assert!(matches!(
            "s3://a".parse::<S3Url>(),
            Err(S3UrlError::BadBucket { .. })
        ));
        assert!(matches!(
            "s3://bad bucket/x".parse::<S3Url>(),
            Err(S3UrlError::BadBucket { .. })
        ));
        assert!(matches!(
            "s3://-abc".parse::<S3Url>(),
            Err(S3UrlError::BadBucket { .. })
        ));
    }

    #[test]
    fn maps_keys_between_prefixes() {
        let a: S3Url = "s3://a1b/src/".parse().unwrap();
        let b: S3Url = "s3://b2c/dst/".parse().unwrap();
        assert_eq!(a.map_key("src/x/y", &b), "dst/x/y");
    }
}
