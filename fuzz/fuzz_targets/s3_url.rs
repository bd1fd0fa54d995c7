#![no_main]

#[path = "../checks/s3_url.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
