//! The AWS Lambda handler: S3 event notifications (direct, or through SNS or
//! SQS) and S3 Batch Operations invocations (schema 1.0 and 2.0).
//!
//! The logic here has no Lambda runtime dependency, so it is unit-tested on
//! the documented payloads; the `s3-copier-lambda` binary (cargo feature
//! `lambda`) wires it to `lambda_runtime`. Configuration comes from the
//! environment: `S3_COPIER_SOURCE` and `S3_COPIER_DEST` (`s3://bucket[/folder]`),
//! and optionally `S3_COPIER_ACL`, `S3_COPIER_STORAGE_CLASS`,
//! `S3_COPIER_SSE_KMS_KEY_ID`, `S3_COPIER_MULTIPART_THRESHOLD`,
//! `S3_COPIER_PART_SIZE`, `S3_COPIER_PROPAGATE_DELETES`,
//! `S3_COPIER_SQS_PARTIAL_BATCH`.

use std::sync::Mutex;
use std::time::Instant;

use futures::StreamExt;
use mc_aws_common::keys::decode_event_key;
use serde::{Deserialize, Serialize};

use crate::copy::CopyError;
use crate::events::{self, Outcome, Replicator, Sequencers, SqsMessage};
use crate::record_log::{Handled, FAILED};

/// Records of one S3 event handled at once.
const RECORD_PARALLELISM: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("{0}")]
    Event(#[from] events::EventError),
    #[error("{failed} of {total} records failed; first: {first}")]
    Records {
        failed: usize,
        total: usize,
        first: String,
    },
    #[error("batch operations invocation: {0}")]
    Batch(String),
}

/// How the handler treats what it is given (from the function's environment).
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    /// `ObjectRemoved:*` deletes the copy (`S3_COPIER_PROPAGATE_DELETES`).
    pub propagate_deletes: bool,
    /// An SQS batch is answered with `batchItemFailures`
    /// (`S3_COPIER_SQS_PARTIAL_BATCH`): only the messages that failed come
    /// back. Only with `ReportBatchItemFailures` on the event source mapping:
    /// without it Lambda takes that answer for a success and deletes the
    /// failed messages too, so it is off unless asked for.
    pub sqs_partial_batch: bool,
}

/// The answer to an SQS batch with `ReportBatchItemFailures`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SqsBatchResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub item_identifier: String,
}

/// An S3 Batch Operations invocation (schema 1.0 or 2.0).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInvocation {
    pub invocation_schema_version: String,
    pub invocation_id: String,
    #[serde(default)]
    pub job: serde_json::Value,
    pub tasks: Vec<BatchTask>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchTask {
    pub task_id: String,
    /// URL-encoded, as in the manifest.
    pub s3_key: String,
    #[serde(default)]
    pub s3_version_id: Option<String>,
    /// Schema 1.0.
    #[serde(default)]
    pub s3_bucket_arn: Option<String>,
    /// Schema 2.0.
    #[serde(default)]
    pub s3_bucket: Option<String>,
}

impl BatchTask {
    /// The bucket name: 2.0 gives it, 1.0 gives an ARN ending in it.
    pub fn bucket(&self) -> Option<&str> {
        self.s3_bucket.as_deref().or_else(|| {
            self.s3_bucket_arn
                .as_deref()
                .and_then(|a| a.rsplit(':').next())
        })
    }
}

/// The answer S3 Batch Operations expects.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub invocation_schema_version: String,
    pub treat_missing_keys_as: &'static str,
    pub invocation_id: String,
    pub results: Vec<BatchResult>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    pub task_id: String,
    pub result_code: &'static str,
    pub result_string: String,
}

/// Copies the objects of a Batch Operations invocation; each task gets
/// Succeeded, TemporaryFailure (throttling, 5xx: S3 retries it) or
/// PermanentFailure.
pub async fn handle_batch<R: Replicator>(r: &R, inv: BatchInvocation) -> BatchResponse {
    let results = futures::stream::iter(inv.tasks)
        .map(|t| async move {
            let started = Instant::now();
            let (code, text, bytes) = batch_task(r, &t).await;
            let ok = code == "Succeeded";
            let key = decode_event_key(&t.s3_key).unwrap_or_else(|_| t.s3_key.clone());
            Handled {
                key: &key,
                event: "BatchOperations",
                outcome: if ok { "copied" } else { FAILED },
                bytes,
                took: started.elapsed(),
                detail: (!ok).then(|| format!("{code}: {text}")),
            }
            .log();
            BatchResult {
                task_id: t.task_id,
                result_code: code,
                result_string: text,
            }
        })
        .buffered(RECORD_PARALLELISM)
        .collect()
        .await;
    BatchResponse {
        invocation_schema_version: inv.invocation_schema_version,
        treat_missing_keys_as: "PermanentFailure",
        invocation_id: inv.invocation_id,
        results,
    }
}

/// A task's result code and string, and the bytes copied.
async fn batch_task<R: Replicator>(r: &R, t: &BatchTask) -> (&'static str, String, Option<u64>) {
    const OK: &str = "Succeeded";
    const TEMP: &str = "TemporaryFailure";
    const PERM: &str = "PermanentFailure";
    let key = match decode_event_key(&t.s3_key) {
        Ok(k) => k,
        Err(e) => return (PERM, e.to_string(), None),
    };
    if t.bucket() != Some(r.source_bucket()) {
        let text = format!(
            "bucket {:?} is not the configured source {:?}",
            t.bucket().unwrap_or(""),
            r.source_bucket()
        );
        return (PERM, text, None);
    }
    if !r.in_scope(&key) {
        return (PERM, format!("{key:?} is outside the source prefix"), None);
    }
    match r.copy(&key).await {
        Ok(bytes) => (OK, format!("copied {bytes} bytes"), Some(bytes)),
        Err(CopyError::Gone) => (PERM, "source object does not exist".into(), None),
        Err(e) if e.is_temporary() => (TEMP, e.to_string(), None),
        Err(e) => (PERM, e.to_string(), None),
    }
}

/// Summary returned for an S3 event.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct EventSummary {
    pub records: usize,
    pub copied: usize,
    pub acl_applied: usize,
    pub deleted: usize,
    pub ignored: usize,
    pub stale: usize,
    pub gone: usize,
}

/// Handles S3 event records; fails (so Lambda retries the invocation, or
/// SQS redelivers the message) when any record failed.
pub async fn handle_records<R: Replicator>(
    r: &R,
    records: Vec<events::Record>,
    propagate_deletes: bool,
    seq: &Mutex<Sequencers>,
) -> Result<EventSummary, HandlerError> {
    let lock = || seq.lock().unwrap_or_else(|e| e.into_inner());
    let mut summary = EventSummary {
        records: records.len(),
        ..EventSummary::default()
    };
    let results: Vec<_> = futures::stream::iter(records)
        .map(|rec| async move {
            let started = Instant::now();
            let out = if lock().is_stale(&rec) {
                None
            } else {
                Some(events::handle(r, &rec, propagate_deletes).await)
            };
            let took = started.elapsed();
            Handled::of_record(&rec.key, &rec.event_name, out.as_ref(), took).log();
            (rec, out)
        })
        .buffer_unordered(RECORD_PARALLELISM)
        .collect()
        .await;
    let mut failures = Vec::new();
    for (rec, out) in results {
        match out {
            None => summary.stale += 1,
            Some(Ok(o)) => {
                lock().handled(&rec);
                match o {
                    Outcome::Copied { .. } => summary.copied += 1,
                    Outcome::AclApplied => summary.acl_applied += 1,
                    Outcome::Deleted => summary.deleted += 1,
                    Outcome::Ignored { .. } => summary.ignored += 1,
                    Outcome::Gone => summary.gone += 1,
                }
            }
            Some(Err(e)) => failures.push(format!("{}: {e}", rec.key)),
        }
    }
    if let Some(first) = failures.first() {
        return Err(HandlerError::Records {
            failed: failures.len(),
            total: summary.records,
            first: first.clone(),
        });
    }
    Ok(summary)
}

/// Handles each message of an SQS batch on its own: the ids of those that
/// failed, or could not be read, come back for redelivery (and, after the
/// queue's maxReceiveCount, its dead-letter queue); Lambda deletes the rest.
pub async fn handle_sqs_batch<R: Replicator>(
    r: &R,
    messages: Vec<SqsMessage>,
    propagate_deletes: bool,
    seq: &Mutex<Sequencers>,
) -> SqsBatchResponse {
    let failed: Vec<Option<String>> = futures::stream::iter(messages)
        .map(|m| async move {
            let handled = match events::parse(&m.body) {
                Ok(records) => handle_records(r, records, propagate_deletes, seq)
                    .await
                    .map(|_| ()),
                Err(e) => Err(HandlerError::Event(e)),
            };
            match handled {
                Ok(()) => None,
                Err(e) => {
                    tracing::warn!("SQS message {}: {e}", m.id);
                    Some(m.id)
                }
            }
        })
        .buffer_unordered(RECORD_PARALLELISM)
        .collect()
        .await;
    SqsBatchResponse {
        batch_item_failures: failed
            .into_iter()
            .flatten()
            .map(|item_identifier| ItemFailure { item_identifier })
            .collect(),
    }
}

/// Handles any payload the function can be invoked with.
pub async fn handle_payload<R: Replicator>(
    r: &R,
    payload: serde_json::Value,
    settings: Settings,
    seq: &Mutex<Sequencers>,
) -> Result<serde_json::Value, HandlerError> {
    let propagate_deletes = settings.propagate_deletes;
    if payload.get("invocationSchemaVersion").is_some() {
        let inv: BatchInvocation =
            serde_json::from_value(payload).map_err(|e| HandlerError::Batch(e.to_string()))?;
        let resp = handle_batch(r, inv).await;
        return serde_json::to_value(resp).map_err(|e| HandlerError::Batch(e.to_string()));
    }
    if settings.sqs_partial_batch {
        if let Some(messages) = events::sqs_messages(&payload) {
            let resp = handle_sqs_batch(r, messages, propagate_deletes, seq).await;
            return serde_json::to_value(resp).map_err(|e| HandlerError::Batch(e.to_string()));
        }
    }
    let text = payload.to_string();
    let records = events::parse(&text)?;
    let summary = handle_records(r, records, propagate_deletes, seq).await?;
    serde_json::to_value(summary).map_err(|e| HandlerError::Batch(e.to_string()))
}

/// The Lambda entry point (`s3-copier-lambda`).
#[cfg(feature = "lambda")]
pub mod runtime {
    use std::sync::{Arc, Mutex};

    use lambda_runtime::{service_fn, LambdaEvent};
    use mc_aws_common::cli::{AwsArgs, ThrottleArgs, TwoSidedArgs};
    use mc_aws_common::retry::Throttle;
    use mc_aws_common::s3url::S3Url;

    use crate::cli::{CopyArgs, Endpoints};
    use crate::copy::Copier;
    use crate::events::Sequencers;
    use crate::options::{parse_size, AclMode};
    use crate::preflight;

    fn env(name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }

    fn flag(name: &str) -> bool {
        env(name).is_some_and(|v| v == "true" || v == "1")
    }

    fn url(name: &str) -> Result<S3Url, String> {
        env(name)
            .ok_or_else(|| format!("{name} is not set (s3://bucket[/folder])"))?
            .parse::<S3Url>()
            .map(S3Url::into_folder)
            .map_err(|e| format!("{name}: {e}"))
    }

    async fn copier() -> Result<Copier, String> {
        let ends = Endpoints {
            source: url("S3_COPIER_SOURCE")?,
            dest: url("S3_COPIER_DEST")?,
            sides: TwoSidedArgs {
                dest_role_arn: env("S3_COPIER_DEST_ROLE_ARN"),
                ..TwoSidedArgs::default()
            },
        };
        let size = |name: &str, default: &str| parse_size(&env(name).unwrap_or(default.into()));
        let copy = CopyArgs {
            acl: AclMode::parse(&env("S3_COPIER_ACL").unwrap_or("copy".into()))?,
            storage_class: env("S3_COPIER_STORAGE_CLASS"),
            sse_kms_key_id: env("S3_COPIER_SSE_KMS_KEY_ID"),
            sse_allow_weaker: flag("S3_COPIER_SSE_ALLOW_WEAKER"),
            // Every record is read with HeadObject anyway.
            sse_per_object: false,
            multipart_threshold: size("S3_COPIER_MULTIPART_THRESHOLD", "5GiB")?,
            part_size: size("S3_COPIER_PART_SIZE", "256MiB")?,
            allow_notification_loop: flag("S3_COPIER_ALLOW_NOTIFICATION_LOOP"),
        };
        let mut opts = copy.options(env("AWS_ENDPOINT_URL").is_some())?;
        // The function's own inputs: itself (Lambda sets the name), and the
        // queue of its SQS trigger, when named.
        let guard = &mut opts.notifications;
        guard.own_function = env("AWS_LAMBDA_FUNCTION_NAME");
        guard.own_queues.extend(env("S3_COPIER_QUEUE_ARN"));
        guard.deletes = flag("S3_COPIER_PROPAGATE_DELETES");
        let aws = AwsArgs {
            endpoint_url: env("AWS_ENDPOINT_URL"),
            ..AwsArgs::default()
        };
        let throttle = Throttle::from_args(&ThrottleArgs::default());
        let (copier, _) = preflight::copier(&aws, &ends, opts, (&throttle, &throttle), None)
            .await
            .map_err(|e| e.to_string())?;
        Ok(copier)
    }

    /// Runs the Lambda handler loop.
    pub async fn run() -> Result<(), lambda_runtime::Error> {
        // JSON lines at info: one per record (key, outcome, bytes, ms) for
        // CloudWatch Logs Insights; RUST_LOG overrides.
        mc_aws_common::logging::init_json();
        let copier = Arc::new(
            copier()
                .await
                .map_err(|e| format!("s3-copier-lambda: {e}"))?,
        );
        let settings = super::Settings {
            propagate_deletes: flag("S3_COPIER_PROPAGATE_DELETES"),
            sqs_partial_batch: flag("S3_COPIER_SQS_PARTIAL_BATCH"),
        };
        let seq = Arc::new(Mutex::new(Sequencers::default()));
        lambda_runtime::run(service_fn(move |ev: LambdaEvent<serde_json::Value>| {
            let (copier, seq) = (copier.clone(), seq.clone());
            async move {
                super::handle_payload(copier.as_ref(), ev.payload, settings, &seq)
                    .await
                    .map_err(lambda_runtime::Error::from)
            }
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A replicator that answers from a table: key -> result.
    struct Fake {
        answers: HashMap<&'static str, Result<u64, CopyError>>,
        calls: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(answers: Vec<(&'static str, Result<u64, CopyError>)>) -> Self {
            Self {
                answers: answers.into_iter().collect(),
                calls: Mutex::new(Vec::new()),
            }
        }
    }

    impl Replicator for Fake {
        fn source_bucket(&self) -> &str {
            "amzn-s3-demo-bucket"
        }
        fn in_scope(&self, _key: &str) -> bool {
            true
        }
        async fn copy(&self, key: &str) -> Result<u64, CopyError> {
            self.calls.lock().unwrap().push(format!("copy {key}"));
            self.answers.get(key).cloned().unwrap_or(Ok(1))
        }
        async fn apply_acl(&self, key: &str) -> Result<(), CopyError> {
            self.calls.lock().unwrap().push(format!("acl {key}"));
            Ok(())
        }
        async fn remove(&self, key: &str) -> Result<bool, CopyError> {
            self.calls.lock().unwrap().push(format!("remove {key}"));
            Ok(true)
        }
    }

    /// Schema 1.0, as in the S3 documentation (bucket ARN).
    const BATCH_1_0: &str = r#"{
      "invocationSchemaVersion": "1.0",
      "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
      "job": {"id": "f3cc4f60-61f6-4a2b-8a21-d07600c373ce"},
      "tasks": [
        {"taskId": "dGFza2lkZ29lc2hlcmUK", "s3Key": "customerImage1.jpg", "s3VersionId": "1", "s3BucketArn": "arn:aws:s3:us-east-1:0123456788:amzn-s3-demo-bucket"},
        {"taskId": "dGFza2lkZ29lc2hlcmUL", "s3Key": "photos/my+cat%2B1.jpg", "s3VersionId": null, "s3BucketArn": "arn:aws:s3:::amzn-s3-demo-bucket"},
        {"taskId": "t3", "s3Key": "gone.jpg", "s3BucketArn": "arn:aws:s3:::amzn-s3-demo-bucket"},
        {"taskId": "t4", "s3Key": "slow.jpg", "s3BucketArn": "arn:aws:s3:::amzn-s3-demo-bucket"},
        {"taskId": "t5", "s3Key": "denied.jpg", "s3BucketArn": "arn:aws:s3:::amzn-s3-demo-bucket"},
        {"taskId": "t6", "s3Key": "x.jpg", "s3BucketArn": "arn:aws:s3:::another-bucket"}
      ]
    }"#;

    /// Schema 2.0, as in the S3 documentation (bucket name, user arguments).
    const BATCH_2_0: &str = r#"{
      "invocationSchemaVersion": "2.0",
      "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
      "job": {"id": "f3cc4f60-61f6-4a2b-8a21-d07600c373ce", "userArguments": {"k1": "v1", "k2": "v2"}},
      "tasks": [
        {"taskId": "dGFza2lkZ29lc2hlcmUK", "s3Key": "customerImage1.jpg", "s3VersionId": null, "s3Bucket": "amzn-s3-demo-bucket"}
      ]
    }"#;

    fn fake() -> Fake {
        Fake::new(vec![
            ("gone.jpg", Err(CopyError::Gone)),
            (
                "slow.jpg",
                Err(CopyError::Failed {
                    message: "SlowDown".into(),
                    temporary: true,
                }),
            ),
            (
                "denied.jpg",
                Err(CopyError::Failed {
                    message: "access denied".into(),
                    temporary: false,
                }),
            ),
        ])
    }

    async fn run(r: &Fake, payload: &str) -> Result<serde_json::Value, HandlerError> {
        run_with(r, payload, Settings::default()).await
    }

    async fn run_with(
        r: &Fake,
        payload: &str,
        settings: Settings,
    ) -> Result<serde_json::Value, HandlerError> {
        let seq = Mutex::new(Sequencers::default());
        handle_payload(r, serde_json::from_str(payload).unwrap(), settings, &seq).await
    }

    #[tokio::test]
    async fn batch_1_0_result_codes() {
        let r = fake();
        let out = run(&r, BATCH_1_0).await.unwrap();
        assert_eq!(out["invocationSchemaVersion"], "1.0");
        assert_eq!(
            out["invocationId"],
            "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo"
        );
        assert_eq!(out["treatMissingKeysAs"], "PermanentFailure");
        let codes: Vec<(&str, &str)> = out["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["taskId"].as_str().unwrap(),
                    r["resultCode"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            codes,
            [
                ("dGFza2lkZ29lc2hlcmUK", "Succeeded"),
                ("dGFza2lkZ29lc2hlcmUL", "Succeeded"),
                ("t3", "PermanentFailure"),
                ("t4", "TemporaryFailure"),
                ("t5", "PermanentFailure"),
                ("t6", "PermanentFailure"),
            ]
        );
        // Manifest keys are URL-encoded: decoded before copying.
        assert!(r
            .calls
            .lock()
            .unwrap()
            .contains(&"copy photos/my cat+1.jpg".to_string()));
    }

    #[tokio::test]
    async fn batch_2_0_uses_the_bucket_name() {
        let r = fake();
        let out = run(&r, BATCH_2_0).await.unwrap();
        assert_eq!(out["invocationSchemaVersion"], "2.0");
        assert_eq!(out["results"][0]["resultCode"], "Succeeded");
        assert_eq!(out["results"][0]["taskId"], "dGFza2lkZ29lc2hlcmUK");
    }

    fn event(records: &[(&str, &str, &str)]) -> String {
        let recs: Vec<serde_json::Value> = records
            .iter()
            .map(|(name, key, seq)| {
                serde_json::json!({
                    "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                    "eventTime": "2024-01-01T00:00:00.000Z", "eventName": name,
                    "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "amzn-s3-demo-bucket", "arn": "arn:aws:s3:::amzn-s3-demo-bucket"},
                           "object": {"key": key, "size": 1, "sequencer": seq}}
                })
            })
            .collect();
        serde_json::json!({ "Records": recs }).to_string()
    }

    #[tokio::test]
    async fn s3_event_batches_decode_keys_skip_stale_and_gone() {
        let r = fake();
        let payload = event(&[
            ("ObjectCreated:Put", "a+b%2Bc", "0A"),
            ("ObjectCreated:Put", "gone.jpg", "0B"),
            ("ObjectAcl:Put", "a+b%2Bc", "0C"),
            ("ObjectRemoved:Delete", "old", "0D"),
        ]);
        let out = run(&r, &payload).await.unwrap();
        assert_eq!(out["copied"], 1);
        assert_eq!(out["gone"], 1);
        assert_eq!(out["acl_applied"], 1);
        assert_eq!(out["ignored"], 1, "deletes are not propagated by default");
        let calls = r.calls.lock().unwrap().clone();
        assert!(calls.contains(&"copy a b+c".to_string()), "{calls:?}");

        // Stale: an event older than one already handled for the key is skipped.
        let seq = Mutex::new(Sequencers::default());
        let newer = event(&[("ObjectCreated:Put", "k", "0055AED6DCD90281E6")]);
        let older = event(&[("ObjectCreated:Put", "k", "55AED6DCD90281E5")]);
        let v = |s: &str| serde_json::from_str(s).unwrap();
        let settings = Settings::default();
        handle_payload(&r, v(&newer), settings, &seq).await.unwrap();
        let out = handle_payload(&r, v(&older), settings, &seq).await.unwrap();
        assert_eq!(out["stale"], 1);
    }

    #[tokio::test]
    async fn failed_records_fail_the_invocation() {
        let r = fake();
        let err = run(&r, &event(&[("ObjectCreated:Put", "slow.jpg", "01")]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("1 of 1 records failed"), "{err}");
        assert!(matches!(
            run(&r, r#"{"hello": 1}"#).await,
            Err(HandlerError::Event(_))
        ));
    }

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Buf(std::sync::Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    #[test]
    fn one_json_log_line_per_record_with_key_outcome_bytes_ms() {
        let buf = Buf::default();
        let filter = tracing_subscriber::EnvFilter::new("info");
        let subscriber = mc_aws_common::logging::json_subscriber(filter, buf.clone());
        let r = fake();
        let payload = event(&[
            ("ObjectCreated:Put", "photos/my+cat%2B1.jpg", "01"),
            ("ObjectCreated:Put", "gone.jpg", "02"),
            ("ObjectCreated:Put", "slow.jpg", "03"),
            ("ObjectRemoved:Delete", "old", "04"),
        ]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        tracing::subscriber::with_default(subscriber, || {
            assert!(rt.block_on(run(&r, &payload)).is_err(), "slow.jpg failed");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4, "one line per record:\n{text}");
        let line = |key: &str| {
            lines
                .iter()
                .find(|l| l["key"] == key)
                .unwrap_or_else(|| panic!("no line for {key}:\n{text}"))
        };
        let copied = line("photos/my cat+1.jpg");
        assert_eq!(copied["level"], "INFO");
        assert_eq!(copied["message"], "record");
        assert_eq!(copied["event"], "ObjectCreated:Put");
        assert_eq!(copied["outcome"], "copied");
        assert_eq!(copied["bytes"], 1);
        assert!(copied["ms"].is_u64(), "{copied}");
        assert!(copied["timestamp"].is_string(), "{copied}");
        assert_eq!(line("gone.jpg")["outcome"], "gone");
        let failed = line("slow.jpg");
        assert_eq!(
            (&failed["level"], &failed["outcome"]),
            (&"WARN".into(), &"failed".into())
        );
        assert!(
            failed["detail"].as_str().unwrap().contains("SlowDown"),
            "{failed}"
        );
        assert!(
            failed.get("bytes").is_none(),
            "no bytes for a failure: {failed}"
        );
        let ignored = line("old");
        assert_eq!(ignored["outcome"], "ignored");
        assert_eq!(ignored["detail"], "deletes are not propagated");
    }

    /// A Lambda event from SQS, as in the Lambda documentation.
    fn sqs(messages: &[(&str, String)]) -> String {
        let recs: Vec<serde_json::Value> = messages
            .iter()
            .map(|(id, body)| {
                serde_json::json!({
                    "messageId": id, "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a", "body": body,
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
                    "messageAttributes": {}, "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
                    "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:my-queue",
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        serde_json::json!({ "Records": recs }).to_string()
    }

    #[tokio::test]
    async fn sqs_batches_send_back_only_the_failed_messages() {
        let r = fake();
        let payload = sqs(&[
            ("m1", event(&[("ObjectCreated:Put", "ok.jpg", "01")])),
            ("m2", event(&[("ObjectCreated:Put", "slow.jpg", "02")])),
            ("m3", "not an event".into()),
            ("m4", event(&[("ObjectCreated:Put", "gone.jpg", "03")])),
        ]);
        let settings = Settings {
            sqs_partial_batch: true,
            ..Settings::default()
        };
        let out = run_with(&r, &payload, settings).await.unwrap();
        let mut failed: Vec<&str> = out["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap())
            .collect();
        failed.sort_unstable();
        assert_eq!(failed, ["m2", "m3"]);
        assert!(r.calls.lock().unwrap().contains(&"copy ok.jpg".to_string()));
        // Not asked for: one failed message fails the whole invocation, so
        // no message is lost on a mapping without ReportBatchItemFailures.
        assert!(run(&r, &payload).await.is_err());
        let fine = sqs(&[("m1", event(&[("ObjectCreated:Put", "ok.jpg", "04")]))]);
        let out = run_with(&r, &fine, settings).await.unwrap();
        assert_eq!(out, serde_json::json!({ "batchItemFailures": [] }));
    }
}
