//! CloudFormation stacks that prefer spot instances and fall back to on-demand: template, deploy, status, savings, simulate.

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    0
}
