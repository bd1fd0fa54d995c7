//! Shared pieces of the per-tool bad-input tests (issue 11): the hostile files
//! every file-reading option is fed, and the "exactly one clear line" check.

use std::path::{Path, PathBuf};
use std::process::Output;

/// Size of the "huge line" case: far above any line a tool should buffer whole.
pub const HUGE_LINE: usize = 10 << 20;

/// Writes the hostile inputs into `dir` and returns `(case, path)`: an empty
/// file, binary bytes (NULs, invalid UTF-8), a Latin-1 line, UTF-16 with a
/// BOM, and one 10 MB line without a newline.
pub fn hostile_files(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain("key-a\nkey-b\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let cases: [(&'static str, Vec<u8>); 5] = [
        ("empty", Vec::new()),
        ("binary", binary),
        ("latin1", b"caf\xe9\n".to_vec()),
        ("utf16", utf16),
        ("huge-line", vec![b'a'; HUGE_LINE]),
    ];
    cases
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            if let Err(e) = std::fs::write(&path, bytes) {
                panic!("mc-testkit: cannot write {}: {e}", path.display());
            }
            (name, path)
        })
        .collect()
}

/// Asserts that a run of `tool` failed with `code` and exactly one line on
/// stderr (`<tool>: error: ...`, short, no panic or backtrace) that contains
/// `needle`; returns that line.
pub fn assert_one_error_line(
    tool: &str,
    case: &str,
    out: &Output,
    code: i32,
    needle: &str,
) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(out.status.code(), Some(code), "{case}: {stderr}");
    assert_eq!(lines.len(), 1, "{case}: one line expected: {stderr}");
    let line = lines[0];
    assert!(
        line.starts_with(&format!("{tool}: error: ")),
        "{case}: {line}"
    );
    assert!(line.len() < 500, "{case}: line too long: {line}");
    assert!(line.contains(needle), "{case}: {needle:?} not in {line}");
    line.to_string()
}
