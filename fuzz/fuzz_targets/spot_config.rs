#![no_main]

#[path = "../checks/spot_config.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
