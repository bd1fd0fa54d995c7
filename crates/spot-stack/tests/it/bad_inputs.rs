//! Hostile inputs (issue 11) with the real binary: binary and UTF-16 configs,
//! group sizes that used to overflow, and simulator traces with a 10 MB line,
//! a missing column or a negative value, hostile on-demand price CSVs. Each is
//! one `spot-stack: error:` line and exit 2 (usage).

use assert_cmd::Command;

fn run(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("spot-stack")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_line(what: &str, (code, stderr): (Option<i32>, String), needle: &str) {
    assert_eq!(code, Some(2), "{what}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
    assert!(stderr.len() < 400, "{what}: line too long: {stderr}");
    assert!(
        stderr.starts_with("spot-stack: error: ") && stderr.contains(needle),
        "{what}: {stderr}"
    );
}

#[test]
fn bad_configs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let utf16: Vec<u8> = "name = \"x\"\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    std::fs::write(d.join("utf16.toml"), [&[0xff, 0xfe][..], &utf16].concat()).unwrap();
    std::fs::write(d.join("binary.toml"), [0u8, 159, 146, 150, 0xff, 7, 0]).unwrap();
    std::fs::write(
        d.join("huge.toml"),
        "[instances]\nami = \"ami-1\"\ninstance_types = [\"c5.large\", \"c6i.large\"]\nsubnets = [\"subnet-1\", \"subnet-2\"]\n\
         [on_demand]\nmin = 4000000000\nmax = 4000000000\n[spot]\nmin = 4000000000\nmax = 4000000000\n",
    )
    .unwrap();
    for name in ["utf16.toml", "binary.toml"] {
        let r = run(d, &["validate", "--config", name]);
        assert_one_line(name, r, "did not contain valid UTF-8");
    }
    // Used to overflow adding the two groups' sizes (found by fuzzing).
    for cmd in ["template", "simulate"] {
        let r = run(d, &[cmd, "--config", "huge.toml"]);
        assert_one_line(cmd, r, "is above 100000 instances per group");
    }
}

#[test]
fn bad_simulator_traces() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut huge = b"minute,value\n".to_vec();
    huge.resize(10 << 20, b'1');
    std::fs::write(d.join("huge.csv"), huge).unwrap();
    std::fs::write(d.join("missing.csv"), "minute,value\n0\n").unwrap();
    std::fs::write(d.join("negative.csv"), "minute,value\n0,-3\n").unwrap();
    std::fs::write(d.join("latin1.csv"), b"minute,value\n0,1\xe9\n").unwrap();
    std::fs::write(d.join("empty.csv"), "").unwrap();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/stack.toml");
    for (name, needle) in [
        ("huge.csv", "huge.csv: line 2"),
        ("missing.csv", "missing.csv: line 2"),
        ("negative.csv", "-3 is not a non-negative number"),
        ("latin1.csv", "latin1.csv"),
        ("empty.csv", "empty.csv: no data rows"),
    ] {
        let r = run(d, &["simulate", "--config", config, "--demand", name]);
        assert_one_line(name, r, needle);
    }
}

/// Hostile capacity-event files (`simulate --events`): one line, exit 2; an
/// empty one is no events.
#[test]
fn bad_capacity_events() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let header = "start_minute,end_minute,instance_type,zone\n";
    let mut huge = header.as_bytes().to_vec();
    huge.resize(10 << 20, b'1');
    std::fs::write(d.join("huge.csv"), huge).unwrap();
    std::fs::write(d.join("missing.csv"), format!("{header}10,20,c5.large\n")).unwrap();
    std::fs::write(d.join("backwards.csv"), format!("{header}20,10,*,*\n")).unwrap();
    std::fs::write(d.join("zone.csv"), format!("{header}10,20,*,az9\n")).unwrap();
    std::fs::write(
        d.join("latin1.csv"),
        [header.as_bytes(), b"1,2,c5.large\xe9,*\n"].concat(),
    )
    .unwrap();
    std::fs::write(d.join("empty.csv"), "").unwrap();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/stack.toml");
    for (name, needle) in [
        ("huge.csv", "huge.csv: line 2"),
        ("missing.csv", "missing.csv: line 2: expected four columns"),
        ("backwards.csv", "end 10 is not after start 20"),
        ("zone.csv", "zone \"az9\" is not * or az1..az2"),
        ("latin1.csv", "latin1.csv"),
    ] {
        let r = run(d, &["simulate", "--config", config, "--events", name]);
        assert_one_line(name, r, needle);
    }
    let (code, stderr) = run(
        d,
        &["simulate", "--config", config, "--events", "empty.csv"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let r = run(
        d,
        &[
            "simulate",
            "--model",
            "capacity",
            "--spot-prices",
            "empty.csv",
        ],
    );
    assert_one_line(
        "capacity with prices",
        r,
        "--spot-prices replays a price history",
    );
}

#[test]
fn bad_config_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("empty.toml"), "").unwrap();
    std::fs::write(d.join("negative.toml"), "[spot]\nmin = -1\n").unwrap();
    for (name, needle) in [
        ("empty.toml", "instances.ami: not set"),
        ("negative.toml", "integer `-1`, expected u32"),
    ] {
        let r = run(d, &["validate", "--local", "--config", name]);
        assert_one_line(name, r, needle);
    }
}

#[test]
fn bad_on_demand_price_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("missing"), "instance_type,price\nc5.large\n").unwrap();
    std::fs::write(d.join("negative"), "instance_type,price\nc5.large,-0.1\n").unwrap();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/stack.toml");
    let hostile = mc_testkit::badinput::hostile_files(d);
    let cases = hostile
        .iter()
        .map(|(case, _)| *case)
        .filter(|c| *c != "empty")
        .chain(["missing", "negative"]);
    for case in cases {
        let needle = match case {
            "missing" => "missing:2: expected instance_type,price",
            "negative" => "\"-0.1\" is not a positive price",
            "huge-line" => "huge-line:1: ",
            _ => "did not contain valid UTF-8",
        };
        // Checked before any AWS call: no endpoint, region or credentials needed.
        let r = run(
            d,
            &["savings", "--config", config, "--on-demand-prices", case],
        );
        assert_one_line(case, r, needle);
    }
}
