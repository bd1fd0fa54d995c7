//! `sqs-postman-seed`: the seed's table (aws-cli against sqs-postman at 100, 1,000 and
//! 10,000 messages) on fauxqs behind the proxy (20 ms per request), with the seed's own
//! command (`postman message my-test-queue --message-source ./message.json
//! --concurrent-producers 100 --total N`) and the tool at its defaults (10 in flight, which
//! is what the Node tool ran whatever `-c` said: it never passed the flag on).
//!
//! The aws-cli loops pay a process start (a Python interpreter and botocore) per call, so
//! they run at 100 and 1,000 messages only and 10,000 is extrapolated from those two points
//! (their cost is linear in the calls); the report says so. Two loops:
//! - the seed's: "batches of up to 10 messages and not in parallel", one `aws sqs
//!   send-message-batch` per 10 messages, one after another;
//! - one `aws sqs send-message` per message (the loop a reader of "an aws-cli loop" might
//!   write), once at 100 messages: at 1,000 (1,000 processes) it ran past the bench's
//!   600 s limit per run on the 2-core machine, so 1,000 and 10,000 are extrapolated.

use std::time::Duration;

use super::framework::{Contender, Ctx, Measured, Plan, Scenario};
use super::sqs_postman::{BenchQueue, LATENCY_MS};

/// The seed's queue name.
const QUEUE: &str = "my-test-queue";
/// The seed's message file (its dummy content, on one line).
const MESSAGE: &str = r#"{"message": "hello from sqs-postman"}"#;

/// The seed's table: (messages, aws-cli seconds, sqs-postman (Node) seconds).
const SEED: [(u64, f64, f64); 3] = [
    (100, 4.956, 0.90),
    (1000, 151.457, 4.18),
    (10000, 510.715, 30.83),
];

/// The seed's aws-cli loop: one `send-message-batch` per 10 messages, one after another.
/// Prints the messages SQS accepted. (aws-cli v1 does not take SQS's endpoint from
/// `AWS_ENDPOINT_URL`, so the loops pass it on.)
const BATCH_LOOP: &str = r#"
url=$1; total=$2; aws=$3; body=$(cat "$4" | sed 's/\\/\\\\/g; s/"/\\"/g')
sent=0; calls=0
while [ "$sent" -lt "$total" ]; do
  entries=""
  for i in 0 1 2 3 4 5 6 7 8 9; do
    [ $((sent + i)) -lt "$total" ] || break
    entries="$entries${entries:+,}{\"Id\":\"$i\",\"MessageBody\":\"$body\"}"
  done
  n=$("$aws" sqs send-message-batch --endpoint-url "$AWS_ENDPOINT_URL" \
        --queue-url "$url" --entries "[$entries]" \
        --query 'length(Successful)' --output text) || exit 1
  sent=$((sent + n)); calls=$((calls + 1))
  [ "$calls" -le $(( (total + 9) / 10 + 100 )) ] || exit 1
done
echo "$sent"
"#;

/// One `send-message` per message. Prints the messages SQS accepted.
const MESSAGE_LOOP: &str = r#"
url=$1; total=$2; aws=$3; body=$(cat "$4")
sent=0
while [ "$sent" -lt "$total" ]; do
  "$aws" sqs send-message --endpoint-url "$AWS_ENDPOINT_URL" \
      --queue-url "$url" --message-body "$body" \
      --query MessageId --output text >/dev/null || exit 1
  sent=$((sent + 1))
done
echo "$sent"
"#;

/// The `sqs-postman-seed` scenario.
pub struct SqsPostmanSeed;

fn batch_loop(n: u64) -> String {
    format!("aws-cli send-message-batch loop (the seed's), {n} msgs")
}

fn message_loop(n: u64) -> String {
    format!("aws-cli send-message loop, {n} msgs")
}

fn defaults(n: u64) -> String {
    format!("postman (defaults: 10 in flight), {n} msgs")
}

fn seed_command(n: u64) -> String {
    format!("postman --concurrent-producers 100, {n} msgs")
}

impl Scenario for SqsPostmanSeed {
    fn name(&self) -> &'static str {
        "sqs-postman-seed"
    }

    fn about(&self) -> &'static str {
        "the seed's table: aws-cli loops vs sqs-postman at 100, 1k, 10k messages (fauxqs, 20 ms/request)"
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let q = BenchQueue::start(ctx, QUEUE)?;
        let postman = ctx
            .our_tool("sqs-postman")?
            .with_file_name("postman")
            .display()
            .to_string();
        let aws = ctx.peer("aws")?.display().to_string();
        let message = ctx.write_script("message.json", MESSAGE)?;
        let message = message.display().to_string();
        let script = |name: &str, text: &str| -> anyhow::Result<String> {
            Ok(ctx.write_script(name, text)?.display().to_string())
        };
        let (batch, single) = (
            script("sqs_awscli_batch.sh", BATCH_LOOP)?,
            script("sqs_awscli_message.sh", MESSAGE_LOOP)?,
        );
        let aws_loop = |name: String, script: &str, n: u64| {
            q.contender(Contender::peer(name, "/bin/sh"))
                .args(["/bin/sh", script, q.url.as_str()])
                .args([n.to_string(), aws.clone(), message.clone()])
                .expect_stdout(n)
                .items(n)
                .group(n.to_string())
        };
        let ours = |name: String, n: u64, producers: Option<u64>| {
            let inflight = producers.unwrap_or(10);
            let rounds = n.div_ceil(10).div_ceil(inflight) as u32;
            let mut c = q
                .contender(Contender::ours(name, "/bin/sh"))
                .args([postman.as_str(), "message", QUEUE, "--message-source"])
                .arg(message.clone());
            if let Some(p) = producers {
                c = c.args(["--concurrent-producers".to_owned(), p.to_string()]);
            }
            c.args(["--total".to_owned(), n.to_string()])
                .items(n)
                .group(n.to_string())
                .floor(
                    Duration::from_millis(LATENCY_MS) * rounds,
                    format!(
                        "{} batches × {LATENCY_MS} ms / {inflight} in flight",
                        n.div_ceil(10)
                    ),
                )
        };
        let mut plan = Plan::new(
            format!("the seed's table: 100, 1,000 and 10,000 messages, {LATENCY_MS} ms per request (fauxqs behind the proxy)"),
            0,
        );
        for n in [100, 1000, 10000] {
            if n <= 1000 {
                let runs = if n == 100 { 3 } else { 1 };
                plan = plan.contender(aws_loop(batch_loop(n), &batch, n).baseline().max_runs(runs));
            }
            if n == 100 {
                plan = plan.contender(aws_loop(message_loop(n), &single, n).max_runs(1));
            }
            plan = plan.contender(ours(defaults(n), n, None)).contender(ours(
                seed_command(n),
                n,
                Some(100),
            ));
        }
        Ok(plan
            .note("× baseline: against the seed's aws-cli loop at the same message count (at 10,000: none ran; see the seed table below)")
            .note("every run starts from an empty queue (PurgeQueue on fauxqs, inside the measured run: a curl of a few ms)")
            .note("the aws-cli loops must print N accepted; postman exits non-zero unless every message was accepted")
            .note("fauxqs times model SQS (O(1) per send + the proxy's fixed latency); they are not a measurement of SQS")
            .summary(seed_table))
    }
}

/// The median of contender `name`, in seconds.
fn median(results: &[Measured], name: &str) -> Option<f64> {
    results
        .iter()
        .find(|m| m.name == name)
        .and_then(|m| m.median)
        .map(|d| d.as_secs_f64())
}

/// A loop's time at `n` messages: measured, or extrapolated along the line
/// through its measured points (one point: proportional to the calls).
fn loop_time(results: &[Measured], name: fn(u64) -> String, n: u64) -> Option<(f64, bool)> {
    if let Some(t) = median(results, &name(n)) {
        return Some((t, false));
    }
    let points: Vec<(f64, f64)> = [100u64, 1000]
        .iter()
        .filter_map(|&m| Some((m as f64, median(results, &name(m))?)))
        .collect();
    let t = match points.as_slice() {
        [(x0, y0), (x1, y1)] => y1 + (y1 - y0) / (x1 - x0) * (n as f64 - x1),
        [(x0, y0)] => y0 * n as f64 / x0,
        _ => return None,
    };
    Some((t, true))
}

fn cell(t: Option<(f64, bool)>) -> String {
    match t {
        Some((t, false)) => format!("{t:.2}"),
        Some((t, true)) => format!("≈ {t:.0} (extrapolated)"),
        None => "–".to_owned(),
    }
}

fn ratio(a: Option<(f64, bool)>, b: Option<f64>) -> String {
    match (a, b) {
        (Some((a, extrapolated)), Some(b)) if b > 0.0 => {
            format!("{}{:.0}×", if extrapolated { "≈ " } else { "" }, a / b)
        }
        _ => "–".to_owned(),
    }
}

/// The seed's numbers beside ours, as ratios (how many times faster than the loop).
fn seed_table(results: &[Measured]) -> String {
    let mut s = String::from(
        "| messages | seed: aws-cli s | seed: sqs-postman (Node) s | seed: aws-cli ÷ sqs-postman | aws-cli send-message-batch loop s | aws-cli send-message loop s | postman defaults s | postman -c 100 s | batch loop ÷ defaults | batch loop ÷ -c 100 | send-message loop ÷ -c 100 |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (n, seed_cli, seed_node) in SEED {
        let batch = loop_time(results, batch_loop, n);
        let single = loop_time(results, message_loop, n);
        let (ours, seed_cmd) = (
            median(results, &defaults(n)),
            median(results, &seed_command(n)),
        );
        let secs = |t: Option<f64>| t.map_or("–".to_owned(), |t| format!("{t:.2}"));
        s.push_str(&format!(
            "| {n} | {seed_cli:.2} | {seed_node:.2} | {:.1}× | {} | {} | {} | {} | {} | {} | {} |\n",
            seed_cli / seed_node,
            cell(batch),
            cell(single),
            secs(ours),
            secs(seed_cmd),
            ratio(batch, ours),
            ratio(batch, seed_cmd),
            ratio(single, seed_cmd),
        ));
    }
    s.push_str("\nThe seed's numbers: real SQS from a 2012 MacBook Pro, timed with `time` (its README, v0.1.6). Ours: fauxqs behind a 20 ms proxy on this machine. \"≈ (extrapolated)\": not run; the loop's time on the straight line through its measured points (the send-message loop: proportional to its one measured point). The seed's Node tool ran 10 batches in flight whatever `--concurrent-producers` said (its bin never passed the option on), so its column compares with \"postman defaults\".\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: String, secs: f64) -> Measured {
        Measured {
            name,
            median: Some(Duration::from_secs_f64(secs)),
            cpu: None,
        }
    }

    #[test]
    fn loops_are_extrapolated_along_their_measured_line() {
        let r = [
            m(batch_loop(100), 3.0),
            m(batch_loop(1000), 21.0),
            m(message_loop(100), 20.0),
            m(defaults(10000), 4.0),
            m(seed_command(10000), 0.5),
        ];
        assert_eq!(loop_time(&r, batch_loop, 1000), Some((21.0, false)));
        assert_eq!(loop_time(&r, batch_loop, 10000), Some((201.0, true)));
        assert_eq!(loop_time(&r, message_loop, 10000), Some((2000.0, true)));
        let table = seed_table(&r);
        let last = table.lines().find(|l| l.starts_with("| 10000 ")).unwrap();
        assert!(last.contains("≈ 201 (extrapolated)"), "{last}");
        assert!(last.contains("≈ 50×"), "{last}"); // 201 / 4
        assert!(last.contains("≈ 4000×"), "{last}"); // 2000 / 0.5
    }
}
