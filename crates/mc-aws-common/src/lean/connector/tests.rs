//! The connector against a local HTTPS server (tokio-rustls and hyper) with a
//! certificate for `localhost` from a CA made here: it trusts what it is told
//! to, refuses the rest, streams a large answer through its capped buffer and
//! keeps its connection for the next request.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use bytes::Bytes;
use http_body_util::Full;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

use super::{proxy_configured, CappedConnector, MAX_READ_BUFFER};
use crate::lean::{read_whole, respond, LeanError};

/// Larger than the read buffer's cap, so it must stream through it.
const LARGE: usize = 16 * MAX_READ_BUFFER + 7;

struct Ca {
    cert: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        cert: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

/// What the server answers: `/large` is [`LARGE`] bytes, `/silent` never
/// comes, anything else is `hello`.
async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let body = match request.uri().path() {
        "/large" => Bytes::from((0..LARGE).map(|i| (i % 251) as u8).collect::<Vec<u8>>()),
        "/silent" => std::future::pending().await,
        _ => Bytes::from_static(b"hello"),
    };
    Ok(hyper::Response::new(Full::new(body)))
}

struct Server {
    port: u16,
    /// TCP connections accepted so far.
    accepted: Arc<AtomicUsize>,
}

/// An HTTPS server on 127.0.0.1 with a certificate for `localhost` signed
/// by `ca`; it lives as long as the test's runtime.
async fn serve(ca: &Ca) -> Server {
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let io = hyper_util::rt::TokioIo::new(tls);
                let service = hyper::service::service_fn(answer);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    Server { port, accepted }
}

fn connector(roots: &Ca) -> CappedConnector {
    let sleep = SharedAsyncSleep::new(TokioSleep::new());
    CappedConnector::new(vec![roots.cert.clone()], Some(sleep)).unwrap()
}

async fn get(connector: &CappedConnector, url: &str) -> Result<Bytes, LeanError> {
    get_over(&super::Connector::capped(connector.clone()), url).await
}

async fn get_over(connector: &super::Connector, url: &str) -> Result<Bytes, LeanError> {
    let request = http::Request::get(url)
        .body(aws_smithy_types::body::SdkBody::empty())
        .unwrap();
    let response = respond(connector, request, url).await?;
    assert_eq!(response.status().as_u16(), 200);
    read_whole(response.into_body(), url).await
}

#[tokio::test]
async fn speaks_tls_to_a_server_it_trusts_and_keeps_the_connection() {
    let ca = ca("test CA");
    let server = serve(&ca).await;
    let connector = connector(&ca);
    let base = format!("https://localhost:{}", server.port);

    let large = get(&connector, &format!("{base}/large")).await.unwrap();
    assert_eq!(large.len(), LARGE);
    assert!(large.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    let small = get(&connector, &format!("{base}/small")).await.unwrap();
    assert_eq!(&small[..], b"hello");
    assert_eq!(
        server.accepted.load(Ordering::SeqCst),
        1,
        "one pooled connection"
    );
}

/// Through the SDK's interface (as the SDK's SQS client calls it, and as
/// lean requests call the SDK's connector when a proxy is set).
#[tokio::test]
async fn answers_alike_through_the_sdks_interface() {
    let ca = ca("test CA");
    let server = serve(&ca).await;
    let shared = aws_smithy_runtime_api::client::http::SharedHttpConnector::new(connector(&ca));
    let url = format!("https://localhost:{}/large", server.port);
    let large = get_over(&super::Connector::sdk(shared), &url)
        .await
        .unwrap();
    assert_eq!(large.len(), LARGE);
}

#[tokio::test]
async fn refuses_a_server_signed_by_another_ca() {
    let server = serve(&ca("the server's CA")).await;
    let other = connector(&ca("another CA"));
    let url = format!("https://localhost:{}/small", server.port);
    let error = get(&other, &url).await.unwrap_err().to_string();
    assert!(
        error.contains("invalid peer certificate: UnknownIssuer"),
        "{error}"
    );
    assert!(error.starts_with(&url), "{error}");
}

#[tokio::test]
async fn refuses_a_certificate_for_another_name() {
    let ca = ca("test CA");
    let server = serve(&ca).await;
    // The certificate names localhost, not 127.0.0.1.
    let url = format!("https://127.0.0.1:{}/small", server.port);
    let error = get(&connector(&ca), &url).await.unwrap_err().to_string();
    assert!(error.contains("certificate not valid for name"), "{error}");
}

#[tokio::test]
async fn gives_up_on_a_request_without_answer() {
    let ca = ca("test CA");
    let server = serve(&ca).await;
    let mut connector = connector(&ca);
    connector.read_timeout = Duration::from_millis(200);
    let url = format!("https://localhost:{}/silent", server.port);
    let error = get(&connector, &url).await.unwrap_err();
    assert!(matches!(error, LeanError::Transport(_)), "{error:?}");
    assert!(error.to_string().contains("no answer within"), "{error}");
}

#[test]
fn any_proxy_variable_hands_the_requests_to_the_sdk() {
    let only = |set: &'static str, value: &'static str| {
        move |name: &str| (name == set).then(|| value.into())
    };
    assert!(!proxy_configured(|_| None));
    assert!(proxy_configured(only(
        "HTTPS_PROXY",
        "http://127.0.0.1:3128"
    )));
    assert!(proxy_configured(only(
        "all_proxy",
        "socks5://127.0.0.1:1080"
    )));
    assert!(!proxy_configured(only("HTTPS_PROXY", "")));
    assert!(!proxy_configured(only("NO_PROXY", "*")));
}
