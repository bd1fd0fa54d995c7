//! The one EC2 call the tool needs, DescribeSpotPriceHistory, made by hand
//! (Query protocol: a form POST signed with SigV4, XML back) instead of
//! compiling the enormous `aws-sdk-ec2`. Credentials, region and endpoint
//! come from the same `SdkConfig` as the other clients; signing, sending and
//! errors are `mc_aws_common::lean`'s, as for the other lean calls.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_sigv4::http_request::SigningSettings;
use aws_smithy_query::QueryWriter;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::date_time::{DateTime, Format};
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder, XmlDecodeError};
use bytes::Bytes;
use mc_aws_common::error::ToolError;
use mc_aws_common::lean::{exchange, sign_request, Clock, CredentialCache, LeanError};
use mc_aws_common::retry::Throttle;

const API_VERSION: &str = "2016-11-15";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
const USER_AGENT: &str = concat!("spot-stack/", env!("CARGO_PKG_VERSION"));

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

/// A minimal EC2 Query client.
pub struct Ec2 {
    /// `https://ec2.REGION.amazonaws.com/`, or the configured endpoint.
    url: String,
    region: String,
    connector: mc_aws_common::lean::Connector,
    credentials: CredentialCache,
    clock: Clock,
}

impl Ec2 {
    /// From the tool's `SdkConfig` (region required).
    pub fn new(config: &SdkConfig) -> Result<Self, ToolError> {
        let region = config
            .region()
            .map(|r| r.as_ref().to_string())
            .ok_or_else(|| ToolError::Other("no region: pass --region or set AWS_REGION".into()))?;
        let url = match config.endpoint_url() {
            Some(e) => format!("{}/", e.trim_end_matches('/')),
            None if region.starts_with("cn-") => format!("https://ec2.{region}.amazonaws.com.cn/"),
            None => format!("https://ec2.{region}.amazonaws.com/"),
        };
        Ok(Self {
            url,
            region,
            connector: mc_aws_common::lean::https_connector(config.sleep_impl()),
            credentials: CredentialCache::new(config.credentials_provider()),
            clock: Clock::new(config.time_source()),
        })
    }

    /// The region the calls go to.
    pub fn region(&self) -> &str {
        &self.region
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
        let (start, end) = (iso(start), iso(end));
        let mut params: Vec<(String, &str)> = vec![
            ("ProductDescription.1".into(), "Linux/UNIX"),
            ("StartTime".into(), &start),
            ("EndTime".into(), &end),
            ("MaxResults".into(), "1000"),
        ];
        for (i, t) in instance_types.iter().enumerate() {
            params.push((format!("InstanceType.{}", i + 1), t));
        }
        if let Some(z) = zone {
            params.push(("AvailabilityZone".into(), z));
        }
        let what = "EC2 DescribeSpotPriceHistory";
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut page: Vec<(&str, &str)> =
                params.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            if let Some(t) = &token {
                page.push(("NextToken", t));
            }
            let body = query_body("DescribeSpotPriceHistory", &page);
            let answer = throttle
                .call(|| self.call(&body))
                .await
                .map_err(|e| e.describe(what))?;
            let (items, next) =
                parse_spot_price_history(&answer).map_err(|e| ToolError::Service {
                    what: what.into(),
                    message: format!("unreadable response: {e}"),
                })?;
            out.extend(items);
            match next {
                Some(t) if token.as_deref() != Some(t.as_str()) => token = Some(t),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Any EC2 Query action (`Action` and `Version` are added): the raw XML
    /// response. For fixtures and one-off calls.
    pub async fn action(
        &self,
        throttle: &Throttle,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<String, ToolError> {
        let body = query_body(action, params);
        let answer = throttle
            .call(|| self.call(&body))
            .await
            .map_err(|e| e.describe(&format!("EC2 {action}")))?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }

    /// One signed form POST (the caller's throttle retries): the body of a
    /// 200, else EC2's error.
    async fn call(&self, body: &str) -> Result<Bytes, LeanError> {
        let credentials = self.credentials.get().await?;
        let mut request = http::Request::builder()
            .method(http::Method::POST)
            .uri(self.url.as_str())
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
            .header(http::header::USER_AGENT, USER_AGENT)
            .body(SdkBody::from(body))
            .map_err(|e| LeanError::Local(format!("{}: {e}", self.url)))?;
        let settings = SigningSettings::default();
        let now = self.clock.now();
        sign_request(
            &mut request,
            credentials,
            &self.region,
            "ec2",
            now,
            settings,
        )?;
        let answer = exchange(&self.connector, request, &self.url).await?;
        if answer.status == 200 {
            return Ok(answer.body);
        }
        let error = query_error(answer.status, &answer.body);
        if error.is_credentials_refused() {
            // Rotated or expired: the next call fetches them again.
            self.credentials.invalidate().await;
        }
        Err(error)
    }
}

/// The form body of a Query call, encoded as the SDK encodes it.
fn query_body(action: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut writer = QueryWriter::new(&mut out, action, API_VERSION);
    for (name, value) in params {
        writer.prefix(name).string(value);
    }
    writer.finish();
    out
}

/// RFC 3339 UTC, as EC2 wants it.
fn iso(t: SystemTime) -> String {
    DateTime::from(t)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
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
                    items.push(parse_item(&mut item)?);
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

/// One `<item>` of `spotPriceHistorySet`.
fn parse_item(item: &mut ScopedDecoder<'_, '_>) -> Result<SpotPrice, XmlDecodeError> {
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
                    XmlDecodeError::custom(format!("spotPrice {s:?} is not a number"))
                })?;
            }
            "timestamp" => {
                let s = text(&mut field)?;
                p.timestamp = DateTime::from_str(&s, Format::DateTime)
                    .map_err(|_| {
                        XmlDecodeError::custom(format!("timestamp {s:?} is not RFC 3339"))
                    })?
                    .secs();
            }
            _ => {}
        }
    }
    if p.price.is_nan() {
        return Err(XmlDecodeError::custom("an item has no spotPrice"));
    }
    Ok(p)
}

/// EC2's error answer as a [`LeanError`] (code and message empty when the
/// body is not one of the two Query error shapes).
fn query_error(status: u16, body: &[u8]) -> LeanError {
    let (code, message) = parse_error(body).unwrap_or_default();
    LeanError::Service {
        status,
        code: code.unwrap_or_default(),
        message,
    }
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
    use mc_aws_common::error::ErrorClass;
    use mc_aws_common::retry::Classify;

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
        let e = query_error(503, body);
        assert_eq!(e.code(), "RequestLimitExceeded");
        assert_eq!(
            e.to_string(),
            "RequestLimitExceeded (HTTP 503): Request limit exceeded."
        );
        assert_eq!(e.class(), ErrorClass::Throttled);
        let e = query_error(
            401,
            b"<ErrorResponse><Error><Code>ExpiredToken</Code></Error></ErrorResponse>",
        );
        assert!(e.is_credentials_refused());
        assert_eq!(
            query_error(502, b"<html>bad gateway</html>").code(),
            "RequestFailed"
        );
    }

    #[test]
    fn form_encoding() {
        let p = [
            ("ProductDescription.1", "Linux/UNIX"),
            ("StartTime", "2024-01-01T00:00:00Z"),
        ];
        assert_eq!(
            query_body("DescribeSpotPriceHistory", &p),
            "Action=DescribeSpotPriceHistory&Version=2016-11-15\
             &ProductDescription.1=Linux%2FUNIX&StartTime=2024-01-01T00%3A00%3A00Z"
        );
    }
}
