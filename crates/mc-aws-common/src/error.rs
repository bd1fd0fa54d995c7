//! Turning AWS SDK errors into one clear line and a documented exit code.

use std::error::Error as StdError;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use crate::exit;

/// What went wrong, in the terms a user acts on. `what` names the resource
/// ("bucket my-bucket", "queue jobs").
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("no AWS credentials found (set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws sso login`)")]
    NoCredentials,
    #[error("profile {profile}: not found in {files} (check --profile / AWS_PROFILE)")]
    UnknownProfile { profile: String, files: String },
    #[error(
        "{what}: credentials rejected ({code}): check the profile, or refresh an expired session"
    )]
    BadCredentials { what: String, code: String },
    #[error("{what}: access denied ({code}){hint}")]
    AccessDenied {
        what: String,
        code: String,
        hint: String,
    },
    #[error("{what}: does not exist ({code})")]
    NotFound { what: String, code: String },
    #[error("{what}: ACLs are disabled (Object Ownership is BucketOwnerEnforced): object ACLs cannot be read or set; use a bucket policy, or --acl skip")]
    AclsDisabled { what: String },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    /// A local file (or stdin) that cannot be read or written.
    #[error("{path}: {}", crate::error::io_message(source))]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("{what}: service unavailable after retries: {message}")]
    Service { what: String, message: String },
    #[error("{0}")]
    Other(String),
}

impl ToolError {
    /// The documented exit code for this error (see [`crate::exit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            ToolError::NoCredentials
            | ToolError::UnknownProfile { .. }
            | ToolError::BadCredentials { .. }
            | ToolError::AccessDenied { .. } => exit::AUTH,
            ToolError::NotFound { .. } => exit::NOT_FOUND,
            ToolError::AclsDisabled { .. } => exit::UNSUPPORTED,
            ToolError::Invalid { .. } => exit::USAGE,
            ToolError::File { source, .. } => exit::of_local_file(source),
            ToolError::Service { .. } | ToolError::Other(_) => exit::SERVICE,
        }
    }
}

impl ToolError {
    /// A local file that cannot be read or written.
    pub fn file(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        ToolError::File {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// An I/O error as people read it: "no such file or directory", not
/// "No such file or directory (os error 2)".
pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}

impl crate::startup::Failure for ToolError {
    fn exit_code(&self) -> i32 {
        ToolError::exit_code(self)
    }
}

/// How a failed request should be handled by [`crate::retry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The service asks us to slow down: back off and lower concurrency.
    Throttled,
    /// A network hiccup or a 5xx: retry with backoff.
    Transient,
    /// Retrying will not help.
    Permanent,
}

const THROTTLE_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
    "AWS.SimpleQueueService.RequestThrottled",
];

const TRANSIENT_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "RequestTimeTooSkewed",
    "IDPCommunicationError",
    "OperationAborted",
];

/// Classifies any SDK error (the same for S3, SQS, CloudFormation, ...).
pub fn classify<E: ProvideErrorMetadata + StdError + 'static>(
    err: &SdkError<E, Response>,
) -> ErrorClass {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            if is_credentials_problem(err) {
                ErrorClass::Permanent
            } else {
                ErrorClass::Transient
            }
        }
        SdkError::ServiceError(ctx) => {
            classify_parts(ctx.err().code(), ctx.raw().status().as_u16())
        }
        _ => ErrorClass::Permanent,
    }
}

/// Classification from an error code and HTTP status (shared with raw HTTP callers).
pub fn classify_parts(code: Option<&str>, status: u16) -> ErrorClass {
    if code.is_some_and(|c| THROTTLE_CODES.contains(&c))
        || status == 429
        || (status == 503 && code.is_none())
    {
        ErrorClass::Throttled
    } else if status == 503 {
        // S3 answers 503 SlowDown; other 503s are overloaded servers: treat alike.
        ErrorClass::Throttled
    } else if code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
        || matches!(status, 500 | 502 | 504)
    {
        ErrorClass::Transient
    } else {
        ErrorClass::Permanent
    }
}

fn is_credentials_problem<E>(err: &SdkError<E, Response>) -> bool
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let mut source: Option<&(dyn StdError + 'static)> = match err {
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => StdError::source(err),
        _ => None,
    };
    while let Some(e) = source {
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("credential") || text.contains("no providers in chain") {
            return true;
        }
        source = e.source();
    }
    false
}

/// One line for a failed call on `what` ("bucket foo", "queue bar").
pub fn describe_sdk_error<E>(err: &SdkError<E, Response>, what: &str) -> ToolError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let what = what.to_string();
    if is_credentials_problem(err) {
        return ToolError::NoCredentials;
    }
    let (code, status, message) = match err {
        SdkError::ServiceError(ctx) => (
            ctx.err().code().unwrap_or("").to_string(),
            ctx.raw().status().as_u16(),
            ctx.err().message().unwrap_or("").to_string(),
        ),
        SdkError::TimeoutError(_) => {
            return ToolError::Service {
                what,
                message: "request timed out".to_string(),
            };
        }
        other => {
            // The root cause reads best ("Connection refused (os error 111)");
            // the SDK's own layers only say "dispatch failure".
            let mut cause: &(dyn StdError + 'static) = other;
            while let Some(next) = cause.source() {
                cause = next;
            }
            let root = first_line(&cause.to_string());
            let message = if root.is_empty() {
                first_line(&DisplayErrorContext(other).to_string())
            } else {
                root
            };
            return ToolError::Service {
                what,
                message: format!("cannot reach the service: {message}"),
            };
        }
    };
    describe_parts(&what, &code, status, &message)
}

/// Whether `code` says the service refused the credentials (bad, expired or
/// rotated keys or tokens).
pub fn refuses_credentials(code: &str) -> bool {
    matches!(
        code,
        "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "InvalidToken"
            | "TokenRefreshRequired"
    )
}

/// Same as [`describe_sdk_error`] from parts (code, HTTP status, message).
pub fn describe_parts(what: &str, code: &str, status: u16, message: &str) -> ToolError {
    let what = what.to_string();
    let code_or_status = if code.is_empty() {
        format!("HTTP {status}")
    } else {
        code.to_string()
    };
    match code {
        c if refuses_credentials(c) => ToolError::BadCredentials {
            what,
            code: code.to_string(),
        },
        "AccessControlListNotSupported" => ToolError::AclsDisabled { what },
        "NoSuchBucket"
        | "NoSuchKey"
        | "NotFound"
        | "NoSuchUpload"
        | "AWS.SimpleQueueService.NonExistentQueue"
        | "QueueDoesNotExist"
        | "NonExistentQueue" => ToolError::NotFound {
            what,
            code: code.to_string(),
        },
        "ValidationError" if message.contains("does not exist") => ToolError::NotFound {
            what,
            code: code.to_string(),
        },
        "AccessDenied"
        | "AllAccessDisabled"
        | "AccessDeniedException"
        | "Forbidden"
        | "AuthorizationError" => ToolError::AccessDenied {
            what,
            code: code.to_string(),
            hint: if message.is_empty() {
                String::new()
            } else {
                format!(": {}", first_line(message))
            },
        },
        _ => match status {
            404 => ToolError::NotFound {
                what,
                code: code_or_status,
            },
            403 => ToolError::AccessDenied {
                what,
                code: code_or_status,
                hint: String::new(),
            },
            s if s >= 500 => ToolError::Service {
                what,
                message: format!("{code_or_status} {}", first_line(message))
                    .trim()
                    .to_string(),
            },
            _ => ToolError::Invalid {
                what,
                message: format!("{code_or_status}: {}", first_line(message))
                    .trim_end_matches(": ")
                    .to_string(),
            },
        },
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_throttling_and_transient() {
        assert_eq!(classify_parts(Some("SlowDown"), 503), ErrorClass::Throttled);
        assert_eq!(
            classify_parts(Some("ThrottlingException"), 400),
            ErrorClass::Throttled
        );
        assert_eq!(classify_parts(None, 429), ErrorClass::Throttled);
        assert_eq!(
            classify_parts(Some("InternalError"), 500),
            ErrorClass::Transient
        );
        assert_eq!(classify_parts(None, 502), ErrorClass::Transient);
        assert_eq!(
            classify_parts(Some("NoSuchKey"), 404),
            ErrorClass::Permanent
        );
        assert_eq!(
            classify_parts(Some("AccessDenied"), 403),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn describes_in_one_line_with_exit_codes() {
        let e = describe_parts(
            "bucket b",
            "NoSuchBucket",
            404,
            "The specified bucket does not exist",
        );
        assert_eq!(e.to_string(), "bucket b: does not exist (NoSuchBucket)");
        assert_eq!(e.exit_code(), exit::NOT_FOUND);
        let e = describe_parts("bucket b", "AccessControlListNotSupported", 400, "");
        assert_eq!(e.exit_code(), exit::UNSUPPORTED);
        let e = describe_parts("bucket b", "", 404, "");
        assert_eq!(e.to_string(), "bucket b: does not exist (HTTP 404)");
        let e = describe_parts("queue q", "ExpiredToken", 403, "");
        assert_eq!(e.exit_code(), exit::AUTH);
        let e = describe_parts("bucket b", "AccessDenied", 403, "Access Denied\nmore");
        assert_eq!(
            e.to_string(),
            "bucket b: access denied (AccessDenied): Access Denied"
        );
    }
}
