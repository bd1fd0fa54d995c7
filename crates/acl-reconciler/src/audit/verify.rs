//! The verifier: before anyone applies the proposal, every object version
//! the audit read is asked again, by everyone who matters (anonymous, each
//! account a grant names, an account no grant names), for both reads
//! (`s3:GetObject` of the current version, `s3:GetObjectVersion` of every
//! version): what its ACL and the bucket's policy let through today, and
//! what the merged policy alone lets through once ACLs are disabled. A read
//! granted after but not before widens access; a read granted before but
//! not after is lost (expected only where no policy equivalent exists).
//! Owner-only runs of keys are checked as key intervals: no resource of the
//! proposal may reach into one.

use std::collections::BTreeSet;

use mc_aws_common::acl::{Grantee, Group, Permission};
use serde::Serialize;
use serde_json::Value;

use super::cover::Resource;
use super::evaluate::{decide, is_public, Ask, Decision, Who};
use super::layout::{Groups, Item, Layout, Slot};
use super::policy::{statements, Mode, Proposal, Scope};

/// Block Public Access as it bears on reads (bucket or account setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// IgnorePublicAcls: public ACL grants have no effect.
    pub ignore_public_acls: bool,
    /// RestrictPublicBuckets: public policy statements have no effect.
    pub restrict_public: bool,
}

/// One read that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub who: String,
    pub action: String,
}

/// What the verifier found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verification {
    /// Object versions checked (unreadable ones cannot be).
    pub versions: u64,
    /// Reads the merged policy allows that are not allowed today.
    pub widened: Vec<Finding>,
    pub widened_count: u64,
    /// Reads allowed today that the merged policy does not keep, though a
    /// statement could.
    pub lost: Vec<Finding>,
    pub lost_count: u64,
    /// Reads lost because no policy can give them safely (AuthenticatedUsers).
    pub lost_without_equivalent: u64,
    /// Owner-only runs of keys checked as intervals.
    pub private_runs: u64,
}

const SHOWN: usize = 20;

impl Verification {
    /// Nothing widened, nothing lost that could be kept.
    pub fn holds(&self) -> bool {
        self.widened_count == 0 && self.lost_count == 0
    }

    fn widen(&mut self, f: Finding) {
        self.widened_count += 1;
        if self.widened.len() < SHOWN {
            self.widened.push(f);
        }
    }

    fn lose(&mut self, f: Finding) {
        self.lost_count += 1;
        if self.lost.len() < SHOWN {
            self.lost.push(f);
        }
    }
}

/// Everyone whose reads are compared.
pub fn callers<'a>(groups: &'a Groups, scope: &'a Scope) -> Vec<(String, Who<'a>)> {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    for g in &groups.list {
        ids.extend(g.access.writer.as_deref());
        for grant in &g.access.grants {
            if let Grantee::CanonicalUser(id) = &grant.grantee {
                ids.insert(id);
            }
        }
    }
    let mut out = vec![("anonymous".to_string(), Who::Anonymous)];
    for c in ids {
        let id = scope.accounts.get(c).map(String::as_str);
        out.push((
            format!("account {}", id.unwrap_or(c)),
            Who::Account { canonical: c, id },
        ));
    }
    out.push((
        "an account no grant names".to_string(),
        Who::Account {
            canonical: "(any other account)",
            id: Some("000000000001"),
        },
    ));
    out
}

/// Compares every kept version's reads today and after the switch.
pub fn verify(
    layout: &Layout,
    groups: &Groups,
    existing: &[Value],
    proposal: &Proposal,
    scope: &Scope,
    bpa: (Effective, Effective),
) -> Verification {
    let merged = statements(&proposal.document);
    let ctx = Context {
        groups,
        existing,
        merged: &merged,
        tagged: proposal.tagged_groups(),
        who: callers(groups, scope),
        bpa,
    };
    let mut out = Verification::default();
    for item in &layout.items {
        match item {
            Item::Key { key, versions } => {
                let arn = format!("arn:aws:s3:::{}/{key}", scope.bucket);
                for slot in versions {
                    ctx.version(key, &arn, slot, &mut out);
                }
            }
            Item::Private { first, last } => {
                out.private_runs += 1;
                private_run(proposal, first, last, &mut out);
            }
        }
    }
    public_statements_unleashed(existing, bpa.0, bpa.1, &mut out);
    out
}

/// What every version's check needs.
struct Context<'a> {
    groups: &'a Groups,
    existing: &'a [Value],
    merged: &'a [Value],
    tagged: BTreeSet<u32>,
    who: Vec<(String, Who<'a>)>,
    /// Block Public Access today and after the steps.
    bpa: (Effective, Effective),
}

impl Context<'_> {
    /// Every read of one version, by everyone, today and after.
    fn version(&self, key: &str, arn: &str, slot: &Slot, out: &mut Verification) {
        let Some(g) = slot.group else { return };
        out.versions += 1;
        let (before, after) = self.bpa;
        let grants = &self.groups.access(g).grants;
        let tag = self
            .tagged
            .contains(&g)
            .then(|| self.groups.access(g).fingerprint());
        let actions = [("s3:GetObject", slot.latest), ("s3:GetObjectVersion", true)];
        for (action, _) in actions.iter().filter(|(_, asked)| *asked) {
            for (name, w) in &self.who {
                let ask = Ask {
                    who: *w,
                    action,
                    resource: arn,
                    tag: tag.as_deref(),
                };
                let today = decide(self.existing, &ask, before.restrict_public);
                let (acl, no_equivalent) = acl_reads(grants, *w, before);
                let was = today != Decision::Deny && (acl || today == Decision::Allow);
                let will = decide(self.merged, &ask, after.restrict_public) == Decision::Allow;
                let finding = || Finding {
                    key: key.to_string(),
                    version: slot.version.clone(),
                    who: name.clone(),
                    action: action.to_string(),
                };
                match (was, will) {
                    (false, true) => out.widen(finding()),
                    (true, false) if no_equivalent => out.lost_without_equivalent += 1,
                    (true, false) => out.lose(finding()),
                    _ => {}
                }
            }
        }
    }
}

/// Whether the ACL lets `who` read, and whether only through a grant no
/// policy can give safely (AuthenticatedUsers).
fn acl_reads(
    grants: &BTreeSet<mc_aws_common::acl::Grant>,
    who: Who<'_>,
    bpa: Effective,
) -> (bool, bool) {
    let reads = |g: &&mc_aws_common::acl::Grant| {
        matches!(g.permission, Permission::Read | Permission::FullControl)
    };
    let public = !bpa.ignore_public_acls;
    let mut by_any_account = false;
    for g in grants.iter().filter(reads) {
        match (&g.grantee, who) {
            (Grantee::Group(Group::AllUsers), _) if public => return (true, false),
            (Grantee::CanonicalUser(id), Who::Account { canonical, .. }) if id == canonical => {
                return (true, false)
            }
            (Grantee::Group(Group::AuthenticatedUsers), Who::Account { .. }) if public => {
                by_any_account = true
            }
            _ => {}
        }
    }
    (by_any_account, by_any_account)
}

/// No resource of ours may reach a key between `first` and `last` (keys
/// whose every version is owner-only); tagged statements cannot, as those
/// versions carry no tag.
fn private_run(proposal: &Proposal, first: &str, last: &str, out: &mut Verification) {
    for t in &proposal.targets {
        let Mode::Keys { resources } = &t.mode else {
            continue;
        };
        for r in resources {
            let reaches = match r {
                Resource::Key(k) => first <= k.as_str() && k.as_str() <= last,
                Resource::Prefix(p) => {
                    p.as_str() <= last && (first <= p.as_str() || first.starts_with(p.as_str()))
                }
            };
            if reaches {
                out.widen(Finding {
                    key: format!("{first} .. {last}"),
                    version: None,
                    who: t.reader.to_string(),
                    action: format!("s3:GetObject via {r:?}"),
                });
            }
        }
    }
}

/// Turning RestrictPublicBuckets off also lets the bucket's own public
/// statements through: a widening the key-by-key check cannot see for
/// objects it did not keep.
fn public_statements_unleashed(
    existing: &[Value],
    before: Effective,
    after: Effective,
    out: &mut Verification,
) {
    if before.restrict_public && !after.restrict_public {
        let allow = |s: &&Value| s.get("Effect").and_then(Value::as_str) == Some("Allow");
        for s in existing.iter().filter(allow).filter(|s| is_public(s)) {
            out.widen(Finding {
                key: "(the bucket's own public statements)".into(),
                version: None,
                who: "anyone".into(),
                action: format!(
                    "{} takes effect once RestrictPublicBuckets is off",
                    s.get("Sid")
                        .and_then(Value::as_str)
                        .unwrap_or("a statement")
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::grants::Access;
    use super::super::layout::{Span, OWNER_ONLY};
    use super::super::policy::propose;
    use super::*;
    use mc_aws_common::acl::{Acl, Grant};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const OWNER: &str = "owner0";

    /// The kinds of ACL the generator picks from.
    fn acls() -> Vec<Acl> {
        let own = || Grant::new(Grantee::user(OWNER), Permission::FullControl);
        let read = |g: Grantee| Grant::new(g, Permission::Read);
        vec![
            Acl::private(OWNER),
            Acl::new(
                Some(OWNER.into()),
                [own(), read(Grantee::Group(Group::AllUsers))],
            ),
            Acl::new(Some(OWNER.into()), [own(), read(Grantee::user("acct1"))]),
            Acl::new(
                Some(OWNER.into()),
                [
                    own(),
                    read(Grantee::user("acct1")),
                    read(Grantee::Group(Group::AllUsers)),
                ],
            ),
            Acl::new(
                Some(OWNER.into()),
                [own(), read(Grantee::Group(Group::AuthenticatedUsers))],
            ),
            Acl::new(
                Some(OWNER.into()),
                [
                    own(),
                    Grant::new(Grantee::user("acct2"), Permission::FullControl),
                ],
            ),
            Acl::private("writer3"),
        ]
    }

    /// A bucket: sorted distinct keys, each with 1..3 versions of some ACL
    /// (index into [`acls`]); `None` is unreadable.
    fn bucket() -> impl Strategy<Value = BTreeMap<String, Vec<Option<usize>>>> {
        let version = prop_oneof![9 => (0usize..7).prop_map(Some), 1 => Just(None)];
        prop::collection::btree_map("[ab/*?]{1,4}", prop::collection::vec(version, 1..3), 1..24)
    }

    fn build(b: &BTreeMap<String, Vec<Option<usize>>>) -> (Layout, Groups) {
        let kinds = acls();
        let mut groups = Groups::default();
        let mut span = Span::default();
        for (key, versions) in b {
            let n = versions.len();
            let slots = versions
                .iter()
                .enumerate()
                .map(|(i, v)| Slot {
                    version: Some(format!("v{i}")),
                    latest: i == n - 1,
                    group: v.map(|k| groups.id(&Access::of(&kinds[k], OWNER))),
                })
                .collect();
            span.push(key, slots);
        }
        let mut spans = BTreeMap::new();
        spans.insert(None, span);
        (Layout::assemble(spans), groups)
    }

    fn scope(exact: bool) -> Scope {
        let mut accounts = BTreeMap::new();
        accounts.insert("acct1".to_string(), "111111111111".to_string());
        Scope {
            bucket: "bk".into(),
            exact_keys: exact,
            accounts,
            ..Scope::default()
        }
    }

    proptest! {
        /// For random grant sets and key layouts the proposal widens
        /// nothing and keeps every read a policy can keep (but those of
        /// keys with an unreadable version, which block the verdict).
        #[test]
        fn the_proposal_keeps_exactly_what_the_acls_gave(b in bucket(), exact in any::<bool>()) {
            let (layout, groups) = build(&b);
            let scope = scope(exact);
            let existing = vec![serde_json::json!({"Sid":"Other","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::bk/*"})];
            let doc = serde_json::json!({"Version":"2012-10-17","Statement":existing.clone()});
            let proposal = propose(&layout, &groups, Some(&doc), &scope);
            prop_assert!(proposal.fits);
            prop_assert!(statements(&proposal.document).contains(&existing[0]));
            let v = verify(&layout, &groups, &existing, &proposal, &scope, Default::default());
            prop_assert_eq!(v.widened_count, 0, "{:?}", v.widened);
            for f in &v.lost {
                prop_assert!(b[&f.key].contains(&None), "lost {:?}", f);
            }
            // The interval shortcut agrees with asking for every key.
            brute_force(&b, &groups, &proposal, &scope)?;
        }
    }

    /// Every key of the bucket, owner-only ones included, asked one by one.
    fn brute_force(
        b: &BTreeMap<String, Vec<Option<usize>>>,
        groups: &Groups,
        proposal: &Proposal,
        scope: &Scope,
    ) -> Result<(), TestCaseError> {
        let merged = statements(&proposal.document);
        let kinds = acls();
        let tagged = proposal.tagged_groups();
        for (key, versions) in b {
            let arn = format!("arn:aws:s3:::bk/{key}");
            for v in versions.iter().flatten() {
                let access = Access::of(&kinds[*v], OWNER);
                let owner_only = access.is_owner_only();
                let mut g = Groups::default();
                let id = g.id(&access);
                let tag = (!owner_only && tagged.iter().any(|t| groups.access(*t) == g.access(id)))
                    .then(|| access.fingerprint());
                for (_, who) in callers(groups, scope) {
                    let ask = Ask {
                        who,
                        action: "s3:GetObjectVersion",
                        resource: &arn,
                        tag: tag.as_deref(),
                    };
                    let will = decide(&merged, &ask, false) == Decision::Allow;
                    let (acl, _) = acl_reads(&access.grants, who, Effective::default());
                    prop_assert!(!will || acl, "{key} {who:?} widened");
                }
            }
        }
        let _ = OWNER_ONLY;
        Ok(())
    }

    #[test]
    fn restrict_public_buckets_off_unleashes_public_statements() {
        let existing = vec![
            serde_json::json!({"Sid":"Old","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bk/*"}),
        ];
        let mut v = Verification::default();
        let on = Effective {
            restrict_public: true,
            ..Effective::default()
        };
        public_statements_unleashed(&existing, on, Effective::default(), &mut v);
        assert_eq!(v.widened_count, 1);
    }
}
