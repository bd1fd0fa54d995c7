//! Anything the Lambda handler can be invoked with (S3 events, SQS/SNS
//! wrapped events, Batch Operations 1.0/2.0): `handle_payload` never panics,
//! a Batch Operations invocation gets one result per task, and an SQS batch
//! answer names only messages of the batch.

use std::sync::Mutex;

use s3_copier::copy::CopyError;
use s3_copier::events::{Replicator, Sequencers};

/// Copies succeed except keys containing "gone"; "out/" is out of scope.
struct Fake;

impl Replicator for Fake {
    fn source_bucket(&self) -> &str {
        "src-bucket"
    }
    fn in_scope(&self, key: &str) -> bool {
        !key.starts_with("out/")
    }
    async fn copy(&self, key: &str) -> Result<u64, CopyError> {
        if key.contains("gone") {
            Err(CopyError::Gone)
        } else {
            Ok(key.len() as u64)
        }
    }
    async fn apply_acl(&self, _key: &str) -> Result<(), CopyError> {
        Ok(())
    }
    async fn remove(&self, key: &str) -> Result<bool, CopyError> {
        Ok(!key.contains("gone"))
    }
}

pub fn check(data: &[u8]) {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let tasks = payload
        .get("invocationSchemaVersion")
        .and_then(|_| payload.get("tasks"))
        .and_then(|t| t.as_array())
        .map(Vec::len);
    let message_ids: Vec<String> = payload
        .get("Records")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("messageId")?.as_str().map(str::to_string))
        .collect();
    let seq = Mutex::new(Sequencers::new(16));
    let settings = s3_copier::lambda::Settings {
        propagate_deletes: true,
        sqs_partial_batch: true,
    };
    let result = futures::executor::block_on(s3_copier::lambda::handle_payload(
        &Fake, payload, settings, &seq,
    ));
    let Ok(resp) = result else {
        return;
    };
    if let Some(n) = tasks {
        let results = resp.get("results").and_then(|r| r.as_array()).map(Vec::len);
        assert_eq!(results, Some(n), "{resp}");
    }
    if let Some(failures) = resp.get("batchItemFailures").and_then(|f| f.as_array()) {
        for f in failures {
            let id = f["itemIdentifier"].as_str().unwrap_or_default();
            assert!(message_ids.iter().any(|m| m == id), "{resp}");
        }
    }
}
