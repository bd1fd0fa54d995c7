//! `--save-state` from a cron run, `--from-state --max-age --check` from
//! Nagios (ministack for the count; the check makes no AWS call at all): the
//! file says what, when and how it counted; a stale, foreign or missing
//! file is UNKNOWN, never OK from old numbers.
#![allow(clippy::unwrap_used)]

use crate::common::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The counter pointed at nothing: a run that made an AWS call would fail.
fn offline() -> assert_cmd::Command {
    let mut c = counter();
    c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
    c
}

#[test]
fn a_cron_count_answers_the_check_at_once() {
    let rt = rt();
    let objects: Vec<(String, usize)> = (0..40).map(|i| (format!("k{i:03}"), 10)).collect();
    let src = rt.block_on(bucket_with("state-src", &objects));
    let dst = rt.block_on(bucket_with("state-dst", &objects[..30]));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("count.json");
    let state = state.to_str().unwrap();
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));

    // The cron job: the usual report, and the file.
    let out = counter()
        .args(["--save-state", state, &s, &d])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("has 10 fewer objects"));
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    assert_eq!(file["kind"], "s3-key-counter count");
    assert_eq!(file["counts"][0]["url"], format!("{s}/"));
    assert_eq!(file["counts"][0]["objects"], 40);
    assert_eq!(file["counts"][0]["bytes"], 400);
    assert_eq!(file["counts"][1]["objects"], 30);
    assert_eq!(file["counts"][0]["source"]["kind"], "listing");
    assert!(file["counts"][0]["counted_at"].is_string(), "{file}");

    // The checks: no URL needed, no AWS call made.
    let check = |args: &[&str]| {
        let out = offline()
            .args(["--from-state", state, "--max-age", "1h"])
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout))
    };
    let (code, line) = check(&["--check", "objects", "--warning", "30", "--critical", "100"]);
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.starts_with(&format!(
            "S3KEYS WARNING - {s}/ 40 objects, 400 B (WARNING); "
        )),
        "{line}"
    );
    assert!(
        line.contains("; counted ") && line.contains(" ago by listing in "),
        "{line}"
    );
    assert!(line.contains("'age'="), "{line}");
    assert!(!line.contains("'time'="), "{line}");
    let (code, line) = check(&[
        "--check",
        "diff-objects",
        "--warning",
        "5",
        "--critical",
        "20",
    ]);
    assert_eq!(code, Some(1), "{line}");
    assert!(line.contains("'diff_objects'=10;5;20"), "{line}");
    let (code, line) = check(&["--check", "objects", "--critical", "1:", &s, &d]);
    assert_eq!(code, Some(0), "the URLs match: {line}");
    let (code, line) = check(&["--check", "objects", &d]);
    assert_eq!(code, Some(3), "{line}");
    assert!(line.contains("the command line names"), "{line}");
    // Without --check: the saved numbers, with their age.
    let (code, out) = check(&["-o", "json"]);
    assert_eq!(code, Some(0), "{out}");
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["kind"].as_str(), first["objects"].as_u64()),
        (Some("count"), Some(40))
    );
    assert!(first["age_seconds"].is_u64(), "{first}");
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["objects"].as_i64()),
        (Some("difference"), Some(10))
    );

    // Nobody refreshed it (here: counted in 2020): UNKNOWN, or exit 2.
    let mut old = file.clone();
    old["counts"][0]["counted_at"] = "2020-01-01T00:00:00Z".into();
    std::fs::write(state, old.to_string()).unwrap();
    let (code, line) = check(&["--check", "objects"]);
    assert_eq!(code, Some(3), "{line}");
    assert!(line.starts_with("S3KEYS UNKNOWN - --from-state "), "{line}");
    assert!(
        line.contains("old, more than --max-age 1h 0m; is the cron job (--save-state) running?"),
        "{line}"
    );
    let out = offline()
        .args(["--from-state", state, "--max-age", "1h"])
        .output()
        .unwrap();
    mc_testkit::badinput::assert_one_error_line(
        "s3-key-counter",
        "stale",
        &out,
        2,
        "more than --max-age",
    );
}

#[test]
fn missing_hostile_and_unsaved_state_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.json");
    let missing = missing.to_str().unwrap();
    let out = offline()
        .args([
            "--from-state",
            missing,
            "--max-age",
            "1h",
            "--check",
            "objects",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out.stdout),
        format!("S3KEYS UNKNOWN - {missing}: no such file or directory\n")
    );
    let out = offline()
        .args(["--from-state", missing, "--max-age", "1h"])
        .output()
        .unwrap();
    mc_testkit::badinput::assert_one_error_line(
        "s3-key-counter",
        "missing",
        &out,
        3,
        "no such file",
    );
    for (case, path) in mc_testkit::badinput::hostile_files(dir.path()) {
        let out = offline()
            .args(["--from-state", path.to_str().unwrap(), "--max-age", "1h"])
            .output()
            .unwrap();
        mc_testkit::badinput::assert_one_error_line(
            "s3-key-counter",
            case,
            &out,
            2,
            "not a state file",
        );
    }
    // A count of one URL cannot answer a diff check.
    let rt = rt();
    let one = rt.block_on(bucket_with("state-one", &[("k".to_string(), 1)]));
    let single = dir.path().join("single.json");
    let single = single.to_str().unwrap();
    let out = counter()
        .args(["--save-state", single, &format!("s3://{one}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = offline()
        .args([
            "--from-state",
            single,
            "--max-age",
            "1h",
            "--check",
            "diff-objects",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stdout).contains("needs a count of two or more URLs"),
        "{}",
        text(&out.stdout)
    );
    // A count that fails saves nothing.
    let state = dir.path().join("count.json");
    let out = counter()
        .args([
            "--save-state",
            state.to_str().unwrap(),
            "s3://no-such-bucket-s3kc-state",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(!state.exists());
}
