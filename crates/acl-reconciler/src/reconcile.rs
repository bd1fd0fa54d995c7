//! One key: read both ACLs, decide, and (with `--apply`) fix the destination.

use std::sync::Arc;

use mc_aws_common::acl::{Acl, BucketAclSettings, Grant};
use mc_aws_common::error::ToolError;
use mc_aws_common::retry::Throttle;
use mc_aws_common::twosided::Side;
use serde::Serialize;

/// What happened to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The ACLs match.
    Equal,
    /// They differ; would be fixed with `--apply`.
    Plan,
    /// They differed and the destination was fixed.
    Fixed,
    /// The fix adds a public grant and `--allow-public` was not given.
    SkippedPublic,
    /// The fixed ACL would be public and the destination's Block Public Access
    /// (BlockPublicAcls) refuses that.
    Blocked,
    /// The key exists on the source only.
    MissingInDestination,
    /// The key (from `--keys-from`) does not exist on the source.
    MissingInSource,
    /// The source key is public but the destination has ACLs disabled.
    PublicOnSource,
    /// The source key is not public (destination with ACLs disabled).
    Private,
    /// Reading or writing failed.
    Error,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Equal => "equal",
            Action::Plan => "plan",
            Action::Fixed => "fixed",
            Action::SkippedPublic => "skipped-public",
            Action::Blocked => "blocked",
            Action::MissingInDestination => "missing-in-destination",
            Action::MissingInSource => "missing-in-source",
            Action::PublicOnSource => "public-on-source",
            Action::Private => "private",
            Action::Error => "error",
        }
    }

    /// Whether the key's ACL differs (or differed) between the buckets.
    pub fn is_drift(self) -> bool {
        matches!(
            self,
            Action::Plan | Action::Fixed | Action::SkippedPublic | Action::Blocked
        )
    }
}

/// One audit line: the key, what was (or would be) done, the destination ACL
/// before and after.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub key: String,
    /// The destination key when it differs from `key` (other prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_key: Option<String>,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Acl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Acl>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<Grant>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Grant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Record {
    pub fn new(key: String, dest_key: &str, action: Action) -> Self {
        let dest_key = (dest_key != key).then(|| dest_key.to_string());
        Self {
            key,
            dest_key,
            action,
            before: None,
            after: None,
            added: Vec::new(),
            removed: Vec::new(),
            error: None,
        }
    }

    pub fn error(key: String, dest_key: &str, err: &ToolError) -> Self {
        let mut r = Self::new(key, dest_key, Action::Error);
        r.error = Some(err.to_string());
        r
    }
}

/// Everything a key needs, shared by all keys of a run.
pub struct Reconciler {
    pub source: Side,
    pub dest: Side,
    /// Writes (PutObjectAcl) go through the run's throttle; ACL reads
    /// through each side's reader.
    pub throttle: Arc<Throttle>,
    pub dest_settings: BucketAclSettings,
    pub apply: bool,
    pub allow_public: bool,
}

/// The decision for a key whose two ACLs are known (pure; unit-tested).
pub fn decide(
    source: &Acl,
    before: &Acl,
    dest_settings: &BucketAclSettings,
    apply: bool,
    allow_public: bool,
) -> (Action, Acl) {
    let after = source.desired_for(before.owner.as_deref());
    if after.same_grants(before) {
        return (Action::Equal, after);
    }
    let (added, _) = after.diff(before);
    let widens = added.iter().any(|g| g.grantee.is_public());
    // BlockPublicAcls refuses any PUT of a public ACL, widening or not.
    let action = if after.is_public() && dest_settings.refuses_public_acls() {
        Action::Blocked
    } else if widens && !allow_public {
        Action::SkippedPublic
    } else if apply {
        Action::Fixed
    } else {
        Action::Plan
    };
    (action, after)
}

impl Reconciler {
    /// Whether a source ACL and a destination ACL (from inventory reports)
    /// already agree, so that nothing needs reading or fixing.
    pub fn agree(&self, source: &Acl, dest: &Acl) -> bool {
        decide(source, dest, &self.dest_settings, false, false).0 == Action::Equal
    }

    /// Reconciles source `key` with destination `dest_key`; a missing side is
    /// found out from GetObjectAcl's answer.
    pub async fn key(&self, key: String, dest_key: String) -> Record {
        let (src, dst) = futures::join!(self.source.acls.get(&key), self.dest.acls.get(&dest_key));
        let src = match src {
            Ok(a) => a,
            Err(ToolError::NotFound { .. }) => {
                return Record::new(key, &dest_key, Action::MissingInSource)
            }
            Err(e) => return Record::error(key, &dest_key, &e),
        };
        let before = match dst {
            Ok(a) => a,
            Err(ToolError::NotFound { .. }) => {
                return Record::new(key, &dest_key, Action::MissingInDestination)
            }
            Err(e) => return Record::error(key, &dest_key, &e),
        };
        let (action, after) = decide(
            &src,
            &before,
            &self.dest_settings,
            self.apply,
            self.allow_public,
        );
        let mut rec = Record::new(key, &dest_key, action);
        if action != Action::Equal {
            let (added, removed) = after.diff(&before);
            rec.added = added.into_iter().cloned().collect();
            rec.removed = removed.into_iter().cloned().collect();
        }
        if action == Action::Fixed {
            if let Err(e) = self.dest.acls.put(&self.throttle, &dest_key, &after).await {
                rec.action = Action::Error;
                rec.error = Some(e.to_string());
            }
        }
        rec.before = Some(before);
        rec.after = Some(after);
        rec
    }

    /// For a destination with ACLs disabled: is the source key public?
    pub async fn source_public(&self, key: String, dest_key: String) -> Record {
        match self.source.acls.get(&key).await {
            Ok(a) if a.is_public() => {
                let mut r = Record::new(key, &dest_key, Action::PublicOnSource);
                r.added = a.public_grants().cloned().collect();
                r
            }
            Ok(_) => Record::new(key, &dest_key, Action::Private),
            Err(ToolError::NotFound { .. }) => Record::new(key, &dest_key, Action::MissingInSource),
            Err(e) => Record::error(key, &dest_key, &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mc_aws_common::acl::{Grantee, Group, ObjectOwnership, Permission, PublicAccessBlock};

    fn settings(block: bool) -> BucketAclSettings {
        BucketAclSettings {
            ownership: ObjectOwnership::ObjectWriter,
            public_access_block: PublicAccessBlock {
                block_public_acls: block,
                ..Default::default()
            },
        }
    }

    fn public_read(owner: &str) -> Acl {
        Acl::new(
            Some(owner.into()),
            [
                Grant::new(Grantee::user(owner), Permission::FullControl),
                Grant::new(Grantee::Group(Group::AllUsers), Permission::Read),
            ],
        )
    }

    #[test]
    fn equal_across_owners() {
        let (a, after) = decide(
            &public_read("s"),
            &public_read("d"),
            &settings(false),
            true,
            false,
        );
        assert_eq!(a, Action::Equal);
        assert_eq!(after, public_read("d"));
    }

    #[test]
    fn narrowing_needs_no_flag() {
        let (a, after) = decide(
            &Acl::private("s"),
            &public_read("d"),
            &settings(true),
            true,
            false,
        );
        assert_eq!(a, Action::Fixed);
        assert_eq!(after, Acl::private("d"));
        let (a, _) = decide(
            &Acl::private("s"),
            &public_read("d"),
            &settings(true),
            false,
            false,
        );
        assert_eq!(a, Action::Plan);
    }

    #[test]
    fn widening_needs_the_flag_and_respects_block_public_access() {
        let src = public_read("s");
        let dst = Acl::private("d");
        assert_eq!(
            decide(&src, &dst, &settings(false), true, false).0,
            Action::SkippedPublic
        );
        assert_eq!(
            decide(&src, &dst, &settings(false), true, true).0,
            Action::Fixed
        );
        assert_eq!(
            decide(&src, &dst, &settings(true), true, true).0,
            Action::Blocked
        );
    }
}
