//! `kit`: proves the bench kit. A plain sequential boto3 ListObjectsV2 count against a 64-thread
//! prefix-parallel boto3 count (one thread per group of hex prefixes) on the S3 model seeded
//! over 256 hex prefixes at 100 ms per list page. On real S3 (and on the model) a page costs
//! the same whatever the bucket size, so the parallel count should approach
//! pages × latency / 64, which no O(bucket)-per-page emulator can show.

use std::time::Duration;

use mc_benchkit::s3model::Distribution;

use super::framework::{Contender, Ctx, Plan, Scenario};
use super::raw;

const BUCKET: &str = "bench";
const THREADS: usize = 64;
const PAGE_MS: u64 = 100;

const SCRIPT: &str = r#"
import sys, concurrent.futures as cf
import boto3, botocore.config
endpoint, bucket, mode, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cfg = botocore.config.Config(max_pool_connections=max(threads, 10),
                             s3={"addressing_style": "path"},
                             retries={"mode": "standard", "max_attempts": 10})
s3 = boto3.client("s3", endpoint_url=endpoint, config=cfg, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")

def count(prefix):
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        n += page.get("KeyCount", 0)
    return n

if mode == "seq":
    total = count("")
else:
    prefixes = ["%02x/" % i for i in range(256)]
    groups = [prefixes[i::threads] for i in range(threads)]
    with cf.ThreadPoolExecutor(threads) as ex:
        total = sum(ex.map(lambda g: sum(count(p) for p in g), groups))
print(total)
"#;

/// The `kit` scenario.
pub struct Kit;

fn pages(n: usize) -> u64 {
    (n.div_ceil(1000)).max(1) as u64
}

impl Scenario for Kit {
    fn name(&self) -> &'static str {
        "kit"
    }

    fn about(&self) -> &'static str {
        "boto3 sequential vs 64-thread prefix-parallel ListObjectsV2 count on the S3 model"
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let keys = ctx.keys(100_000);
        let latency = Duration::from_millis(PAGE_MS);
        // The release build of the model, in its own process: the measured clients and the
        // server then share only the machine, not a (debug) process.
        let endpoint = ctx.model_process([
            "--seed-bucket".to_owned(),
            BUCKET.to_owned(),
            "--seed-keys".to_owned(),
            keys.to_string(),
            "--distribution".to_owned(),
            "hex".to_owned(),
            "--list-latency-ms".to_owned(),
            PAGE_MS.to_string(),
        ])?;

        // Page accounting for the floors.
        let mut per_prefix = [0usize; 256];
        for i in 0..keys {
            let k = Distribution::Hex.key(i);
            if let Some(p) = k.get(..2).and_then(|h| usize::from_str_radix(h, 16).ok()) {
                per_prefix[p] += 1;
            }
        }
        let groups = raw::round_robin(&raw::hex_prefixes(), THREADS);
        let seq_pages = pages(keys);
        let par_pages: u64 = per_prefix.iter().map(|n| pages(*n)).sum();
        let critical: u64 = (0..THREADS)
            .map(|t| {
                (t..256)
                    .step_by(THREADS)
                    .map(|p| pages(per_prefix[p]))
                    .sum::<u64>()
            })
            .max()
            .unwrap_or(0);

        let py = ctx.python()?;
        let script = ctx.write_script("kit_count.py", SCRIPT)?;
        let script = script.display().to_string();

        let ep_seq = endpoint.clone();
        let seq = Contender::peer("boto3 sequential", &py)
            .args([script.as_str(), &endpoint, BUCKET, "seq", "1"])
            .expect_stdout(keys)
            .floor(
                latency * seq_pages as u32,
                format!("{seq_pages} pages × {PAGE_MS} ms"),
            )
            .ceiling(move || {
                let (n, d) = raw::parallel_count(&ep_seq, BUCKET, &[vec![String::new()]])?;
                anyhow::ensure!(n == keys as u64, "raw client counted {n}, expected {keys}");
                Ok(d)
            });
        let ep_par = endpoint.clone();
        let groups_c = groups.clone();
        let par = Contender::peer(format!("boto3 {THREADS}-thread prefix-parallel"), &py)
            .args([
                script.as_str(),
                &endpoint,
                BUCKET,
                "par",
                &THREADS.to_string(),
            ])
            .expect_stdout(keys)
            .floor(
                latency * critical as u32,
                format!(
                    "{par_pages} pages over {THREADS} threads; the busiest thread does {critical} pages × {PAGE_MS} ms (≈ pages × latency / {THREADS} = {:.3} s)",
                    par_pages as f64 * latency.as_secs_f64() / THREADS as f64
                ),
            )
            .ceiling(move || {
                let (n, d) = raw::parallel_count(&ep_par, BUCKET, &groups_c)?;
                anyhow::ensure!(n == keys as u64, "raw client counted {n}, expected {keys}");
                Ok(d)
            })
            .baseline();

        Ok(Plan::new(
            format!(
                "count {keys} keys over 256 hex prefixes, {PAGE_MS} ms per ListObjectsV2 page (S3 model)"
            ),
            keys as u64,
        )
        .contender(seq)
        .contender(par)
        .note("model times model S3 (sorted index + sleep per page); they are not a measurement of S3")
        .note("raw-client ceiling: unsigned std-only HTTP client, same work split, same run"))
    }
}
