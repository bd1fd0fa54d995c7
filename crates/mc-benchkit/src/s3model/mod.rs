//! An in-memory S3-compatible *performance model*.
//!
//! Every S3 emulator we can run here (moto, ministack, MinIO in fs mode, …) costs O(bucket size)
//! per list page, so none of them can show what parallel listing buys on real S3, where a page
//! costs about the same whatever the bucket holds. This server keeps each bucket in a sorted
//! index (`BTreeMap`), so a `ListObjectsV2` page costs O(log n + page), and then *sleeps* a
//! configurable per-operation latency and enforces S3's per-prefix request-rate limits. Its
//! absolute times therefore **model** S3; they are not a measurement of it.
//!
//! It is served with the [`s3s`] crate (path-style only) and accepts any credentials: the
//! `Authorization` header and presigned-URL query parameters are stripped before `s3s` sees the
//! request, and `aws-chunked` bodies (streaming SigV4 / unsigned-trailer uploads) are decoded
//! first, so the AWS CLI, boto3, s5cmd, rclone and aws-sdk-rust work unmodified. With
//! [`ModelConfig::check_signatures`] set, requests are passed as signed and `s3s` checks their
//! SigV4 against that key pair (tests of our own signing).
//!
//! # Defaults and their sources
//!
//! | operation | default | source |
//! |---|---|---|
//! | `ListObjects(V2)` page (≤1000 keys) | 100 ms | commonly measured in-region full-page list latency (≈50–150 ms p50) |
//! | `GetObject` (small) | 25 ms | commonly measured in-region first-byte latency for small objects (≈15–30 ms p50) |
//! | `HeadObject` | 20 ms | same, no body |
//! | `PutObject` / `CopyObject` / `UploadPartCopy` (small) | 30 ms | same order as GET, plus the durable write |
//! | `DeleteObject(s)` | 20 ms | as HEAD |
//! | `Get/PutObjectAcl` | 20 ms | metadata-only calls, as HEAD |
//! | multipart create/upload/complete/abort | 30 ms | as PUT |
//! | bucket calls (create/head/location/list buckets) | 20 ms | as HEAD |
//! | request-rate limit | 3,500 PUT/COPY/POST/DELETE and 5,500 GET/HEAD/LIST per second per prefix | AWS, *Best practices design patterns: optimizing Amazon S3 performance* (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html>): "at least 3,500 … or 5,500 … requests per second per partitioned prefix" |
//!
//! AWS's performance guidelines quote "consistent small object latencies (and first-byte-out
//! latencies with larger objects) of roughly 100–200 milliseconds" as a conservative bound; the
//! defaults above are typical medians measured from EC2 in the same region, which is what the
//! tools' users see. Scale them all with [`ModelConfig::scale`] (0 for tests).
//!
//! The rate-limit "prefix" is the key up to and including its last `/` for object operations,
//! and the request's `prefix` parameter for listings; the window slides over one second.
//! Requests over the limit get `503 SlowDown` with S3's XML error body. Real S3 partitions
//! prefixes adaptively (and splits hot ones over minutes); the model applies the documented
//! per-prefix figure immediately.
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use mc_benchkit::s3model::{Distribution, ModelConfig, S3Model, SeedSpec};
//! let model = S3Model::start(ModelConfig::instant()).await?;
//! model.seed(&SeedSpec::new("b", 10_000, Distribution::Hex))?;
//! println!("{}", model.endpoint()); // http://127.0.0.1:PORT
//! # Ok(()) }
//! ```

mod limits;
mod service;
mod store;

pub use limits::OpClass;
pub use service::{OWNER_ID, OWNER_NAME};
pub use store::{list_page, prefix_successor, ListEntry, ListPage, Resume};

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context};
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::server::Running;

use service::{canned_acl, ModelS3, State};
use store::{md5_hex, BucketState, ObjectRec};

/// The operations the model prices separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelOp {
    /// `ListObjectsV2` / `ListObjects` page.
    List,
    /// `GetObject`, `GetObjectTagging`.
    Get,
    /// `HeadObject`.
    Head,
    /// `PutObject`, `PutObjectTagging`.
    Put,
    /// `CopyObject`, `UploadPartCopy`.
    Copy,
    /// `DeleteObject`, `DeleteObjects`.
    Delete,
    /// `GetObjectAcl`.
    GetAcl,
    /// `PutObjectAcl`.
    PutAcl,
    /// Create/UploadPart/Complete/Abort multipart upload.
    Multipart,
    /// Bucket-level calls.
    Bucket,
}

impl ModelOp {
    /// The rate-limit budget this operation draws from.
    pub fn class(self) -> OpClass {
        match self {
            Self::List | Self::Get | Self::Head | Self::GetAcl => OpClass::Read,
            Self::Put | Self::Copy | Self::Delete | Self::PutAcl | Self::Multipart => {
                OpClass::Write
            }
            Self::Bucket => OpClass::Bucket,
        }
    }
}

/// Per-operation latencies (before [`ModelConfig::scale`]). See the module docs for sources.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyModel {
    pub list: Duration,
    pub get: Duration,
    pub head: Duration,
    pub put: Duration,
    pub copy: Duration,
    pub delete: Duration,
    pub get_acl: Duration,
    pub put_acl: Duration,
    pub multipart: Duration,
    pub bucket: Duration,
}

impl Default for LatencyModel {
    fn default() -> Self {
        let ms = Duration::from_millis;
        Self {
            list: ms(100),
            get: ms(25),
            head: ms(20),
            put: ms(30),
            copy: ms(30),
            delete: ms(20),
            get_acl: ms(20),
            put_acl: ms(20),
            multipart: ms(30),
            bucket: ms(20),
        }
    }
}

impl LatencyModel {
    /// The base latency of `op`.
    pub fn of(&self, op: ModelOp) -> Duration {
        match op {
            ModelOp::List => self.list,
            ModelOp::Get => self.get,
            ModelOp::Head => self.head,
            ModelOp::Put => self.put,
            ModelOp::Copy => self.copy,
            ModelOp::Delete => self.delete,
            ModelOp::GetAcl => self.get_acl,
            ModelOp::PutAcl => self.put_acl,
            ModelOp::Multipart => self.multipart,
            ModelOp::Bucket => self.bucket,
        }
    }
}

/// S3's documented per-prefix request rates.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// PUT/COPY/POST/DELETE per second per prefix (S3: 3,500).
    pub write_per_sec: u32,
    /// GET/HEAD/LIST per second per prefix (S3: 5,500).
    pub read_per_sec: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            write_per_sec: 3500,
            read_per_sec: 5500,
        }
    }
}

/// Model configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Per-operation latencies.
    pub latency: LatencyModel,
    /// Global factor applied to every latency (0 = no sleeping; tests use 0).
    pub scale: f64,
    /// Per-prefix request-rate limits; `None` disables them.
    pub rate_limits: Option<RateLimits>,
    /// Port on 127.0.0.1 (0 = any free port).
    pub port: u16,
    /// Check SigV4 signatures against this access key and secret (tests of
    /// our own signing); `None`, the default: any credentials, unchecked.
    pub check_signatures: Option<(String, String)>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            latency: LatencyModel::default(),
            scale: 1.0,
            rate_limits: Some(RateLimits::default()),
            port: 0,
            check_signatures: None,
        }
    }
}

impl ModelConfig {
    /// Zero latency, default rate limits: what functional tests use.
    pub fn instant() -> Self {
        Self {
            scale: 0.0,
            ..Self::default()
        }
    }

    /// The effective latency of `op` (base × scale).
    pub fn latency_of(&self, op: ModelOp) -> Duration {
        if self.scale <= 0.0 {
            return Duration::ZERO;
        }
        self.latency.of(op).mul_f64(self.scale)
    }
}

/// Key layouts for [`S3Model::seed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    /// `3f/9a1c0b7e22d4c8f1/obj-00000123`: spread evenly over 256 two-hex-digit prefixes.
    Hex,
    /// 90% flat names under `hot/`, 10% spread over 256 hex prefixes like [`Distribution::Hex`].
    Skewed,
    /// `obj-00000123`, no `/` at all.
    Flat,
}

impl FromStr for Distribution {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "hex" => Ok(Self::Hex),
            "skewed" => Ok(Self::Skewed),
            "flat" => Ok(Self::Flat),
            other => bail!("unknown distribution {other:?} (hex, skewed, flat)"),
        }
    }
}

impl Distribution {
    /// The `i`-th key of this layout (deterministic).
    pub fn key(self, i: usize) -> String {
        let d = md5::Digest::finalize(<md5::Md5 as md5::Digest>::new_with_prefix(
            (i as u64).to_le_bytes(),
        ));
        let mid: String = d[1..9].iter().map(|b| format!("{b:02x}")).collect();
        match self {
            Self::Hex => format!("{:02x}/{mid}/obj-{i:08}", d[0]),
            Self::Skewed if !i.is_multiple_of(10) => format!("hot/obj-{i:08}"),
            Self::Skewed => format!("{:02x}/{mid}/obj-{i:08}", d[0]),
            Self::Flat => format!("obj-{i:08}"),
        }
    }
}

/// What to seed: `keys` objects of `object_size` bytes into `bucket` (created if missing).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedSpec {
    pub bucket: String,
    pub keys: usize,
    pub distribution: Distribution,
    pub object_size: usize,
}

impl SeedSpec {
    /// `keys` keys of 16 bytes each.
    pub fn new(bucket: impl Into<String>, keys: usize, distribution: Distribution) -> Self {
        Self {
            bucket: bucket.into(),
            keys,
            distribution,
            object_size: 16,
        }
    }
}

/// A running model server on 127.0.0.1. Stops when dropped.
pub struct S3Model {
    addr: SocketAddr,
    state: Arc<State>,
    server: Running,
}

impl std::fmt::Debug for S3Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Model").field("addr", &self.addr).finish()
    }
}

impl S3Model {
    /// Binds 127.0.0.1:`config.port` and serves on the current tokio runtime.
    pub async fn start(config: ModelConfig) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", config.port))
            .await
            .context("binding the S3 model")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(config));
        let (tx, rx) = oneshot::channel();
        tokio::spawn(serve(listener, state.clone(), rx));
        Ok(Self {
            addr,
            state,
            server: Running::task(tx),
        })
    }

    /// Like [`S3Model::start`], on a background thread running its own runtime, for plain
    /// `#[test]`s and synchronous code.
    pub fn start_blocking(config: ModelConfig) -> anyhow::Result<Self> {
        let ((addr, state), server) = Running::on_thread("mc-s3-model", move || async move {
            let m = S3Model::start(config).await?;
            // Hand out state shared with the server; the server stays on its thread.
            Ok(((m.addr, m.state.clone()), m.server))
        })?;
        Ok(Self {
            addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points a tool at the model: its endpoint, a region, and any
    /// credentials (the model checks none unless asked to).
    pub fn apply_env(&self, cmd: &mut std::process::Command) {
        cmd.env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "model")
            .env("AWS_SECRET_ACCESS_KEY", "model")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("RUST_LOG");
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the configuration (latencies, scale, limits) of the running server.
    pub fn set_config(&self, config: ModelConfig) -> anyhow::Result<()> {
        let mut c = self
            .state
            .config
            .write()
            .map_err(|_| anyhow!("lock poisoned"))?;
        *c = config;
        Ok(())
    }

    /// The current configuration.
    pub fn config(&self) -> anyhow::Result<ModelConfig> {
        Ok(self
            .state
            .config
            .read()
            .map_err(|_| anyhow!("lock poisoned"))?
            .clone())
    }

    /// Creates `bucket` if missing (no latency, no HTTP).
    pub fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        let mut b = self
            .state
            .buckets
            .write()
            .map_err(|_| anyhow!("lock poisoned"))?;
        b.entry(bucket.to_owned()).or_insert_with(|| BucketState {
            created: Some(SystemTime::now()),
            ..Default::default()
        });
        Ok(())
    }

    /// Inserts `spec.keys` objects directly (no HTTP, no latency). Returns the number of keys
    /// in the bucket afterwards.
    pub fn seed(&self, spec: &SeedSpec) -> anyhow::Result<usize> {
        self.create_bucket(&spec.bucket)?;
        let body = Bytes::from(vec![b'x'; spec.object_size]);
        let template = ObjectRec {
            etag: md5_hex(&body),
            body,
            last_modified: SystemTime::now(),
            content_type: Some("application/octet-stream".into()),
            metadata: HashMap::new(),
            storage_class: "STANDARD".into(),
            acl: canned_acl("private").map_err(|e| anyhow!("{e:?}"))?,
            tags: Vec::new(),
        };
        let mut b = self
            .state
            .buckets
            .write()
            .map_err(|_| anyhow!("lock poisoned"))?;
        let st = b
            .get_mut(&spec.bucket)
            .ok_or_else(|| anyhow!("bucket vanished"))?;
        // Allocated in key order, so a page's keys and records sit together in
        // memory as in a real index: listing a page then costs the model one
        // pass over nearby memory, not a cache miss per key, and leaves more
        // of a shared box's CPU to the client being measured.
        let mut scattered: Vec<String> = (0..spec.keys).map(|i| spec.distribution.key(i)).collect();
        scattered.sort_unstable();
        let keys: Vec<String> = scattered.iter().map(|k| k.as_str().to_owned()).collect();
        drop(scattered);
        for key in keys {
            st.objects.insert(key, template.clone());
        }
        Ok(st.objects.len())
    }

    /// Stores one object directly (no HTTP, no latency), creating the bucket if missing.
    pub fn insert_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<Bytes>,
    ) -> anyhow::Result<()> {
        self.create_bucket(bucket)?;
        let body = body.into();
        let rec = ObjectRec {
            etag: md5_hex(&body),
            body,
            last_modified: SystemTime::now(),
            content_type: None,
            metadata: HashMap::new(),
            storage_class: "STANDARD".into(),
            acl: canned_acl("private").map_err(|e| anyhow!("{e:?}"))?,
            tags: Vec::new(),
        };
        let mut b = self
            .state
            .buckets
            .write()
            .map_err(|_| anyhow!("lock poisoned"))?;
        if let Some(st) = b.get_mut(bucket) {
            st.objects.insert(key.to_owned(), rec);
        }
        Ok(())
    }

    /// Number of objects in `bucket` (0 if it does not exist).
    pub fn object_count(&self, bucket: &str) -> usize {
        self.state
            .buckets
            .read()
            .ok()
            .and_then(|b| b.get(bucket).map(|s| s.objects.len()))
            .unwrap_or(0)
    }

    /// Requests served (including rejected ones) per operation.
    pub fn op_counts(&self) -> HashMap<ModelOp, u64> {
        self.state
            .counters
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// Requests answered with `503 SlowDown` by the rate limiter.
    pub fn slowdowns(&self) -> u64 {
        self.state.slowdowns.load(Ordering::Relaxed)
    }

    /// The most requests served at once since the start (or the last
    /// [`S3Model::reset_max_in_flight`]): what a client's concurrency
    /// options are checked against.
    pub fn max_in_flight(&self) -> u64 {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn reset_max_in_flight(&self) {
        self.state.max_in_flight.store(0, Ordering::SeqCst);
    }
}

/// Counts a request in flight for as long as it lives.
struct InFlight(Arc<State>);

impl InFlight {
    fn enter(state: &Arc<State>) -> Self {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve(listener: TcpListener, state: Arc<State>, mut stop: oneshot::Receiver<()>) {
    let keys = match state.config.read() {
        Ok(c) => c.check_signatures.clone(),
        Err(e) => e.into_inner().check_signatures.clone(),
    };
    let verify = keys.is_some();
    let counted = state.clone();
    let service = {
        let mut builder = s3s::service::S3ServiceBuilder::new(ModelS3 { state });
        if let Some((access_key, secret)) = keys {
            builder.set_auth(s3s::auth::SimpleAuth::from_single(access_key, secret));
        }
        builder.build()
    };
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            acc = listener.accept() => {
                let Ok((stream, _)) = acc else { continue };
                let _ = stream.set_nodelay(true);
                let svc = service.clone();
                let counted = counted.clone();
                conns.spawn(async move {
                    let svc_fn = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let svc = svc.clone();
                        let request = InFlight::enter(&counted);
                        async move {
                            let resp = handle(svc, req, verify).await;
                            drop(request);
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc_fn)
                        .await;
                });
                // Reap finished connection tasks.
                while conns.try_join_next().is_some() {}
            }
        }
    }
}

async fn handle(
    svc: s3s::service::S3Service,
    req: Request<Incoming>,
    verify: bool,
) -> Response<s3s::Body> {
    // Checking signatures: the request as signed.
    let req = if verify {
        Ok(req.map(s3s::Body::from))
    } else {
        normalise(req).await
    };
    match req {
        Ok(req) => match svc.call(req).await {
            Ok(resp) => resp,
            Err(e) => plain(500, format!("internal error: {e:?}")),
        },
        Err(e) => plain(400, format!("bad request: {e}")),
    }
}

fn plain(status: u16, msg: String) -> Response<s3s::Body> {
    let mut r = Response::new(s3s::Body::from(msg));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    r
}

const PRESIGN_PARAMS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
];

/// Makes any signed request look anonymous to `s3s`: drops `Authorization` and presigned
/// parameters, and decodes `aws-chunked` bodies.
async fn normalise(req: Request<Incoming>) -> anyhow::Result<Request<s3s::Body>> {
    let (mut parts, body) = req.into_parts();
    parts.headers.remove(http::header::AUTHORIZATION);
    if let Some(q) = parts.uri.query() {
        if q.contains("Signature=") {
            let kept: Vec<&str> = q
                .split('&')
                .filter(|kv| {
                    let k = kv.split('=').next().unwrap_or("");
                    !PRESIGN_PARAMS.contains(&k)
                })
                .collect();
            let pq = if kept.is_empty() {
                parts.uri.path().to_owned()
            } else {
                format!("{}?{}", parts.uri.path(), kept.join("&"))
            };
            let mut up = parts.uri.clone().into_parts();
            up.path_and_query = Some(pq.parse()?);
            parts.uri = http::Uri::from_parts(up)?;
        }
    }
    let sha = parts
        .headers
        .remove("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    let ce = parts
        .headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let chunked = sha.starts_with("STREAMING-") || ce.split(',').any(|c| c.trim() == "aws-chunked");
    if !chunked {
        return Ok(Request::from_parts(parts, s3s::Body::from(body)));
    }
    let raw = body.collect().await?.to_bytes();
    let decoded = decode_aws_chunked(&raw)?;
    let rest: Vec<&str> = ce
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && *c != "aws-chunked")
        .collect();
    if rest.is_empty() {
        parts.headers.remove(http::header::CONTENT_ENCODING);
    } else {
        parts.headers.insert(
            http::header::CONTENT_ENCODING,
            HeaderValue::from_str(&rest.join(","))?,
        );
    }
    for h in ["x-amz-decoded-content-length", "x-amz-trailer"] {
        parts.headers.remove(h);
    }
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        HeaderValue::from(decoded.len()),
    );
    Ok(Request::from_parts(parts, s3s::Body::from(decoded)))
}

/// Decodes an `aws-chunked` body (`hex;chunk-signature=..\r\n data \r\n ... 0\r\n trailers`).
pub fn decode_aws_chunked(raw: &[u8]) -> anyhow::Result<Bytes> {
    let mut out = BytesMut::new();
    let mut pos = 0;
    loop {
        let eol = raw[pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| anyhow!("aws-chunked: missing chunk header"))?;
        let line = std::str::from_utf8(&raw[pos..pos + eol])?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .with_context(|| format!("aws-chunked: bad chunk size {size_hex:?}"))?;
        pos += eol + 2;
        if size == 0 {
            break;
        }
        let end = pos + size;
        if end > raw.len() {
            bail!("aws-chunked: truncated chunk");
        }
        out.extend_from_slice(&raw[pos..end]);
        pos = end;
        if raw.get(pos..pos + 2) == Some(b"\r\n") {
            pos += 2;
        }
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_decoding() {
        let raw = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n";
        assert_eq!(
            &decode_aws_chunked(raw).expect("decode")[..],
            b"hello world"
        );
    }

    #[test]
    fn distributions() {
        assert!(Distribution::Hex.key(123).ends_with("/obj-00000123"));
        assert_eq!(Distribution::Hex.key(5).split('/').count(), 3);
        assert_eq!(Distribution::Skewed.key(1), "hot/obj-00000001");
        assert_eq!(Distribution::Flat.key(2), "obj-00000002");
    }
}
