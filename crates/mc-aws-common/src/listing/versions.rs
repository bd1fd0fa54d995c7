//! A [`PageSource`] over ListObjectVersions, so listing every version
//! (s3-key-counter `--versions`, acl-reconciler `audit` of a versioned
//! bucket) runs on the same parallel lister as a plain listing.
//!
//! The lister assumes that after a page, every key up to the page's last key
//! is finished: it resumes with `StartAfter = last key`. A ListObjectVersions
//! page can end in the middle of one key's versions, so [`VersionSource`]
//! only ever returns whole keys:
//! - a truncated page with several keys drops the entries of its last key
//!   (which may be incomplete); the next page starts again at that key;
//! - a truncated page holding one key only (a key with more than a page of
//!   versions) keeps fetching with `VersionIdMarker` inside the same call
//!   until that key's versions are exhausted.

use super::s3::S3Source;
use super::{Page, PageSource};
use crate::error::{describe_sdk_error, ToolError};

/// What a ListObjectVersions entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionKind {
    /// A version; `latest` is the current one.
    Version { latest: bool },
    /// A delete marker.
    DeleteMarker,
}

/// One version or delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionEntry {
    pub key: String,
    /// `null` for a version written while versioning was off.
    pub version_id: Option<String>,
    pub size: u64,
    pub storage_class: Option<String>,
    pub kind: VersionKind,
}

/// One raw ListObjectVersions answer.
#[derive(Debug, Default)]
struct RawPage {
    /// Versions and delete markers merged, in key order.
    pub items: Vec<VersionEntry>,
    pub truncated: bool,
    pub next_key_marker: Option<String>,
    pub next_version_id_marker: Option<String>,
}

/// Lists every version and delete marker of a bucket under a prefix
/// ([`S3Source::versions`]).
#[derive(Clone)]
pub struct VersionSource {
    objects: S3Source,
}

impl VersionSource {
    pub(super) fn of(objects: S3Source) -> Self {
        Self { objects }
    }

    fn what(&self) -> String {
        format!("bucket {}", self.objects.bucket)
    }

    async fn fetch(
        &self,
        key_marker: Option<String>,
        version_id_marker: Option<String>,
    ) -> Result<RawPage, ToolError> {
        let o = &self.objects;
        let out = o
            .throttle
            .call(|| {
                o.client
                    .list_object_versions()
                    .bucket(&o.bucket)
                    .set_prefix(Some(o.prefix.clone()).filter(|p| !p.is_empty()))
                    .set_key_marker(key_marker.clone())
                    .set_version_id_marker(version_id_marker.clone())
                    .max_keys(o.page_size)
                    .set_request_payer(o.request_payer.clone())
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &self.what()))?;
        let versions = out.versions().iter().filter_map(|v| {
            Some(VersionEntry {
                key: v.key()?.to_string(),
                version_id: v.version_id().map(str::to_string),
                size: v.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                storage_class: v.storage_class().map(|c| c.as_str().to_string()),
                kind: VersionKind::Version {
                    latest: v.is_latest().unwrap_or(false),
                },
            })
        });
        let markers = out.delete_markers().iter().filter_map(|m| {
            Some(VersionEntry {
                key: m.key()?.to_string(),
                version_id: m.version_id().map(str::to_string),
                size: 0,
                storage_class: None,
                kind: VersionKind::DeleteMarker,
            })
        });
        Ok(RawPage {
            items: merge_by_key(versions, markers),
            truncated: out.is_truncated().unwrap_or(false),
            next_key_marker: out.next_key_marker().map(str::to_string),
            next_version_id_marker: out.next_version_id_marker().map(str::to_string),
        })
    }
}

/// Merges two key-ordered lists into one, stable (ties: `a` first).
fn merge_by_key(
    a: impl Iterator<Item = VersionEntry>,
    b: impl Iterator<Item = VersionEntry>,
) -> Vec<VersionEntry> {
    let mut a = a.peekable();
    let mut b = b.peekable();
    let mut out = Vec::with_capacity(a.size_hint().0 + b.size_hint().0);
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.key <= y.key,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

/// The "fetch one raw page" step, abstracted so the key-boundary logic is
/// testable without S3.
trait FetchVersions {
    async fn fetch_raw(
        &self,
        key_marker: Option<String>,
        version_id_marker: Option<String>,
    ) -> Result<RawPage, ToolError>;
}

impl FetchVersions for VersionSource {
    async fn fetch_raw(
        &self,
        key_marker: Option<String>,
        version_id_marker: Option<String>,
    ) -> Result<RawPage, ToolError> {
        self.fetch(key_marker, version_id_marker).await
    }
}

/// One page of whole keys after `start_after` (see the module docs).
async fn whole_keys_page<F: FetchVersions>(
    source: &F,
    start_after: Option<String>,
) -> Result<Page<VersionEntry>, ToolError> {
    let mut page = source.fetch_raw(start_after, None).await?;
    // A truncated page always carries entries on S3; follow the markers if not.
    while page.items.is_empty() && page.truncated {
        let (Some(k), v) = (
            page.next_key_marker.take(),
            page.next_version_id_marker.take(),
        ) else {
            break;
        };
        page = source.fetch_raw(Some(k), v).await?;
    }
    if !page.truncated {
        return Ok(Page {
            items: page.items,
            truncated: false,
        });
    }
    let Some(last) = page.items.last().map(|e| e.key.clone()) else {
        // Truncated without entries or markers: nothing we can resume from.
        return Err(ToolError::Other(
            "ListObjectVersions returned a truncated page without entries or markers".into(),
        ));
    };
    let whole = page.items.partition_point(|e| e.key < last);
    if whole > 0 {
        // Drop the last key; the next page starts again at it.
        page.items.truncate(whole);
        return Ok(Page {
            items: page.items,
            truncated: true,
        });
    }
    // One key fills the page: read the rest of its versions here.
    let mut items = page.items;
    let mut markers = (page.next_key_marker, page.next_version_id_marker);
    // Without a version marker the key ended with the page.
    while let (Some(key_marker), Some(version_marker)) = markers {
        if key_marker != last {
            break;
        }
        let next = source
            .fetch_raw(Some(key_marker), Some(version_marker))
            .await?;
        let same = next.items.partition_point(|e| e.key == last);
        let other_keys = same < next.items.len();
        items.extend(next.items.into_iter().take(same));
        if other_keys || !next.truncated {
            // Either way more keys may follow `last`: let the lister ask.
            return Ok(Page {
                items,
                truncated: other_keys || next.truncated,
            });
        }
        markers = (next.next_key_marker, next.next_version_id_marker);
    }
    Ok(Page {
        items,
        truncated: true,
    })
}

impl PageSource for VersionSource {
    type Item = VersionEntry;
    type Error = ToolError;

    fn key(item: &VersionEntry) -> &str {
        &item.key
    }

    fn prefix(&self) -> &str {
        &self.objects.prefix
    }

    async fn list_page(
        &self,
        start_after: Option<String>,
        _upto: Option<String>,
    ) -> Result<Page<VersionEntry>, ToolError> {
        whole_keys_page(self, start_after).await
    }

    /// The current keys' prefixes: a hint only, so a prefix that holds old
    /// versions alone is still listed, inside a neighbour's range.
    async fn seed_boundaries(&self) -> Result<Vec<String>, ToolError> {
        self.objects.seed_boundaries().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory ListObjectVersions with S3's marker semantics.
    struct Fake {
        /// (key, version id), in listing order: keys ascending, versions newest first.
        entries: Vec<(String, String)>,
        page: usize,
    }

    impl Fake {
        fn new(keys: &[(&str, usize)], page: usize) -> Self {
            let mut entries = Vec::new();
            let mut sorted = keys.to_vec();
            sorted.sort();
            for (k, n) in sorted {
                for v in (0..n).rev() {
                    entries.push((k.to_string(), format!("v{v:04}")));
                }
            }
            Self { entries, page }
        }
    }

    impl FetchVersions for Fake {
        async fn fetch_raw(
            &self,
            key_marker: Option<String>,
            version_id_marker: Option<String>,
        ) -> Result<RawPage, ToolError> {
            let start = match (&key_marker, &version_id_marker) {
                (None, _) => 0,
                (Some(k), None) => self.entries.partition_point(|(ek, _)| ek <= k),
                (Some(k), Some(v)) => {
                    let pos = self
                        .entries
                        .iter()
                        .position(|(ek, ev)| ek == k && ev == v)
                        .expect("marker exists");
                    pos + 1
                }
            };
            let end = (start + self.page).min(self.entries.len());
            let slice = &self.entries[start..end];
            let truncated = end < self.entries.len();
            Ok(RawPage {
                items: slice
                    .iter()
                    .map(|(k, v)| VersionEntry {
                        key: k.clone(),
                        version_id: Some(v.clone()),
                        size: 1,
                        storage_class: None,
                        kind: VersionKind::Version {
                            latest: v == "v0000",
                        },
                    })
                    .collect(),
                truncated,
                next_key_marker: truncated.then(|| slice[slice.len() - 1].0.clone()),
                next_version_id_marker: truncated.then(|| slice[slice.len() - 1].1.clone()),
            })
        }
    }

    /// Lists everything the way the lister does: resume after the last key.
    async fn drain(fake: &Fake) -> Vec<String> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = whole_keys_page(fake, after.clone()).await.unwrap();
            // Every page ends on a key boundary: its last key never shows up again.
            if let Some(last) = page.items.last() {
                after = Some(last.key.clone());
            }
            out.extend(page.items.into_iter().map(|e| e.key));
            if !page.truncated {
                return out;
            }
        }
    }

    fn expected(keys: &[(&str, usize)]) -> Vec<String> {
        let mut sorted = keys.to_vec();
        sorted.sort();
        sorted
            .iter()
            .flat_map(|(k, n)| std::iter::repeat_n(k.to_string(), *n))
            .collect()
    }

    #[tokio::test]
    async fn pages_end_on_key_boundaries() {
        let cases: &[&[(&str, usize)]] = &[
            &[],
            &[("a", 1)],
            &[("a", 3), ("b", 1), ("c", 5), ("d", 2)],
            &[("a", 10)],
            &[("a", 1), ("b", 9), ("c", 1)],
            &[("a", 4), ("b", 4), ("c", 4)],
            &[("a", 2), ("b", 7), ("c", 3), ("d", 1), ("e", 8)],
        ];
        for keys in cases {
            for page in 1..=5 {
                let fake = Fake::new(keys, page);
                assert_eq!(
                    drain(&fake).await,
                    expected(keys),
                    "keys {keys:?}, page {page}"
                );
            }
        }
    }

    #[test]
    fn merges_versions_and_markers_by_key() {
        let e = |k: &str, kind| VersionEntry {
            key: k.into(),
            version_id: None,
            size: 0,
            storage_class: None,
            kind,
        };
        let v = vec![
            e("a", VersionKind::Version { latest: true }),
            e("c", VersionKind::Version { latest: false }),
        ];
        let m = vec![
            e("b", VersionKind::DeleteMarker),
            e("c", VersionKind::DeleteMarker),
        ];
        let keys: Vec<_> = merge_by_key(v.into_iter(), m.into_iter())
            .into_iter()
            .map(|e| (e.key, e.kind))
            .collect();
        assert_eq!(
            keys,
            [
                ("a".into(), VersionKind::Version { latest: true }),
                ("b".into(), VersionKind::DeleteMarker),
                ("c".into(), VersionKind::Version { latest: false }),
                ("c".into(), VersionKind::DeleteMarker),
            ]
        );
    }
}
