//! Connecting to both sides and checking, before anything is written, that
//! the migration can do what was asked.
//!
//! - both buckets reachable, each with a client in its own region and, when
//!   asked, its own identity (`--source-profile`, `--dest-role-arn`, ...);
//! - the destination's Object Ownership: with BucketOwnerEnforced, ACLs
//!   cannot be copied, so the run stops (exit 5) unless `--acl skip`;
//! - the destination's Block Public Access against public grants;
//! - versioning, noted;
//! - both buckets' default encryption, against a weaker destination
//!   (see [`crate::sse`]);
//! - the destination's event notifications: what the copies trigger, and
//!   no loop back to the copier (see [`crate::notifications`]).

use std::sync::Arc;

use aws_sdk_s3::error::ProvideErrorMetadata;
use mc_aws_common::acl::BucketAclSettings;
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::inventory::SideInventoryArgs;
use mc_aws_common::retry::Throttle;
use mc_aws_common::twosided::{self, Folders, Side};

use crate::cli::Endpoints;
use crate::copy::Copier;
use crate::notifications;
use crate::options::{AclMode, CopyOptions};
use crate::sse::{Sse, SseSetup};

/// The two sides of a run, connected.
pub struct Connected {
    pub folders: Folders,
    pub src: Side,
    pub dst: Side,
    /// What pre-flight has to say already (the inventory reports read).
    pub notes: Vec<String>,
}

/// Builds the two sides: each with its own identity and region, listing
/// through `throttle` (or reading its inventory report, `inventories`);
/// object ACLs are read under `acl_reads` (the run's throttle, or a budget
/// of its own). Overlapping folders are refused.
pub async fn connect(
    aws: &AwsArgs,
    ends: &Endpoints,
    throttle: &Arc<Throttle>,
    acl_reads: &Arc<Throttle>,
    inventories: Option<&SideInventoryArgs>,
) -> Result<Connected, ToolError> {
    let folders = ends.folders()?;
    let (mut src, mut dst) =
        twosided::connect(aws, &ends.sides, &folders, throttle, acl_reads).await?;
    let notes = match inventories {
        Some(inv) => {
            twosided::read_reports(aws, inv, [&mut src, &mut dst], throttle, false).await?
        }
        None => Vec::new(),
    };
    Ok(Connected {
        folders,
        src,
        dst,
        notes,
    })
}

/// Connects both sides, runs every check, logs the notes as warnings, and
/// builds the copier (shared by `sync`, `worker` and the Lambda handler).
pub async fn copier(
    aws: &AwsArgs,
    ends: &Endpoints,
    opts: CopyOptions,
    (throttle, acl_reads): (&Arc<Throttle>, &Arc<Throttle>),
    inventories: Option<&SideInventoryArgs>,
) -> Result<(Copier, Preflight), ToolError> {
    let Connected {
        folders,
        src,
        dst,
        notes,
    } = connect(aws, ends, throttle, acl_reads, inventories).await?;
    let mut pf = check(&src, &dst, throttle, &opts.acl).await?;
    pf.notes.splice(0..0, notes);
    let triggered = notifications::check(&dst, throttle, &opts.notifications).await?;
    pf.notes.extend(triggered);
    let sse = encryption(&src, &dst, throttle, &opts, &mut pf.notes).await?;
    for n in &pf.notes {
        tracing::warn!("{n}");
    }
    let copier = Copier {
        src,
        dst,
        folders,
        throttle: throttle.clone(),
        opts,
        dest_owner: pf.dest_owner.clone(),
        source_acls: pf.source_acls,
        sse,
        lean_copy: Default::default(),
    };
    Ok((copier, pf))
}

/// What pre-flight found out, for the copier and the report.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// The destination bucket owner's canonical ID (ACL owner mapping).
    pub dest_owner: Option<String>,
    /// Whether the source bucket has ACLs enabled.
    pub source_acls: bool,
    /// The destination refuses public ACLs (BlockPublicAcls) and ACLs are
    /// copied: a public source ACL fails the copy.
    pub dest_refuses_public: bool,
    pub notes: Vec<String>,
}

/// Runs the checks; fails with a clear error when the run cannot do what `acl` asks.
pub async fn check(
    src: &Side,
    dst: &Side,
    throttle: &Arc<Throttle>,
    acl_mode: &AclMode,
) -> Result<Preflight, ToolError> {
    let mut notes = Vec::new();
    let mut pf = Preflight {
        dest_owner: None,
        source_acls: false,
        dest_refuses_public: false,
        notes: Vec::new(),
    };
    if acl_mode != &AclMode::Skip {
        let (s, d) = tokio::join!(src.acl_settings(throttle), dst.acl_settings(throttle));
        let (s, d) = (s?, d?);
        check_acl_settings(dst.bucket(), &d, acl_mode)?;
        // Refused outright (BlockPublicAcls) says more than ignored.
        if d.ignores_public_acls() && !d.refuses_public_acls() && acl_mode == &AclMode::Copy {
            notes.push(format!(
                "destination bucket {} ignores public ACLs (IgnorePublicAcls): public grants are copied but have no effect there",
                dst.bucket()
            ));
        }
        if d.refuses_public_acls() && acl_mode == &AclMode::Copy {
            pf.dest_refuses_public = true;
            notes.push(format!(
                "destination bucket {} blocks public ACLs (BlockPublicAcls): objects whose ACL is public at the source will fail to copy (listed in the report)",
                dst.bucket()
            ));
        }
        pf.source_acls = s.acls_enabled();
        if !pf.source_acls && acl_mode == &AclMode::Copy {
            notes.push(format!(
                "source bucket {} has ACLs disabled: every copy gets the destination's private default",
                src.bucket()
            ));
        }
        if acl_mode == &AclMode::Copy {
            pf.dest_owner = bucket_owner(dst, throttle).await?;
        }
    }
    let (sv, dv) = tokio::join!(versioning(src, throttle), versioning(dst, throttle));
    if sv.as_deref() == Some("Enabled") {
        notes.push(format!(
            "source bucket {} is versioned: only current versions are copied (older ones: s3-copier batch --versions noncurrent)",
            src.bucket()
        ));
    }
    if dv.as_deref() == Some("Enabled") {
        notes.push(format!(
            "destination bucket {} is versioned: overwrites and deletes keep older versions",
            dst.bucket()
        ));
    }
    pf.notes = notes;
    Ok(pf)
}

/// The part of pre-flight that needs no network: can `mode` be honoured at
/// a destination with `settings`?
pub fn check_acl_settings(
    bucket: &str,
    settings: &BucketAclSettings,
    mode: &AclMode,
) -> Result<(), ToolError> {
    if !settings.acls_enabled() && mode.needs_acls() {
        return Err(ToolError::AclsDisabled {
            what: format!("destination bucket {bucket}"),
        });
    }
    if settings.refuses_public_acls() && mode.is_public_canned() {
        return Err(ToolError::Invalid {
            what: format!("destination bucket {bucket}"),
            message: format!(
                "Block Public Access (BlockPublicAcls) refuses --acl {mode}; choose another ACL or change the bucket's settings deliberately"
            ),
        });
    }
    Ok(())
}

/// Reads both buckets' default encryption and decides what copies carry;
/// stops (exit 2) when the destination would encrypt less strictly than the
/// source's KMS default and nothing was said about it.
pub async fn encryption(
    src: &Side,
    dst: &Side,
    throttle: &Arc<Throttle>,
    opts: &CopyOptions,
    notes: &mut Vec<String>,
) -> Result<SseSetup, ToolError> {
    let region = |s: &Side| {
        s.client
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    };
    let ((s, s_note), (d, d_note)) = tokio::join!(
        default_encryption(src, throttle),
        default_encryption(dst, throttle)
    );
    notes.extend(s_note.into_iter().chain(d_note));
    let mut setup = SseSetup {
        explicit_key: opts.sse_kms_key_id.clone(),
        dest_default: d,
        src_region: region(src),
        dest_region: region(dst),
        ..SseSetup::default()
    };
    setup
        .decide_bulk(&s, opts.sse_allow_weaker)
        .map_err(|message| ToolError::Invalid {
            what: format!("encryption s3://{} -> s3://{}", src.bucket(), dst.bucket()),
            message,
        })?;
    Ok(setup)
}

/// A bucket's default encryption, and a note when it could not be read.
async fn default_encryption(side: &Side, throttle: &Arc<Throttle>) -> (Sse, Option<String>) {
    let c = &side.client;
    // A store without the API (NotImplemented) answers at once: noted, not
    // retried to exhaustion.
    let out = throttle
        .call(|| async {
            match c.get_bucket_encryption().bucket(side.bucket()).send().await {
                Ok(o) => Ok(Some(o)),
                Err(e) if e.code() == Some("NotImplemented") => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await;
    match out {
        Ok(None) => (
            Sse::None,
            Some(format!(
                "default encryption of bucket {} not checked: the service does not implement GetBucketEncryption",
                side.bucket()
            )),
        ),
        Ok(Some(o)) => {
            let rule = o
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first());
            let by_default = rule.and_then(|r| r.apply_server_side_encryption_by_default());
            let sse = Sse::from_algorithm(
                by_default.map(|d| d.sse_algorithm().as_str()),
                by_default.and_then(|d| d.kms_master_key_id()),
                rule.and_then(|r| r.bucket_key_enabled()).unwrap_or(false),
            );
            (sse, None)
        }
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => {
            (Sse::None, None)
        }
        Err(e) => (
            Sse::None,
            Some(format!(
                "default encryption of bucket {} not checked: {}",
                side.bucket(),
                describe_sdk_error(&e, &format!("bucket {}", side.bucket()))
            )),
        ),
    }
}

async fn bucket_owner(side: &Side, throttle: &Arc<Throttle>) -> Result<Option<String>, ToolError> {
    let c = &side.client;
    let out = throttle
        .call(|| c.get_bucket_acl().bucket(side.bucket()).send())
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("bucket {}", side.bucket())))?;
    Ok(out.owner().and_then(|o| o.id()).map(str::to_string))
}

async fn versioning(side: &Side, throttle: &Arc<Throttle>) -> Option<String> {
    let c = &side.client;
    // Only a note: a missing permission here must not stop the run.
    throttle
        .call(|| c.get_bucket_versioning().bucket(side.bucket()).send())
        .await
        .ok()
        .and_then(|v| v.status().map(|s| s.as_str().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mc_aws_common::acl::{ObjectOwnership, PublicAccessBlock};

    fn settings(o: ObjectOwnership, block: bool) -> BucketAclSettings {
        BucketAclSettings {
            ownership: o,
            public_access_block: PublicAccessBlock {
                block_public_acls: block,
                ..Default::default()
            },
        }
    }

    #[test]
    fn owner_enforced_refuses_acl_copy_unless_skipped() {
        let s = settings(ObjectOwnership::BucketOwnerEnforced, true);
        let err = check_acl_settings("b", &s, &AclMode::Copy).unwrap_err();
        assert_eq!(err.exit_code(), mc_aws_common::exit::UNSUPPORTED);
        assert!(err.to_string().contains("--acl skip"), "{err}");
        check_acl_settings("b", &s, &AclMode::Skip).unwrap();
        check_acl_settings(
            "b",
            &s,
            &AclMode::parse("bucket-owner-full-control").unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn block_public_acls_refuses_public_canned() {
        let s = settings(ObjectOwnership::ObjectWriter, true);
        assert!(check_acl_settings("b", &s, &AclMode::parse("public-read").unwrap()).is_err());
        check_acl_settings("b", &s, &AclMode::Copy).unwrap();
        let open = settings(ObjectOwnership::ObjectWriter, false);
        check_acl_settings("b", &open, &AclMode::parse("public-read").unwrap()).unwrap();
    }
}
