//! S3 event keys (form encoding): `decode_event_key` never panics, and a
//! decoded key form-encoded again decodes to itself.

pub fn check(data: &[u8]) {
    use mc_aws_common::keys::decode_event_key;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = decode_event_key(text) else {
        return;
    };
    let mut encoded = String::with_capacity(key.len() * 3);
    for b in key.bytes() {
        match b {
            b' ' => encoded.push('+'),
            b if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) => encoded.push(b as char),
            b => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    assert_eq!(decode_event_key(&encoded).as_deref(), Ok(key.as_str()));
}
