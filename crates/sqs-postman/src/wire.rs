//! A lean `SendMessageBatch`: the request body is concatenated from entries
//! encoded once when the message was generated, signed with SigV4
//! (`aws-sigv4`) and sent over the lean connector, which the SDK's SQS client
//! shares (hyper, rustls, one pooled keep-alive connection per request in
//! flight).
//!
//! Why not the SDK's fluent call: measured with callgrind, the SDK's
//! orchestrator (type-erased config bags, interceptors, re-serialising the
//! entries, endpoint rules, a tracing span per call) costs about ten times
//! more CPU per request than the work itself, and the CPU it takes is CPU the
//! sender, and on a shared host the server, does not get. Everything else
//! (queue lookup, attributes, stats) stays on the SDK, and the request goes to
//! the very endpoint the SDK resolved for this queue (see `mc_aws_common::lean::EndpointCapture`),
//! so `--endpoint-url`, `AWS_ENDPOINT_URL_SQS`, FIPS and dual-stack settings
//! mean the same thing for both.

use std::borrow::Cow;
use std::time::SystemTime;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sigv4::http_request::SigningSettings;
use aws_smithy_types::body::SdkBody;
use mc_aws_common::lean::{exchange, sign_request, CredentialCache, LeanError};
use serde::Deserialize;

use crate::batch::{push_json_str, BatchEntry};
use crate::sigv4::FastSigner;

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
const TARGET: &str = "AmazonSQS.SendMessageBatch";
const USER_AGENT: &str = concat!("sqs-postman/", env!("CARGO_PKG_VERSION"));
/// The headers that are signed (besides host, date and token); see [`crate::sigv4`].
const HEADERS: [(&str, &str); 3] = [
    ("content-type", CONTENT_TYPE),
    ("x-amz-target", TARGET),
    ("x-amzn-query-mode", "true"),
];

/// One entry of a SendMessageBatch answer that SQS did not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEntry {
    /// Index of the entry in the batch that was sent.
    pub index: usize,
    pub sender_fault: bool,
    pub code: String,
    pub message: String,
}

/// What SQS said about each entry of a batch (by index in the batch).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchResult {
    pub successful: Vec<usize>,
    pub failed: Vec<FailedEntry>,
}

/// Sends SendMessageBatch requests for one queue.
pub struct Wire {
    connector: mc_aws_common::lean::Connector,
    endpoint: String,
    region: String,
    credentials: CredentialCache,
    /// `{"QueueUrl":"…","Entries":[`, encoded once.
    prefix: Vec<u8>,
    /// SigV4 without aws-sigv4's general machinery, for endpoints without a path.
    fast: Option<FastSigner>,
}

impl Wire {
    pub fn new(
        connector: mc_aws_common::lean::Connector,
        endpoint: String,
        region: String,
        credentials: Option<SharedCredentialsProvider>,
        queue_url: &str,
    ) -> Self {
        let fast = FastSigner::new(&endpoint, &region);
        Self {
            fast,
            connector,
            endpoint,
            region,
            credentials: CredentialCache::new(credentials),
            prefix: body_prefix(queue_url),
        }
    }

    /// Sends `batch` once (no retries: the caller's [`Throttle`](mc_aws_common::retry::Throttle) does them).
    pub async fn send(&self, batch: &[BatchEntry]) -> Result<BatchResult, LeanError> {
        let body = batch_body(&self.prefix, batch);
        let credentials = self.credentials.get().await?;
        let now = SystemTime::now();
        let fast = self
            .fast
            .as_ref()
            .and_then(|f| f.sign(&credentials, now, &body));
        let mut request = http::Request::builder()
            .method(http::Method::POST)
            .uri(self.endpoint.as_str())
            .header(http::header::USER_AGENT, USER_AGENT);
        for (k, v) in HEADERS {
            request = request.header(k, v);
        }
        let local = |e: http::Error| LeanError::Local(format!("request: {e}"));
        let request = match fast {
            Some(sig) => {
                if let Some(token) = credentials.session_token() {
                    request = request.header("x-amz-security-token", token);
                }
                request
                    .header(http::header::AUTHORIZATION, sig.authorization)
                    .header("x-amz-date", sig.amz_date)
                    .body(SdkBody::from(body))
                    .map_err(local)?
            }
            None => {
                let mut request = request.body(SdkBody::from(body)).map_err(local)?;
                let settings = SigningSettings::default();
                sign_request(
                    &mut request,
                    credentials,
                    &self.region,
                    "sqs",
                    now,
                    settings,
                )?;
                request
            }
        };
        let answer = exchange(&self.connector, request, &self.endpoint).await?;
        if answer.status == 200 {
            return parse_result(&answer.body, batch.len());
        }
        let query_error = answer
            .headers
            .get("x-amzn-query-error")
            .and_then(|v| v.to_str().ok());
        Err(parse_error(answer.status, query_error, &answer.body))
    }
}

/// `{"QueueUrl":"…","Entries":[`.
fn body_prefix(queue_url: &str) -> Vec<u8> {
    let mut prefix = b"{\"QueueUrl\":".to_vec();
    push_json_str(&mut prefix, queue_url);
    prefix.extend_from_slice(b",\"Entries\":[");
    prefix
}

/// The request body for `batch` (entry ids are the indexes in `batch`).
fn batch_body(prefix: &[u8], batch: &[BatchEntry]) -> Vec<u8> {
    let len = prefix.len() + batch.iter().map(|p| p.json.len() + 12).sum::<usize>() + 2;
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(prefix);
    for (i, p) in batch.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(b"{\"Id\":\"");
        push_usize(&mut body, i);
        body.push(b'"');
        body.extend_from_slice(&p.json);
        body.push(b'}');
    }
    body.extend_from_slice(b"]}");
    body
}

#[derive(Deserialize)]
struct RawResult<'a> {
    #[serde(rename = "Successful", default, borrow)]
    successful: Vec<RawOk<'a>>,
    #[serde(rename = "Failed", default, borrow)]
    failed: Vec<RawFailed<'a>>,
}

#[derive(Deserialize)]
struct RawOk<'a> {
    #[serde(rename = "Id", borrow)]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawFailed<'a> {
    #[serde(rename = "Id", borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "SenderFault", default)]
    sender_fault: bool,
    #[serde(rename = "Code", default, borrow)]
    code: Cow<'a, str>,
    #[serde(rename = "Message", default, borrow)]
    message: Option<Cow<'a, str>>,
}

/// Reads a 200 answer; ids that are not an index of the batch are ignored.
fn parse_result(bytes: &[u8], entries: usize) -> Result<BatchResult, LeanError> {
    let raw: RawResult<'_> = serde_json::from_slice(bytes)
        .map_err(|e| LeanError::Transport(format!("unreadable SendMessageBatch answer ({e})")))?;
    let index = |id: &str| id.parse::<usize>().ok().filter(|&i| i < entries);
    Ok(BatchResult {
        successful: raw.successful.iter().filter_map(|s| index(&s.id)).collect(),
        failed: raw
            .failed
            .into_iter()
            .filter_map(|f| {
                Some(FailedEntry {
                    index: index(&f.id)?,
                    sender_fault: f.sender_fault,
                    code: f.code.into_owned(),
                    message: f.message.map(Cow::into_owned).unwrap_or_default(),
                })
            })
            .collect(),
    })
}

#[derive(Deserialize)]
struct RawError<'a> {
    #[serde(rename = "__type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(alias = "Message", default, borrow)]
    message: Option<Cow<'a, str>>,
}

/// Reads an error answer: the code SQS gives in `x-amzn-query-error`
/// (`AWS.SimpleQueueService.NonExistentQueue;Sender`, as the SDK reports it),
/// else the `__type` of the JSON body (`com.amazonaws.sqs#QueueDoesNotExist`).
fn parse_error(status: u16, query_error: Option<&str>, bytes: &[u8]) -> LeanError {
    let raw: Option<RawError<'_>> = serde_json::from_slice(bytes).ok();
    let from_header = query_error
        .and_then(|h| h.split(';').next())
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let from_body = raw
        .as_ref()
        .and_then(|r| r.kind.as_deref())
        .map(|t| t.rsplit('#').next().unwrap_or(t))
        .map(|t| t.split(':').next().unwrap_or(t));
    let code = from_header.or(from_body).unwrap_or("").to_string();
    let message = match raw.as_ref().and_then(|r| r.message.as_deref()) {
        Some(m) => m.to_string(),
        None => String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            .trim()
            .to_string(),
    };
    LeanError::Service {
        status,
        code,
        message,
    }
}

fn push_usize(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mc_aws_common::error::{ErrorClass, ToolError};
    use mc_aws_common::retry::Classify;

    fn pending(seq: u64, json: &str) -> BatchEntry {
        BatchEntry {
            seq,
            size: 1,
            json: json.as_bytes().to_vec(),
        }
    }

    #[test]
    fn body_is_the_sdk_shape() {
        let batch: Vec<BatchEntry> = (0..12)
            .map(|i| pending(i, r#","MessageBody":"{\"a\":1}""#))
            .collect();
        let body = batch_body(&body_prefix("http://q/1/a\"b"), &batch);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["QueueUrl"], "http://q/1/a\"b");
        let entries = v["Entries"].as_array().unwrap();
        assert_eq!(entries.len(), 12);
        assert_eq!(entries[11]["Id"], "11");
        assert_eq!(entries[3]["MessageBody"], r#"{"a":1}"#);
    }

    #[test]
    fn results_by_index() {
        let body = br#"{"Successful":[{"Id":"0","MessageId":"m","MD5OfMessageBody":"x"},{"Id":"9","MessageId":"n"}],
            "Failed":[{"Id":"1","SenderFault":false,"Code":"InternalError","Message":"try again"},
                      {"Id":"2","SenderFault":true,"Code":"InvalidMessageContents"},{"Id":"x","Code":"?"}]}"#;
        let r = parse_result(body, 3).unwrap();
        assert_eq!(r.successful, [0]);
        assert_eq!(
            r.failed,
            [
                FailedEntry {
                    index: 1,
                    sender_fault: false,
                    code: "InternalError".into(),
                    message: "try again".into()
                },
                FailedEntry {
                    index: 2,
                    sender_fault: true,
                    code: "InvalidMessageContents".into(),
                    message: String::new()
                }
            ]
        );
        assert_eq!(parse_result(b"{}", 3).unwrap(), BatchResult::default());
        assert!(matches!(
            parse_result(b"<html>", 3),
            Err(LeanError::Transport(_))
        ));
    }

    #[test]
    fn error_codes_as_the_sdk_reports_them() {
        let e = parse_error(
            400,
            Some("AWS.SimpleQueueService.NonExistentQueue;Sender"),
            br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"gone"}"#,
        );
        assert_eq!(e.code(), "AWS.SimpleQueueService.NonExistentQueue");
        assert_eq!(e.class(), ErrorClass::Permanent);
        assert!(matches!(e.describe("queue q"), ToolError::NotFound { .. }));
        let e = parse_error(
            400,
            None,
            br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","Message":"gone"}"#,
        );
        assert_eq!(e.code(), "QueueDoesNotExist");
        assert!(e.to_string().contains("gone"));
        let e = parse_error(400, Some("ThrottlingException;Sender"), b"{}");
        assert_eq!(e.class(), ErrorClass::Throttled);
        let e = parse_error(
            400,
            None,
            br#"{"__type":"com.amazonaws.sqs#BatchRequestTooLong"}"#,
        );
        assert_eq!(e.code(), "BatchRequestTooLong");
        let e = parse_error(500, None, b"oops");
        assert_eq!(e.class(), ErrorClass::Transient);
        assert_eq!(e.code(), "RequestFailed");
        assert_eq!(
            LeanError::Transport("reset".into()).class(),
            ErrorClass::Transient
        );
        assert_eq!(
            LeanError::Credentials("none".into())
                .describe("q")
                .to_string(),
            ToolError::NoCredentials.to_string()
        );
    }

    #[test]
    fn numbers() {
        for n in [0usize, 7, 10, 1234567] {
            let mut v = Vec::new();
            push_usize(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
    }
}
