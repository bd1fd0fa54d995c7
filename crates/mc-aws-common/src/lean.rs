//! Lean requests beside the SDK, for the few hot calls where the SDK's
//! orchestrator (type-erased config bags, a dozen interceptor hooks, endpoint
//! rules, a tracing span) costs several times the CPU of the work itself.
//!
//! The SDK still does everything else: it resolves the endpoint (captured from
//! one of its own requests with [`EndpointCapture`], so `--endpoint-url`,
//! path style, FIPS and dual-stack mean the same), provides the credentials
//! ([`CredentialCache`]) and the connector. A lean request is signed with
//! `aws-sigv4`, as the SDK signs, and its failures are [`LeanError`]s that
//! classify and describe like the SDK's.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::error::{classify_parts, describe_parts, ErrorClass, ToolError};
use crate::retry::Classify;

/// Credentials are refreshed this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Remembers the URL of the last request an SDK call sent: attached to one
/// call, it yields the endpoint the SDK resolved for it.
#[derive(Debug, Clone, Default)]
pub struct EndpointCapture(Arc<Mutex<Option<String>>>);

impl EndpointCapture {
    /// The captured URL (`scheme://host[:port]/path[?query]`), if a request was sent.
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
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
        let uri = context.request().uri().to_string();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(uri);
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

/// Credentials, fetched once and refreshed shortly before they expire.
pub struct CredentialCache {
    provider: Option<SharedCredentialsProvider>,
    cached: tokio::sync::RwLock<Option<Credentials>>,
}

impl CredentialCache {
    pub fn new(provider: Option<SharedCredentialsProvider>) -> Self {
        Self {
            provider,
            cached: tokio::sync::RwLock::new(None),
        }
    }

    fn fresh(c: &Credentials) -> bool {
        c.expiry()
            .is_none_or(|t| t > SystemTime::now() + REFRESH_BEFORE_EXPIRY)
    }

    pub async fn get(&self) -> Result<Credentials, LeanError> {
        if let Some(c) = self.cached.read().await.as_ref().filter(|c| Self::fresh(c)) {
            return Ok(c.clone());
        }
        let mut slot = self.cached.write().await;
        if let Some(c) = slot.as_ref().filter(|c| Self::fresh(c)) {
            return Ok(c.clone());
        }
        let provider = self
            .provider
            .as_ref()
            .ok_or_else(|| LeanError::Credentials("no credentials provider".into()))?;
        let c = provider
            .provide_credentials()
            .await
            .map_err(|e| LeanError::Credentials(format!("no AWS credentials: {e}")))?;
        *slot = Some(c.clone());
        Ok(c)
    }
}

/// An error and its sources on one line.
pub use crate::output::error_line as chain;

pub mod s3;
