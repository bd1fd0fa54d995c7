//! SigV4 for the one request shape [`crate::wire`] sends: `POST /` with our
//! three fixed headers and a JSON body.
//!
//! Why not `aws_sigv4::http_request::sign` for every batch: it copies the
//! headers into a map, formats the canonical request through `Display`, and
//! derives the signing key (four HMACs) each time; measured with perf, that
//! was a fifth of the sender's CPU, CPU that on a shared host the server does
//! not get. Here the canonical request is written straight into one buffer and
//! the key is derived once per day (`SigningKeys`, which the toolkit's lean S3
//! requests share). The general signer stays as the fallback
//! for endpoints with a path, and a test checks this one byte for byte
//! against it.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use mc_aws_common::lean::sigv4::{amz_date, push_hex, signature, SigningKeys};
use sha2::{Digest, Sha256};

/// The headers a request gets from signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub authorization: String,
    pub amz_date: String,
}

/// Signs `POST /` SendMessageBatch requests for one host and region.
pub struct FastSigner {
    host: String,
    region: String,
    keys: SigningKeys,
}

impl FastSigner {
    /// `None` unless `endpoint` is `scheme://authority/` (no path), the only
    /// shape whose canonical form is fixed.
    pub fn new(endpoint: &str, region: &str) -> Option<Self> {
        let uri: http::Uri = endpoint.parse().ok()?;
        if uri.path() != "/" || uri.query().is_some() {
            return None;
        }
        let host = uri.host()?;
        let default_port = match uri.scheme_str() {
            Some("http") => 80,
            Some("https") => 443,
            _ => return None,
        };
        // As aws-sigv4 does: the authority, minus a default port.
        let host = match uri.port_u16() {
            Some(p) if p != default_port => uri.authority()?.as_str().to_string(),
            _ => host.to_string(),
        };
        if !host.bytes().all(|b| b.is_ascii_graphic()) || !plain(region) {
            return None;
        }
        Some(Self {
            host,
            region: region.to_string(),
            keys: SigningKeys::default(),
        })
    }

    /// The signature of a request with `body`, or `None` when the
    /// credentials hold something this shortcut does not normalise.
    pub fn sign(&self, creds: &Credentials, now: SystemTime, body: &[u8]) -> Option<Signature> {
        let token = creds.session_token();
        if token.is_some_and(|t| !plain(t)) {
            return None;
        }
        let amz_date = amz_date(now);
        let date = &amz_date[..8];
        let signed_headers = if token.is_some() {
            "content-type;host;x-amz-date;x-amz-security-token;x-amz-target;x-amzn-query-mode"
        } else {
            "content-type;host;x-amz-date;x-amz-target;x-amzn-query-mode"
        };
        let creq = self.canonical_request(&amz_date, token, signed_headers, body);
        let scope = format!("{date}/{}/sqs/aws4_request", self.region);
        let mut sts = String::with_capacity(200);
        sts.push_str("AWS4-HMAC-SHA256\n");
        sts.push_str(&amz_date);
        sts.push('\n');
        sts.push_str(&scope);
        sts.push('\n');
        push_hex(&mut sts, &Sha256::digest(creq.as_bytes()));
        let key = self
            .keys
            .get(date, &self.region, "sqs", creds.secret_access_key());
        let signature = signature(&key, &sts);
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id()
        );
        Some(Signature {
            authorization,
            amz_date,
        })
    }

    /// The canonical request of our one request shape.
    fn canonical_request(
        &self,
        amz_date: &str,
        token: Option<&str>,
        signed_headers: &str,
        body: &[u8],
    ) -> String {
        let mut creq = String::with_capacity(400 + token.map_or(0, str::len));
        creq.push_str("POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:");
        creq.push_str(&self.host);
        creq.push_str("\nx-amz-date:");
        creq.push_str(amz_date);
        if let Some(t) = token {
            creq.push_str("\nx-amz-security-token:");
            creq.push_str(t);
        }
        creq.push_str("\nx-amz-target:AmazonSQS.SendMessageBatch\nx-amzn-query-mode:true\n\n");
        creq.push_str(signed_headers);
        creq.push('\n');
        push_hex(&mut creq, &Sha256::digest(body));
        creq
    }
}

/// Printable ASCII without spaces: header values aws-sigv4 leaves as they are.
fn plain(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    use aws_smithy_runtime_api::client::identity::Identity;
    use std::time::{Duration, UNIX_EPOCH};

    /// What aws-sigv4 puts on the same request.
    fn reference(
        endpoint: &str,
        region: &str,
        creds: &Credentials,
        now: SystemTime,
        body: &[u8],
    ) -> Signature {
        let identity: Identity = creds.clone().into();
        let headers = [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AmazonSQS.SendMessageBatch"),
            ("x-amzn-query-mode", "true"),
        ];
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("sqs")
            .time(now)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let req = SignableRequest::new(
            "POST",
            endpoint,
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(req, &params).unwrap().into_parts();
        let mut r = http::Request::builder().uri(endpoint).body(()).unwrap();
        instructions.apply_to_request_http1x(&mut r);
        let h = |k: &str| r.headers().get(k).unwrap().to_str().unwrap().to_string();
        if let Some(t) = creds.session_token() {
            assert_eq!(h("x-amz-security-token"), t);
        }
        Signature {
            authorization: h("authorization"),
            amz_date: h("x-amz-date"),
        }
    }

    #[test]
    fn same_signature_as_aws_sigv4() {
        let plain = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "t",
        );
        let session = Credentials::new(
            "ASIAEXAMPLE",
            "c2VjcmV0/+=",
            Some("FwoGZXIvYXdzE//token+/=".into()),
            None,
            "t",
        );
        let body =
            br#"{"QueueUrl":"http://q/1/a","Entries":[{"Id":"0","MessageBody":"{\"a\":1}"}]}"#;
        let times = [
            0u64,
            951_782_400,
            1_700_000_000,
            1_767_225_599,
            2_180_000_000,
            4_102_444_800,
        ];
        for endpoint in [
            "http://127.0.0.1:4566/",
            "http://localhost:80/",
            "https://sqs.us-east-1.amazonaws.com/",
            "https://sqs.eu-west-1.amazonaws.com:443/",
            "https://vpce-1.sqs.us-east-1.vpce.amazonaws.com:8443/",
        ] {
            let fast = FastSigner::new(endpoint, "eu-west-1").unwrap();
            for creds in [&plain, &session] {
                for (i, &t) in times.iter().enumerate() {
                    let now = UNIX_EPOCH + Duration::from_secs(t + i as u64 * 3671);
                    // Twice: the second uses the cached key.
                    for _ in 0..2 {
                        assert_eq!(
                            fast.sign(creds, now, body).unwrap(),
                            reference(endpoint, "eu-west-1", creds, now, body),
                            "{endpoint} at {t}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn key_follows_the_day_and_the_secret() {
        let fast = FastSigner::new("http://h:1/", "us-east-1").unwrap();
        let a = Credentials::new("AK", "one", None, None, "t");
        let b = Credentials::new("AK", "two", None, None, "t");
        let day = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let next = day + Duration::from_secs(86_400);
        for (c, now) in [(&a, day), (&b, day), (&b, next), (&a, next)] {
            assert_eq!(
                fast.sign(c, now, b"{}").unwrap(),
                reference("http://h:1/", "us-east-1", c, now, b"{}")
            );
        }
    }

    #[test]
    fn only_plain_endpoints() {
        assert!(FastSigner::new("http://h:1/prefix/", "us-east-1").is_none());
        assert!(FastSigner::new("http://h:1/?a=b", "us-east-1").is_none());
        assert!(FastSigner::new("ftp://h/", "us-east-1").is_none());
        assert!(FastSigner::new("http://h/", "").is_none());
        assert!(FastSigner::new("http://[::1]:9324/", "us-east-1").is_some());
        let odd = Credentials::new("AK", "s", Some("has space".into()), None, "t");
        let fast = FastSigner::new("http://h/", "us-east-1").unwrap();
        assert!(fast.sign(&odd, SystemTime::now(), b"").is_none());
    }
}
