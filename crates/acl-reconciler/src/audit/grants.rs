//! One object version's ACL as the bucket owner sees it: what anyone but
//! the bucket owner gets from it, and so what disabling ACLs
//! (BucketOwnerEnforced) takes away.

use std::collections::BTreeSet;
use std::fmt;

use mc_aws_common::acl::{Acl, Grant, Grantee, Group, Permission};
use serde::Serialize;

/// Who may read an object version through its ACL, in a form a bucket
/// policy can name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reader {
    /// Anyone (AllUsers).
    Public,
    /// One AWS account, by canonical user ID.
    Account(String),
}

impl fmt::Display for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reader::Public => f.write_str("anyone (AllUsers)"),
            Reader::Account(id) => write!(f, "account {id}"),
        }
    }
}

/// An ACL relative to the bucket owner: the normalised grants to anyone
/// else, and the object's owner when it is not the bucket owner. Objects
/// with the same `Access` form one group of the audit.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Access {
    /// The object's owner when another account wrote it.
    pub writer: Option<String>,
    /// Grants to anyone but the bucket owner.
    pub grants: BTreeSet<Grant>,
}

/// What disabling ACLs does to one grant (or to a writer's ownership).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A reader loses READ; a bucket policy statement can keep it.
    LosesRead { reader: Reader },
    /// Access no bucket policy can give back safely.
    NoEquivalent { what: String },
    /// Nothing changes (e.g. WRITE on an object grants nothing).
    Meaningless { what: String },
}

impl Access {
    /// `acl` seen from the bucket owner `owner` (canonical ID).
    pub fn of(acl: &Acl, owner: &str) -> Self {
        let bucket_owner = Grantee::user(owner);
        Self {
            writer: acl.owner.clone().filter(|o| o != owner),
            grants: acl
                .grants()
                .filter(|g| g.grantee != bucket_owner)
                .cloned()
                .collect(),
        }
    }

    /// Nothing for anyone but the bucket owner: disabling ACLs changes nothing.
    pub fn is_owner_only(&self) -> bool {
        self.writer.is_none() && self.grants.is_empty()
    }

    /// The readers a bucket policy can keep (READ or FULL_CONTROL to AllUsers
    /// or to an account).
    pub fn readers(&self) -> BTreeSet<Reader> {
        self.grants
            .iter()
            .filter(|g| reads(g.permission))
            .filter_map(|g| match &g.grantee {
                Grantee::Group(Group::AllUsers) => Some(Reader::Public),
                Grantee::CanonicalUser(id) => Some(Reader::Account(id.clone())),
                _ => None,
            })
            .collect()
    }

    /// Whether AuthenticatedUsers (any AWS account) may read.
    pub fn any_account_reads(&self) -> bool {
        self.grants
            .iter()
            .any(|g| g.grantee == Grantee::Group(Group::AuthenticatedUsers) && reads(g.permission))
    }

    /// What disabling ACLs changes, grant by grant.
    pub fn changes(&self) -> Vec<Change> {
        let mut out: Vec<Change> = Vec::new();
        if let Some(w) = &self.writer {
            out.push(Change::NoEquivalent {
                what: format!(
                    "written by account {w}: the objects become the bucket owner's, and that account loses its owner's rights over them (reading and changing their ACL)"
                ),
            });
        }
        for g in &self.grants {
            out.extend(grant_changes(g));
        }
        out
    }

    /// A short stable name for the group: the `acl-reconciler-grants` tag
    /// value of the tag fallback (FNV-1a of the grants, 12 hex digits).
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let text = format!("{:?}|{}", self.writer, self.describe());
        for b in text.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("g{:012x}", h & 0xffff_ffff_ffff)
    }

    /// The grants, one line: `group:AllUsers=READ id:…=READ`.
    pub fn describe(&self) -> String {
        if self.grants.is_empty() {
            return "(owner only)".into();
        }
        let parts: Vec<String> = self.grants.iter().map(ToString::to_string).collect();
        parts.join(" ")
    }
}

fn reads(p: Permission) -> bool {
    matches!(p, Permission::Read | Permission::FullControl)
}

/// The parts of a permission: FULL_CONTROL is all four.
fn parts(p: Permission) -> &'static [Permission] {
    match p {
        Permission::FullControl => &[
            Permission::Read,
            Permission::Write,
            Permission::ReadAcp,
            Permission::WriteAcp,
        ],
        Permission::Read => &[Permission::Read],
        Permission::Write => &[Permission::Write],
        Permission::ReadAcp => &[Permission::ReadAcp],
        Permission::WriteAcp => &[Permission::WriteAcp],
    }
}

fn grant_changes(g: &Grant) -> Vec<Change> {
    let who = g.grantee.to_string();
    parts(g.permission)
        .iter()
        .map(|p| match (p, &g.grantee) {
            (Permission::Read, Grantee::Group(Group::AllUsers)) => Change::LosesRead {
                reader: Reader::Public,
            },
            (Permission::Read, Grantee::CanonicalUser(id)) => Change::LosesRead {
                reader: Reader::Account(id.clone()),
            },
            (Permission::Read, Grantee::Group(Group::AuthenticatedUsers)) => Change::NoEquivalent {
                what: "AuthenticatedUsers (any AWS account, anywhere) lose READ: a policy giving the same would make the objects readable by every AWS account; name the accounts that need them, or make them public on purpose".into(),
            },
            (Permission::Read, Grantee::Email(e)) => Change::NoEquivalent {
                what: format!("e-mail grantee {e} loses READ: a policy names accounts, not addresses"),
            },
            (Permission::Read, Grantee::Group(_)) => Change::NoEquivalent {
                what: format!("{who} loses READ (a group a bucket policy cannot name)"),
            },
            (Permission::Write, _) => Change::Meaningless {
                what: format!("{who}=WRITE grants nothing on an object"),
            },
            (Permission::ReadAcp, _) => Change::NoEquivalent {
                what: format!("{who} loses READ_ACP (reading this object's ACL); once ACLs are disabled every ACL reads as the bucket owner's full control"),
            },
            (Permission::WriteAcp | Permission::FullControl, _) => Change::NoEquivalent {
                what: format!("{who} loses WRITE_ACP (changing this object's ACL): nobody can once ACLs are disabled"),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "aaaa";

    #[test]
    fn owner_grants_are_not_access_and_others_are() {
        let private = Acl::private(OWNER);
        assert!(Access::of(&private, OWNER).is_owner_only());
        let acl = Acl::new(
            Some(OWNER.into()),
            [
                Grant::new(Grantee::user(OWNER), Permission::FullControl),
                Grant::new(Grantee::Group(Group::AllUsers), Permission::Read),
                Grant::new(Grantee::user("bbbb"), Permission::FullControl),
            ],
        );
        let a = Access::of(&acl, OWNER);
        assert_eq!(
            a.readers().into_iter().collect::<Vec<_>>(),
            [Reader::Public, Reader::Account("bbbb".into())]
        );
        let no_equivalent = a
            .changes()
            .iter()
            .filter(|c| matches!(c, Change::NoEquivalent { .. }))
            .count();
        assert_eq!(no_equivalent, 2, "{:?}", a.changes());
        // Another writer's object is never owner-only.
        let theirs = Acl::private("cccc");
        let t = Access::of(&theirs, OWNER);
        assert_eq!(t.writer.as_deref(), Some("cccc"));
        assert_eq!(t.readers().len(), 1);
        assert_ne!(t.fingerprint(), a.fingerprint());
        assert_eq!(a.fingerprint(), Access::of(&acl, OWNER).fingerprint());
    }
}
