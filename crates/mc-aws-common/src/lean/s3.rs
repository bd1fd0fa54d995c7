//! Signed S3 requests over a connector of their own, and the [`Route`]
//! that sends one operation's requests where the SDK sent one of them.

use std::sync::OnceLock;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

use super::sigv4::Signer;
use super::{CredentialCache, EndpointCapture, LeanError};
use crate::keys::uri_path;

/// What a query value keeps unescaped (RFC 3986 unreserved), as SigV4 wants.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

const USER_AGENT: &str = concat!("mc-ops-toolkit/", env!("CARGO_PKG_VERSION"));

/// Sends signed requests to S3 in one region.
pub struct S3Lean {
    connector: super::Connector,
    credentials: CredentialCache,
    signer: Signer,
    /// The region the SDK signed with (not always the client's: `aws-global`
    /// signs as `us-east-1`).
    region: String,
    clock: super::Clock,
}

impl S3Lean {
    /// For an S3 client's `config`, signing for `region` with `credentials`
    /// (the SDK's config does not give its provider back).
    pub fn new(
        config: &aws_sdk_s3::Config,
        credentials: Option<SharedCredentialsProvider>,
        region: String,
    ) -> Self {
        Self {
            connector: super::https_connector(config.sleep_impl()),
            credentials: CredentialCache::new(credentials),
            signer: Signer::default(),
            region,
            clock: super::Clock::new(config.time_source()),
        }
    }

    /// Forgets the cached credentials (the service refused them).
    pub async fn refresh_credentials(&self) {
        self.credentials.invalidate().await;
    }

    /// GETs `url` once (the caller's throttle retries): the body of a 200,
    /// else S3's error.
    pub async fn get(&self, url: &str) -> Result<Bytes, LeanError> {
        self.get_with(url, &[]).await
    }

    /// [`S3Lean::get`] with extra headers, signed with the request
    /// (`x-amz-request-payer`, S3 Control's `x-amz-account-id`).
    pub async fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Result<Bytes, LeanError> {
        let answer = self.send(http::Method::GET, url, headers).await?;
        if answer.status == 200 {
            return Ok(answer.body);
        }
        Err(s3_error(answer.status, &answer.body))
    }

    /// [`S3Lean::get_with`] handing a 200's body to `read` as it arrives
    /// (a list page is read without being kept); any other answer is S3's
    /// error.
    pub async fn get_streamed(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        read: impl FnMut(&[u8]),
    ) -> Result<(), LeanError> {
        let request = self.signed(http::Method::GET, url, headers).await?;
        let response = super::respond(&self.connector, request, url).await?;
        let status = response.status().as_u16();
        if status == 200 {
            return super::read_streamed(response.into_body(), url, read).await;
        }
        let body = super::read_whole(response.into_body(), url).await?;
        Err(s3_error(status, &body))
    }

    /// PUTs `url` with `headers` and no body, once: the body of a 200, else
    /// S3's error. A 200 whose body is an `<Error>` is that error: S3 answers
    /// so when a copy fails after the answer has begun (CopyObject,
    /// UploadPartCopy).
    pub async fn put(&self, url: &str, headers: &[(&str, &str)]) -> Result<Bytes, LeanError> {
        let answer = self.send(http::Method::PUT, url, headers).await?;
        if answer.status == 200 && !is_error_document(&answer.body) {
            return Ok(answer.body);
        }
        Err(s3_error(answer.status, &answer.body))
    }

    async fn send(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<super::Answer, LeanError> {
        let request = self.signed(method, url, headers).await?;
        super::exchange(&self.connector, request, url).await
    }

    /// The request to `url` with `headers`, signed now with the current
    /// credentials.
    async fn signed(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<http::Request<SdkBody>, LeanError> {
        let credentials = self.credentials.get().await?;
        self.signer.signed_request(
            method,
            url,
            headers,
            &credentials,
            &self.region,
            self.clock.now(),
        )
    }
}

impl Signer {
    /// The request an S3 operation sends to `url` with `headers` (and no
    /// body), signed at `time` as the SDK signs S3 requests.
    pub fn signed_request(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
        credentials: &Credentials,
        region: &str,
        time: std::time::SystemTime,
    ) -> Result<http::Request<SdkBody>, LeanError> {
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(url)
            .header(http::header::USER_AGENT, USER_AGENT);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder
            .body(SdkBody::empty())
            .map_err(|e| LeanError::Local(format!("{url}: {e}")))?;
        self.sign(&mut request, credentials, region, "s3", time)?;
        Ok(request)
    }
}

/// Where an operation's requests on one bucket go: the URL the SDK sent for
/// one key with the key cut out, and the region it signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The URL before `/key` (`https://bucket.s3.eu-west-1.amazonaws.com`,
    /// or the endpoint and the bucket in path style).
    base: String,
    /// The URL after the key (`?acl`, `?x-id=CopyObject`), if anything.
    query: String,
    region: String,
}

impl Route {
    /// From the request the SDK sent for `key`: `None` unless it was plain
    /// SigV4 for S3 (directory buckets sign with session credentials under a
    /// scope of their own) and its path ends in the key.
    pub fn from_sent(capture: &EndpointCapture, key: &str) -> Option<Self> {
        let scope = capture.scope().filter(|s| s.service == "s3")?;
        Self::from_url(&capture.get()?, key, scope.region)
    }

    /// From `url`, an SDK request's for `key`, signed for `region`.
    pub fn from_url(url: &str, key: &str, region: String) -> Option<Self> {
        let (path, query) = url.split_at(url.find('?').unwrap_or(url.len()));
        let base = path.strip_suffix(&uri_path(key))?.strip_suffix('/')?;
        // That request may have named a version: the others name their own.
        let params: Vec<&str> = query
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("versionId="))
            .collect();
        let query = match params.is_empty() {
            true => String::new(),
            false => format!("?{}", params.join("&")),
        };
        Some(Self {
            base: base.to_string(),
            query,
            region,
        })
    }

    /// From the request the SDK sent on the bucket itself (ListObjectsV2):
    /// its URL without the query. `None` unless it was plain SigV4 for S3.
    pub fn of_bucket(capture: &EndpointCapture) -> Option<Self> {
        let scope = capture.scope().filter(|s| s.service == "s3")?;
        Some(Self::of_bucket_url(&capture.get()?, scope.region))
    }

    /// From `url`, an SDK request's on the bucket, signed for `region`.
    pub fn of_bucket_url(url: &str, region: String) -> Self {
        let base = url.split('?').next().unwrap_or(url);
        Self {
            base: base.to_string(),
            query: String::new(),
            region,
        }
    }

    /// The bucket's URL with `params` as its query, encoded as the SDK
    /// encodes them (a [`Route::of_bucket`]).
    pub fn bucket_url(&self, params: &[(&str, &str)]) -> String {
        let mut url = self.base.clone();
        for (i, (name, value)) in params.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            url.extend(percent_encoding::utf8_percent_encode(value, QUERY_VALUE));
        }
        url
    }

    /// The URL for `key` (not empty: that would be the bucket's own URL).
    pub fn url(&self, key: &str) -> String {
        format!("{}/{}{}", self.base, uri_path(key), self.query)
    }

    /// The URL for one version of `key` (`None`: the current one).
    pub fn url_of_version(&self, key: &str, version: Option<&str>) -> String {
        let mut url = self.url(key);
        if let Some(v) = version {
            url.push(if self.query.is_empty() { '?' } else { '&' });
            url.push_str("versionId=");
            url.extend(percent_encoding::utf8_percent_encode(v, QUERY_VALUE));
        }
        url
    }

    /// The base URL, for logs.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The region its requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }
}

/// One S3 operation on one bucket sent beside the SDK once an SDK request
/// has shown its [`Route`]: the first requests go through the SDK with an
/// [`EndpointCapture`], the later ones through an [`S3Lean`].
#[derive(Default)]
pub struct LeanOp {
    learned: OnceLock<Option<(S3Lean, Route)>>,
}

impl std::fmt::Debug for LeanOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let route = self
            .learned
            .get()
            .map(|l| l.as_ref().map(|(_, r)| r.base()));
        f.debug_struct("LeanOp").field("route", &route).finish()
    }
}

impl LeanOp {
    /// The sender and route, once learned and usable.
    pub fn get(&self) -> Option<(&S3Lean, &Route)> {
        self.learned.get()?.as_ref().map(|(s, r)| (s, r))
    }

    /// Whether an SDK request has been seen (usable or not): no need to
    /// capture another.
    pub fn is_learned(&self) -> bool {
        self.learned.get().is_some()
    }

    /// Learns the route from the SDK request for `key` that `capture` saw,
    /// sent by a client with `config` and signed with `credentials`.
    pub fn learn(
        &self,
        capture: &EndpointCapture,
        key: &str,
        config: &aws_sdk_s3::Config,
        credentials: Option<SharedCredentialsProvider>,
    ) {
        if !self.is_learned() {
            self.learn_route(Route::from_sent(capture, key), config, credentials);
        }
    }

    /// Learns `route`, if any, from an SDK request sent by a client with
    /// `config` and signed with `credentials`; `None` leaves the operation
    /// to the SDK for good.
    pub fn learn_route(
        &self,
        route: Option<Route>,
        config: &aws_sdk_s3::Config,
        credentials: Option<SharedCredentialsProvider>,
    ) {
        if self.is_learned() {
            return;
        }
        let learned = route.map(|route| {
            let sender = S3Lean::new(config, credentials, route.region().to_string());
            (sender, route)
        });
        if learned.is_none() {
            tracing::debug!("requests stay with the SDK (not plain SigV4, or an unexpected URL)");
        }
        let _ = self.learned.set(learned);
    }
}

/// Whether `body` is an S3 `<Error>` document.
fn is_error_document(body: &[u8]) -> bool {
    let mut rest = body.trim_ascii_start();
    if rest.starts_with(b"<?xml") {
        let Some(end) = memchr::memmem::find(rest, b"?>") else {
            return false;
        };
        rest = rest[end + 2..].trim_ascii_start();
    }
    rest.starts_with(b"<Error>") || rest.starts_with(b"<Error ")
}

/// S3's `<Error><Code>…</Code><Message>…</Message></Error>` (S3 Control's
/// wrapped in `<ErrorResponse>`); HEAD-like answers without a body keep only
/// the status.
pub fn s3_error(status: u16, body: &[u8]) -> LeanError {
    let (code, message) = error_fields(body).unwrap_or_default();
    LeanError::Service {
        status,
        code,
        message,
    }
}

fn error_fields(body: &[u8]) -> Option<(String, String)> {
    let mut doc = aws_smithy_xml::decode::Document::new(std::str::from_utf8(body).ok()?);
    let mut root = doc.root_element().ok()?;
    let (mut code, mut message) = (String::new(), String::new());
    // S3 answers `<Error>`; S3 Control wraps it in `<ErrorResponse>`.
    let wrapped = root.start_el().local() == "ErrorResponse";
    while let Some(mut tag) = root.next_tag() {
        if wrapped && tag.start_el().local() == "Error" {
            while let Some(mut inner) = tag.next_tag() {
                read_field(&mut inner, &mut code, &mut message)?;
            }
            continue;
        }
        read_field(&mut tag, &mut code, &mut message)?;
    }
    Some((code, message))
}

fn read_field(
    tag: &mut aws_smithy_xml::decode::ScopedDecoder<'_, '_>,
    code: &mut String,
    message: &mut String,
) -> Option<()> {
    let slot = match tag.start_el().local() {
        "Code" => code,
        "Message" => message,
        _ => return Some(()),
    };
    *slot = aws_smithy_xml::decode::try_data(tag).ok()?.into_owned();
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_an_error_document_in_a_200() {
        for error in [
            "<Error><Code>InternalError</Code></Error>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>SlowDown</Code></Error>",
            "  \r\n<Error xmlns=\"x\"><Code>InternalError</Code></Error>",
        ] {
            assert!(is_error_document(error.as_bytes()), "{error:?}");
        }
        for fine in [
            "",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult><ETag>&quot;e&quot;</ETag></CopyObjectResult>",
            "<CopyPartResult><ETag>e</ETag></CopyPartResult>",
            "<Errors/>",
            "<?xml unterminated <Error>",
        ] {
            assert!(!is_error_document(fine.as_bytes()), "{fine:?}");
        }
    }

    #[test]
    fn reads_s3_errors() {
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist &amp; never did.</Message><Key>a b</Key><RequestId>1</RequestId></Error>";
        assert_eq!(
            s3_error(404, body),
            LeanError::Service {
                status: 404,
                code: "NoSuchKey".into(),
                message: "The specified key does not exist & never did.".into()
            }
        );
        let control = b"<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error><RequestId>1</RequestId></ErrorResponse>";
        assert_eq!(
            s3_error(403, control),
            LeanError::Service {
                status: 403,
                code: "AccessDenied".into(),
                message: "no".into()
            }
        );
        assert_eq!(
            s3_error(403, b""),
            LeanError::Service {
                status: 403,
                code: String::new(),
                message: String::new()
            }
        );
    }
}
