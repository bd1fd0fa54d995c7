//! `s3-key-counter-*`: count a bucket on the S3 model (100 ms per ListObjectsV2 page) with
//! `s3-key-counter` against what its users ran before: `aws s3 ls --recursive --summarize`,
//! `s5cmd du`, `rclone size --fast-list` and `s3cmd du`, all in one run.
//!
//! - `s3-key-counter-hex`: 200k keys spread over 256 hex prefixes.
//! - `s3-key-counter-skewed`: 200k keys, 90% flat names under one prefix (`hot/`).
//! - `s3-key-counter-1m`: 1M keys, ours alone (the peers would take minutes), to compare with
//!   the model's floor and to show that memory stays flat as the bucket grows.
//! - `s3-key-counter-25m`: 25M keys at `-j 256`, ours alone: client CPU and RSS at scale, with
//!   the model's own CPU beside them (it shares the 2 cores).
//!
//! Every contender must print the exact object count (a small wrapper pulls it out of each
//! tool's own output). The floor is the model's lower bound for any lister at that
//! concurrency: pages × page latency / concurrency (sequential tools: pages × latency).

use std::time::Duration;

use super::framework::{Contender, Ctx, Plan, Scenario};

const BUCKET: &str = "bench";
const PAGE_MS: u64 = 100;

/// Runs a counter and prints the object count it reports as the last line.
const WRAPPER: &str = r#"
kind=$1; shift
case $kind in
  ours)   "$@" -o json -q | sed -nE 's/.*"objects":([0-9]+).*/\1/p' ;;
  # The human report, kept (the crate README shows the 25M run's).
  human)  report=$1; shift; "$@" -q > "$report" && awk '$1 == "objects" { gsub(",", "", $2); print $2 }' "$report" ;;
  aws)    "$@" | awk '/Total Objects:/ {print $3}' ;;
  s5cmd)  "$@" | awk '/ objects: / {print $4}' ;;
  rclone) "$@" | sed -nE 's/.*"count":([0-9]+).*/\1/p' ;;
  s3cmd)  "$@" | awk '/ objects / {print $2}' ;;
  *) echo "unknown kind $kind" >&2; exit 2 ;;
esac
"#;

/// One variant of the scenario.
pub struct KeyCounter {
    name: &'static str,
    keys: usize,
    distribution: &'static str,
    /// Run the peers too (not at 1M keys).
    peers: bool,
    /// Our `-j` values; the first is the baseline.
    ours_j: &'static [u32],
}

impl KeyCounter {
    pub const HEX: Self = Self::new("s3-key-counter-hex", 200_000, "hex", true);
    pub const SKEWED: Self = Self::new("s3-key-counter-skewed", 200_000, "skewed", true);
    pub const M1: Self = Self::new("s3-key-counter-1m", 1_000_000, "hex", false);
    pub const M25: Self = Self {
        ours_j: &[256],
        ..Self::new("s3-key-counter-25m", 25_000_000, "hex", false)
    };

    const fn new(name: &'static str, keys: usize, distribution: &'static str, peers: bool) -> Self {
        Self {
            name,
            keys,
            distribution,
            peers,
            ours_j: &[64, 256],
        }
    }
}

impl Scenario for KeyCounter {
    fn name(&self) -> &'static str {
        self.name
    }

    fn about(&self) -> &'static str {
        if self.peers {
            "count 200k keys vs aws s3 ls --summarize, s5cmd du, rclone size, s3cmd du (S3 model, 100 ms/page)"
        } else if self.ours_j.len() == 1 {
            "count 25M keys at -j 256, ours alone: client CPU, RSS and the model's CPU (S3 model, 100 ms/page)"
        } else {
            "count 1M keys, ours alone, against the model's floor (S3 model, 100 ms/page)"
        }
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let keys = ctx.keys(self.keys);
        let endpoint = ctx.model_process([
            "--seed-bucket",
            BUCKET,
            "--seed-keys",
            &keys.to_string(),
            "--distribution",
            self.distribution,
            "--list-latency-ms",
            &PAGE_MS.to_string(),
        ])?;
        let wrapper = ctx.write_script("count.sh", WRAPPER)?.display().to_string();
        let url = format!("s3://{BUCKET}/");
        let pages = keys.div_ceil(1000).max(1) as u32;
        let page = Duration::from_millis(PAGE_MS);
        let floor = |concurrency: u32| {
            (
                page * pages / concurrency.min(pages),
                format!("{pages} pages × {PAGE_MS} ms / {concurrency}"),
            )
        };
        let ours_bin = ctx.our_tool("s3-key-counter")?.display().to_string();
        let model_cpu = ctx.model_cpu();
        // A run of ours alone keeps its human report beside the tables.
        let alone = !self.peers && self.ours_j.len() == 1;
        let kind = if alone {
            let report = ctx.root.join(format!("target/bench/{}.out", self.name));
            if let Some(dir) = report.parent() {
                std::fs::create_dir_all(dir)?;
            }
            vec!["human".to_owned(), report.display().to_string()]
        } else {
            vec!["ours".to_owned()]
        };
        let ours = |j: u32| {
            let (f, how) = floor(j);
            let mut c = Contender::ours(format!("s3-key-counter -j {j}"), "/bin/sh")
                .arg(wrapper.as_str())
                .args(kind.iter().cloned())
                .arg(ours_bin.as_str())
                .args(["--endpoint-url", endpoint.as_str(), url.as_str()])
                .args(["-j", &j.to_string()])
                .expect_stdout(keys)
                .floor(f, how);
            if let Some(m) = model_cpu.clone() {
                let before = m.clone();
                c = c.before_each(move || {
                    before.mark();
                    Ok(())
                });
                c = c.check(move |_| {
                    Ok(m.since_mark().map(|s| format!("the model's CPU: {s:.1} s")))
                });
            }
            // What any client gets from the model with the same requests in
            // flight: the raw one, knowing the 256 prefixes, lists j groups
            // of them at once (one thread and connection per group).
            if self.distribution == "hex" && keys <= 1_000_000 {
                let (ep, j) = (endpoint.clone(), j as usize);
                c = c.ceiling(move || {
                    let groups = super::raw::round_robin(&super::raw::hex_prefixes(), j.min(256));
                    let (n, d) = super::raw::parallel_count(&ep, BUCKET, &groups)?;
                    anyhow::ensure!(n == keys as u64, "raw client counted {n}, expected {keys}");
                    Ok(d)
                });
            }
            if j == self.ours_j[0] {
                c.baseline()
            } else {
                c
            }
        };
        let mut plan = Plan::new(
            format!(
                "count {keys} keys ({}), {PAGE_MS} ms per ListObjectsV2 page (S3 model)",
                match self.distribution {
                    "hex" => "256 hex prefixes",
                    "skewed" => "90% flat names under hot/, 10% over 256 hex prefixes",
                    other => other,
                }
            ),
            keys as u64,
        );
        for j in self.ours_j {
            plan = plan.contender(ours(*j));
        }

        if self.peers {
            let (seq_floor, seq_how) = floor(1);
            let peer = |name: &str, kind: &str, program: String| {
                Contender::peer(name, "/bin/sh")
                    .args([wrapper.clone(), kind.to_owned(), program])
                    .endpoint(&endpoint)
                    .expect_stdout(keys)
                    .floor(seq_floor, seq_how.clone())
            };
            if let Ok(aws) = ctx.peer("aws") {
                plan = plan.contender(
                    peer(
                        "aws s3 ls --recursive --summarize",
                        "aws",
                        aws.display().to_string(),
                    )
                    .args([
                        "s3",
                        "ls",
                        "--recursive",
                        "--summarize",
                        url.as_str(),
                    ]),
                );
            }
            if let Ok(s5cmd) = ctx.peer("s5cmd") {
                plan = plan.contender(
                    peer("s5cmd du", "s5cmd", s5cmd.display().to_string())
                        .args(["--endpoint-url", endpoint.as_str(), "du"])
                        .arg(format!("s3://{BUCKET}/*")),
                );
            }
            if let Ok(rclone) = ctx.peer("rclone") {
                plan = plan.contender(
                    peer(
                        "rclone size --fast-list",
                        "rclone",
                        rclone.display().to_string(),
                    )
                    .args(["size", "--fast-list", "--json"])
                    .arg(format!("bench:{BUCKET}"))
                    .env("RCLONE_CONFIG_BENCH_TYPE", "s3")
                    .env("RCLONE_CONFIG_BENCH_PROVIDER", "Other")
                    .env("RCLONE_CONFIG_BENCH_ENV_AUTH", "true")
                    .env("RCLONE_CONFIG_BENCH_ENDPOINT", endpoint.as_str()),
                );
            }
            if let Ok(s3cmd) = ctx.peer("s3cmd") {
                let host = endpoint.trim_start_matches("http://").to_owned();
                plan = plan.contender(
                    peer("s3cmd du", "s3cmd", s3cmd.display().to_string())
                        .args([
                            "-c",
                            "/dev/null",
                            "--no-ssl",
                            "--access_key=test",
                            "--secret_key=test",
                        ])
                        .arg(format!("--host={host}"))
                        .arg(format!("--host-bucket={host}"))
                        .args(["du", url.as_str()]),
                );
            }
        }
        Ok(plan
            .note(format!("floor: the model's lower bound, pages × {PAGE_MS} ms / requests in flight (1 for the sequential peers)"))
            .note("raw-client ceiling (hex layouts up to 1M keys): an unsigned std-only HTTP client told the 256 prefixes, listing -j groups of them at once (a thread and connection each), in the same run: what the model and the machine give any client at that many requests in flight")
            .note("every contender must print the exact object count (extracted from its own output by a small sh wrapper, included in time and RSS)")
            .note("rclone runs with --fast-list (one recursive listing); without it, it lists every 'directory' separately")
            .note("model times model S3 (sorted index + sleep per page); they are not a measurement of S3"))
    }
}
