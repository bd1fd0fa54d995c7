//! Replays the fuzz corpora (`fuzz/corpus/<target>/`, plus any crash in
//! `fuzz/artifacts/<target>/`) through the same checks the fuzz targets run
//! (`fuzz/checks/<target>.rs`), without libFuzzer: `cargo test` keeps every
//! input the fuzzer ever kept passing (`mc_testkit::fuzz::replay`). See
//! `cargo xtask fuzz`.

#[path = "../../../../fuzz/checks/pg_csv.rs"]
mod pg_csv;

#[test]
fn pg_csv() {
    mc_testkit::fuzz::replay("pg_csv", pg_csv::check);
}
