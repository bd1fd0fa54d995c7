//! A small YAML writer for the template's [`Node`] tree: block mappings and
//! sequences, each scalar in the style libyaml would choose (plain, single-
//! or double-quoted, literal block), so the output is byte for byte what
//! `serde_yaml` 0.9 wrote before it was deprecated (the snapshots hold it).
//!
//! The rules, from libyaml's emitter: a string that would read back as
//! something else (null, a bool, a number, digits with a leading zero) is
//! single-quoted; one with a line feed is a literal block; otherwise plain
//! unless an indicator, a leading or trailing space, a line break or a
//! character YAML cannot print plainly forbids it, then single-quoted, then
//! double-quoted with escapes. Lines are never folded.

use crate::tree::Node;

/// Spaces per nesting level.
const INDENT: usize = 2;

/// The YAML text of `node`.
pub fn to_string(node: &Node) -> String {
    let mut w = Writer::default();
    match node {
        Node::Map(entries) if !entries.is_empty() => w.map(entries, 0, true),
        Node::Seq(items) if !items.is_empty() => w.seq(items, 0, true),
        other => {
            w.inline(other, INDENT);
        }
    }
    w.line_end();
    w.out
}

#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    /// Ends the current line unless it is already ended (a block scalar may
    /// end in any line break: libyaml counts each as one).
    fn line_end(&mut self) {
        if self.out.chars().next_back().is_some_and(|c| !is_break(c)) {
            self.out.push('\n');
        }
    }

    fn start_line(&mut self, indent: usize) {
        self.line_end();
        self.pad(indent);
    }

    fn pad(&mut self, indent: usize) {
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    /// A block mapping with its keys at `indent`; `inline`: the first key
    /// goes where the cursor is (after `- `, or at the document's start).
    fn map(&mut self, entries: &[(String, Node)], indent: usize, inline: bool) {
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 || !inline {
                self.start_line(indent);
            }
            self.scalar(key, indent + INDENT, true);
            self.out.push(':');
            match value {
                Node::Map(inner) if !inner.is_empty() => self.map(inner, indent + INDENT, false),
                // Sequences in a mapping are not indented (libyaml's style).
                Node::Seq(items) if !items.is_empty() => self.seq(items, indent, false),
                other => {
                    self.out.push(' ');
                    self.inline(other, indent + INDENT);
                }
            }
        }
    }

    /// A block sequence with its dashes at `indent`.
    fn seq(&mut self, items: &[Node], indent: usize, inline: bool) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 || !inline {
                self.start_line(indent);
            }
            self.out.push_str("- ");
            match item {
                Node::Map(inner) if !inner.is_empty() => self.map(inner, indent + INDENT, true),
                Node::Seq(inner) if !inner.is_empty() => self.seq(inner, indent + INDENT, true),
                other => self.inline(other, indent + INDENT),
            }
        }
    }

    /// A scalar or an empty collection on the current line; a block
    /// scalar's lines and a quoted scalar's continuations at `indent`.
    fn inline(&mut self, node: &Node, indent: usize) {
        match node {
            Node::Null => self.out.push_str("null"),
            Node::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Node::Int(n) => self.out.push_str(&n.to_string()),
            Node::Float(v) => self.out.push_str(&float(*v)),
            Node::Str(text) => self.scalar(text, indent, false),
            Node::Seq(_) => self.out.push_str("[]"),
            Node::Map(_) => self.out.push_str("{}"),
        }
    }

    fn scalar(&mut self, text: &str, indent: usize, simple_key: bool) {
        match style(text, simple_key) {
            Style::Plain => self.out.push_str(text),
            Style::SingleQuoted => self.single_quoted(text, indent),
            Style::DoubleQuoted => self.double_quoted(text),
            Style::Literal => self.literal(text, indent),
        }
    }

    fn single_quoted(&mut self, text: &str, indent: usize) {
        self.out.push('\'');
        let mut breaks = false;
        for c in text.chars() {
            if is_break(c) {
                if !breaks && c == '\n' {
                    self.out.push('\n');
                }
                self.out.push(c);
                breaks = true;
                continue;
            }
            if breaks {
                self.pad(indent);
            }
            if c == '\'' {
                self.out.push('\'');
            }
            self.out.push(c);
            breaks = false;
        }
        if breaks {
            self.pad(indent);
        }
        self.out.push('\'');
    }

    fn double_quoted(&mut self, text: &str) {
        self.out.push('"');
        for c in text.chars() {
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.out.push_str(&escape(c));
            } else {
                self.out.push(c);
            }
        }
        self.out.push('"');
    }

    fn literal(&mut self, text: &str, indent: usize) {
        self.out.push('|');
        let mut chars = text.chars();
        if chars.next().is_some_and(|c| c == ' ' || is_break(c)) {
            self.out.push_str(&INDENT.to_string());
        }
        self.out.push_str(chomp_hint(text));
        self.out.push('\n');
        let mut breaks = true;
        for c in text.chars() {
            if is_break(c) {
                self.out.push(c);
                breaks = true;
            } else {
                if breaks {
                    self.pad(indent);
                }
                self.out.push(c);
                breaks = false;
            }
        }
    }
}

/// `-` (strip) when the text does not end in a line break, `+` (keep) when
/// it ends in two or is one, nothing (clip) for exactly one.
fn chomp_hint(text: &str) -> &'static str {
    let mut rev = text.chars().rev();
    match (rev.next(), rev.next()) {
        (Some(last), _) if !is_break(last) => "-",
        (Some(_), None) => "+",
        (Some(_), Some(before)) if is_break(before) => "+",
        (Some(_), Some(_)) => "",
        (None, _) => "-",
    }
}

/// Floats as serde_yaml wrote them (shortest round-trip form, `80.0`).
fn float(v: f64) -> String {
    if v.is_nan() {
        ".nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { ".inf" } else { "-.inf" }.into()
    } else {
        ryu::Buffer::new().format_finite(v).to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// The style libyaml picks for `text` as serde_yaml asked for it.
fn style(text: &str, simple_key: bool) -> Style {
    let wanted = if text.contains('\n') {
        Style::Literal
    } else if reads_as_other_type(text) {
        Style::SingleQuoted
    } else {
        Style::Plain
    };
    let a = Analysis::of(text);
    let mut style = wanted;
    if simple_key && a.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain && (!a.block_plain_allowed || (text.is_empty() && simple_key)) {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !a.single_quoted_allowed {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!a.block_allowed || simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

/// Whether a plain `text` would read back as null, a bool or a number
/// (YAML 1.2 core schema, as serde_yaml reads it), or is digits with a
/// leading zero.
fn reads_as_other_type(text: &str) -> bool {
    matches!(
        text,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
    ) || digits_but_not_number(text)
        || reads_as_int(text)
        || reads_as_float(text)
}

fn digits_but_not_number(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    t.len() > 1 && t.starts_with('0') && t[1..].bytes().all(|b| b.is_ascii_digit())
}

fn reads_as_int(text: &str) -> bool {
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    let negative = text.strip_prefix('-');
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        let rest = unsigned
            .strip_prefix(prefix)
            .or_else(|| negative.and_then(|n| n.strip_prefix(prefix)));
        if let Some(rest) = rest {
            if !rest.starts_with(['+', '-']) && u128::from_str_radix(rest, radix).is_ok() {
                return true;
            }
        }
    }
    if digits_but_not_number(text) {
        return false;
    }
    (!unsigned.starts_with(['+', '-']) && unsigned.parse::<u128>().is_ok())
        || (text.starts_with('-') && text.parse::<i128>().is_ok())
}

fn reads_as_float(text: &str) -> bool {
    let unsigned = match text.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return false,
        Some(u) => u,
        None => text,
    };
    matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || matches!(text, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unsigned.parse::<f64>().is_ok_and(f64::is_finite)
}

/// What libyaml's `yaml_emitter_analyze_scalar` finds in a scalar.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

impl Analysis {
    fn of(text: &str) -> Self {
        if text.is_empty() {
            return Analysis {
                multiline: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            };
        }
        let f = Flags::scan(text);
        let edge_space = f.leading_space || f.leading_break || f.trailing_space || f.trailing_break;
        let unprintable = f.space_break || f.special;
        Analysis {
            multiline: f.line_breaks,
            block_plain_allowed: !(edge_space
                || f.break_space
                || unprintable
                || f.line_breaks
                || f.block_indicators),
            single_quoted_allowed: !(f.break_space || unprintable),
            block_allowed: !(f.trailing_space || unprintable),
        }
    }
}

#[derive(Default)]
struct Flags {
    block_indicators: bool,
    line_breaks: bool,
    special: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_space: bool,
    space_break: bool,
}

impl Flags {
    fn scan(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let mut f = Flags {
            block_indicators: text.starts_with("---") || text.starts_with("..."),
            ..Flags::default()
        };
        let blankz = |i: usize| chars.get(i).is_none_or(|c| is_blankz(*c));
        let (mut previous_space, mut previous_break) = (false, false);
        let mut preceded_by_whitespace = true;
        for (i, &c) in chars.iter().enumerate() {
            let followed_by_whitespace = blankz(i + 1);
            let first = i == 0;
            let last = i + 1 == chars.len();
            f.block_indicators |=
                indicator(c, first, preceded_by_whitespace, followed_by_whitespace);
            f.special |= !is_printable(c);
            if c == ' ' {
                f.leading_space |= first;
                f.trailing_space |= last;
                f.break_space |= previous_break;
                (previous_space, previous_break) = (true, false);
            } else if is_break(c) {
                f.line_breaks = true;
                f.leading_break |= first;
                f.trailing_break |= last;
                f.space_break |= previous_space;
                (previous_space, previous_break) = (false, true);
            } else {
                (previous_space, previous_break) = (false, false);
            }
            preceded_by_whitespace = is_blankz(c);
        }
        f
    }
}

/// Whether `c` is a block indicator where it stands.
fn indicator(c: char, first: bool, preceded_by_ws: bool, followed_by_ws: bool) -> bool {
    if first {
        "#,[]{}&*!|>'\"%@`".contains(c)
            || ((c == '?' || c == ':') && followed_by_ws)
            || (c == '-' && followed_by_ws)
    } else {
        (c == ':' && followed_by_ws) || (c == '#' && preceded_by_ws)
    }
}

/// A blank, a break or NUL (libyaml's "blank or end").
fn is_blankz(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\0' || is_break(c)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's printable set (tab and the C1 controls are not).
fn is_printable(c: char) -> bool {
    matches!(c,
        '\n' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fefe}' | '\u{ff00}'..='\u{fffd}' | '\u{10000}'..)
}

/// A double-quoted escape.
fn escape(c: char) -> String {
    let short = match c {
        '\0' => '0',
        '\u{7}' => 'a',
        '\u{8}' => 'b',
        '\t' => 't',
        '\n' => 'n',
        '\u{b}' => 'v',
        '\u{c}' => 'f',
        '\r' => 'r',
        '\u{1b}' => 'e',
        '"' => '"',
        '\\' => '\\',
        '\u{85}' => 'N',
        '\u{a0}' => '_',
        '\u{2028}' => 'L',
        '\u{2029}' => 'P',
        _ => {
            let n = u32::from(c);
            return match n {
                0..=0xff => format!("\\x{n:02X}"),
                0x100..=0xffff => format!("\\u{n:04X}"),
                _ => format!("\\U{n:08X}"),
            };
        }
    };
    format!("\\{short}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{map, s};

    #[test]
    fn scalar_styles() {
        for (text, want) in [
            ("c5.large", "c5.large"),
            ("2010-09-09", "2010-09-09"),
            ("12", "'12'"),
            ("0012", "'0012'"),
            ("1e3", "'1e3'"),
            ("true", "'true'"),
            ("", "''"),
            ("~", "'~'"),
            ("a: b", "'a: b'"),
            ("a:b", "a:b"),
            ("${AWS::StackName}-spot", "${AWS::StackName}-spot"),
            ("- x", "'- x'"),
            ("#x", "'#x'"),
            ("a #b", "'a #b'"),
            ("it's", "it's"),
            ("'q'", "'''q'''"),
            (" lead", "' lead'"),
            ("tab\there", "\"tab\\there\""),
            ("bell\u{7}", "\"bell\\a\""),
            ("bom\u{feff}", "\"bom\\uFEFF\""),
            ("é ☃ 😀", "é ☃ 😀"),
        ] {
            let doc = to_string(&map([("k", s(text))]));
            assert_eq!(doc, format!("k: {want}\n"), "{text:?}");
        }
    }

    #[test]
    fn literal_blocks_and_their_hints() {
        for (text, want) in [
            ("a\nb\n", "k: |\n  a\n  b\n"),
            ("a\nb", "k: |-\n  a\n  b\n"),
            ("a\n\n", "k: |+\n  a\n\n"),
            (" a\n", "k: |2\n   a\n"),
            ("a\n\nb\n", "k: |\n  a\n\n  b\n"),
            ("a \nb\n", "k: \"a \\nb\\n\"\n"),
        ] {
            assert_eq!(to_string(&map([("k", s(text))])), want, "{text:?}");
        }
    }

    #[test]
    fn collections() {
        let doc = map([
            (
                "list",
                Node::Seq(vec![s("a"), map([("x", Node::from(1u32)), ("y", s("z"))])]),
            ),
            (
                "nested",
                map([("deeper", Node::Seq(vec![Node::Seq(vec![s("p"), s("q")])]))]),
            ),
            ("empty", Node::Seq(vec![])),
            ("none", Node::map()),
            ("float", Node::from(80.0)),
            ("neg", Node::from(-1i64)),
        ]);
        assert_eq!(
            to_string(&doc),
            "list:\n- a\n- x: 1\n  y: z\nnested:\n  deeper:\n  - - p\n    - q\nempty: []\nnone: {}\nfloat: 80.0\nneg: -1\n"
        );
    }
}
