//! Shared core of the mc ops toolkit.
//!
//! Without the `aws` feature this crate is just the toolkit's output and
//! exit-code conventions ([`output`], [`nagios`], [`exit`], [`logging`]), so a
//! tool like `pgindexbloat` can share them without compiling the AWS SDK.
//!
//! With `aws` (the default) it adds what every AWS tool stands on: the shared
//! CLI arguments and SDK configuration ([`cli`], [`config`]), retry and
//! adaptive throttling ([`retry`]), `s3://` URLs and key encodings
//! ([`s3url`], [`keys`]), error classification ([`error`]), and the parallel
//! key-space lister ([`listing`]).

pub mod calendar;
pub mod exit;
pub mod logging;
pub mod nagios;
pub mod output;
pub mod startup;
pub mod units;

#[cfg(feature = "aws")]
pub mod acl;
#[cfg(feature = "aws")]
pub mod checkpoint;
#[cfg(feature = "aws")]
pub mod cli;
#[cfg(feature = "aws")]
pub mod config;
#[cfg(feature = "aws")]
pub mod error;
#[cfg(feature = "aws")]
pub mod interrupt;
#[cfg(feature = "inventory")]
pub mod inventory;
#[cfg(feature = "aws")]
pub mod keyfile;
#[cfg(feature = "aws")]
pub mod keyfilter;
#[cfg(feature = "aws")]
pub mod keys;
#[cfg(feature = "aws")]
pub mod lean;
#[cfg(feature = "aws")]
pub mod listing;
#[cfg(feature = "aws")]
pub mod profiles;
#[cfg(feature = "aws")]
pub mod retry;
#[cfg(feature = "aws")]
pub mod s3url;
#[cfg(feature = "aws")]
pub mod statefile;
#[cfg(feature = "aws")]
pub mod twosided;
