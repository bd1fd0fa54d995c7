//! Object ACLs: one normalised model, semantic comparison with owner mapping,
//! public-grant detection, and `x-amz-grant-*` headers.
//!
//! Shared by `acl-reconciler` (find and fix drift) and `s3-copier` (copy an
//! object with its ACL, follow `s3:ObjectAcl:Put` events), so both agree on
//! what "the same ACL" means:
//!
//! - an ACL is its owner plus a *set* of grants: order and duplicates do not
//!   matter;
//! - grantees are normalised: canonical user IDs trimmed, e-mail addresses
//!   lower-cased, group URIs reduced to their group (`http` or `https`);
//! - a grantee with `FULL_CONTROL` needs no other grant, and one with READ,
//!   WRITE, READ_ACP and WRITE_ACP has `FULL_CONTROL`: both forms compare equal;
//! - across accounts the owners' canonical IDs differ, so the source owner is
//!   mapped to the destination owner before comparing ([`Acl::matches`]).
//!
//! Grants are written with `x-amz-grant-*` headers ([`GrantHeaders`]), which
//! PutObjectAcl, PutObject, CopyObject and CreateMultipartUpload all take, so
//! the same grants can be applied when copying in one request. (AWS also
//! takes an XML body on PutObjectAcl; moto ignores it and honours only the
//! headers, so the headers are the portable choice.)

mod policy_xml;
mod reader;

pub use reader::AclReader;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{self as s3t, ObjectOwnership as SdkOwnership};
use aws_sdk_s3::Client;
use serde::{Deserialize, Serialize};

use crate::error::{describe_sdk_error, ToolError};
use crate::retry::Throttle;

const ALL_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const LOG_DELIVERY_URI: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// What a grant allows. Ordered as S3 documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Permission {
    FullControl,
    Read,
    Write,
    ReadAcp,
    WriteAcp,
}

impl Permission {
    /// The four permissions `FULL_CONTROL` stands for.
    const PARTS: [Permission; 4] = [
        Permission::Read,
        Permission::Write,
        Permission::ReadAcp,
        Permission::WriteAcp,
    ];

    /// The name S3 uses (`FULL_CONTROL`, `READ`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::FullControl => "FULL_CONTROL",
            Permission::Read => "READ",
            Permission::Write => "WRITE",
            Permission::ReadAcp => "READ_ACP",
            Permission::WriteAcp => "WRITE_ACP",
        }
    }

    fn from_sdk(p: &s3t::Permission) -> Option<Self> {
        Some(match p {
            s3t::Permission::FullControl => Permission::FullControl,
            s3t::Permission::Read => Permission::Read,
            s3t::Permission::Write => Permission::Write,
            s3t::Permission::ReadAcp => Permission::ReadAcp,
            s3t::Permission::WriteAcp => Permission::WriteAcp,
            _ => return None,
        })
    }

    fn to_sdk(self) -> s3t::Permission {
        match self {
            Permission::FullControl => s3t::Permission::FullControl,
            Permission::Read => s3t::Permission::Read,
            Permission::Write => s3t::Permission::Write,
            Permission::ReadAcp => s3t::Permission::ReadAcp,
            Permission::WriteAcp => s3t::Permission::WriteAcp,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A predefined S3 group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Group {
    /// Anyone on the internet: a public grant.
    AllUsers,
    /// Any AWS account: effectively public too.
    AuthenticatedUsers,
    /// The S3 server-access-log writer.
    LogDelivery,
    /// A group URI we do not know, kept verbatim.
    Other(String),
}

impl Group {
    /// The group from its URI (`http` or `https`, trailing slash tolerated).
    pub fn from_uri(uri: &str) -> Self {
        let trimmed = uri.trim().trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("http://")
            .or_else(|| trimmed.strip_prefix("https://"))
            .unwrap_or(trimmed);
        match rest.to_ascii_lowercase().as_str() {
            "acs.amazonaws.com/groups/global/allusers" => Group::AllUsers,
            "acs.amazonaws.com/groups/global/authenticatedusers" => Group::AuthenticatedUsers,
            "acs.amazonaws.com/groups/s3/logdelivery" => Group::LogDelivery,
            _ => Group::Other(uri.trim().to_string()),
        }
    }

    /// The canonical URI S3 uses for the group.
    pub fn uri(&self) -> &str {
        match self {
            Group::AllUsers => ALL_USERS_URI,
            Group::AuthenticatedUsers => AUTHENTICATED_USERS_URI,
            Group::LogDelivery => LOG_DELIVERY_URI,
            Group::Other(u) => u,
        }
    }
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grantee {
    /// An AWS account by canonical user ID.
    #[serde(rename = "id")]
    CanonicalUser(String),
    /// A predefined group.
    #[serde(rename = "group")]
    Group(Group),
    /// An AWS account by e-mail address (lower-cased; S3 usually answers with
    /// the canonical ID instead once it resolved the address).
    #[serde(rename = "email")]
    Email(String),
}

impl Grantee {
    pub fn user(id: impl AsRef<str>) -> Self {
        Grantee::CanonicalUser(id.as_ref().trim().to_string())
    }

    pub fn email(address: impl AsRef<str>) -> Self {
        Grantee::Email(address.as_ref().trim().to_ascii_lowercase())
    }

    /// AllUsers or AuthenticatedUsers: granting to them widens access beyond the account.
    pub fn is_public(&self) -> bool {
        matches!(
            self,
            Grantee::Group(Group::AllUsers | Group::AuthenticatedUsers)
        )
    }

    /// From an SDK grantee; `None` when it names nobody we can represent.
    pub fn from_sdk(g: &s3t::Grantee) -> Option<Self> {
        match g.r#type() {
            s3t::Type::CanonicalUser => nonempty(g.id()).map(Grantee::user),
            s3t::Type::Group => nonempty(g.uri()).map(|u| Grantee::Group(Group::from_uri(u))),
            s3t::Type::AmazonCustomerByEmail => nonempty(g.email_address()).map(Grantee::email),
            // A future grantee type: fall back on whichever field is set.
            _ => nonempty(g.id())
                .map(Grantee::user)
                .or_else(|| nonempty(g.uri()).map(|u| Grantee::Group(Group::from_uri(u))))
                .or_else(|| nonempty(g.email_address()).map(Grantee::email)),
        }
    }

    fn to_sdk(&self) -> Option<s3t::Grantee> {
        let b = s3t::Grantee::builder();
        let b = match self {
            Grantee::CanonicalUser(id) => b.r#type(s3t::Type::CanonicalUser).id(id),
            Grantee::Group(g) => b.r#type(s3t::Type::Group).uri(g.uri()),
            Grantee::Email(e) => b.r#type(s3t::Type::AmazonCustomerByEmail).email_address(e),
        };
        b.build().ok()
    }

    /// One entry of an `x-amz-grant-*` header: `id="..."`, `uri="..."`, `emailAddress="..."`.
    pub fn header_entry(&self) -> String {
        match self {
            Grantee::CanonicalUser(id) => format!("id=\"{id}\""),
            Grantee::Group(g) => format!("uri=\"{}\"", g.uri()),
            Grantee::Email(e) => format!("emailAddress=\"{e}\""),
        }
    }
}

impl fmt::Display for Grantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grantee::CanonicalUser(id) => write!(f, "id:{id}"),
            Grantee::Group(Group::Other(u)) => write!(f, "uri:{u}"),
            Grantee::Group(g) => write!(f, "group:{g:?}"),
            Grantee::Email(e) => write!(f, "email:{e}"),
        }
    }
}

/// One grant: a grantee and a permission.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub grantee: Grantee,
    pub permission: Permission,
}

impl Grant {
    pub fn new(grantee: Grantee, permission: Permission) -> Self {
        Self {
            grantee,
            permission,
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.grantee, self.permission)
    }
}

/// A normalised object ACL: the owner's canonical ID (when S3 reports it) and
/// a set of grants. Build it with [`Acl::new`] / [`Acl::from_sdk`] so the
/// grants are normalised; the JSON form is
/// `{"owner":"…","grants":[{"grantee":{"group":"AllUsers"},"permission":"READ"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Acl {
    pub owner: Option<String>,
    grants: BTreeSet<Grant>,
}

impl Acl {
    /// An ACL from any list of grants (order and duplicates do not matter).
    pub fn new(owner: Option<String>, grants: impl IntoIterator<Item = Grant>) -> Self {
        let owner = owner
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty());
        Self {
            owner,
            grants: normalise(grants),
        }
    }

    /// What `private` means: the owner has FULL_CONTROL, nobody else anything.
    pub fn private(owner: impl Into<String>) -> Self {
        let owner = owner.into();
        let grant = Grant::new(Grantee::user(&owner), Permission::FullControl);
        Self::new(Some(owner), [grant])
    }

    /// From GetObjectAcl's owner and grants. Grants naming no grantee are
    /// dropped (S3 never returns them).
    pub fn from_sdk(owner: Option<&s3t::Owner>, grants: &[s3t::Grant]) -> Self {
        let grants = grants.iter().filter_map(|g| {
            let grantee = Grantee::from_sdk(g.grantee()?)?;
            let permission = Permission::from_sdk(g.permission()?)?;
            Some(Grant::new(grantee, permission))
        });
        Self::new(owner.and_then(|o| o.id()).map(str::to_string), grants)
    }

    /// The grants, sorted.
    pub fn grants(&self) -> impl Iterator<Item = &Grant> + '_ {
        self.grants.iter()
    }

    pub fn grant_count(&self) -> usize {
        self.grants.len()
    }

    /// Grants to AllUsers or AuthenticatedUsers.
    pub fn public_grants(&self) -> impl Iterator<Item = &Grant> + '_ {
        self.grants.iter().filter(|g| g.grantee.is_public())
    }

    /// Whether any grant is to AllUsers or AuthenticatedUsers.
    pub fn is_public(&self) -> bool {
        self.public_grants().next().is_some()
    }

    /// The same ACL with `owner` in place of this ACL's owner: grants to the
    /// old owner become grants to the new one (how a source ACL looks once
    /// applied in the destination account). Without a known owner on this
    /// side only the owner field changes.
    pub fn with_owner(&self, owner: &str) -> Acl {
        let old = self.owner.as_deref();
        let new_user = Grantee::user(owner);
        let grants = self.grants.iter().map(|g| match &g.grantee {
            Grantee::CanonicalUser(id) if Some(id.as_str()) == old => {
                Grant::new(new_user.clone(), g.permission)
            }
            _ => g.clone(),
        });
        Acl::new(Some(owner.to_string()), grants)
    }

    /// What the destination object's ACL should be to match this (source)
    /// ACL: the source owner mapped to the destination owner, when known.
    pub fn desired_for(&self, dest_owner: Option<&str>) -> Acl {
        match dest_owner {
            Some(o) => self.with_owner(o),
            None => self.clone(),
        }
    }

    /// Whether `dest` grants the same as this (source) ACL once the source
    /// owner is mapped to the destination owner.
    pub fn matches(&self, dest: &Acl) -> bool {
        self.desired_for(dest.owner.as_deref()).grants == dest.grants
    }

    /// Whether two ACLs hold the same grants (owners not mapped).
    pub fn same_grants(&self, other: &Acl) -> bool {
        self.grants == other.grants
    }

    /// Grants in `self` but not in `other`, and grants in `other` but not in
    /// `self`: what applying `self` over `other` adds and removes.
    pub fn diff<'a>(&'a self, other: &'a Acl) -> (Vec<&'a Grant>, Vec<&'a Grant>) {
        (
            self.grants.difference(&other.grants).collect(),
            other.grants.difference(&self.grants).collect(),
        )
    }

    /// The `x-amz-grant-*` header values granting exactly these grants.
    pub fn grant_headers(&self) -> GrantHeaders {
        let mut by_perm: BTreeMap<Permission, Vec<String>> = BTreeMap::new();
        for g in &self.grants {
            by_perm
                .entry(g.permission)
                .or_default()
                .push(g.grantee.header_entry());
        }
        let mut take = |p| by_perm.remove(&p).map(|v| v.join(", "));
        GrantHeaders {
            full_control: take(Permission::FullControl),
            read: take(Permission::Read),
            write: take(Permission::Write),
            read_acp: take(Permission::ReadAcp),
            write_acp: take(Permission::WriteAcp),
        }
    }

    /// The ACL an `x-amz-grant-*` header set grants (inverse of [`Acl::grant_headers`]).
    pub fn from_grant_headers(
        owner: Option<String>,
        headers: &GrantHeaders,
    ) -> Result<Acl, HeaderError> {
        let mut grants = Vec::new();
        for (perm, value) in headers.entries() {
            for grantee in parse_header(value)? {
                grants.push(Grant::new(grantee, perm));
            }
        }
        Ok(Acl::new(owner, grants))
    }

    /// An AccessControlPolicy body (for PutObjectAcl when there is no grant
    /// at all, which headers cannot express).
    fn to_policy(&self) -> s3t::AccessControlPolicy {
        let grants = self
            .grants
            .iter()
            .filter_map(|g| {
                Some(
                    s3t::Grant::builder()
                        .grantee(g.grantee.to_sdk()?)
                        .permission(g.permission.to_sdk())
                        .build(),
                )
            })
            .collect();
        let owner = self
            .owner
            .as_ref()
            .map(|o| s3t::Owner::builder().id(o).build());
        s3t::AccessControlPolicy::builder()
            .set_owner(owner)
            .set_grants(Some(grants))
            .build()
    }
}

impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.grants.is_empty() {
            return f.write_str("(no grants)");
        }
        let parts: Vec<String> = self.grants.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(" "))
    }
}

/// Dedupes grants and folds permissions per grantee: FULL_CONTROL absorbs the
/// others, and the four partial permissions together become FULL_CONTROL.
fn normalise(grants: impl IntoIterator<Item = Grant>) -> BTreeSet<Grant> {
    let mut per: BTreeMap<Grantee, BTreeSet<Permission>> = BTreeMap::new();
    for g in grants {
        per.entry(g.grantee).or_default().insert(g.permission);
    }
    let mut out = BTreeSet::new();
    for (grantee, perms) in per {
        let full = perms.contains(&Permission::FullControl)
            || Permission::PARTS.iter().all(|p| perms.contains(p));
        if full {
            out.insert(Grant::new(grantee, Permission::FullControl));
        } else {
            for p in perms {
                out.insert(Grant::new(grantee.clone(), p));
            }
        }
    }
    out
}

/// `x-amz-grant-*` header values (`id="…", uri="…", emailAddress="…"`), one
/// per permission; `None` where nobody has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantHeaders {
    pub full_control: Option<String>,
    pub read: Option<String>,
    /// Object WRITE means nothing to S3; only PutObjectAcl takes the header,
    /// CopyObject, PutObject and CreateMultipartUpload have none.
    pub write: Option<String>,
    pub read_acp: Option<String>,
    pub write_acp: Option<String>,
}

impl GrantHeaders {
    /// Whether no header is set (headers cannot express an empty grant list).
    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }

    /// `(permission, header value)` for each header that is set.
    pub fn entries(&self) -> impl Iterator<Item = (Permission, &str)> + '_ {
        [
            (Permission::FullControl, &self.full_control),
            (Permission::Read, &self.read),
            (Permission::Write, &self.write),
            (Permission::ReadAcp, &self.read_acp),
            (Permission::WriteAcp, &self.write_acp),
        ]
        .into_iter()
        .filter_map(|(p, v)| v.as_deref().map(|v| (p, v)))
    }

    /// `(header name, value)` pairs, for raw HTTP callers and logs.
    pub fn header_pairs(&self) -> Vec<(&'static str, &str)> {
        self.entries()
            .map(|(p, v)| {
                let name = match p {
                    Permission::FullControl => "x-amz-grant-full-control",
                    Permission::Read => "x-amz-grant-read",
                    Permission::Write => "x-amz-grant-write",
                    Permission::ReadAcp => "x-amz-grant-read-acp",
                    Permission::WriteAcp => "x-amz-grant-write-acp",
                };
                (name, v)
            })
            .collect()
    }

    /// Sets the headers on a PutObjectAcl request (replaces the whole ACL).
    pub fn apply_put_object_acl(
        &self,
        b: aws_sdk_s3::operation::put_object_acl::builders::PutObjectAclFluentBuilder,
    ) -> aws_sdk_s3::operation::put_object_acl::builders::PutObjectAclFluentBuilder {
        b.set_grant_full_control(self.full_control.clone())
            .set_grant_read(self.read.clone())
            .set_grant_write(self.write.clone())
            .set_grant_read_acp(self.read_acp.clone())
            .set_grant_write_acp(self.write_acp.clone())
    }

    /// Sets the headers on a CopyObject request (the copy gets these grants;
    /// a WRITE grant, meaningless on objects, cannot be sent and is left out).
    pub fn apply_copy_object(
        &self,
        b: aws_sdk_s3::operation::copy_object::builders::CopyObjectFluentBuilder,
    ) -> aws_sdk_s3::operation::copy_object::builders::CopyObjectFluentBuilder {
        b.set_grant_full_control(self.full_control.clone())
            .set_grant_read(self.read.clone())
            .set_grant_read_acp(self.read_acp.clone())
            .set_grant_write_acp(self.write_acp.clone())
    }

    /// Sets the headers on a CreateMultipartUpload request (as [`GrantHeaders::apply_copy_object`]).
    pub fn apply_create_multipart_upload(
        &self,
        b: aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder,
    ) -> aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder
    {
        b.set_grant_full_control(self.full_control.clone())
            .set_grant_read(self.read.clone())
            .set_grant_read_acp(self.read_acp.clone())
            .set_grant_write_acp(self.write_acp.clone())
    }

    /// Sets the headers on a PutObject request (as [`GrantHeaders::apply_copy_object`]).
    pub fn apply_put_object(
        &self,
        b: aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        b.set_grant_full_control(self.full_control.clone())
            .set_grant_read(self.read.clone())
            .set_grant_read_acp(self.read_acp.clone())
            .set_grant_write_acp(self.write_acp.clone())
    }
}

/// A malformed `x-amz-grant-*` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid grant header value {value:?}: {why}")]
pub struct HeaderError {
    pub value: String,
    pub why: &'static str,
}

/// Parses `id="a", uri="b", emailAddress="c"` (quotes optional, commas inside
/// quotes allowed).
fn parse_header(value: &str) -> Result<Vec<Grantee>, HeaderError> {
    let err = |why| HeaderError {
        value: value.to_string(),
        why,
    };
    let mut out = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| err("expected name=value"))?;
        let after = after.trim_start();
        let (val, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').ok_or_else(|| err("unterminated quote"))?;
            (&q[..end], &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim_end(), &after[end..])
        };
        let grantee = match name.trim().to_ascii_lowercase().as_str() {
            "id" => Grantee::user(val),
            "uri" => Grantee::Group(Group::from_uri(val)),
            "emailaddress" => Grantee::email(val),
            _ => return Err(err("grantee type must be id, uri or emailAddress")),
        };
        out.push(grantee);
        let tail = tail.trim_start();
        rest = match tail.strip_prefix(',') {
            Some(t) => t.trim_start(),
            None if tail.is_empty() => tail,
            None => return Err(err("expected ',' between grantees")),
        };
    }
    Ok(out)
}

/// Replaces an object's ACL with `acl`'s grants (PutObjectAcl with
/// `x-amz-grant-*` headers; the object keeps its owner). ACLs disabled on the
/// bucket (BucketOwnerEnforced) is [`ToolError::AclsDisabled`].
pub async fn put_acl(
    client: &Client,
    throttle: &Arc<Throttle>,
    bucket: &str,
    key: &str,
    acl: &Acl,
) -> Result<(), ToolError> {
    put_acl_with(client, throttle, bucket, key, acl, None).await
}

/// [`put_acl`], with `capture` (if any) watching the request sent.
async fn put_acl_with(
    client: &Client,
    throttle: &Arc<Throttle>,
    bucket: &str,
    key: &str,
    acl: &Acl,
    capture: Option<&crate::lean::EndpointCapture>,
) -> Result<(), ToolError> {
    let headers = acl.grant_headers();
    let policy = headers.is_empty().then(|| acl.to_policy());
    throttle
        .call(|| {
            let b = client.put_object_acl().bucket(bucket).key(key);
            let b = match &policy {
                Some(p) => b.access_control_policy(p.clone()),
                None => headers.apply_put_object_acl(b),
            };
            let mut call = b.customize();
            if let Some(c) = capture {
                call = call.interceptor(c.clone());
            }
            call.send()
        })
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("s3://{bucket}/{key}")))?;
    Ok(())
}

/// A bucket's Object Ownership setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ObjectOwnership {
    /// ACLs are disabled: the bucket owner owns every object.
    BucketOwnerEnforced,
    /// ACLs work; objects written with `bucket-owner-full-control` go to the bucket owner.
    BucketOwnerPreferred,
    /// ACLs work; the writer owns the object (the default before April 2023).
    ObjectWriter,
}

impl ObjectOwnership {
    pub fn acls_enabled(self) -> bool {
        self != ObjectOwnership::BucketOwnerEnforced
    }
}

impl fmt::Display for ObjectOwnership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A bucket's Block Public Access settings (all off when none are configured).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PublicAccessBlock {
    /// PUTs that set a public ACL are refused.
    pub block_public_acls: bool,
    /// Public ACLs are accepted but have no effect.
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

/// What decides whether object ACLs can be set on a bucket, and which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BucketAclSettings {
    pub ownership: ObjectOwnership,
    pub public_access_block: PublicAccessBlock,
}

impl BucketAclSettings {
    pub fn acls_enabled(&self) -> bool {
        self.ownership.acls_enabled()
    }

    /// Whether S3 would refuse to set an ACL with a public grant here
    /// (BlockPublicAcls). Account-level Block Public Access is not read.
    pub fn refuses_public_acls(&self) -> bool {
        self.public_access_block.block_public_acls
    }

    /// Whether public grants would be stored but ignored (IgnorePublicAcls).
    pub fn ignores_public_acls(&self) -> bool {
        self.public_access_block.ignore_public_acls
    }
}

/// Reads a bucket's Object Ownership (GetBucketOwnershipControls; none
/// configured means ObjectWriter, as on buckets from before 2023) and Block
/// Public Access (GetPublicAccessBlock; none configured means all off).
pub async fn bucket_acl_settings(
    client: &Client,
    throttle: &Arc<Throttle>,
    bucket: &str,
) -> Result<BucketAclSettings, ToolError> {
    let what = format!("bucket {bucket}");
    let ownership = match throttle
        .call(|| client.get_bucket_ownership_controls().bucket(bucket).send())
        .await
    {
        Ok(out) => out
            .ownership_controls()
            .and_then(|c| c.rules().first())
            .map(|r| match r.object_ownership() {
                SdkOwnership::BucketOwnerEnforced => ObjectOwnership::BucketOwnerEnforced,
                SdkOwnership::BucketOwnerPreferred => ObjectOwnership::BucketOwnerPreferred,
                _ => ObjectOwnership::ObjectWriter,
            })
            .unwrap_or(ObjectOwnership::ObjectWriter),
        Err(e) if e.code() == Some("OwnershipControlsNotFoundError") => {
            ObjectOwnership::ObjectWriter
        }
        Err(e) => return Err(describe_sdk_error(&e, &what)),
    };
    let public_access_block = match throttle
        .call(|| client.get_public_access_block().bucket(bucket).send())
        .await
    {
        Ok(out) => out
            .public_access_block_configuration()
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            })
            .unwrap_or_default(),
        Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => {
            PublicAccessBlock::default()
        }
        Err(e) => return Err(describe_sdk_error(&e, &what)),
    };
    Ok(BucketAclSettings {
        ownership,
        public_access_block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SRC: &str = "aaaa0000";
    const DST: &str = "bbbb1111";
    const OTHER: &str = "cccc2222";

    fn user(id: &str, p: Permission) -> Grant {
        Grant::new(Grantee::user(id), p)
    }

    fn group(g: Group, p: Permission) -> Grant {
        Grant::new(Grantee::Group(g), p)
    }

    fn public_read(owner: &str) -> Acl {
        Acl::new(
            Some(owner.into()),
            [
                user(owner, Permission::FullControl),
                group(Group::AllUsers, Permission::Read),
            ],
        )
    }

    #[test]
    fn group_uris_normalise() {
        assert_eq!(Group::from_uri(ALL_USERS_URI), Group::AllUsers);
        assert_eq!(
            Group::from_uri("https://acs.amazonaws.com/groups/global/AuthenticatedUsers/"),
            Group::AuthenticatedUsers
        );
        assert_eq!(Group::from_uri(LOG_DELIVERY_URI), Group::LogDelivery);
        assert_eq!(
            Group::from_uri("http://example.com/g"),
            Group::Other("http://example.com/g".into())
        );
    }

    #[test]
    fn owner_is_mapped_across_accounts() {
        let src = public_read(SRC);
        let dst = public_read(DST);
        assert!(!src.same_grants(&dst));
        assert!(src.matches(&dst));
        assert!(!src.matches(&Acl::private(DST)));
        assert!(!Acl::private(SRC).matches(&dst));
        assert_eq!(src.desired_for(Some(DST)), dst);
        // Grants to third parties are kept as they are.
        let src = Acl::new(
            Some(SRC.into()),
            [
                user(SRC, Permission::FullControl),
                user(OTHER, Permission::Read),
            ],
        );
        let want = Acl::new(
            Some(DST.into()),
            [
                user(DST, Permission::FullControl),
                user(OTHER, Permission::Read),
            ],
        );
        assert_eq!(src.desired_for(Some(DST)), want);
        assert!(src.matches(&want));
    }

    #[test]
    fn full_control_absorbs_and_is_formed() {
        let a = Acl::new(
            None,
            [
                user(OTHER, Permission::FullControl),
                user(OTHER, Permission::Read),
            ],
        );
        let b = Acl::new(None, Permission::PARTS.iter().map(|p| user(OTHER, *p)));
        assert!(a.same_grants(&b));
        assert_eq!(a.grant_count(), 1);
    }

    #[test]
    fn public_detection() {
        assert!(public_read(SRC).is_public());
        assert!(!Acl::private(SRC).is_public());
        let auth = Acl::new(None, [group(Group::AuthenticatedUsers, Permission::Read)]);
        assert!(auth.is_public());
        let logs = Acl::new(None, [group(Group::LogDelivery, Permission::Write)]);
        assert!(!logs.is_public());
    }

    #[test]
    fn headers_render_per_permission() {
        let acl = Acl::new(
            Some(SRC.into()),
            [
                user(SRC, Permission::FullControl),
                group(Group::AllUsers, Permission::Read),
                user(OTHER, Permission::Read),
                Grant::new(Grantee::email("Ops@Example.com"), Permission::ReadAcp),
            ],
        );
        let h = acl.grant_headers();
        assert_eq!(h.full_control.as_deref(), Some("id=\"aaaa0000\""));
        assert_eq!(
            h.read.as_deref(),
            Some("id=\"cccc2222\", uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")
        );
        assert_eq!(
            h.read_acp.as_deref(),
            Some("emailAddress=\"ops@example.com\"")
        );
        assert_eq!(h.write, None);
        assert_eq!(h.header_pairs().len(), 3);
        assert!(Acl::new(None, []).grant_headers().is_empty());
    }

    #[test]
    fn header_parser_accepts_aws_forms_and_rejects_junk() {
        let g = parse_header("id=abc,uri=\"http://acs.amazonaws.com/groups/global/AllUsers\" , emailAddress=\"a,b@x.io\"").unwrap();
        assert_eq!(
            g,
            vec![
                Grantee::user("abc"),
                Grantee::Group(Group::AllUsers),
                Grantee::email("a,b@x.io"),
            ]
        );
        assert!(parse_header("foo=\"x\"").is_err());
        assert!(parse_header("id=\"x").is_err());
        assert!(parse_header("id").is_err());
        assert!(parse_header("id=\"x\" id=\"y\"").is_err());
    }

    #[test]
    fn sdk_round_trip() {
        let acl = public_read(SRC);
        let policy = acl.to_policy();
        let back = Acl::from_sdk(policy.owner(), policy.grants());
        assert_eq!(back, acl);
    }

    #[test]
    fn json_shape_is_stable() {
        let acl = public_read(SRC);
        assert_eq!(
            serde_json::to_string(&acl).unwrap(),
            r#"{"owner":"aaaa0000","grants":[{"grantee":{"id":"aaaa0000"},"permission":"FULL_CONTROL"},{"grantee":{"group":"AllUsers"},"permission":"READ"}]}"#
        );
    }

    fn arb_grantee() -> impl Strategy<Value = Grantee> {
        prop_oneof![
            prop::sample::select(vec![SRC, DST, OTHER, "dddd3333"]).prop_map(Grantee::user),
            prop::sample::select(vec![
                Group::AllUsers,
                Group::AuthenticatedUsers,
                Group::LogDelivery
            ])
            .prop_map(Grantee::Group),
            "[a-z]{1,6}@[a-z]{1,5}\\.com".prop_map(Grantee::email),
        ]
    }

    fn arb_grant() -> impl Strategy<Value = Grant> {
        (
            arb_grantee(),
            prop::sample::select(vec![
                Permission::FullControl,
                Permission::Read,
                Permission::Write,
                Permission::ReadAcp,
                Permission::WriteAcp,
            ]),
        )
            .prop_map(|(g, p)| Grant::new(g, p))
    }

    proptest! {
        #[test]
        fn normalisation_is_order_independent(
            grants in prop::collection::vec(arb_grant(), 0..12),
            seed in any::<u64>(),
        ) {
            let mut shuffled = grants.clone();
            // Deterministic shuffle plus duplicates.
            let n = shuffled.len().max(1);
            shuffled.rotate_left((seed as usize) % n);
            shuffled.reverse();
            if let Some(first) = grants.first() {
                shuffled.push(first.clone());
            }
            let a = Acl::new(Some(SRC.into()), grants);
            let b = Acl::new(Some(SRC.into()), shuffled);
            prop_assert!(a.same_grants(&b));
            prop_assert!(a.matches(&b));
        }

        #[test]
        fn header_round_trip(grants in prop::collection::vec(arb_grant(), 0..12)) {
            let acl = Acl::new(Some(SRC.into()), grants);
            let back = Acl::from_grant_headers(Some(SRC.into()), &acl.grant_headers()).unwrap();
            prop_assert_eq!(back, acl);
        }

        #[test]
        fn owner_mapping_round_trips(grants in prop::collection::vec(arb_grant(), 0..12)) {
            // Grants that never mention the destination owner map back exactly.
            let grants: Vec<Grant> = grants
                .into_iter()
                .filter(|g| g.grantee != Grantee::user(DST))
                .collect();
            let src = Acl::new(Some(SRC.into()), grants);
            let dst = src.desired_for(Some(DST));
            prop_assert!(src.matches(&dst));
            prop_assert_eq!(dst.desired_for(Some(SRC)), src.clone());
            prop_assert_eq!(dst.is_public(), src.is_public());
            prop_assert_eq!(dst.grants().any(|g| g.grantee == Grantee::user(SRC)), false);
        }

        #[test]
        fn diff_is_empty_exactly_when_equal(
            a in prop::collection::vec(arb_grant(), 0..8),
            b in prop::collection::vec(arb_grant(), 0..8),
        ) {
            let a = Acl::new(None, a);
            let b = Acl::new(None, b);
            let (added, removed) = a.diff(&b);
            prop_assert_eq!(added.is_empty() && removed.is_empty(), a.same_grants(&b));
        }
    }
}
