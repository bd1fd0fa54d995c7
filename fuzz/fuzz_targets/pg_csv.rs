#![no_main]

#[path = "../checks/pg_csv.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
