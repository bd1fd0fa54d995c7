//! `s3-copier-*`: bucket-to-bucket copies and no-op re-syncs on the S3 model, `s3-copier sync`
//! side by side with what its users would otherwise run: `aws s3 sync`, `s5cmd` and `rclone`,
//! all server-side (CopyObject).
//!
//! - `s3-copier-copy`: copy 20k small objects spread over 256 hex prefixes into an empty
//!   bucket: ours with `--acl skip` (the same work the peers do), ours copying each object's ACL
//!   (the default, one GetObjectAcl more per object), `aws s3 sync`, `s5cmd cp`, `rclone copy`.
//! - `s3-copier-copy-hot`: the same with 90% of the keys under one prefix (`hot/`), so that
//!   S3's per-prefix write limit (3,500/s) answers `503 SlowDown` to anyone copying faster:
//!   shows throttling absorbed with zero failed objects.
//! - `s3-copier-resync`: a no-op re-sync of a complete 100k bucket (both sides identical):
//!   ours against `aws s3 sync`, `s5cmd sync` and `rclone sync --checksum`.
//! - `s3-copier-resync-1m`: the same at 1M keys, ours alone: with the 100k table it shows that
//!   memory (max RSS) stays flat as the bucket grows.
//! - `s3-copier-resync-10m`: the same at 10M keys, with the model's CPU beside ours.
//!
//! `MC_BENCH_OURS_ONLY=1` skips the peers (they take minutes) to compare our own variants.
//!
//! Every copy run gets a fresh, empty destination bucket (created untimed before the run), and
//! every run is checked after it (untimed): the destination must hold exactly the source's keys
//! (counted over the whole key space) and our JSON report must say nothing failed, so a fast
//! but wrong run cannot win. Re-sync runs must copy nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context};

use super::framework::{Contender, Ctx, Plan, Scenario};
use super::raw::{self, RawConn};

const SRC: &str = "src";
const PAGE_MS: u64 = 100;
const COPY_MS: u64 = 30;
const ACL_MS: u64 = 20;
/// S3's per-prefix write limit (PUT/COPY/POST/DELETE per second), as the model enforces it.
const WRITE_LIMIT: u64 = 3500;
/// Our requests in flight.
const OURS_J: u32 = 256;

/// Runs a contender with `@DST@` in its arguments replaced by the current destination bucket
/// (the first line of DESTFILE); `merge` also sends stderr to stdout (rclone logs there).
const WRAPPER: &str = r#"
file=$1; mode=$2; shift 2
dst=$(cat "$file")
n=$#
for a in "$@"; do
  case $a in *@DST@*) a=$(printf '%s\n' "$a" | sed "s/@DST@/$dst/g") ;; esac
  set -- "$@" "$a"
done
shift "$n"
if [ "$mode" = merge ]; then exec "$@" 2>&1; else exec "$@"; fi
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Copy,
    Resync,
}

/// One variant of the scenario.
pub struct S3Copier {
    name: &'static str,
    kind: Kind,
    keys: usize,
    distribution: &'static str,
    /// Run the peers too (not at 1M keys).
    peers: bool,
}

impl S3Copier {
    pub const COPY: Self = Self::new("s3-copier-copy", Kind::Copy, 20_000, "hex", true);
    pub const COPY_HOT: Self = Self::new("s3-copier-copy-hot", Kind::Copy, 20_000, "skewed", true);
    pub const RESYNC: Self = Self::new("s3-copier-resync", Kind::Resync, 100_000, "hex", true);
    pub const RESYNC_1M: Self =
        Self::new("s3-copier-resync-1m", Kind::Resync, 1_000_000, "hex", false);
    pub const RESYNC_10M: Self = Self::new(
        "s3-copier-resync-10m",
        Kind::Resync,
        10_000_000,
        "hex",
        false,
    );

    const fn new(
        name: &'static str,
        kind: Kind,
        keys: usize,
        distribution: &'static str,
        peers: bool,
    ) -> Self {
        Self {
            name,
            kind,
            keys,
            distribution,
            peers,
        }
    }
}

impl Scenario for S3Copier {
    fn name(&self) -> &'static str {
        self.name
    }

    fn about(&self) -> &'static str {
        match (self.kind, self.distribution, self.peers) {
            (Kind::Copy, "hex", _) => "copy 20k objects bucket to bucket (--acl skip, ACLs copied) vs aws s3 sync, s5cmd cp, rclone copy (S3 model)",
            (Kind::Copy, _, _) => "copy 20k objects, 90% under one prefix (SlowDown above 3,500 writes/s) vs aws s3 sync, s5cmd cp, rclone copy",
            (Kind::Resync, _, true) => "no-op re-sync of a complete 100k bucket vs aws s3 sync, s5cmd sync, rclone sync (S3 model)",
            (Kind::Resync, _, false) => "no-op re-sync of a complete 1M or 10M bucket, ours alone (memory flat vs the 100k run)",
        }
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        match self.kind {
            Kind::Copy => self.copy(ctx),
            Kind::Resync => self.resync(ctx),
        }
    }
}

/// Prefixes that partition the seeded key space of every distribution used here (`hex`:
/// `xx/…`; `skewed`: `hot/…` plus `xx/…`), 16 groups, for counting a bucket in parallel.
fn count_groups() -> Vec<Vec<String>> {
    let mut prefixes = raw::hex_prefixes();
    prefixes.push("hot/".to_owned());
    raw::round_robin(&prefixes, 16)
}

/// Objects in `bucket` (over the partition of [`count_groups`]).
fn count(endpoint: &str, bucket: &str) -> anyhow::Result<u64> {
    Ok(raw::parallel_count(endpoint, bucket, &count_groups())?.0)
}

/// Fresh, empty destination buckets, one per run, named `dst-N`; the current name is written
/// to a file that the wrapper reads.
struct Destinations {
    endpoint: String,
    file: PathBuf,
    next: AtomicU32,
}

impl Destinations {
    /// Creates the next bucket (CreateBucket over HTTP, untimed). `ownership` is sent as
    /// `x-amz-object-ownership` (`ObjectWriter`: ACLs enabled, needed to copy ACLs).
    fn fresh(&self, ownership: Option<&str>) -> anyhow::Result<()> {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let name = format!("dst-{n}");
        let mut conn = RawConn::connect(&self.endpoint)?;
        let headers: Vec<(&str, &str)> = ownership
            .map(|o| vec![("x-amz-object-ownership", o)])
            .unwrap_or_default();
        let (status, body) = conn.request("PUT", &format!("/{name}"), &headers)?;
        if status != 200 {
            bail!(
                "CreateBucket {name}: {status} {}",
                String::from_utf8_lossy(&body)
            );
        }
        std::fs::write(&self.file, &name).with_context(|| format!("{}", self.file.display()))?;
        Ok(())
    }

    fn current(&self) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(&self.file)?.trim().to_owned())
    }
}

/// Our JSON report (the one line of `-o json` output that is a JSON object).
fn our_report(stdout: &str) -> anyhow::Result<serde_json::Value> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| anyhow::anyhow!("no JSON report on stdout"))?;
    Ok(serde_json::from_str(line)?)
}

fn num(v: &serde_json::Value, field: &str) -> anyhow::Result<u64> {
    v.get(field)
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| anyhow::anyhow!("report has no {field}"))
}

/// Checks our report: `want_copied` copied, nothing failed; returns the throttling note.
fn check_ours(stdout: &str, want_copied: u64, want_listed: u64) -> anyhow::Result<String> {
    let r = our_report(stdout)?;
    let (copied, failed, listed) = (num(&r, "copied")?, num(&r, "failed")?, num(&r, "listed")?);
    ensure!(failed == 0, "{failed} objects failed: {}", r["failures"]);
    ensure!(
        copied == want_copied,
        "copied {copied}, expected {want_copied}"
    );
    ensure!(
        listed == want_listed,
        "compared {listed}, expected {want_listed}"
    );
    Ok(format!(
        "copied {copied}, failed 0, {} requests, {} retries, {} throttled (SlowDown)",
        num(&r, "requests")?,
        num(&r, "retries")?,
        num(&r, "throttled")?
    ))
}

fn rclone_env(c: Contender, endpoint: &str) -> Contender {
    c.env("RCLONE_CONFIG_MODEL_TYPE", "s3")
        .env("RCLONE_CONFIG_MODEL_PROVIDER", "Other")
        .env("RCLONE_CONFIG_MODEL_ENV_AUTH", "true")
        .env("RCLONE_CONFIG_MODEL_REGION", "us-east-1")
        .env("RCLONE_CONFIG_MODEL_ENDPOINT", endpoint)
}

fn model_args(keys: usize, distribution: &str, buckets: &[&str]) -> Vec<String> {
    let mut a = Vec::new();
    for b in buckets {
        a.extend(["--seed-bucket".to_owned(), (*b).to_owned()]);
    }
    a.extend([
        "--seed-keys".to_owned(),
        keys.to_string(),
        "--distribution".to_owned(),
        distribution.to_owned(),
        "--list-latency-ms".to_owned(),
        PAGE_MS.to_string(),
    ]);
    a
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Whether to run the peers: not when `MC_BENCH_OURS_ONLY` is set (non-empty, not `0`).
fn with_peers(scenario_wants: bool) -> bool {
    let ours_only = std::env::var("MC_BENCH_OURS_ONLY").is_ok_and(|v| !v.is_empty() && v != "0");
    scenario_wants && !ours_only
}

impl S3Copier {
    fn copy(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let keys = ctx.keys(self.keys);
        let n = keys as u64;
        let endpoint = ctx.model_process(model_args(keys, self.distribution, &[SRC]))?;
        ensure!(
            count(&endpoint, SRC)? == n,
            "seeded source does not hold {keys} keys"
        );
        let wrapper = path_str(&ctx.write_script("copy.sh", WRAPPER)?);
        let dests = Arc::new(Destinations {
            endpoint: endpoint.clone(),
            file: ctx.scratch().join("dst"),
            next: AtomicU32::new(0),
        });
        let ours_bin = path_str(&ctx.our_tool("s3-copier")?);
        let src_url = format!("s3://{SRC}/");

        // A contender run through the wrapper, with a fresh destination and the count check
        // (for ours also the check of our own report).
        let wrapped = |c: Contender, mode: &str, ownership: Option<&'static str>| {
            let report = c.ours;
            let (d1, d2, ep) = (dests.clone(), dests.clone(), endpoint.clone());
            c.args([wrapper.as_str(), &path_str(&dests.file), mode])
                .before_each(move || d1.fresh(ownership))
                .check(move |out| {
                    let dst = d2.current()?;
                    let got = count(&ep, &dst)?;
                    ensure!(
                        got == n,
                        "destination {dst} holds {got} objects, expected {n}"
                    );
                    if report {
                        check_ours(out, n, n).map(Some)
                    } else {
                        Ok(None)
                    }
                })
        };
        let ours = |label: &str, acl: Option<&str>, ownership: Option<&'static str>| {
            let mut c = Contender::ours(format!("s3-copier sync -j {OURS_J} {label}"), "/bin/sh");
            c = wrapped(c, "plain", ownership).args([
                ours_bin.as_str(),
                "sync",
                "--endpoint-url",
                endpoint.as_str(),
                "-j",
                &OURS_J.to_string(),
                "-o",
                "json",
                "-q",
            ]);
            if let Some(a) = acl {
                c = c.args(["--acl", a]);
            }
            c.args([src_url.as_str(), "s3://@DST@/"])
        };

        let pages = keys.div_ceil(1000) as u32;
        let page = Duration::from_millis(PAGE_MS);
        let copy_floor = |per_object_ms: u64| {
            let mut f = Duration::from_millis(per_object_ms) * keys as u32 / OURS_J;
            let mut how = format!("{keys} × {per_object_ms} ms / {OURS_J} in flight");
            if self.distribution == "skewed" {
                let hot = Duration::from_secs_f64(keys as f64 * 0.9 / WRITE_LIMIT as f64);
                if hot > f {
                    f = hot;
                    how =
                        format!("90% of {keys} copies under one prefix at {WRITE_LIMIT} writes/s");
                }
            }
            (page + f, format!("one list page ({PAGE_MS} ms) + {how}"))
        };
        let (f_skip, how_skip) = copy_floor(COPY_MS);
        // The ACL reads have a -j budget of their own and overlap the copies:
        // the slower of the two streams bounds the run.
        let (f_acl, how_acl) = copy_floor(COPY_MS.max(ACL_MS));
        let mut plan = Plan::new(
            format!(
                "copy {keys} objects bucket to bucket ({}), server-side, into an empty bucket (S3 model)",
                match self.distribution {
                    "hex" => "256 hex prefixes",
                    _ => "90% under hot/, 10% over 256 hex prefixes",
                }
            ),
            n,
        )
        .contender(
            ours("--acl skip", Some("skip"), None)
                .floor(f_skip, how_skip)
                .baseline(),
        )
        .contender(ours("(ACLs copied)", None, Some("ObjectWriter")).floor(f_acl, how_acl))
        .contender(
            wrapped(
                Contender::peer(
                    "raw HTTP/1.1 floor: unsigned GetObjectAcl + CopyObject per key, no listing",
                    "/bin/sh",
                ),
                "plain",
                Some("ObjectWriter"),
            )
            .arg(path_str(&ctx.release_bin("mc-benchkit", "mc-raw-s3")?))
            .args(["--endpoint", endpoint.as_str(), "--acl-of", SRC])
            .args(["--copy-to", "@DST@", "--keys", &keys.to_string()])
            .args(["-j", &OURS_J.to_string()])
            .expect_stdout(format!("copied={keys}")),
        );

        if with_peers(self.peers) {
            if let Ok(aws) = ctx.peer("aws") {
                plan = plan.contender(
                    wrapped(Contender::peer("aws s3 sync", "/bin/sh"), "plain", None)
                        .arg(path_str(&aws))
                        .args(["s3", "sync", "--only-show-errors", src_url.as_str(), "s3://@DST@/"])
                        .endpoint(&endpoint)
                        .floor(
                            Duration::from_millis(COPY_MS) * keys as u32 / 10 + page * pages,
                            format!("{pages} list pages + {keys} copies × {COPY_MS} ms / 10 in flight (its default)"),
                        ),
                );
            }
            if let Ok(s5cmd) = ctx.peer("s5cmd") {
                plan = plan.contender(
                    wrapped(
                        Contender::peer("s5cmd cp (256 workers)", "/bin/sh"),
                        "plain",
                        None,
                    )
                    .arg(path_str(&s5cmd))
                    .args(["--endpoint-url", endpoint.as_str(), "cp"])
                    .arg(format!("s3://{SRC}/*"))
                    .arg("s3://@DST@/"),
                );
            }
            if let Ok(rclone) = ctx.peer("rclone") {
                plan = plan.contender(rclone_env(
                    wrapped(
                        Contender::peer("rclone copy --transfers 64 --checkers 64", "/bin/sh"),
                        "merge",
                        None,
                    )
                    .arg(path_str(&rclone))
                    .args([
                        "copy",
                        "--s3-no-check-bucket",
                        "--transfers",
                        "64",
                        "--checkers",
                        "64",
                    ])
                    .arg(format!("model:{SRC}"))
                    .arg("model:@DST@"),
                    &endpoint,
                ));
            }
        }
        Ok(plan
            .note("every run copies into a fresh empty bucket (created untimed before it) and is checked after it: the destination must hold exactly the source's object count, and our report must show 0 failed")
            .note(format!("model latencies: list page {PAGE_MS} ms, CopyObject {COPY_MS} ms, GetObjectAcl {ACL_MS} ms; S3's per-prefix limits ({WRITE_LIMIT} writes/s, 5,500 reads/s) answered with 503 SlowDown"))
            .note("ACLs copied: our default (--acl copy) reads each source ACL (on a -j budget of its own, overlapping the copies) and sends it, owner mapped, with the CopyObject (x-amz-grant-*); the destination bucket has Object Ownership = ObjectWriter")
            .note("the peers copy no ACLs (the destination default applies), like --acl skip")
            .note("the raw floor (`mc-raw-s3`) reads each source ACL and copies the object granting its owner full control, one request after the other per key, over one keep-alive connection per request in flight (read by hand) on the tools' one-thread runtime; its CPU per object is what the loopback, the runtime and the bytes cost on this machine, with nothing of signing, listing, parsing or checking. Its wall time is no floor for ours: with 256 connections each key waits for its read and then its copy, where ours has the reads on a budget of their own beside -j")
            .note("model times model S3 (sorted index + sleep per request); they are not a measurement of S3"))
    }

    fn resync(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let keys = ctx.keys(self.keys);
        let n = keys as u64;
        // The destination is seeded after the source: identical keys, sizes and ETags, newer.
        let endpoint = ctx.model_process(model_args(keys, self.distribution, &[SRC, "dst"]))?;
        let ours_bin = path_str(&ctx.our_tool("s3-copier")?);
        let pages = keys.div_ceil(1000) as u32;
        let page = Duration::from_millis(PAGE_MS);
        let ours = Contender::ours(format!("s3-copier sync -j {OURS_J}"), ours_bin)
            .args(["sync", "--endpoint-url", endpoint.as_str()])
            .args(["-j", &OURS_J.to_string(), "-o", "json", "-q"])
            .args(["s3://src/", "s3://dst/"])
            .floor(
                page * (2 * pages).div_ceil(OURS_J),
                format!(
                    "2 × {pages} list pages × {PAGE_MS} ms / {OURS_J} in flight (at least one page)"
                ),
            )
            .baseline();
        let ours = match ctx.model_cpu() {
            Some(m) => {
                let before = m.clone();
                ours.before_each(move || {
                    before.mark();
                    Ok(())
                })
                .check(move |out| {
                    let note = check_ours(out, 0, n)?;
                    Ok(Some(match m.since_mark() {
                        Some(s) => format!("{note}; the model's CPU: {s:.1} s"),
                        None => note,
                    }))
                })
            }
            None => ours.check(move |out| check_ours(out, 0, n).map(Some)),
        };
        let mut plan = Plan::new(
            format!(
                "no-op re-sync of a complete {keys}-object bucket (both sides identical; S3 model)"
            ),
            n,
        )
        .contender(ours);
        // Peers: nothing may be copied (they print one line per copy).
        let nothing_copied = |marker: &'static str| {
            move |out: &str| -> anyhow::Result<Option<String>> {
                let copied = out.lines().filter(|l| l.contains(marker)).count();
                ensure!(copied == 0, "{copied} objects copied on a no-op re-sync");
                Ok(None)
            }
        };
        let seq_floor = (
            page * pages,
            format!("{pages} list pages × {PAGE_MS} ms (one listing at a time per side)"),
        );
        if with_peers(self.peers) {
            if let Ok(aws) = ctx.peer("aws") {
                plan = plan.contender(
                    Contender::peer("aws s3 sync", aws)
                        .args(["s3", "sync", "s3://src/", "s3://dst/"])
                        .endpoint(&endpoint)
                        .check(nothing_copied("copy:"))
                        .floor(seq_floor.0, seq_floor.1.clone()),
                );
            }
            if let Ok(s5cmd) = ctx.peer("s5cmd") {
                plan = plan.contender(
                    Contender::peer("s5cmd sync", s5cmd)
                        .args(["--endpoint-url", endpoint.as_str(), "sync"])
                        .args(["s3://src/*", "s3://dst/"])
                        .check(nothing_copied("cp "))
                        .floor(seq_floor.0, seq_floor.1.clone()),
                );
            }
            if let Ok(rclone) = ctx.peer("rclone") {
                let wrapper = path_str(&ctx.write_script("merge.sh", "exec \"$@\" 2>&1\n")?);
                plan = plan.contender(rclone_env(
                    Contender::peer("rclone sync --checksum --fast-list", "/bin/sh")
                        .args([wrapper.as_str(), &path_str(&rclone)])
                        .args([
                            "sync",
                            "-v",
                            "--checksum",
                            "--fast-list",
                            "--s3-no-check-bucket",
                        ])
                        .args(["--checkers", "64", "model:src", "model:dst"])
                        .check(nothing_copied("Copied"))
                        .floor(seq_floor.0, seq_floor.1),
                    &endpoint,
                ));
            }
        }
        Ok(plan
            .note("source and destination are seeded identically (the destination later, so newer): a correct re-sync copies nothing; each run is checked for that")
            .note("ours compares size + ETag over a merge-join of both sharded listings, in constant memory (compare max RSS with the 1M run)")
            .note("rclone runs with --checksum (size + MD5/ETag, like ours); by default it compares modification times, and S3 cannot set one without a copy")
            .note("model times model S3 (sorted index + sleep per request); they are not a measurement of S3"))
    }
}
