//! The lean requests' HTTP connector: hyper's pooled client with the SDK's
//! TLS (rustls on aws-lc-rs, the system's roots, the same cipher suites) and
//! timeouts, and one thing the SDK's connector does not let us set: a cap on
//! each connection's read buffer.
//!
//! hyper grows a connection's read buffer to the largest answer it has read
//! and keeps it while the connection waits in the pool. A 1000-key list page
//! is about 230 KB, so 256 listing connections held ~60 MB of buffers
//! (valgrind's massif: 72% of s3-key-counter's peak at `-j 256`). Capped,
//! an answer larger than the cap streams through it; with 64 KiB the same
//! count peaks at about half the memory and no more CPU (BENCHMARKS.md).
//!
//! With a proxy in the environment the SDK's connector is used instead: it
//! speaks the proxy protocols (CONNECT tunnels, proxy authentication,
//! `NO_PROXY`) that this one does not.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::config::SharedAsyncSleep;
use aws_smithy_async::future::timeout::{TimedOutError, Timeout};
use aws_smithy_async::rt::sleep::AsyncSleep;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;

/// The most a connection's read buffer grows to.
const MAX_READ_BUFFER: usize = 64 * 1024;
/// As the SDK's default connector: to open a TCP connection...
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// ...and from sending a request to its answer's head (TLS handshake included).
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The variables hyper's proxy matcher reads (NO_PROXY only narrows them).
const PROXY_VARIABLES: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The connector for lean requests: [`CappedConnector`] on the system's
/// roots, or the SDK's connector when a proxy is set in the environment.
pub fn https_connector(sleep: Option<SharedAsyncSleep>) -> Connector {
    if proxy_configured(|name| std::env::var_os(name)) {
        return Connector::sdk(sdk_connector(sleep));
    }
    match CappedConnector::new(native_roots(), sleep.clone()) {
        Ok(connector) => Connector::capped(connector),
        Err(e) => {
            tracing::debug!("the SDK's connector for lean requests: {e}");
            Connector::sdk(sdk_connector(sleep))
        }
    }
}

/// What lean requests are sent over. Ours is called directly, with the
/// `http` types the requests are built in; the SDK's through its interface.
#[derive(Clone, Debug)]
pub struct Connector {
    direct: Option<CappedConnector>,
    /// The same pool, for an SDK client to share (sqs-postman's).
    shared: SharedHttpConnector,
}

impl Connector {
    pub fn capped(connector: CappedConnector) -> Self {
        Self {
            shared: SharedHttpConnector::new(connector.clone()),
            direct: Some(connector),
        }
    }

    pub fn sdk(connector: SharedHttpConnector) -> Self {
        Self {
            direct: None,
            shared: connector,
        }
    }

    /// The connector as the SDK takes it (one pool for its calls and ours).
    pub fn shared(&self) -> SharedHttpConnector {
        self.shared.clone()
    }

    /// Sends `request`: the answer, its body unread.
    pub async fn send(
        &self,
        request: http::Request<SdkBody>,
    ) -> Result<http::Response<SdkBody>, ConnectorError> {
        if let Some(direct) = &self.direct {
            return direct.send(request).await;
        }
        let request = HttpRequest::try_from(request).map_err(|e| ConnectorError::user(e.into()))?;
        let answer = self.shared.call(request).await?;
        answer
            .try_into_http1x()
            .map_err(|e| ConnectorError::other(e.into(), None))
    }
}

/// True when any variable that would send requests through a proxy is set.
fn proxy_configured(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    PROXY_VARIABLES
        .iter()
        .any(|name| var(name).is_some_and(|value| !value.is_empty()))
}

/// The SDK's default HTTPS connector, with the same timeouts.
fn sdk_connector(sleep: Option<SharedAsyncSleep>) -> SharedHttpConnector {
    let settings = HttpConnectorSettings::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build();
    let mut builder = aws_smithy_http_client::Connector::builder()
        .connector_settings(settings)
        .proxy_config(aws_smithy_http_client::proxy::ProxyConfig::from_env());
    if let Some(sleep) = sleep {
        builder = builder.sleep_impl(sleep);
    }
    let connector = builder
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build();
    SharedHttpConnector::new(connector)
}

/// The system's root certificates, as the SDK loads them (`SSL_CERT_FILE`
/// and `SSL_CERT_DIR` are honoured), read once per process.
fn native_roots() -> Vec<CertificateDer<'static>> {
    static ROOTS: std::sync::OnceLock<Vec<CertificateDer<'static>>> = std::sync::OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            if !loaded.errors.is_empty() {
                tracing::warn!(
                    "loading the system's root certificates: {:?}",
                    loaded.errors
                );
            }
            loaded.certs
        })
        .clone()
}

/// hyper's client over HTTP/1.1 with capped read buffers; `https://` and
/// `http://` (the emulators) both.
#[derive(Clone)]
pub struct CappedConnector {
    client: Client<HttpsConnector<TcpConnector>, SdkBody>,
    sleep: Option<SharedAsyncSleep>,
    read_timeout: Duration,
}

impl std::fmt::Debug for CappedConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CappedConnector").finish_non_exhaustive()
    }
}

impl CappedConnector {
    /// Trusting `roots` (tests pass their own CA); `sleep` times out a
    /// request that gets no answer (none: no timeout but the TCP connect's).
    pub fn new(
        roots: Vec<CertificateDer<'static>>,
        sleep: Option<SharedAsyncSleep>,
    ) -> Result<Self, rustls::Error> {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(roots)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .http1_max_buf_size(MAX_READ_BUFFER)
            .build(https);
        Ok(Self {
            client,
            sleep,
            read_timeout: READ_TIMEOUT,
        })
    }
}

/// rustls as the SDK configures it: aws-lc-rs with the SDK's cipher suites,
/// TLS 1.2 and 1.3.
fn tls_config(roots: Vec<CertificateDer<'static>>) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut store = rustls::RootCertStore::empty();
    let (_valid, invalid) = store.add_parsable_certificates(roots);
    if invalid > 0 {
        tracing::debug!("{invalid} root certificates could not be parsed");
    }
    let base = rustls::crypto::aws_lc_rs::default_provider();
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: sdk_cipher_suites(&base),
        ..base
    };
    // ALPN (http/1.1) is set by hyper-rustls's builder.
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// The suites the SDK's rustls connector restricts itself to, in its order.
fn sdk_cipher_suites(base: &rustls::crypto::CryptoProvider) -> Vec<rustls::SupportedCipherSuite> {
    use rustls::CipherSuite as S;
    [
        S::TLS13_AES_256_GCM_SHA384,
        S::TLS13_AES_128_GCM_SHA256,
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
    .iter()
    .filter_map(|wanted| {
        base.cipher_suites
            .iter()
            .find(|suite| suite.suite() == *wanted)
            .copied()
    })
    .collect()
}

impl CappedConnector {
    /// Sends `request`; gives up after the read timeout without an answer.
    async fn send(
        &self,
        request: http::Request<SdkBody>,
    ) -> Result<http::Response<SdkBody>, ConnectorError> {
        let answer = self.client.request(request);
        let answer = match &self.sleep {
            Some(sleep) => Timeout::new(answer, sleep.sleep(self.read_timeout))
                .await
                .map_err(|TimedOutError| {
                    let waited = self.read_timeout;
                    ConnectorError::timeout(format!("no answer within {waited:?}").into())
                })?,
            None => answer.await,
        };
        let answer = answer.map_err(|e| ConnectorError::io(e.into()))?;
        Ok(answer.map(SdkBody::from_body_1_x))
    }
}

impl HttpConnector for CappedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let connector = self.clone();
        HttpConnectorFuture::new(async move {
            let answer = connector.send(request).await?;
            Response::try_from(answer).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

#[cfg(test)]
mod tests;
