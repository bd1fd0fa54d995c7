//! No credential, session token or request signature ever reaches stdout or
//! stderr, at any verbosity: the real binary runs against the emulator with
//! recognisable fake credentials (and a session token), once with `-vvv` and
//! once with `RUST_LOG=trace`, and both streams are searched for them.
//!
//! The access key id must not appear either: AWS calls it non-secret, but it
//! names the key pair and many teams keep it out of logs. The SDK already
//! hides the secret key, the token and the `Authorization` header; the key id
//! (which it prints in its credential debug lines) is masked by
//! `mc_aws_common::logging`, which redacts every log line.
//!
//! The helpers below are the same in every tool's `tests/no_secrets.rs`.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

const BIN: &str = "sqs-postman";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_and_stats_print_no_secret_at_any_verbosity() {
    let emu = mc_testkit::ministack();
    let name = mc_testkit::unique_name("nosec");
    mc_testkit::create_queue(&emu.sqs().await, &name).await;
    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("message.json");
    std::fs::write(&tpl, r#"{"id":"%unique%","n":%seq%}"#).unwrap();
    let outs = tokio::task::spawn_blocking(move || {
        let tpl = tpl.to_str().unwrap();
        let sent = run_checked(
            emu,
            &["message", &name, "-m", tpl, "-t", "25", "-o", "json"],
        );
        let stats = run_checked(emu, &["stats", &name, "-o", "json"]);
        (sent, stats)
    })
    .await
    .unwrap();
    for out in outs.0.iter().chain(&outs.1) {
        assert!(out.status.success(), "{}", stderr(out));
    }
    // Both sends delivered: the queue holds 2 x 25.
    assert!(
        stdout(&outs.1[1]).contains("\"visible\":50"),
        "{}",
        stdout(&outs.1[1])
    );
}

const ACCESS_KEY_ID: &str = "AKIAFAKEDONOTPRINT";
const SECRET_ACCESS_KEY: &str = "SeCrEtKeY-do-not-print-0123456789";
const SESSION_TOKEN: &str = "SeSsIoNtOkEn-do-not-print-9876543210abcdefSESSION";

/// The tool with the emulator's environment, the fake credentials above and
/// the most logging one way or the other: `-vvv`, or `RUST_LOG=trace`.
fn tool(emu: &mc_testkit::Emulator, verbose: bool) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin(BIN));
    emu.apply_env(&mut cmd);
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

/// Runs `args` at `-vvv` and at `RUST_LOG=trace` and checks that neither
/// stream of either run holds a credential, a token or a signature, and that
/// both really logged. Returns the two outputs (`-vvv` first) for the caller
/// to check the command did its job.
fn run_checked(emu: &mc_testkit::Emulator, args: &[&str]) -> [Output; 2] {
    [true, false].map(|verbose| {
        let out = tool(emu, verbose).args(args).output().unwrap();
        let what = format!(
            "{BIN} {} ({})",
            args.join(" "),
            if verbose { "-vvv" } else { "RUST_LOG=trace" }
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Without the SDK's debug lines the test would prove nothing.
        assert!(
            stderr.contains(" DEBUG ") || stderr.contains(" TRACE "),
            "{what}: nothing logged:\n{stderr}"
        );
        assert_no_secrets(&what, &out);
        out
    })
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
                "{what}: {stream} leaks a request signature:\n{}",
                line_with(&text, &sig)
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

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
