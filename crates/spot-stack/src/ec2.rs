//! The one EC2 call the tool needs, DescribeSpotPriceHistory, made by hand
//! (Query protocol: a form POST signed with SigV4, XML back) instead of
//! compiling the enormous `aws-sdk-ec2`. Credentials, region and endpoint
//! come from the same `SdkConfig` as the other clients; the HTTP connector is
//! the SDK's own (rustls, connect/read timeouts).

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::date_time::{DateTime, Format};
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder, XmlDecodeError};
use mc_aws_common::error::{classify_parts, describe_parts, ErrorClass, ToolError};
use mc_aws_common::retry::{Classify, Throttle};

const API_VERSION: &str = "2016-11-15";

/// One price point.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SpotPrice {
    pub instance_type: String,
    pub availability_zone: String,
    pub product_description: String,
    /// USD per hour.
    pub price: f64,
    /// Seconds since the epoch.
    pub timestamp: i64,
}

/// A failed Query call: an AWS error code (when the service sent one), the
/// HTTP status (0 when the request never got an answer) and a message.
/// Our own code for "no credentials": never sent by EC2, so not retried.
const NO_CREDENTIALS: &str = "NoCredentials";

#[derive(Debug, Clone)]
pub struct QueryError {
    pub code: Option<String>,
    pub status: u16,
    pub message: String,
}

impl Classify for QueryError {
    fn class(&self) -> ErrorClass {
        if self.status == 0 {
            ErrorClass::Transient
        } else {
            classify_parts(self.code.as_deref(), self.status)
        }
    }
}

impl QueryError {
    fn local(message: impl Into<String>) -> Self {
        Self {
            code: None,
            status: 0,
            message: message.into(),
        }
    }

    /// One line in the toolkit's terms.
    pub fn describe(&self, what: &str) -> ToolError {
        if self.code.as_deref() == Some(NO_CREDENTIALS) {
            return ToolError::NoCredentials;
        }
        if self.status == 0 {
            return ToolError::Service {
                what: what.to_string(),
                message: self.message.clone(),
            };
        }
        describe_parts(
            what,
            self.code.as_deref().unwrap_or(""),
            self.status,
            &self.message,
        )
    }
}

/// A minimal EC2 Query client.
pub struct Ec2 {
    config: SdkConfig,
    endpoint: String,
    region: String,
    connector: SharedHttpConnector,
}

impl Ec2 {
    /// From the tool's `SdkConfig` (region required).
    pub fn new(config: &SdkConfig) -> Result<Self, ToolError> {
        let region = config
            .region()
            .map(|r| r.as_ref().to_string())
            .ok_or_else(|| ToolError::Other("no region: pass --region or set AWS_REGION".into()))?;
        let endpoint = match config.endpoint_url() {
            Some(e) => e.trim_end_matches('/').to_string(),
            None if region.starts_with("cn-") => format!("https://ec2.{region}.amazonaws.com.cn"),
            None => format!("https://ec2.{region}.amazonaws.com"),
        };
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build();
        let connector = mc_aws_common::lean::https_connector(&settings, config.sleep_impl());
        Ok(Self {
            config: config.clone(),
            endpoint,
            region,
            connector,
        })
    }

    /// All price points for `instance_types` (Linux/UNIX) between `start`
    /// and `end`, following `NextToken`; `zone` narrows to one zone.
    pub async fn spot_price_history(
        &self,
        throttle: &Throttle,
        instance_types: &[String],
        zone: Option<&str>,
        start: SystemTime,
        end: SystemTime,
    ) -> Result<Vec<SpotPrice>, ToolError> {
        let mut params: Vec<(String, String)> = vec![
            ("Action".into(), "DescribeSpotPriceHistory".into()),
            ("Version".into(), API_VERSION.into()),
            ("ProductDescription.1".into(), "Linux/UNIX".into()),
            ("StartTime".into(), iso(start)),
            ("EndTime".into(), iso(end)),
            ("MaxResults".into(), "1000".into()),
        ];
        for (i, t) in instance_types.iter().enumerate() {
            params.push((format!("InstanceType.{}", i + 1), t.clone()));
        }
        if let Some(z) = zone {
            params.push(("AvailabilityZone".into(), z.to_string()));
        }
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut page = params.clone();
            if let Some(t) = &token {
                page.push(("NextToken".into(), t.clone()));
            }
            let body = throttle
                .call(|| self.call(&page))
                .await
                .map_err(|e| e.describe("EC2 DescribeSpotPriceHistory"))?;
            let (items, next) =
                parse_spot_price_history(&body).map_err(|e| ToolError::Service {
                    what: "EC2 DescribeSpotPriceHistory".into(),
                    message: format!("unreadable response: {e}"),
                })?;
            out.extend(items);
            match next {
                Some(t) if !t.is_empty() && token.as_deref() != Some(t.as_str()) => token = Some(t),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Any EC2 Query action (`Action` and `Version` are added): the raw XML
    /// response. For fixtures and one-off calls; `what` names it in errors.
    pub async fn action(
        &self,
        throttle: &Throttle,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<String, ToolError> {
        let mut all: Vec<(String, String)> = vec![
            ("Action".into(), action.into()),
            ("Version".into(), API_VERSION.into()),
        ];
        all.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let body = throttle
            .call(|| self.call(&all))
            .await
            .map_err(|e| e.describe(&format!("EC2 {action}")))?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// One signed form POST; the response body on HTTP 200.
    async fn call(&self, params: &[(String, String)]) -> Result<Vec<u8>, QueryError> {
        let body = form_encode(params);
        let url = format!("{}/", self.endpoint);
        let credentials = self
            .config
            .credentials_provider()
            .ok_or_else(|| QueryError {
                code: Some(NO_CREDENTIALS.into()),
                status: 400,
                message: "no credentials provider".into(),
            })?
            .provide_credentials()
            .await
            .map_err(|e| QueryError {
                code: Some(NO_CREDENTIALS.into()),
                status: 400,
                message: format!("no AWS credentials: {e}"),
            })?;
        let identity: Identity = credentials.into();
        let signing = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("ec2")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| QueryError::local(format!("signing: {e}")))?
            .into();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let signable = SignableRequest::new(
            "POST",
            url.as_str(),
            [("content-type", content_type)].into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| QueryError::local(format!("signing: {e}")))?;
        let (instructions, _) = sign(signable, &signing)
            .map_err(|e| QueryError::local(format!("signing: {e}")))?
            .into_parts();
        let mut request = http::Request::builder()
            .method("POST")
            .uri(url.as_str())
            .header("content-type", content_type)
            .body(SdkBody::from(body))
            .map_err(|e| QueryError::local(format!("request: {e}")))?;
        instructions.apply_to_request_http1x(&mut request);
        let request = aws_smithy_runtime_api::http::Request::try_from(request)
            .map_err(|e| QueryError::local(format!("request: {e}")))?;
        let response = self
            .connector
            .call(request)
            .await
            .map_err(|e| QueryError::local(format!("{}: {e:?}", self.endpoint)))?;
        let status = response.status().as_u16();
        let bytes = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| QueryError::local(format!("reading response: {e}")))?
            .into_bytes()
            .to_vec();
        if status == 200 {
            return Ok(bytes);
        }
        let (code, message) = parse_error(&bytes).unwrap_or((None, String::new()));
        Err(QueryError {
            code,
            status,
            message,
        })
    }
}

/// RFC 3339 UTC, as EC2 wants it.
fn iso(t: SystemTime) -> String {
    DateTime::from(t)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// `application/x-www-form-urlencoded` (RFC 3986 unreserved kept, the rest %XX).
fn form_encode(params: &[(String, String)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

fn text(tag: &mut ScopedDecoder<'_, '_>) -> Result<String, XmlDecodeError> {
    Ok(try_data(tag)?.trim().to_string())
}

/// Parses a DescribeSpotPriceHistory response: the items and the next token.
pub fn parse_spot_price_history(
    body: &[u8],
) -> Result<(Vec<SpotPrice>, Option<String>), XmlDecodeError> {
    let body = std::str::from_utf8(body).map_err(XmlDecodeError::unhandled)?;
    let mut doc = Document::new(body);
    let mut root = doc.root_element()?;
    if !root.start_el().matches("DescribeSpotPriceHistoryResponse") {
        return Err(XmlDecodeError::custom(format!(
            "expected DescribeSpotPriceHistoryResponse, got <{}>",
            root.start_el().local()
        )));
    }
    let mut items = Vec::new();
    let mut next = None;
    while let Some(mut tag) = root.next_tag() {
        match tag.start_el().local() {
            "spotPriceHistorySet" => {
                while let Some(mut item) = tag.next_tag() {
                    if item.start_el().local() != "item" {
                        continue;
                    }
                    let mut p = SpotPrice {
                        instance_type: String::new(),
                        availability_zone: String::new(),
                        product_description: String::new(),
                        price: f64::NAN,
                        timestamp: 0,
                    };
                    while let Some(mut field) = item.next_tag() {
                        match field.start_el().local() {
                            "instanceType" => p.instance_type = text(&mut field)?,
                            "availabilityZone" => p.availability_zone = text(&mut field)?,
                            "productDescription" => p.product_description = text(&mut field)?,
                            "spotPrice" => {
                                let s = text(&mut field)?;
                                p.price = s.parse().map_err(|_| {
                                    XmlDecodeError::custom(format!(
                                        "spotPrice {s:?} is not a number"
                                    ))
                                })?;
                            }
                            "timestamp" => {
                                let s = text(&mut field)?;
                                p.timestamp = DateTime::from_str(&s, Format::DateTime)
                                    .map_err(|_| {
                                        XmlDecodeError::custom(format!(
                                            "timestamp {s:?} is not RFC 3339"
                                        ))
                                    })?
                                    .secs();
                            }
                            _ => {}
                        }
                    }
                    if p.price.is_nan() {
                        return Err(XmlDecodeError::custom("an item has no spotPrice"));
                    }
                    items.push(p);
                }
            }
            "nextToken" => {
                let t = text(&mut tag)?;
                next = (!t.is_empty()).then_some(t);
            }
            _ => {}
        }
    }
    Ok((items, next))
}

/// `<Response><Errors><Error><Code/><Message/></Error></Errors>...`
fn parse_error(body: &[u8]) -> Option<(Option<String>, String)> {
    let body = std::str::from_utf8(body).ok()?;
    let mut doc = Document::new(body);
    let mut root = doc.root_element().ok()?;
    while let Some(mut tag) = root.next_tag() {
        match tag.start_el().local() {
            // EC2: <Response><Errors><Error>...
            "Errors" => {
                if let Some(mut err) = tag.next_tag() {
                    return Some(error_fields(&mut err));
                }
            }
            // The generic query shape (STS, gateways): <ErrorResponse><Error>...
            "Error" => return Some(error_fields(&mut tag)),
            _ => {}
        }
    }
    None
}

fn error_fields(err: &mut ScopedDecoder<'_, '_>) -> (Option<String>, String) {
    let (mut code, mut message) = (None, String::new());
    while let Some(mut f) = err.next_tag() {
        match f.start_el().local() {
            "Code" => code = text(&mut f).ok(),
            "Message" => message = text(&mut f).unwrap_or_default(),
            _ => {}
        }
    }
    (code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_error_shapes() {
        let ec2 = b"<Response><Errors><Error><Code>AuthFailure</Code><Message>no</Message></Error></Errors><RequestID>r</RequestID></Response>";
        let query = b"<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>old</Message></Error></ErrorResponse>";
        assert_eq!(
            parse_error(ec2),
            Some((Some("AuthFailure".into()), "no".into()))
        );
        assert_eq!(
            parse_error(query),
            Some((Some("ExpiredToken".into()), "old".into()))
        );
    }

    #[test]
    fn parses_the_documented_aws_response() {
        let body = include_bytes!("../tests/data/describe-spot-price-history.aws.xml");
        let (items, next) = parse_spot_price_history(body).unwrap();
        assert_eq!(next, None);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].instance_type, "m3.medium");
        assert_eq!(items[0].availability_zone, "us-west-2a");
        assert_eq!(items[0].product_description, "Linux/UNIX");
        assert_eq!(items[0].price, 0.0287);
        assert_eq!(items[0].timestamp, 1_388_982_773);
    }

    #[test]
    fn parses_a_moto_response_with_next_token() {
        let body = include_bytes!("../tests/data/describe-spot-price-history.moto.xml");
        let (items, _) = parse_spot_price_history(body).unwrap();
        assert!(!items.is_empty());
        assert!(items
            .iter()
            .all(|i| i.price > 0.0 && !i.instance_type.is_empty()));
        let paged = br#"<DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId><spotPriceHistorySet/><nextToken>abc</nextToken></DescribeSpotPriceHistoryResponse>"#;
        let (items, next) = parse_spot_price_history(paged).unwrap();
        assert!(items.is_empty());
        assert_eq!(next.as_deref(), Some("abc"));
    }

    #[test]
    fn rejects_other_documents_and_bad_prices() {
        assert!(parse_spot_price_history(b"<Foo/>").is_err());
        assert!(parse_spot_price_history(b"not xml").is_err());
        let bad = br#"<DescribeSpotPriceHistoryResponse><spotPriceHistorySet><item><spotPrice>cheap</spotPrice></item></spotPriceHistorySet></DescribeSpotPriceHistoryResponse>"#;
        let e = parse_spot_price_history(bad).unwrap_err().to_string();
        assert!(e.contains("cheap"), "{e}");
    }

    #[test]
    fn parses_query_errors() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>1</RequestID></Response>"#;
        let (code, message) = parse_error(body).unwrap();
        assert_eq!(code.as_deref(), Some("RequestLimitExceeded"));
        assert_eq!(message, "Request limit exceeded.");
        let e = QueryError {
            code,
            status: 503,
            message,
        };
        assert_eq!(e.class(), ErrorClass::Throttled);
    }

    #[test]
    fn form_encoding() {
        let p = vec![
            ("ProductDescription.1".to_string(), "Linux/UNIX".to_string()),
            ("StartTime".into(), "2024-01-01T00:00:00Z".into()),
        ];
        assert_eq!(
            form_encode(&p),
            "ProductDescription.1=Linux%2FUNIX&StartTime=2024-01-01T00%3A00%3A00Z"
        );
    }
}
