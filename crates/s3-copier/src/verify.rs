//! `verify`: the merge-join of `sync`, reporting instead of copying.
//!
//! Missing and different objects (and, with `--acl`, objects whose ACL does
//! not match the source's with the owner mapped) fail the check; extra
//! objects are reported but do not.

use std::sync::{Arc, Mutex};

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::interrupt::Interrupt;
use mc_aws_common::keyfilter::KeyFilter;
use mc_aws_common::listing::Chunk;
use mc_aws_common::listing::ObjectEntry;
use mc_aws_common::nagios::{Check, NagiosArgs, Perf};
use mc_aws_common::output::{human_count, printable, Format, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;
use mc_aws_common::startup::NagiosMode;
use mc_aws_common::twosided::{Folders, Side};
use serde::Serialize;

use crate::cli::VerifyArgs;
use crate::compare::{pairs, Pair};
use crate::preflight;

/// `verify --nagios`: a migration-lag check.
pub const NAGIOS: NagiosMode = NagiosMode {
    words: &["--nagios"],
    service: "S3COPIER",
};

/// One finding (`"kind": "finding"`); the summary line is `"kind": "summary"`.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub status: &'static str,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The listed object on each side, where there is one (missing,
    /// different, extra), for scripts that want the numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Listed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest: Option<Listed>,
}

/// What a listing said about an object.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub size: u64,
    pub etag: String,
}

impl From<&ObjectEntry> for Listed {
    fn from(e: &ObjectEntry) -> Self {
        Self {
            size: e.size,
            etag: e.etag.clone(),
        }
    }
}

/// Totals of a verification.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub checked: u64,
    pub same: u64,
    pub missing: u64,
    pub different: u64,
    pub extra: u64,
    pub acl_different: u64,
    /// Objects whose ACL could not be read (deleted meanwhile, access denied).
    pub errors: u64,
    /// Source objects left out by --include/--exclude.
    #[serde(skip_serializing_if = "is_zero")]
    pub excluded: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.checked += o.checked;
        self.same += o.same;
        self.missing += o.missing;
        self.different += o.different;
        self.extra += o.extra;
        self.acl_different += o.acl_different;
        self.errors += o.errors;
        self.excluded += o.excluded;
    }

    /// Objects not (yet) correctly at the destination: the migration lag.
    pub fn lag(&self) -> u64 {
        self.missing + self.different + self.acl_different
    }
}

struct Ctx {
    src: Side,
    dst: Side,
    folders: Folders,
    /// `--include`/`--exclude`, as `sync` applies them.
    filter: KeyFilter,
    size_only: bool,
    acl: bool,
    concurrency: usize,
}

impl Ctx {
    async fn chunk(
        &self,
        mut chunk: Chunk<ObjectEntry>,
    ) -> Result<(Totals, Vec<Finding>), ToolError> {
        let excluded = self
            .filter
            .retain(&mut chunk.items, &self.folders.source.prefix);
        let mut dst = self
            .dst
            .list_span(self.folders.dest_span(&chunk.span).as_ref())
            .await?;
        self.filter.retain(&mut dst, &self.folders.dest.prefix);
        let mut t = Totals {
            checked: chunk.items.len() as u64,
            excluded,
            ..Totals::default()
        };
        let mut found = Vec::new();
        let mut same = Vec::new();
        for p in pairs(&chunk.items, &dst, &self.folders, self.size_only) {
            match p {
                Pair::Missing(s) => {
                    t.missing += 1;
                    found.push(Finding {
                        source: Some(s.into()),
                        ..finding("missing", &s.key, None)
                    });
                }
                Pair::Different(s, d, why) => {
                    t.different += 1;
                    let detail = format!(
                        "{}: source {} B etag {}, destination {} B etag {}",
                        why.as_str(),
                        s.size,
                        s.etag,
                        d.size,
                        d.etag
                    );
                    found.push(Finding {
                        source: Some(s.into()),
                        dest: Some(d.into()),
                        ..finding("different", &s.key, Some(detail))
                    });
                }
                Pair::Same(s, d) => {
                    t.same += 1;
                    if self.acl {
                        same.push((s.key.clone(), d.key.clone()));
                    }
                }
                Pair::Extra(d) => {
                    t.extra += 1;
                    found.push(Finding {
                        dest: Some(d.into()),
                        ..finding("extra", &d.key, None)
                    });
                }
            }
        }
        self.compare_acls(same, &mut t, &mut found).await;
        Ok((t, found))
    }

    /// Reads the ACLs of the objects present on both sides (`same`: source
    /// and destination keys) and counts those that differ (owner mapped).
    async fn compare_acls(
        &self,
        same: Vec<(String, String)>,
        t: &mut Totals,
        found: &mut Vec<Finding>,
    ) {
        let acl_results: Vec<_> = futures::stream::iter(same)
            .map(|(sk, dk)| async move {
                let (a, b) = tokio::join!(self.src.acls.get(&sk), self.dst.acls.get(&dk));
                (sk, a, b)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        for (key, a, b) in acl_results {
            match (a, b) {
                (Ok(a), Ok(b)) if a.matches(&b) => {}
                (Ok(a), Ok(b)) => {
                    t.acl_different += 1;
                    t.same -= 1;
                    let want = a.desired_for(b.owner.as_deref());
                    found.push(finding(
                        "acl-different",
                        &key,
                        Some(format!("source: {want}; destination: {b}")),
                    ));
                }
                (Err(e), _) | (_, Err(e)) => {
                    t.errors += 1;
                    found.push(finding("error", &key, Some(e.to_string())));
                }
            }
        }
    }
}

fn finding(status: &'static str, key: &str, detail: Option<String>) -> Finding {
    Finding {
        kind: "finding",
        status,
        key: key.to_string(),
        detail,
        source: None,
        dest: None,
    }
}

/// Runs `verify`; returns the exit code.
pub async fn run(
    args: &VerifyArgs,
    aws: &AwsArgs,
    out: &OutputArgs,
    stop: Interrupt,
) -> Result<i32, ToolError> {
    if args.nagios {
        // The caller bounds it with --timeout (nagios::run_check).
        return Ok(match verify(args, aws, None, &stop).await {
            Ok((_, true)) => {
                Check::unknown(NAGIOS.service, "interrupted before the check finished").emit()
            }
            Ok((t, false)) => nagios_check(&t, args.acl, &args.check).emit(),
            Err(e) => Check::unknown(NAGIOS.service, e).emit(),
        });
    }
    let printer = Mutex::new(Printer::new());
    let (t, interrupted) = verify(args, aws, Some((&printer, out.output)), &stop).await?;
    let mut p = printer.lock().unwrap_or_else(|e| e.into_inner());
    let _ = match out.output {
        Format::Json => {
            p.json(&serde_json::json!({"kind": "summary", "status": "summary", "totals": t, "complete": !interrupted}))
        }
        Format::Human => p.line(format!(
            "{}checked {}: {} up to date, {} missing, {} different, {}{} extra{}",
            if interrupted {
                "interrupted, so far: "
            } else {
                ""
            },
            human_count(t.checked),
            human_count(t.same),
            human_count(t.missing),
            human_count(t.different),
            acl_part(&t, args.acl).map(|a| a + ", ").unwrap_or_default(),
            human_count(t.extra),
            if t.errors > 0 {
                format!(", {} errors", human_count(t.errors))
            } else {
                String::new()
            }
        ) + &excluded_part(&t)),
    };
    let _ = p.flush();
    Ok(if interrupted {
        exit::INTERRUPTED
    } else if t.lag() > 0 || t.errors > 0 {
        exit::PARTIAL_FAILURE
    } else {
        exit::SUCCESS
    })
}

/// "; N excluded by --include/--exclude" when filters left keys out.
fn excluded_part(t: &Totals) -> String {
    if t.excluded == 0 {
        return String::new();
    }
    format!(
        "; {} excluded by --include/--exclude",
        human_count(t.excluded)
    )
}

/// "N ACL different" when ACLs were compared (`--acl`).
fn acl_part(t: &Totals, acls: bool) -> Option<String> {
    acls.then(|| format!("{} ACL different", human_count(t.acl_different)))
}

/// The Nagios result for totals (`acls`: ACLs were compared): thresholds
/// apply to missing + different.
pub fn nagios_check(t: &Totals, acls: bool, thresholds: &NagiosArgs) -> Check {
    let lag = t.lag();
    let status = thresholds.status(lag as f64);
    let mut check = Check::new(
        NAGIOS.service,
        status,
        format!(
            "{} of {} objects not yet at the destination ({} missing, {} different{})",
            human_count(lag),
            human_count(t.checked),
            human_count(t.missing),
            human_count(t.different),
            acl_part(t, acls)
                .map(|a| format!(", {a}"))
                .unwrap_or_default()
        ),
    );
    check.perf = vec![
        Perf::new("lag", lag as f64, "")
            .ranges(thresholds.warning.as_ref(), thresholds.critical.as_ref())
            .min(0.0),
        Perf::new("missing", t.missing as f64, "").min(0.0),
        Perf::new("different", t.different as f64, "").min(0.0),
        Perf::new("acl_different", t.acl_different as f64, "").min(0.0),
        Perf::new("extra", t.extra as f64, "").min(0.0),
        Perf::new("checked", t.checked as f64, "").min(0.0),
    ];
    check
}

async fn verify(
    args: &VerifyArgs,
    aws: &AwsArgs,
    print: Option<(&Mutex<Printer>, Format)>,
    stop: &Interrupt,
) -> Result<(Totals, bool), ToolError> {
    let shard = args.shard.plan(&args.endpoints.source.prefix)?;
    let throttle = Throttle::from_args(&args.throttle);
    let acl_reads = args.acl_reads.throttle(&args.throttle, &throttle);
    let preflight::Connected {
        folders,
        src,
        dst,
        notes,
    } = preflight::connect(
        aws,
        &args.endpoints,
        &throttle,
        &acl_reads,
        Some(&args.inventories),
    )
    .await?;
    for n in &notes {
        tracing::warn!("{n}");
    }
    let ranges = shard.range.map(|r| vec![r]);
    let (mut listing, max_chunks) = src.chunks(ranges, &args.throttle, 1000);
    let ctx = Arc::new(Ctx {
        src,
        dst,
        folders,
        filter: args.filters.filter.clone(),
        size_only: args.size_only,
        acl: args.acl,
        concurrency: args.throttle.concurrency as usize,
    });
    let mut inflight = FuturesUnordered::new();
    let mut totals = Totals::default();
    let mut listing_done = false;
    let signal = stop.wait();
    tokio::pin!(signal);
    loop {
        if listing_done && inflight.is_empty() {
            break;
        }
        tokio::select! {
            // Only reads: what is in flight is simply dropped.
            _ = &mut signal => return Ok((totals, true)),
            Some(r) = inflight.next(), if !inflight.is_empty() => {
                let (t, found): (Totals, Vec<Finding>) = r?;
                totals.add(&t);
                if let Some((p, format)) = print {
                    let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
                    for f in &found {
                        let _ = match format {
                            Format::Json => p.json(f),
                            Format::Human => p.line(format!(
                                "{:<13} {}{}",
                                f.status,
                                printable(&f.key),
                                f.detail.as_deref().map(|d| format!("  ({d})")).unwrap_or_default()
                            )),
                        };
                    }
                }
            }
            next = listing.next(), if !listing_done && inflight.len() < max_chunks => {
                match next {
                    None => listing_done = true,
                    Some(Err(e)) => return Err(e),
                    Some(Ok(chunk)) => {
                        let ctx = ctx.clone();
                        inflight.push(async move { ctx.chunk(chunk).await });
                    }
                }
            }
        }
    }
    Ok((totals, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mc_aws_common::nagios::Status;

    fn th(warning: Option<&str>, critical: Option<&str>) -> NagiosArgs {
        NagiosArgs {
            warning: warning.map(|s| s.parse().unwrap()),
            critical: critical.map(|s| s.parse().unwrap()),
            ..NagiosArgs::default()
        }
    }

    #[test]
    fn nagios_line_has_lag_and_perfdata() {
        let t = Totals {
            checked: 1000,
            same: 880,
            missing: 100,
            different: 20,
            extra: 3,
            ..Totals::default()
        };
        let c = nagios_check(&t, true, &th(Some("50"), Some("500")));
        assert_eq!(c.status, Status::Warning);
        assert_eq!(
            c.to_string(),
            "S3COPIER WARNING - 120 of 1,000 objects not yet at the destination (100 missing, 20 different, 0 ACL different) | 'lag'=120;50;500;0 'missing'=100;;;0 'different'=20;;;0 'acl_different'=0;;;0 'extra'=3;;;0 'checked'=1000;;;0"
        );
        assert_eq!(
            nagios_check(&Totals::default(), false, &th(Some("1"), Some("2"))).status,
            Status::Ok
        );
        // Nagios ranges and suffixes, as s3-key-counter takes them.
        assert_eq!(
            nagios_check(&t, true, &th(Some("1k"), None)).status,
            Status::Ok
        );
        assert_eq!(
            nagios_check(&t, true, &th(None, Some("@100:200"))).status,
            Status::Critical
        );
    }
}
