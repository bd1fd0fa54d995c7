//! Output conventions: human text or JSON lines on stdout, progress and logs
//! on stderr, and small formatting helpers shared by every tool.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// `--output`: what stdout carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Aligned text for people.
    #[default]
    Human,
    /// One JSON object per line, for pipelines (`jq`, log shippers).
    Json,
}

/// `--output`, `-q`, `-v`: flattened into every tool's CLI.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Human, env = "MC_OUTPUT", global = true)]
    pub output: Format,
    /// Only print errors and the final result (no progress, no warnings).
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More logging on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

impl OutputArgs {
    /// Verbosity for [`crate::logging::init`].
    pub fn verbosity(&self) -> i8 {
        if self.quiet {
            -1
        } else {
            i8::try_from(self.verbose).unwrap_or(i8::MAX)
        }
    }

    /// A progress bar on stderr, or a hidden one when stderr is not a
    /// terminal, when quiet, or when stdout is JSON piped somewhere.
    pub fn progress(&self, len: Option<u64>, what: &str) -> ProgressBar {
        progress_bar(len, what, !self.quiet && io::stderr().is_terminal())
    }
}

/// A progress bar that draws on stderr only when `visible`.
pub fn progress_bar(len: Option<u64>, what: &str, visible: bool) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    if !visible {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    let template = if len.is_some() {
        "{spinner} {msg} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({rate}, eta {eta})"
    } else {
        "{spinner} {msg} [{elapsed_precise}] {human_pos} ({rate})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        // indicatif's {per_sec} prints "59.1147/s": whole, grouped numbers instead.
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", human_count(state.per_sec() as u64));
            },
        ));
    }
    bar.set_message(what.to_string());
    bar
}

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
type Hook = Box<dyn Fn() + Send>;
static ON_STDOUT_CLOSED: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// Whether a write to stdout found the pipe closed (`tool | head -1`).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
}

/// Calls `hook` once stdout is found closed (at once if it already was):
/// [`crate::interrupt::Interrupt`] uses it to stop a run as a signal would.
pub fn on_stdout_closed(hook: impl Fn() + Send + 'static) {
    let mut hooks = ON_STDOUT_CLOSED.lock().unwrap_or_else(|e| e.into_inner());
    if stdout_closed() {
        hook();
    } else {
        hooks.push(Box::new(hook));
    }
}

/// Records a write error of stdout: a closed pipe is remembered (and the
/// hooks told) so that `main` can end the tool as its mode requires.
pub fn note_stdout_error(e: &io::Error) {
    if e.kind() != io::ErrorKind::BrokenPipe {
        return;
    }
    let hooks = ON_STDOUT_CLOSED.lock().unwrap_or_else(|e| e.into_inner());
    if !STDOUT_CLOSED.swap(true, Ordering::SeqCst) {
        for hook in hooks.iter() {
            hook();
        }
    }
}

/// Writes all of `bytes` to stdout (for output that is not made of lines,
/// such as a template), noting a closed pipe like [`Printer`].
pub fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .inspect_err(note_stdout_error)
}

/// Writes lines to stdout. A closed pipe (`tool | head`) is reported as
/// [`io::ErrorKind::BrokenPipe`] instead of a panic like `println!`'s, and
/// noted ([`stdout_closed`]): a read-only tool then ends quietly with 0, a
/// tool that writes stops as on SIGINT (see [`crate::startup`]).
pub struct Printer {
    out: io::BufWriter<io::Stdout>,
}

impl Default for Printer {
    fn default() -> Self {
        Self::new()
    }
}

impl Printer {
    pub fn new() -> Self {
        Self {
            out: io::BufWriter::new(io::stdout()),
        }
    }

    /// One line of text.
    pub fn line(&mut self, text: impl std::fmt::Display) -> io::Result<()> {
        writeln!(self.out, "{text}").inspect_err(note_stdout_error)
    }

    /// One JSON object on its own line.
    pub fn json(&mut self, value: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value)
            .map_err(|e| match e.io_error_kind() {
                Some(kind) => io::Error::from(kind),
                None => io::Error::other(e),
            })
            .and_then(|()| self.out.write_all(b"\n"))
            .inspect_err(note_stdout_error)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush().inspect_err(note_stdout_error)
    }
}

/// For writers of reports: a closed pipe is noted as in [`Printer::line`].
impl Write for Printer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf).inspect_err(note_stdout_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        Printer::flush(self)
    }
}

/// Bytes in IEC units with two decimals: `0 B`, `1.00 KiB`, `14.49 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

/// A JSON line that says what it is: `{"kind": KIND, ...value's fields}`.
#[derive(Serialize)]
pub struct Kinded<'a, T: Serialize> {
    pub kind: &'static str,
    #[serde(flatten)]
    pub value: &'a T,
}

/// A key (or any name) for a human line: as it is, unless it has control
/// characters (a newline would split the line, an escape would reach the
/// terminal) or white space at either end (invisible): then quoted and
/// escaped like a Rust string, `"a\nb"`, `"trailing "`. JSON output carries
/// keys exactly.
pub fn printable(key: &str) -> std::borrow::Cow<'_, str> {
    let invisible_ends = key.starts_with(char::is_whitespace) || key.ends_with(char::is_whitespace);
    if invisible_ends || key.chars().any(char::is_control) {
        std::borrow::Cow::Owned(format!("{key:?}"))
    } else {
        std::borrow::Cow::Borrowed(key)
    }
}

/// A count with thousands separators: `25,000,000`.
pub fn human_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Renders rows as a left-aligned text table (numbers right-aligned) with a header line.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    // Right-align what reads as a number ("1,000", "14.49 GiB", "-3", "98%").
    let numeric = |s: &str| {
        s.trim_start_matches('-')
            .starts_with(|c: char| c.is_ascii_digit())
    };
    let mut out = String::new();
    let mut push_row = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (i, cell) in cells.enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i > 0 {
                line.push_str("  ");
            }
            let pad = w.saturating_sub(cell.chars().count());
            if numeric(cell) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(&mut headers.iter().copied());
    for row in rows {
        push_row(&mut row.iter().map(String::as_str));
    }
    out
}

/// An error with its causes, on one line (`connect: Connection refused (os error 111)`).
pub fn error_line(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_keys_keep_lines_whole() {
        assert_eq!(printable("dir/café 😀.png"), "dir/café 😀.png");
        assert_eq!(printable("a\nb"), "\"a\\nb\"");
        assert_eq!(printable("\u{1b}[31mred"), "\"\\u{1b}[31mred\"");
        assert_eq!(printable("trailing space "), "\"trailing space \"");
        assert_eq!(printable(" lead"), "\" lead\"");
    }

    #[test]
    fn bytes_are_iec_with_two_decimals() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.00 KiB");
        assert_eq!(human_bytes(15_563_390_976), "14.49 GiB");
        assert_eq!(human_bytes(u64::MAX), "16.00 EiB");
    }

    #[test]
    fn counts_get_separators() {
        assert_eq!(human_count(0), "0");
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(1000), "1,000");
        assert_eq!(human_count(25_000_000), "25,000,000");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["bucket", "objects"],
            &[
                vec!["a".into(), "1,000".into()],
                vec!["longer".into(), "5".into()],
            ],
        );
        assert_eq!(t, "bucket  objects\na         1,000\nlonger        5\n");
    }
}
