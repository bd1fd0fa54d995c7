//! The integration tests of mc-benchkit, one binary (each former test file is a module).

mod fauxqs;
mod proxy;
mod s3model;
