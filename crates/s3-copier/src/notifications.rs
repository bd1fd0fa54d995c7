//! Pre-flight: what the destination bucket's event notifications will do
//! with the copies.
//!
//! Every copy creates an object at the destination, and S3 tells whoever
//! the bucket's notification configuration names: a thumbnail function
//! fired by each of 25M copies is how the seed's migration ran into the
//! account's Lambda limits. So pre-flight reads the configuration
//! (GetBucketNotificationConfiguration), warns by name about every Lambda
//! function, SQS queue, SNS topic and EventBridge delivery the run's writes
//! will trigger, and refuses (exit 2) when they go straight back to the
//! copier's own input (the worker's queue, a queue ARN given to `sync`, the
//! Lambda function itself): a loop, unless `--allow-notification-loop`.
//! What SNS topics and EventBridge rules fan out to is not in the bucket's
//! configuration, so a loop through them cannot be seen here; the warnings
//! say so. A configuration that cannot be read (access denied) is a warning.

use std::sync::Arc;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput as Config;
use aws_sdk_s3::types::{FilterRuleName, NotificationConfigurationFilter};
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::retry::Throttle;
use mc_aws_common::twosided::Side;

/// Events S3 sends for what the copier does at the destination.
const COPY_EVENTS: &[&str] = &[
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectTagging:Put",
];
const ACL_EVENTS: &[&str] = &["s3:ObjectAcl:Put"];
const DELETE_EVENTS: &[&str] = &[
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
];

/// What the run may do at the destination, and what counts as its own
/// input (set by each command; `allow_loop` by `--allow-notification-loop`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guard {
    /// ARNs of the queues the copier reads (the worker's `--queue`, `sync --queue-arn`).
    pub own_queues: Vec<String>,
    /// The name of the Lambda function running the copier.
    pub own_function: Option<String>,
    /// Run even when the destination notifies the copier's own input.
    pub allow_loop: bool,
    /// The run sets ACLs on copies (PutObjectAcl, `ObjectAcl:Put` events).
    pub acls: bool,
    /// The run deletes at the destination (`--delete`, `--propagate-deletes`).
    pub deletes: bool,
}

impl Guard {
    /// The event names this run can make S3 send.
    fn caused(&self) -> Vec<&'static str> {
        let mut events = COPY_EVENTS.to_vec();
        if self.acls {
            events.extend(ACL_EVENTS);
        }
        if self.deletes {
            events.extend(DELETE_EVENTS);
        }
        events
    }
}

/// Where a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lambda,
    Queue,
    Topic,
}

/// One notification of the configuration, as far as pre-flight cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    pub arn: String,
    pub id: Option<String>,
    /// Event types as configured (`s3:ObjectCreated:*`, ...).
    pub events: Vec<String>,
    /// The key filter's prefix rule, if any (a suffix cannot rule a folder out).
    pub prefix: Option<String>,
}

/// A bucket's notification configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notifications {
    pub targets: Vec<Target>,
    /// Every event of the bucket goes to Amazon EventBridge.
    pub eventbridge: bool,
}

/// Whether a configured event type (`s3:ObjectCreated:*`) covers `event`.
fn covers(configured: &str, event: &str) -> bool {
    match configured.strip_suffix('*') {
        Some(stem) => event.starts_with(stem),
        None => configured == event,
    }
}

/// The last part of an ARN (`...:function:thumbs` -> `thumbs`, without a
/// Lambda alias or version).
fn name_of(t: &Target) -> &str {
    let fields: Vec<&str> = t.arn.split(':').collect();
    match t.kind {
        Kind::Lambda => fields.get(6).copied().unwrap_or(&t.arn),
        _ => fields.last().copied().unwrap_or(&t.arn),
    }
}

impl Target {
    /// The configured events the run's writes under `folder` trigger (none
    /// when the notification's prefix keeps clear of the folder).
    fn triggered(&self, folder: &str, caused: &[&str]) -> Vec<String> {
        if let Some(p) = &self.prefix {
            if !(p.starts_with(folder) || folder.starts_with(p.as_str())) {
                return Vec::new();
            }
        }
        self.events
            .iter()
            .filter(|e| caused.iter().any(|c| covers(e, c)))
            .cloned()
            .collect()
    }

    fn is_own(&self, guard: &Guard) -> bool {
        match self.kind {
            Kind::Queue => guard.own_queues.iter().any(|q| q == &self.arn),
            Kind::Lambda => guard.own_function.as_deref() == Some(name_of(self)),
            Kind::Topic => false,
        }
    }

    /// "notification thumbs invokes Lambda function thumbnails (ARN) on s3:ObjectCreated:*".
    fn describe(&self, events: &[String]) -> String {
        let id = self
            .id
            .as_deref()
            .map(|i| format!("notification {i:?}"))
            .unwrap_or_else(|| "a notification".into());
        let (verb, what) = match self.kind {
            Kind::Lambda => ("invokes", "Lambda function"),
            Kind::Queue => ("sends to", "SQS queue"),
            Kind::Topic => ("publishes to", "SNS topic"),
        };
        format!(
            "{id} {verb} {what} {} ({}) on {}",
            name_of(self),
            self.arn,
            events.join(", ")
        )
    }
}

/// The warnings for `bucket`'s notifications given what the run does under
/// `folder`, or, when they lead straight back to the copier, why it refuses.
pub fn judge(
    n: &Notifications,
    bucket: &str,
    folder: &str,
    guard: &Guard,
) -> Result<Vec<String>, String> {
    let caused = guard.caused();
    let mut warnings = Vec::new();
    for t in &n.targets {
        let events = t.triggered(folder, &caused);
        if events.is_empty() {
            continue;
        }
        let what = t.describe(&events);
        if t.is_own(guard) && !guard.allow_loop {
            return Err(format!(
                "destination bucket {bucket}: {what}, the copier's own input: every copy would come back to it as an event (a loop); remove that notification or narrow its prefix filter away from the destination folder, or pass --allow-notification-loop"
            ));
        }
        let consequence = match t.kind {
            Kind::Lambda => "every copy invokes it (mind its reserved concurrency and the account's concurrency limit; disable or filter it while the backlog is copied)",
            Kind::Queue if t.is_own(guard) => "it is the copier's own input (allowed by --allow-notification-loop)",
            Kind::Queue => "every copy puts a message on it",
            Kind::Topic => "every copy is published to its subscribers, which this check cannot see (a subscribed copier queue would be a loop)",
        };
        warnings.push(format!(
            "destination bucket {bucket}: {what}: {consequence}"
        ));
    }
    if n.eventbridge {
        warnings.push(format!(
            "destination bucket {bucket} sends every event to Amazon EventBridge: rules there may route the copies to functions or queues (the copier's own included), which this check cannot see"
        ));
    }
    Ok(warnings)
}

/// Reads the configuration of `side`'s bucket; `Err` holds a warning when
/// it cannot be read (the run goes on without the check).
pub async fn read(side: &Side, throttle: &Arc<Throttle>) -> Result<Notifications, String> {
    let c = &side.client;
    let bucket = side.bucket();
    let out = throttle
        .call(|| async {
            match c
                .get_bucket_notification_configuration()
                .bucket(bucket)
                .send()
                .await
            {
                Ok(o) => Ok(Some(o)),
                // Answered at once by a store without the API: not retried.
                Err(e) if e.code() == Some("NotImplemented") => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await;
    let unchecked = |why: String| {
        format!("event notifications of destination bucket {bucket} not checked ({why}): copies may trigger functions or queues unseen")
    };
    match out {
        Ok(Some(config)) => Ok(from_config(&config)),
        Ok(None) => Err(unchecked(
            "the service does not implement GetBucketNotificationConfiguration".into(),
        )),
        Err(e) => Err(unchecked(
            match describe_sdk_error(&e, &format!("bucket {bucket}")) {
                ToolError::AccessDenied { .. } => {
                    "access denied: the identity needs s3:GetBucketNotification".into()
                }
                other => other.to_string(),
            },
        )),
    }
}

fn prefix_rule(filter: Option<&NotificationConfigurationFilter>) -> Option<String> {
    filter?
        .key()?
        .filter_rules()
        .iter()
        .find(|r| r.name() == Some(&FilterRuleName::Prefix))
        .and_then(|r| r.value().map(str::to_string))
}

fn from_config(c: &Config) -> Notifications {
    let target =
        |kind, arn: &str, id: Option<&str>, events: &[aws_sdk_s3::types::Event], filter| Target {
            kind,
            arn: arn.to_string(),
            id: id.map(str::to_string),
            events: events.iter().map(|e| e.as_str().to_string()).collect(),
            prefix: prefix_rule(filter),
        };
    let mut targets = Vec::new();
    for l in c.lambda_function_configurations() {
        targets.push(target(
            Kind::Lambda,
            l.lambda_function_arn(),
            l.id(),
            l.events(),
            l.filter(),
        ));
    }
    for q in c.queue_configurations() {
        targets.push(target(
            Kind::Queue,
            q.queue_arn(),
            q.id(),
            q.events(),
            q.filter(),
        ));
    }
    for t in c.topic_configurations() {
        targets.push(target(
            Kind::Topic,
            t.topic_arn(),
            t.id(),
            t.events(),
            t.filter(),
        ));
    }
    Notifications {
        targets,
        eventbridge: c.event_bridge_configuration().is_some(),
    }
}

/// Reads and judges the destination's notifications for a run writing
/// under `side`'s folder: the warnings, or the refusal (exit 2).
pub async fn check(
    side: &Side,
    throttle: &Arc<Throttle>,
    guard: &Guard,
) -> Result<Vec<String>, ToolError> {
    let n = match read(side, throttle).await {
        Ok(n) => n,
        Err(warning) => return Ok(vec![warning]),
    };
    judge(&n, side.bucket(), &side.url.prefix, guard).map_err(|message| ToolError::Invalid {
        what: "pre-flight".into(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:old-bucket-events";

    fn t(kind: Kind, arn: &str, events: &[&str], prefix: Option<&str>) -> Target {
        Target {
            kind,
            arn: arn.into(),
            id: Some("n1".into()),
            events: events.iter().map(|e| e.to_string()).collect(),
            prefix: prefix.map(String::from),
        }
    }

    fn worker() -> Guard {
        Guard {
            own_queues: vec![QUEUE.into()],
            acls: true,
            ..Guard::default()
        }
    }

    #[test]
    fn warns_by_name_about_what_copies_trigger() {
        let n = Notifications {
            targets: vec![
                t(
                    Kind::Lambda,
                    "arn:aws:lambda:us-east-1:123456789012:function:thumbnails:live",
                    &["s3:ObjectCreated:*"],
                    None,
                ),
                t(
                    Kind::Queue,
                    "arn:aws:sqs:us-east-1:123456789012:indexer",
                    &["s3:ObjectCreated:Copy"],
                    Some("img/"),
                ),
                t(
                    Kind::Topic,
                    "arn:aws:sns:us-east-1:123456789012:fanout",
                    &["s3:ObjectCreated:*"],
                    None,
                ),
                // Not triggered: PUT only, another folder, deletes not done.
                t(
                    Kind::Lambda,
                    "arn:aws:lambda:us-east-1:123456789012:function:on-upload",
                    &["s3:ObjectCreated:Put"],
                    None,
                ),
                t(
                    Kind::Queue,
                    "arn:aws:sqs:us-east-1:123456789012:logs",
                    &["s3:ObjectCreated:*"],
                    Some("logs/"),
                ),
                t(
                    Kind::Queue,
                    "arn:aws:sqs:us-east-1:123456789012:gone",
                    &["s3:ObjectRemoved:*"],
                    None,
                ),
            ],
            eventbridge: true,
        };
        let w = judge(&n, "new-bucket", "img/", &worker()).unwrap();
        assert_eq!(w.len(), 4, "{w:#?}");
        assert_eq!(
            w[0],
            "destination bucket new-bucket: notification \"n1\" invokes Lambda function thumbnails (arn:aws:lambda:us-east-1:123456789012:function:thumbnails:live) on s3:ObjectCreated:*: every copy invokes it (mind its reserved concurrency and the account's concurrency limit; disable or filter it while the backlog is copied)"
        );
        assert!(w[1].contains("sends to SQS queue indexer"), "{}", w[1]);
        assert!(
            w[2].contains("SNS topic fanout") && w[2].contains("cannot see"),
            "{}",
            w[2]
        );
        assert!(
            w[3].contains("EventBridge") && w[3].contains("cannot see"),
            "{}",
            w[3]
        );
        // With deletes, the ObjectRemoved queue is triggered too.
        let deleting = Guard {
            deletes: true,
            ..worker()
        };
        let w = judge(&n, "new-bucket", "img/", &deleting).unwrap();
        assert!(w.iter().any(|w| w.contains("queue gone")), "{w:#?}");
        // A folder inside the notification's prefix, or around it, is triggered.
        let narrow = Notifications {
            targets: vec![t(
                Kind::Queue,
                "arn:aws:sqs:r:1:q",
                &["s3:ObjectCreated:*"],
                Some("img/2024/"),
            )],
            eventbridge: false,
        };
        assert_eq!(judge(&narrow, "b", "img/", &worker()).unwrap().len(), 1);
        assert_eq!(judge(&narrow, "b", "", &worker()).unwrap().len(), 1);
        assert!(judge(&narrow, "b", "video/", &worker()).unwrap().is_empty());
        assert!(judge(&Notifications::default(), "b", "", &worker())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn refuses_a_loop_back_to_the_copiers_own_input() {
        let own = Notifications {
            targets: vec![t(Kind::Queue, QUEUE, &["s3:ObjectCreated:*"], None)],
            eventbridge: false,
        };
        let e = judge(&own, "new-bucket", "", &worker()).unwrap_err();
        assert!(e.contains("the copier's own input"), "{e}");
        assert!(e.contains("--allow-notification-loop"), "{e}");
        let allowed = Guard {
            allow_loop: true,
            ..worker()
        };
        let w = judge(&own, "new-bucket", "", &allowed).unwrap();
        assert!(
            w[0].contains("allowed by --allow-notification-loop"),
            "{}",
            w[0]
        );
        // The Lambda function itself, by name, whatever the alias.
        let function = Notifications {
            targets: vec![t(
                Kind::Lambda,
                "arn:aws:lambda:eu-west-1:1:function:s3-copier-lambda:prod",
                &["s3:ObjectCreated:*"],
                None,
            )],
            eventbridge: false,
        };
        let lambda = Guard {
            own_function: Some("s3-copier-lambda".into()),
            ..Guard::default()
        };
        assert!(judge(&function, "b", "", &lambda).is_err());
        // Not triggered by copies: no loop.
        let puts = Notifications {
            targets: vec![t(Kind::Queue, QUEUE, &["s3:ObjectCreated:Put"], None)],
            eventbridge: false,
        };
        assert!(judge(&puts, "b", "", &worker()).unwrap().is_empty());
    }

    #[test]
    fn event_types_cover_by_wildcard() {
        assert!(covers("s3:ObjectCreated:*", "s3:ObjectCreated:Copy"));
        assert!(covers("s3:ObjectCreated:Copy", "s3:ObjectCreated:Copy"));
        assert!(!covers("s3:ObjectCreated:Put", "s3:ObjectCreated:Copy"));
        assert!(covers(
            "s3:ObjectRemoved:*",
            "s3:ObjectRemoved:DeleteMarkerCreated"
        ));
        assert!(!covers("s3:ObjectRemoved:*", "s3:ObjectCreated:Copy"));
    }
}
