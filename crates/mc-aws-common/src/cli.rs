//! Command-line arguments shared by every AWS tool (clap derive, flattened).

use std::path::PathBuf;

use clap::Args;

use crate::error::ToolError;
use crate::listing::{shard_ranges, splits_file, KeyRange};

/// Where and as whom to talk to AWS. Loaded through aws-config, so profiles,
/// SSO, environment variables, web identity and instance roles work as they
/// do for the AWS CLI.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// Named profile from ~/.aws/config.
    #[arg(long, env = "AWS_PROFILE", global = true, help_heading = "AWS")]
    pub profile: Option<String>,
    /// Region (default: from the profile or environment).
    #[arg(long, env = "AWS_REGION", global = true, help_heading = "AWS")]
    pub region: Option<String>,
    /// Custom endpoint (an S3-compatible store, a local emulator, a VPC endpoint).
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true, help_heading = "AWS", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,
    /// S3 addressing: auto uses path-style with --endpoint-url, virtual-hosted otherwise.
    #[arg(long, value_enum, default_value_t = Addressing::Auto, env = "MC_S3_ADDRESSING", global = true, help_heading = "AWS")]
    pub addressing: Addressing,
}

/// `--endpoint-url`: an `http://` or `https://` URL with a host (checked
/// here: the SDK would only fail on it after its retries).
pub fn endpoint_url(s: &str) -> Result<String, String> {
    let uri: http::Uri = s
        .parse()
        .map_err(|e| format!("not a URL ({e}); expected e.g. https://s3.example.com"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(s.to_string()),
        _ => Err(
            "expected an http:// or https:// URL with a host, e.g. https://s3.example.com".into(),
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Addressing {
    #[default]
    Auto,
    Path,
    Virtual,
}

impl AwsArgs {
    /// Whether S3 requests use path-style addressing.
    pub fn path_style(&self) -> bool {
        match self.addressing {
            Addressing::Auto => self.endpoint_url.is_some(),
            Addressing::Path => true,
            Addressing::Virtual => false,
        }
    }
}

/// How hard to push a service: concurrency, request rate, retries.
#[derive(Debug, Clone, Args)]
pub struct ThrottleArgs {
    /// Requests in flight at most: listing, copying, writing (adaptive: lowered on
    /// throttling). Listing cursors are sized from it. Object ACL reads, where a tool
    /// makes them, have a budget of their own (--acl-reads).
    #[arg(long, short = 'j', default_value_t = 64, env = "MC_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..=4096), help_heading = "Throughput")]
    pub concurrency: u32,
    /// Cap on requests per second across the whole run (default: no cap).
    #[arg(long, env = "MC_MAX_RPS", value_parser = parse_positive_f64, help_heading = "Throughput")]
    pub max_rps: Option<f64>,
    /// Attempts per request before giving up (throttling and transient errors are retried with backoff).
    #[arg(long, default_value_t = 10, env = "MC_MAX_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..=100), help_heading = "Throughput")]
    pub max_attempts: u32,
}

impl Default for ThrottleArgs {
    fn default() -> Self {
        Self {
            concurrency: 64,
            max_rps: None,
            max_attempts: 10,
        }
    }
}

impl ThrottleArgs {
    /// Listing cursors for a run at `-j`: every request slot when listing is
    /// all the run does; a quarter of them (4 to 64) when each listed key
    /// also costs requests (a destination listing, a copy, an ACL read),
    /// since listing faster than keys are handled only fills memory.
    pub fn list_cursors(&self, per_key_work: bool) -> usize {
        let j = self.concurrency as usize;
        if per_key_work {
            (j / 4).clamp(4, 64)
        } else {
            j
        }
    }
}

/// `--acl-reads`: object ACL reads (GetObjectAcl) in flight at most, a budget
/// beside `-j`. A read is cheap and counts apart from writes in S3's
/// per-prefix limits, so reads overlap the copies instead of each copy
/// waiting for its read in the same slots.
#[derive(Debug, Clone, Default, Args)]
pub struct AclReadArgs {
    /// Object ACL reads in flight at most, beside -j (default: equal to -j). Requests in
    /// flight at most: -j + --acl-reads. With --max-rps both share one budget of -j.
    #[arg(long, value_name = "N", env = "MC_ACL_READS", value_parser = clap::value_parser!(u32).range(1..=4096), help_heading = "Throughput")]
    pub acl_reads: Option<u32>,
}

impl AclReadArgs {
    /// The throttle for ACL reads: one of its own of `--acl-reads` (default
    /// `-j`) slots, or `throttle` itself under `--max-rps` (a rate cap is
    /// for the whole run).
    pub fn throttle(
        &self,
        args: &ThrottleArgs,
        throttle: &std::sync::Arc<crate::retry::Throttle>,
    ) -> std::sync::Arc<crate::retry::Throttle> {
        if args.max_rps.is_some() {
            return throttle.clone();
        }
        crate::retry::Throttle::from_args(&ThrottleArgs {
            concurrency: self.acl_reads.unwrap_or(args.concurrency),
            ..args.clone()
        })
    }
}

fn parse_positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

/// `--shard i/N`: this process lists slice i (0-based) of N of the key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || format!("{s:?} is not a shard: expected i/N with 0 <= i < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let index: u32 = i.trim().parse().map_err(|_| err())?;
        let count: u32 = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `--shard i/N` and `--splits FILE`: the slice of the key space a run
/// covers, the same slice for every tool given the same two flags (sync,
/// verify and acl-reconciler of shard 2/8 work on the same keys).
#[derive(Debug, Clone, Default, Args)]
pub struct ShardArgs {
    /// Work on slice i of N (0-based) of the key space; the N slices cover every key
    /// once (run N machines with 0/N .. N-1/N).
    #[arg(long, value_name = "i/N", env = "MC_SHARD", help_heading = "Sharding")]
    pub shard: Option<Shard>,
    /// Split points for --shard, one per line (from `s3-key-counter --emit-splits N`): at
    /// most N-1; with fewer, the last slices are empty. Default: an even split of a fixed
    /// alphabet. Give every tool of a migration the same file.
    #[arg(
        long,
        value_name = "FILE",
        requires = "shard",
        env = "MC_SPLITS",
        help_heading = "Sharding"
    )]
    pub splits: Option<PathBuf>,
}

/// A resolved `--shard`/`--splits`: the key range a run covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardPlan {
    pub shard: Option<Shard>,
    /// The split points read from `--splits`.
    pub splits: Option<Vec<String>>,
    /// The slice (`None`: the whole prefix).
    pub range: Option<KeyRange>,
}

impl ShardArgs {
    /// Reads and checks the splits file against the shard and `prefix` (the
    /// listed prefix), and gives the slice to cover. A file with fewer
    /// points than N - 1 is noted (the last slices are empty).
    pub fn plan(&self, prefix: &str) -> Result<ShardPlan, ToolError> {
        let Some(shard) = self.shard else {
            return Ok(ShardPlan::default());
        };
        let points = match &self.splits {
            Some(path) => {
                let points = splits_file::read_points(path).map_err(ToolError::from)?;
                if let Some(note) = splits_file::check_for_shard(&points, path, shard, prefix)? {
                    tracing::warn!("{note}");
                }
                Some(points)
            }
            None => None,
        };
        Ok(ShardPlan {
            shard: Some(shard),
            range: Some(shard_ranges(prefix, shard, points.as_deref())),
            splits: points,
        })
    }
}

impl ShardPlan {
    /// What identifies the slice in a checkpoint: the shard, and the split
    /// points by a fingerprint (a resumed run must cover the same keys).
    pub fn id(&self) -> Option<String> {
        let shard = self.shard?;
        Some(match &self.splits {
            None => shard.to_string(),
            Some(points) => format!("{shard} splits:{}", splits_file::fingerprint(points)),
        })
    }
}

/// Per-side identities for tools that read one bucket and write another,
/// possibly in different accounts.
#[derive(Debug, Clone, Default, Args)]
pub struct TwoSidedArgs {
    /// Profile for the source bucket (default: --profile).
    #[arg(long, env = "MC_SOURCE_PROFILE", help_heading = "AWS")]
    pub source_profile: Option<String>,
    /// Profile for the destination bucket (default: --profile).
    #[arg(long, env = "MC_DEST_PROFILE", help_heading = "AWS")]
    pub dest_profile: Option<String>,
    /// Role to assume for the source side.
    #[arg(long, env = "MC_SOURCE_ROLE_ARN", help_heading = "AWS")]
    pub source_role_arn: Option<String>,
    /// Role to assume for the destination side.
    #[arg(long, env = "MC_DEST_ROLE_ARN", help_heading = "AWS")]
    pub dest_role_arn: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parses_and_validates() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        assert!("-1/4".parse::<Shard>().is_err());
    }

    #[test]
    fn path_style_follows_endpoint() {
        let mut a = AwsArgs::default();
        assert!(!a.path_style());
        a.endpoint_url = Some("http://127.0.0.1:1".into());
        assert!(a.path_style());
        a.addressing = Addressing::Virtual;
        assert!(!a.path_style());
    }

    #[test]
    fn endpoint_urls_are_checked_up_front() {
        for ok in [
            "http://127.0.0.1:4566",
            "https://s3.eu-west-1.amazonaws.com",
            "https://minio.internal/",
        ] {
            assert_eq!(endpoint_url(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "notaurl",
            "127.0.0.1:4566",
            "ftp://host",
            "http://",
            "",
            "http://a b",
        ] {
            assert!(endpoint_url(bad).is_err(), "{bad}");
        }
    }
}
