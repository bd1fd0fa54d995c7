//! The library's errors: each is one line for people and maps to an exit code.

use mc_aws_common::exit;
use mc_aws_common::startup::Failure;

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
    /// Writing the output (a file, or stdout) failed.
    #[error("cannot write {what}: {source}")]
    Write {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code for this error (see [`mc_aws_common::exit`]):
    /// a local file is not found (3) or unusable (2, permission denied
    /// included); PostgreSQL's codes were chosen by SQLSTATE when the error
    /// was made.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Read { source, .. } | Error::Write { source, .. } => exit::of_local_file(source),
            Error::Input { .. } | Error::Usage(_) => exit::USAGE,
            Error::Connect { code, .. } | Error::Query { code, .. } => *code,
        }
    }

    pub(crate) fn input(file: &str, line: u64, message: impl Into<String>) -> Self {
        Error::Input {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }

    /// Writing to stdout failed (a closed pipe ends the run quietly: see
    /// [`crate::stdout`]).
    pub(crate) fn stdout(source: std::io::Error) -> Self {
        Error::Write {
            what: "stdout".into(),
            source,
        }
    }
}

impl Failure for Error {
    fn exit_code(&self) -> i32 {
        Error::exit_code(self)
    }
}

/// Library result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;

    use super::*;

    #[test]
    fn local_files_are_bad_input_or_not_found() {
        let read = |kind: ErrorKind| Error::Read {
            path: "a.csv".into(),
            source: kind.into(),
        };
        assert_eq!(read(ErrorKind::NotFound).exit_code(), 3);
        assert_eq!(read(ErrorKind::PermissionDenied).exit_code(), 2);
        assert_eq!(read(ErrorKind::IsADirectory).exit_code(), 2);
        let write = Error::Write {
            what: "out.csv".into(),
            source: ErrorKind::PermissionDenied.into(),
        };
        assert_eq!(write.exit_code(), 2);
    }
}
