//! The CloudFormation template, built as an ordered tree ([`Node`]) so the
//! YAML and JSON renderings read top-down in the same order.
//!
//! Three strategies:
//! - [`Strategy::TwoGroups`] (the default): the write-up's two groups with
//!   its CPU thresholds, numbers and all (spot scales up at 50% CPU,
//!   on-demand at 80%), with spot done as AWS advises today (several
//!   instance types through a `MixedInstancesPolicy`,
//!   `price-capacity-optimized`, Capacity Rebalance, no max price) and a
//!   fallback group that covers the spot group's shortfall directly,
//!   without waiting for CPU ([`fallback`]).
//! - [`Strategy::Mixed`]: AWS's single-group alternative (on-demand base,
//!   spot above it, target tracking on CPU) with the same fallback group
//!   beside it, since a `MixedInstancesPolicy` keeps its ratio but never
//!   fails over to on-demand.
//! - [`Strategy::Seed`]: the write-up's template exactly as spot-stack first
//!   shipped it: one instance type, spot through the launch template's
//!   market options, CPU alarms only.
//!
//! Interruption handling ([`drain`]) is an option of the config: a
//! termination lifecycle hook on every group and, for a target group the
//! stack creates, a deregistration delay within the two-minute notice.

mod drain;
mod fallback;
mod parts;

use crate::config::StackConfig;
use crate::text::price_str;
use crate::tree::{map, r, s, Node};

use parts::{Market, Sizes};

/// Which stack shape to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Two groups (spot scales first, on-demand fills in on CPU) and a fallback group for spot shortfalls.
    #[default]
    #[value(name = "two-groups")]
    TwoGroups,
    /// One group with a MixedInstancesPolicy (on-demand base, spot above it) and a fallback group.
    Mixed,
    /// The write-up's template exactly: one instance type, CPU alarms only.
    Seed,
}

/// Output format of the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TemplateFormat {
    #[default]
    Yaml,
    Json,
}

/// What to build: the strategy and the command line's overrides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub strategy: Strategy,
    /// `--max-price` (else the config's).
    pub max_price: Option<f64>,
    /// The fallback group (never for the seed strategy).
    pub fallback: bool,
}

impl Shape {
    /// `strategy` as the config has it (fallback as `[fallback] enabled`).
    pub fn of(config: &StackConfig, strategy: Strategy) -> Self {
        Shape {
            strategy,
            max_price: None,
            fallback: config.fallback.enabled,
        }
    }

    /// Whether the fallback group is in the template.
    pub fn has_fallback(&self) -> bool {
        self.fallback && self.strategy != Strategy::Seed
    }
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
    pub const FALLBACK_GROUP: &str = "FallbackGroup";
    pub const LAUNCH_TEMPLATE: &str = "LaunchTemplate";
    pub const TARGET_GROUP: &str = "TargetGroup";
}

/// The template's resources and outputs, in the order they are added.
struct Sections {
    resources: Node,
    outputs: Node,
}

impl Sections {
    fn resource(&mut self, id: &str, value: Node) {
        self.resources.insert(id, value);
    }

    fn output(&mut self, id: &str, description: &str, value: Node) {
        self.outputs
            .insert(id, map([("Description", s(description)), ("Value", value)]));
    }
}

/// Builds the template for `config` (the caller validated it first).
pub fn build(config: &StackConfig, shape: Shape) -> Result<Node, TemplateError> {
    required_settings(config)?;
    let mut out = Sections {
        resources: Node::map(),
        outputs: Node::map(),
    };
    let max_price = shape.max_price.or(config.spot.max_price);
    match shape.strategy {
        Strategy::Seed => seed(config, max_price, &mut out),
        Strategy::TwoGroups => two_groups(config, shape, max_price, &mut out),
        Strategy::Mixed => mixed(config, shape, max_price, &mut out),
    }
    Ok(map([
        ("AWSTemplateFormatVersion", s("2010-09-09")),
        ("Description", s(config.description.as_str())),
        ("Resources", out.resources),
        ("Outputs", out.outputs),
    ]))
}

fn required_settings(config: &StackConfig) -> Result<(), TemplateError> {
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
    Ok(())
}

/// The write-up's two groups, byte for byte as first shipped.
fn seed(config: &StackConfig, max_price: Option<f64>, out: &mut Sections) {
    let lts = [
        ("OnDemandLaunchTemplate", "on-demand", None),
        ("SpotLaunchTemplate", "spot", Some(max_price)),
    ];
    for (id, market, spot) in lts {
        out.resource(id, parts::seed_launch_template(config, market, spot));
    }
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
        let sizes = Sizes::new(policy.min, policy.max);
        let mut asg = parts::group_base(config, sizes, Market::named(market), &[]);
        asg.insert("LaunchTemplate", parts::launch_template_spec(lt));
        out.resource(group, parts::wrap_group(asg));
        parts::cpu_scaling(&mut out.resources, group, policy, market, None);
        out.output(
            &format!("{group}Name"),
            &format!("The {market} auto scaling group"),
            r(group),
        );
    }
    max_price_output(max_price, out);
}

fn max_price_output(max_price: Option<f64>, out: &mut Sections) {
    out.output(
        "SpotMaxPrice",
        "Spot maximum price (USD/hour); on-demand price when unset",
        s(max_price.map_or("on-demand".to_string(), price_str)),
    );
}

/// The seed's CPU design over several pools, and the fallback group.
fn two_groups(config: &StackConfig, shape: Shape, max_price: Option<f64>, out: &mut Sections) {
    out.resource(ids::LAUNCH_TEMPLATE, parts::launch_template(config, "app"));
    let tgs = drain::target_group(config, out);
    for (group, policy, market) in [
        (
            ids::ON_DEMAND_GROUP,
            &config.on_demand,
            Market::named("on-demand"),
        ),
        (ids::SPOT_GROUP, &config.spot.group, Market::named("spot")),
    ] {
        let sizes = Sizes::new(policy.min, policy.max);
        let mut asg = parts::group_base(config, sizes, market, &tgs);
        let distribution = if market.is_spot() {
            parts::spot_distribution(&config.spot.allocation_strategy, max_price)
        } else {
            parts::on_demand_distribution(config)
        };
        asg.insert(
            "MixedInstancesPolicy",
            parts::mixed_instances_policy(config, distribution),
        );
        if market.is_spot() {
            asg.insert(
                "CapacityRebalance",
                Node::Bool(config.spot.capacity_rebalance),
            );
        }
        out.resource(group, parts::wrap_group(asg));
        let held_by = (market.is_spot() && shape.has_fallback()).then_some(ids::FALLBACK_GROUP);
        parts::cpu_scaling(&mut out.resources, group, policy, market.tag, held_by);
        drain::hook(config, group, out);
        out.output(
            &format!("{group}Name"),
            &format!("The {} auto scaling group", market.tag),
            r(group),
        );
    }
    if shape.has_fallback() {
        fallback::add(
            config,
            ids::SPOT_GROUP,
            config.fallback_max(false),
            &tgs,
            out,
        );
    }
    max_price_output(max_price, out);
    drain::target_group_output(config, out);
}

/// One group with an on-demand base and spot above it, and the fallback
/// group beside it.
fn mixed(config: &StackConfig, shape: Shape, max_price: Option<f64>, out: &mut Sections) {
    out.resource(
        ids::LAUNCH_TEMPLATE,
        parts::launch_template(config, "mixed"),
    );
    let tgs = drain::target_group(config, out);
    let (min, max) = config.mixed_bounds();
    let mut asg = parts::group_base(config, Sizes::new(min, max), Market::named("mixed"), &tgs);
    let m = &config.mixed;
    let mut distribution = map([
        ("OnDemandBaseCapacity", Node::from(m.on_demand_base)),
        (
            "OnDemandPercentageAboveBaseCapacity",
            Node::from(m.on_demand_percentage_above_base),
        ),
        (
            "SpotAllocationStrategy",
            s(m.spot_allocation_strategy.as_str()),
        ),
    ]);
    if let Some(p) = max_price {
        distribution.insert("SpotMaxPrice", s(price_str(p)));
    }
    asg.insert(
        "MixedInstancesPolicy",
        parts::mixed_instances_policy(config, distribution),
    );
    asg.insert("CapacityRebalance", Node::Bool(m.capacity_rebalance));
    out.resource(ids::MIXED_GROUP, parts::wrap_group(asg));
    out.resource("CpuTargetTracking", parts::target_tracking(config));
    drain::hook(config, ids::MIXED_GROUP, out);
    out.output(
        "MixedGroupName",
        "The mixed (on-demand base + spot) auto scaling group",
        r(ids::MIXED_GROUP),
    );
    if shape.has_fallback() {
        fallback::add(
            config,
            ids::MIXED_GROUP,
            config.fallback_max(true),
            &tgs,
            out,
        );
    }
    drain::target_group_output(config, out);
}

/// Renders the template.
pub fn render(template: &Node, format: TemplateFormat) -> String {
    match format {
        TemplateFormat::Yaml => crate::yaml::to_string(template),
        TemplateFormat::Json => {
            // JSON cannot fail on a tree of strings, numbers, bools and
            // mappings with string keys; an empty document rather than a panic.
            let mut out = serde_json::to_string_pretty(template).unwrap_or_default();
            out.push('\n');
            out
        }
    }
}

#[cfg(test)]
mod tests;
