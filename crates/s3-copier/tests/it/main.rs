//! The integration tests of s3-copier, one binary (each former test file is a module).

mod bad_input;
mod batch;
mod cli;
mod closed_stdout;
mod common;
mod faults;
mod filters;
mod fleet;
mod fuzz_regressions;
mod in_flight;
mod inventory;
mod lag;
mod live;
mod no_secrets;
mod notifications;
mod resume_verify;
mod signals;
mod sse;
mod sync;
mod worker_crash;
