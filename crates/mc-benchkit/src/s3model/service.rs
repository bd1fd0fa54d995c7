//! The `s3s::S3` implementation of the model.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Response, S3Result, S3};

use super::limits::{OpClass, RateLimiter};
use super::store::{
    decode_token, encode_token, list_page, md5_hex, multipart_etag, BucketState, GrantRec,
    GranteeRec, ListEntry, ObjectRec, Resume, Upload,
};
use super::{ModelConfig, ModelOp};

/// Canonical id of the single account the model pretends every caller is.
pub const OWNER_ID: &str = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";
/// Display name of that account.
pub const OWNER_NAME: &str = "mc-model";

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTH_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// Shared state of a model server.
pub(crate) struct State {
    pub buckets: RwLock<HashMap<String, BucketState>>,
    pub uploads: Mutex<HashMap<String, Upload>>,
    pub next_upload: AtomicU64,
    pub config: RwLock<ModelConfig>,
    pub limiter: RateLimiter,
    pub counters: Mutex<HashMap<ModelOp, u64>>,
    pub slowdowns: AtomicU64,
    /// Requests being served now, and the most at once since the last reset.
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
}

impl State {
    pub fn new(config: ModelConfig) -> Self {
        Self {
            buckets: RwLock::new(HashMap::new()),
            uploads: Mutex::new(HashMap::new()),
            next_upload: AtomicU64::new(1),
            config: RwLock::new(config),
            limiter: RateLimiter::default(),
            counters: Mutex::new(HashMap::new()),
            slowdowns: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
        }
    }
}

/// The `S3` trait implementation (cheap to clone).
#[derive(Clone)]
pub(crate) struct ModelS3 {
    pub state: Arc<State>,
}

fn lock_err<T>(_: T) -> S3Error {
    s3_error!(InternalError, "model state lock poisoned")
}

/// The request-rate prefix of an object key: up to and including its last `/`.
fn key_prefix(key: &str) -> &str {
    match key.rfind('/') {
        Some(i) => &key[..=i],
        None => "",
    }
}

impl ModelS3 {
    /// Counts the op, enforces the per-prefix rate limit, then sleeps the modelled latency.
    async fn enter(&self, op: ModelOp, bucket: &str, prefix: &str) -> S3Result<()> {
        let (latency, limit) = {
            let cfg = self.state.config.read().map_err(lock_err)?;
            let limit = cfg.rate_limits.as_ref().map(|rl| match op.class() {
                OpClass::Read => rl.read_per_sec,
                OpClass::Write => rl.write_per_sec,
                OpClass::Bucket => 0,
            });
            (cfg.latency_of(op), limit)
        };
        if let Ok(mut c) = self.state.counters.lock() {
            *c.entry(op).or_insert(0) += 1;
        }
        if let Some(limit) = limit.filter(|l| *l > 0) {
            if !self.state.limiter.admit(op.class(), bucket, prefix, limit) {
                self.state.slowdowns.fetch_add(1, Ordering::Relaxed);
                return Err(s3_error!(SlowDown, "Please reduce your request rate."));
            }
        }
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        Ok(())
    }

    fn with_bucket<R>(
        &self,
        bucket: &str,
        f: impl FnOnce(&BucketState) -> S3Result<R>,
    ) -> S3Result<R> {
        let b = self.state.buckets.read().map_err(lock_err)?;
        let st = b.get(bucket).ok_or_else(|| s3_error!(NoSuchBucket))?;
        f(st)
    }

    fn with_bucket_mut<R>(
        &self,
        bucket: &str,
        f: impl FnOnce(&mut BucketState) -> S3Result<R>,
    ) -> S3Result<R> {
        let mut b = self.state.buckets.write().map_err(lock_err)?;
        let st = b.get_mut(bucket).ok_or_else(|| s3_error!(NoSuchBucket))?;
        f(st)
    }

    /// The ACL a write request asks for (see [`acl_from_request`]), refused like S3 does when
    /// the bucket's Object Ownership is `BucketOwnerEnforced` (ACLs disabled): only no ACL or
    /// `bucket-owner-full-control` is accepted there.
    fn request_acl(
        &self,
        bucket: &str,
        canned: Option<&ObjectCannedACL>,
        grants: &[(Option<&String>, &str)],
    ) -> S3Result<Option<Vec<GrantRec>>> {
        let acl = acl_from_request(canned, grants)?;
        let enforced = self.with_bucket(bucket, |b| {
            Ok(b.ownership.as_deref() == Some(ObjectOwnership::BUCKET_OWNER_ENFORCED))
        })?;
        let owner_full_control =
            canned.is_some_and(|c| c.as_str() == ObjectCannedACL::BUCKET_OWNER_FULL_CONTROL);
        if enforced && acl.is_some() && !owner_full_control {
            return Err(s3_error!(
                AccessControlListNotSupported,
                "The bucket does not allow ACLs"
            ));
        }
        Ok(acl)
    }

    fn get_obj(&self, bucket: &str, key: &str) -> S3Result<ObjectRec> {
        self.with_bucket(bucket, |b| {
            b.objects
                .get(key)
                .cloned()
                .ok_or_else(|| s3_error!(NoSuchKey))
        })
    }
}

async fn read_body(body: Option<StreamingBlob>) -> S3Result<Bytes> {
    let Some(mut body) = body else {
        return Ok(Bytes::new());
    };
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| s3_error!(IncompleteBody, "body read failed: {e}"))?;
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn owner() -> Owner {
    Owner {
        display_name: Some(OWNER_NAME.to_owned()),
        id: Some(OWNER_ID.to_owned()),
    }
}

fn owner_grant(permission: &str) -> GrantRec {
    GrantRec {
        grantee: GranteeRec::CanonicalUser {
            id: OWNER_ID.to_owned(),
            display_name: Some(OWNER_NAME.to_owned()),
        },
        permission: permission.to_owned(),
    }
}

fn group_grant(uri: &str, permission: &str) -> GrantRec {
    GrantRec {
        grantee: GranteeRec::Group {
            uri: uri.to_owned(),
        },
        permission: permission.to_owned(),
    }
}

/// Grants implied by a canned ACL.
pub(crate) fn canned_acl(name: &str) -> S3Result<Vec<GrantRec>> {
    let mut g = vec![owner_grant("FULL_CONTROL")];
    match name {
        "private" | "bucket-owner-read" | "bucket-owner-full-control" | "aws-exec-read" => {}
        "public-read" => g.push(group_grant(ALL_USERS, "READ")),
        "public-read-write" => {
            g.push(group_grant(ALL_USERS, "READ"));
            g.push(group_grant(ALL_USERS, "WRITE"));
        }
        "authenticated-read" => g.push(group_grant(AUTH_USERS, "READ")),
        other => return Err(s3_error!(InvalidArgument, "unknown canned ACL {other}")),
    }
    Ok(g)
}

/// Parses one `x-amz-grant-*` header value: `id="..", uri="..", emailAddress=".."`.
fn parse_grant_header(value: &str, permission: &str) -> S3Result<Vec<GrantRec>> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| s3_error!(InvalidArgument, "bad grant header {part}"))?;
        let v = v.trim().trim_matches('"').to_owned();
        let grantee = match k.trim().to_ascii_lowercase().as_str() {
            "id" => GranteeRec::CanonicalUser {
                display_name: (v == OWNER_ID).then(|| OWNER_NAME.to_owned()),
                id: v,
            },
            "uri" => GranteeRec::Group { uri: v },
            "emailaddress" => GranteeRec::Email { email: v },
            other => return Err(s3_error!(InvalidArgument, "bad grantee type {other}")),
        };
        out.push(GrantRec {
            grantee,
            permission: permission.to_owned(),
        });
    }
    Ok(out)
}

/// ACL from a canned ACL and/or grant headers; `None` when neither was given.
fn acl_from_request(
    canned: Option<&ObjectCannedACL>,
    grants: &[(Option<&String>, &str)],
) -> S3Result<Option<Vec<GrantRec>>> {
    let has_grants = grants.iter().any(|(v, _)| v.is_some());
    if canned.is_some() && has_grants {
        return Err(s3_error!(
            InvalidRequest,
            "Specifying both Canned ACLs and Header Grants is not allowed"
        ));
    }
    if let Some(c) = canned {
        return canned_acl(c.as_str()).map(Some);
    }
    if has_grants {
        let mut out = Vec::new();
        for (v, perm) in grants {
            if let Some(v) = v {
                out.extend(parse_grant_header(v, perm)?);
            }
        }
        return Ok(Some(out));
    }
    Ok(None)
}

fn to_dto_grants(g: &[GrantRec]) -> Vec<Grant> {
    g.iter()
        .map(|g| {
            let grantee = match &g.grantee {
                GranteeRec::CanonicalUser { id, display_name } => Grantee {
                    display_name: display_name.clone(),
                    email_address: None,
                    id: Some(id.clone()),
                    type_: Type::from_static(Type::CANONICAL_USER),
                    uri: None,
                },
                GranteeRec::Group { uri } => Grantee {
                    display_name: None,
                    email_address: None,
                    id: None,
                    type_: Type::from_static(Type::GROUP),
                    uri: Some(uri.clone()),
                },
                GranteeRec::Email { email } => Grantee {
                    display_name: None,
                    email_address: Some(email.clone()),
                    id: None,
                    type_: Type::from_static(Type::AMAZON_CUSTOMER_BY_EMAIL),
                    uri: None,
                },
            };
            Grant {
                grantee: Some(grantee),
                permission: Some(Permission::from(g.permission.clone())),
            }
        })
        .collect()
}

fn from_dto_grants(g: &[Grant]) -> S3Result<Vec<GrantRec>> {
    let mut out = Vec::new();
    for grant in g {
        let grantee = grant
            .grantee
            .as_ref()
            .ok_or_else(|| s3_error!(MalformedACLError, "grant without grantee"))?;
        let permission = grant
            .permission
            .as_ref()
            .ok_or_else(|| s3_error!(MalformedACLError, "grant without permission"))?
            .as_str()
            .to_owned();
        let rec = match grantee.type_.as_str() {
            Type::CANONICAL_USER => GranteeRec::CanonicalUser {
                id: grantee
                    .id
                    .clone()
                    .ok_or_else(|| s3_error!(MalformedACLError, "CanonicalUser without ID"))?,
                display_name: grantee.display_name.clone(),
            },
            Type::GROUP => GranteeRec::Group {
                uri: grantee
                    .uri
                    .clone()
                    .ok_or_else(|| s3_error!(MalformedACLError, "Group without URI"))?,
            },
            _ => GranteeRec::Email {
                email: grantee.email_address.clone().ok_or_else(|| {
                    s3_error!(MalformedACLError, "AmazonCustomerByEmail without email")
                })?,
            },
        };
        out.push(GrantRec {
            grantee: rec,
            permission,
        });
    }
    Ok(out)
}

fn url_encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

fn etag(s: &str) -> ETag {
    ETag::Strong(s.to_owned())
}

fn copy_source(cs: &CopySource) -> S3Result<(String, String)> {
    match cs {
        CopySource::Bucket { bucket, key, .. } => Ok((bucket.to_string(), key.to_string())),
        _ => Err(s3_error!(NotImplemented, "only bucket/key copy sources")),
    }
}

fn object_dto(key: String, o: &ObjectRec, with_owner: bool) -> Object {
    Object {
        e_tag: Some(etag(&o.etag)),
        key: Some(key),
        last_modified: Some(Timestamp::from(o.last_modified)),
        owner: with_owner.then(owner),
        size: Some(o.body.len() as i64),
        storage_class: Some(ObjectStorageClass::from(o.storage_class.clone())),
        ..Default::default()
    }
}

struct Listed {
    contents: Vec<Object>,
    prefixes: Vec<CommonPrefix>,
    next: Option<Resume>,
    last: Option<String>,
}

impl ModelS3 {
    #[allow(clippy::too_many_arguments)]
    fn do_list(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        resume: Option<&Resume>,
        max_keys: Option<i32>,
        with_owner: bool,
        url: bool,
    ) -> S3Result<Listed> {
        let max = max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        self.with_bucket(bucket, |b| {
            let page = list_page(&b.objects, prefix, delimiter, resume, max);
            let mut contents = Vec::new();
            let mut prefixes = Vec::new();
            let mut last = None;
            for e in page.entries {
                match e {
                    ListEntry::Key(k, o) => {
                        last = Some(k.clone());
                        let shown = if url { url_encode(&k) } else { k };
                        contents.push(object_dto(shown, o, with_owner));
                    }
                    ListEntry::CommonPrefix(cp) => {
                        last = Some(cp.clone());
                        prefixes.push(CommonPrefix {
                            prefix: Some(if url { url_encode(&cp) } else { cp }),
                        });
                    }
                }
            }
            Ok(Listed {
                contents,
                prefixes,
                next: page.next,
                last,
            })
        })
    }
}

fn enc(url: bool, s: Option<String>) -> Option<String> {
    s.map(|s| if url { url_encode(&s) } else { s })
}

fn is_url(e: &Option<EncodingType>) -> S3Result<bool> {
    match e {
        None => Ok(false),
        Some(e) if e.as_str() == EncodingType::URL => Ok(true),
        Some(e) => Err(s3_error!(
            InvalidArgument,
            "Invalid Encoding Method specified in Request: {}",
            e.as_str()
        )),
    }
}

#[async_trait::async_trait]
impl S3 for ModelS3 {
    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        let b = self.state.buckets.read().map_err(lock_err)?;
        let mut names: Vec<_> = b.iter().collect();
        names.sort_by(|a, b| a.0.cmp(b.0));
        let buckets = names
            .into_iter()
            .map(|(n, st)| Bucket {
                name: Some(n.clone()),
                creation_date: st.created.map(Timestamp::from),
                bucket_region: None,
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(owner()),
            ..Default::default()
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        let name = req.input.bucket.clone();
        let mut b = self.state.buckets.write().map_err(lock_err)?;
        if b.contains_key(&name) {
            return Err(s3_error!(BucketAlreadyOwnedByYou));
        }
        b.insert(
            name.clone(),
            BucketState {
                created: Some(SystemTime::now()),
                objects: Default::default(),
                ownership: req
                    .input
                    .object_ownership
                    .as_ref()
                    .map(|o| o.as_str().to_owned()),
            },
        );
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{name}")),
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        self.with_bucket(&req.input.bucket, |_| Ok(()))?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some("us-east-1".to_owned()),
            ..Default::default()
        }))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        self.with_bucket(&req.input.bucket, |_| Ok(()))?;
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        let mut b = self.state.buckets.write().map_err(lock_err)?;
        match b.get(&req.input.bucket) {
            None => return Err(s3_error!(NoSuchBucket)),
            Some(st) if !st.objects.is_empty() => return Err(s3_error!(BucketNotEmpty)),
            Some(_) => {}
        }
        b.remove(&req.input.bucket);
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        let o = self.with_bucket(&req.input.bucket, |b| Ok(b.ownership.clone()))?;
        let o = o.ok_or_else(|| {
            s3_error!(
                OwnershipControlsNotFoundError,
                "The bucket ownership controls were not found"
            )
        })?;
        Ok(S3Response::new(GetBucketOwnershipControlsOutput {
            ownership_controls: Some(OwnershipControls {
                rules: vec![OwnershipControlsRule {
                    object_ownership: ObjectOwnership::from(o),
                }],
            }),
        }))
    }

    async fn put_bucket_ownership_controls(
        &self,
        req: S3Request<PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        let i = req.input;
        let o = i
            .ownership_controls
            .rules
            .first()
            .map(|r| r.object_ownership.as_str().to_owned())
            .ok_or_else(|| s3_error!(MalformedXML, "no ownership rule"))?;
        self.with_bucket_mut(&i.bucket, |b| {
            b.ownership = Some(o);
            Ok(())
        })?;
        Ok(S3Response::new(PutBucketOwnershipControlsOutput::default()))
    }

    async fn delete_bucket_ownership_controls(
        &self,
        req: S3Request<DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        self.with_bucket_mut(&req.input.bucket, |b| {
            b.ownership = None;
            Ok(())
        })?;
        Ok(S3Response::new(
            DeleteBucketOwnershipControlsOutput::default(),
        ))
    }

    /// The model has no Block Public Access configuration on any bucket.
    async fn get_public_access_block(
        &self,
        req: S3Request<GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        self.with_bucket(&req.input.bucket, |_| Ok(()))?;
        let mut e = S3Error::with_message(
            s3s::S3ErrorCode::Custom("NoSuchPublicAccessBlockConfiguration".into()),
            "The public access block configuration was not found",
        );
        e.set_status_code(http::StatusCode::NOT_FOUND);
        Err(e)
    }

    /// Every bucket belongs to the one account, with FULL_CONTROL.
    async fn get_bucket_acl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        self.with_bucket(&req.input.bucket, |_| Ok(()))?;
        Ok(S3Response::new(GetBucketAclOutput {
            grants: Some(to_dto_grants(&[owner_grant("FULL_CONTROL")])),
            owner: Some(owner()),
        }))
    }

    /// Versioning is never enabled on the model.
    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        self.enter(ModelOp::Bucket, "", "").await?;
        self.with_bucket(&req.input.bucket, |_| Ok(()))?;
        Ok(S3Response::new(GetBucketVersioningOutput::default()))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let i = req.input;
        let prefix = i.prefix.clone().unwrap_or_default();
        self.enter(ModelOp::List, &i.bucket, &prefix).await?;
        let url = is_url(&i.encoding_type)?;
        let resume = match (&i.continuation_token, &i.start_after) {
            (Some(t), _) => Some(decode_token(t).ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "The continuation token provided is incorrect"
                )
            })?),
            (None, Some(sa)) if !sa.is_empty() => Some(Resume::After(sa.clone())),
            _ => None,
        };
        let l = self.do_list(
            &i.bucket,
            &prefix,
            i.delimiter.as_deref(),
            resume.as_ref(),
            i.max_keys,
            i.fetch_owner == Some(true),
            url,
        )?;
        let key_count = (l.contents.len() + l.prefixes.len()) as i32;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(i.bucket),
            prefix: Some(enc(url, Some(prefix)).unwrap_or_default()),
            max_keys: Some(i.max_keys.unwrap_or(1000)),
            key_count: Some(key_count),
            continuation_token: i.continuation_token,
            is_truncated: Some(l.next.is_some()),
            next_continuation_token: l.next.as_ref().map(encode_token),
            contents: (!l.contents.is_empty()).then_some(l.contents),
            common_prefixes: (!l.prefixes.is_empty()).then_some(l.prefixes),
            delimiter: enc(url, i.delimiter),
            encoding_type: i.encoding_type,
            start_after: enc(url, i.start_after),
            request_charged: None,
        }))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let i = req.input;
        let prefix = i.prefix.clone().unwrap_or_default();
        self.enter(ModelOp::List, &i.bucket, &prefix).await?;
        let url = is_url(&i.encoding_type)?;
        let resume = i
            .marker
            .as_ref()
            .filter(|m| !m.is_empty())
            .map(|m| Resume::After(m.clone()));
        let l = self.do_list(
            &i.bucket,
            &prefix,
            i.delimiter.as_deref(),
            resume.as_ref(),
            i.max_keys,
            true,
            url,
        )?;
        let truncated = l.next.is_some();
        let has_delim = i.delimiter.as_deref().is_some_and(|d| !d.is_empty());
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(i.bucket),
            prefix: Some(enc(url, Some(prefix)).unwrap_or_default()),
            marker: Some(enc(url, i.marker).unwrap_or_default()),
            max_keys: Some(i.max_keys.unwrap_or(1000)),
            is_truncated: Some(truncated),
            next_marker: if truncated && has_delim {
                enc(url, l.last)
            } else {
                None
            },
            contents: (!l.contents.is_empty()).then_some(l.contents),
            common_prefixes: (!l.prefixes.is_empty()).then_some(l.prefixes),
            delimiter: enc(url, i.delimiter),
            encoding_type: i.encoding_type,
            request_charged: None,
        }))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let i = req.input;
        self.enter(ModelOp::Put, &i.bucket, key_prefix(&i.key))
            .await?;
        let acl = self
            .request_acl(
                &i.bucket,
                i.acl.as_ref(),
                &[
                    (i.grant_full_control.as_ref(), "FULL_CONTROL"),
                    (i.grant_read.as_ref(), "READ"),
                    (i.grant_read_acp.as_ref(), "READ_ACP"),
                    (i.grant_write_acp.as_ref(), "WRITE_ACP"),
                ],
            )?
            .map_or_else(|| canned_acl("private"), Ok)?;
        let body = read_body(i.body).await?;
        let e = md5_hex(&body);
        let size = body.len() as i64;
        let rec = ObjectRec {
            body,
            etag: e.clone(),
            last_modified: SystemTime::now(),
            content_type: i.content_type,
            metadata: i.metadata.unwrap_or_default(),
            storage_class: i
                .storage_class
                .map_or_else(|| "STANDARD".to_owned(), |s| s.as_str().to_owned()),
            acl,
            tags: parse_tagging_header(i.tagging.as_deref()),
        };
        self.with_bucket_mut(&i.bucket, |b| {
            b.objects.insert(i.key, rec);
            Ok(())
        })?;
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(etag(&e)),
            size: Some(size),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let i = req.input;
        self.enter(ModelOp::Head, &i.bucket, key_prefix(&i.key))
            .await?;
        let o = self.get_obj(&i.bucket, &i.key)?;
        Ok(S3Response::new(HeadObjectOutput {
            accept_ranges: Some("bytes".to_owned()),
            content_length: Some(o.body.len() as i64),
            content_type: o.content_type.clone(),
            e_tag: Some(etag(&o.etag)),
            last_modified: Some(Timestamp::from(o.last_modified)),
            metadata: (!o.metadata.is_empty()).then(|| o.metadata.clone()),
            storage_class: (o.storage_class != "STANDARD")
                .then(|| StorageClass::from(o.storage_class.clone())),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let i = req.input;
        self.enter(ModelOp::Get, &i.bucket, key_prefix(&i.key))
            .await?;
        let o = self.get_obj(&i.bucket, &i.key)?;
        let len = o.body.len() as u64;
        let (body, content_range) = match &i.range {
            None => (o.body.clone(), None),
            Some(r) => {
                let rg = r.check(len).map_err(|_| {
                    s3_error!(InvalidRange, "The requested range is not satisfiable")
                })?;
                let slice = o.body.slice(rg.start as usize..rg.end as usize);
                let cr = format!("bytes {}-{}/{}", rg.start, rg.end.saturating_sub(1), len);
                (slice, Some(cr))
            }
        };
        let n = body.len() as i64;
        let blob = StreamingBlob::from(s3s::Body::from(body));
        Ok(S3Response::new(GetObjectOutput {
            accept_ranges: Some("bytes".to_owned()),
            body: Some(blob),
            content_length: Some(n),
            content_range,
            content_type: o.content_type.clone(),
            e_tag: Some(etag(&o.etag)),
            last_modified: Some(Timestamp::from(o.last_modified)),
            metadata: (!o.metadata.is_empty()).then(|| o.metadata.clone()),
            storage_class: (o.storage_class != "STANDARD")
                .then(|| StorageClass::from(o.storage_class.clone())),
            tag_count: (!o.tags.is_empty()).then_some(o.tags.len() as i32),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let i = req.input;
        self.enter(ModelOp::Copy, &i.bucket, key_prefix(&i.key))
            .await?;
        let (sb, sk) = copy_source(&i.copy_source)?;
        let src = self.get_obj(&sb, &sk)?;
        let replace = i
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        if sb == i.bucket && sk == i.key && !replace && i.storage_class.is_none() && i.acl.is_none()
        {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let acl = self
            .request_acl(
                &i.bucket,
                i.acl.as_ref(),
                &[
                    (i.grant_full_control.as_ref(), "FULL_CONTROL"),
                    (i.grant_read.as_ref(), "READ"),
                    (i.grant_read_acp.as_ref(), "READ_ACP"),
                    (i.grant_write_acp.as_ref(), "WRITE_ACP"),
                ],
            )?
            .map_or_else(|| canned_acl("private"), Ok)?;
        let (content_type, metadata) = if replace {
            (i.content_type, i.metadata.unwrap_or_default())
        } else {
            (src.content_type.clone(), src.metadata.clone())
        };
        let now = SystemTime::now();
        let rec = ObjectRec {
            body: src.body.clone(),
            etag: src.etag.clone(),
            last_modified: now,
            content_type,
            metadata,
            storage_class: i
                .storage_class
                .map_or_else(|| "STANDARD".to_owned(), |s| s.as_str().to_owned()),
            acl,
            tags: src.tags.clone(),
        };
        self.with_bucket_mut(&i.bucket, |b| {
            b.objects.insert(i.key, rec);
            Ok(())
        })?;
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(etag(&src.etag)),
                last_modified: Some(Timestamp::from(now)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let i = req.input;
        self.enter(ModelOp::Multipart, &i.bucket, key_prefix(&i.key))
            .await?;
        self.with_bucket(&i.bucket, |_| Ok(()))?;
        let acl = self
            .request_acl(
                &i.bucket,
                i.acl.as_ref(),
                &[
                    (i.grant_full_control.as_ref(), "FULL_CONTROL"),
                    (i.grant_read.as_ref(), "READ"),
                    (i.grant_read_acp.as_ref(), "READ_ACP"),
                    (i.grant_write_acp.as_ref(), "WRITE_ACP"),
                ],
            )?
            .map_or_else(|| canned_acl("private"), Ok)?;
        let id = format!(
            "mc-upload-{:016x}",
            self.state.next_upload.fetch_add(1, Ordering::Relaxed)
        );
        let template = ObjectRec {
            body: Bytes::new(),
            etag: String::new(),
            last_modified: SystemTime::now(),
            content_type: i.content_type,
            metadata: i.metadata.unwrap_or_default(),
            storage_class: i
                .storage_class
                .map_or_else(|| "STANDARD".to_owned(), |s| s.as_str().to_owned()),
            acl,
            tags: parse_tagging_header(i.tagging.as_deref()),
        };
        self.state.uploads.lock().map_err(lock_err)?.insert(
            id.clone(),
            Upload {
                bucket: i.bucket.clone(),
                key: i.key.clone(),
                parts: Default::default(),
                template,
            },
        );
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(id),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let i = req.input;
        self.enter(ModelOp::Multipart, &i.bucket, key_prefix(&i.key))
            .await?;
        let body = read_body(i.body).await?;
        let e = md5_hex(&body);
        let mut u = self.state.uploads.lock().map_err(lock_err)?;
        let up = u
            .get_mut(&i.upload_id)
            .filter(|up| up.bucket == i.bucket && up.key == i.key)
            .ok_or_else(|| s3_error!(NoSuchUpload))?;
        up.parts.insert(i.part_number, (body, e.clone()));
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(etag(&e)),
            ..Default::default()
        }))
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let i = req.input;
        self.enter(ModelOp::Copy, &i.bucket, key_prefix(&i.key))
            .await?;
        let (sb, sk) = copy_source(&i.copy_source)?;
        let src = self.get_obj(&sb, &sk)?;
        let body = match i.copy_source_range.as_deref() {
            None => src.body.clone(),
            Some(r) => {
                let (a, b) = r
                    .trim()
                    .strip_prefix("bytes=")
                    .and_then(|x| x.split_once('-'))
                    .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
                    .ok_or_else(|| s3_error!(InvalidArgument, "bad x-amz-copy-source-range"))?;
                if a > b || b >= src.body.len() {
                    return Err(s3_error!(
                        InvalidRange,
                        "The requested range is not satisfiable"
                    ));
                }
                src.body.slice(a..=b)
            }
        };
        let e = md5_hex(&body);
        let now = SystemTime::now();
        let mut u = self.state.uploads.lock().map_err(lock_err)?;
        let up = u
            .get_mut(&i.upload_id)
            .filter(|up| up.bucket == i.bucket && up.key == i.key)
            .ok_or_else(|| s3_error!(NoSuchUpload))?;
        up.parts.insert(i.part_number, (body, e.clone()));
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(etag(&e)),
                last_modified: Some(Timestamp::from(now)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let i = req.input;
        self.enter(ModelOp::Multipart, &i.bucket, key_prefix(&i.key))
            .await?;
        let up = {
            let mut u = self.state.uploads.lock().map_err(lock_err)?;
            match u.get(&i.upload_id) {
                Some(up) if up.bucket == i.bucket && up.key == i.key => {}
                _ => return Err(s3_error!(NoSuchUpload)),
            }
            u.remove(&i.upload_id)
                .ok_or_else(|| s3_error!(NoSuchUpload))?
        };
        let listed: Vec<i32> = match i.multipart_upload.and_then(|m| m.parts) {
            Some(parts) => parts.iter().filter_map(|p| p.part_number).collect(),
            None => up.parts.keys().copied().collect(),
        };
        if listed.is_empty() {
            return Err(s3_error!(MalformedXML, "no parts"));
        }
        if listed.windows(2).any(|w| w[0] >= w[1]) {
            return Err(s3_error!(InvalidPartOrder));
        }
        let mut body = BytesMut::new();
        let mut etags = Vec::new();
        for n in &listed {
            let (b, e) = up.parts.get(n).ok_or_else(|| s3_error!(InvalidPart))?;
            body.extend_from_slice(b);
            etags.push(e.clone());
        }
        let e = multipart_etag(&etags);
        let mut rec = up.template;
        rec.body = body.freeze();
        rec.etag = e.clone();
        rec.last_modified = SystemTime::now();
        self.with_bucket_mut(&i.bucket, |b| {
            b.objects.insert(i.key.clone(), rec);
            Ok(())
        })?;
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(i.bucket.clone()),
            e_tag: Some(etag(&e)),
            location: Some(format!("/{}/{}", i.bucket, i.key)),
            key: Some(i.key),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let i = req.input;
        self.enter(ModelOp::Multipart, &i.bucket, key_prefix(&i.key))
            .await?;
        let removed = self
            .state
            .uploads
            .lock()
            .map_err(lock_err)?
            .remove(&i.upload_id);
        if removed.is_none() {
            return Err(s3_error!(NoSuchUpload));
        }
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let i = req.input;
        self.enter(ModelOp::Delete, &i.bucket, key_prefix(&i.key))
            .await?;
        self.with_bucket_mut(&i.bucket, |b| {
            b.objects.remove(&i.key);
            Ok(())
        })?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let i = req.input;
        // One request, counted against the bucket root prefix.
        self.enter(ModelOp::Delete, &i.bucket, "").await?;
        let quiet = i.delete.quiet == Some(true);
        let deleted = self.with_bucket_mut(&i.bucket, |b| {
            let mut out = Vec::new();
            for o in i.delete.objects {
                b.objects.remove(&o.key);
                if !quiet {
                    out.push(DeletedObject {
                        key: Some(o.key),
                        ..Default::default()
                    });
                }
            }
            Ok(out)
        })?;
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            ..Default::default()
        }))
    }

    async fn get_object_acl(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        let i = req.input;
        self.enter(ModelOp::GetAcl, &i.bucket, key_prefix(&i.key))
            .await?;
        let o = self.get_obj(&i.bucket, &i.key)?;
        Ok(S3Response::new(GetObjectAclOutput {
            grants: Some(to_dto_grants(&o.acl)),
            owner: Some(owner()),
            ..Default::default()
        }))
    }

    async fn put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        let i = req.input;
        self.enter(ModelOp::PutAcl, &i.bucket, key_prefix(&i.key))
            .await?;
        let from_headers = self.request_acl(
            &i.bucket,
            i.acl.as_ref(),
            &[
                (i.grant_full_control.as_ref(), "FULL_CONTROL"),
                (i.grant_read.as_ref(), "READ"),
                (i.grant_read_acp.as_ref(), "READ_ACP"),
                (i.grant_write.as_ref(), "WRITE"),
                (i.grant_write_acp.as_ref(), "WRITE_ACP"),
            ],
        )?;
        let acl = match (from_headers, i.access_control_policy) {
            (Some(_), Some(_)) => {
                return Err(s3_error!(
                    UnexpectedContent,
                    "This request does not support content"
                ))
            }
            (Some(a), None) => a,
            (None, Some(p)) => from_dto_grants(&p.grants.unwrap_or_default())?,
            (None, None) => return Err(s3_error!(MissingSecurityHeader)),
        };
        self.with_bucket_mut(&i.bucket, |b| {
            let o = b
                .objects
                .get_mut(&i.key)
                .ok_or_else(|| s3_error!(NoSuchKey))?;
            o.acl = acl;
            Ok(())
        })?;
        Ok(S3Response::new(PutObjectAclOutput::default()))
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let i = req.input;
        self.enter(ModelOp::Get, &i.bucket, key_prefix(&i.key))
            .await?;
        let o = self.get_obj(&i.bucket, &i.key)?;
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set: o
                .tags
                .iter()
                .map(|(k, v)| Tag {
                    key: Some(k.clone()),
                    value: Some(v.clone()),
                })
                .collect(),
            version_id: None,
        }))
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let i = req.input;
        self.enter(ModelOp::Put, &i.bucket, key_prefix(&i.key))
            .await?;
        let tags: Vec<(String, String)> = i
            .tagging
            .tag_set
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
            .collect();
        self.with_bucket_mut(&i.bucket, |b| {
            let o = b
                .objects
                .get_mut(&i.key)
                .ok_or_else(|| s3_error!(NoSuchKey))?;
            o.tags = tags;
            Ok(())
        })?;
        Ok(S3Response::new(PutObjectTaggingOutput::default()))
    }
}

fn parse_tagging_header(h: Option<&str>) -> Vec<(String, String)> {
    let Some(h) = h else { return Vec::new() };
    h.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_header_parsing() {
        let g = parse_grant_header(&format!("id=\"{OWNER_ID}\", uri=\"{ALL_USERS}\""), "READ")
            .expect("parse");
        assert_eq!(g.len(), 2);
        assert_eq!(
            g[1].grantee,
            GranteeRec::Group {
                uri: ALL_USERS.into()
            }
        );
    }

    #[test]
    fn prefixes() {
        assert_eq!(key_prefix("a/b/c"), "a/b/");
        assert_eq!(key_prefix("c"), "");
    }
}
