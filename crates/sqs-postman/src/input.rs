//! Reading the message source before anything is sent: a whole file (or
//! stdin) as one template, or a stream of lines.

use std::io::Read;
use std::path::Path;

use tokio::io::AsyncBufRead;

use crate::batch::SQS_MAX_BYTES;
use crate::error::{Error, Result};
use crate::source::Input;
use crate::template::Template;

/// The message source as the user named it, for error lines.
fn describe(path: &Path) -> String {
    if path == Path::new("-") {
        "message source (stdin)".to_string()
    } else {
        format!("message source {}", path.display())
    }
}

/// Reads the whole message source (a template), at most what SQS could take;
/// the final newline an editor adds is not part of the message.
pub fn read_template(path: &Path) -> Result<String> {
    let what = describe(path);
    let read_err = |source| Error::Read {
        what: what.clone(),
        source,
    };
    let limit = (SQS_MAX_BYTES * 2) as u64;
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
            .map_err(read_err)?;
    }
    if bytes.len() as u64 > limit {
        return Err(Error::Input(format!(
            "{what}: larger than any SQS message can be (1 MiB)"
        )));
    }
    let mut text = String::from_utf8(bytes)
        .map_err(|_| Error::Input(format!("{what}: not valid UTF-8 (SQS bodies are text)")))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(Error::Input(format!(
            "{what}: empty (SQS does not accept empty messages)"
        )));
    }
    Ok(text)
}

/// The template of `text`, checked: its placeholders, and (unless `raw`)
/// that a rendered message is JSON. Misspelt placeholders are warned about.
pub fn template(text: &str, path: &Path, raw: bool) -> Result<Template> {
    let template =
        Template::parse(text).map_err(|e| Error::Input(format!("message source: {e}")))?;
    if !raw {
        let sample = template.render(1);
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&sample) {
            return Err(Error::Input(format!(
                "message source {}: not valid JSON ({e}); use --raw to send it as it is",
                path.display()
            )));
        }
    }
    for word in template.unknown_placeholders() {
        tracing::warn!(
            "message source: %{word}% is not a placeholder; it is sent as it is (see --help)"
        );
    }
    Ok(template)
}

/// Opens the line source (file or stdin) before anything is sent.
pub async fn open_lines(path: &Path) -> Result<Input> {
    const BUF: usize = 256 * 1024;
    let reader: Box<dyn AsyncBufRead + Unpin + Send> = if path == Path::new("-") {
        Box::new(tokio::io::BufReader::with_capacity(BUF, tokio::io::stdin()))
    } else {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| Error::Read {
                what: describe(path),
                source,
            })?;
        Box::new(tokio::io::BufReader::with_capacity(BUF, file))
    };
    Ok(Input::Lines(reader))
}

/// `--compact`: the JSON text on one line, without the white space between
/// tokens, as the original tool sent a pretty-printed file (it parsed the
/// file and serialised it again). White space inside strings is kept, and
/// placeholders outside strings (`"n": %seq%`) pass through.
pub fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compacts_a_pretty_printed_file_as_the_original_did() {
        let pretty = "{\n  \"message\": \"hello from sqs-postman\",\n  \"n\": %seq%,\n  \"q\\\"s \": \"a \\\\ b\"\n}";
        assert_eq!(
            compact_json(pretty),
            r#"{"message":"hello from sqs-postman","n":%seq%,"q\"s ":"a \\ b"}"#
        );
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[ a-z\"\\\\\t\n]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[ a-z\"]{0,4}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Compacting pretty-printed JSON gives what serialising it compactly gives.
        #[test]
        fn compact_equals_serde_compact(v in json_value()) {
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            prop_assert_eq!(compact_json(&pretty), serde_json::to_string(&v).unwrap());
        }
    }
}
