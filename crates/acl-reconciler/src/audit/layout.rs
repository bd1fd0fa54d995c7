//! The audited key space in key order, kept small: every key that has a
//! version with grants besides the bucket owner's (or an unreadable one)
//! with its versions, and runs of owner-only keys as their first and last
//! key. That is what the policy's resources are cut from and what the
//! verifier checks, and it costs memory in proportion to the objects that
//! carry grants, not to the bucket.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::grants::Access;

/// The group of owner-only versions.
pub const OWNER_ONLY: u32 = 0;

/// One version of a kept key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// `None` for the current object of an unversioned listing.
    pub version: Option<String>,
    /// The current version (what a GET without a version id reads).
    pub latest: bool,
    /// Its group; `None` when its ACL could not be read.
    pub group: Option<u32>,
}

/// A stretch of the key space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Consecutive keys whose every version is owner-only.
    Private { first: String, last: String },
    /// A key with a version that is not owner-only or not readable.
    Key { key: String, versions: Vec<Slot> },
}

/// What the audit knows of each group of versions.
#[derive(Debug, Clone, Serialize)]
pub struct GroupStats {
    #[serde(skip)]
    pub access: Access,
    /// Versions in the group (current objects and older versions).
    pub versions: u64,
    /// Of them, current objects.
    pub current: u64,
    pub bytes: u64,
    /// A few keys, for people.
    pub examples: Vec<String>,
}

/// Groups by [`Access`]; group 0 is owner-only.
#[derive(Debug, Clone)]
pub struct Groups {
    pub list: Vec<GroupStats>,
    index: HashMap<Access, u32>,
}

const EXAMPLES: usize = 3;

impl Default for Groups {
    fn default() -> Self {
        let mut g = Self {
            list: Vec::new(),
            index: HashMap::new(),
        };
        g.id(&Access::default());
        g
    }
}

impl Groups {
    /// The id of `access`'s group (a new one the first time).
    pub fn id(&mut self, access: &Access) -> u32 {
        if let Some(id) = self.index.get(access) {
            return *id;
        }
        let id = self.list.len() as u32;
        self.index.insert(access.clone(), id);
        self.list.push(GroupStats {
            access: access.clone(),
            versions: 0,
            current: 0,
            bytes: 0,
            examples: Vec::new(),
        });
        id
    }

    /// Counts one version of `key` in group `id`.
    pub fn count(&mut self, id: u32, key: &str, latest: bool, bytes: u64) {
        let g = &mut self.list[id as usize];
        g.versions += 1;
        g.current += u64::from(latest);
        g.bytes += bytes;
        if g.examples.len() < EXAMPLES && !g.examples.iter().any(|k| k == key) {
            g.examples.push(key.to_string());
        }
    }

    pub fn access(&self, id: u32) -> &Access {
        &self.list[id as usize].access
    }

    /// Adds another run's groups (a chunk's): returns how its ids map to ours.
    pub fn merge(&mut self, other: Groups) -> Vec<u32> {
        let mut map = Vec::with_capacity(other.list.len());
        for g in other.list {
            let id = self.id(&g.access);
            let mine = &mut self.list[id as usize];
            mine.versions += g.versions;
            mine.current += g.current;
            mine.bytes += g.bytes;
            for e in g.examples {
                if mine.examples.len() < EXAMPLES && !mine.examples.contains(&e) {
                    mine.examples.push(e);
                }
            }
            map.push(id);
        }
        map
    }
}

/// Items of one listed span, in key order.
#[derive(Debug, Default)]
pub struct Span {
    pub items: Vec<Item>,
}

impl Span {
    /// Adds the next key (keys come in order).
    pub fn push(&mut self, key: &str, versions: Vec<Slot>) {
        let private = versions.iter().all(|s| s.group == Some(OWNER_ONLY));
        match (private, self.items.last_mut()) {
            (true, Some(Item::Private { last, .. })) => *last = key.to_string(),
            (true, _) => self.items.push(Item::Private {
                first: key.to_string(),
                last: key.to_string(),
            }),
            (false, _) => self.items.push(Item::Key {
                key: key.to_string(),
                versions,
            }),
        }
    }

    /// Renumbers groups after [`Groups::merge`].
    pub fn renumber(&mut self, map: &[u32]) {
        for item in &mut self.items {
            if let Item::Key { versions, .. } = item {
                for s in versions {
                    s.group = s.group.map(|g| map[g as usize]);
                }
            }
        }
    }

    /// Keys kept whole (not in a private run).
    pub fn kept(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i, Item::Key { .. }))
            .count()
    }
}

/// The whole audited space in key order.
#[derive(Debug, Default)]
pub struct Layout {
    pub items: Vec<Item>,
}

impl Layout {
    /// Spans by where they start (`None`: the first), joined in order;
    /// private runs that meet across spans become one.
    pub fn assemble(spans: BTreeMap<Option<String>, Span>) -> Self {
        let mut items: Vec<Item> = Vec::new();
        for span in spans.into_values() {
            for item in span.items {
                match (item, items.last_mut()) {
                    (Item::Private { last, .. }, Some(Item::Private { last: prev, .. })) => {
                        *prev = last
                    }
                    (item, _) => items.push(item),
                }
            }
        }
        Self { items }
    }

    /// The kept keys.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &[Slot])> + '_ {
        self.items.iter().filter_map(|i| match i {
            Item::Key { key, versions } => Some((key.as_str(), versions.as_slice())),
            Item::Private { .. } => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(group: u32) -> Slot {
        Slot {
            version: None,
            latest: true,
            group: Some(group),
        }
    }

    #[test]
    fn private_keys_become_runs_across_spans() {
        let mut a = Span::default();
        a.push("a", vec![slot(0)]);
        a.push("b", vec![slot(1)]);
        a.push("c", vec![slot(0)]);
        let mut b = Span::default();
        b.push("d", vec![slot(0)]);
        b.push("e", vec![slot(0)]);
        let mut spans = BTreeMap::new();
        spans.insert(Some("c".to_string()), b);
        spans.insert(None, a);
        let layout = Layout::assemble(spans);
        assert_eq!(
            layout.items,
            [
                Item::Private {
                    first: "a".into(),
                    last: "a".into()
                },
                Item::Key {
                    key: "b".into(),
                    versions: vec![slot(1)]
                },
                Item::Private {
                    first: "c".into(),
                    last: "e".into()
                },
            ]
        );
    }
}
