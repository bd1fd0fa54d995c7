//! Dev-only test kit: real AWS emulators (ministack, moto) and throwaway
//! PostgreSQL clusters on free 127.0.0.1 ports, started once per test process
//! and stopped when it exits.
//!
//! ```no_run
//! let emu = mc_testkit::ministack();
//! let mut cmd = std::process::Command::new("s3-key-counter");
//! emu.apply_env(&mut cmd);
//!
//! let pg = mc_testkit::postgres();
//! pg.create_db("bloat");
//! assert_eq!(pg.psql("bloat", "select 1").trim(), "1");
//! ```

pub mod badinput;
pub mod child;
pub mod cli;
pub mod emulator;
pub mod fuzz;
pub mod inventory;
pub mod postgres;
pub mod secrets;

#[cfg(feature = "aws")]
pub mod aws;
mod process;
#[cfg(feature = "aws")]
pub mod signing;
mod sys;

/// The SDK crates the kit's clients come from, for tests that need their types.
#[cfg(feature = "aws")]
pub use {aws_config, aws_sdk_s3, aws_sdk_sqs};

#[cfg(feature = "aws")]
pub use aws::{
    awkward_keys, create_bucket, create_bucket_in_region, create_bucket_with_acls, create_queue,
    enable_versioning, get_object_acl, list_all_keys, put_object_with_acl, put_objects, queue_arn,
};
pub use emulator::{
    ministack, ministack_auth, moto, unique_name, workspace_root, Emulator, EmulatorKind,
};
pub use postgres::{postgres, start_private, start_tls, PgCluster, ServerTls};
