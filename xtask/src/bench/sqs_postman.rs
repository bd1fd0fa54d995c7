//! `sqs-postman-*`: send N messages to fauxqs behind the fault proxy with 20 ms per request,
//! at 10 and 100 requests in flight, against a boto3 thread-pool sender doing the same
//! (batches of 10, a fresh UUID per message). The aws-cli loops are `sqs-postman-seed`'s.
//!
//! Every run starts from an empty queue: a wrapper purges it (directly on fauxqs, a few
//! milliseconds) and then `exec`s the contender, so memory in fauxqs stays bounded over repeats.
//! Our tool exits 0 only if every message was accepted; the peers print their success count,
//! which must equal N.

use std::time::Duration;

use std::path::PathBuf;

use mc_benchkit::proxy::{Latency, ProxyConfig};

use super::framework::{Contender, Ctx, Plan, Scenario};
use super::raw_sqs;

pub(super) const LATENCY_MS: u64 = 20;
const QUEUE: &str = "bench";

/// Creates the queue and prints its URL.
const SETUP: &str = r#"
import sys, boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
print(sqs.create_queue(QueueName=sys.argv[2])["QueueUrl"])
"#;

/// The peer: a boto3 thread pool, each thread sending batches of 10; prints messages accepted.
const BOTO3: &str = r#"
import sys, uuid, json, threading, concurrent.futures as cf
import boto3, botocore.config
url, total, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cfg = botocore.config.Config(max_pool_connections=threads,
                             retries={"mode": "standard", "max_attempts": 10})
sqs = boto3.client("sqs", config=cfg, region_name="us-east-1")
batches = (total + 9) // 10
def send(b):
    first = b * 10
    entries = [{"Id": str(i), "MessageBody": json.dumps({"id": str(uuid.uuid4()), "n": first + i + 1})}
               for i in range(min(10, total - first))]
    out = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    return len(out.get("Successful", []))
with cf.ThreadPoolExecutor(threads) as ex:
    print(sum(ex.map(send, range(batches), chunksize=64)))
"#;

/// Purges the queue on fauxqs itself (not through the proxy), then runs the contender.
const WRAPPER: &str = r#"
fauxqs=$1; url=$2; shift 2
curl -s -o /dev/null -X POST -H 'Content-Type: application/x-amz-json-1.0' \
  -H 'X-Amz-Target: AmazonSQS.PurgeQueue' -d "{\"QueueUrl\":\"$url\"}" "$fauxqs/" || exit 1
exec "$@"
"#;

/// A queue on fauxqs, reached through the proxy (20 ms per request), and a
/// wrapper that purges it before each run.
pub(super) struct BenchQueue {
    /// fauxqs itself (for purges).
    pub fauxqs: String,
    /// The proxy in front of it (for the contenders).
    pub endpoint: String,
    pub url: String,
    /// `sh WRAPPER FAUXQS URL COMMAND...`: purges, then runs the command.
    pub wrapper: PathBuf,
}

impl BenchQueue {
    /// Starts fauxqs and the proxy, creates `name`.
    pub fn start(ctx: &mut Ctx, name: &str) -> anyhow::Result<Self> {
        let fauxqs = ctx.fauxqs()?;
        let proxy = ctx.proxy(ProxyConfig {
            upstream: fauxqs.clone(),
            latency: Latency::Fixed(Duration::from_millis(LATENCY_MS)),
            ..ProxyConfig::default()
        })?;
        let setup = ctx.write_script("sqs_setup.py", SETUP)?;
        let out = std::process::Command::new(ctx.python()?)
            .arg(&setup)
            .args([fauxqs.as_str(), name])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "sqs bench setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(Self {
            url: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            endpoint: proxy.endpoint(),
            wrapper: ctx.write_script("sqs_purge_then.sh", WRAPPER)?,
            fauxqs,
        })
    }

    /// `program` (run by /bin/sh) on an empty queue, through the proxy.
    pub fn contender(&self, c: Contender) -> Contender {
        c.args([
            self.wrapper.display().to_string(),
            self.fauxqs.clone(),
            self.url.clone(),
        ])
        .endpoint(&self.endpoint)
    }
}

/// One message-count variant of the scenario.
pub struct SqsPostman {
    name: &'static str,
    messages: usize,
}

impl SqsPostman {
    pub const K10: Self = Self::new("sqs-postman-10k", 10_000);
    pub const K100: Self = Self::new("sqs-postman-100k", 100_000);
    pub const M1: Self = Self::new("sqs-postman-1m", 1_000_000);

    const fn new(name: &'static str, messages: usize) -> Self {
        Self { name, messages }
    }
}

impl Scenario for SqsPostman {
    fn name(&self) -> &'static str {
        self.name
    }

    fn about(&self) -> &'static str {
        "SQS messages at 10 and 100 in flight vs a boto3 thread pool (fauxqs, 20 ms/request)"
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let n = ctx.keys(self.messages);
        let q = BenchQueue::start(ctx, QUEUE)?;
        let (fauxqs, endpoint, url) = (q.fauxqs.clone(), q.endpoint.clone(), q.url.clone());
        let py = ctx.python()?;
        let wrap = |c: Contender| q.contender(c);
        let msg = ctx.write_script("sqs_msg.json", r#"{"id":"%unique%","n":%seq%}"#)?;
        let ours_bin = ctx.our_tool("sqs-postman")?.display().to_string();
        let batches = n.div_ceil(10);
        let floor = |inflight: usize| {
            let rounds = batches.div_ceil(inflight) as u32;
            (
                Duration::from_millis(LATENCY_MS) * rounds,
                format!("{batches} batches × {LATENCY_MS} ms / {inflight} in flight"),
            )
        };
        let repeats = ctx.opts.repeats.max(1);
        // The server's own ceiling at the same number of requests in flight: the kit's raw
        // client (prebuilt, unsigned requests on keep-alive connections) through the same proxy.
        let ceiling = |c: usize| {
            let (fauxqs, endpoint, url) = (fauxqs.clone(), endpoint.clone(), url.clone());
            move || {
                let mut best = Duration::MAX;
                for _ in 0..repeats {
                    raw_sqs::purge(&fauxqs, &url)?;
                    best = best.min(raw_sqs::send_batches(&endpoint, &url, n, c)?);
                }
                Ok(best)
            }
        };
        let ours = |c: usize| {
            let (f, how) = floor(c);
            wrap(Contender::ours(format!("sqs-postman -c {c}"), "/bin/sh"))
                .args([ours_bin.as_str(), "message", url.as_str(), "-m"])
                .arg(msg.display().to_string())
                .args(["-t", &n.to_string(), "-c", &c.to_string(), "-q"])
                .floor(f, how)
                .ceiling(ceiling(c))
        };

        let mut plan = Plan::new(
            format!("send {n} messages in batches of 10, {LATENCY_MS} ms per request (fauxqs behind the proxy)"),
            n as u64,
        );
        let boto = ctx
            .write_script("sqs_boto3.py", BOTO3)?
            .display()
            .to_string();
        for c in [10, 100] {
            plan = plan.contender(ours(c));
        }
        for c in [10, 100] {
            let (f, how) = floor(c);
            let mut peer = wrap(Contender::peer(format!("boto3 {c}-thread pool"), "/bin/sh"))
                .args([py.display().to_string(), boto.clone(), url.clone()])
                .args([n.to_string(), c.to_string()])
                .expect_stdout(n)
                .floor(f, how);
            if c == 100 {
                peer = peer.baseline();
            }
            plan = plan.contender(peer);
        }
        Ok(plan
            .note("every run starts from an empty queue (PurgeQueue on fauxqs, inside the measured run: a curl of a few ms)")
            .note("raw-client ceiling: the best of the runs of the kit's raw SQS client (std threads, one keep-alive connection per request in flight, prebuilt unsigned SendMessageBatch requests) at the same concurrency through the same proxy")
            .note("sqs-postman exits non-zero unless every message was accepted; peers must print N accepted")
            .note("fauxqs times model SQS (O(1) per send + the proxy's fixed latency); they are not a measurement of SQS"))
    }
}
