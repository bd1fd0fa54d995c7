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
