//! `--include` / `--exclude`: which keys a two-bucket run works on, with
//! `aws s3 sync`'s meaning.
//!
//! - A pattern applies to a key's path *below its side's folder*
//!   (`s3://b/img` with `--exclude 'tmp/*'` leaves out `img/tmp/...`), on
//!   the source and on the destination alike, so `verify` checks what `sync`
//!   copied and `sync --delete` deletes only keys the filters select.
//! - Every key is selected unless a filter says otherwise; the filters are
//!   evaluated in command-line order and the last one that matches decides
//!   (`--exclude '*' --include '*.jpg'`: only JPEGs).
//! - Patterns are Python's `fnmatch`, which aws-cli uses: `*` any run of
//!   characters, `/` included; `?` one character; `[seq]`, `[!seq]` a
//!   character in (not in) the set, with ranges `a-z`; no escape character
//!   (`[*]` is a literal `*`); an unterminated `[` is literal.
//!
//! One difference from aws-cli: a pattern that starts with `/` is refused.
//! aws-cli joins it to the folder with `os.path.join`, which then drops the
//! folder, so such a filter silently matches nothing.

use std::fmt;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use crate::twosided::Keyed;

/// One compiled `fnmatch` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// `*`: any run of characters (consecutive stars are one).
    Any,
    /// `?`: one character.
    One,
    /// A literal character.
    Char(char),
    /// `[...]`: one character in (`negated`: not in) the ranges.
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    /// Whether this single-character token matches `c`.
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Any => true,
            Token::One => true,
            Token::Char(l) => *l == c,
            Token::Set { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

impl Pattern {
    /// Compiles `text` as Python's `fnmatch` does; a leading `/` is refused
    /// (see the module documentation).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with('/') {
            return Err(format!(
                "{text:?} starts with '/': patterns are relative to the folder (aws s3 sync would silently match nothing)"
            ));
        }
        let chars: Vec<char> = text.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                '*' if tokens.last() == Some(&Token::Any) => {}
                '*' => tokens.push(Token::Any),
                '?' => tokens.push(Token::One),
                '[' => match set_end(&chars, i) {
                    Some(end) => {
                        tokens.push(set(&chars[i..end]));
                        i = end + 1;
                    }
                    None => tokens.push(Token::Char('[')),
                },
                c => tokens.push(Token::Char(c)),
            }
        }
        Ok(Self {
            text: text.to_string(),
            tokens,
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern matches all of `name`.
    pub fn matches(&self, name: &str) -> bool {
        // Greedy with backtracking to the last `*`: linear for the usual
        // patterns, O(pattern × name) at worst.
        let t = &self.tokens;
        let (mut p, mut at) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while let Some(c) = name[at..].chars().next() {
            match t.get(p) {
                Some(Token::Any) => {
                    star = Some((p, at));
                    p += 1;
                }
                Some(tok) if tok.matches(c) => {
                    p += 1;
                    at += c.len_utf8();
                }
                _ => match star {
                    Some((sp, sat)) => {
                        let skipped = name[sat..].chars().next().map_or(1, char::len_utf8);
                        star = Some((sp, sat + skipped));
                        p = sp + 1;
                        at = sat + skipped;
                    }
                    None => return false,
                },
            }
        }
        t[p..].iter().all(|tok| *tok == Token::Any)
    }
}

/// Where the `[` set starting at `from` (just after the `[`) ends: the index
/// of its `]`, as fnmatch finds it (a `!` and then a `]` right at the start
/// belong to the set).
fn set_end(chars: &[char], from: usize) -> Option<usize> {
    let mut j = from;
    if chars.get(j) == Some(&'!') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    (j..chars.len()).find(|&k| chars[k] == ']')
}

/// The set between `[` and `]`: an optional `!`, then characters and
/// `a-z` ranges; a reversed range (`z-a`) is empty, as in fnmatch.
fn set(body: &[char]) -> Token {
    let negated = body.first() == Some(&'!');
    let body = if negated { &body[1..] } else { body };
    let mut ranges = Vec::new();
    let mut k = 0;
    while k < body.len() {
        if k + 2 < body.len() && body[k + 1] == '-' {
            if body[k] <= body[k + 2] {
                ranges.push((body[k], body[k + 2]));
            }
            k += 3;
        } else {
            ranges.push((body[k], body[k]));
            k += 1;
        }
    }
    Token::Set { negated, ranges }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether a matching filter selects or leaves out a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Include,
    Exclude,
}

impl Action {
    fn flag(self) -> &'static str {
        match self {
            Action::Include => "--include",
            Action::Exclude => "--exclude",
        }
    }
}

/// One `--include` or `--exclude`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub action: Action,
    pub pattern: Pattern,
}

/// The filters of a run, in command-line order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFilter {
    rules: Vec<Rule>,
}

impl KeyFilter {
    pub fn new(rules: Vec<Rule>) -> Self {
        Self { rules }
    }

    /// No filters: every key is selected.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether the key whose path below its folder is `rel` is selected:
    /// the last matching filter decides, and without one, it is.
    pub fn selects(&self, rel: &str) -> bool {
        self.rules
            .iter()
            .rev()
            .find(|r| r.pattern.matches(rel))
            .is_none_or(|r| r.action == Action::Include)
    }

    /// Keeps the items (keys under `folder`, a prefix ending in `/` or
    /// empty) that the filters select; returns how many were left out.
    pub fn retain<T: Keyed>(&self, items: &mut Vec<T>, folder: &str) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let before = items.len();
        items.retain(|e| self.selects(e.key().strip_prefix(folder).unwrap_or(e.key())));
        (before - items.len()) as u64
    }
}

/// The filters as a command line would give them: `--exclude "*" --include "*.jpg"`.
impl fmt::Display for KeyFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self
            .rules
            .iter()
            .map(|r| format!("{} {:?}", r.action.flag(), r.pattern.as_str()))
            .collect();
        f.write_str(&words.join(" "))
    }
}

/// `--include PATTERN` / `--exclude PATTERN` (repeatable, order kept):
/// flatten into a command's arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterArgs {
    pub filter: KeyFilter,
}

const INCLUDE: &str = "include";
const EXCLUDE: &str = "exclude";

impl FromArgMatches for FilterArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut rules: Vec<(usize, Rule)> = Vec::new();
        for (id, action) in [(INCLUDE, Action::Include), (EXCLUDE, Action::Exclude)] {
            let (Ok(Some(values)), Some(at)) = (m.try_get_many::<Pattern>(id), m.indices_of(id))
            else {
                continue;
            };
            rules.extend(at.zip(values).map(|(i, p)| {
                let rule = Rule {
                    action,
                    pattern: p.clone(),
                };
                (i, rule)
            }));
        }
        rules.sort_by_key(|(i, _)| *i);
        Ok(Self {
            filter: KeyFilter::new(rules.into_iter().map(|(_, r)| r).collect()),
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for FilterArgs {
    fn augment_args(cmd: Command) -> Command {
        let arg = |id: &'static str, help: &'static str| {
            Arg::new(id)
                .long(id)
                .value_name("PATTERN")
                .action(ArgAction::Append)
                .value_parser(Pattern::parse)
                .allow_hyphen_values(true)
                .help_heading("Filters")
                .help(help)
        };
        cmd.arg(arg(
            INCLUDE,
            "Select keys matching PATTERN again (after an --exclude), relative to the folder; \
             filters apply in order, the last match wins, as in aws s3 sync (repeatable)",
        ))
        .arg(arg(
            EXCLUDE,
            "Leave out keys matching PATTERN (relative to the folder; * ? [seq] as in \
             aws s3 sync, * also crosses /), on both sides (repeatable)",
        ))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn m(pattern: &str, name: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(name)
    }

    #[test]
    fn fnmatch_basics() {
        assert!(m("*.jpg", "a/b/c.jpg"), "* crosses /");
        assert!(!m("*.jpg", "a.jpeg"));
        assert!(m("tmp/*", "tmp/"));
        assert!(!m("tmp/*", "tmp"));
        assert!(m("?", "é"), "one character, not one byte");
        assert!(!m("?", ""));
        assert!(m("", ""));
        assert!(m("a**b", "ab"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b", "xxaxxbxx"));
        assert!(m("[abc]", "b"));
        assert!(!m("[!abc]", "b"));
        assert!(m("[a-c]x", "bx"));
        assert!(m("[]]", "]"), "a ] first is in the set");
        assert!(m("[!]]", "a"));
        assert!(m("[a-]", "-"), "a trailing - is literal");
        assert!(m("[*]", "*"), "no escaping: [*] is a literal star");
        assert!(m("[", "["), "an unterminated [ is literal");
        assert!(m("a[b", "a[b"));
        assert!(!m("[z-a]", "m"), "a reversed range is empty");
        assert!(m("[!z-a]", "m"), "... and negated matches anything");
        assert!(m("\\*", "\\x"), "a backslash is literal");
        assert!(m("*", "line\nbreak"));
    }

    #[test]
    fn leading_slash_is_refused() {
        let e = Pattern::parse("/tmp/*").unwrap_err();
        assert!(e.contains("relative to the folder"), "{e}");
    }

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        filters: FilterArgs,
    }

    fn filter(args: &[&str]) -> KeyFilter {
        let mut argv = vec!["t"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().filters.filter
    }

    #[test]
    fn the_last_matching_filter_wins_in_command_line_order() {
        let f = filter(&["--exclude", "*", "--include", "*.jpg"]);
        assert!(f.selects("a/b.jpg"));
        assert!(!f.selects("a/b.png"));
        assert_eq!(f.to_string(), r#"--exclude "*" --include "*.jpg""#);
        // The other order: the exclude comes last and wins.
        let f = filter(&["--include", "*.jpg", "--exclude", "*"]);
        assert!(!f.selects("a/b.jpg"));
        let f = filter(&[
            "--exclude",
            "tmp/*",
            "--exclude",
            "*.log",
            "--include",
            "tmp/keep*",
        ]);
        assert!(f.selects("tmp/keep.log"));
        assert!(!f.selects("tmp/x"));
        assert!(!f.selects("a.log"));
        assert!(f.selects("a.txt"));
        assert!(filter(&[]).selects("anything"));
        assert!(filter(&[]).is_empty());
        assert!(Cli::try_parse_from(["t", "--include", "/x"]).is_err());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        const CHARS: &[char] = &['a', 'b', '/', '.', '*', '?', '[', ']', '!', '-', 'é'];

        fn text() -> impl Strategy<Value = String> {
            proptest::collection::vec(proptest::sample::select(CHARS), 0..8)
                .prop_map(|cs| cs.into_iter().collect())
        }

        /// No wildcard, and no leading '/' (refused).
        fn literal() -> impl Strategy<Value = String> {
            let chars = proptest::sample::select(&['a', 'b', '/', '.', 'é'][..]);
            proptest::collection::vec(chars, 0..8).prop_map(|cs| {
                let s: String = cs.into_iter().collect();
                s.trim_start_matches('/').to_string()
            })
        }

        fn rules() -> impl Strategy<Value = Vec<Rule>> {
            let pattern = text().prop_map(|p| p.trim_start_matches('/').to_string());
            proptest::collection::vec((any::<bool>(), pattern), 0..5).prop_map(|rs| {
                rs.into_iter()
                    .map(|(inc, p)| Rule {
                        action: if inc {
                            Action::Include
                        } else {
                            Action::Exclude
                        },
                        pattern: Pattern::parse(&p).unwrap(),
                    })
                    .collect()
            })
        }

        proptest! {
            /// The last matching rule decides; none matching selects.
            #[test]
            fn selects_as_the_last_matching_rule_says(rules in rules(), name in text()) {
                let reference = rules.iter().fold(true, |selected, r| {
                    if r.pattern.matches(&name) { r.action == Action::Include } else { selected }
                });
                prop_assert_eq!(KeyFilter::new(rules).selects(&name), reference);
            }

            /// Both sides alike: the same paths below two folders are kept.
            #[test]
            fn both_sides_keep_the_same_paths(rules in rules(), names in proptest::collection::vec(text(), 0..10)) {
                let f = KeyFilter::new(rules);
                let mut src: Vec<String> = names.iter().map(|n| format!("img/{n}")).collect();
                let mut dst: Vec<String> = names.iter().map(|n| format!("copy/{n}")).collect();
                let left_out = f.retain(&mut src, "img/");
                f.retain(&mut dst, "copy/");
                let rel = |v: &[String], p: &str| -> Vec<String> {
                    v.iter().map(|k| k[p.len()..].to_string()).collect()
                };
                prop_assert_eq!(rel(&src, "img/"), rel(&dst, "copy/"));
                prop_assert_eq!(left_out as usize, names.len() - src.len());
            }

            /// Without wildcards a pattern is the name itself; `*x` is "ends with x".
            #[test]
            fn literals_and_suffixes(lit in literal(), name in literal()) {
                prop_assert_eq!(Pattern::parse(&lit).unwrap().matches(&name), lit == name);
                let suffix = Pattern::parse(&format!("*{lit}")).unwrap();
                prop_assert_eq!(suffix.matches(&name), name.ends_with(&lit));
            }
        }
    }

    #[test]
    fn retain_judges_the_path_below_the_folder() {
        let f = filter(&["--exclude", "tmp/*"]);
        let mut keys: Vec<String> = ["img/tmp/a", "img/tmpx", "img/b"].map(String::from).into();
        assert_eq!(f.retain(&mut keys, "img/"), 1);
        assert_eq!(keys, ["img/tmpx", "img/b"]);
    }
}
