//! The narrowest resources that cover exactly a set of keys: for each key
//! of the set, its shortest prefix that no key outside the set starts with
//! (the keys starting with a prefix are one stretch of the sorted key space,
//! so only the nearest outside keys on either side matter); a prefix that
//! covers one key only is written as that key.

use serde::Serialize;

use super::layout::{Item, Slot};

/// A policy resource below the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// Exactly this key.
    Key(String),
    /// Every key starting with this (also keys written there later).
    Prefix(String),
}

impl Resource {
    /// The ARN, with IAM's `${*}`, `${?}` and `${$}` for those characters
    /// in keys (they would be wildcards or variables).
    pub fn arn(&self, bucket: &str) -> String {
        match self {
            Resource::Key(k) => format!("arn:aws:s3:::{bucket}/{}", escape(k)),
            Resource::Prefix(p) => format!("arn:aws:s3:::{bucket}/{}*", escape(p)),
        }
    }
}

/// A key or prefix as literal text in a policy resource.
pub fn escape(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        match c {
            '*' => out.push_str("${*}"),
            '?' => out.push_str("${?}"),
            '$' => out.push_str("${$}"),
            c => out.push(c),
        }
    }
    out
}

/// The resources covering exactly the kept keys for which `wanted` holds,
/// within `prefix` (the audited folder); `exact`: keys only, no prefixes.
pub fn cover(
    items: &[Item],
    prefix: &str,
    wanted: impl Fn(&[Slot]) -> bool,
    exact: bool,
) -> Vec<Resource> {
    let inside: Vec<Option<bool>> = items
        .iter()
        .map(|i| match i {
            Item::Key { versions, .. } => Some(wanted(versions)),
            Item::Private { .. } => None,
        })
        .collect();
    let left = nearest_outside(items, &inside, false);
    let right = nearest_outside(items, &inside, true);
    let mut out: Vec<Resource> = Vec::new();
    let mut run: Option<(String, Vec<&str>)> = None;
    for (i, item) in items.iter().enumerate() {
        let Item::Key { key, .. } = item else {
            flush(&mut run, &mut out);
            continue;
        };
        if inside[i] != Some(true) {
            flush(&mut run, &mut out);
            continue;
        }
        if exact {
            out.push(Resource::Key(key.clone()));
            continue;
        }
        let p = shortest_pure(key, prefix, [left[i], right[i]]);
        match (&mut run, p) {
            (Some((rp, keys)), Some(p)) if *rp == p => keys.push(key),
            (_, p) => {
                flush(&mut run, &mut out);
                match p {
                    Some(p) => run = Some((p, vec![key])),
                    None => out.push(Resource::Key(key.clone())),
                }
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

fn flush(run: &mut Option<(String, Vec<&str>)>, out: &mut Vec<Resource>) {
    if let Some((p, keys)) = run.take() {
        out.push(match keys.as_slice() {
            [one] => Resource::Key(one.to_string()),
            _ => Resource::Prefix(p),
        });
    }
}

/// For each kept key, the common prefix length (bytes) with the nearest key
/// outside the set before it (`backwards`: after it); `None` when there is none.
fn nearest_outside(items: &[Item], inside: &[Option<bool>], backwards: bool) -> Vec<Option<usize>> {
    let mut out = vec![None; items.len()];
    let mut near: Option<&str> = None;
    let order: Box<dyn Iterator<Item = usize>> = if backwards {
        Box::new((0..items.len()).rev())
    } else {
        Box::new(0..items.len())
    };
    for i in order {
        match &items[i] {
            Item::Private { first, last } => near = Some(if backwards { first } else { last }),
            Item::Key { key, .. } if inside[i] == Some(true) => {
                out[i] = near.map(|n| common_len(key, n));
            }
            Item::Key { key, .. } => near = Some(key),
        }
    }
    out
}

/// The shortest prefix of `key` (at least `base`) that neither neighbour
/// starts with; `None` when `key` itself starts a neighbour (only the exact
/// key is safe).
fn shortest_pure(key: &str, base: &str, neighbours: [Option<usize>; 2]) -> Option<String> {
    let len = match neighbours.iter().flatten().max() {
        None => base.len(),
        Some(l) => l + 1,
    };
    if len > key.len() {
        return None;
    }
    let mut end = len.max(base.len());
    while !key.is_char_boundary(end) {
        end += 1;
    }
    Some(key[..end].to_string())
}

fn common_len(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str, wanted: bool) -> Item {
        Item::Key {
            key: k.into(),
            versions: vec![Slot {
                version: None,
                latest: true,
                group: Some(u32::from(wanted)),
            }],
        }
    }

    fn private(a: &str, b: &str) -> Item {
        Item::Private {
            first: a.into(),
            last: b.into(),
        }
    }

    fn run(items: &[Item], prefix: &str) -> Vec<Resource> {
        cover(items, prefix, |v| v[0].group == Some(1), false)
    }

    #[test]
    fn prefixes_stop_at_the_nearest_outsiders() {
        let items = [
            private("a/0", "a/9"),
            key("img/1", true),
            key("img/2", true),
            key("img/3", true),
            private("index.html", "index.html"),
            key("z", true),
        ];
        assert_eq!(
            run(&items, ""),
            [Resource::Prefix("im".into()), Resource::Key("z".into())]
        );
        // A key that starts a private one can only be itself.
        let items = [key("a", true), key("ab", false)];
        assert_eq!(run(&items, ""), [Resource::Key("a".into())]);
        // Everything wanted: the folder itself.
        let items = [key("p/a", true), key("p/b", true)];
        assert_eq!(run(&items, "p/"), [Resource::Prefix("p/".into())]);
        assert_eq!(
            Resource::Key("a*b?c$".into()).arn("bk"),
            "arn:aws:s3:::bk/a${*}b${?}c${$}"
        );
    }
}
