//! What an audit concludes, small enough to save (`--save`) and to answer
//! a Nagios check from (`--nagios --from`): the counts, the groups, the
//! verdict and why.

use mc_aws_common::nagios::{Check, NagiosArgs, Perf, Status};
use mc_aws_common::output::human_count;
use serde::{Deserialize, Serialize};

/// The saved file's format name; another one is refused.
pub const FORMAT: &str = "acl-reconciler-audit/1";
/// The Nagios service name of the audit's check.
pub const SERVICE: &str = "ACL_GRANTS";

/// One group of object versions with the same grants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupLine {
    /// Its name (also the tag value of the tag fallback).
    pub group: String,
    /// Its grants besides the bucket owner's.
    pub grants: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
    pub versions: u64,
    pub current: u64,
    pub bytes: u64,
    pub examples: Vec<String>,
    /// What disabling ACLs changes for it, one line each.
    pub changes: Vec<String>,
    /// The statements of the proposal that keep its reads.
    pub kept_by: Vec<String>,
}

/// An audit's conclusion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format: String,
    pub bucket: String,
    pub prefix: String,
    /// Seconds since the epoch.
    pub written_at: u64,
    pub ownership: String,
    pub acls_enabled: bool,
    pub versions: u64,
    pub current: u64,
    pub bytes: u64,
    pub delete_markers: u64,
    /// Versions whose ACL grants anything besides the bucket owner's.
    pub with_grants: u64,
    pub unreadable: u64,
    pub groups: Vec<GroupLine>,
    /// Safe to set BucketOwnerEnforced once the steps are done.
    pub safe: bool,
    /// Why not (or what to mind).
    pub reasons: Vec<String>,
    /// The bucket's policy already is the proposal.
    pub policy_in_place: bool,
}

impl Summary {
    /// The Nagios answer: WARNING while versions with grants remain
    /// (or as the thresholds say), at least WARNING with unreadable ACLs.
    pub fn check(&self, args: &NagiosArgs, age: Option<u64>) -> Check {
        if !self.acls_enabled {
            return Check::new(
                SERVICE,
                Status::Ok,
                format!(
                    "s3://{}: ACLs are disabled (BucketOwnerEnforced): no object grants apply",
                    self.bucket
                ),
            );
        }
        let value = self.with_grants as f64;
        let mut status = match (&args.warning, &args.critical) {
            (None, None) if self.with_grants > 0 => Status::Warning,
            (None, None) => Status::Ok,
            _ => args.status(value),
        };
        if self.unreadable > 0 {
            status = status.worst(Status::Warning);
        }
        let mut text = format!(
            "{} of {} object versions in s3://{}/{} carry grants besides the bucket owner's ({} groups), {} unreadable",
            human_count(self.with_grants),
            human_count(self.versions),
            self.bucket,
            self.prefix,
            human_count(self.groups.len() as u64),
            human_count(self.unreadable)
        );
        text.push_str(if self.safe {
            "; safe to switch once the steps are done"
        } else {
            "; not safe to switch yet"
        });
        let mut check = Check::new(SERVICE, status, text);
        check.perf = vec![
            Perf::new("granted", value, "")
                .ranges(args.warning.as_ref(), args.critical.as_ref())
                .min(0.0),
            Perf::new("unreadable", self.unreadable as f64, "").min(0.0),
            Perf::new("versions", self.versions as f64, "").min(0.0),
        ];
        if let Some(age) = age {
            check.perf.push(Perf::new("age", age as f64, "s").min(0.0));
        }
        check
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Summary {
        Summary {
            format: FORMAT.into(),
            bucket: "b".into(),
            prefix: String::new(),
            written_at: 0,
            ownership: "ObjectWriter".into(),
            acls_enabled: true,
            versions: 100,
            current: 100,
            bytes: 1000,
            delete_markers: 0,
            with_grants: 12,
            unreadable: 0,
            groups: Vec::new(),
            safe: true,
            reasons: Vec::new(),
            policy_in_place: false,
        }
    }

    #[test]
    fn warns_while_grants_remain() {
        let s = sample();
        let c = s.check(&NagiosArgs::default(), Some(60));
        assert_eq!(c.status, Status::Warning);
        assert_eq!(
            c.to_string(),
            "ACL_GRANTS WARNING - 12 of 100 object versions in s3://b/ carry grants besides the bucket owner's (0 groups), 0 unreadable; safe to switch once the steps are done | 'granted'=12;;;0 'unreadable'=0;;;0 'versions'=100;;;0 'age'=60s;;;0"
        );
        let none = Summary {
            with_grants: 0,
            ..sample()
        };
        assert_eq!(none.check(&NagiosArgs::default(), None).status, Status::Ok);
        let unreadable = Summary {
            with_grants: 0,
            unreadable: 1,
            ..sample()
        };
        assert_eq!(
            unreadable.check(&NagiosArgs::default(), None).status,
            Status::Warning
        );
        let t = NagiosArgs {
            critical: Some("10".parse().unwrap()),
            ..NagiosArgs::default()
        };
        assert_eq!(s.check(&t, None).status, Status::Critical);
    }
}
