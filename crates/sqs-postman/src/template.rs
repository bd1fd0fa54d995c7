//! Message templates: parsed once, rendered per message without re-scanning.
//!
//! Placeholders are words between `%` signs:
//!
//! | placeholder          | renders as                                                   |
//! |----------------------|--------------------------------------------------------------|
//! | `%unique%`           | a fresh UUID v4 per message (`1b4e28ba-2fa1-4d3b-...`)       |
//! | `%seq%`              | the message's sequence number in this run, from 1            |
//! | `%timestamp%`        | send time, RFC 3339 UTC with milliseconds                    |
//! | `%epoch_ms%`         | send time, Unix milliseconds                                 |
//! | `%rand_int(A,B)%`    | a uniform random integer in `A..=B` (i64)                    |
//! | `%rand_hex(N)%`      | `N` random lowercase hex digits (1..=4096), e.g. padding     |
//!
//! Anything else between `%` signs (`50%off%`, `%20`) is left as it is, as the
//! original tool did; a word that looks like a misspelt placeholder
//! (`%uniqe%`) is reported by [`Template::unknown_placeholders`].

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Unique,
    Seq,
    Timestamp,
    EpochMs,
    RandInt(i64, i64),
    RandHex(usize),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    /// Upper bound of a rendered message's length in bytes.
    max_len: usize,
    unknown: Vec<String>,
}

/// A placeholder with bad arguments (`%rand_int(5,1)%`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad placeholder %{placeholder}%: {reason}")]
pub struct TemplateError {
    pub placeholder: String,
    pub reason: String,
}

/// Longest rendering of `%timestamp%`: `2024-01-02T03:04:05.678Z` (years < 10000).
const TIMESTAMP_LEN: usize = 24;
const MAX_HEX: usize = 4096;

impl Template {
    /// Parses `text`. Unknown `%words%` stay literal.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut unknown = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('%') {
            literal.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('%') else {
                literal.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let word = &after[..close];
            match placeholder(word)? {
                Some(part) => {
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(part);
                    rest = &after[close + 1..];
                }
                None => {
                    if looks_like_placeholder(word) && !unknown.iter().any(|u| u == word) {
                        unknown.push(word.to_string());
                    }
                    // Keep the '%' and rescan from the next one: it may open a placeholder.
                    literal.push('%');
                    rest = after;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        let max_len = parts.iter().map(Part::max_len).sum();
        Ok(Self {
            parts,
            max_len,
            unknown,
        })
    }

    /// Upper bound of any rendering's length in bytes (`%seq%` counted at 20 digits).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Upper bound of the length of renderings for messages `1..=max_seq`.
    pub fn max_len_with_seq(&self, max_seq: Option<u64>) -> usize {
        let seq_digits = max_seq.map_or(20, |n| n.max(1).to_string().len());
        self.parts
            .iter()
            .map(|p| match p {
                Part::Seq => seq_digits,
                p => p.max_len(),
            })
            .sum()
    }

    /// Whether rendering depends on the message (anything but literals).
    pub fn is_constant(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// Words between `%` signs that look like placeholders but are not known.
    pub fn unknown_placeholders(&self) -> &[String] {
        &self.unknown
    }

    /// Renders message number `seq` (1-based).
    pub fn render(&self, seq: u64) -> String {
        let mut out = String::with_capacity(self.max_len.min(1 << 20));
        self.render_into(seq, &mut out);
        out
    }

    /// Appends the rendering of message `seq` to `out`.
    pub fn render_into(&self, seq: u64, out: &mut String) {
        let mut now: Option<SystemTime> = None;
        let mut now = || *now.get_or_insert_with(SystemTime::now);
        let mut rng = rand::rng();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Unique => {
                    let uuid = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
                    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
                    out.push_str(uuid.hyphenated().encode_lower(&mut buf));
                }
                Part::Seq => {
                    let _ = write!(out, "{seq}");
                }
                Part::Timestamp => push_rfc3339(out, now()),
                Part::EpochMs => {
                    let ms = now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_millis())
                        .unwrap_or(0);
                    let _ = write!(out, "{ms}");
                }
                Part::RandInt(lo, hi) => {
                    let _ = write!(out, "{}", rng.random_range(*lo..=*hi));
                }
                Part::RandHex(n) => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let mut left = *n;
                    while left > 0 {
                        let word: u64 = rng.random();
                        for i in 0..left.min(16) {
                            out.push(HEX[((word >> (i * 4)) & 0xf) as usize] as char);
                        }
                        left = left.saturating_sub(16);
                    }
                }
            }
        }
    }
}

impl Part {
    fn max_len(&self) -> usize {
        match self {
            Part::Literal(s) => s.len(),
            Part::Unique => uuid::fmt::Hyphenated::LENGTH,
            Part::Seq => 20,
            // Unix milliseconds have 13 digits until the year 2286.
            Part::EpochMs => 13,
            Part::Timestamp => TIMESTAMP_LEN,
            Part::RandInt(lo, hi) => lo.to_string().len().max(hi.to_string().len()),
            Part::RandHex(n) => *n,
        }
    }
}

/// The placeholder `word` names, `None` if it is not one.
fn placeholder(word: &str) -> Result<Option<Part>, TemplateError> {
    let bad = |reason: &str| TemplateError {
        placeholder: word.to_string(),
        reason: reason.to_string(),
    };
    Ok(Some(match word {
        "unique" => Part::Unique,
        "seq" => Part::Seq,
        "timestamp" => Part::Timestamp,
        "epoch_ms" => Part::EpochMs,
        _ => {
            let Some((name, args)) = word.strip_suffix(')').and_then(|w| w.split_once('(')) else {
                return Ok(None);
            };
            match name {
                "rand_int" => {
                    let (lo, hi) = args
                        .split_once(',')
                        .ok_or_else(|| bad("expected rand_int(MIN,MAX)"))?;
                    let lo: i64 = lo
                        .trim()
                        .parse()
                        .map_err(|_| bad("MIN is not an integer"))?;
                    let hi: i64 = hi
                        .trim()
                        .parse()
                        .map_err(|_| bad("MAX is not an integer"))?;
                    if lo > hi {
                        return Err(bad("MIN is greater than MAX"));
                    }
                    Part::RandInt(lo, hi)
                }
                "rand_hex" => {
                    let n: usize = args
                        .trim()
                        .parse()
                        .map_err(|_| bad("expected rand_hex(N), N a digit count"))?;
                    if n == 0 || n > MAX_HEX {
                        return Err(bad(&format!("N must be 1..={MAX_HEX}")));
                    }
                    Part::RandHex(n)
                }
                _ => return Ok(None),
            }
        }
    }))
}

/// `word` is an identifier (with optional `(args)`): probably meant as a placeholder.
fn looks_like_placeholder(word: &str) -> bool {
    let name = word.split('(').next().unwrap_or(word);
    !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Appends `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn push_rfc3339(out: &mut String, t: SystemTime) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, day) = mc_aws_common::calendar::civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_millis()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn literal_text_is_kept() {
        let t = Template::parse(r#"{"a": "50% off", "b": "%20x%"}"#).unwrap();
        assert!(t.is_constant());
        assert_eq!(t.render(1), r#"{"a": "50% off", "b": "%20x%"}"#);
        assert!(t.unknown_placeholders().is_empty());
    }

    #[test]
    fn placeholders_render() {
        let t = Template::parse(r#"{"id":"%unique%","n":%seq%,"r":%rand_int(-5,5)%}"#).unwrap();
        let out = t.render(42);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["n"], 42);
        assert!((-5..=5).contains(&v["r"].as_i64().unwrap()));
        let id = v["id"].as_str().unwrap();
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert!(out.len() <= t.max_len());
    }

    #[test]
    fn unique_differs_per_render() {
        let t = Template::parse("%unique%").unwrap();
        assert_ne!(t.render(1), t.render(1));
    }

    #[test]
    fn percent_before_placeholder() {
        let t = Template::parse("100% %seq%").unwrap();
        assert_eq!(t.render(7), "100% 7");
        let t = Template::parse("%%seq%%").unwrap();
        assert_eq!(t.render(7), "%7%");
    }

    #[test]
    fn misspelt_placeholders_are_reported() {
        let t = Template::parse("%uniqe% and %unique%").unwrap();
        assert_eq!(t.unknown_placeholders(), ["uniqe"]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(Template::parse("%rand_int(5,1)%").is_err());
        assert!(Template::parse("%rand_int(x,1)%").is_err());
        assert!(Template::parse("%rand_hex(0)%").is_err());
        let e = Template::parse("%rand_hex(99999)%").unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad placeholder %rand_hex(99999)%: N must be 1..=4096"
        );
    }

    #[test]
    fn rand_hex_has_exact_length() {
        for n in [1, 15, 16, 17, 100] {
            let t = Template::parse(&format!("%rand_hex({n})%")).unwrap();
            let s = t.render(1);
            assert_eq!(s.len(), n);
            assert!(s.chars().all(|c| c.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn rfc3339_formatting() {
        let mut s = String::new();
        push_rfc3339(&mut s, UNIX_EPOCH + Duration::from_millis(951_782_400_123));
        assert_eq!(s, "2000-02-29T00:00:00.123Z");
        s.clear();
        push_rfc3339(&mut s, UNIX_EPOCH);
        assert_eq!(s, "1970-01-01T00:00:00.000Z");
    }

    proptest::proptest! {
        #[test]
        fn rendering_never_exceeds_max_len(text in "[a-z%{}\" ]{0,40}", seq in proptest::prelude::any::<u64>()) {
            if let Ok(t) = Template::parse(&text) {
                proptest::prop_assert!(t.render(seq).len() <= t.max_len());
            }
        }

        #[test]
        fn text_without_placeholders_round_trips(text in "[^%]{0,60}") {
            let t = Template::parse(&text).unwrap();
            proptest::prop_assert_eq!(t.render(1), text);
        }
    }
}
