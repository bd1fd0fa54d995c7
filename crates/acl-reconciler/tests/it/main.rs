//! The integration tests of acl-reconciler, one binary (each former test file is a module).

mod audit;
mod bad_input;
mod cli;
mod closed_stdout;
mod in_flight;
mod ministack;
mod no_secrets;
