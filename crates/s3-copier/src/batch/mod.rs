//! `batch`.
