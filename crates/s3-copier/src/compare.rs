//! When a destination object counts as a copy of the source one, over the
//! shared merge-join of [`mc_aws_common::twosided`].

use mc_aws_common::listing::ObjectEntry;
use mc_aws_common::twosided::{merge_join, Folders, Joined};

use crate::report::Counts;

/// Why a destination object does not count as a copy of the source one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Difference {
    Size,
    Etag,
    /// ETags cannot be compared (multipart), sizes match, but the destination is older.
    Older,
}

impl Difference {
    pub fn as_str(self) -> &'static str {
        match self {
            Difference::Size => "size",
            Difference::Etag => "etag",
            Difference::Older => "older",
        }
    }
}

/// One step of the merge-join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pair<'a> {
    /// At the source only.
    Missing(&'a ObjectEntry),
    /// On both sides but different.
    Different(&'a ObjectEntry, &'a ObjectEntry, Difference),
    /// On both sides, the same.
    Same(&'a ObjectEntry, &'a ObjectEntry),
    /// At the destination only.
    Extra(&'a ObjectEntry),
}

/// A multipart ETag (`<md5 of md5s>-<parts>`) is not an MD5 of the content,
/// and depends on the part size, so it cannot be compared with another ETag.
pub fn is_multipart_etag(etag: &str) -> bool {
    etag.contains('-')
}

/// Whether `dst` is a copy of `src`: same size, and the same ETag when both
/// are plain MD5s. When either ETag is a multipart one (a 6 GiB object copied
/// in parts of another size, or a multipart source copied with CopyObject),
/// the sizes decide, provided the destination is not older than the source.
pub fn compare(src: &ObjectEntry, dst: &ObjectEntry, size_only: bool) -> Option<Difference> {
    if src.size != dst.size {
        return Some(Difference::Size);
    }
    if size_only {
        return None;
    }
    if is_multipart_etag(&src.etag) || is_multipart_etag(&dst.etag) {
        return match (src.last_modified, dst.last_modified) {
            (Some(s), Some(d)) if d < s => Some(Difference::Older),
            _ => None,
        };
    }
    (src.etag != dst.etag).then_some(Difference::Etag)
}

/// Pairs two listings of the same span (each sorted by key) through the
/// shared merge-join, and tells same from different.
pub fn pairs<'a>(
    src: &'a [ObjectEntry],
    dst: &'a [ObjectEntry],
    folders: &'a Folders,
    size_only: bool,
) -> impl Iterator<Item = Pair<'a>> + 'a {
    merge_join(src, dst, folders).map(move |j| match j {
        Joined::SourceOnly(s) => Pair::Missing(s),
        Joined::DestOnly(d) => Pair::Extra(d),
        Joined::Both(s, d) => match compare(s, d, size_only) {
            Some(why) => Pair::Different(s, d, why),
            None => Pair::Same(s, d),
        },
    })
}

/// What a key of a span calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Copy this source object (missing or different at the destination).
    Copy(&'a ObjectEntry),
    /// Delete this destination object (not at the source; `--delete`).
    Delete(&'a ObjectEntry),
}

impl Action<'_> {
    pub fn entry(&self) -> &ObjectEntry {
        match self {
            Action::Copy(e) | Action::Delete(e) => e,
        }
    }
}

/// The one diff of a span: what `sync` copies (and deletes), what `batch`
/// writes to its manifest, each with its reason; `counts` gets missing,
/// different, up-to-date and extra keys.
pub fn plan_span<'a>(
    src: &'a [ObjectEntry],
    dst: &'a [ObjectEntry],
    folders: &'a Folders,
    size_only: bool,
    delete: bool,
    counts: &mut Counts,
) -> Vec<(Action<'a>, &'static str)> {
    let mut actions = Vec::new();
    for p in pairs(src, dst, folders, size_only) {
        match p {
            Pair::Missing(s) => {
                counts.missing += 1;
                actions.push((Action::Copy(s), "missing"));
            }
            Pair::Different(s, _, why) => {
                counts.different += 1;
                actions.push((Action::Copy(s), why.as_str()));
            }
            Pair::Same(..) => counts.skipped += 1,
            Pair::Extra(d) => {
                counts.extra += 1;
                if delete {
                    actions.push((Action::Delete(d), "not at source"));
                }
            }
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(key: &str, size: u64, etag: &str) -> ObjectEntry {
        ObjectEntry {
            key: key.into(),
            size,
            etag: etag.into(),
            storage_class: None,
            last_modified: Some(100),
        }
    }

    #[test]
    fn pairs_missing_different_same_extra() {
        let src = vec![
            e("s/a", 1, "x"),
            e("s/b", 2, "y"),
            e("s/c", 3, "z"),
            e("s/e", 1, "q"),
        ];
        let dst = vec![
            e("d/b", 2, "y"),
            e("d/c", 4, "z"),
            e("d/d", 1, "w"),
            e("d/e", 1, "r"),
        ];
        let folders = Folders::new(
            "s3://src-bucket/s/".parse().unwrap(),
            "s3://dst-bucket/d/".parse().unwrap(),
        )
        .unwrap();
        let kinds: Vec<String> = pairs(&src, &dst, &folders, false)
            .map(|p| match p {
                Pair::Missing(s) => format!("missing {}", s.key),
                Pair::Different(s, _, why) => format!("different {} {}", s.key, why.as_str()),
                Pair::Same(s, _) => format!("same {}", s.key),
                Pair::Extra(d) => format!("extra {}", d.key),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "missing s/a",
                "same s/b",
                "different s/c size",
                "extra d/d",
                "different s/e etag"
            ]
        );
        // --size-only ignores the ETag.
        let mut same = pairs(&src[3..], &dst[3..], &folders, true);
        assert!(matches!(same.next(), Some(Pair::Same(..))));
    }

    #[test]
    fn multipart_etags_fall_back_to_size_and_age() {
        let s = e("k", 10, "abc-3");
        let mut d = e("k", 10, "def");
        assert_eq!(compare(&s, &d, false), None);
        d.last_modified = Some(50);
        assert_eq!(compare(&s, &d, false), Some(Difference::Older));
        d.size = 11;
        assert_eq!(compare(&s, &d, false), Some(Difference::Size));
    }
}
