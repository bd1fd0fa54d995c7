use super::*;
use crate::config::{StackConfig, TargetGroup};

fn good() -> StackConfig {
    let mut c = StackConfig::default();
    c.instances.ami = "ami-1".into();
    c.instances.subnets = vec!["subnet-a".into(), "subnet-b".into()];
    c.instances.instance_types = vec!["c5.large".into(), "c6i.large".into()];
    c
}

fn shape(c: &StackConfig, strategy: Strategy) -> Shape {
    Shape::of(c, strategy)
}

fn all(c: &StackConfig, strategy: Strategy) -> Vec<Problem> {
    check(c, shape(c, strategy), Some(0.085))
}

fn errors(c: &StackConfig, strategy: Strategy) -> Vec<String> {
    all(c, strategy)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.to_string())
        .collect()
}

fn warnings(c: &StackConfig, strategy: Strategy) -> Vec<String> {
    all(c, strategy)
        .into_iter()
        .filter(|p| p.severity == Severity::Warning)
        .map(|p| p.to_string())
        .collect()
}

fn one_error(c: &StackConfig, setting: &str, needle: &str) {
    let e = errors(c, Strategy::TwoGroups);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with(&format!("error: {setting}: ")), "{e:?}");
    assert!(e[0].contains(needle), "{e:?}");
}

fn one_warning(c: &StackConfig, strategy: Strategy, setting: &str, needle: &str) {
    let w = warnings(c, strategy);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with(&format!("warning: {setting}: ")), "{w:?}");
    assert!(w[0].contains(needle), "{w:?}");
}

#[test]
fn defaults_with_two_types_are_clean() {
    assert_eq!(all(&good(), Strategy::TwoGroups), vec![]);
    assert_eq!(all(&good(), Strategy::Mixed), vec![]);
}

#[test]
fn the_seed_strategy_warns_and_does_not_fail() {
    let w = warnings(&good(), Strategy::Seed);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("launches c5.large only"), "{w:?}");
    assert!(
        w[1].contains("no Capacity Rebalance and no fallback"),
        "{w:?}"
    );
    assert!(errors(&good(), Strategy::Seed).is_empty());
}

#[test]
fn modern_pitfalls_are_warnings_with_reasons() {
    let mut c = good();
    c.instances.instance_types = vec!["c5.large".into()];
    one_warning(
        &c,
        Strategy::TwoGroups,
        "instances.instance_types",
        "one spot pool per zone",
    );
    let mut c = good();
    c.spot.capacity_rebalance = false;
    one_warning(
        &c,
        Strategy::TwoGroups,
        "spot.capacity_rebalance",
        "elevated risk",
    );
    let mut c = good();
    c.mixed.capacity_rebalance = false;
    one_warning(
        &c,
        Strategy::Mixed,
        "mixed.capacity_rebalance",
        "elevated risk",
    );
    let mut c = good();
    c.spot.allocation_strategy = "lowest-price".into();
    one_warning(
        &c,
        Strategy::TwoGroups,
        "spot.allocation_strategy",
        "interrupted most",
    );
    let mut c = good();
    c.instances.group_metrics = false;
    one_warning(
        &c,
        Strategy::TwoGroups,
        "instances.group_metrics",
        "never come in",
    );
    // Without the fallback, group metrics are not needed.
    let mut s = shape(&c, Strategy::TwoGroups);
    s.fallback = false;
    assert_eq!(check(&c, s, None), vec![]);
    let mut c = good();
    c.instances.instance_types = vec!["c3.large".into(), "c5.large".into()];
    one_warning(
        &c,
        Strategy::TwoGroups,
        "instances.instance_types",
        "instance-store AMIs",
    );
}

#[test]
fn a_max_price_is_a_warning_and_says_why() {
    let c = good();
    let mut s = shape(&c, Strategy::TwoGroups);
    s.max_price = Some(0.05);
    let p = check(&c, s, Some(0.085));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].severity, Severity::Warning);
    assert!(
        p[0].message.contains("AWS advises leaving it unset"),
        "{p:?}"
    );
    s.max_price = Some(0.2);
    let p = check(&c, s, Some(0.085));
    assert!(p[0].message.contains("above the on-demand price"), "{p:?}");
    s.max_price = Some(-1.0);
    let p = check(&c, s, Some(0.085));
    assert!(p[0]
        .to_string()
        .starts_with("error: spot.max_price: -1 is not a positive price"));
}

#[test]
fn fallback_settings() {
    let mut c = good();
    c.fallback.period = 45;
    one_error(&c, "fallback.period", "multiple of 60");
    let mut c = good();
    c.fallback.max = Some(4);
    one_warning(
        &c,
        Strategy::TwoGroups,
        "fallback.max",
        "only partly covered",
    );
    let mut c = good();
    c.fallback.evaluation_periods = 5;
    one_warning(
        &c,
        Strategy::TwoGroups,
        "fallback.evaluation_periods",
        "may scale in on the surplus",
    );
}

#[test]
fn interruption_handling_fits_the_notice() {
    let mut c = good();
    c.interruption.enabled = true;
    assert_eq!(all(&c, Strategy::TwoGroups), vec![]);
    c.interruption.drain_seconds = 20;
    one_error(&c, "interruption.drain_seconds", "30 to 7200");
    c.interruption.drain_seconds = 150;
    one_warning(
        &c,
        Strategy::TwoGroups,
        "interruption.drain_seconds",
        "two minutes",
    );
    c.interruption.drain_seconds = 90;
    c.target_group = Some(TargetGroup {
        vpc_id: "vpc-1".into(),
        port: 80,
        protocol: "HTTP".into(),
        health_check_path: "/".into(),
        deregistration_delay: 100,
    });
    one_warning(
        &c,
        Strategy::TwoGroups,
        "target_group.deregistration_delay",
        "longer than the drain",
    );
    let mut c = good();
    c.interruption.enabled = true;
    c.instances.target_groups = vec!["arn:aws:elasticloadbalancing:x".into()];
    one_warning(
        &c,
        Strategy::TwoGroups,
        "instances.target_groups",
        "at most 90 s",
    );
}

#[test]
fn weights_and_requirements() {
    let mut c = good();
    c.instances.weights.insert("c5.large".into(), 0);
    c.instances.weights.insert("m9.huge".into(), 2);
    let e = errors(&c, Strategy::TwoGroups);
    assert_eq!(e.len(), 2, "{e:?}");
    let mut c = good();
    let mut req = crate::config::Requirements::default();
    req.vcpu.max = Some(1);
    req.burstable = "sometimes".into();
    c.instances.requirements = Some(req);
    let e = errors(&c, Strategy::Mixed);
    assert_eq!(e.len(), 2, "{e:?}");
}

#[test]
fn scale_up_must_be_above_scale_down_in_each_group() {
    let mut c = good();
    c.on_demand.scale_down.threshold = 85.0;
    let e = errors(&c, Strategy::TwoGroups);
    assert!(e.iter().any(|e| e.starts_with("error: on_demand.scale_up.threshold: scale-up threshold (80%) must be above the scale-down threshold (85%)")), "{e:?}");
    let mut c = good();
    c.spot.group.scale_up.threshold = 30.0;
    one_error(
        &c,
        "spot.scale_up.threshold",
        "must be above the scale-down threshold (30%)",
    );
}

#[test]
fn spot_must_be_preferred() {
    let mut c = good();
    c.spot.group.scale_up.threshold = 85.0;
    c.spot.group.scale_down.threshold = 31.0;
    let e = errors(&c, Strategy::TwoGroups);
    assert!(
        e.iter().any(|e| e.contains("so spot scales first")),
        "{e:?}"
    );
    let mut c = good();
    c.spot.group.scale_down.threshold = 66.0;
    c.spot.group.scale_up.threshold = 70.0;
    let e = errors(&c, Strategy::TwoGroups);
    assert!(
        e.iter()
            .any(|e| e.contains("so on-demand is removed first")),
        "{e:?}"
    );
}

#[test]
fn spot_up_above_on_demand_down_is_a_warning() {
    let mut c = good();
    c.spot.group.scale_up.threshold = 70.0;
    one_warning(
        &c,
        Strategy::TwoGroups,
        "spot.scale_up.threshold",
        "never be phased out",
    );
}

#[test]
fn min_above_max() {
    let mut c = good();
    c.on_demand.min = 5;
    c.on_demand.max = 2;
    one_error(&c, "on_demand.min", "min (5) is above max (2)");
    let mut c = good();
    c.mixed.min = Some(9);
    c.mixed.max = Some(3);
    let e = errors(&c, Strategy::Mixed);
    assert!(
        e[0].starts_with("error: mixed.min: min (9) is above max (3)"),
        "{e:?}"
    );
}

#[test]
fn periods_and_steps_must_be_sane() {
    let mut c = good();
    c.spot.group.period = 90;
    one_error(&c, "spot.period", "multiple of 60");
    let mut c = good();
    c.on_demand.evaluation_periods = 0;
    one_error(&c, "on_demand.evaluation_periods", "at least 1");
    let mut c = good();
    c.on_demand.evaluation_periods = 300;
    one_error(&c, "on_demand.evaluation_periods", "one day");
    let mut c = good();
    c.on_demand.scale_up.adjustment = 0;
    one_error(&c, "on_demand.scale_up.adjustment", "do nothing");
    let mut c = good();
    c.on_demand.scale_up.threshold = 120.0;
    one_error(&c, "on_demand.scale_up.threshold", "not a CPU threshold");
    let mut c = good();
    c.spot.group.scale_down.cooldown = 100_000;
    one_error(&c, "spot.scale_down.cooldown", "more than a day");
    let mut c = good();
    c.instances.boot_seconds = 0;
    one_error(&c, "instances.boot_seconds", "plausible");
}

#[test]
fn instances_must_be_set() {
    let mut c = good();
    c.instances.ami.clear();
    one_error(&c, "instances.ami", "not set");
    let mut c = good();
    c.instances.ami = "my-image".into();
    one_error(&c, "instances.ami", "neither");
    let mut c = good();
    c.instances.subnets.clear();
    one_error(&c, "instances.subnets", "at least one subnet");
    let mut c = good();
    c.instances.instance_types.clear();
    one_error(&c, "instances.instance_types", "at least one");
}

#[test]
fn mixed_settings() {
    let mut c = good();
    c.mixed.spot_allocation_strategy = "cheapest".into();
    c.mixed.on_demand_percentage_above_base = 101;
    c.mixed.target_cpu = 0.0;
    let e = errors(&c, Strategy::Mixed);
    assert_eq!(e.len(), 3, "{e:?}");
}
