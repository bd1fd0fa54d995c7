//! A server of canned answers on 127.0.0.1: for services no emulator
//! implements (S3 Control's Batch Operations jobs), a test answers each
//! request with the service's documented response, and checks what was
//! sent through the [`crate::proxy`] in front of it.
//!
//! ```no_run
//! use mc_benchkit::canned::{Answer, Canned};
//! let server = Canned::start_blocking(vec![
//!     Answer::new("POST", "/v20180820/jobs", 200, "<CreateJobResult><JobId>j-1</JobId></CreateJobResult>"),
//! ]).unwrap();
//! let url = server.endpoint(); // http://127.0.0.1:PORT
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::server::Running;

/// One canned answer: to `method` on a path starting with `path_prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub method: String,
    pub path_prefix: String,
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn new(method: &str, path_prefix: &str, status: u16, body: impl Into<String>) -> Self {
        Self {
            method: method.to_string(),
            path_prefix: path_prefix.to_string(),
            status,
            body: body.into(),
        }
    }
}

/// A running canned server; stops when dropped.
pub struct Canned {
    addr: SocketAddr,
    _server: Running,
}

impl Canned {
    /// Serves `answers` (first match wins; 404 otherwise) on a thread of its own.
    pub fn start_blocking(answers: Vec<Answer>) -> anyhow::Result<Self> {
        let (addr, server) = Running::on_thread("mc-canned", move || async move {
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .await
                .context("binding the canned server")?;
            let addr = listener.local_addr()?;
            let (tx, rx) = oneshot::channel();
            tokio::spawn(serve(listener, Arc::new(answers), rx));
            Ok((addr, Running::task(tx)))
        })?;
        Ok(Self {
            addr,
            _server: server,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn serve(listener: TcpListener, answers: Arc<Vec<Answer>>, mut stop: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut stop => break,
            acc = listener.accept() => {
                let Ok((stream, _)) = acc else { continue };
                let answers = answers.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let answers = answers.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(&answers, &req)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

fn answer(answers: &[Answer], req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let found = answers
        .iter()
        .find(|a| a.method == req.method().as_str() && path.starts_with(&a.path_prefix));
    let (status, body) = match found {
        Some(a) => (a.status, a.body.clone()),
        None => (
            404,
            "<ErrorResponse><Error><Code>NotFound</Code><Message>no canned answer</Message></Error></ErrorResponse>".to_string(),
        ),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    r
}
