//! A message's batch entry and the SQS limits batches are packed within:
//! what the generator ([`crate::source`]), the producers ([`crate::send`]) and
//! the request ([`crate::wire`]) share, below all three.

/// The largest message and batch payload SQS accepts (1 MiB).
pub const SQS_MAX_BYTES: usize = 1024 * 1024;
/// Entries per SendMessageBatch (SQS limit).
pub const BATCH_MAX_ENTRIES: usize = 10;
/// Sum of message sizes per SendMessageBatch (SQS limit).
pub const BATCH_MAX_BYTES: usize = SQS_MAX_BYTES;

/// A message on its way: its batch entry, encoded once, and its size as SQS counts it.
#[derive(Debug, Clone)]
pub struct BatchEntry {
    pub seq: u64,
    pub size: usize,
    /// The entry's JSON members after its `"Id"`, each with a leading comma
    /// (`,"MessageBody":"…","MessageAttributes":{…}`): the request is these
    /// concatenated, whichever batch and position the entry ends up in.
    pub json: Vec<u8>,
}

/// Appends `s` as a JSON string (quoted and escaped).
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings() {
        let mut v = Vec::new();
        push_json_str(&mut v, "a\"\n\u{1}é");
        assert_eq!(serde_json::from_slice::<String>(&v).unwrap(), "a\"\n\u{1}é");
    }
}
