//! `batch create`: plan, upload the manifest, create the job.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_types::date_time::{DateTime, Format as DateFormat};
use mc_aws_common::cli::{AwsArgs, ThrottleArgs};
use mc_aws_common::config;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::{Format, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;
use mc_aws_common::s3url::S3Url;
use serde::Serialize;

use super::plan::{self, Planned};
use crate::cli::BatchCreateArgs;
use crate::manifest;
use crate::s3control::{partition, JobRequest, S3Control};

/// Manifests up to this size go up in one PutObject; larger ones in parts of it.
pub const UPLOAD_PART: u64 = 64 << 20;

/// The created job.
#[derive(Debug, Serialize)]
struct JobLine {
    kind: &'static str,
    job_id: String,
    account_id: String,
    region: String,
    operation: &'static str,
    manifest: String,
    report: String,
    confirmation_required: bool,
}

/// An uploaded manifest: its ARN and ETag (CreateJob's Location).
pub struct Uploaded {
    pub arn: String,
    pub etag: String,
    pub url: String,
    /// The region of the bucket it is in.
    pub region: String,
}

/// The manifest's name under `--manifest`: one per run.
fn manifest_key(prefix: &str) -> String {
    let now = DateTime::from(SystemTime::now())
        .fmt(DateFormat::DateTime)
        .unwrap_or_default()
        .replace([':', '-'], "");
    format!("{prefix}s3-copier-{now}.csv")
}

/// Uploads `file` to `bucket/key`: PutObject, or a multipart upload of
/// `part`-sized parts for a bigger file (a billion keys make tens of GB).
pub async fn upload(
    client: &aws_sdk_s3::Client,
    throttle: &Throttle,
    file: &Path,
    bucket: &str,
    key: &str,
    part: u64,
) -> Result<String, ToolError> {
    let size = std::fs::metadata(file)
        .map_err(|e| ToolError::file(file, e))?
        .len();
    let what = format!("s3://{bucket}/{key}");
    let body = |offset: u64, length: u64| async move {
        ByteStream::read_from()
            .path(file)
            .offset(offset)
            .length(aws_sdk_s3::primitives::Length::Exact(length))
            .build()
            .await
            .map_err(|e| ToolError::file(file, std::io::Error::other(e)))
    };
    if size <= part {
        let out = throttle
            .call(|| async {
                let b = body(0, size).await.map_err(ErrOr::Local)?;
                client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type("text/csv")
                    .body(b)
                    .send()
                    .await
                    .map_err(ErrOr::Sdk)
            })
            .await
            .map_err(|e| e.describe(&what))?;
        return Ok(out
            .e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string());
    }
    upload_parts(client, throttle, file, bucket, key, (size, part)).await
}

/// A failure of a request whose body is read from a file first.
#[derive(Debug)]
enum ErrOr<E> {
    Local(ToolError),
    Sdk(E),
}

impl<E> mc_aws_common::retry::Classify for ErrOr<E>
where
    E: mc_aws_common::retry::Classify,
{
    fn class(&self) -> mc_aws_common::error::ErrorClass {
        match self {
            ErrOr::Local(_) => mc_aws_common::error::ErrorClass::Permanent,
            ErrOr::Sdk(e) => e.class(),
        }
    }
}

impl<O> ErrOr<aws_sdk_s3::error::SdkError<O, aws_smithy_runtime_api::http::Response>>
where
    O: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    fn describe(self, what: &str) -> ToolError {
        match self {
            ErrOr::Local(e) => e,
            ErrOr::Sdk(e) => describe_sdk_error(&e, what),
        }
    }
}

async fn upload_parts(
    client: &aws_sdk_s3::Client,
    throttle: &Throttle,
    file: &Path,
    bucket: &str,
    key: &str,
    (size, part): (u64, u64),
) -> Result<String, ToolError> {
    let what = format!("s3://{bucket}/{key}");
    let created = throttle
        .call(|| {
            client
                .create_multipart_upload()
                .bucket(bucket)
                .key(key)
                .content_type("text/csv")
                .send()
        })
        .await
        .map_err(|e| describe_sdk_error(&e, &what))?;
    let upload_id = created.upload_id().unwrap_or_default().to_string();
    let mut parts = Vec::new();
    let mut result = Ok(());
    for (i, offset) in (0..size).step_by(part as usize).enumerate() {
        let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
        let length = part.min(size - offset);
        let sent = throttle
            .call(|| async {
                let b = ByteStream::read_from()
                    .path(file)
                    .offset(offset)
                    .length(aws_sdk_s3::primitives::Length::Exact(length))
                    .build()
                    .await
                    .map_err(|e| ErrOr::Local(ToolError::file(file, std::io::Error::other(e))))?;
                client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(b)
                    .send()
                    .await
                    .map_err(ErrOr::Sdk)
            })
            .await;
        match sent {
            Ok(o) => parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(o.e_tag().map(str::to_string))
                    .build(),
            ),
            Err(e) => {
                result = Err(e.describe(&what));
                break;
            }
        }
    }
    let done = match result {
        Ok(()) => throttle
            .call(|| {
                client
                    .complete_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts.clone()))
                            .build(),
                    )
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &what)),
        Err(e) => Err(e),
    };
    match done {
        Ok(o) => Ok(o.e_tag().unwrap_or_default().trim_matches('"').to_string()),
        Err(e) => {
            let _ = client
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
            Err(e)
        }
    }
}

/// Uploads the planned manifest under `--manifest`.
async fn upload_manifest(
    aws: &AwsArgs,
    at: &S3Url,
    file: &Path,
    throttle: &Throttle,
) -> Result<Uploaded, ToolError> {
    let conf = config::load(aws, None, None).await?;
    let client = config::client_for_bucket(&conf, aws, &at.bucket, throttle).await?;
    let key = manifest_key(&at.prefix);
    let etag = upload(&client, throttle, file, &at.bucket, &key, UPLOAD_PART).await?;
    let region = client
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    Ok(Uploaded {
        arn: format!("arn:{}:s3:::{}/{key}", partition(&region), at.bucket),
        etag,
        url: format!("s3://{}/{key}", at.bucket),
        region,
    })
}

/// The account in a role ARN (`arn:aws:iam::ACCOUNT:role/NAME`).
fn role_account(role_arn: &str) -> String {
    role_arn.split(':').nth(4).unwrap_or_default().to_string()
}

/// Where the manifest is kept locally: `--manifest-file`, or a temporary file.
fn local_manifest(a: &BatchCreateArgs) -> (PathBuf, bool) {
    match &a.manifest_file {
        Some(p) => (p.clone(), false),
        None => {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let name = format!("s3-copier-manifest-{}-{nanos}.csv", std::process::id());
            (std::env::temp_dir().join(name), true)
        }
    }
}

/// Runs `batch create`.
pub async fn run(
    a: &BatchCreateArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
) -> Result<i32, ToolError> {
    let (file, temporary) = local_manifest(a);
    let result = plan_and_create(a, aws, out, stop, &file).await;
    if temporary {
        let _ = std::fs::remove_file(&file);
    }
    result
}

async fn plan_and_create(
    a: &BatchCreateArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
    file: &Path,
) -> Result<i32, ToolError> {
    let planned = plan::plan(&a.diff, aws, out, stop, file).await?;
    plan::print(&planned, out.output);
    if planned.outcome != exit::SUCCESS {
        tracing::error!("the comparison did not finish: no job created");
        return Ok(planned.outcome);
    }
    if planned.profile.objects == 0 {
        tracing::warn!("nothing to copy: no job created");
        return Ok(exit::SUCCESS);
    }
    let operation = planned.operation.clone().map_err(|m| ToolError::Invalid {
        what: "batch create".into(),
        message: m,
    })?;
    let throttle = Throttle::from_args(&ThrottleArgs::default());
    let uploaded = upload_manifest(aws, &a.manifest, file, &throttle).await?;
    if uploaded.region != planned.job_region && !uploaded.region.is_empty() {
        tracing::warn!(
            "the manifest's bucket is in {}, the job in {}: AWS may refuse a manifest from another Region",
            uploaded.region,
            planned.job_region
        );
    }
    let request = job_request(a, &planned, &uploaded, operation);
    let account = a
        .account_id
        .clone()
        .unwrap_or_else(|| role_account(&a.role_arn));
    let conf = config::load(aws, None, None).await?;
    let control = S3Control::new(&conf, &account, &planned.job_region);
    let job_id = control.create_job(&throttle, &request).await?;
    print_job(
        out.output,
        JobLine {
            kind: "job",
            job_id,
            account_id: account,
            region: planned.job_region.clone(),
            operation: request.operation.name(),
            manifest: uploaded.url,
            report: report_url(a),
            confirmation_required: request.confirmation_required,
        },
    );
    Ok(exit::SUCCESS)
}

/// `--report`, or `reports/` under `--manifest`.
fn report_location(a: &BatchCreateArgs) -> S3Url {
    a.report.clone().unwrap_or_else(|| S3Url {
        bucket: a.manifest.bucket.clone(),
        prefix: format!("{}reports", a.manifest.prefix),
    })
}

fn report_url(a: &BatchCreateArgs) -> String {
    let r = report_location(a);
    format!("s3://{}/{}", r.bucket, r.prefix.trim_end_matches('/'))
}

fn job_request(
    a: &BatchCreateArgs,
    p: &Planned,
    m: &Uploaded,
    operation: crate::operation::Operation,
) -> JobRequest {
    let report = report_location(a);
    let r = &p.report;
    JobRequest {
        confirmation_required: !a.yes,
        description: format!("s3-copier {} -> {}", r.source, r.dest)
            .chars()
            .take(256)
            .collect(),
        manifest_arn: m.arn.clone(),
        manifest_etag: m.etag.clone(),
        manifest_fields: manifest::fields(p.versions),
        operation,
        priority: a.priority,
        report_bucket_arn: format!("arn:{}:s3:::{}", partition(&p.job_region), report.bucket),
        report_prefix: report.prefix.trim_end_matches('/').to_string(),
        report_scope: if a.report_all {
            "AllTasks"
        } else {
            "FailedTasksOnly"
        },
        role_arn: a.role_arn.clone(),
    }
}

fn print_job(format: Format, j: JobLine) {
    let mut p = Printer::new();
    let _ = match format {
        Format::Json => p.json(&j),
        Format::Human => {
            let mut s = format!(
                "job            {} ({} in {}, account {})\nmanifest       {}\nreport         {}/job-{}/manifest.json (when the job ends)\n",
                j.job_id, j.operation, j.region, j.account_id, j.manifest, j.report, j.job_id
            );
            if j.confirmation_required {
                s.push_str(&format!(
                    "waiting for confirmation (Suspended): read the plan above, then\n  s3-copier batch confirm --region {} --account-id {} {}\n",
                    j.region, j.account_id, j.job_id
                ));
            }
            s.push_str(&format!(
                "progress:      s3-copier batch status --region {} --account-id {} {}",
                j.region, j.account_id, j.job_id
            ));
            p.line(s)
        }
    };
    let _ = p.flush();
}
