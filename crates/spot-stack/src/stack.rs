//! Deploy (create or update through a change set), delete and remote
//! validation, streaming the stack's events while waiting.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{ChangeSetStatus, ChangeSetType, StackStatus};
use aws_sdk_cloudformation::Client;
use aws_smithy_types::date_time::Format as DateFormat;
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::output::{Format, Printer};
use mc_aws_common::retry::{Backoff, Throttle};
use serde::Serialize;

use crate::cli::{DeleteArgs, DeployArgs, WaitArgs};
use crate::Error;

/// A client and a throttle for one run.
pub struct Cfn {
    pub client: Client,
    pub throttle: Arc<Throttle>,
}

impl Cfn {
    pub async fn connect(args: &AwsArgs) -> Result<Self, ToolError> {
        let config = mc_aws_common::config::load(args, None, None).await?;
        Ok(Self {
            client: Client::new(&config),
            throttle: throttle(),
        })
    }
}

/// Control-plane calls: a few at a time, retried with backoff.
pub fn throttle() -> Arc<Throttle> {
    Throttle::new(4, None, Backoff::default())
}

/// One stack event, as printed.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub time: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

/// The end of a deploy or delete, as printed.
#[derive(Debug, Serialize)]
struct Outcome<'a> {
    stack: &'a str,
    action: &'a str,
    status: String,
    ok: bool,
}

/// A stack's id and status, or `None` if it does not exist.
async fn describe(cfn: &Cfn, name: &str) -> Result<Option<(String, StackStatus)>, Error> {
    let res = cfn
        .throttle
        .call(|| cfn.client.describe_stacks().stack_name(name).send())
        .await;
    match res {
        Ok(out) => Ok(out.stacks().first().map(|s| {
            (
                s.stack_id().unwrap_or(name).to_string(),
                s.stack_status()
                    .cloned()
                    .unwrap_or(StackStatus::CreateComplete),
            )
        })),
        Err(e) => match describe_sdk_error(&e, &format!("stack {name}")) {
            ToolError::NotFound { .. } => Ok(None),
            other => Err(other.into()),
        },
    }
}

fn is_no_change(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("didn't contain changes")
        || r.contains("did not contain changes")
        || r.contains("no updates are to be performed")
        || r.contains("no changes")
}

/// `validate` against CloudFormation: ValidateTemplate.
pub async fn validate_remote(
    args: &AwsArgs,
    body: &str,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let cfn = Cfn::connect(args).await?;
    let res = cfn
        .throttle
        .call(|| cfn.client.validate_template().template_body(body).send())
        .await
        .map_err(|e| describe_sdk_error(&e, "CloudFormation ValidateTemplate"))?;
    match format {
        Format::Json => out.json(&serde_json::json!({
            "cloudformation": "valid",
            "description": res.description(),
        }))?,
        Format::Human => out.line("ok: CloudFormation ValidateTemplate accepted the template")?,
    }
    Ok(())
}

/// Create or update the stack, then wait for it, streaming events.
pub async fn deploy(
    args: &AwsArgs,
    a: &DeployArgs,
    body: &str,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let cfn = Cfn::connect(args).await?;
    let name = a.stack_name.as_str();
    let existing = describe(&cfn, name).await?;
    let mut seen = HashSet::new();
    if let Some((id, status)) = &existing {
        let s = status.as_str();
        if s.ends_with("_IN_PROGRESS") {
            return Err(Error::Invalid(format!(
                "stack {name} is busy ({s}): wait for it to settle, then deploy again"
            )));
        }
        if matches!(
            status,
            StackStatus::RollbackComplete | StackStatus::RollbackFailed | StackStatus::DeleteFailed
        ) {
            return Err(Error::Invalid(format!(
                "stack {name} is in {s} after a failed create and cannot be updated: run `spot-stack delete --stack-name {name}`, then deploy again"
            )));
        }
        // Events of earlier operations are history, not this deploy.
        for e in events(&cfn, id).await? {
            seen.insert(e.0);
        }
    }
    let create = existing.is_none();
    let action = if create { "create" } else { "update" };
    let started = Instant::now();
    let stack_id = if a.no_change_set {
        if create {
            let res = cfn
                .throttle
                .call(|| {
                    cfn.client
                        .create_stack()
                        .stack_name(name)
                        .template_body(body)
                        .send()
                })
                .await
                .map_err(|e| describe_sdk_error(&e, &format!("stack {name}")))?;
            res.stack_id().unwrap_or(name).to_string()
        } else {
            let res = cfn
                .throttle
                .call(|| {
                    cfn.client
                        .update_stack()
                        .stack_name(name)
                        .template_body(body)
                        .send()
                })
                .await;
            match res {
                Ok(r) => r.stack_id().unwrap_or(name).to_string(),
                Err(e) => {
                    let err = describe_sdk_error(&e, &format!("stack {name}"));
                    if is_no_change(&err.to_string()) {
                        return no_change(name, format, out);
                    }
                    return Err(err.into());
                }
            }
        }
    } else {
        let change_set = format!("spot-stack-{}", unique_suffix());
        let res = cfn
            .throttle
            .call(|| {
                cfn.client
                    .create_change_set()
                    .stack_name(name)
                    .change_set_name(&change_set)
                    .change_set_type(if create {
                        ChangeSetType::Create
                    } else {
                        ChangeSetType::Update
                    })
                    .template_body(body)
                    .description("spot-stack deploy")
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &format!("stack {name}: change set")))?;
        let cs_id = res.id().unwrap_or(&change_set).to_string();
        let stack_id = res.stack_id().unwrap_or(name).to_string();
        // Wait for the change set to be computed.
        loop {
            let d = cfn
                .throttle
                .call(|| {
                    cfn.client
                        .describe_change_set()
                        .change_set_name(&cs_id)
                        .stack_name(&stack_id)
                        .send()
                })
                .await
                .map_err(|e| describe_sdk_error(&e, &format!("stack {name}: change set")))?;
            match d.status() {
                Some(ChangeSetStatus::CreateComplete) => {
                    if !create && d.changes().is_empty() {
                        delete_change_set(&cfn, &cs_id, &stack_id).await;
                        return no_change(name, format, out);
                    }
                    break;
                }
                Some(ChangeSetStatus::Failed) => {
                    let reason = d.status_reason().unwrap_or("").to_string();
                    if !create && is_no_change(&reason) {
                        delete_change_set(&cfn, &cs_id, &stack_id).await;
                        return no_change(name, format, out);
                    }
                    delete_change_set(&cfn, &cs_id, &stack_id).await;
                    if create {
                        // A CREATE change set leaves an empty REVIEW_IN_PROGRESS stack behind.
                        let _ = cfn
                            .throttle
                            .call(|| cfn.client.delete_stack().stack_name(&stack_id).send())
                            .await;
                    }
                    return Err(Error::Failed(format!(
                        "stack {name}: change set failed: {}",
                        one_line(&reason)
                    )));
                }
                _ => {}
            }
            if started.elapsed().as_secs_f64() > a.wait.timeout_seconds {
                return Err(timeout(name, &a.wait));
            }
            tokio::time::sleep(poll(&a.wait).min(Duration::from_secs(2))).await;
        }
        let executed = cfn
            .throttle
            .call(|| {
                cfn.client
                    .execute_change_set()
                    .change_set_name(&cs_id)
                    .stack_name(&stack_id)
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &format!("stack {name}: execute change set")));
        if let Err(e) = executed {
            if create {
                // Do not leave an empty REVIEW_IN_PROGRESS stack behind.
                let _ = cfn
                    .throttle
                    .call(|| cfn.client.delete_stack().stack_name(&stack_id).send())
                    .await;
            }
            return Err(e.into());
        }
        stack_id
    };
    if format == Format::Human {
        out.line(format!("{action} stack {name}: waiting (events follow)"))?;
        out.flush()?;
    }
    let status = wait(
        &cfn, &stack_id, name, &a.wait, &mut seen, format, out, started,
    )
    .await?;
    finish(name, action, status, &cfn, &stack_id, format, out).await
}

/// Delete the stack and wait until it is gone.
pub async fn delete(
    args: &AwsArgs,
    a: &DeleteArgs,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let cfn = Cfn::connect(args).await?;
    let name = a.stack_name.as_str();
    let Some((id, _)) = describe(&cfn, name).await? else {
        return Err(ToolError::NotFound {
            what: format!("stack {name}"),
            code: "ValidationError".into(),
        }
        .into());
    };
    let mut seen: HashSet<String> = events(&cfn, &id).await?.into_iter().map(|e| e.0).collect();
    let started = Instant::now();
    cfn.throttle
        .call(|| cfn.client.delete_stack().stack_name(&id).send())
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("stack {name}")))?;
    if format == Format::Human {
        out.line(format!("delete stack {name}: waiting (events follow)"))?;
        out.flush()?;
    }
    let status = wait(&cfn, &id, name, &a.wait, &mut seen, format, out, started).await?;
    finish(name, "delete", status, &cfn, &id, format, out).await
}

fn no_change(name: &str, format: Format, out: &mut Printer) -> Result<(), Error> {
    match format {
        Format::Json => out.json(&Outcome {
            stack: name,
            action: "update",
            status: "NO_CHANGES".into(),
            ok: true,
        })?,
        Format::Human => out.line(format!("stack {name} is up to date: no changes"))?,
    }
    Ok(())
}

async fn delete_change_set(cfn: &Cfn, id: &str, stack: &str) {
    let _ = cfn
        .throttle
        .call(|| {
            cfn.client
                .delete_change_set()
                .change_set_name(id)
                .stack_name(stack)
                .send()
        })
        .await;
}

fn poll(w: &WaitArgs) -> Duration {
    Duration::from_secs_f64(w.poll_seconds.max(0.2))
}

fn timeout(name: &str, w: &WaitArgs) -> Error {
    Error::Aws(ToolError::Service {
        what: format!("stack {name}"),
        message: format!(
            "still in progress after {} s (it goes on; check with `spot-stack status`)",
            crate::fmt_num(w.timeout_seconds)
        ),
    })
}

/// (event id, event), oldest first, most recent page only.
async fn events(cfn: &Cfn, stack: &str) -> Result<Vec<(String, Event)>, Error> {
    let res = cfn
        .throttle
        .call(|| cfn.client.describe_stack_events().stack_name(stack).send())
        .await;
    let res = match res {
        Ok(r) => r,
        Err(e) => {
            return match describe_sdk_error(&e, &format!("stack {stack}")) {
                ToolError::NotFound { .. } => Ok(Vec::new()),
                other => Err(other.into()),
            }
        }
    };
    let mut list: Vec<(String, Event)> = res
        .stack_events()
        .iter()
        .map(|e| {
            (
                e.event_id().unwrap_or_default().to_string(),
                Event {
                    time: e
                        .timestamp()
                        .and_then(|t| t.fmt(DateFormat::DateTime).ok())
                        .unwrap_or_default(),
                    logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: e.resource_type().unwrap_or_default().to_string(),
                    status: e
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: e
                        .resource_status_reason()
                        .filter(|r| !r.is_empty())
                        .map(one_line),
                },
            )
        })
        .collect();
    // The API lists newest first.
    list.reverse();
    Ok(list)
}

#[allow(clippy::too_many_arguments)]
async fn wait(
    cfn: &Cfn,
    stack_id: &str,
    name: &str,
    w: &WaitArgs,
    seen: &mut HashSet<String>,
    format: Format,
    out: &mut Printer,
    started: Instant,
) -> Result<StackStatus, Error> {
    loop {
        for (id, e) in events(cfn, stack_id).await? {
            if seen.insert(id) {
                print_event(&e, format, out)?;
            }
        }
        out.flush()?;
        let status = match describe(cfn, stack_id).await? {
            // Gone entirely (some emulators forget deleted stacks).
            None => StackStatus::DeleteComplete,
            Some((_, s)) => s,
        };
        let s = status.as_str();
        if !s.ends_with("_IN_PROGRESS") {
            // Print what happened between the last poll and the end.
            for (id, e) in events(cfn, stack_id).await? {
                if seen.insert(id) {
                    print_event(&e, format, out)?;
                }
            }
            return Ok(status);
        }
        if started.elapsed().as_secs_f64() > w.timeout_seconds {
            return Err(timeout(name, w));
        }
        tokio::time::sleep(poll(w)).await;
    }
}

fn print_event(e: &Event, format: Format, out: &mut Printer) -> Result<(), Error> {
    match format {
        Format::Json => out.json(e)?,
        Format::Human => {
            let time = e.time.get(11..19).unwrap_or(&e.time);
            let mut line = format!(
                "  {time}  {:<20}  {} ({})",
                e.status, e.logical_id, e.resource_type
            );
            if let Some(r) = &e.reason {
                line.push_str(": ");
                line.push_str(r);
            }
            out.line(line)?;
        }
    }
    Ok(())
}

async fn finish(
    name: &str,
    action: &str,
    status: StackStatus,
    cfn: &Cfn,
    stack_id: &str,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let s = status.as_str().to_string();
    let ok = matches!(
        status,
        StackStatus::CreateComplete | StackStatus::UpdateComplete | StackStatus::DeleteComplete
    ) || (action == "delete" && s == "DELETE_COMPLETE");
    match format {
        Format::Json => out.json(&Outcome {
            stack: name,
            action,
            status: s.clone(),
            ok,
        })?,
        Format::Human if ok => out.line(format!("stack {name}: {s}"))?,
        Format::Human => {}
    }
    if ok {
        return Ok(());
    }
    // Name the first resource that failed, with its reason.
    let failure = events(cfn, stack_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(_, e)| e)
        .find(|e| {
            e.status.ends_with("_FAILED")
                && e.logical_id != name
                && e.reason
                    .as_deref()
                    .is_some_and(|r| !r.contains("cancelled") && !r.contains("canceled"))
        });
    let detail = match failure {
        Some(e) => format!(
            ": {} ({}) {}: {}",
            e.logical_id,
            e.resource_type,
            e.status,
            e.reason.unwrap_or_default()
        ),
        None => String::new(),
    };
    Err(Error::Failed(format!(
        "stack {name}: {action} failed, {s}{detail}"
    )))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}{:x}", nanos, std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_change_messages() {
        assert!(is_no_change("The submitted information didn't contain changes. Submit different information to create a change set."));
        assert!(is_no_change("No updates are to be performed."));
        assert!(!is_no_change("Template format error"));
    }
}
