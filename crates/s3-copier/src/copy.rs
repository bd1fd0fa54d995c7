//! Copying one object server-side, with everything that makes it the same
//! object: user metadata, content headers, tags, storage class, and the ACL.
//!
//! - Up to the multipart threshold (at most 5 GiB): one CopyObject with
//!   `MetadataDirective=COPY` and `TaggingDirective=COPY`, so S3 itself
//!   carries metadata, content headers and tags over.
//! - Above it: HeadObject + GetObjectTagging, CreateMultipartUpload with all
//!   of that set explicitly, UploadPartCopy of the parts in parallel (each
//!   pinned to the source ETag with `x-amz-copy-source-if-match`, so an object
//!   overwritten mid-copy fails instead of mixing two versions), then
//!   CompleteMultipartUpload; AbortMultipartUpload on any failure.
//!
//! Encryption follows [`crate::sse`]: the plan from pre-flight on the
//! single-request path of `sync` (listings do not say how an object is
//! encrypted), each object's own encryption wherever it was read with
//! HeadObject.
//!
//! ACLs (`--acl copy`) travel in the same request as `x-amz-grant-*` headers
//! built by the shared [`mc_aws_common::acl`] module from the source
//! object's ACL, the source owner mapped to the destination owner: a copy is
//! never more public than its source.

use std::borrow::Cow;
use std::sync::Arc;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, MetadataDirective, StorageClass, TaggingDirective,
};

use aws_smithy_runtime_api::http::Response;
use futures::{StreamExt, TryStreamExt};
use mc_aws_common::acl::{self, Acl};
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::keys::copy_source;
use mc_aws_common::lean::s3::LeanOp;
use mc_aws_common::lean::{EndpointCapture, LeanError};
use mc_aws_common::listing::ObjectEntry;
use mc_aws_common::retry::Throttle;
use mc_aws_common::twosided::{Folders, Side};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::options::{part_ranges, AclMode, CopyOptions};
use crate::sse::{Sse, SsePlan, SseSetup, SSE_C_REASON};

/// Parts of one multipart copy in flight at once (all requests still go
/// through the shared throttle).
const PART_PARALLELISM: usize = 16;

/// Why one object was not copied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyError {
    /// The source object no longer exists (deleted since it was listed or notified).
    #[error("source object is gone")]
    Gone,
    /// Not deleted: missing from the source's inventory report, but at the
    /// source when asked.
    #[error("kept: at the source now")]
    KeptAtSource,
    /// A failure; `temporary` when retrying later can help (throttling, 5xx, network).
    #[error("{message}")]
    Failed { message: String, temporary: bool },
}

impl CopyError {
    fn from_tool(e: ToolError) -> Self {
        match e {
            ToolError::NotFound { ref code, .. }
                if code == "NoSuchKey" || code == "HTTP 404" || code == "NotFound" =>
            {
                CopyError::Gone
            }
            other => CopyError::Failed {
                temporary: matches!(other, ToolError::Service { .. }),
                message: other.to_string(),
            },
        }
    }

    fn sdk<E>(err: &SdkError<E, Response>, what: &str) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        Self::from_tool(describe_sdk_error(err, what))
    }

    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            CopyError::Failed {
                temporary: true,
                ..
            }
        )
    }
}

/// A finished copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub bytes: u64,
    pub multipart: bool,
}

/// Copies objects from one side to the other.
pub struct Copier {
    pub src: Side,
    pub dst: Side,
    /// The source and destination folders: how keys map.
    pub folders: Folders,
    pub throttle: Arc<Throttle>,
    pub opts: CopyOptions,
    /// The destination bucket owner's canonical ID: the source owner's grants
    /// become grants to it.
    pub dest_owner: Option<String>,
    /// False when the source bucket has ACLs disabled: every source object is
    /// then private to its bucket owner, so there is no ACL to read.
    pub source_acls: bool,
    /// Encryption: pre-flight's findings and the flags.
    pub sse: SseSetup,
    /// CopyObject beside the SDK after the first copy through it.
    pub lean_copy: LeanOp,
}

/// An SSE-C source: HeadObject answers 400 without the key, CopyObject
/// InvalidRequest "stored using a form of Server Side Encryption".
fn is_sse_c<E: ProvideErrorMetadata>(err: &SdkError<E, Response>, head: bool) -> bool {
    if head {
        return err.raw_response().map(|r| r.status().as_u16()) == Some(400);
    }
    err.code() == Some("InvalidRequest")
        && err
            .message()
            .is_some_and(|m| m.contains("Server Side Encryption"))
}

fn sse_c_failure() -> CopyError {
    CopyError::Failed {
        message: SSE_C_REASON.to_string(),
        temporary: false,
    }
}

/// How the object read with HeadObject is encrypted.
fn head_sse(h: &HeadObjectOutput) -> Sse {
    if h.sse_customer_algorithm().is_some() {
        return Sse::Customer;
    }
    Sse::from_algorithm(
        h.server_side_encryption().map(|a| a.as_str()),
        h.ssekms_key_id(),
        h.bucket_key_enabled().unwrap_or(false),
    )
}

/// Tags go in `x-amz-tagging` form-encoded.
const TAG_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// CopyObject of `source` to `bucket`/`key` through the SDK: metadata and
/// tags copied by S3, `class`, `sse` and `acl` set.
fn sdk_copy(
    c: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    source: &str,
    class: Option<StorageClass>,
    acl: &AclPlan,
    sse: &SsePlan,
) -> aws_sdk_s3::operation::copy_object::builders::CopyObjectFluentBuilder {
    let mut b = c
        .copy_object()
        .bucket(bucket)
        .key(key)
        .copy_source(source)
        .metadata_directive(MetadataDirective::Copy)
        .tagging_directive(TaggingDirective::Copy)
        .set_storage_class(class);
    if let Some((alg, key, bucket_key)) = sse.headers() {
        b = b
            .server_side_encryption(alg)
            .set_ssekms_key_id(key.map(str::to_string))
            .set_bucket_key_enabled(bucket_key);
    }
    match acl {
        AclPlan::None => b,
        AclPlan::Canned(a) => b.acl(a.clone()),
        AclPlan::Grants(a) => a.grant_headers().apply_copy_object(b),
    }
}

/// The headers [`sdk_copy`] has the SDK send, for a lean
/// CopyObject (a WRITE grant, meaningless on objects, is left out as the
/// SDK's CopyObject has no header for it).
fn copy_headers<'a>(
    source: &'a str,
    class: Option<&'a StorageClass>,
    acl: &'a AclPlan,
    grants: Option<&'a acl::GrantHeaders>,
    sse: &'a SsePlan,
) -> Vec<(&'static str, Cow<'a, str>)> {
    let mut h = vec![
        ("x-amz-copy-source", Cow::Borrowed(source)),
        ("x-amz-metadata-directive", Cow::Borrowed("COPY")),
        ("x-amz-tagging-directive", Cow::Borrowed("COPY")),
    ];
    if let Some(c) = class {
        h.push(("x-amz-storage-class", Cow::Borrowed(c.as_str())));
    }
    if let Some((alg, key, bucket_key)) = sse.headers() {
        h.push((
            "x-amz-server-side-encryption",
            Cow::Owned(alg.as_str().to_string()),
        ));
        if let Some(k) = key {
            h.push((
                "x-amz-server-side-encryption-aws-kms-key-id",
                Cow::Borrowed(k),
            ));
        }
        if let Some(b) = bucket_key {
            h.push((
                "x-amz-server-side-encryption-bucket-key-enabled",
                Cow::Borrowed(if b { "true" } else { "false" }),
            ));
        }
    }
    if let AclPlan::Canned(a) = acl {
        h.push(("x-amz-acl", Cow::Borrowed(a.as_str())));
    }
    for (name, value) in grants.map(|g| g.header_pairs()).unwrap_or_default() {
        if name != "x-amz-grant-write" {
            h.push((name, Cow::Borrowed(value)));
        }
    }
    h
}

/// What the copy of one object carries besides its bytes.
enum AclPlan {
    None,
    Canned(aws_sdk_s3::types::ObjectCannedAcl),
    Grants(Acl),
}

impl Copier {
    /// The destination key of a source key, `None` for keys outside the source prefix.
    pub fn dest_key(&self, src_key: &str) -> Option<String> {
        self.folders.dest_key(src_key)
    }

    fn src_what(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.src.bucket())
    }

    fn copy_what(&self, src_key: &str, dst_key: &str) -> String {
        format!(
            "copy {} -> {}",
            self.src_what(src_key),
            self.dst_what(dst_key)
        )
    }

    fn dst_what(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.dst.bucket())
    }

    /// Copies `src_key`. `listed` is what a listing said about it (saves a
    /// HeadObject on the single-request path); without it the source is
    /// read with HeadObject first.
    pub async fn copy(
        &self,
        src_key: &str,
        listed: Option<&ObjectEntry>,
    ) -> Result<Copied, CopyError> {
        let dst_key = self.dest_key(src_key).ok_or_else(|| CopyError::Failed {
            message: format!(
                "{src_key:?} is outside the source prefix {:?}",
                self.src.url.prefix
            ),
            temporary: false,
        })?;
        let listed = listed.filter(|_| !self.opts.sse_per_object);
        let (size, class, head) = match listed {
            Some(e) => (e.size, e.storage_class.as_deref().map(str::to_owned), None),
            None => {
                let h = Box::pin(self.head_source(src_key)).await?;
                let size = h
                    .content_length()
                    .and_then(|l| u64::try_from(l).ok())
                    .unwrap_or(0);
                let class = h.storage_class().map(|c| c.as_str().to_string());
                (size, class, Some(h))
            }
        };
        let acl = self.acl_plan(src_key).await?;
        let class = self.target_class(class.as_deref());
        if self.opts.is_multipart(size) {
            let head = match head {
                Some(h) => h,
                None => self.head_source(src_key).await?,
            };
            let sse = self.object_sse(src_key, &head)?;
            Box::pin(self.copy_multipart(src_key, &dst_key, &head, class, &acl, &sse)).await?;
        } else {
            let sse = match &head {
                Some(h) => self.object_sse(src_key, h)?,
                None => self.sse.bulk.clone(),
            };
            self.copy_single(src_key, &dst_key, class, &acl, &sse)
                .await?;
        }
        if let AclPlan::Grants(a) = &acl {
            // Headers cannot say "no grant at all": set such an ACL afterwards.
            if a.grant_headers().is_empty() {
                self.dst
                    .acls
                    .put(&self.throttle, &dst_key, a)
                    .await
                    .map_err(CopyError::from_tool)?;
            }
        }
        Ok(Copied {
            bytes: size,
            multipart: self.opts.is_multipart(size),
        })
    }

    /// Re-applies the source object's ACL to its copy (`s3:ObjectAcl:Put`).
    pub async fn sync_acl(&self, src_key: &str) -> Result<(), CopyError> {
        let dst_key = self.dest_key(src_key).ok_or_else(|| CopyError::Failed {
            message: format!("{src_key:?} is outside the source prefix"),
            temporary: false,
        })?;
        let want = match self.acl_plan(src_key).await? {
            AclPlan::Grants(a) => a,
            // --acl skip or a canned ACL: source ACL changes are not followed.
            _ => return Ok(()),
        };
        self.dst
            .acls
            .put(&self.throttle, &dst_key, &want)
            .await
            .map_err(CopyError::from_tool)
    }

    /// Deletes the copy of `src_key`, but only if the source object is really
    /// gone (a stale ObjectRemoved event must not delete a re-created object).
    pub async fn propagate_delete(&self, src_key: &str) -> Result<bool, CopyError> {
        match self.head_source(src_key).await {
            Ok(_) => return Ok(false),
            Err(CopyError::Gone) => {}
            Err(e) => return Err(e),
        }
        let Some(dst_key) = self.dest_key(src_key) else {
            return Ok(false);
        };
        self.delete_dest(&dst_key).await?;
        Ok(true)
    }

    /// Deletes a destination object.
    pub async fn delete_dest(&self, dst_key: &str) -> Result<(), CopyError> {
        let c = &self.dst.client;
        self.throttle
            .call(|| {
                c.delete_object()
                    .bucket(self.dst.bucket())
                    .key(dst_key)
                    .send()
            })
            .await
            .map_err(|e| CopyError::sdk(&e, &self.dst_what(dst_key)))?;
        Ok(())
    }

    /// What a listing would say of `key` on the source (`dest`: false) or
    /// the destination side: `None` when there is no such object.
    pub async fn head_entry(
        &self,
        key: &str,
        dest: bool,
    ) -> Result<Option<ObjectEntry>, CopyError> {
        let side = if dest { &self.dst } else { &self.src };
        let c = &side.client;
        let what = format!("s3://{}/{key}", side.bucket());
        let out = self
            .throttle
            .call(|| c.head_object().bucket(side.bucket()).key(key).send())
            .await;
        let h = match out {
            Ok(h) => h,
            Err(e) if is_sse_c(&e, true) => return Err(sse_c_failure()),
            Err(e) => match CopyError::sdk(&e, &what) {
                CopyError::Gone => return Ok(None),
                other => return Err(other),
            },
        };
        Ok(Some(ObjectEntry {
            key: key.to_string(),
            size: h
                .content_length()
                .and_then(|l| u64::try_from(l).ok())
                .unwrap_or(0),
            etag: h.e_tag().unwrap_or_default().trim_matches('"').to_string(),
            storage_class: h.storage_class().map(|c| c.as_str().to_string().into()),
            last_modified: h.last_modified().map(|t| t.secs()),
        }))
    }

    /// Whether the source still has the object that destination key
    /// `dst_key` is a copy of (before a delete decided on a report's word).
    pub async fn source_has(&self, dst_key: &str) -> Result<bool, CopyError> {
        let Some(key) = self.folders.source_key(dst_key) else {
            return Ok(false);
        };
        match self.head_source(&key).await {
            Ok(_) => Ok(true),
            Err(CopyError::Gone) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn head_source(&self, key: &str) -> Result<HeadObjectOutput, CopyError> {
        let c = &self.src.client;
        self.throttle
            .call(|| c.head_object().bucket(self.src.bucket()).key(key).send())
            .await
            .map_err(|e| {
                if is_sse_c(&e, true) {
                    sse_c_failure()
                } else {
                    CopyError::sdk(&e, &self.src_what(key))
                }
            })
    }

    /// The encryption of the copy of an object read with HeadObject.
    fn object_sse(&self, key: &str, head: &HeadObjectOutput) -> Result<SsePlan, CopyError> {
        let (plan, warning) =
            self.sse
                .for_object(&head_sse(head))
                .map_err(|message| CopyError::Failed {
                    message,
                    temporary: false,
                })?;
        if let Some(w) = warning {
            tracing::warn!("{}: {w}", self.src_what(key));
        }
        Ok(plan)
    }

    /// For a dry run against a destination that refuses public ACLs: why
    /// copying `src_key` would fail (its ACL is public, or cannot be read).
    pub async fn refused_as_public(&self, src_key: &str) -> Option<String> {
        match self.acl_plan(src_key).await {
            Ok(AclPlan::Grants(a)) if a.is_public() => Some(
                "its ACL is public and the destination blocks public ACLs (BlockPublicAcls)".into(),
            ),
            Ok(_) => None,
            Err(e) => Some(format!("cannot read its ACL: {e}")),
        }
    }

    async fn acl_plan(&self, src_key: &str) -> Result<AclPlan, CopyError> {
        match &self.opts.acl {
            AclMode::Skip => Ok(AclPlan::None),
            AclMode::Canned(c) => Ok(AclPlan::Canned(c.clone())),
            AclMode::Copy if !self.source_acls => Ok(AclPlan::None),
            AclMode::Copy => {
                let src = self
                    .src
                    .acls
                    .get(src_key)
                    .await
                    .map_err(CopyError::from_tool)?;
                Ok(AclPlan::Grants(src.desired_for(self.dest_owner.as_deref())))
            }
        }
    }

    fn target_class(&self, source: Option<&str>) -> Option<StorageClass> {
        match (&self.opts.storage_class, source) {
            (Some(c), _) => Some(StorageClass::from(c.as_str())),
            // STANDARD is what S3 uses when none is given.
            (None, Some(c)) if c != "STANDARD" => Some(StorageClass::from(c)),
            _ => None,
        }
    }

    async fn copy_single(
        &self,
        src_key: &str,
        dst_key: &str,
        class: Option<StorageClass>,
        acl: &AclPlan,
        sse: &SsePlan,
    ) -> Result<(), CopyError> {
        let source = copy_source(self.src.bucket(), src_key, None);
        if let Some((lean, route)) = self.lean_copy.get() {
            let grants = match acl {
                AclPlan::Grants(a) => Some(a.grant_headers()),
                _ => None,
            };
            let headers = copy_headers(&source, class.as_ref(), acl, grants.as_ref(), sse);
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_ref())).collect();
            let url = route.url(dst_key);
            match self.throttle.call(|| lean.put(&url, &headers)).await {
                Ok(_) => return Ok(()),
                // Rotated or expired credentials: the SDK's provider has new
                // ones; so will the next lean copy.
                Err(e) if e.is_credentials_refused() => {
                    tracing::debug!(dst_key, "credentials refused ({e}); refreshing");
                    lean.refresh_credentials().await;
                }
                Err(e) => return Err(self.lean_copy_error(&e, src_key, dst_key)),
            }
        }
        // Boxed: the SDK's futures are large, and the lean path's is not.
        Box::pin(self.copy_single_sdk(src_key, dst_key, &source, class, acl, sse)).await
    }

    fn lean_copy_error(&self, e: &LeanError, src_key: &str, dst_key: &str) -> CopyError {
        let sse_c = matches!(e, LeanError::Service { code, message, .. }
            if code == "InvalidRequest" && message.contains("Server Side Encryption"));
        if sse_c {
            return sse_c_failure();
        }
        CopyError::from_tool(e.describe(&self.copy_what(src_key, dst_key)))
    }

    /// CopyObject through the SDK; until one has shown the URL it sends
    /// copies to, with an [`EndpointCapture`] for [`Copier::lean_copy`].
    async fn copy_single_sdk(
        &self,
        src_key: &str,
        dst_key: &str,
        source: &str,
        class: Option<StorageClass>,
        acl: &AclPlan,
        sse: &SsePlan,
    ) -> Result<(), CopyError> {
        let c = &self.dst.client;
        let capture = (!self.lean_copy.is_learned()).then(EndpointCapture::default);
        self.throttle
            .call(|| {
                let b = sdk_copy(
                    c,
                    self.dst.bucket(),
                    dst_key,
                    source,
                    class.clone(),
                    acl,
                    sse,
                );
                let mut call = b.customize();
                if let Some(capture) = &capture {
                    call = call.interceptor(capture.clone());
                }
                call.send()
            })
            .await
            .map_err(|e| {
                if is_sse_c(&e, false) {
                    sse_c_failure()
                } else {
                    CopyError::sdk(&e, &self.copy_what(src_key, dst_key))
                }
            })?;
        if let Some(capture) = capture {
            let credentials = self.dst.acls.credentials();
            self.lean_copy
                .learn(&capture, dst_key, c.config(), credentials);
        }
        Ok(())
    }

    async fn copy_multipart(
        &self,
        src_key: &str,
        dst_key: &str,
        head: &HeadObjectOutput,
        class: Option<StorageClass>,
        acl: &AclPlan,
        sse: &SsePlan,
    ) -> Result<(), CopyError> {
        let src = &self.src.client;
        let dst = &self.dst.client;
        let size = head
            .content_length()
            .and_then(|l| u64::try_from(l).ok())
            .unwrap_or(0);
        let etag = head.e_tag().map(str::to_string);
        let tags = self
            .throttle
            .call(|| {
                src.get_object_tagging()
                    .bucket(self.src.bucket())
                    .key(src_key)
                    .send()
            })
            .await
            .map_err(|e| CopyError::sdk(&e, &self.src_what(src_key)))?;
        let tagging: Vec<String> = tags
            .tag_set()
            .iter()
            .map(|t| {
                format!(
                    "{}={}",
                    utf8_percent_encode(t.key(), TAG_ENCODE),
                    utf8_percent_encode(t.value(), TAG_ENCODE)
                )
            })
            .collect();
        let expires = head.expires_string().and_then(|s| {
            aws_smithy_types::DateTime::from_str(s, aws_smithy_types::date_time::Format::HttpDate)
                .ok()
        });
        let created = self
            .throttle
            .call(|| {
                let mut b = dst
                    .create_multipart_upload()
                    .bucket(self.dst.bucket())
                    .key(dst_key)
                    .set_metadata(head.metadata().cloned())
                    .set_content_type(head.content_type().map(str::to_string))
                    .set_content_encoding(head.content_encoding().map(str::to_string))
                    .set_content_disposition(head.content_disposition().map(str::to_string))
                    .set_content_language(head.content_language().map(str::to_string))
                    .set_cache_control(head.cache_control().map(str::to_string))
                    .set_website_redirect_location(
                        head.website_redirect_location().map(str::to_string),
                    )
                    .set_expires(expires)
                    .set_storage_class(class.clone());
                if !tagging.is_empty() {
                    b = b.tagging(tagging.join("&"));
                }
                if let Some((alg, key, bucket_key)) = sse.headers() {
                    b = b
                        .server_side_encryption(alg)
                        .set_ssekms_key_id(key.map(str::to_string))
                        .set_bucket_key_enabled(bucket_key);
                }
                match acl {
                    AclPlan::None => {}
                    AclPlan::Canned(a) => b = b.acl(a.clone()),
                    AclPlan::Grants(a) => b = a.grant_headers().apply_create_multipart_upload(b),
                }
                b.send()
            })
            .await
            .map_err(|e| CopyError::sdk(&e, &self.dst_what(dst_key)))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let result = self
            .copy_parts(src_key, dst_key, &upload_id, size, etag.as_deref())
            .await;
        let parts = match result {
            Ok(p) => p,
            Err(e) => {
                self.abort(dst_key, &upload_id).await;
                return Err(e);
            }
        };
        let done = self
            .throttle
            .call(|| {
                dst.complete_multipart_upload()
                    .bucket(self.dst.bucket())
                    .key(dst_key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts.clone()))
                            .build(),
                    )
                    .send()
            })
            .await;
        if let Err(e) = done {
            self.abort(dst_key, &upload_id).await;
            return Err(CopyError::sdk(&e, &self.dst_what(dst_key)));
        }
        if !tags.tag_set().is_empty() {
            // AWS applies `x-amz-tagging` from CreateMultipartUpload; some
            // S3-compatible stores ignore it. Setting the tags again is
            // idempotent and costs one request per tagged multipart object.
            let tagging = aws_sdk_s3::types::Tagging::builder()
                .set_tag_set(Some(tags.tag_set().to_vec()))
                .build()
                .map_err(|e| CopyError::Failed {
                    message: e.to_string(),
                    temporary: false,
                })?;
            self.throttle
                .call(|| {
                    dst.put_object_tagging()
                        .bucket(self.dst.bucket())
                        .key(dst_key)
                        .tagging(tagging.clone())
                        .send()
                })
                .await
                .map_err(|e| CopyError::sdk(&e, &self.dst_what(dst_key)))?;
        }
        Ok(())
    }

    async fn copy_parts(
        &self,
        src_key: &str,
        dst_key: &str,
        upload_id: &str,
        size: u64,
        etag: Option<&str>,
    ) -> Result<Vec<CompletedPart>, CopyError> {
        let dst = &self.dst.client;
        let source = copy_source(self.src.bucket(), src_key, None);
        let part_size = self.opts.part_size_for(size);
        let ranges = part_ranges(size, part_size);
        let source = &source;
        let mut parts: Vec<CompletedPart> = futures::stream::iter(ranges.into_iter().enumerate())
            .map(|(i, (first, last))| async move {
                let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
                let out = self
                    .throttle
                    .call(|| {
                        dst.upload_part_copy()
                            .bucket(self.dst.bucket())
                            .key(dst_key)
                            .upload_id(upload_id)
                            .part_number(number)
                            .copy_source(source)
                            .copy_source_range(format!("bytes={first}-{last}"))
                            .set_copy_source_if_match(etag.map(str::to_string))
                            .send()
                    })
                    .await
                    .map_err(|e| CopyError::sdk(&e, &self.copy_what(src_key, dst_key)))?;
                let tag = out
                    .copy_part_result()
                    .and_then(|r| r.e_tag())
                    .map(str::to_string);
                Ok::<_, CopyError>(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(tag)
                        .build(),
                )
            })
            .buffer_unordered(PART_PARALLELISM)
            .try_collect()
            .await?;
        parts.sort_by_key(|p| p.part_number());
        Ok(parts)
    }

    async fn abort(&self, dst_key: &str, upload_id: &str) {
        let c = &self.dst.client;
        let r = self
            .throttle
            .call(|| {
                c.abort_multipart_upload()
                    .bucket(self.dst.bucket())
                    .key(dst_key)
                    .upload_id(upload_id)
                    .send()
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(
                "could not abort the multipart upload of {}: {} (a lifecycle rule AbortIncompleteMultipartUpload cleans these up)",
                self.dst_what(dst_key),
                describe_sdk_error(&e, "upload")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_sdk_s3::types::ObjectCannedAcl;
    use mc_aws_common::acl::{Grant, Grantee, Group, Permission};
    use mc_aws_common::lean::sigv4::Signer;
    use mc_testkit::signing::{capturing_s3, credentials, signed_at, SignedRequest};

    /// A lean CopyObject is the SDK's request, header for header, with the
    /// same signature, whatever the copy carries.
    #[tokio::test]
    async fn lean_copy_signs_as_the_sdk() {
        let owner = "f00d".repeat(16);
        let grants = Acl::new(
            Some(owner.clone()),
            [
                Grant::new(Grantee::user(&owner), Permission::FullControl),
                Grant::new(Grantee::Group(Group::AllUsers), Permission::Read),
                Grant::new(Grantee::email("a@example.com"), Permission::ReadAcp),
                Grant::new(Grantee::user("beef"), Permission::Write),
            ],
        );
        let kms = SsePlan::Kms {
            key: "arn:aws:kms:eu-west-1:111122223333:key/k-1".into(),
            bucket_key: true,
        };
        let cases = [
            (AclPlan::None, SsePlan::Default, None),
            (AclPlan::Grants(grants), kms, Some(StorageClass::StandardIa)),
            (
                AclPlan::Canned(ObjectCannedAcl::BucketOwnerFullControl),
                SsePlan::S3,
                Some(StorageClass::Glacier),
            ),
        ];
        for (endpoint, path_style) in [
            ("http://127.0.0.1:9", true),
            ("https://s3.eu-west-1.amazonaws.com", false),
        ] {
            let (client, captured) = capturing_s3(endpoint, "eu-west-1", path_style);
            for (acl, sse, class) in &cases {
                for key in ["plain", "a b/c+d%e?f#g&h=i", "ünï/日本", "dir/./..//x"] {
                    let source = copy_source("src bucket", &format!("from/{key}"), None);
                    let sdk = sdk_copy(&client, "dst", key, &source, class.clone(), acl, sse);
                    assert!(sdk.send().await.is_err(), "captured, not sent");
                    let sdk = captured.take().unwrap().signed_part();
                    let grants = match acl {
                        AclPlan::Grants(a) => Some(a.grant_headers()),
                        _ => None,
                    };
                    let headers = copy_headers(&source, class.as_ref(), acl, grants.as_ref(), sse);
                    let headers: Vec<(&str, &str)> =
                        headers.iter().map(|(n, v)| (*n, v.as_ref())).collect();
                    let lean = Signer::default()
                        .signed_request(
                            http::Method::PUT,
                            &sdk.uri,
                            &headers,
                            &credentials(),
                            "eu-west-1",
                            signed_at(),
                        )
                        .unwrap();
                    assert_eq!(SignedRequest::of(&lean).signed_part(), sdk, "{key:?}");
                }
            }
        }
    }
}
