#![no_main]

#[path = "../checks/lambda_payload.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
