//! Child processes of the signal, crash and fault tests: signals, bounded
//! waits, their output, a replayable seed, and the slow-test gate.

use std::process::{Child, Command, ExitStatus, Output, Stdio};
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

/// A child's peak memory, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct PeakMemory {
    /// Resident set, the binary's own code pages included (about 40 MiB
    /// for a debug build of a tool).
    pub rss_kib: u64,
    /// Anonymous memory (heap, stacks, buffers): what the data can grow.
    /// Sampled every 5 ms, so a spike shorter than that can be missed.
    pub anon_kib: u64,
}

/// Runs `cmd` to the end like `Command::output`, and also gives the child's
/// peak memory (its own, not its children's).
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which std's `wait` cannot give the usage of
pub fn output_with_peak_memory(cmd: &mut Command) -> (Output, PeakMemory) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let anon = sample_peak_anon(child.id());
    let (status, rss_kib) = crate::sys::wait_with_peak_rss(child.id())
        .unwrap_or_else(|e| panic!("cannot wait for {cmd:?}: {e}"));
    let output = Output {
        status: ExitStatus::from_raw(status),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    let anon_kib = anon.join().unwrap_or(0);
    (output, PeakMemory { rss_kib, anon_kib })
}

/// The largest `RssAnon` of process `pid` seen until it is gone (its
/// `/proc` entry vanishes when it is reaped).
fn sample_peak_anon(pid: u32) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let path = format!("/proc/{pid}/status");
        let mut peak = 0;
        while let Ok(status) = std::fs::read_to_string(&path) {
            let anon = status
                .lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
            match anon {
                Some(kib) => peak = peak.max(kib),
                None => break, // a zombie: no memory left to see
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    })
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
