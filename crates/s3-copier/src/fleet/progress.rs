//! The progress record of a published run, in S3 under the run's folder
//! (`--progress s3://bucket/prefix/` + the run id):
//!
//! - `plan.json`: written once by the publisher before any range is sent
//!   (the run, both places, the options, every range);
//! - `done/NNNNNNNN.json`: one object per acknowledged range, written by the
//!   worker that finished it, before it deletes the message;
//! - `dead/NNNNNNNN.json`: a range whose last attempt before the dead-letter
//!   queue failed (the error), written by that worker.
//!
//! Every object is written whole by one PUT and none is ever read, changed
//! and written back: concurrent workers cannot lose each other's
//! acknowledgements, and a range done twice (copies are at least once) only
//! writes the same object again.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::config;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::listing::KeyRange;
use mc_aws_common::retry::Throttle;
use mc_aws_common::s3url::S3Url;
use serde::{Deserialize, Serialize};

use super::message::FilterRule;

/// The format of `plan.json`.
pub const FORMAT: u32 = 1;

/// `plan.json`: what the publisher sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub run: String,
    pub created: String,
    pub source: String,
    pub dest: String,
    pub queue: String,
    /// The queue's dead-letter queue (from its redrive policy), if any.
    pub dead_letter_queue: Option<String>,
    pub max_receive_count: Option<u32>,
    pub size_only: bool,
    pub filters: Vec<FilterRule>,
    pub ranges: Vec<KeyRange>,
}

/// `done/N.json` and `dead/N.json`: who finished (or last failed) a range.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RangeRecord {
    pub run: String,
    pub index: u32,
    pub at: String,
    /// The worker (host and process id).
    pub worker: String,
    /// The receive count of the message when it was handled.
    pub attempt: u32,
    /// What the pass came to (the sync report's counts), or why it failed.
    pub outcome: serde_json::Value,
}

/// Which record of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Done,
    Dead,
}

impl Mark {
    fn folder(self) -> &'static str {
        match self {
            Mark::Done => "done/",
            Mark::Dead => "dead/",
        }
    }
}

/// The run's folder of the progress record, with a client in its bucket's region.
pub struct Store {
    client: aws_sdk_s3::Client,
    pub folder: S3Url,
    throttle: Arc<Throttle>,
}

impl Store {
    /// The store at `folder` (the run's folder), with the default identity.
    pub async fn connect(
        aws: &AwsArgs,
        folder: S3Url,
        throttle: &Arc<Throttle>,
    ) -> Result<Self, ToolError> {
        let conf = config::load(aws, None, None).await?;
        let client = config::client_for_bucket(&conf, aws, &folder.bucket, throttle).await?;
        Ok(Self {
            client,
            folder,
            throttle: throttle.clone(),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.folder.prefix)
    }

    fn record_name(mark: Mark, index: u32) -> String {
        format!("{}{index:08}.json", mark.folder())
    }

    async fn put(&self, name: &str, body: Vec<u8>) -> Result<(), ToolError> {
        let key = self.key(name);
        let b = &self.folder.bucket;
        self.throttle
            .call(|| {
                self.client
                    .put_object()
                    .bucket(b)
                    .key(&key)
                    .content_type("application/json")
                    .body(ByteStream::from(body.clone()))
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &format!("s3://{b}/{key}")))?;
        Ok(())
    }

    pub async fn put_plan(&self, plan: &Plan) -> Result<(), ToolError> {
        self.put("plan.json", serde_json::to_vec(plan).unwrap_or_default())
            .await
    }

    /// Reads `plan.json`; a folder without one is not a run (exit 3).
    pub async fn plan(&self) -> Result<Plan, ToolError> {
        let key = self.key("plan.json");
        let b = &self.folder.bucket;
        let what = format!("s3://{b}/{key} (the run's plan)");
        let out = self
            .throttle
            .call(|| self.client.get_object().bucket(b).key(&key).send())
            .await
            .map_err(|e| describe_sdk_error(&e, &what))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| ToolError::Service {
                what: what.clone(),
                message: e.to_string(),
            })?
            .into_bytes();
        let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| ToolError::Invalid {
            what: what.clone(),
            message: format!("not a plan of s3-copier ranges ({e})"),
        })?;
        if plan.format != FORMAT {
            return Err(ToolError::Invalid {
                what,
                message: format!(
                    "a plan in format {}, this version reads {FORMAT}",
                    plan.format
                ),
            });
        }
        Ok(plan)
    }

    /// Writes the record of a range (replacing any earlier one).
    pub async fn mark(&self, mark: Mark, record: &RangeRecord) -> Result<(), ToolError> {
        let name = Self::record_name(mark, record.index);
        self.put(&name, serde_json::to_vec(record).unwrap_or_default())
            .await
    }

    /// Whether range `index` is acknowledged already. Listed rather than
    /// HEAD: a listing under the run's folder is what a policy scoped by
    /// `s3:prefix` allows, and a HEAD of a missing key without a bucket-wide
    /// s3:ListBucket answers 403, not 404.
    pub async fn is_done(&self, index: u32) -> Result<bool, ToolError> {
        let key = self.key(&Self::record_name(Mark::Done, index));
        let b = &self.folder.bucket;
        let page = self
            .throttle
            .call(|| {
                self.client
                    .list_objects_v2()
                    .bucket(b)
                    .prefix(&key)
                    .max_keys(1)
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &format!("s3://{b}/{key}")))?;
        Ok(page
            .contents()
            .iter()
            .any(|o| o.key() == Some(key.as_str())))
    }

    /// The ranges with a `mark` record.
    pub async fn marked(&self, mark: Mark) -> Result<BTreeSet<u32>, ToolError> {
        let prefix = self.key(mark.folder());
        let b = &self.folder.bucket;
        let mut out = BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .throttle
                .call(|| {
                    self.client
                        .list_objects_v2()
                        .bucket(b)
                        .prefix(&prefix)
                        .set_continuation_token(token.clone())
                        .send()
                })
                .await
                .map_err(|e| describe_sdk_error(&e, &format!("s3://{b}/{prefix}")))?;
            for o in page.contents() {
                let index = o
                    .key()
                    .and_then(|k| k.strip_prefix(prefix.as_str()))
                    .and_then(|n| n.strip_suffix(".json"))
                    .and_then(|n| n.parse::<u32>().ok());
                out.extend(index);
            }
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub kind: &'static str,
    pub run: String,
    pub source: String,
    pub dest: String,
    pub ranges: u32,
    pub done: u32,
    /// Not acknowledged, and not known to be in the dead-letter queue:
    /// waiting, being copied, or failed and waiting for another attempt.
    pub missing: Vec<Numbered>,
    /// Failed at their last attempt: in the dead-letter queue.
    pub dead_lettered: Vec<Numbered>,
    /// Messages in the dead-letter queue (of any run), when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue_messages: Option<u64>,
    /// Every range acknowledged.
    pub finished: bool,
}

/// A range with its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Numbered {
    pub index: u32,
    #[serde(flatten)]
    pub range: KeyRange,
}

impl Status {
    /// The run's standing from its plan and the records found.
    pub fn of(plan: &Plan, done: &BTreeSet<u32>, dead: &BTreeSet<u32>) -> Self {
        let mut s = Status {
            kind: "summary",
            run: plan.run.clone(),
            source: plan.source.clone(),
            dest: plan.dest.clone(),
            ranges: plan.ranges.len() as u32,
            done: 0,
            missing: Vec::new(),
            dead_lettered: Vec::new(),
            dead_letter_queue_messages: None,
            finished: false,
        };
        for (i, range) in plan.ranges.iter().enumerate() {
            let index = i as u32;
            let n = || Numbered {
                index,
                range: range.clone(),
            };
            if done.contains(&index) {
                s.done += 1;
            } else if dead.contains(&index) {
                s.dead_lettered.push(n());
            } else {
                s.missing.push(n());
            }
        }
        s.finished = s.done == s.ranges;
        s
    }

    /// Nothing more will be acknowledged without someone acting: every
    /// range is done or dead-lettered.
    pub fn settled(&self) -> bool {
        self.missing.is_empty()
    }

    /// The human report: one line, then the ranges not done (at most 20).
    pub fn human(&self) -> String {
        let mut out = format!(
            "run {} ({} -> {}): {} of {} ranges done, {} missing, {} dead-lettered",
            self.run,
            self.source,
            self.dest,
            self.done,
            self.ranges,
            self.missing.len(),
            self.dead_lettered.len()
        );
        if let Some(n) = self.dead_letter_queue_messages {
            out.push_str(&format!("; the dead-letter queue holds {n} messages"));
        }
        let lines = self
            .dead_lettered
            .iter()
            .map(|r| ("dead-lettered", r))
            .chain(self.missing.iter().map(|r| ("missing", r)));
        for (what, r) in lines.clone().take(20) {
            out.push_str(&format!(
                "\n  {what}: range {} ({:?}, {:?}]",
                r.index + 1,
                r.range.after.as_deref().unwrap_or(""),
                r.range.upto.as_deref().unwrap_or("(end)")
            ));
        }
        let more = lines.count().saturating_sub(20);
        if more > 0 {
            out.push_str(&format!("\n  ... and {more} more (-o json lists them all)"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(n: usize) -> Plan {
        Plan {
            format: FORMAT,
            run: "r".into(),
            created: "2026-12-07T06:45:00Z".into(),
            source: "s3://a/".into(),
            dest: "s3://b/".into(),
            queue: "https://sqs.eu-west-1.amazonaws.com/1/q".into(),
            dead_letter_queue: None,
            max_receive_count: Some(3),
            size_only: false,
            filters: Vec::new(),
            ranges: (0..n)
                .map(|i| KeyRange::new(Some(format!("k{i}")), Some(format!("k{}", i + 1))))
                .collect(),
        }
    }

    #[test]
    fn done_wins_over_dead_and_the_rest_is_missing() {
        let p = plan(4);
        let s = Status::of(&p, &[0, 2].into(), &[2, 3].into());
        assert_eq!(s.done, 2);
        assert_eq!(
            s.dead_lettered.iter().map(|r| r.index).collect::<Vec<_>>(),
            [3]
        );
        assert_eq!(s.missing.iter().map(|r| r.index).collect::<Vec<_>>(), [1]);
        assert!(!s.finished && !s.settled());
        let human = s.human();
        assert!(
            human.starts_with(
                "run r (s3://a/ -> s3://b/): 2 of 4 ranges done, 1 missing, 1 dead-lettered"
            ),
            "{human}"
        );
        assert!(
            human.contains("dead-lettered: range 4 (\"k3\", \"k4\"]"),
            "{human}"
        );
        let all = Status::of(&p, &[0, 1, 2, 3].into(), &BTreeSet::new());
        assert!(all.finished && all.settled());
    }

    #[test]
    fn records_are_named_by_number() {
        assert_eq!(Store::record_name(Mark::Done, 17), "done/00000017.json");
        assert_eq!(Store::record_name(Mark::Dead, 0), "dead/00000000.json");
    }
}
