//! No credential, session token or request signature ever reaches stdout or
//! stderr, at any verbosity: the real binary runs against ministack with
//! recognisable fake credentials, once with `-vvv` and once with
//! `RUST_LOG=trace`, and both streams are searched for them.
//!
//! The access key id is treated as secret too (AWS calls it non-secret, but it
//! names the key pair and many teams keep it out of logs), so it must not
//! appear either; `mc_aws_common::logging::init` keeps the SDK's signing and
//! wire-level targets below trace so none of them can.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

const ACCESS_KEY_ID: &str = "AKIAFAKEDONOTPRINT";
const SECRET_ACCESS_KEY: &str = "SeCrEtKeY-do-not-print-0123456789";
const SESSION_TOKEN: &str = "SeSsIoNtOkEn-do-not-print-9876543210abcdefSESSION";

/// The tool with the emulator's environment and the fake secrets above.
fn tool(verbose: bool) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("s3-key-counter"));
    mc_testkit::ministack().apply_env(&mut cmd);
    cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    if verbose {
        cmd.arg("-vvv");
    } else {
        cmd.env("RUST_LOG", "trace");
    }
    cmd
}

/// Fails if either stream holds a credential, a token or a signature.
fn assert_no_secrets(what: &str, out: &Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let lower = text.to_ascii_lowercase();
        for secret in [ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN] {
            assert!(
                !text.contains(secret),
                "{what}: {stream} leaks `{secret}`:\n{}",
                line_with(&text, secret)
            );
        }
        // A header or query parameter may be named, never given a value.
        for marker in [
            "x-amz-signature=",
            "x-amz-security-token:",
            "x-amz-security-token=",
        ] {
            for (i, _) in lower.match_indices(marker) {
                let value = lower[i + marker.len()..].trim_start();
                assert!(
                    value.is_empty() || value.starts_with("**") || value.starts_with(';'),
                    "{what}: {stream} gives `{marker}` a value:\n{}",
                    line_with(&lower, marker)
                );
            }
        }
        // `Signature=<64 hex>`: an Authorization header or a presigned URL.
        for (i, _) in text.match_indices("Signature=") {
            let sig: String = text[i + "Signature=".len()..].chars().take(64).collect();
            assert!(
                sig.len() < 64 || !sig.chars().all(|c| c.is_ascii_hexdigit()),
                "{what}: {stream} leaks a request signature"
            );
        }
    }
}

/// The first line of `text` holding `needle`, to show what leaked.
fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_default()
}

/// The tool's output, checked at both verbosities; the `-vvv` run is returned.
fn run_checked(args: &[&str]) -> Output {
    let mut first = None;
    for verbose in [true, false] {
        let out = tool(verbose).args(args).output().unwrap();
        let what = format!(
            "s3-key-counter {} ({})",
            args.join(" "),
            if verbose { "-vvv" } else { "RUST_LOG=trace" }
        );
        assert!(
            out.status.success(),
            "{what}: exit {:?}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        // The run must really have logged at trace level, or the test proves nothing.
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("TRACE"),
            "{what}: no trace output"
        );
        assert_no_secrets(&what, &out);
        first.get_or_insert(out);
    }
    first.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counting_a_bucket_prints_no_secret_at_any_verbosity() {
    let emu = mc_testkit::ministack();
    let s3 = emu.s3().await;
    let bucket = mc_testkit::unique_name("nosecrets");
    mc_testkit::create_bucket(&s3, &bucket).await;
    mc_testkit::put_objects(
        &s3,
        &bucket,
        (0..50).map(|i| (format!("k/{i:03}"), b"x".to_vec())),
    )
    .await;
    let url = format!("s3://{bucket}");
    let out = tokio::task::spawn_blocking(move || run_checked(&["-o", "json", &url]))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"objects\":50"), "{stdout}");
}
