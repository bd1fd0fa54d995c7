//! `stats <queue>`: visible, in-flight and delayed counts, as text, JSON or a Nagios check.

use std::sync::Arc;

use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::Client;
use mc_aws_common::error::describe_sdk_error;
use mc_aws_common::exit;
use mc_aws_common::nagios::{Check, Perf};
use mc_aws_common::output::{human_count, table, Format, Printer};
use mc_aws_common::retry::Throttle;
use serde::Serialize;

use crate::cli::{Cli, Metric, StatsArgs};
use crate::connection::{connect, Connection};
use crate::error::Result;
use crate::queue::{Queue, QueueRef};

/// `stats`: the depth as a table, a JSON line or a Nagios status line.
pub async fn run(cli: &Cli, args: &StatsArgs) -> Result<i32> {
    let queue = QueueRef::parse(&args.queue);
    let Connection {
        client,
        throttle,
        queue,
        ..
    } = connect(&cli.aws, &queue, 4, 5).await?;
    let depth = depth(&client, &throttle, &queue).await?;
    if args.nagios {
        return Ok(check(&queue, &depth, args).emit());
    }
    let mut out = Printer::new();
    let written = match cli.output.output {
        Format::Human => out.line(human(&queue, &depth).trim_end()),
        Format::Json => out.json(&json(&queue, &depth)),
    };
    // A closed stdout is noted by the printer; main ends a read-only run quietly.
    let _ = written.and_then(|()| out.flush());
    Ok(exit::SUCCESS)
}

/// The queue's approximate depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Depth {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

impl Depth {
    pub fn metric(&self, m: Metric) -> u64 {
        match m {
            Metric::Visible => self.visible,
            Metric::InFlight => self.in_flight,
            Metric::Delayed => self.delayed,
            Metric::Total => self.visible + self.in_flight + self.delayed,
        }
    }
}

pub async fn depth(client: &Client, throttle: &Arc<Throttle>, queue: &Queue) -> Result<Depth> {
    let out = throttle
        .call(|| {
            client
                .get_queue_attributes()
                .queue_url(&queue.url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
                .send()
        })
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("queue {}", queue.name)))?;
    let get = |name: QueueAttributeName| {
        out.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(Depth {
        visible: get(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    })
}

#[derive(Serialize)]
struct Json<'a> {
    queue: &'a str,
    queue_url: &'a str,
    #[serde(flatten)]
    depth: Depth,
}

/// The human table.
pub fn human(queue: &Queue, d: &Depth) -> String {
    table(
        &["queue", "visible", "in flight", "delayed"],
        &[vec![
            queue.name.clone(),
            human_count(d.visible),
            human_count(d.in_flight),
            human_count(d.delayed),
        ]],
    )
}

/// The JSON line.
pub fn json(queue: &Queue, d: &Depth) -> serde_json::Value {
    serde_json::to_value(Json {
        queue: &queue.name,
        queue_url: &queue.url,
        depth: *d,
    })
    .unwrap_or_default()
}

/// The Nagios check on `args.metric`.
pub fn check(queue: &Queue, d: &Depth, args: &StatsArgs) -> Check {
    let value = d.metric(args.metric);
    let (warn, crit) = (args.check.warning.as_ref(), args.check.critical.as_ref());
    let status = args.check.status(value as f64);
    let mut c = Check::new(
        "SQS",
        status,
        format!(
            "{}: {} visible, {} in flight, {} delayed",
            queue.name, d.visible, d.in_flight, d.delayed
        ),
    );
    let th = |m: Metric| {
        if m == args.metric {
            (warn, crit)
        } else {
            (None, None)
        }
    };
    for (label, m, v) in [
        ("visible", Metric::Visible, d.visible),
        ("in_flight", Metric::InFlight, d.in_flight),
        ("delayed", Metric::Delayed, d.delayed),
    ] {
        let (w, c2) = th(m);
        c.perf
            .push(Perf::new(label, v as f64, "").ranges(w, c2).min(0.0));
    }
    if args.metric == Metric::Total {
        c.perf.push(
            Perf::new("total", value as f64, "")
                .ranges(warn, crit)
                .min(0.0),
        );
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    use mc_aws_common::nagios::NagiosArgs;

    #[test]
    fn nagios_line() {
        let q = Queue {
            url: "http://x/q".into(),
            name: "jobs".into(),
            fifo: false,
        };
        let d = Depth {
            visible: 1500,
            in_flight: 3,
            delayed: 0,
        };
        let args = StatsArgs {
            queue: "jobs".into(),
            nagios: true,
            metric: Metric::Visible,
            check: NagiosArgs {
                warning: Some("1000".parse().unwrap()),
                critical: Some("10000".parse().unwrap()),
                timeout: 10,
            },
        };
        let c = check(&q, &d, &args);
        assert_eq!(
            c.to_string(),
            "SQS WARNING - jobs: 1500 visible, 3 in flight, 0 delayed | 'visible'=1500;1000;10000;0 'in_flight'=3;;;0 'delayed'=0;;;0"
        );
        assert_eq!(d.metric(Metric::Total), 1503);
        assert_eq!(
            human(&q, &d),
            "queue  visible  in flight  delayed\njobs     1,500          3        0\n"
        );
    }
}
