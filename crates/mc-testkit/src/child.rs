//! Child processes of the signal, crash and fault tests: signals, bounded
//! waits, their output, a replayable seed, and the slow-test gate.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// Sends `sig` (`TERM`, `INT`, `KILL`) to a process with the `kill` command
/// (the workspace denies `unsafe`, so no `libc::kill`).
pub fn send_signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
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
pub fn wait_exit(child: &mut Child, secs: u64) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return s,
            Ok(None) => {}
            Err(e) => panic!("cannot wait for the child: {e}"),
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within {secs}s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads everything left on a child's piped stdout and stderr (and prints
/// both, for the test's log).
pub fn outputs(child: &mut Child) -> (String, String) {
    use std::io::Read;
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
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
