//! The tool's errors: one line each, with a documented exit code.

use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::startup::Failure;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS failure, bad input (a state file of another run), or a local
    /// file that cannot be read.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// The buckets' configuration makes reconciling ACLs impossible.
    #[error("{0}")]
    Unsupported(String),
}

impl Failure for Error {
    fn exit_code(&self) -> i32 {
        match self {
            Error::Tool(e) => e.exit_code(),
            Error::Unsupported(_) => exit::UNSUPPORTED,
        }
    }
}
