//! The real binary against the emulators: ministack for CloudFormation
//! (stacks with scaling policies, alarms and change sets), moto where
//! instances must launch and spot price history must exist.

use std::path::PathBuf;

use assert_cmd::Command;
use mc_testkit::{ministack, moto, unique_name, Emulator};
use predicates::prelude::*;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/stack.toml")
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
    cmd.args(["deploy", "--stack-name", &name, "--config"])
        .arg(example());
    let out = run_with_stdout_closed(&mut cmd);
    let stderr = mc_testkit::cli::stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(
        stderr,
        "spot-stack: stdout was closed: stopped as on an interrupt\n"
    );
    tool(emu)
        .args(["delete", "--stack-name", &name])
        .assert()
        .success();
}

fn out(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

#[test]
fn ministack_deploy_noop_update_status_delete() {
    let emu = ministack();
    let name = unique_name("spot-stack");
    let c = example();
    let a = tool(emu)
        .args(["deploy", "--stack-name", &name, "--config"])
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
        .args(["deploy", "--stack-name", &name, "--config"])
        .arg(&c)
        .assert()
        .success()
        .stdout(format!("stack {name} is up to date: no changes\n"));
    tool(emu)
        .args([
            "deploy",
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
    let saving = summary["saving_percent"].as_f64().unwrap();
    assert!(saving > 0.0 && saving < 100.0, "{saving}");
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

/// A VPC and a subnet in moto (it checks that subnets exist).
fn moto_subnet(emu: &Emulator) -> String {
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
        let subnet = ec2
            .action(
                &throttle,
                "CreateSubnet",
                &[
                    ("VpcId", vpc.as_str()),
                    ("CidrBlock", "10.20.1.0/24"),
                    ("AvailabilityZone", "us-east-1a"),
                ],
            )
            .await
            .unwrap();
        tag(&subnet, "subnetId")
    })
}

fn moto_config(dir: &tempfile::TempDir, subnet: &str) -> PathBuf {
    let path = dir.path().join("stack.toml");
    std::fs::write(
        &path,
        format!(
            "[instances]\nami = \"ami-12c6146b\"\ninstance_types = [\"c5.large\"]\nsubnets = [\"{subnet}\"]\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn moto_deploy_launches_instances_and_status_counts_them() {
    let emu = moto();
    let dir = tempfile::tempdir().unwrap();
    let config = moto_config(&dir, &moto_subnet(emu));
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
    let a = tool(emu)
        .args(["-o", "json", "status", "--stack-name", &name, "--config"])
        .arg(&config)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_str(out(&a).trim()).unwrap();
    for g in v["groups"].as_array().unwrap() {
        assert_eq!(g["desired"], 1, "{g}");
        assert_eq!(g["in_service"], 1, "{g}");
    }
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

#[test]
fn moto_failing_template_is_a_clear_error_and_leaves_nothing_behind() {
    let emu = moto();
    let dir = tempfile::tempdir().unwrap();
    let config = moto_config(&dir, "subnet-0000000000000dead");
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
