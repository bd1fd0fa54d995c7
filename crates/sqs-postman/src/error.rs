//! The tool's errors: one line each, with a documented exit code.

use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::startup::Failure;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS call failed (credentials, missing queue, service).
    #[error(transparent)]
    Aws(#[from] ToolError),
    /// The message source cannot be read.
    #[error("{what}: {source}")]
    Read {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Bad input: invalid JSON, an oversized message, conflicting flags.
    #[error("{0}")]
    Input(String),
}

impl Failure for Error {
    /// The documented exit code (see `--help`).
    fn exit_code(&self) -> i32 {
        match self {
            Error::Aws(e) => e.exit_code(),
            Error::Read { source, .. } => exit::of_local_file(source),
            Error::Input(_) => exit::USAGE,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
