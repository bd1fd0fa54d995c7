//! Replays the fuzz corpora (`fuzz/corpus/<target>/`, plus any crash in
//! `fuzz/artifacts/<target>/`) through the same checks the fuzz targets run
//! (`fuzz/checks/<target>.rs`), without libFuzzer: `cargo test` keeps every
//! input the fuzzer ever kept passing (`mc_testkit::fuzz::replay`). See
//! `cargo xtask fuzz`.

#[path = "../../../../fuzz/checks/sim_csv.rs"]
mod sim_csv;
#[path = "../../../../fuzz/checks/spot_config.rs"]
mod spot_config;
#[path = "../../../../fuzz/checks/spot_prices.rs"]
mod spot_prices;

#[test]
fn spot_config() {
    mc_testkit::fuzz::replay("spot_config", spot_config::check);
}

#[test]
fn sim_csv() {
    mc_testkit::fuzz::replay("sim_csv", sim_csv::check);
}

#[test]
fn spot_prices() {
    mc_testkit::fuzz::replay("spot_prices", spot_prices::check);
}
