//! Output: one line per key (human or JSON lines for audit), the summary,
//! and the Nagios status line.

use std::io;

use mc_aws_common::nagios::{Check, NagiosArgs, Perf, Status};
use mc_aws_common::output::{human_count, printable, Format, Kinded, Printer};
use mc_aws_common::retry::StatsSnapshot;
use serde::Serialize;

use crate::reconcile::{Action, Record};

/// Counts for the final report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Keys looked at.
    pub checked: u64,
    pub equal: u64,
    /// Keys whose ACLs differ (planned, fixed, skipped or blocked).
    pub drift: u64,
    pub planned: u64,
    pub fixed: u64,
    pub skipped_public: u64,
    pub blocked: u64,
    pub missing_in_destination: u64,
    pub missing_in_source: u64,
    pub public_on_source: u64,
    pub errors: u64,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
}

impl Summary {
    pub fn add(&mut self, r: &Record) {
        self.checked += 1;
        if r.action.is_drift() {
            self.drift += 1;
        }
        match r.action {
            Action::Equal | Action::Private => self.equal += 1,
            Action::Plan => self.planned += 1,
            Action::Fixed => self.fixed += 1,
            Action::SkippedPublic => self.skipped_public += 1,
            Action::Blocked => self.blocked += 1,
            Action::MissingInDestination => self.missing_in_destination += 1,
            Action::MissingInSource => self.missing_in_source += 1,
            Action::PublicOnSource => self.public_on_source += 1,
            Action::Error => self.errors += 1,
        }
    }

    pub fn set_stats(&mut self, s: StatsSnapshot) {
        self.requests = s.requests;
        self.retries = s.retries;
        self.throttled = s.throttled;
    }

    /// Adds the requests of a second throttle (the ACL-read budget).
    pub fn add_stats(&mut self, s: StatsSnapshot) {
        self.requests += s.requests;
        self.retries += s.retries;
        self.throttled += s.throttled;
    }

    /// One human line: `checked 1,200 keys: 1,100 equal, 80 fixed, ...`.
    pub fn human(&self) -> String {
        let mut parts = vec![format!("{} equal", human_count(self.equal))];
        let mut push = |n: u64, what: &str| {
            if n > 0 {
                parts.push(format!("{} {what}", human_count(n)));
            }
        };
        push(self.planned, "to fix");
        push(self.fixed, "fixed");
        push(
            self.skipped_public,
            "skipped (fix would make them public: needs --allow-public)",
        );
        push(
            self.blocked,
            "blocked (public, refused by the destination's Block Public Access)",
        );
        push(self.missing_in_destination, "missing in destination");
        push(self.missing_in_source, "missing in source");
        push(self.public_on_source, "public on source");
        push(self.errors, "errors");
        format!(
            "checked {} keys: {} ({} requests, {} retries, {} throttled)",
            human_count(self.checked),
            parts.join(", "),
            human_count(self.requests),
            human_count(self.retries),
            human_count(self.throttled)
        )
    }

    /// The Nagios result: drift against the thresholds; errors make it UNKNOWN
    /// (the count may be low) unless it is already CRITICAL.
    pub fn nagios(&self, thresholds: &NagiosArgs) -> Check {
        let (warning, critical) = (thresholds.warning.as_ref(), thresholds.critical.as_ref());
        let mut status = thresholds.status(self.drift as f64);
        if self.errors > 0 {
            status = status.worst(Status::Unknown);
        }
        let mut text = format!(
            "{} of {} keys have drifted ACLs",
            human_count(self.drift),
            human_count(self.checked)
        );
        if self.missing_in_destination > 0 {
            text.push_str(&format!(
                ", {} missing in destination",
                human_count(self.missing_in_destination)
            ));
        }
        if self.errors > 0 {
            text.push_str(&format!(", {} errors", human_count(self.errors)));
        }
        let mut check = Check::new("ACL_DRIFT", status, text);
        check.perf = vec![
            Perf::new("drift", self.drift as f64, "")
                .ranges(warning, critical)
                .min(0.0),
            Perf::new("checked", self.checked as f64, "").min(0.0),
            Perf::new("missing", self.missing_in_destination as f64, "").min(0.0),
            Perf::new("errors", self.errors as f64, "").min(0.0),
        ];
        check
    }
}

/// Prints records and the summary in the chosen format.
pub struct Reporter {
    printer: Printer,
    format: Format,
    quiet: bool,
    show_equal: bool,
    /// Nagios mode prints only the status line.
    silent: bool,
}

impl Reporter {
    pub fn new(format: Format, quiet: bool, show_equal: bool, silent: bool) -> Self {
        Self {
            printer: Printer::new(),
            format,
            quiet,
            show_equal,
            silent,
        }
    }

    fn wanted(&self, r: &Record) -> bool {
        if self.silent {
            return false;
        }
        match r.action {
            Action::Error => true,
            Action::Equal | Action::Private => self.show_equal && !self.quiet,
            _ => !self.quiet,
        }
    }

    pub fn record(&mut self, r: &Record) -> io::Result<()> {
        if !self.wanted(r) {
            return Ok(());
        }
        match self.format {
            Format::Json => self.printer.json(&Kinded {
                kind: "record",
                value: r,
            }),
            Format::Human => self.printer.line(human_line(r)),
        }
    }

    pub fn summary(&mut self, s: &Summary, dry_run: bool) -> io::Result<()> {
        if self.silent {
            return Ok(());
        }
        match self.format {
            Format::Json => {
                #[derive(Serialize)]
                struct Line<'a> {
                    kind: &'static str,
                    summary: &'a Summary,
                    dry_run: bool,
                }
                self.printer.json(&Line {
                    kind: "summary",
                    summary: s,
                    dry_run,
                })?;
            }
            Format::Human => {
                self.printer.line(s.human())?;
                if dry_run && s.planned > 0 {
                    self.printer.line(format!(
                        "dry run: nothing written; run again with --apply to fix {} keys",
                        human_count(s.planned)
                    ))?;
                }
            }
        }
        self.printer.flush()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.printer.flush()
    }
}

/// A key as printed for people: control characters escaped so one key stays one line.
fn human_line(r: &Record) -> String {
    let mut line = format!("{:<22} {}", r.action.as_str(), printable(&r.key));
    if let Some(d) = &r.dest_key {
        line.push_str(&format!(" -> {}", printable(d)));
    }
    for g in &r.added {
        line.push_str(&format!("  +{g}"));
    }
    for g in &r.removed {
        line.push_str(&format!("  -{g}"));
    }
    if let Some(e) = &r.error {
        line.push_str(&format!("  {e}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use mc_aws_common::acl::{Grant, Grantee, Group, Permission};

    #[test]
    fn human_line_shows_changes_and_escapes() {
        let mut r = Record::new("a\nb".into(), "a\nb", Action::Plan);
        r.added = vec![Grant::new(
            Grantee::Group(Group::AllUsers),
            Permission::Read,
        )];
        assert_eq!(
            human_line(&r),
            "plan                   \"a\\nb\"  +group:AllUsers=READ"
        );
    }

    #[test]
    fn nagios_thresholds_and_perfdata() {
        let t = NagiosArgs {
            warning: Some("10".parse().unwrap()),
            critical: Some("50".parse().unwrap()),
            ..NagiosArgs::default()
        };
        let mut s = Summary {
            checked: 100,
            drift: 12,
            ..Summary::default()
        };
        let c = s.nagios(&t);
        assert_eq!(
            c.to_string(),
            "ACL_DRIFT WARNING - 12 of 100 keys have drifted ACLs | 'drift'=12;10;50;0 'checked'=100;;;0 'missing'=0;;;0 'errors'=0;;;0"
        );
        s.errors = 1;
        assert_eq!(s.nagios(&t).status, Status::Unknown);
        s.drift = 60;
        assert_eq!(s.nagios(&t).status, Status::Critical);
    }
}
