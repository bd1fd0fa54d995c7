//! The pieces every strategy's template is made of: launch templates,
//! groups, their instance choices, CPU alarms and scaling policies.

use crate::config::{GroupPolicy, Requirements, StackConfig, Step};
use crate::text::{fmt_num, price_str};
use crate::tree::{get_att, map, r, s, strings, sub, Node};

/// What a group is called and which market it buys.
#[derive(Debug, Clone, Copy)]
pub(super) struct Market {
    /// The suffix of its Name tag.
    pub name: &'static str,
    /// The `spot-stack:market` tag: on-demand, spot or mixed.
    pub tag: &'static str,
}

impl Market {
    pub fn named(market: &'static str) -> Self {
        Market {
            name: market,
            tag: market,
        }
    }

    pub fn is_spot(&self) -> bool {
        self.tag == "spot"
    }
}

/// A group's size bounds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sizes {
    pub min: u32,
    pub max: u32,
}

impl Sizes {
    pub fn new(min: u32, max: u32) -> Self {
        Sizes { min, max }
    }
}

/// The seed's launch templates. `spot_price`: `Some(max)` makes a spot
/// launch template (`Some(None)`: max price unset).
pub(super) fn seed_launch_template(
    config: &StackConfig,
    market: &str,
    spot_price: Option<Option<f64>>,
) -> Node {
    let mut data = launch_template_data(config, true);
    if let Some(max_price) = spot_price {
        let mut spot = map([
            ("SpotInstanceType", s("one-time")),
            ("InstanceInterruptionBehavior", s("terminate")),
        ]);
        if let Some(p) = max_price {
            spot.insert("MaxPrice", s(price_str(p)));
        }
        data.insert(
            "InstanceMarketOptions",
            map([("MarketType", s("spot")), ("SpotOptions", spot)]),
        );
    }
    wrap_launch_template(market, data)
}

/// The one launch template of the groups with a `MixedInstancesPolicy`
/// (which sets the market itself). With attribute-based selection it names
/// no instance type: the requirements choose.
pub(super) fn launch_template(config: &StackConfig, name: &str) -> Node {
    let data = launch_template_data(config, config.instances.requirements.is_none());
    wrap_launch_template(name, data)
}

fn wrap_launch_template(name: &str, data: Node) -> Node {
    map([
        ("Type", s("AWS::EC2::LaunchTemplate")),
        (
            "Properties",
            map([
                (
                    "LaunchTemplateName",
                    sub(format!("${{AWS::StackName}}-{name}")),
                ),
                ("LaunchTemplateData", data),
            ]),
        ),
    ])
}

fn launch_template_data(config: &StackConfig, with_type: bool) -> Node {
    let inst = &config.instances;
    let mut data = map([("ImageId", s(inst.ami.as_str()))]);
    if with_type {
        data.insert("InstanceType", s(config.primary_type()));
    }
    if !inst.security_groups.is_empty() {
        data.insert("SecurityGroupIds", strings(&inst.security_groups));
    }
    if let Some(k) = &inst.key_name {
        data.insert("KeyName", s(k.as_str()));
    }
    if let Some(p) = &inst.instance_profile {
        let key = if p.starts_with("arn:") { "Arn" } else { "Name" };
        data.insert("IamInstanceProfile", map([(key, s(p.as_str()))]));
    }
    if let Some(u) = &inst.user_data {
        data.insert("UserData", map([("Fn::Base64", s(u.as_str()))]));
    }
    // IMDSv2 only: never widen access by default.
    data.insert(
        "MetadataOptions",
        map([
            ("HttpTokens", s("required")),
            ("HttpEndpoint", s("enabled")),
        ]),
    );
    data
}

/// `{LaunchTemplateId, Version}` of launch template `lt`.
pub(super) fn launch_template_spec(lt: &str) -> Node {
    map([
        ("LaunchTemplateId", r(lt)),
        ("Version", get_att(lt, "LatestVersionNumber")),
    ])
}

/// A group's common properties. `target_groups`: those the stack creates
/// (the configured ARNs are added to them).
pub(super) fn group_base(
    config: &StackConfig,
    sizes: Sizes,
    market: Market,
    target_groups: &[Node],
) -> Node {
    let inst = &config.instances;
    let name = match &config.name {
        Some(n) => s(format!("{n}-{}", market.name)),
        None => sub(format!("${{AWS::StackName}}-{}", market.name)),
    };
    let mut asg = map([
        ("MinSize", s(sizes.min.to_string())),
        ("MaxSize", s(sizes.max.to_string())),
        ("VPCZoneIdentifier", strings(&inst.subnets)),
    ]);
    let mut tgs = target_groups.to_vec();
    tgs.extend(inst.target_groups.iter().map(|t| s(t.as_str())));
    if tgs.is_empty() {
        asg.insert("HealthCheckType", s("EC2"));
    } else {
        asg.insert("TargetGroupARNs", Node::Seq(tgs));
        asg.insert("HealthCheckType", s("ELB"));
    }
    asg.insert("HealthCheckGracePeriod", Node::from(inst.boot_seconds));
    if inst.group_metrics {
        asg.insert(
            "MetricsCollection",
            Node::Seq(vec![map([("Granularity", s("1Minute"))])]),
        );
    }
    asg.insert("Tags", tags(name, market.tag));
    asg
}

fn tags(name: Node, market: &str) -> Node {
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
    ])
}

pub(super) fn wrap_group(properties: Node) -> Node {
    map([
        ("Type", s("AWS::AutoScaling::AutoScalingGroup")),
        ("Properties", properties),
    ])
}

/// Spot only, from the pools `strategy` picks.
pub(super) fn spot_distribution(strategy: &str, max_price: Option<f64>) -> Node {
    let mut d = map([
        ("OnDemandBaseCapacity", Node::from(0u32)),
        ("OnDemandPercentageAboveBaseCapacity", Node::from(0u32)),
        ("SpotAllocationStrategy", s(strategy)),
    ]);
    if let Some(p) = max_price {
        d.insert("SpotMaxPrice", s(price_str(p)));
    }
    d
}

/// On-demand only: the listed types in order, or (attribute-based) the
/// cheapest that fits.
pub(super) fn on_demand_distribution(config: &StackConfig) -> Node {
    let allocation = if config.instances.requirements.is_some() {
        "lowest-price"
    } else {
        "prioritized"
    };
    map([
        ("OnDemandAllocationStrategy", s(allocation)),
        ("OnDemandBaseCapacity", Node::from(0u32)),
        ("OnDemandPercentageAboveBaseCapacity", Node::from(100u32)),
    ])
}

/// The launch template with its overrides: every listed type (with its
/// weight when weighted), or the attribute-based requirements.
pub(super) fn mixed_instances_policy(config: &StackConfig, distribution: Node) -> Node {
    let lt = crate::template::ids::LAUNCH_TEMPLATE;
    map([
        ("InstancesDistribution", distribution),
        (
            "LaunchTemplate",
            map([
                ("LaunchTemplateSpecification", launch_template_spec(lt)),
                ("Overrides", overrides(config)),
            ]),
        ),
    ])
}

fn overrides(config: &StackConfig) -> Node {
    let inst = &config.instances;
    if let Some(req) = &inst.requirements {
        return Node::Seq(vec![map([("InstanceRequirements", requirements(req))])]);
    }
    let items = inst.instance_types.iter().map(|t| {
        let mut o = map([("InstanceType", s(t.as_str()))]);
        if inst.weighted() {
            o.insert("WeightedCapacity", s(inst.weight(t).to_string()));
        }
        o
    });
    Node::Seq(items.collect())
}

fn requirements(req: &Requirements) -> Node {
    let bounds = |b: crate::config::Bounds| {
        let mut m = map([("Min", Node::from(b.min))]);
        if let Some(max) = b.max {
            m.insert("Max", Node::from(max));
        }
        m
    };
    let mut node = map([
        ("VCpuCount", bounds(req.vcpu)),
        ("MemoryMiB", bounds(req.memory_mib)),
        ("InstanceGenerations", strings(&req.instance_generations)),
        ("BurstablePerformance", s(req.burstable.as_str())),
    ]);
    if !req.cpu_manufacturers.is_empty() {
        node.insert("CpuManufacturers", strings(&req.cpu_manufacturers));
    }
    if !req.allowed_types.is_empty() {
        node.insert("AllowedInstanceTypes", strings(&req.allowed_types));
    }
    node
}

/// The mixed group's target tracking policy on average CPU.
pub(super) fn target_tracking(config: &StackConfig) -> Node {
    map([
        ("Type", s("AWS::AutoScaling::ScalingPolicy")),
        (
            "Properties",
            map([
                ("AutoScalingGroupName", r(crate::template::ids::MIXED_GROUP)),
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
                            map([("PredefinedMetricType", s("ASGAverageCPUUtilization"))]),
                        ),
                        ("TargetValue", Node::from(config.mixed.target_cpu)),
                    ]),
                ),
            ]),
        ),
    ])
}

/// Scale-up and scale-down simple scaling policies and their CPU alarms
/// (the write-up's design), named after `group` without "Group". With
/// `held_by`, the scale-down alarm holds while that group (the fallback
/// group) has any desired capacity.
pub(super) fn cpu_scaling(
    resources: &mut Node,
    group: &str,
    policy: &GroupPolicy,
    market: &str,
    held_by: Option<&str>,
) {
    let prefix = group.trim_end_matches("Group");
    for up in [true, false] {
        let (dir, alarm_name, step) = if up {
            ("ScaleUp", "CpuHigh", &policy.scale_up)
        } else {
            ("ScaleDown", "CpuLow", &policy.scale_down)
        };
        let adjustment = i64::from(step.adjustment);
        let policy_id = format!("{prefix}{dir}Policy");
        resources.insert(
            &policy_id,
            map([
                ("Type", s("AWS::AutoScaling::ScalingPolicy")),
                (
                    "Properties",
                    map([
                        ("AutoScalingGroupName", r(group)),
                        ("PolicyType", s("SimpleScaling")),
                        ("AdjustmentType", s("ChangeInCapacity")),
                        (
                            "ScalingAdjustment",
                            Node::from(if up { adjustment } else { -adjustment }),
                        ),
                        ("Cooldown", s(step.cooldown.to_string())),
                    ]),
                ),
            ]),
        );
        let alarm = CpuAlarm {
            policy,
            step,
            group,
            policy_id: &policy_id,
            up,
            market,
            held_by: held_by.filter(|_| !up),
        };
        resources.insert(&format!("{prefix}{alarm_name}Alarm"), alarm.resource());
    }
}

/// A CPU alarm of the write-up's design.
struct CpuAlarm<'a> {
    policy: &'a GroupPolicy,
    step: &'a Step,
    group: &'a str,
    policy_id: &'a str,
    up: bool,
    market: &'a str,
    held_by: Option<&'a str>,
}

impl CpuAlarm<'_> {
    fn resource(&self) -> Node {
        let p = self.policy;
        let minutes = f64::from(p.period * p.evaluation_periods) / 60.0;
        let (verb, adj, op) = if self.up {
            ("above", "add", "GreaterThanThreshold")
        } else {
            ("below", "remove", "LessThanThreshold")
        };
        let mut description = format!(
            "{}: {adj} {} when average CPU is {verb} {}% for {} minutes",
            self.market,
            self.step.adjustment,
            fmt_num(self.step.threshold),
            fmt_num(minutes)
        );
        let mut props = match self.held_by {
            None => map([
                ("Namespace", s("AWS/EC2")),
                ("MetricName", s("CPUUtilization")),
                ("Dimensions", group_dimension(self.group)),
                ("Statistic", s("Average")),
                ("Period", Node::from(p.period)),
            ]),
            Some(holder) => {
                description.push_str(", held while the fallback group has capacity");
                held_metrics(self.group, holder, p.period)
            }
        };
        props.insert("EvaluationPeriods", Node::from(p.evaluation_periods));
        props.insert("Threshold", Node::from(self.step.threshold));
        props.insert("ComparisonOperator", s(op));
        props.insert("AlarmActions", Node::Seq(vec![r(self.policy_id)]));
        let mut properties = map([("AlarmDescription", s(description))]);
        if let Node::Map(entries) = props {
            for (k, v) in entries {
                properties.insert(&k, v);
            }
        }
        map([
            ("Type", s("AWS::CloudWatch::Alarm")),
            ("Properties", properties),
        ])
    }
}

/// A CPU scale-in alarm that reads 100% (no scale-in) while `holder` has
/// desired capacity: the spot group must not scale in on the minutes the
/// fallback group is still there after spot comes back.
fn held_metrics(group: &str, holder: &str, period: u32) -> Node {
    let stat = |id: &str, namespace: &str, metric: &str, of: &str, statistic: &str| {
        map([
            ("Id", s(id)),
            (
                "MetricStat",
                map([
                    (
                        "Metric",
                        map([
                            ("Namespace", s(namespace)),
                            ("MetricName", s(metric)),
                            ("Dimensions", group_dimension(of)),
                        ]),
                    ),
                    ("Period", Node::from(period)),
                    ("Stat", s(statistic)),
                ]),
            ),
            ("ReturnData", Node::Bool(false)),
        ])
    };
    map([(
        "Metrics",
        Node::Seq(vec![
            stat("cpu", "AWS/EC2", "CPUUtilization", group, "Average"),
            stat(
                "fallback",
                "AWS/AutoScaling",
                "GroupDesiredCapacity",
                holder,
                "Maximum",
            ),
            map([
                ("Id", s("held")),
                ("Expression", s("IF(fallback > 0, 100, cpu)")),
                (
                    "Label",
                    s("average CPU, 100 while the fallback group has capacity"),
                ),
                ("ReturnData", Node::Bool(true)),
            ]),
        ]),
    )])
}

/// `[{Name: AutoScalingGroupName, Value: {Ref: group}}]`.
pub(super) fn group_dimension(group: &str) -> Node {
    Node::Seq(vec![map([
        ("Name", s("AutoScalingGroupName")),
        ("Value", r(group)),
    ])])
}
