//! The real binary against the emulators: ministack for CloudFormation
//! (stacks with scaling policies, alarms, lifecycle hooks and change sets),
//! moto where instances must launch and spot price history must exist.
//! Neither takes everything (ministack rejects metric-math alarms and
//! ignores MixedInstancesPolicy, CapacityRebalance and MetricsCollection;
//! moto has no alarms, policies or lifecycle hooks in CloudFormation), so
//! each gets what it accepts and `templates.rs` checks the rest on the
//! rendered template.

use std::path::PathBuf;

use assert_cmd::Command;
use mc_testkit::{ministack, moto, unique_name, Emulator};
use predicates::prelude::*;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/stack.toml")
}

fn seed_example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/seed.toml")
}

fn std_tool(emu: &Emulator) -> std::process::Command {
    let mut cmd = std::process::Command::new(mc_testkit::cli::bin("spot-stack"));
    emu.apply_env(&mut cmd);
    cmd.env_remove("SPOT_STACK_CONFIG")
        .env("SPOT_STACK_POLL_SECONDS", "0.5");
    cmd
}

fn tool(emu: &Emulator) -> Command {
    Command::from_std(std_tool(emu))
}

/// Runs `cmd` with its stdout pipe closed before it writes anything (as
/// `cmd | true` would), so its first write finds no reader.
fn run_with_stdout_closed(cmd: &mut std::process::Command) -> std::process::Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

/// `deploy` writes: a closed stdout stops it as SIGINT does, with the
/// interrupted exit code and never a claim of success (the stack operation
/// it started goes on in CloudFormation).
#[test]
fn ministack_deploy_into_a_closed_pipe_stops_as_interrupted() {
    let emu = ministack();
    let name = unique_name("spot-pipe");
    let mut cmd = std_tool(emu);
    cmd.args([
        "deploy",
        "--strategy",
        "seed",
        "--stack-name",
        &name,
        "--config",
    ])
    .arg(seed_example());
    let out = run_with_stdout_closed(&mut cmd);
    let stderr = mc_testkit::cli::stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.ends_with("\nspot-stack: stdout was closed: stopped as on an interrupt\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("error"), "{stderr}");
    tool(emu)
        .args(["delete", "--stack-name", &name])
        .assert()
        .success();
}

fn out(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

/// The write-up's template (`--strategy seed`): deploy, no-op update both
/// ways, status, delete.
#[test]
fn ministack_deploy_noop_update_status_delete() {
    let emu = ministack();
    let name = unique_name("spot-stack");
    let c = seed_example();
    let a = tool(emu)
        .args([
            "deploy",
            "--strategy",
            "seed",
            "--stack-name",
            &name,
            "--config",
        ])
        .arg(&c)
        .assert()
        .success();
    let text = out(&a);
    for needle in [
        "CREATE_COMPLETE       OnDemandLaunchTemplate (AWS::EC2::LaunchTemplate)",
        "CREATE_COMPLETE       SpotLaunchTemplate (AWS::EC2::LaunchTemplate)",
        "CREATE_COMPLETE       SpotGroup (AWS::AutoScaling::AutoScalingGroup)",
        "CREATE_COMPLETE       OnDemandGroup (AWS::AutoScaling::AutoScalingGroup)",
        "SpotScaleUpPolicy (AWS::AutoScaling::ScalingPolicy)",
        "OnDemandCpuHighAlarm (AWS::CloudWatch::Alarm)",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    assert!(
        text.ends_with(&format!("stack {name}: CREATE_COMPLETE\n")),
        "{text}"
    );

    // Same template again: a no-op update is success, by change set and directly.
    tool(emu)
        .args([
            "deploy",
            "--strategy",
            "seed",
            "--stack-name",
            &name,
            "--config",
        ])
        .arg(&c)
        .assert()
        .success()
        .stdout(format!("stack {name} is up to date: no changes\n"));
    tool(emu)
        .args([
            "deploy",
            "--strategy",
            "seed",
            "--no-change-set",
            "--stack-name",
            &name,
            "--config",
        ])
        .arg(&c)
        .assert()
        .success()
        .stdout(predicate::str::contains("no changes"));

    // Status reads both groups (ministack has no spot price history: reported, not fatal).
    let a = tool(emu)
        .args(["-o", "json", "status", "--stack-name", &name, "--config"])
        .arg(&c)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_str(out(&a).trim()).unwrap();
    let markets: Vec<&str> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["market"].as_str().unwrap())
        .collect();
    assert_eq!(markets, ["spot", "on-demand"]);
    assert_eq!(v["groups"][0]["min"], 1);
    assert_eq!(v["groups"][0]["max"], 12);

    let a = tool(emu)
        .args(["delete", "--stack-name", &name])
        .assert()
        .success();
    assert!(out(&a).ends_with(&format!("stack {name}: DELETE_COMPLETE\n")));
    tool(emu)
        .args(["delete", "--stack-name", &name])
        .assert()
        .code(3)
        .stderr(format!(
            "spot-stack: error: stack {name}: does not exist (ValidationError)\n"
        ));
}

#[test]
fn ministack_validate_calls_cloudformation() {
    tool(ministack())
        .args(["validate", "--config"])
        .arg(example())
        .assert()
        .success()
        .stdout("ok: local checks passed (0 warnings)\nok: CloudFormation ValidateTemplate accepted the template\n");
}

#[test]
fn moto_savings_reads_spot_price_history() {
    let a = tool(moto())
        .args(["-o", "json", "savings", "--days", "3", "--config"])
        .arg(example())
        .assert()
        .success();
    let text = out(&a);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rows = &lines[..lines.len() - 1];
    assert!(rows.iter().any(|r| r["instance_type"] == "c5.large"));
    assert!(rows.iter().all(|r| r["average"].as_f64().unwrap() > 0.0));
    let summary = lines.last().unwrap();
    assert_eq!(summary["instance_type"], "c5.large");
    assert_eq!(summary["region"], "us-east-1");
    assert_eq!(summary["on_demand_table"], "us-east-1 2025-06-01");
    for date in [&summary["from"], &summary["to"]] {
        let d = date.as_str().unwrap();
        assert!(d.len() == 10 && d.starts_with("20"), "{d}");
    }
    let saving = summary["saving_percent"].as_f64().unwrap();
    assert!(saving > 0.0 && saving < 100.0, "{saving}");
}

/// Another region: the spot history is that region's (DescribeSpotPriceHistory
/// there), the bundled on-demand table (us-east-1) is refused, a price file
/// with a region column is used, and the report says the region and dates.
#[test]
fn moto_savings_in_another_region_needs_its_on_demand_prices() {
    let emu = moto();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("stack.toml");
    std::fs::write(
        &config,
        "[instances]\ninstance_types = [\"c5.large\", \"m5.large\"]\n",
    )
    .unwrap();
    let savings = |extra: &[&str]| {
        let mut cmd = tool(emu);
        cmd.args([
            "savings",
            "--days",
            "2",
            "--region",
            "eu-west-1",
            "--config",
        ])
        .arg(&config)
        .args(extra);
        cmd.output().unwrap()
    };
    let refused = savings(&[]);
    mc_testkit::badinput::assert_one_error_line(
        "spot-stack",
        "eu-west-1 without prices",
        &refused,
        2,
        "no on-demand price for c5.large in eu-west-1: the bundled table is us-east-1's (2025-06-01)",
    );
    let prices = dir.path().join("eu.csv");
    std::fs::write(
        &prices,
        "instance_type,price,region\nc5.large,0.096,eu-west-1\nm5.large,0.107,eu-west-1\n",
    )
    .unwrap();
    let out = savings(&["--on-demand-prices", prices.to_str().unwrap()]);
    let text = mc_testkit::cli::stdout(&out);
    assert!(out.status.success(), "{}", mc_testkit::cli::stderr(&out));
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("spot price history, eu-west-1, 20"),
        "{text}"
    );
    assert!(first.ends_with("(2 days; USD/hour, Linux/UNIX)"), "{text}");
    assert!(text.contains("eu-west-1a"), "{text}");
    assert!(text.contains("0.096"), "{text}");
    assert!(
        text.trim_end().ends_with(
            "on-demand prices: the given prices (--on-demand-price, --on-demand-prices)"
        ),
        "{text}"
    );
}

/// Unknown profile, expired or missing credentials (issue 11): one line,
/// exit 4, before anything is created.
#[test]
fn auth_failures_are_one_line_and_exit_4() {
    let emu = ministack();
    let expired = mc_benchkit::proxy::Proxy::expired_credentials(emu.endpoint()).unwrap();
    let expired = expired.endpoint();
    let name = unique_name("spot-auth");
    let c = example();
    let c = c.to_str().unwrap();
    let status = ["status", "--stack-name", &name, "--config", c];
    let savings = ["savings", "--days", "1", "--config", c];
    let deploy = ["deploy", "--stack-name", &name, "--config", c];
    let profile = "profile nope: not found in";
    let rejected = "credentials rejected (ExpiredToken)";
    let none = "no AWS credentials found";
    let cases: [(&str, &[&str], &str, &str); 8] = [
        ("status --profile nope", &status, "profile", profile),
        ("savings --profile nope", &savings, "profile", profile),
        ("deploy --profile nope", &deploy, "profile", profile),
        ("status: expired token", &status, "expired", rejected),
        ("savings: expired token", &savings, "expired", rejected),
        ("deploy: expired token", &deploy, "expired", rejected),
        ("status: no credentials", &status, "none", none),
        ("savings: no credentials", &savings, "none", none),
    ];
    for (case, args, how, needle) in cases {
        let mut cmd = tool(emu);
        cmd.args(args);
        match how {
            "profile" => cmd.args(["--profile", "nope"]),
            "expired" => cmd.env("AWS_ENDPOINT_URL", &expired),
            _ => cmd
                .env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY"),
        };
        let out = cmd.output().unwrap();
        mc_testkit::badinput::assert_one_error_line("spot-stack", case, &out, 4, needle);
    }
    // Nothing was created by the refused deploys.
    tool(emu)
        .args(["status", "--stack-name", &name, "--config", c])
        .assert()
        .code(3);
}

/// A VPC and two subnets in moto (it checks that subnets exist).
fn moto_network(emu: &Emulator) -> (String, Vec<String>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ec2 = spot_stack::ec2::Ec2::new(&emu.sdk_config().await).unwrap();
        let throttle = spot_stack::stack::throttle();
        let tag = |xml: &str, name: &str| {
            let start = xml.find(&format!("<{name}>")).unwrap() + name.len() + 2;
            xml[start..start + xml[start..].find('<').unwrap()].to_string()
        };
        let vpc = ec2
            .action(&throttle, "CreateVpc", &[("CidrBlock", "10.20.0.0/16")])
            .await
            .unwrap();
        let vpc = tag(&vpc, "vpcId");
        let mut subnets = Vec::new();
        for (cidr, zone) in [
            ("10.20.1.0/24", "us-east-1a"),
            ("10.20.2.0/24", "us-east-1b"),
        ] {
            let subnet = ec2
                .action(
                    &throttle,
                    "CreateSubnet",
                    &[
                        ("VpcId", vpc.as_str()),
                        ("CidrBlock", cidr),
                        ("AvailabilityZone", zone),
                    ],
                )
                .await
                .unwrap();
            subnets.push(tag(&subnet, "subnetId"));
        }
        (vpc, subnets)
    })
}

/// Today's stack in moto: several types, two zones, interruption handling
/// and a target group the stack creates.
fn moto_config(dir: &tempfile::TempDir, vpc: &str, subnets: &[String]) -> PathBuf {
    let path = dir.path().join("stack.toml");
    let subnets: Vec<String> = subnets.iter().map(|s| format!("{s:?}")).collect();
    std::fs::write(
        &path,
        format!(
            "[instances]\nami = \"ami-12c6146b\"\ninstance_types = [\"c5.large\", \"c6i.large\", \"m5.large\"]\nsubnets = [{}]\n\
             [interruption]\nenabled = true\n[target_group]\nvpc_id = \"{vpc}\"\n",
            subnets.join(", ")
        ),
    )
    .unwrap();
    path
}

fn status_json(emu: &Emulator, name: &str, config: &std::path::Path) -> serde_json::Value {
    let a = tool(emu)
        .args(["-o", "json", "status", "--stack-name", name, "--config"])
        .arg(config)
        .assert()
        .success();
    serde_json::from_str(out(&a).trim()).unwrap()
}

/// (market, desired, in service) of each group, as `status` reports them.
fn sizes(v: &serde_json::Value) -> Vec<(String, i64, i64)> {
    v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["market"].as_str().unwrap().to_string(),
                g["desired"].as_i64().unwrap(),
                g["in_service"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn moto_deploy_launches_instances_and_status_counts_them() {
    let emu = moto();
    let dir = tempfile::tempdir().unwrap();
    let (vpc, subnets) = moto_network(emu);
    let config = moto_config(&dir, &vpc, &subnets);
    let name = unique_name("spot-stack");
    tool(emu)
        .args(["deploy", "--stack-name", &name, "--config"])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::ends_with(format!(
            "stack {name}: CREATE_COMPLETE\n"
        )));
    tool(emu)
        .args(["deploy", "--stack-name", &name, "--config"])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("no changes"));
    let v = status_json(emu, &name, &config);
    // The two groups launch their minimum; the fallback group waits at 0.
    let want = |m: &str, d, i| (m.to_string(), d, i);
    assert_eq!(
        sizes(&v),
        [
            want("spot", 1, 1),
            want("on-demand", 1, 1),
            want("fallback", 0, 0)
        ]
    );
    assert!(!v["spot"]["zones"].as_object().unwrap().is_empty(), "{v}");
    assert_eq!(v["spot"]["above_max"].as_array().unwrap().len(), 0);
    let human = tool(emu)
        .args(["status", "--stack-name", &name, "--config"])
        .arg(&config)
        .assert()
        .success();
    assert!(
        out(&human).contains("max price $0.085 (on-demand): ok"),
        "{}",
        out(&human)
    );
    tool(emu)
        .args(["delete", "--stack-name", &name])
        .assert()
        .success();
}

/// The mixed group launches its on-demand base and spot above it, the
/// fallback group beside it waits at 0.
#[test]
fn moto_mixed_group_with_its_fallback_group() {
    let emu = moto();
    let dir = tempfile::tempdir().unwrap();
    let (vpc, subnets) = moto_network(emu);
    let config = moto_config(&dir, &vpc, &subnets);
    let name = unique_name("spot-mixed");
    tool(emu)
        .args([
            "deploy",
            "--strategy",
            "mixed",
            "--stack-name",
            &name,
            "--config",
        ])
        .arg(&config)
        .assert()
        .success();
    let v = status_json(emu, &name, &config);
    let want = |m: &str, d, i| (m.to_string(), d, i);
    assert_eq!(sizes(&v), [want("mixed", 2, 2), want("fallback", 0, 0)]);
    tool(emu)
        .args(["delete", "--stack-name", &name])
        .assert()
        .success();
}

/// Today's template in ministack: the tool deploys it without the fallback
/// group (ministack rejects its metric-math alarms), lifecycle hooks and
/// all; the fallback group and its step policy go in through the SDK with
/// only the metric-math alarms left out, and `status` reads the group.
#[test]
fn ministack_takes_todays_template_but_its_metric_math_alarms() {
    let emu = ministack();
    let c = example();
    let name = unique_name("spot-today");
    let a = tool(emu)
        .args(["deploy", "--no-fallback", "--stack-name", &name, "--config"])
        .arg(&c)
        .assert()
        .success();
    let text = out(&a);
    for needle in [
        "CREATE_COMPLETE       LaunchTemplate (AWS::EC2::LaunchTemplate)",
        "CREATE_COMPLETE       SpotGroup (AWS::AutoScaling::AutoScalingGroup)",
        "CREATE_COMPLETE       SpotDrainHook (AWS::AutoScaling::LifecycleHook)",
        "CREATE_COMPLETE       SpotCpuLowAlarm (AWS::CloudWatch::Alarm)",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hooks = rt.block_on(lifecycle_hooks(emu, &name, "SpotGroup"));
    assert_eq!(
        hooks,
        [(
            "autoscaling:EC2_INSTANCE_TERMINATING".to_string(),
            90,
            "CONTINUE".to_string()
        )]
    );
    let full = dir_with_fallback_stack(emu, &rt, &c);
    let v = status_json(emu, &full, &c);
    let fallback = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["market"] == "fallback")
        .unwrap();
    assert_eq!(
        (fallback["min"].as_i64(), fallback["max"].as_i64()),
        (Some(0), Some(12))
    );
    for stack in [&name, &full] {
        tool(emu)
            .args(["delete", "--stack-name", stack])
            .assert()
            .success();
    }
}

/// The example's whole template but its three metric-math alarms (the
/// fallback group's and the spot group's held CPU scale-in), created
/// through CloudFormation directly; checks the fallback policy it holds.
fn dir_with_fallback_stack(
    emu: &Emulator,
    rt: &tokio::runtime::Runtime,
    config: &std::path::Path,
) -> String {
    let rendered = tool(emu)
        .args(["template", "--format", "json", "--config"])
        .arg(config)
        .assert()
        .success();
    let mut t: serde_json::Value = serde_json::from_str(&out(&rendered)).unwrap();
    let resources = t["Resources"].as_object_mut().unwrap();
    for alarm in ["FallbackOutAlarm", "FallbackInAlarm", "SpotCpuLowAlarm"] {
        resources.remove(alarm).unwrap();
    }
    let name = unique_name("spot-fallback");
    rt.block_on(async {
        let sdk = emu.sdk_config().await;
        let cfn = aws_sdk_cloudformation::Client::new(&sdk);
        cfn.create_stack()
            .stack_name(&name)
            .template_body(t.to_string())
            .send()
            .await
            .unwrap();
        for _ in 0..100 {
            let d = cfn
                .describe_stacks()
                .stack_name(&name)
                .send()
                .await
                .unwrap();
            let status = d.stacks()[0].stack_status().unwrap().as_str().to_string();
            if !status.ends_with("_IN_PROGRESS") {
                assert_eq!(status, "CREATE_COMPLETE");
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let group = physical_id(&cfn, &name, "FallbackGroup").await;
        let asg = aws_sdk_autoscaling::Client::new(&sdk);
        let policies = asg
            .describe_policies()
            .auto_scaling_group_name(&group)
            .send()
            .await
            .unwrap();
        let p = &policies.scaling_policies()[0];
        assert_eq!(p.policy_type(), Some("StepScaling"));
        assert_eq!(p.adjustment_type(), Some("ExactCapacity"));
        assert_eq!(p.step_adjustments().len(), 13);
    });
    name
}

async fn physical_id(cfn: &aws_sdk_cloudformation::Client, stack: &str, logical: &str) -> String {
    let r = cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    r.stack_resources()
        .iter()
        .find(|r| r.logical_resource_id() == Some(logical))
        .and_then(|r| r.physical_resource_id())
        .unwrap()
        .to_string()
}

/// (transition, heartbeat, default result) of each hook of a group.
async fn lifecycle_hooks(emu: &Emulator, stack: &str, logical: &str) -> Vec<(String, i32, String)> {
    let sdk = emu.sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let group = physical_id(&cfn, stack, logical).await;
    let asg = aws_sdk_autoscaling::Client::new(&sdk);
    let hooks = asg
        .describe_lifecycle_hooks()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .unwrap();
    hooks
        .lifecycle_hooks()
        .iter()
        .map(|h| {
            (
                h.lifecycle_transition().unwrap_or_default().to_string(),
                h.heartbeat_timeout().unwrap_or_default(),
                h.default_result().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn moto_failing_template_is_a_clear_error_and_leaves_nothing_behind() {
    let emu = moto();
    let dir = tempfile::tempdir().unwrap();
    let (vpc, _) = moto_network(emu);
    let config = moto_config(&dir, &vpc, &["subnet-0000000000000dead".into()]);
    let name = unique_name("spot-stack");
    for _ in 0..2 {
        // Twice: the failed create must not leave a stack that blocks the next deploy.
        tool(emu)
            .args(["deploy", "--stack-name", &name, "--config"])
            .arg(&config)
            .assert()
            .failure()
            .stderr(
                predicate::str::contains("spot-stack: error: stack ")
                    .and(predicate::str::contains("InvalidSubnetID.NotFound")),
            );
    }
}
