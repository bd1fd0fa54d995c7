//! Key encodings the SDK leaves to us.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters and '/' is encoded in
/// `x-amz-copy-source` (the Rust SDK sends the header as given), as the SDK
/// encodes a key in a request path (its greedy label set is the same).
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The `x-amz-copy-source` value for `bucket/key` (optionally a version).
pub fn copy_source(bucket: &str, key: &str, version_id: Option<&str>) -> String {
    let mut s = format!("{bucket}/{}", utf8_percent_encode(key, COPY_SOURCE));
    if let Some(v) = version_id {
        s.push_str("?versionId=");
        s.push_str(&utf8_percent_encode(v, COPY_SOURCE).to_string());
    }
    s
}

/// `key` as the SDK writes it in a request path (`a b/c+d` → `a%20b/c%2Bd`).
pub fn uri_path(key: &str) -> String {
    utf8_percent_encode(key, COPY_SOURCE).to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("S3 event key {0:?} does not decode to UTF-8")]
pub struct EventKeyError(pub String);

/// Decodes an S3 event notification key: form encoding, so '+' is a space,
/// then percent-decoding (`a+b%2Bc` → `a b+c`).
pub fn decode_event_key(raw: &str) -> Result<String, EventKeyError> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| EventKeyError(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn copy_source_encodes_specials_but_not_slashes() {
        assert_eq!(
            copy_source("b", "a b/c+d%e?f#g", None),
            "b/a%20b/c%2Bd%25e%3Ff%23g"
        );
        assert_eq!(
            copy_source("b", "ü/日本", Some("v1")),
            "b/%C3%BC/%E6%97%A5%E6%9C%AC?versionId=v1"
        );
    }

    #[test]
    fn event_keys_are_form_decoded() {
        assert_eq!(decode_event_key("a+b%2Bc").unwrap(), "a b+c");
        assert_eq!(decode_event_key("caf%C3%A9").unwrap(), "café");
        assert!(decode_event_key("%FF").is_err());
    }

    proptest! {
        #[test]
        fn event_key_round_trip(key in "\\PC*") {
            // How S3 encodes keys in events: form-urlencoding.
            let encoded: String = form_encode(&key);
            prop_assert_eq!(decode_event_key(&encoded).unwrap(), key);
        }
    }

    fn form_encode(s: &str) -> String {
        utf8_percent_encode(s, NON_ALPHANUMERIC)
            .to_string()
            .replace("%20", "+")
    }
}
