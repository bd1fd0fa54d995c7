//! The tool's errors: one line each, with a documented exit code.

use std::path::Path;

use mc_aws_common::error::ToolError;
use mc_aws_common::exit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Aws(#[from] ToolError),
    /// Bad input: a state file of another run, an unreadable key file.
    #[error("{0}")]
    Usage(String),
    /// The buckets' configuration makes reconciling ACLs impossible.
    #[error("{0}")]
    Unsupported(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

impl Error {
    pub fn io(path: &Path, err: std::io::Error) -> Self {
        let message = match err.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => err.to_string(),
        };
        Error::Io {
            path: path.display().to_string(),
            message,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Aws(e) => e.exit_code(),
            Error::Usage(_) => exit::USAGE,
            Error::Unsupported(_) => exit::UNSUPPORTED,
            Error::Io { message, .. } if message == "no such file or directory" => exit::NOT_FOUND,
            Error::Io { .. } => exit::USAGE,
        }
    }
}
