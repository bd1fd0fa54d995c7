//! The proposed bucket policy: for every reader the ACLs let read (anyone,
//! or an account), one statement allowing `s3:GetObject` and
//! `s3:GetObjectVersion` on exactly the objects it could read, by key and
//! prefix where the readers of a key agree across its versions, else by the
//! `acl-reconciler-grants` tag (tags belong to a version); merged with the
//! bucket's policy and kept under S3's 20 KB.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Value};

use super::cover::{cover, escape, Resource};
use super::evaluate::TAG_KEY;
use super::grants::Reader;
use super::layout::{Groups, Layout, Slot, OWNER_ONLY};

/// S3's limit on a bucket policy's size.
pub const POLICY_LIMIT: usize = 20 * 1024;
/// Our statements' Sids start with this; an earlier proposal's statements
/// are replaced, not repeated.
pub const SID_PREFIX: &str = "AclReconciler";
const ACTIONS: [&str; 2] = ["s3:GetObject", "s3:GetObjectVersion"];

/// What the proposal is cut for.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub bucket: String,
    /// The audited folder (`""`: the whole bucket).
    pub prefix: String,
    /// Account IDs of canonical user IDs (`--account`).
    pub accounts: BTreeMap<String, String>,
    /// Keys only, no prefix wildcards.
    pub exact_keys: bool,
    /// Public ACL grants are ignored already (IgnorePublicAcls).
    pub public_ignored: bool,
    /// Not every kept key is in the layout (memory cap): tags only.
    pub partial_layout: bool,
}

/// How one reader's access is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Mode {
    /// A statement on these keys and prefixes.
    Keys { resources: Vec<Resource> },
    /// A statement on the folder for versions tagged with these groups.
    Tags { groups: Vec<String> },
}

/// One reader's statement.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub reader: Reader,
    pub sid: String,
    #[serde(flatten)]
    pub mode: Mode,
    /// The groups whose versions it covers.
    #[serde(skip)]
    pub group_ids: BTreeSet<u32>,
    /// Why keys cannot do (versions of a key disagree, memory cap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_tags: Option<String>,
}

/// The whole proposal.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub targets: Vec<Target>,
    /// The bucket's policy with ours merged in (our earlier statements replaced).
    pub document: Value,
    /// Bytes of the document as written (compact JSON).
    pub size: usize,
    /// Whether it is under [`POLICY_LIMIT`].
    pub fits: bool,
}

impl Proposal {
    /// Our statements only.
    pub fn ours(&self) -> Vec<Value> {
        statements(&self.document)
            .into_iter()
            .filter(is_ours)
            .collect()
    }

    /// Whether the bucket's policy already holds exactly our statements
    /// (read back as S3 may write them: a one-element list as a string,
    /// lists in another order).
    pub fn in_place(&self, existing: &[Value]) -> bool {
        let set = |v: Vec<Value>| -> BTreeSet<String> {
            v.iter().map(|s| normal(s).to_string()).collect()
        };
        let theirs: Vec<Value> = existing.iter().filter(|s| is_ours(s)).cloned().collect();
        set(self.ours()) == set(theirs)
    }

    /// Groups whose versions must carry the tag: (group id, tag value).
    pub fn tagged_groups(&self) -> BTreeSet<u32> {
        self.targets
            .iter()
            .filter(|t| matches!(t.mode, Mode::Tags { .. }))
            .flat_map(|t| t.group_ids.iter().copied())
            .collect()
    }
}

/// A statement in one spelling: every string a one-element list, lists sorted.
fn normal(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::Array(vec![v.clone()]),
        Value::Array(a) => {
            let mut items: Vec<Value> = a
                .iter()
                .flat_map(|x| match normal(x) {
                    Value::Array(inner) if x.is_string() => inner,
                    other => vec![other],
                })
                .collect();
            items.sort_by_key(|x| x.to_string());
            Value::Array(items)
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), normal(x))).collect()),
        other => other.clone(),
    }
}

/// The statements of a policy document (one statement or a list).
pub fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

pub fn is_ours(s: &Value) -> bool {
    s.get("Sid")
        .and_then(Value::as_str)
        .is_some_and(|sid| sid.starts_with(SID_PREFIX))
}

/// Proposes the statements that keep what the ACLs let readers read.
pub fn propose(
    layout: &Layout,
    groups: &Groups,
    existing: Option<&Value>,
    scope: &Scope,
) -> Proposal {
    let mut targets: Vec<Target> = readers(groups, scope)
        .into_iter()
        .map(|(reader, ids)| target(layout, groups, scope, reader, ids))
        .collect();
    loop {
        let document = merged(existing, &targets, scope);
        let size = serde_json::to_string(&document).map_or(usize::MAX, |s| s.len());
        let fits = size <= POLICY_LIMIT;
        // Too big: the reader with the most resources goes to tags.
        let biggest = targets
            .iter_mut()
            .filter_map(|t| match &t.mode {
                Mode::Keys { resources } => Some((resources.len(), t)),
                Mode::Tags { .. } => None,
            })
            .max_by_key(|(n, _)| *n);
        match biggest {
            Some((_, t)) if !fits => {
                t.mode = tags_for(groups, &t.group_ids);
                t.why_tags = Some("its keys and prefixes would not fit in 20 KB".into());
            }
            _ => {
                return Proposal {
                    targets,
                    document,
                    size,
                    fits,
                }
            }
        }
    }
}

/// Each reader and the groups that let it read.
fn readers(groups: &Groups, scope: &Scope) -> BTreeMap<Reader, BTreeSet<u32>> {
    let mut out: BTreeMap<Reader, BTreeSet<u32>> = BTreeMap::new();
    for (id, g) in groups.list.iter().enumerate().skip(1) {
        for r in g.access.readers() {
            if r == Reader::Public && scope.public_ignored {
                continue;
            }
            out.entry(r).or_default().insert(id as u32);
        }
    }
    out
}

fn target(
    layout: &Layout,
    groups: &Groups,
    scope: &Scope,
    reader: Reader,
    ids: BTreeSet<u32>,
) -> Target {
    let grants = |s: &Slot| s.group.is_some_and(|g| ids.contains(&g));
    let mixed = layout.keys().any(|(_, versions)| {
        let readable: Vec<&Slot> = versions.iter().filter(|s| s.group.is_some()).collect();
        readable.iter().any(|s| grants(s)) && !readable.iter().all(|s| grants(s))
    });
    let why_tags = if scope.partial_layout {
        Some("too many objects carry grants to list their keys (memory cap)".to_string())
    } else if mixed {
        Some("the versions of some keys differ in who may read them (a tag belongs to a version, a key to all of them)".to_string())
    } else {
        None
    };
    let mode = match why_tags {
        Some(_) => tags_for(groups, &ids),
        None => Mode::Keys {
            resources: cover(
                &layout.items,
                &scope.prefix,
                |v| v.iter().all(|s| s.group.is_some() && grants(s)),
                scope.exact_keys,
            ),
        },
    };
    Target {
        sid: sid(&reader, scope),
        reader,
        mode,
        group_ids: ids,
        why_tags,
    }
}

fn tags_for(groups: &Groups, ids: &BTreeSet<u32>) -> Mode {
    Mode::Tags {
        groups: ids
            .iter()
            .filter(|id| **id != OWNER_ONLY)
            .map(|id| groups.access(*id).fingerprint())
            .collect(),
    }
}

fn sid(reader: &Reader, scope: &Scope) -> String {
    match reader {
        Reader::Public => format!("{SID_PREFIX}PublicRead"),
        Reader::Account(c) => match scope.accounts.get(c) {
            Some(id) => format!("{SID_PREFIX}Read{id}"),
            None => format!("{SID_PREFIX}Read{}", &c[..c.len().min(16)]),
        },
    }
}

/// The policy principal for a reader.
pub fn principal(reader: &Reader, scope: &Scope) -> Value {
    match reader {
        Reader::Public => json!("*"),
        Reader::Account(c) => match scope.accounts.get(c) {
            Some(id) => json!({ "AWS": format!("arn:aws:iam::{id}:root") }),
            None => json!({ "CanonicalUser": c }),
        },
    }
}

fn statement(t: &Target, scope: &Scope) -> Value {
    let mut s = json!({
        "Sid": t.sid,
        "Effect": "Allow",
        "Principal": principal(&t.reader, scope),
        "Action": ACTIONS,
    });
    match &t.mode {
        Mode::Keys { resources } => {
            let arns: Vec<String> = resources.iter().map(|r| r.arn(&scope.bucket)).collect();
            s["Resource"] = match arns.as_slice() {
                [one] => json!(one),
                _ => json!(arns),
            };
        }
        Mode::Tags { groups } => {
            s["Resource"] = json!(format!(
                "arn:aws:s3:::{}/{}*",
                scope.bucket,
                escape(&scope.prefix)
            ));
            s["Condition"] = json!({
                "StringEquals": { format!("s3:ExistingObjectTag/{TAG_KEY}"): groups }
            });
        }
    }
    s
}

/// The bucket's statements (but ours from an earlier run) and the new ones.
fn merged(existing: Option<&Value>, targets: &[Target], scope: &Scope) -> Value {
    let mut doc = match existing {
        Some(Value::Object(m)) => Value::Object(m.clone()),
        _ => json!({}),
    };
    let mut all: Vec<Value> = existing
        .map(statements)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !is_ours(s))
        .collect();
    // Resources with a keyless target (nothing to cover) need no statement.
    all.extend(
        targets
            .iter()
            .filter(|t| !matches!(&t.mode, Mode::Keys { resources } if resources.is_empty()))
            .map(|t| statement(t, scope)),
    );
    doc["Version"] = json!("2012-10-17");
    doc["Statement"] = json!(all);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn in_place_reads_past_how_s3_spells_a_policy() {
        let ours = json!({"Sid":"AclReconcilerPublicRead","Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":["arn:aws:s3:::b/a","arn:aws:s3:::b/c*"]});
        let proposal = Proposal {
            targets: Vec::new(),
            document: json!({"Version":"2012-10-17","Statement":[ours]}),
            size: 0,
            fits: true,
        };
        let respelled = json!({"Sid":"AclReconcilerPublicRead","Effect":"Allow","Principal":"*","Action":["s3:GetObjectVersion","s3:GetObject"],"Resource":["arn:aws:s3:::b/c*","arn:aws:s3:::b/a"]});
        let other =
            json!({"Sid":"Theirs","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"});
        assert!(proposal.in_place(&[other.clone(), respelled]));
        assert!(!proposal.in_place(&[other]));
        let one = Proposal {
            document: json!({"Statement":[{"Sid":"AclReconcilerX","Resource":["r"]}]}),
            ..proposal
        };
        assert!(one.in_place(&[json!({"Sid":"AclReconcilerX","Resource":"r"})]));
    }
}
