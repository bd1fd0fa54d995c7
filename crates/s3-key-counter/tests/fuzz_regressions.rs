//! Replays the fuzz corpora (`fuzz/corpus/<target>/`, plus any crash in
//! `fuzz/artifacts/<target>/`) through the same checks the fuzz targets run
//! (`fuzz/checks/<target>.rs`), without libFuzzer: `cargo test` keeps every
//! input the fuzzer ever kept passing (`mc_testkit::fuzz::replay`). See
//! `cargo xtask fuzz`.

#[path = "../../../fuzz/checks/splits.rs"]
mod splits;

#[path = "../../../fuzz/checks/list_xml.rs"]
mod list_xml;

#[test]
fn splits() {
    mc_testkit::fuzz::replay("splits", splits::check);
}

#[test]
fn list_xml() {
    mc_testkit::fuzz::replay("list_xml", list_xml::check);
}
