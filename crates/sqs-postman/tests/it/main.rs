//! sqs-postman's integration tests, one binary: the command line without any
//! endpoint, the real binary against the emulators, no secrets in any output,
//! and the fuzz corpora replayed.
#![allow(clippy::unwrap_used)]

mod cli;
mod emulator;
mod fuzz_regressions;
mod no_secrets;
mod seed;
