//! Signed S3 GETs over a connector of their own.

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SigningSettings, UriPathNormalizationMode,
};
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

use super::{CredentialCache, LeanError};

const USER_AGENT: &str = concat!("mc-ops-toolkit/", env!("CARGO_PKG_VERSION"));

/// Sends signed GETs to S3 in one region.
pub struct S3Get {
    connector: SharedHttpConnector,
    credentials: CredentialCache,
    /// The region the SDK signed with (not always the client's: `aws-global`
    /// signs as `us-east-1`).
    region: String,
    clock: super::Clock,
}

impl S3Get {
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

    /// [`S3Get::get`] with extra headers, signed with the request
    /// (`x-amz-request-payer`, S3 Control's `x-amz-account-id`).
    pub async fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Result<Bytes, LeanError> {
        let credentials = self.credentials.get().await?;
        let mut builder = http::Request::builder()
            .method(http::Method::GET)
            .uri(url)
            .header(http::header::USER_AGENT, USER_AGENT);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder
            .body(SdkBody::empty())
            .map_err(|e| LeanError::Local(format!("{url}: {e}")))?;
        // As the SDK signs S3 requests: the path as sent, not re-encoded or
        // normalised, and the payload hash in a header.
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        super::sign_request(
            &mut request,
            credentials,
            &self.region,
            "s3",
            self.clock.now(),
            settings,
        )?;
        let answer = super::exchange(&self.connector, request, url).await?;
        if answer.status == 200 {
            return Ok(answer.body);
        }
        Err(s3_error(answer.status, &answer.body))
    }
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
