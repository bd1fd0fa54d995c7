//! Anything the Lambda handler can be invoked with (S3 events, SQS/SNS
//! wrapped events, Batch Operations 1.0/2.0): `handle_payload` never panics,
//! and a Batch Operations invocation gets one result per task.

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
    let seq = Mutex::new(Sequencers::new(16));
    let result = futures::executor::block_on(s3_copier::lambda::handle_payload(
        &Fake, payload, true, &seq,
    ));
    if let (Ok(resp), Some(n)) = (result, tasks) {
        let results = resp.get("results").and_then(|r| r.as_array()).map(Vec::len);
        assert_eq!(results, Some(n), "{resp}");
    }
}
