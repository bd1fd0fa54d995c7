//! The fallback group: on-demand capacity that covers exactly what the
//! spot side cannot launch, moved by the spot group's own capacity metrics
//! instead of CPU.
//!
//! Two metric-math alarms on the spot-side group's metrics (1-minute group
//! metrics: desired capacity, in service, pending) and the fallback group's
//! desired capacity drive one step policy that sets the fallback group's
//! size exactly (`ExactCapacity`), so an alarm that fires again sets the
//! same size instead of adding more:
//!
//! - out: while `desired - in service - pending` (the shortfall: capacity
//!   the group wants and is not even launching) exceeds the fallback group
//!   by a unit or more for `evaluation_periods`, the fallback group is set
//!   to the shortfall. Pending counts as capacity, so an ordinary scale-out
//!   whose instances are booting does not fire it.
//! - in: while the fallback group exceeds `desired - in service` (what spot
//!   does not yet serve) by a unit or more, it is set to that. Booting spot
//!   instances do not count here: on-demand leaves only once spot serves.
//!
//! The fallback size therefore stays between the two targets, which differ
//! by the spot instances booting: the alarms cannot undo each other. And it
//! never exceeds what spot fails to serve, so the tier's CPU is what it
//! would be had spot not gone: the spot group's own CPU scale-in sees no
//! surplus to remove (beyond the in-alarm's few minutes after spot comes
//! back, shorter than the spot scale-in window; `validate` checks that), and
//! when spot's CPU policy scales the group in, the fallback follows its
//! desired capacity down instead of fighting it.
//!
//! Missing data (group metrics not yet published, or turned off) is
//! `notBreaching`: no evidence, no change.

use super::parts::{self, group_dimension, Market, Sizes};
use super::{drain, ids, Sections};
use crate::config::StackConfig;
use crate::tree::{map, r, s, Node};

/// Step adjustments a step scaling policy may have (an AWS quota).
const MAX_STEPS: u32 = 20;

/// Adds the fallback group, its policy and its two alarms beside
/// `spot_side` (the spot group, or the mixed group).
pub(super) fn add(
    config: &StackConfig,
    spot_side: &str,
    max: u32,
    target_groups: &[Node],
    out: &mut Sections,
) {
    let fb = ids::FALLBACK_GROUP;
    let market = Market {
        name: "fallback",
        tag: "on-demand",
    };
    let mut asg = parts::group_base(config, Sizes::new(0, max), market, target_groups);
    asg.insert(
        "MixedInstancesPolicy",
        parts::mixed_instances_policy(config, parts::on_demand_distribution(config)),
    );
    out.resource(fb, parts::wrap_group(asg));
    out.resource("FallbackPolicy", policy(config, max));
    let metrics = Metrics::of(config, spot_side);
    out.resource("FallbackOutAlarm", alarm(config, &metrics, Direction::Out));
    out.resource("FallbackInAlarm", alarm(config, &metrics, Direction::In));
    drain::hook(config, fb, out);
    out.output(
        "FallbackGroupName",
        "The on-demand group that covers what spot cannot launch",
        r(fb),
    );
}

/// `ExactCapacity` steps: the alarm's value (the size the fallback group
/// should have) maps to that size, in at most 20 steps (rounded up to a
/// whole step for large groups).
fn policy(config: &StackConfig, max: u32) -> Node {
    map([
        ("Type", s("AWS::AutoScaling::ScalingPolicy")),
        (
            "Properties",
            map([
                ("AutoScalingGroupName", r(ids::FALLBACK_GROUP)),
                ("PolicyType", s("StepScaling")),
                ("AdjustmentType", s("ExactCapacity")),
                ("MetricAggregationType", s("Maximum")),
                (
                    "EstimatedInstanceWarmup",
                    Node::from(config.instances.boot_seconds),
                ),
                ("StepAdjustments", Node::Seq(steps(max))),
            ]),
        ),
    ])
}

/// `[0,1) → 0`, then `[(i-1)q+1, iq+1) → iq` up to `max`, the last step open.
pub(super) fn steps(max: u32) -> Vec<Node> {
    let q = max.div_ceil(MAX_STEPS - 1).max(1);
    let mut steps = vec![step(0, Some(1), 0)];
    let mut size = 0;
    while size < max {
        let lower = size + 1;
        size = size.saturating_add(q).min(max);
        let upper = (size < max).then(|| size + 1);
        steps.push(step(lower, upper, size));
    }
    if max == 0 {
        steps = vec![step(0, None, 0)];
    }
    steps
}

fn step(lower: u32, upper: Option<u32>, size: u32) -> Node {
    let mut n = map([("MetricIntervalLowerBound", Node::from(lower))]);
    if let Some(u) = upper {
        n.insert("MetricIntervalUpperBound", Node::from(u));
    }
    n.insert("ScalingAdjustment", Node::from(size));
    n
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Out,
    In,
}

/// Which group metrics the alarms read: capacity units when types are
/// weighted.
struct Metrics<'a> {
    spot_side: &'a str,
    in_service: &'static str,
    pending: &'static str,
}

impl<'a> Metrics<'a> {
    fn of(config: &StackConfig, spot_side: &'a str) -> Self {
        let weighted = config.instances.weighted();
        Metrics {
            spot_side,
            in_service: if weighted {
                "GroupInServiceCapacity"
            } else {
                "GroupInServiceInstances"
            },
            pending: if weighted {
                "GroupPendingCapacity"
            } else {
                "GroupPendingInstances"
            },
        }
    }
}

fn alarm(config: &StackConfig, m: &Metrics<'_>, dir: Direction) -> Node {
    let f = &config.fallback;
    let (expression, label, description) = expression(m, dir, f.period * f.evaluation_periods);
    let mut queries = inputs(m, dir, f.period);
    queries.push(map([
        ("Id", s("target")),
        ("Expression", s(expression)),
        ("Label", s(label)),
        ("ReturnData", Node::Bool(true)),
    ]));
    map([
        ("Type", s("AWS::CloudWatch::Alarm")),
        (
            "Properties",
            map([
                ("AlarmDescription", s(description)),
                ("Metrics", Node::Seq(queries)),
                ("EvaluationPeriods", Node::from(f.evaluation_periods)),
                ("DatapointsToAlarm", Node::from(f.evaluation_periods)),
                ("Threshold", Node::from(0.0)),
                ("ComparisonOperator", s("GreaterThanOrEqualToThreshold")),
                ("TreatMissingData", s("notBreaching")),
                ("AlarmActions", Node::Seq(vec![r("FallbackPolicy")])),
            ]),
        ),
    ])
}

/// The group metrics an alarm reads. Each statistic errs towards doing
/// nothing: out sees the least the group wants and the most there is (in
/// service, pending, fallback); in, the reverse.
fn inputs(m: &Metrics<'_>, dir: Direction, period: u32) -> Vec<Node> {
    let (wanted, there) = match dir {
        Direction::Out => ("Minimum", "Maximum"),
        Direction::In => ("Maximum", "Minimum"),
    };
    let mut queries = vec![
        stat(
            "desired",
            m.spot_side,
            "GroupDesiredCapacity",
            wanted,
            period,
        ),
        stat("inservice", m.spot_side, m.in_service, there, period),
    ];
    if dir == Direction::Out {
        queries.push(stat("pending", m.spot_side, m.pending, there, period));
    }
    queries.push(stat(
        "fallback",
        ids::FALLBACK_GROUP,
        "GroupDesiredCapacity",
        there,
        period,
    ));
    queries
}

/// The alarm's expression, its label and its description.
fn expression(
    m: &Metrics<'_>,
    dir: Direction,
    window: u32,
) -> (&'static str, &'static str, String) {
    let minutes = crate::text::fmt_num(f64::from(window) / 60.0);
    match dir {
        Direction::Out => (
            "IF(desired - inservice - pending - fallback >= 1, desired - inservice - pending, -1)",
            "fallback size for the spot shortfall (-1: no shortfall uncovered)",
            format!("fallback: on-demand covers the spot capacity {} wants but cannot launch (desired - in service - pending) for {minutes} minutes", m.spot_side),
        ),
        Direction::In => (
            "IF(fallback + inservice - desired >= 1, desired - inservice, -1)",
            "fallback size once spot serves again (-1: no surplus)",
            format!("fallback: on-demand leaves as spot in {} serves again (fallback above desired - in service) for {minutes} minutes", m.spot_side),
        ),
    }
}

/// One metric of a group as a metric-math input (not itself returned).
fn stat(id: &str, group: &str, metric: &str, statistic: &str, period: u32) -> Node {
    map([
        ("Id", s(id)),
        (
            "MetricStat",
            map([
                (
                    "Metric",
                    map([
                        ("Namespace", s("AWS/AutoScaling")),
                        ("MetricName", s(metric)),
                        ("Dimensions", group_dimension(group)),
                    ]),
                ),
                ("Period", Node::from(period)),
                ("Stat", s(statistic)),
            ]),
        ),
        ("ReturnData", Node::Bool(false)),
    ])
}
