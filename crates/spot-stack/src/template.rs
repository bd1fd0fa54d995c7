//! The CloudFormation template, built as an ordered YAML value so that the
//! YAML and JSON renderings read top-down in the same order.
//!
//! Two strategies:
//! - [`Strategy::TwoGroups`] (the write-up's pattern): an on-demand and a spot
//!   launch template and auto scaling group, each with a high- and a low-CPU
//!   alarm driving simple scaling policies with cooldowns. The spot group
//!   gets spot capacity through the launch template's `InstanceMarketOptions`
//!   (launch configurations cannot be created in accounts made after
//!   2024-10-01).
//! - [`Strategy::Mixed`]: AWS's modern single-group alternative, a
//!   `MixedInstancesPolicy` with an on-demand base, spot above it,
//!   `price-capacity-optimized` allocation over several instance types,
//!   capacity rebalancing and a target tracking policy on average CPU.

use crate::tree::{get_att, map, r, s, strings, Node};

use crate::config::{GroupPolicy, StackConfig, Step};
use crate::text::price_str;

/// The template as an ordered tree.
pub type Template = Node;

/// Which stack shape to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Two groups: spot scales first, on-demand fills in (the write-up's pattern).
    #[default]
    #[value(name = "two-groups")]
    TwoGroups,
    /// One group with a MixedInstancesPolicy (on-demand base, spot above it).
    Mixed,
}

/// Output format of the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TemplateFormat {
    #[default]
    Yaml,
    Json,
}

/// A template that cannot be generated from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("config: {0}")]
pub struct TemplateError(pub String);

/// Logical ids, shared with `status` and the tests.
pub mod ids {
    pub const ON_DEMAND_GROUP: &str = "OnDemandGroup";
    pub const SPOT_GROUP: &str = "SpotGroup";
    pub const MIXED_GROUP: &str = "MixedGroup";
}

fn insert(v: &mut Node, key: &str, value: Node) {
    v.insert(key, value);
}

/// Builds the template for `config` (the caller validated it first).
pub fn build(
    config: &StackConfig,
    strategy: Strategy,
    max_price: Option<f64>,
) -> Result<Node, TemplateError> {
    let inst = &config.instances;
    if inst.ami.trim().is_empty() {
        return Err(TemplateError(
            "instances.ami is not set (an ami-... id or a {{resolve:ssm:...}} reference)".into(),
        ));
    }
    if inst.subnets.is_empty() {
        return Err(TemplateError(
            "instances.subnets is empty: name at least one subnet".into(),
        ));
    }
    if config.primary_type().is_empty() {
        return Err(TemplateError("instances.instance_types is empty".into()));
    }
    let max_price = max_price.or(config.spot.max_price);
    let mut resources = Node::map();
    let mut outputs = Node::map();
    let add = |m: &mut Node, id: &str, v: Node| {
        m.insert(id, v);
    };
    match strategy {
        Strategy::TwoGroups => {
            add(
                &mut resources,
                "OnDemandLaunchTemplate",
                launch_template(config, "on-demand", None),
            );
            add(
                &mut resources,
                "SpotLaunchTemplate",
                launch_template(config, "spot", Some(max_price)),
            );
            for (group, lt, policy, market) in [
                (
                    ids::ON_DEMAND_GROUP,
                    "OnDemandLaunchTemplate",
                    &config.on_demand,
                    "on-demand",
                ),
                (
                    ids::SPOT_GROUP,
                    "SpotLaunchTemplate",
                    &config.spot.group,
                    "spot",
                ),
            ] {
                let prefix = group.trim_end_matches("Group");
                let mut asg = group_base(config, policy.min, policy.max, market);
                insert(
                    &mut asg,
                    "LaunchTemplate",
                    map([
                        ("LaunchTemplateId", r(lt)),
                        ("Version", get_att(lt, "LatestVersionNumber")),
                    ]),
                );
                add(&mut resources, group, wrap_group(asg));
                scaling(&mut resources, prefix, group, policy, market);
                add(
                    &mut outputs,
                    &format!("{group}Name"),
                    map([
                        ("Description", s(format!("The {market} auto scaling group"))),
                        ("Value", r(group)),
                    ]),
                );
            }
            add(
                &mut outputs,
                "SpotMaxPrice",
                map([
                    (
                        "Description",
                        s("Spot maximum price (USD/hour); on-demand price when unset"),
                    ),
                    (
                        "Value",
                        s(max_price.map_or("on-demand".to_string(), price_str)),
                    ),
                ]),
            );
        }
        Strategy::Mixed => {
            add(
                &mut resources,
                "LaunchTemplate",
                launch_template(config, "mixed", None),
            );
            let (min, max) = config.mixed_bounds();
            let mut asg = group_base(config, min, max, "mixed");
            let mut distribution = map([
                (
                    "OnDemandBaseCapacity",
                    Node::from(config.mixed.on_demand_base),
                ),
                (
                    "OnDemandPercentageAboveBaseCapacity",
                    Node::from(config.mixed.on_demand_percentage_above_base),
                ),
                (
                    "SpotAllocationStrategy",
                    s(config.mixed.spot_allocation_strategy.as_str()),
                ),
            ]);
            if let Some(p) = max_price {
                insert(&mut distribution, "SpotMaxPrice", s(price_str(p)));
            }
            let overrides = config
                .instances
                .instance_types
                .iter()
                .map(|t| map([("InstanceType", s(t.as_str()))]))
                .collect();
            insert(
                &mut asg,
                "MixedInstancesPolicy",
                map([
                    ("InstancesDistribution", distribution),
                    (
                        "LaunchTemplate",
                        map([
                            (
                                "LaunchTemplateSpecification",
                                map([
                                    ("LaunchTemplateId", r("LaunchTemplate")),
                                    ("Version", get_att("LaunchTemplate", "LatestVersionNumber")),
                                ]),
                            ),
                            ("Overrides", Node::Seq(overrides)),
                        ]),
                    ),
                ]),
            );
            insert(
                &mut asg,
                "CapacityRebalance",
                Node::Bool(config.mixed.capacity_rebalance),
            );
            add(&mut resources, ids::MIXED_GROUP, wrap_group(asg));
            add(
                &mut resources,
                "CpuTargetTracking",
                map([
                    ("Type", s("AWS::AutoScaling::ScalingPolicy")),
                    (
                        "Properties",
                        map([
                            ("AutoScalingGroupName", r(ids::MIXED_GROUP)),
                            ("PolicyType", s("TargetTrackingScaling")),
                            (
                                "EstimatedInstanceWarmup",
                                Node::from(config.instances.boot_seconds),
                            ),
                            (
                                "TargetTrackingConfiguration",
                                map([
                                    (
                                        "PredefinedMetricSpecification",
                                        map([(
                                            "PredefinedMetricType",
                                            s("ASGAverageCPUUtilization"),
                                        )]),
                                    ),
                                    ("TargetValue", Node::from(config.mixed.target_cpu)),
                                ]),
                            ),
                        ]),
                    ),
                ]),
            );
            add(
                &mut outputs,
                "MixedGroupName",
                map([
                    (
                        "Description",
                        s("The mixed (on-demand base + spot) auto scaling group"),
                    ),
                    ("Value", r(ids::MIXED_GROUP)),
                ]),
            );
        }
    }
    Ok(map([
        ("AWSTemplateFormatVersion", s("2010-09-09")),
        ("Description", s(config.description.as_str())),
        ("Resources", resources),
        ("Outputs", outputs),
    ]))
}

/// Renders the template.
pub fn render(template: &Node, format: TemplateFormat) -> String {
    match format {
        // JSON cannot fail on a tree of strings, numbers, bools and mappings
        // with string keys; fall back to an empty document rather than panic.
        TemplateFormat::Yaml => crate::yaml::to_string(template),
        TemplateFormat::Json => {
            let mut out = serde_json::to_string_pretty(template).unwrap_or_default();
            out.push('\n');
            out
        }
    }
}

/// `market`: "on-demand", "spot" or "mixed". `spot_price`: `Some(max)` makes a
/// spot launch template (`Some(None)`: max price unset).
fn launch_template(config: &StackConfig, market: &str, spot_price: Option<Option<f64>>) -> Node {
    let inst = &config.instances;
    let mut data = map([
        ("ImageId", s(inst.ami.as_str())),
        ("InstanceType", s(config.primary_type())),
    ]);
    if !inst.security_groups.is_empty() {
        insert(
            &mut data,
            "SecurityGroupIds",
            strings(&inst.security_groups),
        );
    }
    if let Some(k) = &inst.key_name {
        insert(&mut data, "KeyName", s(k.as_str()));
    }
    if let Some(p) = &inst.instance_profile {
        let key = if p.starts_with("arn:") { "Arn" } else { "Name" };
        insert(&mut data, "IamInstanceProfile", map([(key, s(p.as_str()))]));
    }
    if let Some(u) = &inst.user_data {
        insert(&mut data, "UserData", map([("Fn::Base64", s(u.as_str()))]));
    }
    // IMDSv2 only: never widen access by default.
    insert(
        &mut data,
        "MetadataOptions",
        map([
            ("HttpTokens", s("required")),
            ("HttpEndpoint", s("enabled")),
        ]),
    );
    if let Some(max_price) = spot_price {
        let mut spot = map([
            ("SpotInstanceType", s("one-time")),
            ("InstanceInterruptionBehavior", s("terminate")),
        ]);
        if let Some(p) = max_price {
            insert(&mut spot, "MaxPrice", s(price_str(p)));
        }
        insert(
            &mut data,
            "InstanceMarketOptions",
            map([("MarketType", s("spot")), ("SpotOptions", spot)]),
        );
    }
    map([
        ("Type", s("AWS::EC2::LaunchTemplate")),
        (
            "Properties",
            map([
                (
                    "LaunchTemplateName",
                    map([("Fn::Sub", s(format!("${{AWS::StackName}}-{market}")))]),
                ),
                ("LaunchTemplateData", data),
            ]),
        ),
    ])
}

fn group_base(config: &StackConfig, min: u32, max: u32, market: &str) -> Node {
    let inst = &config.instances;
    let name = match &config.name {
        Some(n) => s(format!("{n}-{market}")),
        None => map([("Fn::Sub", s(format!("${{AWS::StackName}}-{market}")))]),
    };
    let mut asg = map([
        ("MinSize", s(min.to_string())),
        ("MaxSize", s(max.to_string())),
        ("VPCZoneIdentifier", strings(&inst.subnets)),
    ]);
    if !inst.target_groups.is_empty() {
        insert(&mut asg, "TargetGroupARNs", strings(&inst.target_groups));
        insert(&mut asg, "HealthCheckType", s("ELB"));
    } else {
        insert(&mut asg, "HealthCheckType", s("EC2"));
    }
    insert(
        &mut asg,
        "HealthCheckGracePeriod",
        Node::from(inst.boot_seconds),
    );
    insert(
        &mut asg,
        "MetricsCollection",
        Node::Seq(vec![map([("Granularity", s("1Minute"))])]),
    );
    insert(
        &mut asg,
        "Tags",
        Node::Seq(vec![
            map([
                ("Key", s("Name")),
                ("Value", name),
                ("PropagateAtLaunch", Node::Bool(true)),
            ]),
            map([
                ("Key", s("spot-stack:market")),
                ("Value", s(market)),
                ("PropagateAtLaunch", Node::Bool(true)),
            ]),
        ]),
    );
    asg
}

fn wrap_group(properties: Node) -> Node {
    map([
        ("Type", s("AWS::AutoScaling::AutoScalingGroup")),
        ("Properties", properties),
    ])
}

/// Scale-up and scale-down simple scaling policies and their CPU alarms.
fn scaling(resources: &mut Node, prefix: &str, group: &str, policy: &GroupPolicy, market: &str) {
    for (dir, step, adjustment, op, verb) in [
        (
            "ScaleUp",
            &policy.scale_up,
            i64::from(policy.scale_up.adjustment),
            "GreaterThanThreshold",
            "above",
        ),
        (
            "ScaleDown",
            &policy.scale_down,
            -i64::from(policy.scale_down.adjustment),
            "LessThanThreshold",
            "below",
        ),
    ] {
        let policy_id = format!("{prefix}{dir}Policy");
        let alarm_id = format!(
            "{prefix}{}Alarm",
            if dir == "ScaleUp" {
                "CpuHigh"
            } else {
                "CpuLow"
            }
        );
        resources.insert(
            policy_id.as_str(),
            map([
                ("Type", s("AWS::AutoScaling::ScalingPolicy")),
                (
                    "Properties",
                    map([
                        ("AutoScalingGroupName", r(group)),
                        ("PolicyType", s("SimpleScaling")),
                        ("AdjustmentType", s("ChangeInCapacity")),
                        ("ScalingAdjustment", Node::from(adjustment)),
                        ("Cooldown", s(step.cooldown.to_string())),
                    ]),
                ),
            ]),
        );
        resources.insert(
            &alarm_id,
            alarm(policy, step, group, &policy_id, op, verb, market),
        );
    }
}

fn alarm(
    policy: &GroupPolicy,
    step: &Step,
    group: &str,
    policy_id: &str,
    op: &str,
    verb: &str,
    market: &str,
) -> Node {
    let minutes = f64::from(policy.period * policy.evaluation_periods) / 60.0;
    let adj = if verb == "above" {
        format!("add {}", step.adjustment)
    } else {
        format!("remove {}", step.adjustment)
    };
    map([
        ("Type", s("AWS::CloudWatch::Alarm")),
        (
            "Properties",
            map([
                (
                    "AlarmDescription",
                    s(format!(
                        "{market}: {adj} when average CPU is {verb} {}% for {} minutes",
                        crate::text::fmt_num(step.threshold),
                        crate::text::fmt_num(minutes)
                    )),
                ),
                ("Namespace", s("AWS/EC2")),
                ("MetricName", s("CPUUtilization")),
                (
                    "Dimensions",
                    Node::Seq(vec![map([
                        ("Name", s("AutoScalingGroupName")),
                        ("Value", r(group)),
                    ])]),
                ),
                ("Statistic", s("Average")),
                ("Period", Node::from(policy.period)),
                ("EvaluationPeriods", Node::from(policy.evaluation_periods)),
                ("Threshold", Node::from(step.threshold)),
                ("ComparisonOperator", s(op)),
                ("AlarmActions", Node::Seq(vec![r(policy_id)])),
            ]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> StackConfig {
        let mut c = StackConfig::default();
        c.instances.ami = "ami-1".into();
        c.instances.subnets = vec!["subnet-1".into()];
        c
    }

    #[test]
    fn spot_group_uses_launch_template_market_options_without_max_price() {
        let t = build(&config(), Strategy::TwoGroups, None).unwrap();
        let spot = &t["Resources"]["SpotLaunchTemplate"]["Properties"]["LaunchTemplateData"];
        assert_eq!(spot["InstanceMarketOptions"]["MarketType"], s("spot"));
        assert!(spot["InstanceMarketOptions"]["SpotOptions"]
            .get("MaxPrice")
            .is_none());
        let od = &t["Resources"]["OnDemandLaunchTemplate"]["Properties"]["LaunchTemplateData"];
        assert!(od.get("InstanceMarketOptions").is_none());
        let t = build(&config(), Strategy::TwoGroups, Some(0.12)).unwrap();
        let spot = &t["Resources"]["SpotLaunchTemplate"]["Properties"]["LaunchTemplateData"];
        assert_eq!(
            spot["InstanceMarketOptions"]["SpotOptions"]["MaxPrice"],
            s("0.12")
        );
    }

    #[test]
    fn missing_ami_or_subnets_is_a_clear_error() {
        let mut c = config();
        c.instances.ami.clear();
        let e = build(&c, Strategy::TwoGroups, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("instances.ami is not set"), "{e}");
        let mut c = config();
        c.instances.subnets.clear();
        let e = build(&c, Strategy::Mixed, None).unwrap_err().to_string();
        assert!(e.contains("instances.subnets"), "{e}");
    }
}
