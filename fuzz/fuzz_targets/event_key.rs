#![no_main]

#[path = "../checks/event_key.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
