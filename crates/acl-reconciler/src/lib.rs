//! Find and fix object-ACL drift between two S3 buckets.

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    0
}
