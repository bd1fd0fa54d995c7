//! Send thousands to millions of SQS messages fast, in batches from many concurrent producers.

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    0
}
