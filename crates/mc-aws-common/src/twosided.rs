//! Two-bucket work: the one core that s3-copier (sync, verify) and
//! acl-reconciler (and every later comparison of two places) stand on.
//!
//! - [`Folders`]: the source and destination folders and the one mapping of
//!   keys and key spans between them;
//! - [`merge_join`]: one pass over two sorted listings of the same span;
//! - [`connect`]: both sides, each with its identity (profile, role) and a
//!   client in its bucket's region, and their ACL settings for pre-flight;
//! - [`list_source`] and [`Side::list_span`]: source chunks, and the
//!   destination span that holds their copies.
//!
//! Both listings come from ListObjectsV2 in UTF-8 byte order, which is
//! Rust's `str` order; replacing one prefix by another keeps that order, so
//! one pass over both lists finds every missing, common and extra key.

use std::sync::Arc;

use crate::acl::{self, AclReader, BucketAclSettings, ObjectOwnership};
use crate::cli::{AwsArgs, ThrottleArgs, TwoSidedArgs};
use crate::config;
use crate::error::ToolError;
use crate::listing::s3::S3Source;
use crate::listing::ObjectEntry;
use crate::listing::{self, KeyRange, ListOptions, Listing};
use crate::retry::Throttle;
use crate::s3url::S3Url;

/// The source and destination folders: keys map by their path below them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folders {
    pub source: S3Url,
    pub dest: S3Url,
}

impl Folders {
    /// Refuses folders that overlap (the same bucket, one prefix inside the
    /// other): the source listing would meet the copies.
    pub fn new(source: S3Url, dest: S3Url) -> Result<Self, ToolError> {
        let (a, b) = (&source, &dest);
        if a.bucket == b.bucket
            && (a.prefix.starts_with(&b.prefix) || b.prefix.starts_with(&a.prefix))
        {
            return Err(ToolError::Invalid {
                what: format!("{a} -> {b}"),
                message:
                    "source and destination overlap (same bucket, one prefix inside the other)"
                        .into(),
            });
        }
        Ok(Self { source, dest })
    }

    /// The destination key of source key `key`; `None` when the key is not
    /// under the source folder.
    pub fn dest_key(&self, key: &str) -> Option<String> {
        let rel = key.strip_prefix(self.source.prefix.as_str())?;
        Some(format!("{}{rel}", self.dest.prefix))
    }

    /// The destination span that holds the copies of the keys of source span
    /// `span`; `None` when no key under the source folder can fall in it.
    pub fn dest_span(&self, span: &KeyRange) -> Option<KeyRange> {
        let after = match span.after.as_deref().map(|a| self.map_bound(a)) {
            None | Some(Bound::Below) => None,
            Some(Bound::Key(k)) => Some(k),
            Some(Bound::Above) => return None,
        };
        let upto = match span.upto.as_deref().map(|u| self.map_bound(u)) {
            None | Some(Bound::Above) => None,
            Some(Bound::Key(k)) => Some(k),
            Some(Bound::Below) => return None,
        };
        let mapped = KeyRange::new(after, upto);
        (!mapped.is_empty()).then_some(mapped)
    }

    /// The source key whose copy is destination key `key`; `None` when
    /// the key is not under the destination folder.
    pub fn source_key(&self, key: &str) -> Option<String> {
        let rel = key.strip_prefix(self.dest.prefix.as_str())?;
        Some(format!("{}{rel}", self.source.prefix))
    }

    fn map_bound(&self, bound: &str) -> Bound {
        let src = self.source.prefix.as_str();
        match self.dest_key(bound) {
            Some(k) => Bound::Key(k),
            None if bound < src => Bound::Below,
            None => Bound::Above,
        }
    }
}

/// Where one bound of a source span falls in the destination's key space.
enum Bound {
    Key(String),
    /// Before every key under the source folder.
    Below,
    /// After every key under the source folder.
    Above,
}

/// Anything with an S3 key: a listed object, a key read from a file.
pub trait Keyed {
    fn key(&self) -> &str;
}

impl Keyed for ObjectEntry {
    fn key(&self) -> &str {
        &self.key
    }
}

impl Keyed for String {
    fn key(&self) -> &str {
        self
    }
}

/// One step of a merge-join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined<'a, S, D> {
    /// At the source only.
    SourceOnly(&'a S),
    /// On both sides (same path below the folders).
    Both(&'a S, &'a D),
    /// At the destination only.
    DestOnly(&'a D),
}

/// Merge-joins two listings of the same span, each sorted by key, comparing
/// keys by their path below each side's folder.
pub fn merge_join<'a, S: Keyed, D: Keyed>(
    src: &'a [S],
    dst: &'a [D],
    folders: &'a Folders,
) -> MergeJoin<'a, S, D> {
    MergeJoin {
        src,
        dst,
        folders,
        i: 0,
        j: 0,
    }
}

/// The iterator of [`merge_join`].
pub struct MergeJoin<'a, S, D> {
    src: &'a [S],
    dst: &'a [D],
    folders: &'a Folders,
    i: usize,
    j: usize,
}

impl<'a, S: Keyed, D: Keyed> Iterator for MergeJoin<'a, S, D> {
    type Item = Joined<'a, S, D>;

    fn next(&mut self) -> Option<Self::Item> {
        let rel = |k: &'a str, p: &str| -> &'a str { k.strip_prefix(p).unwrap_or(k) };
        let (sp, dp) = (&self.folders.source.prefix, &self.folders.dest.prefix);
        let step = match (self.src.get(self.i), self.dst.get(self.j)) {
            (None, None) => return None,
            (Some(s), None) => Joined::SourceOnly(s),
            (None, Some(d)) => Joined::DestOnly(d),
            (Some(s), Some(d)) => match rel(s.key(), sp).cmp(rel(d.key(), dp)) {
                std::cmp::Ordering::Less => Joined::SourceOnly(s),
                std::cmp::Ordering::Greater => Joined::DestOnly(d),
                std::cmp::Ordering::Equal => Joined::Both(s, d),
            },
        };
        match step {
            Joined::SourceOnly(_) => self.i += 1,
            Joined::DestOnly(_) => self.j += 1,
            Joined::Both(..) => {
                self.i += 1;
                self.j += 1;
            }
        }
        Some(step)
    }
}

/// One side of a two-bucket run: a folder and a client in its bucket's
/// region, with its own identity.
#[derive(Clone)]
pub struct Side {
    pub client: aws_sdk_s3::Client,
    pub url: S3Url,
    /// Reads the side's object ACLs (under the run's ACL-read budget).
    pub acls: Arc<AclReader>,
    /// Lists the side's folder (under the run's throttle).
    pub lister: S3Source,
    /// The side's objects from an inventory report, sorted on disk
    /// (`--source-inventory`, `--dest-inventory`), instead of listings.
    #[cfg(feature = "inventory")]
    pub from_report: Option<Arc<crate::inventory::SortedRows>>,
}

impl Side {
    pub fn bucket(&self) -> &str {
        &self.url.bucket
    }

    /// The objects of `span` of this side (`None`: no span, no objects),
    /// listed live or read from the side's sorted report.
    pub async fn list_span(&self, span: Option<&KeyRange>) -> Result<Vec<ObjectEntry>, ToolError> {
        let Some(span) = span else {
            return Ok(Vec::new());
        };
        #[cfg(feature = "inventory")]
        if let Some(rows) = &self.from_report {
            let (rows, span) = (rows.clone(), span.clone());
            return tokio::task::spawn_blocking(move || rows.span(&span))
                .await
                .map_err(|e| ToolError::Other(format!("reading the sorted report: {e}")))?;
        }
        self.lister.list_span(span).await
    }

    /// The side's objects in chunks over `ranges` (`None`: everything),
    /// from its report when it has one, else listed live, with how many
    /// chunks to work on at once.
    pub fn chunks(
        &self,
        ranges: Option<Vec<KeyRange>>,
        throttle: &ThrottleArgs,
        page_size: i32,
    ) -> (Listing<ObjectEntry, ToolError>, usize) {
        #[cfg(feature = "inventory")]
        if let Some(rows) = &self.from_report {
            return (
                rows.clone().entry_chunks(ranges),
                throttle.list_cursors(true),
            );
        }
        list_source(self.lister.clone().page_size(page_size), ranges, throttle)
    }

    /// The bucket's Object Ownership and Block Public Access.
    pub async fn acl_settings(
        &self,
        throttle: &Arc<Throttle>,
    ) -> Result<BucketAclSettings, ToolError> {
        acl::bucket_acl_settings(&self.client, throttle, self.bucket()).await
    }

    /// [`Side::acl_settings`], or, when they may not be read (access
    /// denied), a warning and the assumption that ACLs work and nothing
    /// blocks public ones (S3 still refuses what it refuses).
    pub async fn acl_settings_or_assume(
        &self,
        throttle: &Arc<Throttle>,
    ) -> Result<BucketAclSettings, ToolError> {
        match self.acl_settings(throttle).await {
            Err(ToolError::AccessDenied { .. }) => {
                tracing::warn!(
                    "bucket {}: cannot read Object Ownership / Block Public Access (access denied); assuming ACLs are enabled",
                    self.bucket()
                );
                Ok(BucketAclSettings {
                    ownership: ObjectOwnership::ObjectWriter,
                    public_access_block: Default::default(),
                })
            }
            other => other,
        }
    }
}

/// Builds both sides: each with its own identity (`--source-profile`,
/// `--dest-role-arn`, ...) and a client in its bucket's region. Requests go
/// through `throttle`, object ACL reads through `acl_reads`.
pub async fn connect(
    aws: &AwsArgs,
    ids: &TwoSidedArgs,
    folders: &Folders,
    throttle: &Arc<Throttle>,
    acl_reads: &Arc<Throttle>,
) -> Result<(Side, Side), ToolError> {
    let (src_conf, dst_conf) = tokio::join!(
        config::load(
            aws,
            ids.source_profile.as_deref(),
            ids.source_role_arn.as_deref()
        ),
        config::load(
            aws,
            ids.dest_profile.as_deref(),
            ids.dest_role_arn.as_deref()
        ),
    );
    let (src_conf, dst_conf) = (src_conf?, dst_conf?);
    let (src, dst) = tokio::join!(
        config::client_for_bucket(&src_conf, aws, &folders.source.bucket, throttle),
        config::client_for_bucket(&dst_conf, aws, &folders.dest.bucket, throttle),
    );
    let side = |client: aws_sdk_s3::Client, url: &S3Url, conf: &aws_config::SdkConfig| Side {
        acls: Arc::new(AclReader::new(
            client.clone(),
            url.bucket.clone(),
            acl_reads.clone(),
            conf.credentials_provider(),
        )),
        lister: S3Source::new(client.clone(), &url.bucket, &url.prefix, throttle.clone())
            .credentials(conf.credentials_provider()),
        client,
        url: url.clone(),
        #[cfg(feature = "inventory")]
        from_report: None,
    };
    Ok((
        side(src?, &folders.source, &src_conf),
        side(dst?, &folders.dest, &dst_conf),
    ))
}

/// Reads the sides' inventory reports (`--source-inventory`,
/// `--dest-inventory`), each checked against its side's folder and sorted
/// on disk (with the Object ACL field when `acls`), into the sides;
/// returns a note for each, saying how old it is.
#[cfg(feature = "inventory")]
pub async fn read_reports(
    aws: &AwsArgs,
    args: &crate::inventory::SideInventoryArgs,
    sides: [&mut Side; 2],
    throttle: &Arc<Throttle>,
    acls: bool,
) -> Result<Vec<String>, ToolError> {
    use crate::inventory::{Coverage, SortBudget, SortedRows};
    let mut notes = Vec::new();
    let locations = [args.source_inventory.as_ref(), args.dest_inventory.as_ref()];
    for (side, location) in sides.into_iter().zip(locations) {
        let need = Coverage {
            source: &side.url,
            versions: false,
        };
        let Some(report) = args
            .side(location)
            .open(aws, &side.client, need, throttle)
            .await?
        else {
            continue;
        };
        let sorted =
            SortedRows::of(&report, &side.url.prefix, acls, SortBudget::default(), 2).await?;
        notes.push(format!(
            "{} from inventory report {} ({} old): {} objects",
            side.url,
            report.store.describe(&report.folder),
            crate::units::human_duration(report.age()),
            sorted.rows
        ));
        side.from_report = Some(Arc::new(sorted));
    }
    Ok(notes)
}

/// Lists the source in chunks for a merge-join: the listing over `ranges`
/// (`None`: the whole prefix), and how many chunks to work on at once.
/// Memory is about (cursors + buffer + chunks in flight) pages, so the lister
/// gets no more cursors than there are chunk slots: listing faster than
/// chunks are handled only fills memory with waiting pages.
pub fn list_source(
    source: S3Source,
    ranges: Option<Vec<KeyRange>>,
    throttle: &ThrottleArgs,
) -> (Listing<ObjectEntry, ToolError>, usize) {
    let cursors = throttle.list_cursors(true);
    let listing = listing::list(
        source,
        ListOptions {
            concurrency: cursors,
            ranges,
            buffer: (cursors / 4).max(1),
        },
    );
    (listing, cursors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn folders(s: &str, d: &str) -> Folders {
        Folders::new(
            S3Url::parse_folder(s).unwrap(),
            S3Url::parse_folder(d).unwrap(),
        )
        .unwrap()
    }

    fn r(a: Option<&str>, u: Option<&str>) -> KeyRange {
        KeyRange::new(a.map(Into::into), u.map(Into::into))
    }

    #[test]
    fn keys_map_between_folders() {
        let f = folders("s3://src/a", "s3://dst/b/c");
        assert_eq!(f.dest_key("a/x/y").as_deref(), Some("b/c/x/y"));
        assert_eq!(f.dest_key("ab/x"), None);
        let whole = folders("s3://src", "s3://dst");
        assert_eq!(whole.dest_key("k").as_deref(), Some("k"));
    }

    #[test]
    fn overlapping_folders_are_refused() {
        let f = |s: &str, d: &str| Folders::new(s.parse().unwrap(), d.parse().unwrap());
        assert!(f("s3://abc/x/", "s3://abc/x/y/").is_err());
        assert!(f("s3://abc", "s3://abc/x/").is_err());
        assert!(f("s3://abc/x/", "s3://abc/y/").is_ok());
        assert!(f("s3://abc", "s3://abd").is_ok());
    }

    #[test]
    fn spans_map_through_folders() {
        let f = folders("s3://src-b/src", "s3://dst-b/dst/x");
        assert_eq!(
            f.dest_span(&r(Some("src/a"), Some("src/m"))),
            Some(r(Some("dst/x/a"), Some("dst/x/m")))
        );
        assert_eq!(f.dest_span(&r(None, None)), Some(r(None, None)));
        // Bounds outside the source folder: below it, above it.
        let to_root = Folders {
            source: "s3://src-b/src/".parse().unwrap(),
            dest: "s3://dst-b".parse().unwrap(),
        };
        assert_eq!(
            to_root.dest_span(&r(Some("a"), Some("src/c"))),
            Some(r(None, Some("c")))
        );
        assert_eq!(
            f.dest_span(&r(Some("src/c"), Some("zzz"))),
            Some(r(Some("dst/x/c"), None))
        );
        assert_eq!(f.dest_span(&r(Some("zzz"), None)), None);
        assert_eq!(f.dest_span(&r(None, Some("a"))), None);
    }

    fn names<'a>(j: impl Iterator<Item = Joined<'a, String, String>>) -> Vec<String> {
        j.map(|p| match p {
            Joined::SourceOnly(s) => format!("source {s}"),
            Joined::Both(s, d) => format!("both {s} {d}"),
            Joined::DestOnly(d) => format!("dest {d}"),
        })
        .collect()
    }

    #[test]
    fn joins_by_the_path_below_the_folders() {
        let f = folders("s3://src-b/s", "s3://dst-b/d");
        let src: Vec<String> = ["s/a", "s/b", "s/e"].map(String::from).into();
        let dst: Vec<String> = ["d/b", "d/d", "d/e", "d/f"].map(String::from).into();
        assert_eq!(
            names(merge_join(&src, &dst, &f)),
            [
                "source s/a",
                "both s/b d/b",
                "dest d/d",
                "both s/e d/e",
                "dest d/f"
            ]
        );
    }

    fn keys() -> impl Strategy<Value = BTreeMap<String, u8>> {
        proptest::collection::btree_map("[a-c/ é日+%]{0,6}", 0u8..3, 0..40)
    }

    proptest! {
        /// The merge-join pairs every key exactly as a map lookup would.
        #[test]
        fn merge_join_matches_a_map_lookup(src in keys(), dst in keys()) {
            let f = folders("s3://src-b/from", "s3://dst-b/to/x");
            let list = |m: &BTreeMap<String, u8>, p: &str| -> Vec<String> {
                m.keys().map(|k| format!("{p}{k}")).collect()
            };
            let (s, d) = (list(&src, "from/"), list(&dst, "to/x/"));
            let mut seen = 0;
            let mut steps = 0;
            for p in merge_join(&s, &d, &f) {
                steps += 1;
                match p {
                    Joined::SourceOnly(x) => { prop_assert!(!dst.contains_key(&x["from/".len()..])); seen += 1; }
                    Joined::DestOnly(x) => prop_assert!(!src.contains_key(&x["to/x/".len()..])),
                    Joined::Both(x, y) => {
                        prop_assert_eq!(&x["from/".len()..], &y["to/x/".len()..]);
                        seen += 1;
                    }
                }
            }
            prop_assert_eq!(seen, src.len());
            prop_assert_eq!(steps, src.len() + dst.keys().filter(|k| !src.contains_key(*k)).count());
        }

        /// A key is in a source span exactly when its copy is in the mapped span.
        #[test]
        fn mapped_spans_hold_exactly_the_copies(key in "[a-c/é]{0,5}", a in proptest::option::of("[a-c/é]{0,5}"), u in proptest::option::of("[a-c/é]{0,5}")) {
            let f = folders("s3://src-b/p", "s3://dst-b/q/r");
            let span = KeyRange::new(a.map(|x| format!("p/{x}")), u.map(|x| format!("p/{x}")));
            let inside = span.contains(&format!("p/{key}"));
            let mapped = f.dest_span(&span);
            prop_assert_eq!(inside, mapped.is_some_and(|m| m.contains(&format!("q/r/{key}"))));
        }
    }
}
