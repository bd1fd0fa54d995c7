//! Replays the fuzz corpora (`fuzz/corpus/<target>/`, plus any crash in
//! `fuzz/artifacts/<target>/`) through the same checks the fuzz targets run
//! (`fuzz/checks/<target>.rs`), without libFuzzer: `cargo test` keeps every
//! input the fuzzer ever kept passing (`mc_testkit::fuzz::replay`). See
//! `cargo xtask fuzz`.

#[path = "../../../../fuzz/checks/postman_lines.rs"]
mod postman_lines;
#[path = "../../../../fuzz/checks/postman_template.rs"]
mod postman_template;

#[test]
fn postman_template() {
    mc_testkit::fuzz::replay("postman_template", postman_template::check);
}

#[test]
fn postman_lines() {
    mc_testkit::fuzz::replay("postman_lines", postman_lines::check);
}
