//! What the SDK signs: an S3 client whose requests are signed at a fixed
//! time with fixed credentials and captured instead of sent, for tests that
//! check a request built beside the SDK against the SDK's own: the same
//! signed headers (so the same canonical request) and the same signature.
//! The SDK describes itself in `x-amz-user-agent` (its version, the OS,
//! the features used), which it signs: the capturing client removes it
//! before signing. Its other telemetry headers (`amz-sdk-invocation-id`,
//! `amz-sdk-request`) are added unsigned and, like `user-agent`, left out of
//! the comparison.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_async::time::StaticTimeSource;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The time every captured request is signed at (2023-11-14T22:13:20Z).
pub fn signed_at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// The fixed credentials (with a session token, so it is signed too).
pub fn credentials() -> Credentials {
    Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("session-token".into()),
        None,
        "signing-test",
    )
}

/// A request as signed: method, URI and every header (names lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub method: String,
    pub uri: String,
    pub headers: BTreeMap<String, String>,
}

impl SignedRequest {
    /// From an `http` request (one built beside the SDK).
    pub fn of<B>(request: &http::Request<B>) -> Self {
        Self {
            method: request.method().to_string(),
            uri: request.uri().to_string(),
            headers: request
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        }
    }

    /// Only what the signature covers: the headers its `SignedHeaders`
    /// name, and `authorization` itself.
    pub fn signed_part(mut self) -> Self {
        let authorization = self
            .headers
            .get("authorization")
            .cloned()
            .unwrap_or_default();
        let signed: Vec<String> = authorization
            .split(", ")
            .find_map(|p| p.strip_prefix("SignedHeaders="))
            .map(|h| h.split(';').map(str::to_string).collect())
            .unwrap_or_default();
        self.headers
            .retain(|name, _| name == "authorization" || signed.contains(name));
        self
    }
}

/// Where the capturing client leaves its last request.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Option<SignedRequest>>>);

impl Captured {
    /// The last request the client signed.
    pub fn take(&self) -> Option<SignedRequest> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Intercept for Captured {
    fn name(&self) -> &'static str {
        "mc-testkit::signing::Captured"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .remove("x-amz-user-agent");
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let r = context.request();
        let request = SignedRequest {
            method: r.method().to_string(),
            uri: r.uri().to_string(),
            headers: r
                .headers()
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
                .collect(),
        };
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(request);
        Err("captured, not sent".into())
    }
}

/// An S3 client for `endpoint` in `region` that signs at [`signed_at`] with
/// [`credentials`] and, instead of sending, leaves each request in the
/// returned [`Captured`] (every call then fails).
pub fn capturing_s3(
    endpoint: &str,
    region: &str,
    path_style: bool,
) -> (aws_sdk_s3::Client, Captured) {
    let captured = Captured::default();
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .force_path_style(path_style)
        .credentials_provider(credentials())
        .time_source(StaticTimeSource::new(signed_at()))
        .interceptor(captured.clone())
        .build();
    (aws_sdk_s3::Client::from_conf(conf), captured)
}
