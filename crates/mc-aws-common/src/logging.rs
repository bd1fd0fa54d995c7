//! Logging to stderr with `tracing`, driven by `-q`/`-v` and `RUST_LOG`.
//!
//! # No secrets in logs
//!
//! Every log line goes through [`redact`] before it reaches stderr, whatever
//! the verbosity or `RUST_LOG` says. At trace level the SDK logs the resolved
//! credentials, the signing parameters and every request; it already hides the
//! secret key, the session token and the `Authorization` header itself
//! (checked by each tool's `tests/no_secrets.rs`), but it prints the access
//! key id, and a future SDK, a third-party crate or one of our own `debug!`s
//! could print more. So the writer also masks, in every line:
//!
//! - the values of `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//!   `AWS_SESSION_TOKEN` from this process's environment;
//! - anything shaped like an access key id (`AKIA…`/`ASIA…`) and the value of
//!   an `access_key_id: "…"` field, whatever provider the key came from. AWS
//!   calls the key id non-secret, but it names the key pair and many teams keep
//!   it out of logs, so we do too;
//! - request signatures (`Signature=<hex>`, `X-Amz-Signature=`) and session
//!   tokens in presigned URLs or headers (`X-Amz-Security-Token`).
//!
//! Redaction is per event: the fmt layer writes each event with one
//! `write_all`, so a secret never straddles two writes.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::sync::Arc;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// What a masked value is replaced with.
const REDACTED: &str = "** redacted **";

/// Environment variables whose values never appear in a log line.
const SECRET_ENV_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
];

/// Installs the global subscriber. `verbosity`: -1 quiet, 0 default (warnings),
/// 1 info, 2 debug, 3+ trace. `RUST_LOG` overrides when set. `extra_directive`
/// lets a tool map its own debug switch (e.g. `DEBUG=sqs-postman`).
pub fn init(verbosity: i8, extra_directive: Option<&str>) {
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directives(verbosity)));
    if let Some(d) = extra_directive {
        if let Ok(d) = d.parse() {
            filter = filter.add_directive(d);
        }
    }
    // try_init: tests may call this more than once per process.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr::from_env())
        .with_ansi(io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// The filter for a verbosity when `RUST_LOG` is not set.
fn directives(verbosity: i8) -> String {
    let level = match verbosity {
        i8::MIN..=-1 => "error",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // The SDK is chatty: below -vvv only its errors show (its warnings, e.g.
    // every failed step of the credentials chain, repeat what our one-line
    // error already says), and with -v/-vv its warnings.
    let sdk = match verbosity {
        3.. => "debug",
        1..=2 => "warn",
        _ => "error",
    };
    format!("{level},aws_config={sdk},aws_smithy_runtime={sdk},aws_sdk_s3={sdk},aws_sdk_sqs={sdk},hyper={sdk}")
}

/// A subscriber writing one JSON object per event to `writer`, the event's
/// fields at the top level (`{"timestamp":..,"level":"INFO","key":..,
/// "message":..}`), which is what CloudWatch Logs Insights discovers fields
/// in: for code that runs in AWS Lambda.
#[cfg(feature = "json-logs")]
pub fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}

/// Installs [`json_subscriber`] on stderr, redacted like every log line:
/// at info (the SDK's warnings and errors only) unless `RUST_LOG` says
/// otherwise.
#[cfg(feature = "json-logs")]
pub fn init_json() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directives(1)));
    let subscriber = json_subscriber(filter, RedactingStderr::from_env());
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// A [`MakeWriter`] for stderr that passes every event through [`redact`].
#[derive(Clone, Debug)]
struct RedactingStderr {
    secrets: Arc<[String]>,
}

impl RedactingStderr {
    fn from_env() -> Self {
        let secrets = SECRET_ENV_VARS
            .iter()
            .filter_map(|var| std::env::var(var).ok())
            // A very short value would mask ordinary words; real ones are 16+.
            .filter(|v| v.len() >= 8)
            .collect();
        Self { secrets }
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            secrets: Arc::clone(&self.secrets),
        }
    }
}

/// Writes one event, redacted, to stderr.
struct RedactingWriter {
    secrets: Arc<[String]>,
}

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().write_all(redact(&text, &self.secrets).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// `line` with credentials, tokens and signatures masked: every occurrence of
/// one of `secrets`, access key ids, `access_key_id: "…"` values, `Signature=`
/// hex and `X-Amz-Security-Token` values. Borrows when there is nothing to mask.
pub fn redact<'a>(line: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(line);
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
        }
    }
    for prefix in ["AKIA", "ASIA"] {
        out = mask_key_ids(out, prefix);
    }
    // `…=` values run to the next delimiter; `access_key_id: "…"` to the quote.
    for (marker, is_end) in [
        ("access_key_id: \"", (|c| c == '"') as fn(char) -> bool),
        ("Signature=", |c: char| !c.is_ascii_hexdigit()),
        ("signature=", |c: char| !c.is_ascii_hexdigit()),
        ("X-Amz-Security-Token=", is_value_end),
        ("x-amz-security-token=", is_value_end),
        ("x-amz-security-token:", |c| c == '\n' || c == '"'),
    ] {
        out = mask_after(out, marker, is_end);
    }
    out
}

fn is_value_end(c: char) -> bool {
    matches!(c, '&' | '"' | '\'' | ' ' | '\n' | ',' | ')' | '>')
}

/// Masks the value after each `marker`, up to the first char where `is_end`
/// holds (or the end of the line). Values already masked are left alone.
fn mask_after<'a>(text: Cow<'a, str>, marker: &str, is_end: fn(char) -> bool) -> Cow<'a, str> {
    if !text.contains(marker) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(i) = rest.find(marker) {
        let (head, tail) = rest.split_at(i + marker.len());
        out.push_str(head);
        let end = tail.find(is_end).unwrap_or(tail.len());
        let value = &tail[..end];
        if value.is_empty() || value.starts_with("**") {
            out.push_str(value);
        } else {
            out.push_str(REDACTED);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Masks `prefix` followed by 12 to 36 of `[A-Z0-9]` standing alone (the
/// shape of an access key id: `AKIA` long-term, `ASIA` temporary), keeping
/// the prefix so a reader still sees which kind of key it was.
fn mask_key_ids<'a>(text: Cow<'a, str>, prefix: &str) -> Cow<'a, str> {
    if !text.contains(prefix) {
        return text;
    }
    let is_key_char = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find(prefix).map(|i| i + from) {
        let start = i + prefix.len();
        let len = bytes[start..]
            .iter()
            .take_while(|&&b| is_key_char(b))
            .count();
        let alone = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if alone && (12..=36).contains(&len) {
            out.push_str(&text[copied..start]);
            out.push_str("****");
            copied = start + len;
        }
        from = start + len;
    }
    if copied == 0 {
        return text;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(line: &str) -> String {
        redact(line, &["s3cr3t-value-123".to_owned()]).into_owned()
    }

    #[test]
    fn known_secrets_are_masked_everywhere_in_the_line() {
        assert_eq!(
            r("a s3cr3t-value-123 b s3cr3t-value-123"),
            "a ** redacted ** b ** redacted **"
        );
    }

    #[test]
    fn access_key_ids_keep_only_their_kind() {
        assert_eq!(
            r("key AKIAIOSFODNN7EXAMPLE, ASIAIOSFODNN7EXAMPLE."),
            "key AKIA****, ASIA****."
        );
        // Words that merely start like one are left alone.
        assert_eq!(
            r("AKIAx ASIAN xAKIAIOSFODNN7EXAMPLE"),
            "AKIAx ASIAN xAKIAIOSFODNN7EXAMPLE"
        );
    }

    #[test]
    fn credential_debug_output_is_masked() {
        let line = r#"Credentials { provider_name: "Env", access_key_id: "test", secret_access_key: "** redacted **" }"#;
        assert_eq!(
            r(line),
            r#"Credentials { provider_name: "Env", access_key_id: "** redacted **", secret_access_key: "** redacted **" }"#
        );
    }

    #[test]
    fn signatures_and_tokens_in_urls_and_headers_are_masked() {
        let url = "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=FQoG%2Fabc&X-Amz-Signature=0123abcdef&x=1";
        assert_eq!(
            r(url),
            "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=** redacted **&X-Amz-Signature=** redacted **&x=1"
        );
        assert_eq!(
            r("authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024\n"),
            "authorization: AWS4-HMAC-SHA256 Credential=AKIA****/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=** redacted **\n"
        );
        assert_eq!(
            r("x-amz-security-token: FQoGZXIvYXdzEJr\n"),
            "x-amz-security-token:** redacted **\n"
        );
    }

    #[test]
    fn ordinary_lines_are_borrowed_unchanged() {
        let line = "copied 12 objects (3.4 MiB) from s3://a to s3://b";
        assert!(matches!(redact(line, &[]), Cow::Borrowed(_)));
        assert!(matches!(
            redact("already Signature=** redacted **", &[]),
            Cow::Owned(s) if s == "already Signature=** redacted **"
        ));
    }
}
