//! The real binary: template snapshots, --help, and each bad input.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/stack.toml")
}

/// The example as spot-stack first shipped it.
fn seed_example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/seed.toml")
}

fn cmd() -> Command {
    let mut c = Command::cargo_bin("spot-stack").unwrap();
    for var in [
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "MC_S3_ADDRESSING",
        "MC_OUTPUT",
        "SPOT_STACK_NAME",
        "SPOT_STACK_POLL_SECONDS",
    ] {
        c.env_remove(var);
    }
    c.env_remove("SPOT_STACK_CONFIG")
        .env_remove("SPOT_STACK_STRATEGY")
        .env_remove("SPOT_STACK_MAX_PRICE")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100");
    c
}

fn stdout(args: &[&str]) -> String {
    let out = cmd()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

/// The write-up's template, exactly as first shipped: `--strategy seed`.
#[test]
fn template_two_groups_seed_defaults() {
    let c = seed_example();
    insta::assert_snapshot!(stdout(&[
        "template",
        "--config",
        c.to_str().unwrap(),
        "--strategy",
        "seed"
    ]));
}

/// AWS's single group as first shipped: `--strategy mixed --no-fallback`.
#[test]
fn template_mixed_seed_defaults() {
    let c = seed_example();
    insta::assert_snapshot!(stdout(&[
        "template",
        "--config",
        c.to_str().unwrap(),
        "--strategy",
        "mixed",
        "--no-fallback"
    ]));
}

/// Today's default: the seed's two groups over several pools, and the
/// fallback group with its alarms (the shipped example).
#[test]
fn template_two_groups_example() {
    let c = example();
    insta::assert_snapshot!(stdout(&["template", "--config", c.to_str().unwrap()]));
}

#[test]
fn template_mixed_example() {
    let c = example();
    insta::assert_snapshot!(stdout(&[
        "template",
        "--config",
        c.to_str().unwrap(),
        "--strategy",
        "mixed"
    ]));
}

#[test]
fn template_json_parses_and_has_max_price() {
    let c = example();
    let out = stdout(&[
        "template",
        "--config",
        c.to_str().unwrap(),
        "--format",
        "json",
        "--max-price",
        "0.05",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["Resources"]["SpotGroup"]["Properties"]["MixedInstancesPolicy"]["InstancesDistribution"]
            ["SpotMaxPrice"],
        "0.05"
    );
}

#[test]
fn help_snapshot() {
    insta::assert_snapshot!(stdout(&["--help"]));
}

#[test]
fn validate_local_ok_on_example() {
    let c = example();
    let out = stdout(&["validate", "--local", "--config", c.to_str().unwrap()]);
    assert_eq!(out, "ok: local checks passed (0 warnings)\n");
}

fn write_config(dir: &tempfile::TempDir, extra: &str) -> PathBuf {
    let base = std::fs::read_to_string(example()).unwrap();
    // Drop the example's threshold sections so `extra` can set them.
    let head = base
        .split("[on_demand]")
        .next()
        .unwrap()
        .replace("user_data_file = \"user-data.sh\"", "");
    let path = dir.path().join("stack.toml");
    std::fs::write(&path, format!("{head}\n{extra}")).unwrap();
    path
}

#[test]
fn validate_reports_each_broken_invariant() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, needle) in [
        ("[on_demand]\nscale_down = { threshold = 85.0, adjustment = 1, cooldown = 900 }\n", "error: on_demand.scale_up.threshold: scale-up threshold (80%) must be above the scale-down threshold (85%)"),
        ("[spot]\nscale_up = { threshold = 90.0, adjustment = 2, cooldown = 300 }\n", "error: spot.scale_up.threshold: spot scale-up threshold (90%) must be below on-demand's (80%) so spot scales first"),
        ("[spot]\nscale_down = { threshold = 70.0, adjustment = 1, cooldown = 300 }\nscale_up = { threshold = 75.0, adjustment = 2, cooldown = 300 }\n", "so on-demand is removed first"),
        ("[on_demand]\nmin = 4\nmax = 2\n", "error: on_demand.min: min (4) is above max (2)"),
        ("[spot]\nperiod = 45\n", "error: spot.period: 45 s: CloudWatch periods are 10, 30 or a multiple of 60 seconds"),
        ("[on_demand]\nevaluation_periods = 0\n", "error: on_demand.evaluation_periods: 0: must be at least 1"),
    ] {
        let path = write_config(&dir, extra);
        cmd()
            .args(["validate", "--local", "--config"])
            .arg(&path)
            .assert()
            .code(2)
            .stdout(predicate::str::contains(needle))
            .stderr(predicate::str::starts_with("spot-stack: error: invalid configuration: "));
        // deploy refuses before touching AWS.
        cmd()
            .args(["deploy", "--stack-name", "x", "--config"])
            .arg(&path)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .assert()
            .code(2)
            .stderr(predicate::str::contains("invalid configuration"));
    }
}

#[test]
fn bad_inputs_are_one_line_errors_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    // Missing config file: not found.
    cmd()
        .args(["template", "--config", "/nonexistent/stack.toml"])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with(
            "spot-stack: error: /nonexistent/stack.toml: ",
        ));
    // Broken TOML.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[spot\n").unwrap();
    cmd()
        .args(["template", "--config"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(
            predicate::str::starts_with("spot-stack: error: ")
                .and(predicate::str::contains("bad.toml")),
        );
    // Unknown key.
    std::fs::write(&bad, "[spot]\nbid = 0.1\n").unwrap();
    cmd()
        .args(["template", "--config"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown field `bid`"));
    // No config: no AMI.
    cmd()
        .arg("template")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("instances.ami: not set"));
    // Bad CSV and missing CSV for simulate.
    let csv = dir.path().join("d.csv");
    std::fs::write(&csv, "minute,demand\n0,1\n1,lots\n").unwrap();
    cmd()
        .args(["simulate", "--demand"])
        .arg(&csv)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3: \"lots\" is not a number"));
    cmd()
        .args(["simulate", "--spot-prices", "/nonexistent.csv"])
        .assert()
        .code(3);
    // Bad flags.
    cmd()
        .args(["simulate", "--max-price", "-1"])
        .assert()
        .code(2);
    cmd()
        .args(["template", "--strategy", "cheap"])
        .assert()
        .code(2);
    cmd().args(["status"]).assert().code(2);
}

/// The capacity model: one JSON line per strategy, and the comparison chart.
#[test]
fn simulate_writes_an_svg_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("day.svg");
    let c = example();
    let out = stdout(&[
        "simulate",
        "-o",
        "json",
        "--config",
        c.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|v| v["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["seed", "two-groups", "mixed", "mixed+fallback"]);
    for v in &lines {
        assert_eq!(v["minutes"], 1440);
        assert_eq!(v["hours"].as_array().unwrap().len(), 24);
        assert!(v["saving_percent"].as_f64().unwrap() > 0.0);
    }
    // The shipped day's regional outage: mixed alone is short for all of it.
    assert!(lines[2]["worst_gap_minutes"].as_u64().unwrap() >= 90);
    assert!(lines[1]["worst_gap_minutes"].as_u64().unwrap() <= 5);
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg ") && chart.trim_end().ends_with("</svg>"));
    assert!(chart.contains("mixed + on-demand fallback"));
}

/// The old price-driven model, as before: one report, the hourly chart.
#[test]
fn simulate_bidding_replays_the_price_history() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("day.svg");
    let out = stdout(&[
        "simulate",
        "--model",
        "bidding",
        "-o",
        "json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["minutes"], 1440);
    assert_eq!(v["hours"].as_array().unwrap().len(), 24);
    assert_eq!(v["reclaim_events"], 1);
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg ") && chart.trim_end().ends_with("</svg>"));
    // --spot-prices alone picks the bidding model, as it always did.
    let prices = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/spot-price-day.csv");
    let again = stdout(&[
        "simulate",
        "-o",
        "json",
        "--spot-prices",
        prices.to_str().unwrap(),
    ]);
    assert_eq!(again, out);
}

/// `spot-stack template ... | head -1`: the template is bigger than a pipe
/// holds, so the write after `head` left fails; a read-only command then
/// ends quietly with 0 (the toolkit's one `main`).
#[test]
fn template_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let subnets: Vec<String> = (0..3000).map(|i| format!("\"subnet-{i:017x}\"")).collect();
    let config = dir.path().join("wide.toml");
    std::fs::write(
        &config,
        format!(
            "[instances]\nami = \"ami-1\"\ninstance_types = [\"c5.large\", \"c6i.large\"]\nsubnets = [{}]\n",
            subnets.join(", ")
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(mc_testkit::cli::bin("spot-stack"));
    cmd.args(["template", "--config"]).arg(&config);
    let r = mc_testkit::cli::first_line_then_close(&mut cmd);
    assert_eq!(
        r.first_line, "AWSTemplateFormatVersion: 2010-09-09\n",
        "{r:?}"
    );
    assert_eq!(r.status.code(), Some(0), "{r:?}");
    assert_eq!(r.stderr, "", "{r:?}");
}

/// `spot-stack simulate --hourly | head -1` over two months: many lines
/// through the Printer, the same quiet 0.
#[test]
fn simulate_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let demand = dir.path().join("demand.csv");
    let mut text = String::from("minute,demand\n");
    for m in (0..60 * 24 * 60).step_by(30) {
        text.push_str(&format!("{m},{}\n", 1.0 + f64::from(m % 1440) / 400.0));
    }
    std::fs::write(&demand, text).unwrap();
    let mut cmd = std::process::Command::new(mc_testkit::cli::bin("spot-stack"));
    cmd.args(["simulate", "--hourly", "--demand"]).arg(&demand);
    let r = mc_testkit::cli::first_line_then_close(&mut cmd);
    assert!(r.first_line.starts_with("simulated "), "{r:?}");
    assert_eq!(r.status.code(), Some(0), "{r:?}");
    assert_eq!(r.stderr, "", "{r:?}");
}

/// The README's picture is what `simulate` draws today (regenerate with
/// `SPOT_STACK_REGENERATE=1 cargo test -p spot-stack --test it readme_picture`).
#[test]
fn readme_picture_is_the_simulators() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("comparison.svg");
    let c = example();
    stdout(&[
        "simulate",
        "--config",
        c.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let drawn = std::fs::read_to_string(&svg).unwrap();
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/simulate-comparison.svg");
    if std::env::var_os("SPOT_STACK_REGENERATE").is_some() {
        std::fs::write(&committed, &drawn).unwrap();
    }
    assert!(
        std::fs::read_to_string(&committed).unwrap() == drawn,
        "docs/simulate-comparison.svg differs from what simulate draws: SPOT_STACK_REGENERATE=1 cargo test -p spot-stack --test it readme_picture"
    );
}
