//! The audited bucket: a client in its region, and every setting that
//! decides what disabling ACLs changes (Object Ownership, Block Public
//! Access of the bucket and of the account, versioning, requester pays,
//! its policy, its owner and its own ACL).

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{BucketVersioningStatus, Payer};
use aws_sdk_s3::Client;
use mc_aws_common::acl::{self, Acl, BucketAclSettings, Grant, Grantee, PublicAccessBlock};
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::lean::s3::S3Lean;
use mc_aws_common::lean::s3control;
use mc_aws_common::retry::Throttle;
use serde_json::Value;

use super::cli::AuditArgs;
use crate::error::Error;

/// The account's Block Public Access, or why it is not known.
#[derive(Debug, Clone)]
pub enum AccountBpa {
    Known {
        account: String,
        /// `None`: never configured (all off).
        bpa: PublicAccessBlock,
    },
    Unknown {
        account: Option<String>,
        why: String,
    },
}

/// What the audit reads of the bucket before its objects.
pub struct Bucket {
    pub client: Client,
    pub conf: SdkConfig,
    pub settings: BucketAclSettings,
    /// The bucket owner's canonical ID.
    pub owner: String,
    /// Grants of the bucket's own ACL to anyone but the owner
    /// (BucketOwnerEnforced is refused while there are any).
    pub bucket_grants: Vec<Grant>,
    pub versioned: bool,
    pub requester_pays: bool,
    /// The bucket policy, parsed.
    pub policy: Option<Value>,
    pub account: AccountBpa,
}

impl Bucket {
    /// IgnorePublicAcls of the bucket or of the account (unknown: off).
    pub fn ignores_public_acls(&self) -> bool {
        self.settings.public_access_block.ignore_public_acls
            || matches!(&self.account, AccountBpa::Known { bpa, .. } if bpa.ignore_public_acls)
    }

    /// RestrictPublicBuckets of the bucket or of the account.
    pub fn restricts_public(&self) -> bool {
        self.settings.public_access_block.restrict_public_buckets
            || matches!(&self.account, AccountBpa::Known { bpa, .. } if bpa.restrict_public_buckets)
    }

    /// BlockPublicPolicy of the bucket or of the account.
    pub fn blocks_public_policy(&self) -> bool {
        self.settings.public_access_block.block_public_policy
            || matches!(&self.account, AccountBpa::Known { bpa, .. } if bpa.block_public_policy)
    }
}

/// Connects and reads the bucket's settings.
pub async fn connect(
    args: &AuditArgs,
    aws: &AwsArgs,
    throttle: &Arc<Throttle>,
) -> Result<Bucket, Error> {
    let bucket = &args.url.bucket;
    let conf = mc_aws_common::config::load(aws, None, None).await?;
    let client = mc_aws_common::config::client_for_bucket(&conf, aws, bucket, throttle).await?;
    let (settings, (owner, bucket_grants), versioned, payer, policy) = futures::try_join!(
        acl::bucket_acl_settings(&client, throttle, bucket),
        owner_and_grants(&client, throttle, bucket),
        versioned(&client, throttle, bucket),
        requester_pays(&client, throttle, bucket),
        policy(&client, throttle, bucket),
    )?;
    let account = account_bpa(&conf, &client, aws.endpoint_url.as_deref(), throttle).await;
    Ok(Bucket {
        requester_pays: payer || args.request_payer.is_some(),
        client,
        conf,
        settings,
        owner,
        bucket_grants,
        versioned,
        policy,
        account,
    })
}

async fn owner_and_grants(
    client: &Client,
    throttle: &Arc<Throttle>,
    bucket: &str,
) -> Result<(String, Vec<Grant>), ToolError> {
    let out = throttle
        .call(|| client.get_bucket_acl().bucket(bucket).send())
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("bucket {bucket} (GetBucketAcl)")))?;
    let acl = Acl::from_sdk(out.owner(), out.grants());
    let owner = acl.owner.clone().ok_or_else(|| ToolError::Service {
        what: format!("bucket {bucket}"),
        message: "GetBucketAcl named no owner".into(),
    })?;
    let me = Grantee::user(&owner);
    let grants = acl.grants().filter(|g| g.grantee != me).cloned().collect();
    Ok((owner, grants))
}

async fn versioned(
    client: &Client,
    throttle: &Arc<Throttle>,
    bucket: &str,
) -> Result<bool, ToolError> {
    match throttle
        .call(|| client.get_bucket_versioning().bucket(bucket).send())
        .await
    {
        // Suspended still keeps the versions written while it was on.
        Ok(out) => Ok(matches!(
            out.status(),
            Some(BucketVersioningStatus::Enabled | BucketVersioningStatus::Suspended)
        )),
        Err(e) => match describe_sdk_error(&e, &format!("bucket {bucket}")) {
            e @ (ToolError::NotFound { .. } | ToolError::NoCredentials) => Err(e),
            // Listing every version is right for any bucket, only slower.
            e => {
                tracing::warn!("cannot read whether it is versioned ({e}); auditing every version");
                Ok(true)
            }
        },
    }
}

/// Whether the bucket is requester-pays; a setting we may not read is a
/// warning (`--request-payer requester` sends the header anyway).
async fn requester_pays(
    client: &Client,
    throttle: &Arc<Throttle>,
    bucket: &str,
) -> Result<bool, ToolError> {
    match throttle
        .call(|| client.get_bucket_request_payment().bucket(bucket).send())
        .await
    {
        Ok(out) => Ok(out.payer() == Some(&Payer::Requester)),
        Err(e) => match describe_sdk_error(&e, &format!("bucket {bucket}")) {
            e @ (ToolError::NotFound { .. } | ToolError::NoCredentials) => Err(e),
            e => {
                tracing::warn!("cannot read whether it is requester-pays ({e}); add --request-payer requester if it is");
                Ok(false)
            }
        },
    }
}

/// The bucket policy. It must be readable: the proposal replaces it.
async fn policy(
    client: &Client,
    throttle: &Arc<Throttle>,
    bucket: &str,
) -> Result<Option<Value>, ToolError> {
    match throttle
        .call(|| client.get_bucket_policy().bucket(bucket).send())
        .await
    {
        Ok(out) => {
            let text = out.policy().unwrap_or("{}");
            serde_json::from_str(text)
                .map(Some)
                .map_err(|e| ToolError::Service {
                    what: format!("bucket {bucket}"),
                    message: format!("its policy is not JSON: {e}"),
                })
        }
        Err(e) if e.code() == Some("NoSuchBucketPolicy") => Ok(None),
        Err(e) => Err(describe_sdk_error(
            &e,
            &format!("bucket {bucket} (GetBucketPolicy)"),
        )),
    }
}

/// The caller's account (STS) and its Block Public Access (S3 Control,
/// through the lean signed GET); any failure is "unknown", said why.
async fn account_bpa(
    conf: &SdkConfig,
    client: &Client,
    endpoint: Option<&str>,
    throttle: &Arc<Throttle>,
) -> AccountBpa {
    let sts = aws_sdk_sts::Client::new(conf);
    let account = match throttle.call(|| sts.get_caller_identity().send()).await {
        Ok(out) => out.account().map(str::to_string),
        Err(e) => {
            return AccountBpa::Unknown {
                account: None,
                why: format!(
                    "STS GetCallerIdentity: {}",
                    describe_sdk_error(&e, "the caller")
                ),
            }
        }
    };
    let Some(account) = account else {
        return AccountBpa::Unknown {
            account: None,
            why: "STS named no account".into(),
        };
    };
    let region = client
        .config()
        .region()
        .map_or_else(|| "us-east-1".to_string(), |r| r.to_string());
    let url = s3control::public_access_block_url(endpoint, &account, &region);
    let get = S3Lean::new(client.config(), conf.credentials_provider(), region);
    match throttle
        .call(|| s3control::account_public_access_block(&get, &url, &account))
        .await
    {
        Ok(bpa) => AccountBpa::Known {
            account,
            bpa: bpa.unwrap_or_default(),
        },
        Err(e) => AccountBpa::Unknown {
            why: format!(
                "S3 Control GetPublicAccessBlock: {}",
                e.describe(&format!("account {account}"))
            ),
            account: Some(account),
        },
    }
}
