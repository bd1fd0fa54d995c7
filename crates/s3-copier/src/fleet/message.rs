//! The SQS message a published range travels in, and how a worker tells it
//! from an S3 event notification on the same queue.

use mc_aws_common::keyfilter::{Action, KeyFilter, Pattern, Rule};
use mc_aws_common::listing::KeyRange;
use serde::{Deserialize, Serialize};

/// The format of range messages; a worker refuses others (a newer publisher).
pub const FORMAT: u32 = 1;

/// One range of a published run: `(after, upto]` of the source key space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeMessage {
    /// The marker (and format): a body with this field is a range, not an S3 event.
    pub s3_copier_range: u32,
    /// The run's id (also the name of its folder in the progress record).
    pub run: String,
    /// This range's number, 0-based, and how many the run has.
    pub index: u32,
    pub of: u32,
    pub after: Option<String>,
    pub upto: Option<String>,
    /// `s3://bucket/folder/` of each side, as `sync` prints them.
    pub source: String,
    pub dest: String,
    /// The run's folder of the progress record (`s3://bucket/prefix/RUN/`).
    pub progress: String,
    /// `--size-only`: what "different" means.
    #[serde(default)]
    pub size_only: bool,
    /// `--include`/`--exclude`, in command-line order.
    #[serde(default)]
    pub filters: Vec<FilterRule>,
    /// The queue's maxReceiveCount when published: a failure at that
    /// attempt sends the range to the dead-letter queue.
    #[serde(default)]
    pub max_receive_count: Option<u32>,
}

/// One `--include` or `--exclude`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterRule {
    pub include: bool,
    pub pattern: String,
}

/// `None` when `body` is not a range message (an S3 event, or anything
/// else the event parser will judge); else the range, or why it cannot be read.
pub fn parse(body: &str) -> Option<Result<RangeMessage, String>> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value.as_object()?.get("s3_copier_range")?;
    Some(read(body))
}

fn read(body: &str) -> Result<RangeMessage, String> {
    let m: RangeMessage =
        serde_json::from_str(body).map_err(|e| format!("not a range message ({e})"))?;
    if m.s3_copier_range != FORMAT {
        return Err(format!(
            "a range message in format {}, which this version does not read (format {FORMAT})",
            m.s3_copier_range
        ));
    }
    Ok(m)
}

impl RangeMessage {
    pub fn range(&self) -> KeyRange {
        KeyRange::new(self.after.clone(), self.upto.clone())
    }

    /// The run's filters, compiled again.
    pub fn filter(&self) -> Result<KeyFilter, String> {
        let rules = self
            .filters
            .iter()
            .map(|f| {
                Ok(Rule {
                    action: if f.include {
                        Action::Include
                    } else {
                        Action::Exclude
                    },
                    pattern: Pattern::parse(&f.pattern)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(KeyFilter::new(rules))
    }

    /// The range in words, for logs and errors: `run R range 3/16 ("a", "b"]`.
    pub fn describe(&self) -> String {
        format!(
            "run {} range {}/{} ({:?}, {:?}]",
            self.run,
            self.index + 1,
            self.of,
            self.after.as_deref().unwrap_or(""),
            self.upto.as_deref().unwrap_or("(end)")
        )
    }
}

/// The filters of a run as message rules.
pub fn filter_rules(filter: &KeyFilter) -> Vec<FilterRule> {
    filter
        .rules()
        .iter()
        .map(|r| FilterRule {
            include: r.action == Action::Include,
            pattern: r.pattern.as_str().to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RangeMessage {
        RangeMessage {
            s3_copier_range: FORMAT,
            run: "20261207T064500Z-0a1b2c3d".into(),
            index: 2,
            of: 16,
            after: Some("img/a\nb".into()),
            upto: None,
            source: "s3://old/img/".into(),
            dest: "s3://new/".into(),
            progress: "s3://ops/fleet/20261207T064500Z-0a1b2c3d/".into(),
            size_only: true,
            filters: vec![
                FilterRule {
                    include: false,
                    pattern: "*".into(),
                },
                FilterRule {
                    include: true,
                    pattern: "*.jpg".into(),
                },
            ],
            max_receive_count: Some(5),
        }
    }

    #[test]
    fn a_range_reads_back_as_sent() {
        let m = sample();
        let body = serde_json::to_string(&m).unwrap();
        assert_eq!(parse(&body), Some(Ok(m.clone())));
        let f = m.filter().unwrap();
        assert!(f.selects("x.jpg") && !f.selects("x.png"));
        assert_eq!(filter_rules(&f), m.filters);
        assert_eq!(m.range(), KeyRange::new(Some("img/a\nb".into()), None));
    }

    #[test]
    fn events_and_other_bodies_are_not_ranges() {
        assert_eq!(parse(r#"{"Records":[]}"#), None);
        assert_eq!(parse(r#"{"Event":"s3:TestEvent"}"#), None);
        assert_eq!(parse("not json"), None);
        assert_eq!(parse("[1]"), None);
    }

    #[test]
    fn other_formats_and_broken_ranges_are_refused() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["s3_copier_range"] = 2.into();
        let e = parse(&v.to_string()).unwrap().unwrap_err();
        assert!(e.contains("format 2"), "{e}");
        let e = parse(r#"{"s3_copier_range":1,"run":"r"}"#)
            .unwrap()
            .unwrap_err();
        assert!(e.starts_with("not a range message"), "{e}");
    }
}
