//! spot-stack's integration tests, one binary: the real `spot-stack` binary
//! (templates, validation, bad inputs, the simulator) and, against the
//! emulators (mc-testkit's ministack and moto), deploy, status and savings.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod bad_inputs;
mod cli;
mod emulators;
mod fuzz_regressions;
mod no_secrets;
mod sample_data;
mod simulate_props;
mod templates;
