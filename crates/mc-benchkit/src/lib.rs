//! Dev-only bench and fault kit.
//!
//! * [`s3model`]: an in-memory S3-compatible performance model (sorted index, per-operation
//!   latency, per-prefix rate limits), also shipped as the `mc-s3-model` binary;
//! * [`proxy`]: an HTTP/1.1 latency and fault-injection reverse proxy for S3 and SQS;
//! * [`canned`]: canned answers for services no emulator implements (S3 Control jobs);
//! * [`fauxqs`]: launches the `fauxqs` SQS emulator bound to 127.0.0.1.
//!
//! Everything binds to 127.0.0.1 only.

pub mod canned;
pub mod fauxqs;
pub mod proxy;
pub mod s3model;
mod server;
