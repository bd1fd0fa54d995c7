//! Interruption handling: every group drains a terminating instance for
//! `drain_seconds` (a termination lifecycle hook whose heartbeat times out
//! into CONTINUE), and a target group the stack creates deregisters it with
//! a delay that fits inside that drain, both within a spot instance's
//! two-minute notice. The auto scaling groups receive the notice and
//! rebalance recommendations themselves (Capacity Rebalance), so no
//! EventBridge rule, and no target for one, is needed.

use super::{ids, Sections};
use crate::config::StackConfig;
use crate::tree::{map, r, s, Node};

/// The drain hook of `group`, when interruption handling is on.
pub(super) fn hook(config: &StackConfig, group: &str, out: &mut Sections) {
    let i = &config.interruption;
    if !i.enabled {
        return;
    }
    let id = format!("{}DrainHook", group.trim_end_matches("Group"));
    out.resource(
        &id,
        map([
            ("Type", s("AWS::AutoScaling::LifecycleHook")),
            (
                "Properties",
                map([
                    ("AutoScalingGroupName", r(group)),
                    (
                        "LifecycleTransition",
                        s("autoscaling:EC2_INSTANCE_TERMINATING"),
                    ),
                    ("HeartbeatTimeout", Node::from(i.drain_seconds)),
                    ("DefaultResult", s("CONTINUE")),
                ]),
            ),
        ]),
    );
}

/// The target group the stack creates, if configured: added to the
/// resources, and returned as the `Ref`s the groups register with.
pub(super) fn target_group(config: &StackConfig, out: &mut Sections) -> Vec<Node> {
    let Some(tg) = &config.target_group else {
        return Vec::new();
    };
    out.resource(
        ids::TARGET_GROUP,
        map([
            ("Type", s("AWS::ElasticLoadBalancingV2::TargetGroup")),
            (
                "Properties",
                map([
                    ("VpcId", s(tg.vpc_id.as_str())),
                    ("Port", Node::from(u32::from(tg.port))),
                    ("Protocol", s(tg.protocol.as_str())),
                    ("HealthCheckPath", s(tg.health_check_path.as_str())),
                    ("TargetType", s("instance")),
                    (
                        "TargetGroupAttributes",
                        Node::Seq(vec![map([
                            ("Key", s("deregistration_delay.timeout_seconds")),
                            ("Value", s(tg.deregistration_delay.to_string())),
                        ])]),
                    ),
                ]),
            ),
        ]),
    );
    vec![r(ids::TARGET_GROUP)]
}

/// The created target group's ARN, for a listener outside the stack.
pub(super) fn target_group_output(config: &StackConfig, out: &mut Sections) {
    if config.target_group.is_some() {
        out.output(
            "TargetGroupArn",
            "The target group every group registers with (attach it to your listener)",
            r(ids::TARGET_GROUP),
        );
    }
}
