//! `batch status`: a job's status and progress (DescribeJob); `batch
//! confirm` / `cancel`: UpdateJobStatus.

use mc_aws_common::cli::{AwsArgs, ThrottleArgs};
use mc_aws_common::config;
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::output::{human_count, Format, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;

use crate::cli::BatchStatusArgs;
use crate::s3control::{JobStatus, S3Control};

/// The S3 Control client for the job's account, in the region given.
async fn control(a: &BatchStatusArgs, aws: &AwsArgs) -> Result<S3Control, ToolError> {
    let conf = config::load(aws, None, None).await?;
    let region = conf
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| ToolError::Invalid {
            what: "batch".into(),
            message: "no region: pass --region (the job's) or set AWS_REGION".into(),
        })?;
    Ok(S3Control::new(&conf, &a.account_id, &region))
}

/// Runs `batch confirm` (`requested`: Ready) or `batch cancel` (Cancelled).
pub async fn update(
    a: &BatchStatusArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    requested: &str,
) -> Result<i32, ToolError> {
    let control = control(a, aws).await?;
    let throttle = Throttle::from_args(&ThrottleArgs::default());
    let status = control
        .update_job_status(&throttle, &a.job_id, requested)
        .await?;
    let mut p = Printer::new();
    let _ = match out.output {
        Format::Json => {
            p.json(&serde_json::json!({"kind": "job", "job_id": a.job_id, "status": status}))
        }
        Format::Human => p.line(format!(
            "job            {}
status         {status}",
            a.job_id
        )),
    };
    let _ = p.flush();
    Ok(exit::SUCCESS)
}

/// Runs `batch status`: 0 unless the job failed (1).
pub async fn run(a: &BatchStatusArgs, aws: &AwsArgs, out: &OutputArgs) -> Result<i32, ToolError> {
    let control = control(a, aws).await?;
    let throttle = Throttle::from_args(&ThrottleArgs::default());
    let job = control.describe_job(&throttle, &a.job_id).await?;
    let mut p = Printer::new();
    let _ = match out.output {
        Format::Json => p.json(&job),
        Format::Human => p.line(human(&job).trim_end()),
    };
    let _ = p.flush();
    Ok(if job.status == "Failed" {
        exit::PARTIAL_FAILURE
    } else {
        exit::SUCCESS
    })
}

/// The human block.
pub fn human(j: &JobStatus) -> String {
    let done = j.succeeded + j.failed;
    let percent = if j.total_tasks > 0 {
        format!(" ({:.1}%)", done as f64 * 100.0 / j.total_tasks as f64)
    } else {
        String::new()
    };
    let mut out = format!(
        "job            {}\nstatus         {}\noperation      {}\nprogress       {} of {} tasks{percent}: {} succeeded, {} failed\nactive for     {}s\n",
        j.job_id,
        j.status,
        j.operation,
        human_count(done),
        human_count(j.total_tasks),
        human_count(j.succeeded),
        human_count(j.failed),
        j.elapsed_seconds
    );
    if let Some(r) = &j.status_update_reason {
        out.push_str(&format!("reason         {r}\n"));
    }
    for f in &j.failure_reasons {
        out.push_str(&format!("failure        {f}\n"));
    }
    if let Some(r) = &j.report {
        out.push_str(&format!(
            "report         {}/job-{}/manifest.json\n",
            r.trim_end_matches('/'),
            j.job_id
        ));
    }
    out
}
