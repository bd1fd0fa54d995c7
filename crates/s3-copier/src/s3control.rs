//! The two S3 Control calls `batch` needs, CreateJob and DescribeJob, made
//! by hand (REST-XML signed with SigV4 through `mc_aws_common::lean`)
//! instead of compiling `aws-sdk-s3control`. The request bodies follow the
//! SDK's model (`CreateJobRequest` in the `2018-08-20` namespace, elements
//! in the model's order) and are checked against AWS's documented examples
//! in the tests; the answers are read from the documented XML.
//!
//! Endpoint: `https://ACCOUNT.s3-control.REGION.amazonaws.com`, or
//! `AWS_ENDPOINT_URL_S3_CONTROL` (the SDKs' service-specific variable) as
//! given; `--endpoint-url` (meant for an S3-compatible store) is not used.

use aws_config::SdkConfig;
use aws_sigv4::http_request::{PayloadChecksumKind, SigningSettings};
use aws_smithy_types::body::SdkBody;
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder, XmlDecodeError};
use aws_smithy_xml::encode::{ScopeWriter, XmlWriter};
use bytes::Bytes;
use mc_aws_common::error::ToolError;
use mc_aws_common::lean::s3::s3_error;
use mc_aws_common::lean::{exchange, sign_request, Clock, CredentialCache, LeanError};
use mc_aws_common::retry::Throttle;
use serde::Serialize;

use crate::completion::md5_hex;
use crate::operation::Operation;

const NAMESPACE: &str = "http://awss3control.amazonaws.com/doc/2018-08-20/";
const USER_AGENT: &str = concat!("s3-copier/", env!("CARGO_PKG_VERSION"));
/// The service-specific endpoint variable of the AWS SDKs and CLI.
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_S3_CONTROL";
/// The completion report format.
pub const REPORT_FORMAT: &str = "Report_CSV_20180820";

/// What CreateJob is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    pub confirmation_required: bool,
    pub description: String,
    pub manifest_arn: String,
    pub manifest_etag: String,
    pub manifest_fields: &'static [&'static str],
    pub operation: Operation,
    pub priority: i32,
    pub report_bucket_arn: String,
    pub report_prefix: String,
    /// `FailedTasksOnly` or `AllTasks`.
    pub report_scope: &'static str,
    pub role_arn: String,
}

fn text(scope: &mut ScopeWriter<'_, '_>, name: &str, value: &str) {
    scope.start_el(name).finish().data(value);
}

fn operation(scope: &mut ScopeWriter<'_, '_>, op: &Operation) {
    let mut o = scope.start_el("Operation").finish();
    match op {
        Operation::Native(c) => {
            let mut copy = o.start_el("S3PutObjectCopy").finish();
            text(&mut copy, "TargetResource", &c.target_bucket_arn);
            if let Some(acl) = &c.canned_acl {
                text(&mut copy, "CannedAccessControlList", acl);
            }
            text(&mut copy, "MetadataDirective", "COPY");
            if let Some(class) = &c.storage_class {
                text(&mut copy, "StorageClass", class);
            }
            if let Some(p) = &c.target_key_prefix {
                text(&mut copy, "TargetKeyPrefix", p);
            }
            copy.finish();
        }
        Operation::Lambda { function_arn, .. } => {
            let mut l = o.start_el("LambdaInvoke").finish();
            text(&mut l, "FunctionArn", function_arn);
            text(&mut l, "InvocationSchemaVersion", "2.0");
            l.finish();
        }
    }
    o.finish();
}

/// The CreateJob body; `token` is its ClientRequestToken.
fn create_job_xml(r: &JobRequest, token: &str) -> String {
    let mut out = String::new();
    let mut writer = XmlWriter::new(&mut out);
    let mut root = writer
        .start_el("CreateJobRequest")
        .write_ns(NAMESPACE, None)
        .finish();
    if !token.is_empty() {
        text(&mut root, "ClientRequestToken", token);
    }
    text(
        &mut root,
        "ConfirmationRequired",
        bool_text(r.confirmation_required),
    );
    text(&mut root, "Description", &r.description);
    let mut manifest = root.start_el("Manifest").finish();
    let mut spec = manifest.start_el("Spec").finish();
    text(&mut spec, "Format", crate::manifest::FORMAT);
    let mut fields = spec.start_el("Fields").finish();
    for f in r.manifest_fields {
        text(&mut fields, "member", f);
    }
    fields.finish();
    spec.finish();
    let mut location = manifest.start_el("Location").finish();
    text(&mut location, "ObjectArn", &r.manifest_arn);
    text(&mut location, "ETag", &r.manifest_etag);
    location.finish();
    manifest.finish();
    operation(&mut root, &r.operation);
    text(&mut root, "Priority", &r.priority.to_string());
    let mut report = root.start_el("Report").finish();
    text(&mut report, "Bucket", &r.report_bucket_arn);
    text(&mut report, "Format", REPORT_FORMAT);
    text(&mut report, "Enabled", "true");
    text(&mut report, "Prefix", &r.report_prefix);
    text(&mut report, "ReportScope", r.report_scope);
    report.finish();
    text(&mut root, "RoleArn", &r.role_arn);
    root.finish();
    out
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// The CreateJob body. Its ClientRequestToken is the MD5 of the request
/// without it: the same job asked for twice (a retry, the same command run
/// again on the same manifest) is created once.
pub fn create_job_body(r: &JobRequest) -> String {
    let token = md5_hex(create_job_xml(r, "").as_bytes());
    create_job_xml(r, &token)
}

/// A job as DescribeJob tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    pub kind: &'static str,
    pub job_id: String,
    pub status: String,
    pub description: String,
    pub operation: String,
    pub total_tasks: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub elapsed_seconds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_update_reason: Option<String>,
    pub failure_reasons: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated: Option<String>,
}

fn data(tag: &mut ScopedDecoder<'_, '_>) -> Result<String, XmlDecodeError> {
    Ok(try_data(tag)?.trim().to_string())
}

fn number(tag: &mut ScopedDecoder<'_, '_>) -> Result<u64, XmlDecodeError> {
    let s = data(tag)?;
    s.parse()
        .map_err(|_| XmlDecodeError::custom(format!("{s:?} is not a count")))
}

/// The root element, checked.
fn root<'a, 'b>(
    doc: &'a mut Document<'b>,
    name: &str,
) -> Result<ScopedDecoder<'b, 'a>, XmlDecodeError> {
    let root = doc.root_element()?;
    if !root.start_el().matches(name) {
        return Err(XmlDecodeError::custom(format!(
            "expected <{name}>, got <{}>",
            root.start_el().local()
        )));
    }
    Ok(root)
}

/// CreateJob's answer: the JobId.
pub fn parse_create_job(body: &[u8]) -> Result<String, XmlDecodeError> {
    let body = std::str::from_utf8(body).map_err(XmlDecodeError::unhandled)?;
    let mut doc = Document::new(body);
    let mut root = root(&mut doc, "CreateJobResult")?;
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().local() == "JobId" {
            return data(&mut tag);
        }
    }
    Err(XmlDecodeError::custom("no JobId in the answer"))
}

/// UpdateJobStatus's answer: the job's status now.
pub fn parse_update_job_status(body: &[u8]) -> Result<String, XmlDecodeError> {
    let body = std::str::from_utf8(body).map_err(XmlDecodeError::unhandled)?;
    let mut doc = Document::new(body);
    let mut root = root(&mut doc, "UpdateJobStatusResult")?;
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().local() == "Status" {
            return data(&mut tag);
        }
    }
    Err(XmlDecodeError::custom("no Status in the answer"))
}

/// DescribeJob's answer.
pub fn parse_describe_job(body: &[u8]) -> Result<JobStatus, XmlDecodeError> {
    let body = std::str::from_utf8(body).map_err(XmlDecodeError::unhandled)?;
    let mut doc = Document::new(body);
    let mut root = root(&mut doc, "DescribeJobResult")?;
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().local() == "Job" {
            return job(&mut tag);
        }
    }
    Err(XmlDecodeError::custom("no Job in the answer"))
}

fn job(tag: &mut ScopedDecoder<'_, '_>) -> Result<JobStatus, XmlDecodeError> {
    let mut j = JobStatus {
        kind: "job",
        ..JobStatus::default()
    };
    while let Some(mut f) = tag.next_tag() {
        match f.start_el().local() {
            "JobId" => j.job_id = data(&mut f)?,
            "Status" => j.status = data(&mut f)?,
            "Description" => j.description = data(&mut f)?,
            "StatusUpdateReason" => j.status_update_reason = Some(data(&mut f)?),
            "CreationTime" => j.created = Some(data(&mut f)?),
            "TerminationDate" => j.terminated = Some(data(&mut f)?),
            "Operation" => {
                if let Some(op) = f.next_tag() {
                    j.operation = op.start_el().local().to_string();
                }
            }
            "ProgressSummary" => progress(&mut f, &mut j)?,
            "FailureReasons" => failures(&mut f, &mut j)?,
            "Report" => j.report = report(&mut f)?,
            _ => {}
        }
    }
    if j.job_id.is_empty() {
        return Err(XmlDecodeError::custom("the job has no JobId"));
    }
    Ok(j)
}

fn progress(tag: &mut ScopedDecoder<'_, '_>, j: &mut JobStatus) -> Result<(), XmlDecodeError> {
    while let Some(mut f) = tag.next_tag() {
        match f.start_el().local() {
            "TotalNumberOfTasks" => j.total_tasks = number(&mut f)?,
            "NumberOfTasksSucceeded" => j.succeeded = number(&mut f)?,
            "NumberOfTasksFailed" => j.failed = number(&mut f)?,
            "Timers" => {
                while let Some(mut t) = f.next_tag() {
                    if t.start_el().local() == "ElapsedTimeInActiveSeconds" {
                        j.elapsed_seconds = number(&mut t)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn failures(tag: &mut ScopedDecoder<'_, '_>, j: &mut JobStatus) -> Result<(), XmlDecodeError> {
    while let Some(mut member) = tag.next_tag() {
        let (mut code, mut reason) = (String::new(), String::new());
        while let Some(mut f) = member.next_tag() {
            match f.start_el().local() {
                "FailureCode" => code = data(&mut f)?,
                "FailureReason" => reason = data(&mut f)?,
                _ => {}
            }
        }
        j.failure_reasons.push(format!("{code}: {reason}"));
    }
    Ok(())
}

/// Where the completion report goes, as `s3://bucket/prefix`.
fn report(tag: &mut ScopedDecoder<'_, '_>) -> Result<Option<String>, XmlDecodeError> {
    let (mut bucket, mut prefix, mut enabled) = (String::new(), String::new(), false);
    while let Some(mut f) = tag.next_tag() {
        match f.start_el().local() {
            "Bucket" => bucket = data(&mut f)?,
            "Prefix" => prefix = data(&mut f)?,
            "Enabled" => enabled = data(&mut f)? == "true",
            _ => {}
        }
    }
    let name = bucket.rsplit(':').next().unwrap_or_default().to_string();
    Ok((enabled && !name.is_empty()).then(|| format!("s3://{name}/{prefix}")))
}

/// The AWS partition of a region (ARNs).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A minimal S3 Control client for one account and region.
pub struct S3Control {
    base: String,
    account: String,
    region: String,
    connector: mc_aws_common::lean::Connector,
    credentials: CredentialCache,
    clock: Clock,
}

impl S3Control {
    /// From the tool's `SdkConfig` (its credentials) for `account` in `region`.
    pub fn new(config: &SdkConfig, account: &str, region: &str) -> Self {
        let endpoint = std::env::var(ENDPOINT_ENV).ok().filter(|v| !v.is_empty());
        let base = mc_aws_common::lean::s3control::url(endpoint.as_deref(), account, region, "");
        Self {
            base,
            account: account.to_string(),
            region: region.to_string(),
            connector: mc_aws_common::lean::https_connector(config.sleep_impl()),
            credentials: CredentialCache::new(config.credentials_provider()),
            clock: Clock::new(config.time_source()),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// CreateJob: the new job's id.
    pub async fn create_job(
        &self,
        throttle: &Throttle,
        r: &JobRequest,
    ) -> Result<String, ToolError> {
        let what = format!(
            "S3 Control CreateJob (account {}, {})",
            self.account, self.region
        );
        let body = create_job_body(r);
        let answer = throttle
            .call(|| self.call(http::Method::POST, "/v20180820/jobs", Some(&body)))
            .await
            .map_err(|e| e.describe(&what))?;
        parse_create_job(&answer).map_err(|e| unreadable(&what, &e))
    }

    /// DescribeJob.
    pub async fn describe_job(
        &self,
        throttle: &Throttle,
        job_id: &str,
    ) -> Result<JobStatus, ToolError> {
        let what = format!(
            "Batch Operations job {job_id} (account {}, {})",
            self.account, self.region
        );
        let path = format!("/v20180820/jobs/{}", mc_aws_common::keys::uri_path(job_id));
        let answer = throttle
            .call(|| self.call(http::Method::GET, &path, None))
            .await
            .map_err(|e| e.describe(&what))?;
        parse_describe_job(&answer).map_err(|e| unreadable(&what, &e))
    }

    /// UpdateJobStatus: asks for `Ready` (confirm a job waiting for
    /// confirmation) or `Cancelled`; the job's status after it.
    pub async fn update_job_status(
        &self,
        throttle: &Throttle,
        job_id: &str,
        requested: &str,
    ) -> Result<String, ToolError> {
        let what = format!(
            "Batch Operations job {job_id} (account {}, {})",
            self.account, self.region
        );
        let path = format!(
            "/v20180820/jobs/{}/status?requestedJobStatus={requested}",
            mc_aws_common::keys::uri_path(job_id)
        );
        let answer = throttle
            .call(|| self.call(http::Method::POST, &path, None))
            .await
            .map_err(|e| e.describe(&what))?;
        parse_update_job_status(&answer).map_err(|e| unreadable(&what, &e))
    }

    /// One signed request (the caller's throttle retries): the body of a
    /// 200, else the service's error. (Not `lean::s3::S3Lean`: CreateJob is a
    /// POST with a body, signed for the job's region, with no SDK call to
    /// capture an endpoint from.)
    async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&str>,
    ) -> Result<Bytes, LeanError> {
        let credentials = self.credentials.get().await?;
        let url = format!("{}{path}", self.base);
        let mut builder = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header("x-amz-account-id", self.account.as_str())
            .header(http::header::USER_AGENT, USER_AGENT);
        if body.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/xml");
        }
        let mut request = builder
            .body(body.map_or_else(SdkBody::empty, |b| SdkBody::from(b.to_string())))
            .map_err(|e| LeanError::Local(format!("{url}: {e}")))?;
        // As the SDK signs S3 Control: service `s3`, the payload's SHA-256 in a header.
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        sign_request(
            &mut request,
            credentials,
            &self.region,
            "s3",
            self.clock.now(),
            settings,
        )?;
        let answer = exchange(&self.connector, request, &url).await?;
        if answer.status == 200 {
            return Ok(answer.body);
        }
        let error = s3_error(answer.status, &answer.body);
        if error.is_credentials_refused() {
            self.credentials.invalidate().await;
        }
        Err(error)
    }
}

fn unreadable(what: &str, e: &XmlDecodeError) -> ToolError {
    ToolError::Service {
        what: what.to_string(),
        message: format!("unreadable answer: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::NativeCopy;

    /// The user guide's `aws s3control create-job` example, as a copy job.
    fn documented() -> JobRequest {
        JobRequest {
            confirmation_required: false,
            description: "job Description".into(),
            manifest_arn: "arn:aws:s3:::my_manifests/manifest.csv".into(),
            manifest_etag: "60e460c9d1046e73f7dde5043ac3ae85".into(),
            manifest_fields: &["Bucket", "Key"],
            operation: Operation::Native(NativeCopy {
                target_bucket_arn: "arn:aws:s3:::destination-bucket".into(),
                target_key_prefix: None,
                storage_class: None,
                canned_acl: None,
            }),
            priority: 10,
            report_bucket_arn: "arn:aws:s3:::bucket-where-completion-report-goes".into(),
            report_prefix: "final-reports".into(),
            report_scope: "AllTasks",
            role_arn: "arn:aws:iam::111122223333:role/batch-operations-role".into(),
        }
    }

    #[test]
    fn create_job_body_follows_the_model() {
        let body = create_job_body(&documented());
        let token = md5_hex(create_job_xml(&documented(), "").as_bytes());
        let expected = format!(
            "<CreateJobRequest xmlns=\"http://awss3control.amazonaws.com/doc/2018-08-20/\">\
             <ClientRequestToken>{token}</ClientRequestToken>\
             <ConfirmationRequired>false</ConfirmationRequired>\
             <Description>job Description</Description>\
             <Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format>\
             <Fields><member>Bucket</member><member>Key</member></Fields></Spec>\
             <Location><ObjectArn>arn:aws:s3:::my_manifests/manifest.csv</ObjectArn>\
             <ETag>60e460c9d1046e73f7dde5043ac3ae85</ETag></Location></Manifest>\
             <Operation><S3PutObjectCopy><TargetResource>arn:aws:s3:::destination-bucket</TargetResource>\
             <MetadataDirective>COPY</MetadataDirective></S3PutObjectCopy></Operation>\
             <Priority>10</Priority>\
             <Report><Bucket>arn:aws:s3:::bucket-where-completion-report-goes</Bucket>\
             <Format>Report_CSV_20180820</Format><Enabled>true</Enabled>\
             <Prefix>final-reports</Prefix><ReportScope>AllTasks</ReportScope></Report>\
             <RoleArn>arn:aws:iam::111122223333:role/batch-operations-role</RoleArn>\
             </CreateJobRequest>"
        );
        assert_eq!(body, expected);
        // The same request, the same token; another request, another one.
        assert_eq!(create_job_body(&documented()), body);
        let mut other = documented();
        other.priority = 11;
        assert_ne!(
            create_job_body(&other),
            body.replace("<Priority>10", "<Priority>11")
        );
    }

    #[test]
    fn lambda_jobs_and_escaping() {
        let mut r = documented();
        r.description = "s3-copier s3://a/<&> -> s3://b/".into();
        r.operation = Operation::Lambda {
            function_arn: "arn:aws:lambda:us-west-2:111122223333:function:s3-copier".into(),
            reads_acls: true,
        };
        let body = create_job_body(&r);
        assert!(body.contains("<Operation><LambdaInvoke><FunctionArn>arn:aws:lambda:us-west-2:111122223333:function:s3-copier</FunctionArn><InvocationSchemaVersion>2.0</InvocationSchemaVersion></LambdaInvoke></Operation>"), "{body}");
        assert!(body.contains("s3://a/&lt;&amp;&gt;"), "{body}");
    }

    #[test]
    fn reads_the_documented_answers() {
        let id = parse_create_job(include_bytes!("../tests/data/create-job.aws.xml")).unwrap();
        assert_eq!(id, "f8fb9d89-a3aa-461d-bddc-ea6a1b131955");
        let j = parse_describe_job(include_bytes!("../tests/data/describe-job.aws.xml")).unwrap();
        assert_eq!(j.job_id, id);
        assert_eq!(j.status, "Active");
        assert_eq!(j.operation, "S3PutObjectCopy");
        assert_eq!(
            (j.total_tasks, j.succeeded, j.failed, j.elapsed_seconds),
            (10_000, 1998, 2, 341)
        );
        assert_eq!(
            j.failure_reasons,
            ["InternalError: Job failed due to an internal error"]
        );
        assert_eq!(
            j.report.as_deref(),
            Some("s3://bucket-where-completion-report-goes/final-reports")
        );
        assert_eq!(
            j.status_update_reason.as_deref(),
            Some("Job is in progress")
        );
        let status =
            parse_update_job_status(include_bytes!("../tests/data/update-job-status.aws.xml"));
        assert_eq!(status.unwrap(), "Ready");
        assert!(parse_describe_job(b"<CreateJobResult/>").is_err());
        assert!(parse_create_job(b"<CreateJobResult></CreateJobResult>").is_err());
        assert!(parse_create_job(b"not xml").is_err());
    }

    #[test]
    fn reads_errors_wrapped_or_not() {
        let wrapped = b"<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchJob</Code><Message>The specified job does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>";
        let e = s3_error(404, wrapped);
        assert_eq!(e.code(), "NoSuchJob");
        assert_eq!(
            e.to_string(),
            "NoSuchJob (HTTP 404): The specified job does not exist"
        );
        let bare = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert_eq!(
            s3_error(403, bare).describe("job").exit_code(),
            mc_aws_common::exit::AUTH
        );
        assert!(s3_error(400, b"<Error><Code>ExpiredToken</Code></Error>").is_credentials_refused());
        assert_eq!(s3_error(502, b"<html/>").code(), "RequestFailed");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-west-1"), "aws");
    }
}
