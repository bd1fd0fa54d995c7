//! SDK configuration and S3 clients that talk to each bucket's own region.

use std::time::Duration;

use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::cli::AwsArgs;
use crate::error::{describe_sdk_error, ToolError};
use crate::retry::Throttle;

/// Loads the SDK configuration like the AWS CLI does, with `profile`
/// overriding `args.profile` (per-side identities). SDK retries are off: every
/// call goes through [`crate::retry::Throttle`], which retries with jitter and
/// adapts concurrency for the whole run.
///
/// A named profile that is in neither profile file fails at once
/// ([`ToolError::UnknownProfile`], exit 4) instead of falling through to IMDS.
pub async fn load(
    args: &AwsArgs,
    profile: Option<&str>,
    role_arn: Option<&str>,
) -> Result<SdkConfig, ToolError> {
    let profile = profile.or(args.profile.as_deref());
    if let Some(p) = profile.filter(|p| *p != "default") {
        let files = crate::profiles::profile_files();
        if !crate::profiles::profile_exists(p, &files) {
            return Err(ToolError::UnknownProfile {
                profile: p.to_string(),
                files: format!("{} or {}", files[0].display(), files[1].display()),
            });
        }
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &args.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(e) = &args.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    let base = loader.load().await;
    Ok(match role_arn {
        None => base,
        Some(arn) => {
            let provider = aws_config::sts::AssumeRoleProvider::builder(arn)
                .session_name("mc-ops-toolkit")
                .configure(&base)
                .build()
                .await;
            base.into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build()
        }
    })
}

/// An S3 client for `config`, path-style where `args` asks for it.
pub fn s3_client(config: &SdkConfig, args: &AwsArgs) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(args.path_style())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// An S3 client bound to a bucket's own region, found with HeadBucket (its
/// `x-amz-bucket-region` answer works from any region, even on a 301 or 403),
/// so a US source and an EU destination just work. The HeadBucket goes
/// through `throttle` like every other request, so a SlowDown or a reset
/// connection at start-up is retried. Fails with a clear error if the bucket
/// does not exist or cannot be reached.
pub async fn client_for_bucket(
    config: &SdkConfig,
    args: &AwsArgs,
    bucket: &str,
    throttle: &Throttle,
) -> Result<aws_sdk_s3::Client, ToolError> {
    let client = s3_client(config, args);
    let head = throttle.call(|| client.head_bucket().bucket(bucket).send());
    let region = match head.await {
        Ok(out) => out.bucket_region().map(str::to_string),
        Err(err) => {
            let region = bucket_region_header(&err);
            // A redirect to another region is not an error for us. Nor is a
            // 403 that names the region: a policy that allows listing only
            // under a prefix (`s3:prefix`) refuses HeadBucket, and the first
            // listing says clearly whether the identity may list what it needs.
            let usable = region.is_some() && (is_redirect(&err) || is_forbidden(&err));
            if !usable {
                let what = format!("bucket {bucket}");
                let mut described = describe_sdk_error(&err, &what);
                if without_error_code(&err) {
                    // HEAD answers carry no error body, so an expired token is a bare
                    // 400/403: a GET tells us the code (same permission, s3:ListBucket).
                    let list = throttle
                        .call(|| client.list_objects_v2().bucket(bucket).max_keys(1).send());
                    if let Err(e) = list.await {
                        match describe_sdk_error(&e, &what) {
                            ToolError::AccessDenied { .. } => {}
                            other => described = other,
                        }
                    }
                }
                return Err(match described {
                    // HEAD answers carry no error body: say what permission is missing.
                    ToolError::AccessDenied { what, code, hint } if hint.is_empty() => ToolError::AccessDenied {
                        what,
                        code,
                        hint: ": needs s3:ListBucket on it (and the bucket policy must allow this identity)".to_string(),
                    },
                    other => other,
                });
            }
            region
        }
    };
    let configured = config.region().map(|r| r.as_ref().to_string());
    match region {
        Some(r) if Some(&r) != configured.as_ref() && !r.is_empty() => {
            tracing::info!(bucket, region = %r, "bucket lives in another region; using it");
            let conf = aws_sdk_s3::config::Builder::from(config)
                .force_path_style(args.path_style())
                .region(Region::new(r))
                .build();
            Ok(aws_sdk_s3::Client::from_conf(conf))
        }
        _ => Ok(client),
    }
}

fn bucket_region_header<E>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Option<String> {
    err.raw_response()?
        .headers()
        .get("x-amz-bucket-region")
        .map(str::to_string)
}

fn without_error_code<E: ProvideErrorMetadata>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    matches!(err, SdkError::ServiceError(ctx)
        if ctx.err().code().is_none() && matches!(ctx.raw().status().as_u16(), 400 | 403))
}

fn is_forbidden<E>(err: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> bool {
    err.raw_response()
        .is_some_and(|r| r.status().as_u16() == 403)
}

fn is_redirect<E>(err: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> bool {
    err.raw_response()
        .is_some_and(|r| matches!(r.status().as_u16(), 301 | 307 | 400))
}
