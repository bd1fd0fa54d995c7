//! Replays a fuzz target's corpus (`fuzz/corpus/<target>/`, plus any crash in
//! `fuzz/artifacts/<target>/`) through the check the target runs
//! (`fuzz/checks/<target>.rs`), without libFuzzer: each tool crate's
//! `tests/fuzz_regressions.rs` keeps every input the fuzzer ever kept passing.

use std::path::PathBuf;

/// Runs `check` on every file of the target's corpus and artifacts; panics
/// naming each input that panicked.
pub fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut inputs = Vec::new();
    for dir in ["corpus", "artifacts"] {
        if let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) {
            inputs.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()));
        }
    }
    inputs.sort();
    assert!(!inputs.is_empty(), "no corpus for fuzz target {target}");
    let failed: Vec<String> = inputs
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap_or_default();
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: inputs that panic: {failed:#?}"
    );
}
