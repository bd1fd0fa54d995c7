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
