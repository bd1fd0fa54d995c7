//! Everything that can stop a command, with its exit code.

use std::io;
use std::path::Path;

use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::startup::Failure;

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: config, CSV, flags, broken invariants.
    #[error("{0}")]
    Invalid(String),
    /// A stack or file named on the command line does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A local file that cannot be read or written: not found is 3, anything
    /// else bad input (2).
    #[error("{what}: {source}")]
    LocalFile { what: String, source: io::Error },
    /// The stack operation ran and failed (rolled back).
    #[error("{0}")]
    Failed(String),
    /// SIGINT/SIGTERM (or a closed stdout) stopped a deploy or delete.
    #[error("{0}")]
    Interrupted(String),
    #[error(transparent)]
    Aws(#[from] ToolError),
    /// Writing stdout failed (a closed pipe is handled by the one `main`).
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl Error {
    /// A local file at `path` that could not be read or written.
    pub fn local_file(path: &Path, source: io::Error) -> Self {
        Error::LocalFile {
            what: path.display().to_string(),
            source,
        }
    }
}

impl Failure for Error {
    fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) => exit::USAGE,
            Error::NotFound(_) => exit::NOT_FOUND,
            Error::LocalFile { source, .. } => exit::of_local_file(source),
            Error::Failed(_) => exit::PARTIAL_FAILURE,
            Error::Interrupted(_) => exit::INTERRUPTED,
            Error::Aws(e) => e.exit_code(),
            Error::Io(_) => exit::SERVICE,
        }
    }
}
