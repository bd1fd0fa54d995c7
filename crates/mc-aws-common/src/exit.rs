//! Exit codes shared by every tool, so scripts and monitoring can rely on them.
//!
//! Nagios mode uses its own codes (see [`crate::nagios::Status`]): 0 OK,
//! 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

/// Everything done, nothing failed.
pub const SUCCESS: i32 = 0;
/// The run finished but some items failed (details in the report).
pub const PARTIAL_FAILURE: i32 = 1;
/// Bad command line or unreadable / invalid input (clap also uses 2).
pub const USAGE: i32 = 2;
/// A resource named on the command line does not exist (bucket, queue, file, database).
pub const NOT_FOUND: i32 = 3;
/// Missing or invalid credentials, or access denied.
pub const AUTH: i32 = 4;
/// The operation is impossible with the resource's configuration
/// (for example ACLs disabled by Object Ownership = BucketOwnerEnforced).
pub const UNSUPPORTED: i32 = 5;
/// Network or service failure that retries could not overcome.
pub const SERVICE: i32 = 6;
/// Interrupted by SIGINT/SIGTERM; state (if any) was saved.
pub const INTERRUPTED: i32 = 130;

/// The exit code for a local file (or stdin) that cannot be read or
/// written: not found is [`NOT_FOUND`]; anything else, unreadable or denied
/// included, is bad input ([`USAGE`]). Only AWS's and PostgreSQL's refusals
/// are [`AUTH`].
pub fn of_local_file(e: &std::io::Error) -> i32 {
    match e.kind() {
        std::io::ErrorKind::NotFound => NOT_FOUND,
        _ => USAGE,
    }
}

/// The exit-code table for `--help` texts (`after_long_help`).
pub const HELP_TABLE: &str = "\
Exit codes:
  0    success
  1    finished, but some items failed (see the report)
  2    bad usage or invalid input
  3    bucket, queue, file or database not found
  4    missing credentials or access denied
  5    not possible with the resource's configuration (e.g. ACLs disabled)
  6    service or network failure after retries
  130  interrupted (state saved where the tool has one)";
