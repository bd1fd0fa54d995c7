//! SIGINT / SIGTERM handling, shared with the other tools: see
//! [`mc_aws_common::interrupt`].

pub use mc_aws_common::interrupt::*;
