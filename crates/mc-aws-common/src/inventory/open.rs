//! `--inventory`: where the report is (a location, a local copy, or `auto`:
//! the source bucket's inventory configuration), opening its bucket as a
//! side of its own, and refusing a report that does not cover the command.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;

use super::{Report, Store};
use crate::cli::AwsArgs;
use crate::config;
use crate::error::{describe_sdk_error, ToolError};
use crate::retry::Throttle;
use crate::s3url::S3Url;
use crate::units::{human_duration, parse_duration};

/// Reading keys from an S3 Inventory report instead of listing.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InventoryArgs {
    /// Read the keys from an S3 Inventory report instead of listing them:
    /// s3://inventory-bucket/prefix/ (the report's folder, its configuration's folder
    /// `.../SOURCE-BUCKET/CONFIG-ID/`, or a folder above it), a local copy of it, or `auto`
    /// (the source bucket's inventory configuration). The newest complete report is used;
    /// its age is in every output.
    #[arg(
        long,
        value_name = "LOCATION",
        env = "MC_INVENTORY",
        help_heading = "Inventory"
    )]
    pub inventory: Option<String>,
    /// Profile for the inventory bucket (default: the source's identity).
    #[arg(long, env = "MC_INVENTORY_PROFILE", help_heading = "Inventory")]
    pub inventory_profile: Option<String>,
    /// Role to assume for the inventory bucket.
    #[arg(long, env = "MC_INVENTORY_ROLE_ARN", help_heading = "Inventory")]
    pub inventory_role_arn: Option<String>,
    /// Refuse a report older than this (e.g. 36h, 8d; default: any age).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "MC_INVENTORY_MAX_AGE", help_heading = "Inventory")]
    pub inventory_max_age: Option<Duration>,
}

/// Either side of a two-bucket command from an inventory report.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SideInventoryArgs {
    /// Read the source's keys from an S3 Inventory report instead of listing them:
    /// s3://inventory-bucket/prefix/ (the report's folder, its configuration's folder, or a
    /// folder above it), a local copy of it, or `auto` (the source bucket's configuration).
    /// The report is sorted on disk in bounded memory; its age is said.
    #[arg(
        long,
        value_name = "LOCATION",
        env = "MC_SOURCE_INVENTORY",
        help_heading = "Inventory"
    )]
    pub source_inventory: Option<String>,
    /// The same for the destination's keys.
    #[arg(
        long,
        value_name = "LOCATION",
        env = "MC_DEST_INVENTORY",
        help_heading = "Inventory"
    )]
    pub dest_inventory: Option<String>,
    /// Profile for the inventory bucket (default: each side's identity).
    #[arg(long, env = "MC_INVENTORY_PROFILE", help_heading = "Inventory")]
    pub inventory_profile: Option<String>,
    /// Role to assume for the inventory bucket.
    #[arg(long, env = "MC_INVENTORY_ROLE_ARN", help_heading = "Inventory")]
    pub inventory_role_arn: Option<String>,
    /// Refuse a report older than this (e.g. 36h, 8d; default: any age).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "MC_INVENTORY_MAX_AGE", help_heading = "Inventory")]
    pub inventory_max_age: Option<Duration>,
}

impl SideInventoryArgs {
    /// Whether either side reads a report.
    pub fn any(&self) -> bool {
        self.source_inventory.is_some() || self.dest_inventory.is_some()
    }

    /// The single-side arguments for `location`.
    pub fn side(&self, location: Option<&String>) -> InventoryArgs {
        InventoryArgs {
            inventory: location.cloned(),
            inventory_profile: self.inventory_profile.clone(),
            inventory_role_arn: self.inventory_role_arn.clone(),
            inventory_max_age: self.inventory_max_age,
        }
    }
}

/// What the command reads: the bucket and prefix, and whether it needs
/// every version.
#[derive(Debug, Clone)]
pub struct Coverage<'a> {
    pub source: &'a S3Url,
    pub versions: bool,
}

impl InventoryArgs {
    /// The report the flags name, checked against what the command needs;
    /// `None` without `--inventory`. `source_client` reads the source
    /// bucket's inventory configuration (for `auto`, and for the filter).
    pub async fn open(
        &self,
        aws: &AwsArgs,
        source_client: &Client,
        need: Coverage<'_>,
        throttle: &Arc<Throttle>,
    ) -> Result<Option<Arc<Report>>, ToolError> {
        let Some(location) = &self.inventory else {
            return Ok(None);
        };
        let bucket = &need.source.bucket;
        let (store, prefix) = if location == "auto" {
            let (url, _) = auto_location(source_client, bucket, throttle).await?;
            (self.bucket_store(aws, &url, throttle).await?, url.prefix)
        } else if let Ok(url) = location.parse::<S3Url>() {
            (self.bucket_store(aws, &url, throttle).await?, url.prefix)
        } else {
            (Store::Local(PathBuf::from(location)), String::new())
        };
        let report = Report::latest(Arc::new(store), &prefix, bucket).await?;
        self.check_age(&report)?;
        check_versions(&report, &need)?;
        check_filter(&report, source_client, &need, throttle).await?;
        Ok(Some(Arc::new(report)))
    }

    async fn bucket_store(
        &self,
        aws: &AwsArgs,
        url: &S3Url,
        throttle: &Arc<Throttle>,
    ) -> Result<Store, ToolError> {
        let conf = config::load(
            aws,
            self.inventory_profile.as_deref(),
            self.inventory_role_arn.as_deref(),
        )
        .await?;
        let client = config::client_for_bucket(&conf, aws, &url.bucket, throttle).await?;
        Ok(Store::S3 {
            client,
            bucket: url.bucket.clone(),
            throttle: throttle.clone(),
        })
    }

    fn check_age(&self, report: &Report) -> Result<(), ToolError> {
        match self.inventory_max_age {
            Some(max) if report.age() > max => Err(ToolError::Invalid {
                what: report.store.describe(&report.folder),
                message: format!(
                    "the newest complete report is {} old, more than --inventory-max-age {}",
                    human_duration(report.age()),
                    human_duration(max)
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// The report location of the source bucket's one inventory configuration
/// (`s3://dest/prefix/source/id/`), and the configuration.
async fn auto_location(
    client: &Client,
    bucket: &str,
    throttle: &Arc<Throttle>,
) -> Result<(S3Url, aws_sdk_s3::types::InventoryConfiguration), ToolError> {
    let out = throttle
        .call(|| {
            client
                .list_bucket_inventory_configurations()
                .bucket(bucket)
                .send()
        })
        .await
        .map_err(|e| {
            describe_sdk_error(&e, &format!("inventory configurations of bucket {bucket}"))
        })?;
    let enabled: Vec<_> = out
        .inventory_configuration_list()
        .iter()
        .filter(|c| c.is_enabled())
        .collect();
    let config = match enabled.as_slice() {
        [one] => (*one).clone(),
        [] => {
            return Err(ToolError::NotFound {
                what: format!("bucket {bucket}"),
                code: "no enabled S3 Inventory configuration".into(),
            })
        }
        many => {
            let ids: Vec<&str> = many.iter().map(|c| c.id()).collect();
            return Err(ToolError::Invalid {
                what: format!("bucket {bucket}"),
                message: format!(
                    "has several inventory configurations ({}): give --inventory s3://BUCKET/PREFIX/{bucket}/ID/",
                    ids.join(", ")
                ),
            });
        }
    };
    let dest = config
        .destination()
        .and_then(|d| d.s3_bucket_destination())
        .ok_or_else(|| ToolError::Invalid {
            what: format!("bucket {bucket}"),
            message: "its inventory configuration has no S3 destination".into(),
        })?;
    let dest_bucket = dest.bucket().trim_start_matches("arn:aws:s3:::");
    let prefix = dest.prefix().unwrap_or("").trim_matches('/');
    let path = [prefix, bucket, config.id()]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    let url = S3Url {
        bucket: dest_bucket.to_string(),
        prefix: format!("{path}/"),
    };
    Ok((url, config))
}

/// A report of current versions cannot answer a question about every version.
fn check_versions(report: &Report, need: &Coverage<'_>) -> Result<(), ToolError> {
    if need.versions && !report.is_versioned() {
        return Err(ToolError::Invalid {
            what: report.store.describe(&report.folder),
            message: "a report of current versions only; this command needs every version (configure the inventory with IncludedObjectVersions = All)".into(),
        });
    }
    Ok(())
}

/// Refuses a report whose inventory filter (a prefix) leaves out part of
/// what the command reads. The filter is in the source bucket's inventory
/// configuration, named by the report's folder; when it cannot be read,
/// says so and goes on.
async fn check_filter(
    report: &Report,
    client: &Client,
    need: &Coverage<'_>,
    throttle: &Arc<Throttle>,
) -> Result<(), ToolError> {
    let Some(id) = config_id(&report.folder) else {
        return Ok(());
    };
    let bucket = &need.source.bucket;
    let out = throttle
        .call(|| {
            client
                .get_bucket_inventory_configuration()
                .bucket(bucket)
                .id(&id)
                .send()
        })
        .await;
    let config = match out {
        Ok(o) => o.inventory_configuration().cloned(),
        Err(e) => {
            let what = format!("inventory configuration {id:?} of bucket {bucket}");
            tracing::warn!(
                "{} (its filter is not checked: make sure it covers {})",
                describe_sdk_error(&e, &what),
                need.source
            );
            return Ok(());
        }
    };
    let filter = config
        .as_ref()
        .and_then(|c| c.filter())
        .map(|f| f.prefix().to_string())
        .unwrap_or_default();
    if !need.source.prefix.starts_with(&filter) {
        return Err(ToolError::Invalid {
            what: report.store.describe(&report.folder),
            message: format!(
                "inventory {id:?} lists only keys under {filter:?}: it does not cover {}",
                need.source
            ),
        });
    }
    Ok(())
}

/// The configuration ID of a report folder (`.../source/ID/2026-...Z/`).
fn config_id(folder: &str) -> Option<String> {
    let mut parts = folder.trim_end_matches('/').rsplit('/');
    parts.next()?;
    parts.next().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_ids_come_from_report_folders() {
        assert_eq!(
            config_id("inv/src/daily/2026-12-06T01-00Z/").as_deref(),
            Some("daily")
        );
        assert_eq!(config_id("2026-12-06T01-00Z/"), None);
    }
}
