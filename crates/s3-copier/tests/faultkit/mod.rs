//! Helpers of the fault, signal and crash tests: signals, slow-test gate, child processes.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::Command;

/// Sends `sig` (`TERM`, `INT`, `KILL`) to a process with the `kill` command
/// (the workspace denies `unsafe`, so no `libc::kill`).
pub fn send_signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "kill -{sig} {pid} failed");
}

/// Whether slow tests run (`MC_TEST_SLOW=1`, set by `cargo xtask test --all`);
/// prints a note when they are skipped.
pub fn slow_tests(name: &str) -> bool {
    let on = std::env::var("MC_TEST_SLOW").is_ok_and(|v| !v.is_empty() && v != "0");
    if !on {
        eprintln!("{name}: skipped (slow test: set MC_TEST_SLOW=1 to run it)");
    }
    on
}

/// Waits for `child` to exit, at most `secs` seconds; kills it and fails otherwise.
pub fn wait_exit(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within {secs}s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Reads everything left on a child's piped stdout and stderr.
pub fn outputs(child: &mut std::process::Child) -> (String, String) {
    use std::io::Read;
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).unwrap();
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).unwrap();
    }
    eprintln!("--- stdout\n{out}--- stderr\n{err}---");
    (out, err)
}

/// A seed for a randomised test: `MC_TEST_SEED` when set (to replay a
/// failure), else the clock. Printed, so a failing run can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("MC_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{test}: seed {seed} (replay with MC_TEST_SEED={seed})");
    seed
}

/// The fault proxy of the bench kit in front of ministack: `slowdown` of the
/// S3 requests answered `503 SlowDown`, `reset` of them reset without answer.
pub fn fault_proxy(slowdown: f64, reset: f64, seed: u64) -> mc_benchkit::proxy::Proxy {
    use mc_benchkit::proxy::{Faults, Proxy, ProxyConfig};
    Proxy::start_blocking(ProxyConfig {
        upstream: mc_testkit::ministack().endpoint().to_string(),
        faults: Faults {
            slowdown,
            reset,
            ..Faults::default()
        },
        seed,
        ..ProxyConfig::default()
    })
    .unwrap()
}
