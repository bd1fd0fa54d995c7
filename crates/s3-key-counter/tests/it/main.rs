//! The integration tests of s3-key-counter, one binary (each former test file is a module).

mod bad_input;
mod closed_stdout;
mod common;
mod compare;
mod count;
mod faults;
mod in_flight;
mod inventory;
mod no_secrets;
mod signals;
mod state;
mod versions;
