use super::*;
use crate::config::{Requirements, TargetGroup};

fn config() -> StackConfig {
    let mut c = StackConfig::default();
    c.instances.ami = "ami-1".into();
    c.instances.subnets = vec!["subnet-1".into()];
    c.instances.instance_types = vec!["c5.large".into(), "c6i.large".into()];
    c
}

fn shape(strategy: Strategy) -> Shape {
    Shape::of(&config(), strategy)
}

fn props<'a>(t: &'a Node, id: &str) -> &'a Node {
    &t["Resources"][id]["Properties"]
}

#[test]
fn seed_spot_group_uses_launch_template_market_options_without_max_price() {
    let t = build(&config(), shape(Strategy::Seed)).unwrap();
    let spot = &props(&t, "SpotLaunchTemplate")["LaunchTemplateData"];
    assert_eq!(spot["InstanceMarketOptions"]["MarketType"], s("spot"));
    assert!(spot["InstanceMarketOptions"]["SpotOptions"]
        .get("MaxPrice")
        .is_none());
    let od = &props(&t, "OnDemandLaunchTemplate")["LaunchTemplateData"];
    assert!(od.get("InstanceMarketOptions").is_none());
    assert!(t["Resources"].get(ids::FALLBACK_GROUP).is_none());
    let mut with_price = shape(Strategy::Seed);
    with_price.max_price = Some(0.12);
    let t = build(&config(), with_price).unwrap();
    let spot = &props(&t, "SpotLaunchTemplate")["LaunchTemplateData"];
    assert_eq!(
        spot["InstanceMarketOptions"]["SpotOptions"]["MaxPrice"],
        s("0.12")
    );
}

#[test]
fn missing_ami_or_subnets_is_a_clear_error() {
    let mut c = config();
    c.instances.ami.clear();
    let e = build(&c, shape(Strategy::TwoGroups))
        .unwrap_err()
        .to_string();
    assert!(e.contains("instances.ami is not set"), "{e}");
    let mut c = config();
    c.instances.subnets.clear();
    let e = build(&c, shape(Strategy::Mixed)).unwrap_err().to_string();
    assert!(e.contains("instances.subnets"), "{e}");
}

#[test]
fn fallback_steps_fit_the_step_quota_and_cover_every_size() {
    for max in [0u32, 1, 12, 19, 20, 57, 1000] {
        let steps = fallback::steps(max);
        assert!(steps.len() <= 20, "{max}: {}", steps.len());
        // Contiguous from 0, the last open, each size at least its interval's top.
        let mut next = 0;
        for (i, st) in steps.iter().enumerate() {
            let Node::Int(lower) = st["MetricIntervalLowerBound"] else {
                panic!("{st:?}")
            };
            assert_eq!(lower, next, "{max}");
            let Node::Int(size) = st["ScalingAdjustment"] else {
                panic!("{st:?}")
            };
            match st.get("MetricIntervalUpperBound") {
                Some(Node::Int(upper)) => {
                    assert!(size >= upper - 1, "{max}: {st:?}");
                    next = *upper;
                }
                _ => {
                    assert_eq!(i, steps.len() - 1);
                    assert_eq!(size, i64::from(max));
                }
            }
        }
    }
}

#[test]
fn requirements_replace_the_type_list() {
    let mut c = config();
    c.instances.requirements = Some(Requirements::default());
    let t = build(&c, shape(Strategy::TwoGroups)).unwrap();
    let lt = &props(&t, ids::LAUNCH_TEMPLATE)["LaunchTemplateData"];
    assert!(lt.get("InstanceType").is_none());
    let spot = &props(&t, ids::SPOT_GROUP)["MixedInstancesPolicy"]["LaunchTemplate"];
    assert_eq!(
        spot["Overrides"],
        Node::Seq(vec![map([(
            "InstanceRequirements",
            map([
                ("VCpuCount", map([("Min", Node::from(2u32))])),
                ("MemoryMiB", map([("Min", Node::from(4096u32))])),
                ("InstanceGenerations", Node::Seq(vec![s("current")])),
                ("BurstablePerformance", s("excluded")),
            ])
        )])])
    );
    let od = &props(&t, ids::FALLBACK_GROUP)["MixedInstancesPolicy"]["InstancesDistribution"];
    assert_eq!(od["OnDemandAllocationStrategy"], s("lowest-price"));
}

#[test]
fn no_fallback_and_no_drain_unless_asked() {
    let c = config();
    let mut sh = shape(Strategy::TwoGroups);
    sh.fallback = false;
    let t = build(&c, sh).unwrap();
    let ids: Vec<&str> = t["Resources"].keys();
    assert!(
        !ids.iter()
            .any(|i| i.starts_with("Fallback") || i.ends_with("DrainHook")),
        "{ids:?}"
    );
    let mut c = config();
    c.interruption.enabled = true;
    c.target_group = Some(TargetGroup {
        vpc_id: "vpc-1".into(),
        port: 8080,
        protocol: "HTTP".into(),
        health_check_path: "/health".into(),
        deregistration_delay: 45,
    });
    let t = build(&c, shape(Strategy::Mixed)).unwrap();
    assert_eq!(
        props(&t, "MixedDrainHook")["HeartbeatTimeout"],
        Node::from(90u32)
    );
    assert_eq!(props(&t, ids::TARGET_GROUP)["Port"], Node::from(8080u32));
}
