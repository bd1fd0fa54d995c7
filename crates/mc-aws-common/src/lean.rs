//! Lean requests beside the SDK, for the few hot calls where the SDK's
//! orchestrator (type-erased config bags, a dozen interceptor hooks, endpoint
//! rules, a tracing span) costs several times the CPU of the work itself.
//!
//! The SDK still does most of the rest: it resolves the endpoint (captured
//! from one of its own requests with [`EndpointCapture`], so
//! `--endpoint-url`, path style, FIPS and dual-stack mean the same) and
//! provides the credentials ([`CredentialCache`]). The connector is ours,
//! configured as the SDK's but with capped read buffers ([`https_connector`]).
//! A lean request is signed with `aws-sigv4`, as the SDK signs, and its
//! failures are [`LeanError`]s that classify and describe like the SDK's.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::config_bag::ConfigBag;

use crate::error::{classify_parts, describe_parts, refuses_credentials, ErrorClass, ToolError};
use crate::output::error_line;
use crate::retry::Classify;

pub use connector::{https_connector, CappedConnector, Connector};

/// Credentials are refreshed this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);
/// Credentials without an expiry are fetched again after this long, as the
/// SDK's identity cache does (a rotated credentials file is picked up).
const NO_EXPIRY_LIFETIME: Duration = Duration::from_secs(900);

/// The SDK's clock when its config has one (a test may set it), else the
/// system's: signatures must carry the time the SDK would use.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<aws_smithy_async::time::SharedTimeSource>);

impl Clock {
    pub fn new(time_source: Option<aws_smithy_async::time::SharedTimeSource>) -> Self {
        Self(time_source)
    }

    pub fn now(&self) -> SystemTime {
        self.0.as_ref().map_or_else(SystemTime::now, |t| t.now())
    }
}

/// What an SDK request was signed for: the SigV4 credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningScope {
    pub region: String,
    pub service: String,
}

impl SigningScope {
    /// From an `Authorization` header; `None` unless it is plain SigV4
    /// (`AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, ...`).
    pub fn from_authorization(header: &str) -> Option<Self> {
        let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let credential = rest
            .split(',')
            .find_map(|part| part.trim().strip_prefix("Credential="))?;
        let mut parts = credential.rsplit('/');
        if parts.next()? != "aws4_request" {
            return None;
        }
        let service = parts.next()?.to_string();
        let region = parts.next()?.to_string();
        (!service.is_empty() && !region.is_empty()).then_some(Self { region, service })
    }
}

#[derive(Debug, Default)]
struct Captured {
    url: Option<String>,
    /// `None` when the request was not plain SigV4 (SigV4a, S3 Express
    /// session credentials, anonymous).
    scope: Option<SigningScope>,
}

/// Remembers the last request an SDK call sent: attached to one call, it
/// yields the endpoint the SDK resolved for it and how it signed it.
#[derive(Debug, Clone, Default)]
pub struct EndpointCapture(Arc<Mutex<Captured>>);

impl EndpointCapture {
    /// The captured URL (`scheme://host[:port]/path[?query]`), if a request was sent.
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).url.clone()
    }

    /// The captured request's SigV4 scope, if it was signed with plain SigV4.
    pub fn scope(&self) -> Option<SigningScope> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .scope
            .clone()
    }
}

impl Intercept for EndpointCapture {
    fn name(&self) -> &'static str {
        "mc-aws-common::EndpointCapture"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let headers = request.headers();
        let scope = headers
            .get("authorization")
            .filter(|_| headers.get("x-amz-s3session-token").is_none())
            .and_then(SigningScope::from_authorization);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Captured {
            url: Some(request.uri().to_string()),
            scope,
        };
        Ok(())
    }
}

/// Why a lean request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeanError {
    /// The service answered with an error.
    Service {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer: connection refused or reset, timeout, truncated body.
    Transport(String),
    /// No usable credentials.
    Credentials(String),
    /// The request could not be built or the answer not read.
    Local(String),
}

impl std::fmt::Display for LeanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LeanError::Service {
                status,
                code,
                message,
            } => write!(f, "{code} (HTTP {status}): {message}"),
            LeanError::Transport(m) | LeanError::Credentials(m) | LeanError::Local(m) => {
                f.write_str(m)
            }
        }
    }
}

impl Classify for LeanError {
    fn class(&self) -> ErrorClass {
        match self {
            LeanError::Service { status, code, .. } => {
                classify_parts((!code.is_empty()).then_some(code.as_str()), *status)
            }
            LeanError::Transport(_) => ErrorClass::Transient,
            LeanError::Credentials(_) | LeanError::Local(_) => ErrorClass::Permanent,
        }
    }
}

impl LeanError {
    /// The service's error code, or our name for the kind of failure.
    pub fn code(&self) -> &str {
        match self {
            LeanError::Service { code, .. } if !code.is_empty() => code,
            LeanError::Service { .. } => "RequestFailed",
            LeanError::Transport(_) => "RequestFailed",
            LeanError::Credentials(_) => "NoCredentials",
            LeanError::Local(_) => "InvalidRequest",
        }
    }

    /// The service refused the credentials (expired, rotated, unknown).
    pub fn is_credentials_refused(&self) -> bool {
        matches!(self, LeanError::Service { code, .. } if refuses_credentials(code))
    }

    /// One line for the failure, naming `what` ("s3://bucket/key").
    pub fn describe(&self, what: &str) -> ToolError {
        match self {
            LeanError::Service {
                status,
                code,
                message,
            } => describe_parts(what, code, *status, message),
            LeanError::Credentials(_) => ToolError::NoCredentials,
            LeanError::Transport(m) | LeanError::Local(m) => ToolError::Service {
                what: what.to_string(),
                message: m.clone(),
            },
        }
    }
}

/// Credentials from the SDK's provider, refreshed shortly before they
/// expire (or every 15 minutes when they do not say), and on demand after
/// the service refused them.
pub struct CredentialCache {
    provider: Option<SharedCredentialsProvider>,
    cached: tokio::sync::RwLock<Option<(Credentials, Instant)>>,
}

impl CredentialCache {
    pub fn new(provider: Option<SharedCredentialsProvider>) -> Self {
        Self {
            provider,
            cached: tokio::sync::RwLock::new(None),
        }
    }

    fn fresh((c, fetched): &(Credentials, Instant)) -> bool {
        match c.expiry() {
            Some(t) => t > SystemTime::now() + REFRESH_BEFORE_EXPIRY,
            None => fetched.elapsed() < NO_EXPIRY_LIFETIME,
        }
    }

    fn usable((c, _): &(Credentials, Instant)) -> bool {
        c.expiry().is_none_or(|t| t > SystemTime::now())
    }

    pub async fn get(&self) -> Result<Credentials, LeanError> {
        if let Some(c) = self.cached.read().await.as_ref().filter(|c| Self::fresh(c)) {
            return Ok(c.0.clone());
        }
        let mut slot = self.cached.write().await;
        if let Some(c) = slot.as_ref().filter(|c| Self::fresh(c)) {
            return Ok(c.0.clone());
        }
        let provider = self
            .provider
            .as_ref()
            .ok_or_else(|| LeanError::Credentials("no credentials provider".into()))?;
        match provider.provide_credentials().await {
            Ok(c) => {
                *slot = Some((c.clone(), Instant::now()));
                Ok(c)
            }
            // A failed refresh keeps credentials that still work.
            Err(e) => match slot.as_ref().filter(|c| Self::usable(c)) {
                Some(c) => {
                    tracing::debug!(
                        "credentials refresh failed, still using the current ones: {e}"
                    );
                    Ok(c.0.clone())
                }
                None => Err(LeanError::Credentials(format!("no AWS credentials: {e}"))),
            },
        }
    }

    /// Forgets the cached credentials (the service refused them).
    pub async fn invalidate(&self) {
        *self.cached.write().await = None;
    }
}

/// Signs `request` with SigV4 for `region` and `service` at `time`: its
/// method, URL, headers (but those `settings` exclude, such as the user
/// agent) and body, which must be in memory. `settings` carry the service's
/// quirks (S3 signs the path as sent and the payload hash in a header).
pub fn sign_request(
    request: &mut http::Request<SdkBody>,
    credentials: Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
    settings: SigningSettings,
) -> Result<(), LeanError> {
    let local = |e: &dyn std::fmt::Display| LeanError::Local(format!("signing: {e}"));
    let identity: Identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| local(&e))?
        .into();
    let uri = request.uri().to_string();
    let body = request
        .body()
        .bytes()
        .ok_or_else(|| LeanError::Local("signing: the body is not in memory".into()))?;
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    let signable = SignableRequest::new(
        request.method().as_str(),
        &uri,
        headers,
        SignableBody::Bytes(body),
    )
    .map_err(|e| local(&e))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| local(&e))?.into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

/// An answer read whole.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

/// Sends `request` over `connector` and reads the whole answer; `what`
/// (the endpoint or URL) names the request in errors.
pub async fn exchange(
    connector: &Connector,
    request: http::Request<SdkBody>,
    what: &str,
) -> Result<Answer, LeanError> {
    let (parts, body) = respond(connector, request, what).await?.into_parts();
    let body = read_whole(body, what).await?;
    Ok(Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// Sends `request` over `connector`: the answer, its body unread.
pub async fn respond(
    connector: &Connector,
    request: http::Request<SdkBody>,
    what: &str,
) -> Result<http::Response<SdkBody>, LeanError> {
    connector
        .send(request)
        .await
        .map_err(|e| LeanError::Transport(format!("{what}: {}", error_line(&e))))
}

/// Reads `body` to its end.
pub async fn read_whole(body: SdkBody, what: &str) -> Result<bytes::Bytes, LeanError> {
    Ok(ByteStream::new(body)
        .collect()
        .await
        .map_err(|e| reading_failed(what, &e))?
        .into_bytes())
}

/// Hands each piece of `body` to `read` as it arrives, keeping none.
pub async fn read_streamed(
    mut body: SdkBody,
    what: &str,
    mut read: impl FnMut(&[u8]),
) -> Result<(), LeanError> {
    use http_body::Body as _;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => return Ok(()),
            Some(Err(e)) => return Err(reading_failed(what, &*e)),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    read(data);
                }
            }
        }
    }
}

fn reading_failed(what: &str, e: &(dyn std::error::Error + 'static)) -> LeanError {
    LeanError::Transport(format!("{what}: reading the answer: {}", error_line(e)))
}

mod connector;
pub mod s3;
pub mod s3control;
pub mod sigv4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sigv4_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            SigningScope::from_authorization(h),
            Some(SigningScope {
                region: "eu-west-1".into(),
                service: "s3".into()
            })
        );
        for other in [
            "AWS4-ECDSA-P256-SHA256 Credential=AKID/20261127/s3/aws4_request, Signature=x",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
            "AWS AKID:signature",
            "",
        ] {
            assert_eq!(SigningScope::from_authorization(other), None, "{other}");
        }
    }

    /// The AWS SigV4 test suite's `post-x-www-form-urlencoded` (header
    /// variant), with a user agent that must stay unsigned.
    #[test]
    fn signs_as_the_sigv4_test_suite() {
        let mut request = http::Request::builder()
            .method("POST")
            .uri("https://example.amazonaws.com/")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", "13")
            .header("user-agent", "mc-test/1")
            .body(SdkBody::from("Param1=value1"))
            .unwrap();
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        sign_request(
            &mut request,
            credentials,
            "us-east-1",
            "service",
            time,
            settings,
        )
        .unwrap();
        let authorization = request.headers()["authorization"].to_str().unwrap();
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, \
             Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"
        );
        assert_eq!(request.headers()["x-amz-date"], "20150830T123600Z");
    }

    /// Hands out `AK0`, `AK1`, ...; fails after `fail_after` calls.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<std::sync::atomic::AtomicU32>,
        expiry: Option<SystemTime>,
        fail_after: u32,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = if n < self.fail_after {
                Ok(Credentials::new(
                    format!("AK{n}"),
                    "secret",
                    None,
                    self.expiry,
                    "test",
                ))
            } else {
                Err(aws_credential_types::provider::error::CredentialsError::not_loaded("gone"))
            };
            aws_credential_types::provider::future::ProvideCredentials::ready(answer)
        }
    }

    fn cache(
        expiry: Option<SystemTime>,
        fail_after: u32,
    ) -> (CredentialCache, Arc<std::sync::atomic::AtomicU32>) {
        let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let provider = Counting {
            calls: calls.clone(),
            expiry,
            fail_after,
        };
        (
            CredentialCache::new(Some(SharedCredentialsProvider::new(provider))),
            calls,
        )
    }

    #[tokio::test]
    async fn caches_and_refreshes_credentials() {
        let (c, calls) = cache(None, u32::MAX);
        assert_eq!(c.get().await.unwrap().access_key_id(), "AK0");
        assert_eq!(c.get().await.unwrap().access_key_id(), "AK0");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Refused by the service: fetched again.
        c.invalidate().await;
        assert_eq!(c.get().await.unwrap().access_key_id(), "AK1");

        // About to expire: refreshed on every use, but a failed refresh keeps
        // credentials that still work.
        let soon = SystemTime::now() + Duration::from_secs(60);
        let (c, _) = cache(Some(soon), 1);
        assert_eq!(c.get().await.unwrap().access_key_id(), "AK0");
        assert_eq!(c.get().await.unwrap().access_key_id(), "AK0");
        // Expired and no new ones: a clear error.
        let past = SystemTime::now() - Duration::from_secs(1);
        let (c, _) = cache(Some(past), 1);
        assert!(c.get().await.is_ok(), "the first fetch is taken as given");
        assert!(matches!(c.get().await, Err(LeanError::Credentials(_))));
    }
}
