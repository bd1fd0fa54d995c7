//! No credentials in any output: run a tool binary with recognisable fake
//! credentials and a session token at `-vvv` and at `RUST_LOG=trace`, and
//! check neither stream carries a credential, a token or a signature.

use std::path::Path;
use std::process::{Command, Output};

use crate::Emulator;

pub const ACCESS_KEY_ID: &str = "AKIAFAKEDONOTPRINT";
pub const SECRET_ACCESS_KEY: &str = "SeCrEtKeY-do-not-print-0123456789";
pub const SESSION_TOKEN: &str = "SeSsIoNtOkEn-do-not-print-9876543210abcdefSESSION";

/// The tool with the emulator's environment, the fake credentials above and
/// the most logging one way or the other: `-vvv`, or `RUST_LOG=trace`.
fn tool(bin: &Path, emu: &Emulator, verbose: bool) -> Command {
    let mut cmd = Command::new(bin);
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
pub fn run_checked(bin: &Path, emu: &Emulator, args: &[&str]) -> [Output; 2] {
    run_checked_env(bin, emu, args, &[])
}

/// [`run_checked`] with more environment variables (an endpoint the
/// emulator does not serve, such as a canned server's).
pub fn run_checked_env(
    bin: &Path,
    emu: &Emulator,
    args: &[&str],
    env: &[(&str, &str)],
) -> [Output; 2] {
    [true, false].map(|verbose| {
        let out = tool(bin, emu, verbose)
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let what = format!(
            "{} {} ({})",
            bin.display(),
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
pub fn assert_no_secrets(what: &str, out: &Output) {
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
