//! pgindexbloat's integration tests, one binary: the real `pgindexbloat`
//! binary on CSV files and on a throwaway PostgreSQL cluster (mc-testkit).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod bad_inputs;
mod cli;
mod fuzz_regressions;
mod postgres;
mod tls;
