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
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::output::{Format, Printer};
use mc_aws_common::retry::{Backoff, Throttle};
use serde::Serialize;

use crate::cli::{DeleteArgs, DeployArgs, WaitArgs};
use crate::error::Error;

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

/// What a deploy found before changing anything.
struct DeployPlan<'a> {
    name: &'a str,
    create: bool,
    /// Events of earlier operations: history, not this deploy.
    seen: HashSet<String>,
}

/// What executing the plan did.
enum Applied {
    /// The stack operation started on this stack id.
    Started(String),
    /// The template is what the stack already runs.
    NoChanges,
}

/// Create or update the stack, then wait for it, streaming events. An
/// interrupt before the change set runs removes it (nothing deployed); one
/// while waiting stops the wait (the stack operation goes on).
pub async fn deploy(
    args: &AwsArgs,
    a: &DeployArgs,
    body: &str,
    format: Format,
    out: &mut Printer,
    interrupt: &Interrupt,
) -> Result<(), Error> {
    let cfn = Cfn::connect(args).await?;
    let mut plan = plan_deploy(&cfn, &a.stack_name).await?;
    let started = Instant::now();
    let applied = if a.no_change_set {
        apply_directly(&cfn, &plan, body).await?
    } else {
        apply_change_set(&cfn, &plan, body, &a.wait, interrupt).await?
    };
    let stack_id = match applied {
        Applied::Started(id) => id,
        Applied::NoChanges => return no_change(plan.name, format, out),
    };
    let action = if plan.create { "create" } else { "update" };
    let watch = Watch {
        cfn: &cfn,
        stack_id: &stack_id,
        name: plan.name,
        action,
        wait: &a.wait,
        started,
        interrupt,
    };
    watch.report(&mut plan.seen, format, out).await
}

/// Create or update, and the stack's history so far; refuses a stack that
/// is busy or stuck after a failed create.
async fn plan_deploy<'a>(cfn: &Cfn, name: &'a str) -> Result<DeployPlan<'a>, Error> {
    let Some((id, status)) = describe(cfn, name).await? else {
        return Ok(DeployPlan {
            name,
            create: true,
            seen: HashSet::new(),
        });
    };
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
    let seen = events(cfn, &id).await?.into_iter().map(|e| e.0).collect();
    Ok(DeployPlan {
        name,
        create: false,
        seen,
    })
}

/// `--no-change-set`: CreateStack or UpdateStack.
async fn apply_directly(cfn: &Cfn, plan: &DeployPlan<'_>, body: &str) -> Result<Applied, Error> {
    let name = plan.name;
    let what = format!("stack {name}");
    if plan.create {
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
            .map_err(|e| describe_sdk_error(&e, &what))?;
        return Ok(Applied::Started(res.stack_id().unwrap_or(name).to_string()));
    }
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
        Ok(r) => Ok(Applied::Started(r.stack_id().unwrap_or(name).to_string())),
        Err(e) => {
            let err = describe_sdk_error(&e, &what);
            if is_no_change(&err.to_string()) {
                return Ok(Applied::NoChanges);
            }
            Err(err.into())
        }
    }
}

/// A change set: created, computed, then executed; removed (with the empty
/// stack a create leaves) when it fails or the run is interrupted first.
async fn apply_change_set(
    cfn: &Cfn,
    plan: &DeployPlan<'_>,
    body: &str,
    wait: &WaitArgs,
    interrupt: &Interrupt,
) -> Result<Applied, Error> {
    let name = plan.name;
    let change_set = format!("spot-stack-{}", unique_suffix());
    let kind = if plan.create {
        ChangeSetType::Create
    } else {
        ChangeSetType::Update
    };
    let res = cfn
        .throttle
        .call(|| {
            cfn.client
                .create_change_set()
                .stack_name(name)
                .change_set_name(&change_set)
                .change_set_type(kind.clone())
                .template_body(body)
                .description("spot-stack deploy")
                .send()
        })
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("stack {name}: change set")))?;
    let cs = ChangeSet {
        cfn,
        id: res.id().unwrap_or(&change_set).to_string(),
        stack_id: res.stack_id().unwrap_or(name).to_string(),
        name,
        create: plan.create,
    };
    match cs.computed(wait, interrupt).await {
        Ok(true) => cs.execute().await,
        Ok(false) => {
            cs.discard().await;
            Ok(Applied::NoChanges)
        }
        Err(e) => {
            cs.discard().await;
            Err(e)
        }
    }
}

/// A change set being made for a deploy.
struct ChangeSet<'a> {
    cfn: &'a Cfn,
    id: String,
    stack_id: String,
    name: &'a str,
    create: bool,
}

impl ChangeSet<'_> {
    /// Waits until CloudFormation has computed it: whether it has changes.
    async fn computed(&self, wait: &WaitArgs, interrupt: &Interrupt) -> Result<bool, Error> {
        let (cfn, name) = (self.cfn, self.name);
        let started = Instant::now();
        loop {
            let d = cfn
                .throttle
                .call(|| {
                    cfn.client
                        .describe_change_set()
                        .change_set_name(&self.id)
                        .stack_name(&self.stack_id)
                        .send()
                })
                .await
                .map_err(|e| describe_sdk_error(&e, &format!("stack {name}: change set")))?;
            match d.status() {
                Some(ChangeSetStatus::CreateComplete) => {
                    return Ok(self.create || !d.changes().is_empty())
                }
                Some(ChangeSetStatus::Failed) => {
                    let reason = d.status_reason().unwrap_or("");
                    if !self.create && is_no_change(reason) {
                        return Ok(false);
                    }
                    return Err(Error::Failed(format!(
                        "stack {name}: change set failed: {}",
                        one_line(reason)
                    )));
                }
                _ => {}
            }
            if started.elapsed().as_secs_f64() > wait.timeout_seconds {
                return Err(timeout(name, wait));
            }
            let pause = poll(wait).min(Duration::from_secs(2));
            if pause_or_interrupt(pause, interrupt).await {
                return Err(Error::Interrupted(format!(
                    "stack {name}: interrupted before the change set ran: nothing was deployed"
                )));
            }
        }
    }

    async fn execute(&self) -> Result<Applied, Error> {
        let cfn = self.cfn;
        let executed = cfn
            .throttle
            .call(|| {
                cfn.client
                    .execute_change_set()
                    .change_set_name(&self.id)
                    .stack_name(&self.stack_id)
                    .send()
            })
            .await;
        match executed {
            Ok(_) => Ok(Applied::Started(self.stack_id.clone())),
            Err(e) => {
                let what = format!("stack {}: execute change set", self.name);
                self.discard().await;
                Err(describe_sdk_error(&e, &what).into())
            }
        }
    }

    /// Removes the change set and, for a create, the empty
    /// REVIEW_IN_PROGRESS stack it left, so the next deploy is not blocked.
    async fn discard(&self) {
        delete_change_set(self.cfn, &self.id, &self.stack_id).await;
        if self.create {
            let cfn = self.cfn;
            let _ = cfn
                .throttle
                .call(|| cfn.client.delete_stack().stack_name(&self.stack_id).send())
                .await;
        }
    }
}

/// Sleeps `pause`; true if an interrupt came first.
async fn pause_or_interrupt(pause: Duration, interrupt: &Interrupt) -> bool {
    tokio::select! {
        () = tokio::time::sleep(pause) => interrupt.is_set(),
        () = interrupt.wait() => true,
    }
}

/// Delete the stack and wait until it is gone.
pub async fn delete(
    args: &AwsArgs,
    a: &DeleteArgs,
    format: Format,
    out: &mut Printer,
    interrupt: &Interrupt,
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
    let watch = Watch {
        cfn: &cfn,
        stack_id: &id,
        name,
        action: "delete",
        wait: &a.wait,
        started,
        interrupt,
    };
    watch.report(&mut seen, format, out).await
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
            crate::text::fmt_num(w.timeout_seconds)
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

/// A stack operation that has started: its events until it settles.
struct Watch<'a> {
    cfn: &'a Cfn,
    stack_id: &'a str,
    name: &'a str,
    action: &'a str,
    wait: &'a WaitArgs,
    started: Instant,
    interrupt: &'a Interrupt,
}

impl Watch<'_> {
    /// Streams the events, then reports how the operation ended.
    async fn report(
        &self,
        seen: &mut HashSet<String>,
        format: Format,
        out: &mut Printer,
    ) -> Result<(), Error> {
        if format == Format::Human {
            out.line(format!(
                "{} stack {}: waiting (events follow)",
                self.action, self.name
            ))?;
            out.flush()?;
        }
        let status = self.settled(seen, format, out).await?;
        finish(
            self.cfn,
            self.stack_id,
            (self.name, self.action),
            status,
            format,
            out,
        )
        .await
    }

    /// Polls until the stack leaves `*_IN_PROGRESS`, printing new events.
    async fn settled(
        &self,
        seen: &mut HashSet<String>,
        format: Format,
        out: &mut Printer,
    ) -> Result<StackStatus, Error> {
        loop {
            self.print_new_events(seen, format, out).await?;
            out.flush()?;
            let status = match describe(self.cfn, self.stack_id).await? {
                // Gone entirely (some emulators forget deleted stacks).
                None => StackStatus::DeleteComplete,
                Some((_, s)) => s,
            };
            if !status.as_str().ends_with("_IN_PROGRESS") {
                // What happened between the last poll and the end.
                self.print_new_events(seen, format, out).await?;
                return Ok(status);
            }
            if self.started.elapsed().as_secs_f64() > self.wait.timeout_seconds {
                return Err(timeout(self.name, self.wait));
            }
            if pause_or_interrupt(poll(self.wait), self.interrupt).await {
                return Err(Error::Interrupted(format!(
                    "stack {}: interrupted while waiting: the {} goes on in CloudFormation (follow it with `spot-stack status`)",
                    self.name, self.action
                )));
            }
        }
    }

    async fn print_new_events(
        &self,
        seen: &mut HashSet<String>,
        format: Format,
        out: &mut Printer,
    ) -> Result<(), Error> {
        for (id, e) in events(self.cfn, self.stack_id).await? {
            if seen.insert(id) {
                print_event(&e, format, out)?;
            }
        }
        Ok(())
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

/// How the operation ended, on stdout; a failure names the first resource
/// that failed, with its reason.
async fn finish(
    cfn: &Cfn,
    stack_id: &str,
    (name, action): (&str, &str),
    status: StackStatus,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let s = status.as_str().to_string();
    let ok = matches!(
        status,
        StackStatus::CreateComplete | StackStatus::UpdateComplete | StackStatus::DeleteComplete
    );
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
    let detail = match first_failure(cfn, stack_id, name).await {
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

/// The first resource event that failed for a reason of its own (not
/// "cancelled" because another one failed).
async fn first_failure(cfn: &Cfn, stack_id: &str, name: &str) -> Option<Event> {
    events(cfn, stack_id)
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
        })
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
