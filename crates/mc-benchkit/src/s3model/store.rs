//! In-memory object store with a sorted index per bucket.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::time::SystemTime;

use bytes::Bytes;
use md5::{Digest, Md5};

/// One stored object.
#[derive(Debug, Clone)]
pub struct ObjectRec {
    pub body: Bytes,
    /// ETag without quotes.
    pub etag: String,
    pub last_modified: SystemTime,
    pub content_type: Option<String>,
    pub metadata: HashMap<String, String>,
    pub storage_class: String,
    pub acl: Vec<GrantRec>,
    pub tags: Vec<(String, String)>,
}

/// One ACL grant: `(grantee, permission)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRec {
    pub grantee: GranteeRec,
    pub permission: String,
}

/// An ACL grantee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GranteeRec {
    CanonicalUser {
        id: String,
        display_name: Option<String>,
    },
    Group {
        uri: String,
    },
    Email {
        email: String,
    },
}

/// A multipart upload in progress.
#[derive(Debug, Clone)]
pub struct Upload {
    pub bucket: String,
    pub key: String,
    pub parts: BTreeMap<i32, (Bytes, String)>,
    pub template: ObjectRec,
}

/// One bucket.
#[derive(Debug, Default)]
pub struct BucketState {
    pub created: Option<SystemTime>,
    pub objects: BTreeMap<String, ObjectRec>,
    /// Object Ownership (`BucketOwnerEnforced`, `BucketOwnerPreferred`, `ObjectWriter`);
    /// `None`: no ownership controls, ACLs enabled (as on buckets made before April 2023).
    pub ownership: Option<String>,
}

/// One entry of a listing page; a key comes with its value, so serving a page
/// does not look every key up again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListEntry<'a, V> {
    Key(String, &'a V),
    CommonPrefix(String),
}

/// Where a listing resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// Strictly after this key.
    After(String),
    /// At this key or later.
    From(String),
}

/// A listing page: entries plus where the next page resumes (when truncated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage<'a, V> {
    pub entries: Vec<ListEntry<'a, V>>,
    pub next: Option<Resume>,
}

/// The smallest string greater than every string starting with `p`, if any.
pub fn prefix_successor(p: &str) -> Option<String> {
    let mut chars: Vec<char> = p.chars().collect();
    while let Some(c) = chars.pop() {
        let mut n = c as u32 + 1;
        if (0xD800..0xE000).contains(&n) {
            n = 0xE000;
        }
        if let Some(nc) = char::from_u32(n) {
            chars.push(nc);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Lists `objects` in key order: keys starting with `prefix` at or after `resume`, rolled up into
/// common prefixes at the first `delimiter` after the prefix. A common prefix equal to the
/// `resume` key (as returned in a v1 `NextMarker`) is not repeated. Costs O(log n + page).
pub fn list_page<'a, V>(
    objects: &'a BTreeMap<String, V>,
    prefix: &str,
    delimiter: Option<&str>,
    resume: Option<&Resume>,
    max_keys: usize,
) -> ListPage<'a, V> {
    let mut entries = Vec::new();
    // Current lower bound.
    let mut lower: Bound<String> = match resume {
        Some(Resume::After(k)) if k.as_str() >= prefix => Bound::Excluded(k.clone()),
        Some(Resume::From(k)) if k.as_str() >= prefix => Bound::Included(k.clone()),
        _ => Bound::Included(prefix.to_owned()),
    };
    let skip_cp: Option<&str> = match resume {
        Some(Resume::After(k)) => Some(k.as_str()),
        _ => None,
    };
    let delimiter = delimiter.filter(|d| !d.is_empty());
    let mut next = None;
    'outer: loop {
        let range = objects.range::<String, _>((lower.clone(), Bound::Unbounded));
        for (key, value) in range {
            if !key.starts_with(prefix) {
                break 'outer;
            }
            let cp = delimiter.and_then(|d| {
                key[prefix.len()..]
                    .find(d)
                    .map(|i| key[..prefix.len() + i + d.len()].to_owned())
            });
            match cp {
                Some(cp) => {
                    if skip_cp == Some(cp.as_str()) {
                        // already returned on an earlier page; jump past it
                    } else {
                        if entries.len() >= max_keys {
                            next = entries.last().map(resume_after);
                            break 'outer;
                        }
                        entries.push(ListEntry::CommonPrefix(cp.clone()));
                    }
                    match prefix_successor(&cp) {
                        Some(s) => {
                            lower = Bound::Included(s);
                            continue 'outer;
                        }
                        None => break 'outer,
                    }
                }
                None => {
                    if entries.len() >= max_keys {
                        next = entries.last().map(resume_after);
                        break 'outer;
                    }
                    entries.push(ListEntry::Key(key.clone(), value));
                }
            }
        }
        break;
    }
    ListPage { entries, next }
}

fn resume_after<V>(e: &ListEntry<'_, V>) -> Resume {
    match e {
        ListEntry::Key(k, _) => Resume::After(k.clone()),
        ListEntry::CommonPrefix(cp) => match prefix_successor(cp) {
            Some(s) => Resume::From(s),
            None => Resume::After(cp.clone()),
        },
    }
}

/// Encodes a resume point as an opaque continuation token (hex, XML- and URL-safe).
pub fn encode_token(r: &Resume) -> String {
    let (tag, s) = match r {
        Resume::After(k) => ('a', k),
        Resume::From(k) => ('f', k),
    };
    let mut out = String::with_capacity(1 + s.len() * 2);
    out.push(tag);
    for b in s.as_bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Decodes a token made by [`encode_token`].
pub fn decode_token(t: &str) -> Option<Resume> {
    let tag = t.chars().next()?;
    let hex = t.get(1..)?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let mut bytes = Vec::with_capacity(hex.len() / 2);
    for i in (0..hex.len()).step_by(2) {
        bytes.push(u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()?);
    }
    let s = String::from_utf8(bytes).ok()?;
    match tag {
        'a' => Some(Resume::After(s)),
        'f' => Some(Resume::From(s)),
        _ => None,
    }
}

/// Lowercase hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    hex_of(&Md5::digest(data))
}

/// Multipart ETag: md5 of the concatenated binary part md5s, then `-N`.
pub fn multipart_etag(part_etags: &[String]) -> String {
    let mut h = Md5::new();
    for e in part_etags {
        let mut raw = Vec::with_capacity(16);
        let e = e.trim_matches('"');
        for i in (0..e.len()).step_by(2) {
            if let Some(b) = e.get(i..i + 2).and_then(|x| u8::from_str_radix(x, 16).ok()) {
                raw.push(b);
            }
        }
        h.update(&raw);
    }
    format!("{}-{}", hex_of(&h.finalize()), part_etags.len())
}

fn hex_of(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successor() {
        assert_eq!(prefix_successor("a/").as_deref(), Some("a0"));
        assert_eq!(prefix_successor("").as_deref(), None);
    }

    #[test]
    fn token_roundtrip() {
        let r = Resume::After("héllo/wörld".into());
        assert_eq!(decode_token(&encode_token(&r)), Some(r));
    }

    #[test]
    fn delimiter_paging() {
        let mut m = BTreeMap::new();
        for k in ["a/1", "a/2", "b", "c/x/y", "c/z", "d"] {
            m.insert(k.to_owned(), ());
        }
        let p = list_page(&m, "", Some("/"), None, 2);
        assert_eq!(
            p.entries,
            vec![
                ListEntry::CommonPrefix("a/".into()),
                ListEntry::Key("b".into(), &())
            ]
        );
        let p2 = list_page(&m, "", Some("/"), p.next.as_ref(), 2);
        assert_eq!(
            p2.entries,
            vec![
                ListEntry::CommonPrefix("c/".into()),
                ListEntry::Key("d".into(), &())
            ]
        );
        assert_eq!(p2.next, None);
    }
}
