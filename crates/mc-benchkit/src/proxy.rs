//! An HTTP/1.1 latency and fault-injection reverse proxy for S3 and SQS emulators.
//!
//! The proxy listens on 127.0.0.1, forwards every request to one upstream (keep-alive, bodies
//! streamed both ways unless a rewrite needs them), and on the way:
//!
//! * recognises the operation: S3 from method + path + query (`GET /b?list-type=2` →
//!   `ListObjectsV2`, `PUT /b/k` with `x-amz-copy-source` → `CopyObject`, …), SQS from the
//!   `X-Amz-Target: AmazonSQS.<Op>` header (JSON protocol) or the `Action=` form field (query
//!   protocol);
//! * adds latency ([`Latency`]: fixed, uniform, normal, or per operation);
//! * injects faults ([`Faults`]) with seeded per-request probabilities, or deterministically for
//!   the first N matching requests ([`FirstN`]):
//!   - `503 SlowDown` with S3's XML error body (S3 requests),
//!   - SQS throttling: JSON protocol `400` + `x-amzn-query-error: ThrottlingException;Sender` +
//!     `{"__type":"com.amazonaws.sqs#ThrottlingException",…}`; query protocol an XML
//!     `ErrorResponse` (SQS requests),
//!   - `500 InternalError` (S3 XML or SQS JSON/XML),
//!   - connection reset: the TCP connection is closed with RST and no response,
//!   - expired credentials ([`FirstN`] only): S3 `400 ExpiredToken` (no body on HEAD, as
//!     S3 does), SQS and other query/JSON services `403 ExpiredToken`,
//!   - access denied ([`FirstN`] only, typically for one operation): `403 AccessDenied`,
//!   - a failed copy in a `200 OK` (S3): an `InternalError` `<Error>` body with status 200,
//!     as S3 answers a CopyObject or UploadPartCopy that fails late,
//!   - SQS `SendMessageBatch` (JSON protocol) partial failure: each entry is failed with
//!     probability `batch_entry_failure`; failed entries are *removed from the request* before it
//!     is forwarded (so they are really not delivered) and added to the response's `Failed` list
//!     with `SenderFault: false, Code: InternalError`.
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use mc_benchkit::proxy::{Faults, Latency, Proxy, ProxyConfig};
//! let proxy = Proxy::start(ProxyConfig {
//!     upstream: "http://127.0.0.1:1234".into(),
//!     latency: Latency::Fixed(Duration::from_millis(20)),
//!     faults: Faults { slowdown: 0.1, reset: 0.02, ..Default::default() },
//!     seed: 42,
//!     ..Default::default()
//! })
//! .await?;
//! let endpoint = proxy.endpoint(); // http://127.0.0.1:PORT
//! let stats = proxy.stats();       // per operation and per fault kind
//! # Ok(()) }
//! ```
//!
//! Synchronous tests that spawn tool binaries use [`Proxy::start_blocking`], which runs the proxy
//! on its own thread and runtime. The proxy stops when dropped.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::server::Running;

type Body = BoxBody<Bytes, hyper::Error>;

/// Added latency per request.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Latency {
    /// No added latency.
    #[default]
    None,
    /// Always this much.
    Fixed(Duration),
    /// Uniform in `[min, max]`.
    Uniform { min: Duration, max: Duration },
    /// Normal(mean, stddev), clamped at 0.
    Normal { mean: Duration, stddev: Duration },
    /// Per operation name (e.g. `ListObjectsV2`, `SendMessageBatch`), else `default`.
    PerOp {
        ops: HashMap<String, Latency>,
        default: Box<Latency>,
    },
}

impl Latency {
    fn sample(&self, op: &str, rng: &mut StdRng) -> Duration {
        match self {
            Self::None => Duration::ZERO,
            Self::Fixed(d) => *d,
            Self::Uniform { min, max } => {
                if max <= min {
                    *min
                } else {
                    *min + (*max - *min).mul_f64(rng.random::<f64>())
                }
            }
            Self::Normal { mean, stddev } => {
                // Box-Muller.
                let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                let u2: f64 = rng.random();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                let s = mean.as_secs_f64() + z * stddev.as_secs_f64();
                Duration::from_secs_f64(s.max(0.0))
            }
            Self::PerOp { ops, default } => ops.get(op).unwrap_or(default.as_ref()).sample(op, rng),
        }
    }
}

/// Kinds of injected faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// `503 SlowDown` (S3 requests only).
    SlowDown,
    /// SQS throttling error (SQS requests only).
    Throttle,
    /// `500 InternalError`.
    InternalError,
    /// TCP reset without a response.
    Reset,
    /// One `SendMessageBatch` entry moved to `Failed` (counted per entry).
    BatchEntryFailure,
    /// What AWS answers a request signed with an expired session token
    /// (only through [`FirstN`]; emulators accept any credentials).
    ExpiredToken,
    /// What AWS answers an identity without the permission for the
    /// operation (only through [`FirstN`]; emulators allow everything).
    AccessDenied,
    /// `200 OK` whose body is S3's `<Error>` (`InternalError`): S3 answers
    /// so when a CopyObject, UploadPartCopy or CompleteMultipartUpload fails
    /// after its answer began (S3 requests).
    ErrorIn200,
}

impl FaultKind {
    /// Stable name used in [`ProxyStats::faults`].
    pub fn name(self) -> &'static str {
        match self {
            Self::SlowDown => "SlowDown",
            Self::Throttle => "Throttle",
            Self::InternalError => "InternalError",
            Self::Reset => "Reset",
            Self::BatchEntryFailure => "BatchEntryFailure",
            Self::ExpiredToken => "ExpiredToken",
            Self::AccessDenied => "AccessDenied",
            Self::ErrorIn200 => "ErrorIn200",
        }
    }
}

/// Fail the first `n` requests (or, for [`FaultKind::BatchEntryFailure`], batch entries) that
/// match `op` (any operation when `None`) with `kind`. Checked before the probabilistic rates.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstN {
    pub kind: FaultKind,
    pub op: Option<String>,
    pub n: u64,
}

/// Fault rates (probabilities per request in `[0, 1]`; their sum should stay ≤ 1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faults {
    /// `503 SlowDown` on S3 requests.
    pub slowdown: f64,
    /// Throttling error on SQS requests.
    pub throttle: f64,
    /// `500 InternalError` on any request.
    pub internal_error: f64,
    /// Connection reset on any request.
    pub reset: f64,
    /// Per entry of an SQS `SendMessageBatch` (JSON protocol).
    pub batch_entry_failure: f64,
    /// `200 OK` with an `<Error>` body on S3 requests ([`FaultKind::ErrorIn200`]).
    pub error_in_200: f64,
    /// When non-empty, the probabilistic faults only hit these operations.
    pub only_ops: Vec<String>,
    /// Deterministic faults for the first N matching requests.
    pub first_n: Vec<FirstN>,
}

/// Proxy configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// `http://host:port` of the upstream (an emulator on loopback).
    pub upstream: String,
    pub latency: Latency,
    pub faults: Faults,
    /// RNG seed: the same seed and request order give the same faults and latencies.
    pub seed: u64,
    /// Port on 127.0.0.1 (0 = any free port).
    pub port: u16,
    /// Make every bucket behind the proxy requester-pays, as S3 has it for
    /// everyone but the bucket's owner (neither emulator enforces it, nor
    /// answers GetBucketRequestPayment): GetBucketRequestPayment says
    /// `Requester`, and object and list requests that lack
    /// `x-amz-request-payer: requester` get `403 AccessDenied`.
    pub requester_pays: bool,
    /// Keep every request (method, path, headers, body) for [`Proxy::recorded`]:
    /// tests check the requests a tool sends field by field.
    pub record: bool,
}

/// One request as the proxy received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The recognised operation (`CreateJob`, `PutObject`, ...).
    pub op: String,
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Header names in lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Recorded {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            upstream: String::new(),
            latency: Latency::None,
            faults: Faults::default(),
            seed: 0,
            port: 0,
            requester_pays: false,
            record: false,
        }
    }
}

/// Counters since start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyStats {
    /// Requests received.
    pub requests: u64,
    /// Requests forwarded upstream (possibly rewritten).
    pub forwarded: u64,
    /// Requests per recognised operation (`Unknown` when not recognised).
    pub per_op: BTreeMap<String, u64>,
    /// Injected faults per [`FaultKind::name`].
    pub faults: BTreeMap<String, u64>,
    /// Sum of added latency.
    pub added_latency: Duration,
}

/// Which service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    S3,
    /// SQS JSON protocol (`X-Amz-Target`).
    SqsJson,
    /// SQS query protocol (`Action=` form).
    SqsQuery,
}

struct Inner {
    config: ProxyConfig,
    upstream: Uri,
    rng: Mutex<StdRng>,
    stats: Mutex<ProxyStats>,
    first_n_used: Mutex<Vec<u64>>,
    client: Client<HttpConnector, Body>,
    recorded: Mutex<Vec<Recorded>>,
}

/// A running proxy on 127.0.0.1. Stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    inner: Arc<Inner>,
    server: Running,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("addr", &self.addr).finish()
    }
}

impl Proxy {
    /// Binds 127.0.0.1:`config.port` and serves on the current tokio runtime.
    pub async fn start(config: ProxyConfig) -> anyhow::Result<Self> {
        let upstream: Uri = config
            .upstream
            .parse()
            .with_context(|| format!("bad upstream {:?}", config.upstream))?;
        if upstream.authority().is_none() {
            return Err(anyhow!("upstream {:?} has no host:port", config.upstream));
        }
        let listener = TcpListener::bind(("127.0.0.1", config.port))
            .await
            .context("binding the proxy")?;
        let addr = listener.local_addr()?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let n_rules = config.faults.first_n.len();
        let inner = Arc::new(Inner {
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            config,
            upstream,
            stats: Mutex::new(ProxyStats::default()),
            first_n_used: Mutex::new(vec![0; n_rules]),
            client,
            recorded: Mutex::new(Vec::new()),
        });
        let (tx, rx) = oneshot::channel();
        tokio::spawn(serve(listener, inner.clone(), rx));
        Ok(Self {
            addr,
            inner,
            server: Running::task(tx),
        })
    }

    /// A proxy in front of `upstream` that answers every request the way AWS
    /// answers expired session credentials ([`FaultKind::ExpiredToken`]):
    /// emulators accept any credentials, so tests of the auth path need this.
    pub fn expired_credentials(upstream: &str) -> anyhow::Result<Self> {
        Self::start_blocking(ProxyConfig {
            upstream: upstream.to_string(),
            faults: Faults {
                first_n: vec![FirstN {
                    kind: FaultKind::ExpiredToken,
                    op: None,
                    n: u64::MAX,
                }],
                ..Faults::default()
            },
            ..ProxyConfig::default()
        })
    }

    /// A proxy in front of `upstream` that refuses S3 object and list
    /// requests without `x-amz-request-payer: requester`
    /// ([`ProxyConfig::requester_pays`]), on a thread of its own.
    pub fn requester_pays(upstream: &str) -> anyhow::Result<Self> {
        Self::start_blocking(ProxyConfig {
            upstream: upstream.to_string(),
            requester_pays: true,
            ..ProxyConfig::default()
        })
    }

    /// A proxy in front of `upstream` that answers a share `slowdown` of the
    /// S3 requests with `503 SlowDown` and resets a share `reset` of them
    /// without an answer (the fault tests of every S3 tool), on a thread of
    /// its own.
    pub fn faulty_blocking(
        upstream: &str,
        slowdown: f64,
        reset: f64,
        seed: u64,
    ) -> anyhow::Result<Self> {
        Self::start_blocking(ProxyConfig {
            upstream: upstream.to_string(),
            faults: Faults {
                slowdown,
                reset,
                ..Faults::default()
            },
            seed,
            ..ProxyConfig::default()
        })
    }

    /// Like [`Proxy::start`], on a background thread with its own runtime.
    pub fn start_blocking(config: ProxyConfig) -> anyhow::Result<Self> {
        let ((addr, inner), server) = Running::on_thread("mc-proxy", move || async move {
            let p = Proxy::start(config).await?;
            // Hand out state shared with the server; the server stays on its thread.
            Ok(((p.addr, p.inner.clone()), p.server))
        })?;
        Ok(Self {
            addr,
            inner,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests received so far (with [`ProxyConfig::record`]).
    pub fn recorded(&self) -> Vec<Recorded> {
        self.inner
            .recorded
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ProxyStats {
        self.inner
            .stats
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }
}

/// Returned by the service to make hyper drop the connection without answering.
#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for ResetConnection {}

async fn serve(listener: TcpListener, inner: Arc<Inner>, mut stop: oneshot::Receiver<()>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            acc = listener.accept() => {
                let Ok((stream, _)) = acc else { continue };
                let _ = stream.set_nodelay(true);
                // A duplicate of the socket lets a handler arm SO_LINGER=0 so that the close
                // hyper does after a service error is an RST.
                let fd: Option<Arc<OwnedFd>> = stream.as_fd().try_clone_to_owned().ok().map(Arc::new);
                let inner = inner.clone();
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let inner = inner.clone();
                        let fd = fd.clone();
                        async move {
                            match handle(&inner, req).await {
                                Some(resp) => Ok(resp),
                                None => {
                                    if let Some(fd) = &fd {
                                        let _ = socket2::SockRef::from(fd.as_ref())
                                            .set_linger(Some(Duration::ZERO));
                                    }
                                    Err(ResetConnection)
                                }
                            }
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
                while conns.try_join_next().is_some() {}
            }
        }
    }
}

/// Recognises an S3 Control Batch Operations call (`/v20180820/jobs...`).
pub fn s3_control_operation(method: &Method, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/v20180820/jobs")?;
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    Some(match (method, parts.as_slice()) {
        (&Method::POST, []) => "CreateJob",
        (&Method::GET, []) => "ListJobs",
        (&Method::GET, [_]) => "DescribeJob",
        (&Method::POST, [_, "status"]) => "UpdateJobStatus",
        (&Method::POST, [_, "priority"]) => "UpdateJobPriority",
        _ => "Unknown",
    })
}

/// Recognises the S3 operation from method, path and query.
pub fn s3_operation(method: &Method, path: &str, query: &str, headers: &HeaderMap) -> String {
    let has = |k: &str| {
        query
            .split('&')
            .any(|kv| kv == k || kv.starts_with(&format!("{k}=")))
    };
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = match trimmed.split_once('/') {
        Some((b, k)) => (b, k),
        None => (trimmed, ""),
    };
    let copy = headers.contains_key("x-amz-copy-source");
    let op = if bucket.is_empty() {
        match *method {
            Method::GET => "ListBuckets",
            _ => "Unknown",
        }
    } else if key.is_empty() {
        match *method {
            Method::GET if has("list-type") => "ListObjectsV2",
            Method::GET if has("location") => "GetBucketLocation",
            Method::GET if has("acl") => "GetBucketAcl",
            Method::GET if has("uploads") => "ListMultipartUploads",
            Method::GET if has("versions") => "ListObjectVersions",
            Method::GET if has("tagging") => "GetBucketTagging",
            Method::GET if has("policy") => "GetBucketPolicy",
            Method::GET if has("notification") => "GetBucketNotificationConfiguration",
            Method::GET => "ListObjects",
            Method::PUT if has("acl") => "PutBucketAcl",
            Method::PUT if has("notification") => "PutBucketNotificationConfiguration",
            Method::PUT => "CreateBucket",
            Method::HEAD => "HeadBucket",
            Method::DELETE => "DeleteBucket",
            Method::POST if has("delete") => "DeleteObjects",
            _ => "Unknown",
        }
    } else {
        match *method {
            Method::GET if has("acl") => "GetObjectAcl",
            Method::GET if has("tagging") => "GetObjectTagging",
            Method::GET if has("uploadId") => "ListParts",
            Method::GET => "GetObject",
            Method::HEAD => "HeadObject",
            Method::PUT if has("acl") => "PutObjectAcl",
            Method::PUT if has("tagging") => "PutObjectTagging",
            Method::PUT if has("partNumber") && copy => "UploadPartCopy",
            Method::PUT if has("partNumber") => "UploadPart",
            Method::PUT if copy => "CopyObject",
            Method::PUT => "PutObject",
            Method::POST if has("uploads") => "CreateMultipartUpload",
            Method::POST if has("uploadId") => "CompleteMultipartUpload",
            Method::DELETE if has("uploadId") => "AbortMultipartUpload",
            Method::DELETE if has("tagging") => "DeleteObjectTagging",
            Method::DELETE => "DeleteObject",
            _ => "Unknown",
        }
    };
    op.to_owned()
}

/// GetBucketRequestPayment.
fn payment_asked(parts: &http::request::Parts) -> bool {
    parts.method == Method::GET
        && parts.uri.query().is_some_and(|q| {
            q.split('&')
                .any(|kv| kv == "requestPayment" || kv.starts_with("requestPayment="))
        })
}

/// An object or list request without `x-amz-request-payer: requester`:
/// what requester pays covers (bucket configuration calls are not).
fn unpaid(parts: &http::request::Parts) -> bool {
    let paid = parts
        .headers
        .get("x-amz-request-payer")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"requester"));
    let path = parts.uri.path().trim_start_matches('/');
    let query = parts.uri.query().unwrap_or("");
    // S3 Control (`/v20180820/...`) is not a bucket.
    let control = path.starts_with("v20180820/");
    let object = !control && path.split_once('/').is_some_and(|(_, k)| !k.is_empty());
    let listing = parts.method == Method::GET
        && !control
        && (query.is_empty()
            || query.split('&').any(|kv| {
                kv.starts_with("list-type") || kv == "versions" || kv.starts_with("versions=")
            }));
    !paid && (object || listing)
}

fn form_value(body: &[u8], name: &str) -> Option<String> {
    let s = std::str::from_utf8(body).ok()?;
    s.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn request_id(rng: &mut StdRng) -> String {
    format!("{:016X}", rng.random::<u64>())
}

fn full(status: StatusCode, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<Body> {
    let body: Bytes = body.into();
    let mut r = Response::new(Full::new(body).map_err(|never| match never {}).boxed());
    *r.status_mut() = status;
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

fn s3_error(
    status: StatusCode,
    code: &str,
    message: &str,
    rid: &str,
    head: bool,
) -> Response<Body> {
    let body = if head {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{rid}</RequestId><HostId>mc-benchkit-proxy</HostId></Error>"
        )
    };
    full(
        status,
        &[
            ("content-type", "application/xml"),
            ("x-amz-request-id", rid),
        ],
        body,
    )
}

fn sqs_error(
    service: Service,
    status: StatusCode,
    code: &str,
    fault: &str,
    message: &str,
    rid: &str,
) -> Response<Body> {
    match service {
        Service::SqsQuery => full(
            status,
            &[("content-type", "text/xml"), ("x-amzn-requestid", rid)],
            format!(
                "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error><Type>{fault}</Type><Code>{code}</Code><Message>{message}</Message><Detail/></Error><RequestId>{rid}</RequestId></ErrorResponse>"
            ),
        ),
        _ => {
            let query_error = format!("{code};{fault}");
            full(
                status,
                &[
                    ("content-type", "application/x-amz-json-1.0"),
                    ("x-amzn-requestid", rid),
                    ("x-amzn-query-error", &query_error),
                ],
                serde_json::json!({
                    "__type": format!("com.amazonaws.sqs#{code}"),
                    "message": message,
                })
                .to_string(),
            )
        }
    }
}

impl Inner {
    fn bump_fault(&self, kind: FaultKind, n: u64) {
        if let Ok(mut s) = self.stats.lock() {
            *s.faults.entry(kind.name().to_owned()).or_insert(0) += n;
        }
    }

    /// Takes one unit of a matching first-N rule of `kind`, if any remains.
    fn take_first_n(&self, kind: FaultKind, op: &str) -> bool {
        let Ok(mut used) = self.first_n_used.lock() else {
            return false;
        };
        for (i, rule) in self.config.faults.first_n.iter().enumerate() {
            if rule.kind == kind
                && rule.op.as_deref().is_none_or(|o| o == op)
                && used.get(i).is_some_and(|u| *u < rule.n)
            {
                if let Some(u) = used.get_mut(i) {
                    *u += 1;
                }
                return true;
            }
        }
        false
    }

    /// Picks the request-level fault for this request, if any.
    fn pick_fault(&self, service: Service, op: &str) -> Option<FaultKind> {
        let applicable = |k: FaultKind| match k {
            FaultKind::SlowDown | FaultKind::ErrorIn200 => service == Service::S3,
            FaultKind::Throttle => service != Service::S3,
            FaultKind::InternalError
            | FaultKind::Reset
            | FaultKind::ExpiredToken
            | FaultKind::AccessDenied => true,
            FaultKind::BatchEntryFailure => false,
        };
        for k in [
            FaultKind::ExpiredToken,
            FaultKind::AccessDenied,
            FaultKind::ErrorIn200,
            FaultKind::Reset,
            FaultKind::InternalError,
            FaultKind::SlowDown,
            FaultKind::Throttle,
        ] {
            if applicable(k) && self.take_first_n(k, op) {
                return Some(k);
            }
        }
        let f = &self.config.faults;
        if !f.only_ops.is_empty() && !f.only_ops.iter().any(|o| o == op) {
            return None;
        }
        let r: f64 = self.rng.lock().map(|mut g| g.random()).unwrap_or(1.0);
        let mut acc = 0.0;
        for (k, rate) in [
            (FaultKind::Reset, f.reset),
            (FaultKind::InternalError, f.internal_error),
            (FaultKind::SlowDown, f.slowdown),
            (FaultKind::Throttle, f.throttle),
            (FaultKind::ErrorIn200, f.error_in_200),
        ] {
            if !applicable(k) || rate <= 0.0 {
                continue;
            }
            acc += rate;
            if r < acc {
                return Some(k);
            }
        }
        None
    }

    fn entry_fails(&self, op: &str) -> bool {
        if self.take_first_n(FaultKind::BatchEntryFailure, op) {
            return true;
        }
        let f = &self.config.faults;
        if f.batch_entry_failure <= 0.0
            || (!f.only_ops.is_empty() && !f.only_ops.iter().any(|o| o == op))
        {
            return false;
        }
        self.rng
            .lock()
            .map(|mut g| g.random::<f64>() < f.batch_entry_failure)
            .unwrap_or(false)
    }

    fn upstream_uri(&self, orig: &Uri) -> anyhow::Result<Uri> {
        let mut parts = self.upstream.clone().into_parts();
        parts.path_and_query = orig.path_and_query().cloned();
        Ok(Uri::from_parts(parts)?)
    }
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

fn strip_hop_by_hop(h: &mut HeaderMap) {
    for k in HOP_BY_HOP {
        h.remove(*k);
    }
}

/// Handles one request; `None` means "reset the connection".
async fn handle(inner: &Inner, req: Request<Incoming>) -> Option<Response<Body>> {
    let (mut parts, body) = req.into_parts();
    let mut body = Some(body);
    // Classify.
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let mut buffered: Option<Bytes> = None;
    let (service, op) =
        if let Some(t) = target.as_deref().and_then(|t| t.strip_prefix("AmazonSQS.")) {
            (Service::SqsJson, t.to_owned())
        } else if parts.method == Method::POST && is_form {
            let b = collect(body.take()).await?;
            let action = form_value(&b, "Action");
            buffered = Some(b);
            match action {
                Some(a) => (Service::SqsQuery, a),
                None => (Service::S3, "Unknown".to_owned()),
            }
        } else if let Some(op) = s3_control_operation(&parts.method, parts.uri.path()) {
            (Service::S3, op.to_owned())
        } else {
            let q = parts.uri.query().unwrap_or("");
            (
                Service::S3,
                s3_operation(&parts.method, parts.uri.path(), q, &parts.headers),
            )
        };
    if inner.config.record {
        let b = match buffered.take() {
            Some(b) => b,
            None => collect(body.take()).await?,
        };
        let rec = Recorded {
            op: op.clone(),
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: b.clone(),
        };
        if let Ok(mut r) = inner.recorded.lock() {
            r.push(rec);
        }
        buffered = Some(b);
    }
    let (delay, rid) = {
        let mut rng = match inner.rng.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        (
            inner.config.latency.sample(&op, &mut rng),
            request_id(&mut rng),
        )
    };
    if let Ok(mut s) = inner.stats.lock() {
        s.requests += 1;
        *s.per_op.entry(op.clone()).or_insert(0) += 1;
        s.added_latency += delay;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let head = parts.method == Method::HEAD;
    if inner.config.requester_pays && service == Service::S3 && payment_asked(&parts) {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><RequestPaymentConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Payer>Requester</Payer></RequestPaymentConfiguration>"#;
        return Some(full(
            StatusCode::OK,
            &[("content-type", "application/xml")],
            xml,
        ));
    }
    if inner.config.requester_pays && service == Service::S3 && unpaid(&parts) {
        if let Ok(mut s) = inner.stats.lock() {
            *s.faults.entry("RequesterPays".into()).or_insert(0) += 1;
        }
        return Some(s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Access Denied",
            &rid,
            head,
        ));
    }
    if let Some(kind) = inner.pick_fault(service, &op) {
        inner.bump_fault(kind, 1);
        return match kind {
            FaultKind::Reset => None,
            FaultKind::SlowDown => Some(s3_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
                &rid,
                head,
            )),
            FaultKind::InternalError if service == Service::S3 => Some(s3_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
                &rid,
                head,
            )),
            FaultKind::ErrorIn200 => Some(s3_error(
                StatusCode::OK,
                "InternalError",
                "We encountered an internal error. Please try again.",
                &rid,
                head,
            )),
            FaultKind::ExpiredToken if service == Service::S3 => Some(s3_error(
                StatusCode::BAD_REQUEST,
                "ExpiredToken",
                "The provided token has expired.",
                &rid,
                head,
            )),
            FaultKind::AccessDenied if service == Service::S3 => Some(s3_error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Access Denied",
                &rid,
                head,
            )),
            FaultKind::AccessDenied => Some(sqs_error(
                service,
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Sender",
                "Access to the resource is denied.",
                &rid,
            )),
            FaultKind::ExpiredToken => Some(sqs_error(
                service,
                StatusCode::FORBIDDEN,
                "ExpiredToken",
                "Sender",
                "The security token included in the request is expired",
                &rid,
            )),
            FaultKind::InternalError => Some(sqs_error(
                service,
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "Receiver",
                "We encountered an internal error. Please try again.",
                &rid,
            )),
            _ => Some(sqs_error(
                service,
                StatusCode::BAD_REQUEST,
                "ThrottlingException",
                "Sender",
                "Rate exceeded",
                &rid,
            )),
        };
    }

    // SendMessageBatch partial failure (JSON protocol).
    let f = &inner.config.faults;
    let batch_rule = f
        .first_n
        .iter()
        .any(|r| r.kind == FaultKind::BatchEntryFailure);
    let mut injected_failed: Vec<serde_json::Value> = Vec::new();
    if service == Service::SqsJson
        && op == "SendMessageBatch"
        && (f.batch_entry_failure > 0.0 || batch_rule)
    {
        let b = match buffered.take() {
            Some(b) => b,
            None => collect(body.take()).await?,
        };
        let mut json: serde_json::Value = match serde_json::from_slice(&b) {
            Ok(j) => j,
            Err(_) => return forward(inner, parts, Some(b), None).await,
        };
        if let Some(entries) = json.get_mut("Entries").and_then(|e| e.as_array_mut()) {
            let mut kept = Vec::new();
            for e in entries.drain(..) {
                if inner.entry_fails(&op) {
                    injected_failed.push(serde_json::json!({
                        "Id": e.get("Id").cloned().unwrap_or(serde_json::Value::Null),
                        "SenderFault": false,
                        "Code": "InternalError",
                        "Message": "injected by mc-benchkit proxy",
                    }));
                } else {
                    kept.push(e);
                }
            }
            *entries = kept;
        }
        if injected_failed.is_empty() {
            return forward(inner, parts, Some(b), None).await;
        }
        inner.bump_fault(FaultKind::BatchEntryFailure, injected_failed.len() as u64);
        let all_failed = json
            .get("Entries")
            .and_then(|e| e.as_array())
            .is_none_or(|a| a.is_empty());
        if all_failed {
            let body = serde_json::json!({ "Successful": [], "Failed": injected_failed });
            return Some(full(
                StatusCode::OK,
                &[
                    ("content-type", "application/x-amz-json-1.0"),
                    ("x-amzn-requestid", &rid),
                ],
                body.to_string(),
            ));
        }
        let new_body = Bytes::from(json.to_string());
        parts.headers.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(new_body.len()),
        );
        return forward(inner, parts, Some(new_body), Some(injected_failed)).await;
    }
    match (buffered, body) {
        (None, Some(body)) => forward_stream(inner, parts, body).await,
        (b, _) => forward(inner, parts, b, None).await,
    }
}

async fn collect(body: Option<Incoming>) -> Option<Bytes> {
    body?.collect().await.ok().map(|c| c.to_bytes())
}

async fn forward_stream(
    inner: &Inner,
    mut parts: http::request::Parts,
    body: Incoming,
) -> Option<Response<Body>> {
    strip_hop_by_hop(&mut parts.headers);
    let uri = match inner.upstream_uri(&parts.uri) {
        Ok(u) => u,
        Err(e) => return Some(bad_gateway(&e.to_string())),
    };
    parts.uri = uri;
    let req = Request::from_parts(parts, body.boxed());
    send(inner, req, None).await
}

async fn forward(
    inner: &Inner,
    mut parts: http::request::Parts,
    body: Option<Bytes>,
    add_failed: Option<Vec<serde_json::Value>>,
) -> Option<Response<Body>> {
    strip_hop_by_hop(&mut parts.headers);
    let body = body.unwrap_or_default();
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let uri = match inner.upstream_uri(&parts.uri) {
        Ok(u) => u,
        Err(e) => return Some(bad_gateway(&e.to_string())),
    };
    parts.uri = uri;
    let req = Request::from_parts(
        parts,
        Full::new(body).map_err(|never| match never {}).boxed(),
    );
    send(inner, req, add_failed).await
}

fn bad_gateway(msg: &str) -> Response<Body> {
    full(
        StatusCode::BAD_GATEWAY,
        &[("content-type", "text/plain")],
        format!("mc-benchkit proxy: upstream error: {msg}"),
    )
}

async fn send(
    inner: &Inner,
    req: Request<Body>,
    add_failed: Option<Vec<serde_json::Value>>,
) -> Option<Response<Body>> {
    if let Ok(mut s) = inner.stats.lock() {
        s.forwarded += 1;
    }
    let resp = match inner.client.request(req).await {
        Ok(r) => r,
        Err(e) => return Some(bad_gateway(&e.to_string())),
    };
    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let Some(failed) = add_failed else {
        return Some(Response::from_parts(parts, body.boxed()));
    };
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => return Some(bad_gateway(&e.to_string())),
    };
    if parts.status != StatusCode::OK {
        return Some(Response::from_parts(
            parts,
            Full::new(bytes).map_err(|never| match never {}).boxed(),
        ));
    }
    let new = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut j) => {
            if let Some(obj) = j.as_object_mut() {
                let list = obj
                    .entry("Failed")
                    .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                if let Some(a) = list.as_array_mut() {
                    a.extend(failed);
                }
                obj.entry("Successful")
                    .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            }
            Bytes::from(j.to_string())
        }
        Err(_) => bytes,
    };
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, HeaderValue::from(new.len()));
    parts.headers.remove("x-amz-crc32");
    Some(Response::from_parts(
        parts,
        Full::new(new).map_err(|never| match never {}).boxed(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requester_pays_covers_object_and_list_requests_only() {
        let parts = |method: Method, uri: &str, paid: bool| {
            let mut b = Request::builder().method(method).uri(uri);
            if paid {
                b = b.header("x-amz-request-payer", "requester");
            }
            b.body(()).unwrap().into_parts().0
        };
        for uri in [
            "/b/k",
            "/b/k?acl&versionId=1",
            "/b?list-type=2&prefix=a",
            "/b?versions",
            "/b",
        ] {
            assert!(unpaid(&parts(Method::GET, uri, false)), "{uri}");
            assert!(!unpaid(&parts(Method::GET, uri, true)), "{uri}");
        }
        for uri in [
            "/b?ownershipControls",
            "/b?policy",
            "/v20180820/configuration/publicAccessBlock",
        ] {
            assert!(!unpaid(&parts(Method::GET, uri, false)), "{uri}");
        }
        assert!(!unpaid(&parts(Method::HEAD, "/b", false)));
        assert!(payment_asked(&parts(
            Method::GET,
            "/b?requestPayment",
            false
        )));
        assert!(!payment_asked(&parts(
            Method::PUT,
            "/b?requestPayment",
            false
        )));
    }

    #[test]
    fn s3_ops() {
        let h = HeaderMap::new();
        assert_eq!(
            s3_operation(&Method::GET, "/b", "list-type=2&prefix=a", &h),
            "ListObjectsV2"
        );
        assert_eq!(s3_operation(&Method::GET, "/b", "", &h), "ListObjects");
        assert_eq!(
            s3_operation(&Method::GET, "/b", "notification", &h),
            "GetBucketNotificationConfiguration"
        );
        assert_eq!(s3_operation(&Method::GET, "/", "", &h), "ListBuckets");
        assert_eq!(s3_operation(&Method::PUT, "/b/k/x", "", &h), "PutObject");
        assert_eq!(
            s3_operation(&Method::PUT, "/b/k", "partNumber=1&uploadId=x", &h),
            "UploadPart"
        );
        let mut c = HeaderMap::new();
        c.insert("x-amz-copy-source", HeaderValue::from_static("b/src"));
        assert_eq!(s3_operation(&Method::PUT, "/b/k", "", &c), "CopyObject");
        assert_eq!(
            s3_operation(&Method::PUT, "/b/k", "partNumber=1&uploadId=x", &c),
            "UploadPartCopy"
        );
        assert_eq!(
            s3_operation(&Method::GET, "/b/k", "acl", &h),
            "GetObjectAcl"
        );
        assert_eq!(
            s3_operation(&Method::PUT, "/b/k", "acl=", &h),
            "PutObjectAcl"
        );
        assert_eq!(
            s3_operation(&Method::POST, "/b", "delete", &h),
            "DeleteObjects"
        );
    }

    #[test]
    fn s3_control_ops() {
        let op = |m: Method, p: &str| s3_control_operation(&m, p);
        assert_eq!(op(Method::POST, "/v20180820/jobs"), Some("CreateJob"));
        assert_eq!(
            op(Method::GET, "/v20180820/jobs/abc-123"),
            Some("DescribeJob")
        );
        assert_eq!(
            op(Method::POST, "/v20180820/jobs/abc/status"),
            Some("UpdateJobStatus")
        );
        assert_eq!(op(Method::GET, "/bucket/key"), None);
    }

    #[test]
    fn form_action() {
        assert_eq!(
            form_value(b"Action=SendMessage&QueueUrl=x", "Action").as_deref(),
            Some("SendMessage")
        );
    }
}
