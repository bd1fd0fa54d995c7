//! `sqs-postman-*`: send N messages to fauxqs behind the fault proxy with 20 ms per request,
//! at 10 and 100 requests in flight, against a boto3 thread-pool sender doing the same
//! (batches of 10, a fresh UUID per message), and, in `sqs-postman-awscli`, an aws-cli
//! `send-message-batch` loop (what the original team had before the Node tool).
//!
//! Every run starts from an empty queue: a wrapper purges it (directly on fauxqs, a few
//! milliseconds) and then `exec`s the contender, so memory in fauxqs stays bounded over repeats.
//! Our tool exits 0 only if every message was accepted; the peers print their success count,
//! which must equal N.

use std::time::Duration;

use mc_benchkit::proxy::{Latency, ProxyConfig};

use super::framework::{Contender, Ctx, Plan, Scenario};
use super::raw_sqs;

const LATENCY_MS: u64 = 20;
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

/// The aws-cli loop: one `aws sqs send-message-batch` per 10 messages, one after another.
const AWSCLI: &str = r#"
url=$1; total=$2; aws=$3
sent=0; b=0
while [ "$sent" -lt "$total" ]; do
  entries=""
  for i in 0 1 2 3 4 5 6 7 8 9; do
    [ $((sent + i)) -lt "$total" ] || break
    entries="$entries Id=$i,MessageBody={\"n\":$((sent + i + 1))}"
  done
  n=$("$aws" sqs send-message-batch --queue-url "$url" --entries $entries \
        --query 'length(Successful)' --output text) || exit 1
  sent=$((sent + n)); b=$((b + 1))
  [ "$b" -le $(( (total + 9) / 10 + 100 )) ] || exit 1
done
echo "$sent"
"#;

/// Purges the queue on fauxqs itself (not through the proxy), then runs the contender.
const WRAPPER: &str = r#"
fauxqs=$1; url=$2; shift 2
curl -s -o /dev/null -X POST -H 'Content-Type: application/x-amz-json-1.0' \
  -H 'X-Amz-Target: AmazonSQS.PurgeQueue' -d "{\"QueueUrl\":\"$url\"}" "$fauxqs/" || exit 1
exec "$@"
"#;

/// One message-count variant of the scenario.
pub struct SqsPostman {
    name: &'static str,
    messages: usize,
    /// Only the aws-cli loop (slow: one process per 10 messages) against ours.
    awscli: bool,
}

impl SqsPostman {
    pub const K10: Self = Self::new("sqs-postman-10k", 10_000, false);
    pub const K100: Self = Self::new("sqs-postman-100k", 100_000, false);
    pub const M1: Self = Self::new("sqs-postman-1m", 1_000_000, false);
    pub const AWSCLI: Self = Self::new("sqs-postman-awscli", 10_000, true);

    const fn new(name: &'static str, messages: usize, awscli: bool) -> Self {
        Self {
            name,
            messages,
            awscli,
        }
    }
}

impl Scenario for SqsPostman {
    fn name(&self) -> &'static str {
        self.name
    }

    fn about(&self) -> &'static str {
        if self.awscli {
            "10k SQS messages: sqs-postman vs an aws-cli send-message-batch loop (fauxqs, 20 ms/request)"
        } else {
            "SQS messages at 10 and 100 in flight vs a boto3 thread pool (fauxqs, 20 ms/request)"
        }
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let n = ctx.keys(self.messages);
        let fauxqs = ctx.fauxqs()?;
        let proxy = ctx.proxy(ProxyConfig {
            upstream: fauxqs.clone(),
            latency: Latency::Fixed(Duration::from_millis(LATENCY_MS)),
            ..ProxyConfig::default()
        })?;
        let endpoint = proxy.endpoint();
        let py = ctx.python()?;
        let setup = ctx.write_script("sqs_setup.py", SETUP)?;
        let out = std::process::Command::new(&py)
            .arg(&setup)
            .args([fauxqs.as_str(), QUEUE])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "sqs-postman bench setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();

        let wrapper = ctx.write_script("sqs_purge_then.sh", WRAPPER)?;
        let wrap = |c: Contender| {
            c.args([wrapper.display().to_string(), fauxqs.clone(), url.clone()])
                .endpoint(&endpoint)
        };
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
        if self.awscli {
            let aws = ctx.peer("aws")?.display().to_string();
            let script = ctx.write_script("sqs_awscli.sh", AWSCLI)?;
            plan = plan.contender(ours(10)).contender(
                wrap(Contender::peer(
                    "aws-cli send-message-batch loop",
                    "/bin/sh",
                ))
                .args([
                    "/bin/sh".to_owned(),
                    script.display().to_string(),
                    url.clone(),
                ])
                .args([n.to_string(), aws])
                .expect_stdout(n)
                .baseline(),
            );
        } else {
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
        }
        Ok(plan
            .note("every run starts from an empty queue (PurgeQueue on fauxqs, inside the measured run: a curl of a few ms)")
            .note("raw-client ceiling: the best of the runs of the kit's raw SQS client (std threads, one keep-alive connection per request in flight, prebuilt unsigned SendMessageBatch requests) at the same concurrency through the same proxy")
            .note("sqs-postman exits non-zero unless every message was accepted; peers must print N accepted")
            .note("fauxqs times model SQS (O(1) per send + the proxy's fixed latency); they are not a measurement of SQS"))
    }
}
