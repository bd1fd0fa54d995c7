//! Running a tool's binary in tests: where it is, its output as text, a
//! reader that closes the pipe after the first line (`tool | head -1`), and a
//! run whose stdout is closed before it writes anything.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};

/// The path of binary `name` of the crate under test (as Cargo lays out
/// `target/<profile>/`: the test binary lives in its `deps/`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no current exe: {e}"));
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap_or_else(|| panic!("unexpected test binary path {}", exe.display()));
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What became of a run whose stdout was closed after its first line.
#[derive(Debug)]
pub struct ClosedPipe {
    pub first_line: String,
    pub status: ExitStatus,
    pub stderr: String,
}

/// Runs `cmd`, reads the first line of its stdout and closes the pipe, as
/// `cmd | head -1` does, then waits for it to end.
pub fn first_line_then_close(cmd: &mut Command) -> ClosedPipe {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut first_line = String::new();
    let mut reader = BufReader::new(stdout);
    let _ = reader.read_line(&mut first_line);
    drop(reader);
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("cannot wait for {cmd:?}: {e}"));
    ClosedPipe {
        first_line,
        status: out.status,
        stderr: stderr(&out),
    }
}

/// Runs `cmd` with its stdout a pipe whose reading end is closed before the
/// tool writes anything (as `tool | true` can leave it), then waits for it:
/// the first write the tool makes finds the pipe closed. Its stdout in the
/// result is empty.
pub fn run_with_stdout_closed(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    drop(child.stdout.take());
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("cannot wait for {cmd:?}: {e}"))
}
