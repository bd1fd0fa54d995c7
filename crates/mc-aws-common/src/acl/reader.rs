//! GetObjectAcl on the hot path: copying ACLs and reconciling them read one
//! ACL per object, and through the SDK's orchestrator each read cost about
//! as much client CPU as the copy itself. After one read through the SDK has
//! shown the URL it uses for this bucket, the reader sends the same signed
//! GET itself ([`crate::lean`]) and reads the answer into the SDK's own
//! types, so [`Acl::from_sdk`] normalises both alike. Anything unexpected in
//! an answer sends that read back through the SDK.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::types::{self as s3t, RequestPayer};
use aws_sdk_s3::Client;
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder};

use super::Acl;
use crate::error::{describe_sdk_error, ToolError};
use crate::keys::uri_path;
use crate::lean::s3::S3Get;
use crate::lean::EndpointCapture;
use crate::retry::Throttle;

/// Reads the ACLs of one bucket's objects.
pub struct AclReader {
    client: Client,
    bucket: String,
    throttle: Arc<Throttle>,
    credentials: Option<SharedCredentialsProvider>,
    /// Set after the first SDK read: `None` if the lean path cannot be used.
    lean: OnceLock<Option<Lean>>,
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

/// What a query value keeps unescaped (RFC 3986 unreserved), as SigV4 wants.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl std::fmt::Debug for AclReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclReader")
            .field("bucket", &self.bucket)
            .field(
                "lean",
                &self.lean.get().map(|l| l.as_ref().map(|l| &l.base)),
            )
            .finish_non_exhaustive()
    }
}

struct Lean {
    get: S3Get,
    /// The URL before `/key` (`https://bucket.s3.eu-west-1.amazonaws.com`,
    /// or the endpoint and the bucket in path style).
    base: String,
    /// The URL after the key (`?acl`), without a version.
    query: String,
}

impl Lean {
    /// From the request the SDK sent for `key`'s ACL: the same URL for other
    /// keys, signed the same way. `None` unless it was plain SigV4 for S3.
    fn from_sent(capture: &EndpointCapture, key: &str, reader: &AclReader) -> Option<Self> {
        let url = capture.get()?;
        let scope = capture.scope().filter(|s| s.service == "s3")?;
        let q = url.find('?')?;
        let (path, query) = url.split_at(q);
        let base = path.strip_suffix(&uri_path(key))?.strip_suffix('/')?;
        // The first read may have named a version: the others name their own.
        let query: Vec<&str> = query[1..]
            .split('&')
            .filter(|p| !p.starts_with("versionId="))
            .collect();
        let query = format!("?{}", query.join("&"));
        Some(Self {
            get: S3Get::new(
                reader.client.config(),
                reader.credentials.clone(),
                scope.region,
            ),
            base: base.to_string(),
            query: query.to_string(),
        })
    }

    fn url(&self, key: &str, version: Option<&str>) -> String {
        let mut url = format!("{}/{}{}", self.base, uri_path(key), self.query);
        if let Some(v) = version {
            url.push_str("&versionId=");
            url.extend(percent_encoding::utf8_percent_encode(v, QUERY_VALUE));
        }
        url
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
            lean: OnceLock::new(),
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
        if let (Some(lean), false) = (self.lean(), key.is_empty()) {
            let url = lean.url(key, version);
            let headers: &[(&str, &str)] = if self.requester_pays {
                &[REQUEST_PAYER]
            } else {
                &[]
            };
            match self
                .throttle
                .call(|| lean.get.get_with(&url, headers))
                .await
            {
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
                    lean.get.refresh_credentials().await;
                }
                Err(e) => return Err(e.describe(&self.what(key))),
            }
            return self.sdk(key, version, None).await;
        }
        let capture = EndpointCapture::default();
        // The SDK refuses an empty key, so past this read `key` is not empty.
        let acl = self.sdk(key, version, Some(&capture)).await?;
        // Directory buckets (S3 Express One Zone) sign with session
        // credentials under their own scope: `from_sent` leaves them to the SDK.
        if self.lean.get().is_none() {
            let lean = Lean::from_sent(&capture, key, self);
            if lean.is_none() {
                tracing::debug!("GetObjectAcl stays with the SDK");
            }
            let _ = self.lean.set(lean);
        }
        Ok(acl)
    }

    fn lean(&self) -> Option<&Lean> {
        if self.fallbacks.load(Ordering::Relaxed) >= MAX_FALLBACKS {
            return None;
        }
        self.lean.get()?.as_ref()
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

    fn what(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// An `<AccessControlPolicy>` read as the SDK reads it; `None` on anything
/// it would not read.
fn parse(body: &[u8]) -> Option<Acl> {
    let text = std::str::from_utf8(body).ok()?;
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
    Some(Acl::from_sdk(owner.as_ref(), &grants.unwrap_or_default()))
}

/// Sets `slot` to `value`; `None` if it was set already (a repeated element
/// the SDK would read differently: it keeps the last one).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

fn parse_grant(grant: &mut ScopedDecoder<'_, '_>) -> Option<s3t::Grant> {
    let (mut grantee, mut permission) = (None, None);
    while let Some(mut tag) = grant.next_tag() {
        if tag.start_el().matches("Grantee") {
            once(&mut grantee, parse_grantee(&mut tag)?)?;
        } else if tag.start_el().matches("Permission") {
            let p = s3t::Permission::from(try_data(&mut tag).ok()?.as_ref());
            once(&mut permission, p)?;
        }
    }
    // A grant we could not read whole: the SDK decides.
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
        g = match name.as_str() {
            "ID" => g.set_id(value),
            "URI" => g.set_uri(value),
            "EmailAddress" => g.set_email_address(value),
            "DisplayName" => g.set_display_name(value),
            _ => g,
        };
    }
    g.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{Grant, Grantee, Group, Permission};

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
