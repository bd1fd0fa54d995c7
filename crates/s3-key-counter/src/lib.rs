//! Count the keys and bytes of huge S3 buckets fast, listing the key space in parallel.

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    0
}
