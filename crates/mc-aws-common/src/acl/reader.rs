//! GetObjectAcl on the hot path: copying ACLs and reconciling them read one
//! ACL per object, and through the SDK's orchestrator each read cost about
//! as much client CPU as the copy itself. After one read through the SDK has
//! shown the URL it uses for this bucket, the reader sends the same signed
//! GET itself ([`crate::lean`]) and reads the answer into the SDK's own
//! types, so [`Acl::from_sdk`] normalises both alike. Anything unexpected in
//! an answer sends that read back through the SDK.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::types::{self as s3t, RequestPayer};
use aws_sdk_s3::Client;
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder};

use super::Acl;
use crate::error::{describe_sdk_error, ToolError};
use crate::lean::s3::{LeanOp, Route, S3Lean};
use crate::lean::EndpointCapture;
use crate::retry::Throttle;

/// Reads the ACLs of one bucket's objects.
pub struct AclReader {
    client: Client,
    bucket: String,
    throttle: Arc<Throttle>,
    credentials: Option<SharedCredentialsProvider>,
    /// GetObjectAcl beside the SDK, after the first read through it.
    lean: LeanOp,
    /// PutObjectAcl (with grant headers) beside the SDK, after the first
    /// write through it.
    lean_put: LeanOp,
    /// Lean answers in a row the parser gave up on; at [`MAX_FALLBACKS`]
    /// reads stay with the SDK for good.
    fallbacks: AtomicU32,
    /// Reads send `x-amz-request-payer: requester` (a requester-pays bucket).
    requester_pays: bool,
}

/// The header a requester-pays bucket wants from everyone but its owner.
const REQUEST_PAYER: (&str, &str) = ("x-amz-request-payer", "requester");

/// Unreadable lean answers in a row after which reads stay with the SDK.
const MAX_FALLBACKS: u32 = 3;

impl std::fmt::Debug for AclReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclReader")
            .field("bucket", &self.bucket)
            .field("lean", &self.lean)
            .finish_non_exhaustive()
    }
}

impl AclReader {
    /// Reads through `client`, whose requests are signed with `credentials`
    /// (the provider of the `SdkConfig` the client was made from).
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        throttle: Arc<Throttle>,
        credentials: Option<SharedCredentialsProvider>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            throttle,
            credentials,
            lean: LeanOp::default(),
            lean_put: LeanOp::default(),
            fallbacks: AtomicU32::new(0),
            requester_pays: false,
        }
    }

    /// Sends `x-amz-request-payer: requester` with every read (a
    /// requester-pays bucket read by someone other than its owner).
    pub fn requester_pays(mut self, yes: bool) -> Self {
        self.requester_pays = yes;
        self
    }

    /// `key`'s ACL. A missing object is [`ToolError::NotFound`]; ACLs
    /// disabled is [`ToolError::AclsDisabled`].
    pub async fn get(&self, key: &str) -> Result<Acl, ToolError> {
        self.get_version(key, None).await
    }

    /// The ACL of one version of `key` (`None`: the current one).
    pub async fn get_version(&self, key: &str, version: Option<&str>) -> Result<Acl, ToolError> {
        // An empty key would make the lean URL the bucket's own ACL.
        if let (Some((lean, route)), false) = (self.lean(), key.is_empty()) {
            let url = route.url_of_version(key, version);
            let headers: &[(&str, &str)] = if self.requester_pays {
                &[REQUEST_PAYER]
            } else {
                &[]
            };
            match self.throttle.call(|| lean.get_with(&url, headers)).await {
                Ok(body) => match parse(&body) {
                    Some(acl) => {
                        // A success resets the count, unless it already
                        // turned the lean path off.
                        let _ = self.fallbacks.fetch_update(
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                            |n| (n < MAX_FALLBACKS).then_some(0),
                        );
                        return Ok(acl);
                    }
                    None => {
                        // A server whose answers we never read: stop trying.
                        self.fallbacks.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(key, "GetObjectAcl answer left to the SDK");
                    }
                },
                // Rotated or expired credentials: the SDK's provider has new
                // ones; so will the next lean read.
                Err(e) if e.is_credentials_refused() => {
                    tracing::debug!(key, "credentials refused ({e}); refreshing");
                    lean.refresh_credentials().await;
                }
                Err(e) => return Err(e.describe(&self.what(key))),
            }
            // Boxed: the SDK's futures are large, and the lean path's is not.
            return Box::pin(self.sdk(key, version, None)).await;
        }
        let capture = EndpointCapture::default();
        // The SDK refuses an empty key, so past this read `key` is not empty.
        let acl = Box::pin(self.sdk(key, version, Some(&capture))).await?;
        // Directory buckets (S3 Express One Zone) sign with session
        // credentials under their own scope: `learn` leaves them to the SDK.
        self.lean.learn(
            &capture,
            key,
            self.client.config(),
            self.credentials.clone(),
        );
        Ok(acl)
    }

    fn lean(&self) -> Option<(&S3Lean, &Route)> {
        if self.fallbacks.load(Ordering::Relaxed) >= MAX_FALLBACKS {
            return None;
        }
        self.lean.get()
    }

    /// The provider the SDK client signs with, for lean requests of other
    /// operations on the same side.
    pub fn credentials(&self) -> Option<SharedCredentialsProvider> {
        self.credentials.clone()
    }

    /// Whether reads now bypass the SDK (after the first one, when the URL
    /// it sent was understood).
    pub fn is_lean(&self) -> bool {
        self.lean().is_some()
    }

    async fn sdk(
        &self,
        key: &str,
        version: Option<&str>,
        capture: Option<&EndpointCapture>,
    ) -> Result<Acl, ToolError> {
        let payer = self.requester_pays.then_some(RequestPayer::Requester);
        let out = self
            .throttle
            .call(|| {
                let mut call = self
                    .client
                    .get_object_acl()
                    .bucket(&self.bucket)
                    .key(key)
                    .set_version_id(version.map(str::to_string))
                    .set_request_payer(payer.clone())
                    .customize();
                if let Some(c) = capture {
                    call = call.interceptor(c.clone());
                }
                call.send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &self.what(key)))?;
        Ok(Acl::from_sdk(out.owner(), out.grants()))
    }

    /// Replaces `key`'s ACL with `acl`'s grants, as [`super::put_acl`] does,
    /// under `throttle` (writes do not draw on the read budget). After the
    /// first write with grant headers, those go beside the SDK.
    pub async fn put(
        &self,
        throttle: &Arc<Throttle>,
        key: &str,
        acl: &Acl,
    ) -> Result<(), ToolError> {
        let headers = acl.grant_headers();
        let lean = self
            .lean_put
            .get()
            .filter(|_| !headers.is_empty() && !key.is_empty());
        if let Some((lean, route)) = lean {
            let url = route.url(key);
            let pairs = put_acl_headers(&headers);
            match throttle.call(|| lean.put(&url, &pairs)).await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_credentials_refused() => {
                    tracing::debug!(key, "credentials refused ({e}); refreshing");
                    lean.refresh_credentials().await;
                }
                Err(e) => return Err(e.describe(&self.what(key))),
            }
        }
        let learn = !headers.is_empty() && !self.lean_put.is_learned();
        let capture = learn.then(EndpointCapture::default);
        let sdk = super::put_acl_with(
            &self.client,
            throttle,
            &self.bucket,
            key,
            acl,
            capture.as_ref(),
        );
        Box::pin(sdk).await?;
        if let Some(c) = capture {
            let config = self.client.config();
            self.lean_put
                .learn(&c, key, config, self.credentials.clone());
        }
        Ok(())
    }

    fn what(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// PutObjectAcl's headers as the SDK sends them for `headers`: the grants,
/// and what it adds for the (empty) body: its type and checksum, which S3
/// requires on PutObjectAcl.
pub(crate) fn put_acl_headers(headers: &super::GrantHeaders) -> Vec<(&'static str, &str)> {
    let mut pairs = headers.header_pairs();
    pairs.extend(PUT_ACL_CHECKSUM);
    pairs
}

/// What the SDK adds to a PutObjectAcl without a body (CRC32 of nothing).
const PUT_ACL_CHECKSUM: [(&str, &str); 4] = [
    ("content-length", "0"),
    ("content-type", "application/xml"),
    ("x-amz-checksum-crc32", "AAAAAA=="),
    ("x-amz-sdk-checksum-algorithm", "CRC32"),
];

/// An `<AccessControlPolicy>` read as the SDK reads it; `None` on anything
/// it would not read. S3's usual shape is read by [`super::policy_xml`],
/// the rest by the general XML decoder.
fn parse(body: &[u8]) -> Option<Acl> {
    let text = std::str::from_utf8(body).ok()?;
    let (owner, grants) = super::policy_xml::read(body).or_else(|| parse_general(text))?;
    Some(Acl::from_sdk(owner.as_ref(), &grants))
}

/// The owner and grants as the general XML decoder reads them.
pub(super) fn parse_general(text: &str) -> Option<(Option<s3t::Owner>, Vec<s3t::Grant>)> {
    // The decoder would take a cut-off document for a shorter ACL.
    if !text.trim_end().ends_with("</AccessControlPolicy>") {
        return None;
    }
    let mut doc = Document::new(text);
    let mut root = doc.root_element().ok()?;
    if !root.start_el().matches("AccessControlPolicy") {
        return None;
    }
    let (mut owner, mut grants) = (None, None);
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().matches("Owner") {
            let mut id = None;
            while let Some(mut field) = tag.next_tag() {
                if field.start_el().matches("ID") {
                    once(&mut id, try_data(&mut field).ok()?.into_owned())?;
                }
            }
            once(&mut owner, s3t::Owner::builder().set_id(id).build())?;
        } else if tag.start_el().matches("AccessControlList") {
            let mut list = Vec::new();
            while let Some(mut grant) = tag.next_tag() {
                if grant.start_el().matches("Grant") {
                    list.push(parse_grant(&mut grant)?);
                }
            }
            once(&mut grants, list)?;
        }
    }
    Some((owner, grants.unwrap_or_default()))
}

/// Sets `slot` to `value`; `None` if it was set already (a repeated element
/// the SDK would read differently: it keeps the last one).
pub(super) fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

fn parse_grant(element: &mut ScopedDecoder<'_, '_>) -> Option<s3t::Grant> {
    let (mut grantee, mut permission) = (None, None);
    while let Some(mut tag) = element.next_tag() {
        if tag.start_el().matches("Grantee") {
            once(&mut grantee, parse_grantee(&mut tag)?)?;
        } else if tag.start_el().matches("Permission") {
            let p = s3t::Permission::from(try_data(&mut tag).ok()?.as_ref());
            once(&mut permission, p)?;
        }
    }
    grant(grantee, permission)
}

/// The grant, if it was read whole (else the SDK decides).
pub(super) fn grant(
    grantee: Option<s3t::Grantee>,
    permission: Option<s3t::Permission>,
) -> Option<s3t::Grant> {
    let known = permission
        .as_ref()
        .is_some_and(|p| s3t::Permission::values().contains(&p.as_str()));
    (grantee.is_some() && known).then(|| {
        s3t::Grant::builder()
            .set_grantee(grantee)
            .set_permission(permission)
            .build()
    })
}

fn parse_grantee(tag: &mut ScopedDecoder<'_, '_>) -> Option<s3t::Grantee> {
    let kind = tag.start_el().attr("xsi:type").unwrap_or_default();
    let mut g = s3t::Grantee::builder().r#type(s3t::Type::from(kind));
    while let Some(mut field) = tag.next_tag() {
        let name = field.start_el().local().to_string();
        let value = Some(try_data(&mut field).ok()?.into_owned());
        if let Some((_, set)) = grantee_field(name.as_bytes()) {
            g = set(g, value);
        }
    }
    g.build().ok()
}

/// A `GranteeBuilder` setter per field of a `<Grantee>`, with the field's
/// place (0..4), shared by the decoder and the scanner; `None` for any
/// other name (the decoder skips it, the scanner gives up).
pub(super) type GranteeSetter =
    fn(s3t::builders::GranteeBuilder, Option<String>) -> s3t::builders::GranteeBuilder;

pub(super) fn grantee_field(name: &[u8]) -> Option<(usize, GranteeSetter)> {
    use s3t::builders::GranteeBuilder as B;
    Some(match name {
        b"ID" => (0, B::set_id),
        b"URI" => (1, B::set_uri),
        b"EmailAddress" => (2, B::set_email_address),
        b"DisplayName" => (3, B::set_display_name),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{Grant, Grantee, Group, Permission};
    use crate::lean::sigv4::Signer;
    use mc_testkit::signing::{capturing_s3, credentials, signed_at, SignedRequest};

    const KEYS: [&str; 5] = [
        "plain",
        "a b/c+d%e?f#g&h=i",
        "ünï/ködé/日本",
        "dir/./..//x",
        "quote\"'`^|\\{}[]<>!$*(),;:@~",
    ];

    /// The lean GetObjectAcl and PutObjectAcl are the SDK's requests,
    /// header for header, with the same signature, sent to the same URL.
    #[tokio::test]
    async fn lean_requests_sign_as_the_sdk() {
        let owner = "f00d".repeat(16);
        let acl = Acl::new(
            Some(owner.clone()),
            [
                Grant::new(Grantee::user(&owner), Permission::FullControl),
                Grant::new(Grantee::Group(Group::AllUsers), Permission::Read),
                Grant::new(Grantee::email("a@example.com"), Permission::ReadAcp),
                Grant::new(Grantee::user("beef"), Permission::Write),
            ],
        );
        let headers = acl.grant_headers();
        for (endpoint, path_style) in [
            ("http://127.0.0.1:9", true),
            ("https://s3.eu-west-1.amazonaws.com", false),
        ] {
            let (client, captured) = capturing_s3(endpoint, "eu-west-1", path_style);
            for key in KEYS {
                let read = client.get_object_acl().bucket("b").key(key);
                assert!(read.send().await.is_err(), "captured, not sent");
                let sdk = captured.take().unwrap().signed_part();
                let route = Route::from_url(&sdk.uri, key, "eu-west-1".into()).unwrap();
                assert_eq!(route.url(key), sdk.uri);
                let lean = Signer::default()
                    .signed_request(
                        http::Method::GET,
                        &sdk.uri,
                        &[],
                        &credentials(),
                        "eu-west-1",
                        signed_at(),
                    )
                    .unwrap();
                assert_eq!(
                    SignedRequest::of(&lean).signed_part(),
                    sdk,
                    "GetObjectAcl {key:?}"
                );

                let write =
                    headers.apply_put_object_acl(client.put_object_acl().bucket("b").key(key));
                assert!(write.send().await.is_err(), "captured, not sent");
                let sdk = captured.take().unwrap().signed_part();
                let route = Route::from_url(&sdk.uri, key, "eu-west-1".into()).unwrap();
                assert_eq!(route.url(key), sdk.uri);
                let pairs = put_acl_headers(&headers);
                let lean = Signer::default()
                    .signed_request(
                        http::Method::PUT,
                        &sdk.uri,
                        &pairs,
                        &credentials(),
                        "eu-west-1",
                        signed_at(),
                    )
                    .unwrap();
                assert_eq!(
                    SignedRequest::of(&lean).signed_part(),
                    sdk,
                    "PutObjectAcl {key:?}"
                );
            }
        }
    }

    /// GetObjectAcl's answer as the S3 documentation shows it, plus a group
    /// and an e-mail grantee.
    const AWS_ACL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd@amazon.com</DisplayName></Owner>
  <AccessControlList>
    <Grant>
      <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd@amazon.com</DisplayName></Grantee>
      <Permission>FULL_CONTROL</Permission>
    </Grant>
    <Grant>
      <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>
      <Permission>READ</Permission>
    </Grant>
    <Grant>
      <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="AmazonCustomerByEmail"><EmailAddress>Someone@Example.com</EmailAddress></Grantee>
      <Permission>READ_ACP</Permission>
    </Grant>
  </AccessControlList>
</AccessControlPolicy>"#;

    #[test]
    fn reads_an_aws_answer() {
        let owner = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";
        // Read by the scanner, as the general decoder reads it.
        let scanned = super::super::policy_xml::read(AWS_ACL.as_bytes());
        assert!(scanned.is_some());
        assert_eq!(scanned, parse_general(AWS_ACL));
        let acl = parse(AWS_ACL.as_bytes()).unwrap();
        let expected = Acl::new(
            Some(owner.to_string()),
            [
                Grant::new(Grantee::user(owner), Permission::FullControl),
                Grant::new(Grantee::Group(Group::AllUsers), Permission::Read),
                Grant::new(Grantee::email("someone@example.com"), Permission::ReadAcp),
            ],
        );
        assert_eq!(acl, expected);
    }

    #[test]
    fn gives_up_on_what_is_not_an_acl() {
        for bad in [
            "",
            "<Error><Code>NoSuchKey</Code></Error>",
            "<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>x</ID></Grantee>",
            "<AccessControlPolicy><AccessControlList><Grant><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>",
            "<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>x</ID></Grantee><Permission>PEEK</Permission></Grant></AccessControlList></AccessControlPolicy>",
            "<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>x</ID></Grantee><Permission> READ </Permission></Grant></AccessControlList></AccessControlPolicy>",
            "<AccessControlPolicy><AccessControlList></AccessControlList><AccessControlList></AccessControlList></AccessControlPolicy>",
            "<AccessControlPolicy><Owner><ID>a</ID></Owner><Owner><ID>b</ID></Owner></AccessControlPolicy>",
            "<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>x</ID></Grantee><Permission>READ</Permission><Permission>WRITE</Permission></Grant></AccessControlList></AccessControlPolicy>",
            "\u{feff}garbage",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(parse(&[0xff, 0xfe]), None);
    }
}
