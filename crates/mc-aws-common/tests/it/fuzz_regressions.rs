//! Replays the fuzz corpora of this crate's parsers (`fuzz/corpus/<target>/`,
//! plus any crash in `fuzz/artifacts/<target>/`) through the same checks the
//! fuzz targets run (`fuzz/checks/<target>.rs`), without libFuzzer
//! (`mc_testkit::fuzz::replay`). See `cargo xtask fuzz`.

#[path = "../../../../fuzz/checks/event_key.rs"]
mod event_key;
#[path = "../../../../fuzz/checks/list_xml.rs"]
mod list_xml;
#[path = "../../../../fuzz/checks/s3_url.rs"]
mod s3_url;
#[path = "../../../../fuzz/checks/splits.rs"]
mod splits;

#[test]
fn event_key() {
    mc_testkit::fuzz::replay("event_key", event_key::check);
}

#[test]
fn list_xml() {
    mc_testkit::fuzz::replay("list_xml", list_xml::check);
}

#[test]
fn s3_url() {
    mc_testkit::fuzz::replay("s3_url", s3_url::check);
}

#[test]
fn splits() {
    mc_testkit::fuzz::replay("splits", splits::check);
}
