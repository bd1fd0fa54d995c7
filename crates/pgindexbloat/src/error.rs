//! The library's errors: each is one line for people and maps to an exit code.

use mc_aws_common::exit;

/// Everything that can stop a comparison, a dump or an estimate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file (or stdin) could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A line of an index-size list is wrong (malformed, bad number, duplicate, ...).
    #[error("{file}:{line}: {message}")]
    Input {
        file: String,
        line: u64,
        message: String,
    },
    /// The two sources are unusable together (e.g. both stdin).
    #[error("{0}")]
    Usage(String),
    /// Connecting to PostgreSQL failed.
    #[error("cannot connect to {target}: {message}")]
    Connect {
        target: String,
        message: String,
        code: i32,
    },
    /// A query failed after connecting.
    #[error("query on {target} failed: {message}")]
    Query {
        target: String,
        message: String,
        code: i32,
    },
    /// Writing the output failed.
    #[error("cannot write {what}: {source}")]
    Write {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code for this error (see [`mc_aws_common::exit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Read { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => exit::NOT_FOUND,
                std::io::ErrorKind::PermissionDenied => exit::AUTH,
                _ => exit::USAGE,
            },
            Error::Input { .. } | Error::Usage(_) => exit::USAGE,
            Error::Connect { code, .. } | Error::Query { code, .. } => *code,
            Error::Write { .. } => exit::SERVICE,
        }
    }

    pub(crate) fn input(file: &str, line: u64, message: impl Into<String>) -> Self {
        Error::Input {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// Library result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
