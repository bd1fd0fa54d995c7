//! The rendered templates, checked where the emulators cannot deploy them
//! (ministack rejects metric-math alarms and ignores MixedInstancesPolicy,
//! CapacityRebalance and MetricsCollection; moto has no alarms or lifecycle
//! hooks in CloudFormation): every resource and property issue 18 names is
//! asserted on the JSON rendering, every variant passes `cfn-lint`, and
//! PyYAML reads the YAML rendering back as the JSON one.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example with `extra` TOML appended (its sections replace none of
/// the example's: `extra` adds new ones or is empty).
fn config(dir: &Path, name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(manifest().join("examples/stack.toml")).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, edit(text)).unwrap();
    std::fs::copy(
        manifest().join("examples/user-data.sh"),
        dir.join("user-data.sh"),
    )
    .unwrap();
    path
}

fn render(config: &Path, args: &[&str]) -> String {
    let out = Command::new(mc_testkit::cli::bin("spot-stack"))
        .args(["template", "--config"])
        .arg(config)
        .args(args)
        .env_remove("SPOT_STACK_STRATEGY")
        .env_remove("SPOT_STACK_MAX_PRICE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", mc_testkit::cli::stderr(&out));
    mc_testkit::cli::stdout(&out)
}

fn json(config: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&render(config, &all)).unwrap()
}

/// The variants: (file name, config edit, flags).
type Edit = fn(String) -> String;

fn variants() -> Vec<(&'static str, Edit, &'static [&'static str])> {
    fn same(t: String) -> String {
        t
    }
    fn weighted(t: String) -> String {
        t.replace(
            "# weights = { \"c5.xlarge\" = 2 }",
            "weights = { \"m5.large\" = 2, \"m6i.large\" = 2 }",
        )
    }
    fn requirements(t: String) -> String {
        t.replace(
            "# [instances.requirements]        # or let EC2 choose by attributes:\n# vcpu = { min = 2, max = 2 }\n# memory_mib = { min = 4096 }\nsubnets",
            "subnets",
        )
        .replace(
            "group_metrics = true         # the fallback alarms read them\n",
            "group_metrics = true\n\n[instances.requirements]\nvcpu = { min = 2, max = 4 }\nmemory_mib = { min = 4096 }\nallowed_types = [\"c5*\", \"c6i*\", \"m5*\"]\n",
        )
    }
    fn target_group(t: String) -> String {
        t.replace("# [target_group]", "[target_group]")
            .replace("# vpc_id = ", "vpc_id = ")
            .replace("# port = 80", "port = 80")
            .replace("# health_check_path", "health_check_path")
            .replace("# deregistration_delay", "deregistration_delay")
    }
    vec![
        ("two-groups", same, &[]),
        ("mixed", same, &["--strategy", "mixed"]),
        ("seed", same, &["--strategy", "seed"]),
        ("no-fallback", same, &["--no-fallback"]),
        ("max-price", same, &["--max-price", "0.05"]),
        ("weighted", weighted, &[]),
        ("weighted-mixed", weighted, &["--strategy", "mixed"]),
        ("requirements", requirements, &[]),
        ("requirements-mixed", requirements, &["--strategy", "mixed"]),
        ("target-group", target_group, &[]),
        ("target-group-mixed", target_group, &["--strategy", "mixed"]),
    ]
}

/// A Python tool of the project's venvs (`scripts/setup-emulators.sh`
/// installs them; run here when missing, as mc-testkit does for emulators).
fn venv_bin(venv: &str, bin: &str) -> PathBuf {
    let root = manifest().join("../..");
    let path = root.join(".venv").join(venv).join("bin").join(bin);
    if !root.join(".venv").join(venv).join(".installed").is_file() || !path.is_file() {
        let status = Command::new("bash")
            .arg(root.join("scripts/setup-emulators.sh"))
            .status()
            .unwrap();
        assert!(status.success(), "scripts/setup-emulators.sh failed");
    }
    path
}

#[test]
fn every_variant_is_cfn_lint_clean_and_its_yaml_reads_back_as_its_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, edit, flags) in variants() {
        let c = config(dir.path(), name, edit);
        let yaml = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&yaml, render(&c, flags)).unwrap();
        let json = dir.path().join(format!("{name}.json"));
        std::fs::write(&json, render(&c, &[flags, &["--format", "json"]].concat())).unwrap();
        files.push((yaml, json));
    }
    let lint = Command::new(venv_bin("cfn-lint", "cfn-lint"))
        .args(files.iter().flat_map(|(y, j)| [y, j]))
        .output()
        .unwrap();
    assert!(
        lint.status.success(),
        "cfn-lint:\n{}{}",
        mc_testkit::cli::stdout(&lint),
        mc_testkit::cli::stderr(&lint)
    );
    // YAML 1.2 dates stay strings for CloudFormation; PyYAML (1.1) would
    // read 2010-09-09 as a date, so its timestamp rule is left out.
    let script = "import json, sys, yaml\n\
        class L(yaml.SafeLoader): pass\n\
        L.yaml_implicit_resolvers = {k: [r for r in v if r[0] != 'tag:yaml.org,2002:timestamp'] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}\n\
        for y, j in zip(sys.argv[1::2], sys.argv[2::2]):\n    \
            assert yaml.load(open(y), Loader=L) == json.load(open(j)), y\n";
    let read_back = Command::new(venv_bin("cfn-lint", "python"))
        .args(["-c", script])
        .args(files.iter().flat_map(|(y, j)| [y, j]))
        .output()
        .unwrap();
    assert!(
        read_back.status.success(),
        "{}",
        mc_testkit::cli::stderr(&read_back)
    );
}

/// Hostile strings in the config: the YAML writer quotes them so they read
/// back as written.
#[test]
fn hostile_strings_read_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), "hostile", |t| {
        t.replace(
            "description = \"web tier: spot first, on-demand fallback\"",
            "description = \"'quoted' \\\"and\\\" # not a comment: {x} [y] \\t tab, é ☃ 😀, 0x1F, 007, true, ~\"\nname = \"- dash\"",
        )
        .replace(
            "user_data_file = \"user-data.sh\"",
            "user_data = \"  #!/bin/sh\\n\\n  echo 'a: b'\\n\\n\\n\"",
        )
    });
    let yaml = dir.path().join("hostile.yaml");
    let json = dir.path().join("hostile.json");
    std::fs::write(&yaml, render(&c, &[])).unwrap();
    std::fs::write(&json, render(&c, &["--format", "json"])).unwrap();
    let script = "import json, sys, yaml\n\
        class L(yaml.SafeLoader): pass\n\
        L.yaml_implicit_resolvers = {k: [r for r in v if r[0] != 'tag:yaml.org,2002:timestamp'] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}\n\
        assert yaml.load(open(sys.argv[1]), Loader=L) == json.load(open(sys.argv[2]))\n";
    let out = Command::new(venv_bin("cfn-lint", "python"))
        .args(["-c", script])
        .arg(&yaml)
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", mc_testkit::cli::stderr(&out));
}

fn props<'a>(t: &'a Value, id: &str) -> &'a Value {
    &t["Resources"][id]["Properties"]
}

/// Issue 18, item 1: group metrics, the metric-math shortfall alarm (in
/// service + pending against desired), TreatMissingData, and the way back
/// in; the seed's CPU numbers unchanged.
#[test]
fn the_fallback_group_follows_the_spot_shortfall() {
    let dir = tempfile::tempdir().unwrap();
    let t = json(&config(dir.path(), "x", |t| t), &[]);
    for g in ["OnDemandGroup", "SpotGroup", "FallbackGroup"] {
        assert_eq!(
            props(&t, g)["MetricsCollection"][0]["Granularity"],
            "1Minute",
            "{g}"
        );
    }
    let out = props(&t, "FallbackOutAlarm");
    let names: Vec<&str> = out["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["MetricStat"]["Metric"]["MetricName"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "GroupDesiredCapacity",
            "GroupInServiceInstances",
            "GroupPendingInstances",
            "GroupDesiredCapacity"
        ]
    );
    let target = &out["Metrics"][4];
    assert_eq!(
        target["Expression"],
        "IF(desired - inservice - pending - fallback >= 1, desired - inservice - pending, -1)"
    );
    assert_eq!(target["ReturnData"], true);
    assert_eq!(out["TreatMissingData"], "notBreaching");
    assert_eq!(out["EvaluationPeriods"], 2);
    assert_eq!(out["DatapointsToAlarm"], 2);
    assert_eq!(out["Metrics"][0]["MetricStat"]["Period"], 60);
    let back = props(&t, "FallbackInAlarm");
    assert_eq!(
        back["Metrics"][3]["Expression"],
        "IF(fallback + inservice - desired >= 1, desired - inservice, -1)"
    );
    assert_eq!(back["TreatMissingData"], "notBreaching");
    let policy = props(&t, "FallbackPolicy");
    assert_eq!(policy["PolicyType"], "StepScaling");
    assert_eq!(policy["AdjustmentType"], "ExactCapacity");
    let steps = policy["StepAdjustments"].as_array().unwrap();
    assert_eq!(steps.len(), 13);
    assert_eq!(steps[3]["ScalingAdjustment"], 3);
    assert_eq!(props(&t, "FallbackGroup")["MinSize"], "0");
    // The seed's CPU design, numbers and all.
    for (alarm, threshold) in [
        ("OnDemandCpuHighAlarm", 80.0),
        ("OnDemandCpuLowAlarm", 65.0),
        ("SpotCpuHighAlarm", 50.0),
    ] {
        assert_eq!(props(&t, alarm)["Threshold"], threshold, "{alarm}");
        assert_eq!(props(&t, alarm)["Period"], 300, "{alarm}");
    }
    // The spot group's scale-in is held while the fallback group has
    // capacity, so it cannot scale in on the fallback's minutes.
    let low = props(&t, "SpotCpuLowAlarm");
    assert_eq!(low["Threshold"], 30.0);
    assert_eq!(low["ComparisonOperator"], "LessThanThreshold");
    assert_eq!(low["Metrics"][0]["MetricStat"]["Period"], 300);
    assert_eq!(
        low["Metrics"][0]["MetricStat"]["Metric"]["MetricName"],
        "CPUUtilization"
    );
    assert_eq!(
        low["Metrics"][1]["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"],
        "FallbackGroup"
    );
    assert_eq!(
        low["Metrics"][2]["Expression"],
        "IF(fallback > 0, 100, cpu)"
    );
    assert_eq!(props(&t, "OnDemandScaleDownPolicy")["Cooldown"], "900");
    assert_eq!(props(&t, "OnDemandScaleUpPolicy")["ScalingAdjustment"], 2);
}

/// Mixed: the same fallback group beside the mixed group, since a
/// MixedInstancesPolicy keeps its ratio but never fails over.
#[test]
fn the_mixed_group_gets_the_fallback_group_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = json(&config(dir.path(), "x", |t| t), &["--strategy", "mixed"]);
    let out = props(&t, "FallbackOutAlarm");
    assert_eq!(
        out["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"],
        "MixedGroup"
    );
    assert_eq!(props(&t, "FallbackGroup")["MaxSize"], "24");
    let mixed = &props(&t, "MixedGroup")["MixedInstancesPolicy"];
    assert_eq!(
        mixed["InstancesDistribution"]["SpotAllocationStrategy"],
        "price-capacity-optimized"
    );
    assert_eq!(props(&t, "MixedGroup")["CapacityRebalance"], true);
}

/// Issue 18, item 2: several types, price-capacity-optimized, Capacity
/// Rebalance, no max price, the drain hook within the notice.
#[test]
fn spot_is_done_as_aws_advises() {
    let dir = tempfile::tempdir().unwrap();
    let t = json(&config(dir.path(), "x", |t| t), &[]);
    let spot = props(&t, "SpotGroup");
    let policy = &spot["MixedInstancesPolicy"];
    let types: Vec<&str> = policy["LaunchTemplate"]["Overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["InstanceType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "c5.large",
            "c6i.large",
            "c5a.large",
            "m5.large",
            "m6i.large"
        ]
    );
    let d = &policy["InstancesDistribution"];
    assert_eq!(d["SpotAllocationStrategy"], "price-capacity-optimized");
    assert_eq!(d["OnDemandPercentageAboveBaseCapacity"], 0);
    assert!(d.get("SpotMaxPrice").is_none());
    assert_eq!(spot["CapacityRebalance"], true);
    let lt = &props(&t, "LaunchTemplate")["LaunchTemplateData"];
    assert!(lt.get("InstanceMarketOptions").is_none());
    for hook in ["OnDemandDrainHook", "SpotDrainHook", "FallbackDrainHook"] {
        let h = props(&t, hook);
        assert_eq!(
            h["LifecycleTransition"],
            "autoscaling:EC2_INSTANCE_TERMINATING"
        );
        assert_eq!(h["HeartbeatTimeout"], 90);
        assert_eq!(h["DefaultResult"], "CONTINUE");
    }
    assert!(t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .all(|r| r["Type"] != "AWS::Events::Rule"));
}

#[test]
fn weights_switch_to_capacity_unit_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let weighted = |t: String| {
        t.replace(
            "# weights = { \"c5.xlarge\" = 2 }",
            "weights = { \"m5.large\" = 2 }",
        )
    };
    let t = json(&config(dir.path(), "w", weighted), &[]);
    let metrics = &props(&t, "FallbackOutAlarm")["Metrics"];
    assert_eq!(
        metrics[1]["MetricStat"]["Metric"]["MetricName"],
        "GroupInServiceCapacity"
    );
    assert_eq!(
        metrics[2]["MetricStat"]["Metric"]["MetricName"],
        "GroupPendingCapacity"
    );
    let overrides = &props(&t, "SpotGroup")["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"];
    assert_eq!(overrides[3]["WeightedCapacity"], "2");
    assert_eq!(overrides[0]["WeightedCapacity"], "1");
}

#[test]
fn a_created_target_group_drains_within_the_notice() {
    let dir = tempfile::tempdir().unwrap();
    let tg = |t: String| {
        t.replace("# [target_group]", "[target_group]")
            .replace("# vpc_id = ", "vpc_id = ")
    };
    let t = json(&config(dir.path(), "tg", tg), &[]);
    let attrs = &props(&t, "TargetGroup")["TargetGroupAttributes"][0];
    assert_eq!(attrs["Key"], "deregistration_delay.timeout_seconds");
    assert_eq!(attrs["Value"], "60");
    for g in ["OnDemandGroup", "SpotGroup", "FallbackGroup"] {
        assert_eq!(
            props(&t, g)["TargetGroupARNs"][0]["Ref"],
            "TargetGroup",
            "{g}"
        );
        assert_eq!(props(&t, g)["HealthCheckType"], "ELB", "{g}");
    }
    assert_eq!(
        t["Outputs"]["TargetGroupArn"]["Value"]["Ref"],
        "TargetGroup"
    );
}
