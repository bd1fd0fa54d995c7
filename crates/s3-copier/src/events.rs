//! S3 event notifications: parsing (direct, SNS-wrapped, `s3:TestEvent`),
//! ordering by `sequencer`, and what each record asks for. Shared by the
//! SQS `worker` and the Lambda handler.
//!
//! Correctness does not depend on event order: a copy always copies the
//! source object as it is *now*, an ACL event re-reads the source ACL, and a
//! removal is only propagated once the source object is really gone. The
//! sequencer only saves work: an event older than one already handled for
//! the same key is skipped.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::future::Future;

use mc_aws_common::keys::decode_event_key;
use serde::Deserialize;

use crate::copy::{Copier, CopyError};

/// What a record asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `ObjectCreated:*` (Put, Post, Copy, CompleteMultipartUpload).
    Created,
    /// `ObjectRemoved:*` (Delete, DeleteMarkerCreated).
    Removed,
    /// `ObjectAcl:Put`.
    AclPut,
    /// Anything else (restore, replication, lifecycle, ...): ignored.
    Other,
}

impl Kind {
    pub fn of(event_name: &str) -> Kind {
        let name = event_name.strip_prefix("s3:").unwrap_or(event_name);
        if name.starts_with("ObjectCreated:") {
            Kind::Created
        } else if name.starts_with("ObjectRemoved:") {
            Kind::Removed
        } else if name == "ObjectAcl:Put" {
            Kind::AclPut
        } else {
            Kind::Other
        }
    }
}

/// One S3 event record, key decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub event_name: String,
    pub kind: Kind,
    pub bucket: String,
    pub key: String,
    pub sequencer: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("message is not JSON: {0}")]
    NotJson(String),
    #[error("message is neither an S3 event notification nor an SNS envelope of one")]
    Unrecognised,
    #[error("{0}")]
    Key(#[from] mc_aws_common::keys::EventKeyError),
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(rename = "eventName", default)]
    event_name: String,
    #[serde(rename = "eventSource", default)]
    event_source: Option<String>,
    s3: Option<RawS3>,
    /// SQS event records (Lambda triggered by SQS) carry the notification in `body`.
    body: Option<String>,
    /// SNS records (Lambda triggered by SNS) carry it in `Sns.Message`.
    #[serde(rename = "Sns")]
    sns: Option<RawSns>,
}

#[derive(Deserialize)]
struct RawSns {
    #[serde(rename = "Message")]
    message: String,
}

#[derive(Deserialize)]
struct RawS3 {
    bucket: RawBucket,
    object: RawObject,
}

#[derive(Deserialize)]
struct RawBucket {
    name: String,
}

#[derive(Deserialize)]
struct RawObject {
    key: String,
    #[serde(default)]
    sequencer: Option<String>,
}

/// One message of a Lambda event from SQS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsMessage {
    pub id: String,
    pub body: String,
}

/// The messages of a Lambda event from SQS (every record has `eventSource`
/// `aws:sqs`, a `messageId` and a `body`); `None` for anything else.
pub fn sqs_messages(v: &serde_json::Value) -> Option<Vec<SqsMessage>> {
    let records = v.get("Records")?.as_array()?;
    if records.is_empty() {
        return None;
    }
    records
        .iter()
        .map(|r| {
            if r.get("eventSource")?.as_str()? != "aws:sqs" {
                return None;
            }
            Some(SqsMessage {
                id: r.get("messageId")?.as_str()?.to_string(),
                body: r.get("body")?.as_str()?.to_string(),
            })
        })
        .collect()
}

/// Parses a notification: an S3 event (`{"Records":[...]}`), the
/// `s3:TestEvent` S3 sends when a configuration is saved (no records), an
/// SNS envelope (`{"Type":"Notification","Message":"..."}`), or a Lambda
/// event whose records wrap those (SQS `body`, SNS `Sns.Message`).
pub fn parse(body: &str) -> Result<Vec<Record>, EventError> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| EventError::NotJson(e.to_string()))?;
    parse_value(&v, 0)
}

fn parse_value(v: &serde_json::Value, depth: u8) -> Result<Vec<Record>, EventError> {
    if depth > 3 {
        return Err(EventError::Unrecognised);
    }
    if v.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if let Some(msg) = v.get("Message").and_then(|m| m.as_str()) {
        let inner: serde_json::Value =
            serde_json::from_str(msg).map_err(|e| EventError::NotJson(e.to_string()))?;
        return parse_value(&inner, depth + 1);
    }
    let Some(records) = v.get("Records").and_then(|r| r.as_array()) else {
        return Err(EventError::Unrecognised);
    };
    let mut out = Vec::new();
    for r in records {
        let raw: RawRecord =
            serde_json::from_value(r.clone()).map_err(|_| EventError::Unrecognised)?;
        if let Some(body) = raw.body {
            let inner: serde_json::Value =
                serde_json::from_str(&body).map_err(|e| EventError::NotJson(e.to_string()))?;
            out.extend(parse_value(&inner, depth + 1)?);
            continue;
        }
        if let Some(sns) = raw.sns {
            let inner: serde_json::Value = serde_json::from_str(&sns.message)
                .map_err(|e| EventError::NotJson(e.to_string()))?;
            out.extend(parse_value(&inner, depth + 1)?);
            continue;
        }
        let Some(s3) = raw.s3 else {
            return Err(EventError::Unrecognised);
        };
        if raw.event_source.as_deref().is_some_and(|s| s != "aws:s3") {
            return Err(EventError::Unrecognised);
        }
        out.push(Record {
            kind: Kind::of(&raw.event_name),
            event_name: raw.event_name,
            bucket: s3.bucket.name,
            key: decode_event_key(&s3.object.key)?,
            sequencer: s3.object.sequencer,
        });
    }
    Ok(out)
}

/// Compares two sequencers: hexadecimal strings, compared after
/// left-padding the shorter with zeros (as AWS documents).
pub fn sequencer_cmp(a: &str, b: &str) -> Ordering {
    let width = a.len().max(b.len());
    let pad = |s: &str| format!("{:0>width$}", s.to_ascii_uppercase());
    pad(a).cmp(&pad(b))
}

/// Remembers the newest sequencer handled per key, to skip older events.
/// Bounded: forgets everything past `capacity` keys (only an optimisation).
#[derive(Debug)]
pub struct Sequencers {
    seen: HashMap<(String, String), String>,
    capacity: usize,
}

impl Default for Sequencers {
    fn default() -> Self {
        Self::new(200_000)
    }
}

impl Sequencers {
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: HashMap::new(),
            capacity,
        }
    }

    /// Whether an event for this record was already handled with a newer
    /// (or the same) sequencer.
    pub fn is_stale(&self, r: &Record) -> bool {
        match (
            &r.sequencer,
            self.seen.get(&(r.bucket.clone(), r.key.clone())),
        ) {
            (Some(new), Some(old)) => sequencer_cmp(new, old) != Ordering::Greater,
            _ => false,
        }
    }

    /// Records that `r` was handled.
    pub fn handled(&mut self, r: &Record) {
        let Some(seq) = &r.sequencer else { return };
        if self.seen.len() >= self.capacity {
            self.seen.clear();
        }
        let slot = self
            .seen
            .entry((r.bucket.clone(), r.key.clone()))
            .or_insert_with(|| seq.clone());
        if sequencer_cmp(seq, slot) == Ordering::Greater {
            *slot = seq.clone();
        }
    }
}

/// What handling one record came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Copied {
        bytes: u64,
    },
    AclApplied,
    Deleted,
    /// Nothing to do (other bucket or prefix, other event type, deletes not
    /// propagated, a re-created object): `why` says which.
    Ignored {
        why: &'static str,
    },
    /// The source object is gone since the event was sent.
    Gone,
}

/// The operations a record can ask for (a [`Copier`], or a fake in tests).
pub trait Replicator: Sync {
    fn source_bucket(&self) -> &str;
    fn in_scope(&self, key: &str) -> bool;
    fn copy(&self, key: &str) -> impl Future<Output = Result<u64, CopyError>> + Send;
    fn apply_acl(&self, key: &str) -> impl Future<Output = Result<(), CopyError>> + Send;
    /// Deletes the copy if the source object is really gone; `false` when it exists.
    fn remove(&self, key: &str) -> impl Future<Output = Result<bool, CopyError>> + Send;
}

impl Replicator for Copier {
    fn source_bucket(&self) -> &str {
        self.src.bucket()
    }

    fn in_scope(&self, key: &str) -> bool {
        self.dest_key(key).is_some()
    }

    async fn copy(&self, key: &str) -> Result<u64, CopyError> {
        Copier::copy(self, key, None).await.map(|c| c.bytes)
    }

    async fn apply_acl(&self, key: &str) -> Result<(), CopyError> {
        self.sync_acl(key).await
    }

    async fn remove(&self, key: &str) -> Result<bool, CopyError> {
        self.propagate_delete(key).await
    }
}

/// Handles one record.
pub async fn handle<R: Replicator>(
    r: &R,
    rec: &Record,
    propagate_deletes: bool,
) -> Result<Outcome, CopyError> {
    if rec.bucket != r.source_bucket() {
        return Ok(Outcome::Ignored {
            why: "another bucket",
        });
    }
    if !r.in_scope(&rec.key) {
        return Ok(Outcome::Ignored {
            why: "outside the source prefix",
        });
    }
    let result = match rec.kind {
        Kind::Created => r
            .copy(&rec.key)
            .await
            .map(|bytes| Outcome::Copied { bytes }),
        Kind::AclPut => r.apply_acl(&rec.key).await.map(|()| Outcome::AclApplied),
        Kind::Removed if propagate_deletes => r.remove(&rec.key).await.map(|gone| {
            if gone {
                Outcome::Deleted
            } else {
                Outcome::Ignored {
                    why: "source object exists again",
                }
            }
        }),
        Kind::Removed => Ok(Outcome::Ignored {
            why: "deletes are not propagated",
        }),
        Kind::Other => Ok(Outcome::Ignored {
            why: "event type not replicated",
        }),
    };
    match result {
        Err(CopyError::Gone) => Ok(Outcome::Gone),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example event from the S3 documentation (event message structure).
    pub const PUT_EVENT: &str = r#"{
      "Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-west-2",
        "eventTime": "1970-01-01T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AIDAJDPLRKLG7UEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "172.16.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {
          "s3SchemaVersion": "1.0",
          "configurationId": "testConfigRule",
          "bucket": {"name": "amzn-s3-demo-bucket", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": "arn:aws:s3:::amzn-s3-demo-bucket"},
          "object": {"key": "HappyFace+2%2B2%3F+caf%C3%A9.jpg", "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko", "sequencer": "0055AED6DCD90281E5"}
        }
      }]
    }"#;

    #[test]
    fn parses_the_documented_event_and_decodes_the_key() {
        let r = parse(PUT_EVENT).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].kind, Kind::Created);
        assert_eq!(r[0].bucket, "amzn-s3-demo-bucket");
        assert_eq!(r[0].key, "HappyFace 2+2? café.jpg");
        assert_eq!(r[0].sequencer.as_deref(), Some("0055AED6DCD90281E5"));
    }

    #[test]
    fn test_events_and_envelopes() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2014-10-13T15:57:02.089Z","Bucket":"amzn-s3-demo-bucket","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}"#;
        assert_eq!(parse(test).unwrap(), vec![]);
        let sns = serde_json::json!({
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
            "Subject": "Amazon S3 Notification",
            "Message": PUT_EVENT,
        })
        .to_string();
        assert_eq!(parse(&sns).unwrap(), parse(PUT_EVENT).unwrap());
        // A Lambda triggered by SQS: records with the notification in `body`.
        let sqs = serde_json::json!({"Records": [{"messageId": "m1", "eventSource": "aws:sqs", "body": PUT_EVENT}]}).to_string();
        assert_eq!(parse(&sqs).unwrap(), parse(PUT_EVENT).unwrap());
        assert!(matches!(parse("hello"), Err(EventError::NotJson(_))));
        assert_eq!(parse(r#"{"foo":1}"#), Err(EventError::Unrecognised));
    }

    #[test]
    fn event_names_map_to_kinds() {
        assert_eq!(
            Kind::of("ObjectCreated:CompleteMultipartUpload"),
            Kind::Created
        );
        assert_eq!(Kind::of("s3:ObjectCreated:Copy"), Kind::Created);
        assert_eq!(Kind::of("ObjectRemoved:DeleteMarkerCreated"), Kind::Removed);
        assert_eq!(Kind::of("ObjectAcl:Put"), Kind::AclPut);
        assert_eq!(Kind::of("ObjectRestore:Completed"), Kind::Other);
    }

    #[test]
    fn sequencers_compare_after_padding() {
        assert_eq!(
            sequencer_cmp("0055AED6DCD90281E5", "55AED6DCD90281E6"),
            Ordering::Less
        );
        assert_eq!(sequencer_cmp("FF", "0100"), Ordering::Less);
        assert_eq!(sequencer_cmp("00ff", "FF"), Ordering::Equal);
        let rec = |seq: &str| Record {
            event_name: "ObjectCreated:Put".into(),
            kind: Kind::Created,
            bucket: "b".into(),
            key: "k".into(),
            sequencer: Some(seq.into()),
        };
        let mut s = Sequencers::new(10);
        assert!(!s.is_stale(&rec("0A")));
        s.handled(&rec("0B"));
        assert!(s.is_stale(&rec("0A")), "older");
        assert!(s.is_stale(&rec("0B")), "the same event delivered twice");
        assert!(!s.is_stale(&rec("0C")));
        s.handled(&rec("0A"));
        assert!(
            s.is_stale(&rec("0B")),
            "an older event never lowers the mark"
        );
    }
}
