//! The integration tests of mc-testkit, one binary (each former test file is a module).

mod cleanup;
mod emulators;
mod postgres;
