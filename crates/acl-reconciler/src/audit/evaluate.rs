//! Our evaluator of a bucket policy, for the requests the audit compares:
//! a GET of one object version by an anonymous caller or by an account.
//! It reads what S3's evaluation reads (Principal, Action, Resource with
//! IAM's wildcards and `${*}`/`${?}`/`${$}`, the `s3:ExistingObjectTag`
//! condition of the tag fallback) and says when a statement depends on
//! something it cannot know (other conditions, NotPrincipal, IAM users of
//! an account, policy variables). Such a statement is left out: the audit
//! compares the same requests before and after the switch, and a statement
//! of the bucket's policy that applies (or not) applies alike to both, so
//! what differs is decided by the others; [`uncertain`] counts them for
//! the report.

use serde_json::Value;

/// The tag of the tag fallback: its value names an object version's group.
pub const TAG_KEY: &str = "acl-reconciler-grants";

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who<'a> {
    /// An unsigned request.
    Anonymous,
    /// An account's root (or any of its principals its own policies let
    /// through): its canonical ID and, when known, its account ID.
    Account {
        canonical: &'a str,
        id: Option<&'a str>,
    },
}

/// One request.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub who: Who<'a>,
    /// `s3:GetObject` or `s3:GetObjectVersion`.
    pub action: &'a str,
    /// The object's ARN.
    pub resource: &'a str,
    /// The version's `acl-reconciler-grants` tag.
    pub tag: Option<&'a str>,
}

/// What a policy says to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// Nothing applies (S3 then denies unless an ACL allows).
    Neither,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    Yes,
    No,
    /// Depends on what the evaluator cannot know.
    Unsure,
}

impl Fit {
    fn and(self, other: Fit) -> Fit {
        match (self, other) {
            (Fit::No, _) | (_, Fit::No) => Fit::No,
            (Fit::Yes, Fit::Yes) => Fit::Yes,
            _ => Fit::Unsure,
        }
    }

    fn any(fits: impl Iterator<Item = Fit>) -> Fit {
        let mut out = Fit::No;
        for f in fits {
            match f {
                Fit::Yes => return Fit::Yes,
                Fit::Unsure => out = Fit::Unsure,
                Fit::No => {}
            }
        }
        out
    }
}

/// The decision of `statements` for `ask`. With `restrict_public`
/// (RestrictPublicBuckets) public Allow statements do not count.
pub fn decide(statements: &[Value], ask: &Ask<'_>, restrict_public: bool) -> Decision {
    let mut allowed = false;
    for s in statements {
        let deny = s.get("Effect").and_then(Value::as_str) == Some("Deny");
        if !deny && restrict_public && is_public(s) {
            continue;
        }
        match applies(s, ask) {
            Fit::Yes if deny => return Decision::Deny,
            Fit::Yes => allowed = true,
            _ => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::Neither
    }
}

/// Whether a statement grants to everyone (`"*"`), which Block Public
/// Access treats as public whatever its conditions say (none of ours names
/// the keys that would make it non-public).
pub fn is_public(s: &Value) -> bool {
    match s.get("Principal") {
        Some(Value::String(p)) => p == "*",
        Some(Value::Object(m)) => strings(m.get("AWS")).any(|p| p == "*"),
        _ => false,
    }
}

/// Statements that depend on what the evaluator cannot know.
pub fn uncertain(statements: &[Value]) -> usize {
    statements
        .iter()
        .filter(|s| {
            s.get("NotPrincipal").is_some()
                || s.get("Condition").is_some_and(|c| !known_condition(c))
        })
        .count()
}

fn applies(s: &Value, ask: &Ask<'_>) -> Fit {
    let principal = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(p), None) => principal(p, ask.who),
        _ => Fit::Unsure,
    };
    let action = listed(s, "Action", "NotAction", |p| glob(p, ask.action, true));
    let resource = listed(s, "Resource", "NotResource", |p| resource(p, ask.resource));
    let condition = s
        .get("Condition")
        .map_or(Fit::Yes, |c| condition(c, ask.tag));
    principal.and(action).and(resource).and(condition)
}

fn strings(v: Option<&Value>) -> Box<dyn Iterator<Item = &str> + '_> {
    match v {
        Some(Value::String(s)) => Box::new(std::iter::once(s.as_str())),
        Some(Value::Array(a)) => Box::new(a.iter().filter_map(Value::as_str)),
        _ => Box::new(std::iter::empty()),
    }
}

/// `Action`/`Resource` (any pattern fits) or `NotAction`/`NotResource`
/// (no pattern fits).
fn listed(s: &Value, yes: &str, not: &str, fits: impl Fn(&str) -> Fit) -> Fit {
    if let Some(v) = s.get(yes) {
        return Fit::any(strings(Some(v)).map(&fits));
    }
    match s.get(not) {
        Some(v) => match Fit::any(strings(Some(v)).map(&fits)) {
            Fit::Yes => Fit::No,
            Fit::No => Fit::Yes,
            Fit::Unsure => Fit::Unsure,
        },
        None => Fit::No,
    }
}

fn principal(p: &Value, who: Who<'_>) -> Fit {
    let map = match p {
        Value::String(s) if s == "*" => return Fit::Yes,
        Value::Object(m) => m,
        _ => return Fit::No,
    };
    let aws = strings(map.get("AWS")).map(|entry| aws_principal(entry, who));
    let canonical = strings(map.get("CanonicalUser")).map(|c| match who {
        Who::Account { canonical, .. } if canonical == c => Fit::Yes,
        _ => Fit::No,
    });
    Fit::any(aws.chain(canonical))
}

fn aws_principal(entry: &str, who: Who<'_>) -> Fit {
    if entry == "*" {
        return Fit::Yes;
    }
    let Who::Account { id: Some(id), .. } = who else {
        return Fit::No;
    };
    let account = entry
        .strip_prefix("arn:aws:iam::")
        .or_else(|| entry.strip_prefix("arn:aws-cn:iam::"))
        .or_else(|| entry.strip_prefix("arn:aws-us-gov:iam::"))
        .map_or(entry, |rest| rest.split(':').next().unwrap_or(""));
    let whole_account = entry == id || entry.ends_with(":root");
    match (account == id, whole_account) {
        (true, true) => Fit::Yes,
        // One user or role of the account: some of its principals.
        (true, false) => Fit::Unsure,
        _ => Fit::No,
    }
}

fn resource(pattern: &str, arn: &str) -> Fit {
    let mut tokens = Vec::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                return Fit::Unsure;
            };
            match &after[..end] {
                "*" => tokens.push(Token::Char('*')),
                "?" => tokens.push(Token::Char('?')),
                "$" => tokens.push(Token::Char('$')),
                // A variable (aws:username, ...): depends on the caller.
                _ => return Fit::Unsure,
            }
            rest = &after[end + 1..];
            continue;
        }
        tokens.push(match c {
            '*' => Token::Any,
            '?' => Token::One,
            c => Token::Char(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    if matches(&tokens, &arn.chars().collect::<Vec<_>>(), false) {
        Fit::Yes
    } else {
        Fit::No
    }
}

fn glob(pattern: &str, text: &str, ignore_case: bool) -> Fit {
    let tokens: Vec<Token> = pattern
        .chars()
        .map(|c| match c {
            '*' => Token::Any,
            '?' => Token::One,
            c => Token::Char(c),
        })
        .collect();
    if matches(&tokens, &text.chars().collect::<Vec<_>>(), ignore_case) {
        Fit::Yes
    } else {
        Fit::No
    }
}

#[derive(Debug, Clone, Copy)]
enum Token {
    Any,
    One,
    Char(char),
}

/// Glob matching with backtracking over the last `*` (linear in practice).
fn matches(p: &[Token], t: &[char], ignore_case: bool) -> bool {
    let eq = |a: char, b: char| {
        if ignore_case {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        match p.get(i) {
            Some(Token::Any) => {
                star = Some((i, j));
                i += 1;
            }
            Some(Token::One) => {
                i += 1;
                j += 1;
            }
            Some(Token::Char(c)) if eq(*c, t[j]) => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((si, sj)) => {
                    i = si + 1;
                    j = sj + 1;
                    star = Some((si, sj + 1));
                }
                None => return false,
            },
        }
    }
    p[i..].iter().all(|t| matches!(t, Token::Any))
}

/// A Condition block: only `StringEquals`/`StringLike` on our tag are
/// known; `tag` is the version's tag (`None`: it has none).
fn condition(c: &Value, tag: Option<&str>) -> Fit {
    if !known_condition(c) {
        return Fit::Unsure;
    }
    let Value::Object(ops) = c else {
        return Fit::Unsure;
    };
    let mut fit = Fit::Yes;
    for (op, tests) in ops {
        let like = op == "StringLike";
        for values in tests.as_object().into_iter().flat_map(|t| t.values()) {
            let any = tag.is_some_and(|tag| {
                strings(Some(values)).any(|v| {
                    if like {
                        glob(v, tag, false) == Fit::Yes
                    } else {
                        v == tag
                    }
                })
            });
            fit = fit.and(if any { Fit::Yes } else { Fit::No });
        }
    }
    fit
}

/// Whether a Condition block tests nothing but our tag, with
/// `StringEquals` or `StringLike`.
fn known_condition(c: &Value) -> bool {
    let key = format!("s3:ExistingObjectTag/{TAG_KEY}");
    c.as_object().is_some_and(|ops| {
        ops.iter().all(|(op, tests)| {
            matches!(op.as_str(), "StringEquals" | "StringLike")
                && tests
                    .as_object()
                    .is_some_and(|t| t.keys().all(|k| *k == key))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ask<'a>(who: Who<'a>, resource: &'a str, tag: Option<&'a str>) -> Ask<'a> {
        Ask {
            who,
            action: "s3:GetObject",
            resource,
            tag,
        }
    }

    const ACCT: Who<'static> = Who::Account {
        canonical: "c1",
        id: Some("111111111111"),
    };

    #[test]
    fn principals_actions_resources_and_our_tag() {
        let p = [
            json!({"Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"arn:aws:s3:::b/pub/*"}),
            json!({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/x${*}"}),
            json!({"Effect":"Allow","Principal":{"CanonicalUser":"c2"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/t*",
                   "Condition":{"StringEquals":{"s3:ExistingObjectTag/acl-reconciler-grants":["g1"]}}}),
            json!({"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/pub/secret"}),
        ];
        let d = |a: Ask<'_>| decide(&p, &a, false);
        assert_eq!(
            d(ask(Who::Anonymous, "arn:aws:s3:::b/pub/a", None)),
            Decision::Allow
        );
        assert_eq!(
            d(ask(Who::Anonymous, "arn:aws:s3:::b/pub/secret", None)),
            Decision::Deny
        );
        assert_eq!(
            d(ask(Who::Anonymous, "arn:aws:s3:::b/x*", None)),
            Decision::Neither
        );
        assert_eq!(d(ask(ACCT, "arn:aws:s3:::b/x*", None)), Decision::Allow);
        assert_eq!(d(ask(ACCT, "arn:aws:s3:::b/xy", None)), Decision::Neither);
        let c2 = Who::Account {
            canonical: "c2",
            id: None,
        };
        assert_eq!(d(ask(c2, "arn:aws:s3:::b/t1", Some("g1"))), Decision::Allow);
        assert_eq!(
            d(ask(c2, "arn:aws:s3:::b/t1", Some("g2"))),
            Decision::Neither
        );
        assert_eq!(d(ask(c2, "arn:aws:s3:::b/t1", None)), Decision::Neither);
        // RestrictPublicBuckets: the public Allow no longer counts.
        assert_eq!(
            decide(&p, &ask(Who::Anonymous, "arn:aws:s3:::b/pub/a", None), true),
            Decision::Neither
        );
        assert!(is_public(&p[0]) && !is_public(&p[1]));
    }

    #[test]
    fn what_it_cannot_know_is_left_out() {
        let p = [
            json!({"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}),
            json!({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/u"},"Action":"s3:GetObject","Resource":"*"}),
        ];
        assert_eq!(
            decide(&p, &ask(ACCT, "arn:aws:s3:::b/k", None), false),
            Decision::Neither
        );
        let deny = [
            json!({"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}),
        ];
        assert_eq!(
            decide(&deny, &ask(ACCT, "arn:aws:s3:::b/k", None), false),
            Decision::Neither
        );
        assert_eq!(uncertain(&p), 1);
        assert_eq!(uncertain(&deny), 1);
    }
}
