//! Replays the fuzz corpora (`fuzz/corpus/<target>/`, plus any crash in
//! `fuzz/artifacts/<target>/`) through the same checks the fuzz targets run
//! (`fuzz/checks/<target>.rs`), without libFuzzer: `cargo test` keeps every
//! input the fuzzer ever kept passing (`mc_testkit::fuzz::replay`). See
//! `cargo xtask fuzz`.

#[path = "../../../../fuzz/checks/batch_files.rs"]
mod batch_files;
#[path = "../../../../fuzz/checks/lambda_payload.rs"]
mod lambda_payload;
#[path = "../../../../fuzz/checks/s3_event.rs"]
mod s3_event;

#[test]
fn s3_event() {
    mc_testkit::fuzz::replay("s3_event", s3_event::check);
}

#[test]
fn lambda_payload() {
    mc_testkit::fuzz::replay("lambda_payload", lambda_payload::check);
}

#[test]
fn batch_files() {
    mc_testkit::fuzz::replay("batch_files", batch_files::check);
}
