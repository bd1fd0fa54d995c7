//! `acl-reconciler`: reconcile 20k keys with 10% ACL drift on the S3 model, against a
//! straightforward boto3 thread pool doing the same (get both ACLs, compare, put).
//!
//! Every run must see the same drift, but a run fixes it. So the destination flips: the
//! setup makes three buckets with the same keys, `src` (every 10th key public-read), `ref`
//! (all private) and `dst` (all private), and a tiny wrapper reconciles `dst` from `src`
//! and from `ref` on alternate runs (a toggle file shared by all contenders). Each run
//! therefore fixes exactly 10% of the keys, widening on one run and narrowing on the next.

use mc_benchkit::proxy::{Faults, ProxyConfig};
use mc_benchkit::s3model::Distribution;

use super::framework::{Contender, Ctx, Plan, Scenario};

const THREADS: usize = 64;
const ACL_MS: u64 = 20;

/// Copies the seeded `src` to `ref` and `dst`, makes every 10th `src` key public-read.
const SETUP: &str = r#"
import sys, concurrent.futures as cf
import boto3, botocore.config
endpoint = sys.argv[1]
cfg = botocore.config.Config(max_pool_connections=128, s3={"addressing_style": "path"},
                             retries={"mode": "standard", "max_attempts": 10})
s3 = boto3.client("s3", endpoint_url=endpoint, config=cfg, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="src")
        for o in p.get("Contents", [])]
def one(ik):
    i, k = ik
    for b in ("ref", "dst"):
        s3.copy_object(Bucket=b, Key=k, CopySource={"Bucket": "src", "Key": k})
    if i % 10 == 0:
        s3.put_object_acl(Bucket="src", Key=k, ACL="public-read")
with cf.ThreadPoolExecutor(128) as ex:
    list(ex.map(one, enumerate(keys)))
print(len(keys))
"#;

/// The peer: what the original team ran.
const PEER: &str = r#"
import sys, concurrent.futures as cf
import boto3, botocore.config
endpoint, threads, src, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
cfg = botocore.config.Config(max_pool_connections=threads, s3={"addressing_style": "path"},
                             retries={"mode": "standard", "max_attempts": 10})
s3 = boto3.client("s3", endpoint_url=endpoint, config=cfg, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")

def norm(acl):
    owner = acl["Owner"]["ID"]
    out = set()
    for g in acl.get("Grants", []):
        e = g["Grantee"]
        who = e.get("URI") or ("owner" if e.get("ID") == owner else e.get("ID")) or e.get("EmailAddress")
        out.add((who, g["Permission"]))
    return out

def one(key):
    try:
        a = s3.get_object_acl(Bucket=src, Key=key)
        b = s3.get_object_acl(Bucket=dst, Key=key)
        if norm(a) == norm(b):
            return 0, 0
        grants = []
        for g in a["Grants"]:
            e = dict(g["Grantee"])
            if e.get("ID") == a["Owner"]["ID"]:
                e["ID"] = b["Owner"]["ID"]
            e.pop("DisplayName", None)
            grants.append({"Grantee": e, "Permission": g["Permission"]})
        s3.put_object_acl(Bucket=dst, Key=key,
                          AccessControlPolicy={"Grants": grants, "Owner": {"ID": b["Owner"]["ID"]}})
        return 1, 0
    except Exception as exc:
        print(key, exc, file=sys.stderr)
        return 0, 1

keys = (o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=src)
        for o in p.get("Contents", []))
fixed = errors = 0
with cf.ThreadPoolExecutor(threads) as ex:
    for f, e in ex.map(one, keys):
        fixed += f
        errors += e
print(f"fixed={fixed} errors={errors}")
"#;

/// Alternates the source between `src` and `ref`; prints `fixed=N errors=E`.
const WRAPPER: &str = r#"#!/bin/sh
# usage: flip.sh TOGGLE_FILE (ours|peer) COMMAND... ; appends the source and destination
toggle="$1"; kind="$2"; shift 2
if [ -f "$toggle" ]; then src=ref; else src=src; fi
out="$toggle.out"
if [ "$kind" = ours ]; then set -- "$@" "s3://$src" "s3://dst"; else set -- "$@" "$src" dst; fi
"$@" > "$out" || { rc=$?; echo "exit $rc" >&2; exit "$rc"; }
if [ "$kind" = ours ]; then
    tail -n 1 "$out" | sed -E 's/.*"requests":([0-9]+).*"retries":([0-9]+).*"throttled":([0-9]+).*/requests=\1 retries=\2 throttled=\3/'
    tail -n 1 "$out" | sed -E 's/.*"fixed":([0-9]+).*"errors":([0-9]+).*/fixed=\1 errors=\2/'
else
    tail -n 1 "$out"
fi
if [ -f "$toggle" ]; then rm "$toggle"; else : > "$toggle"; fi
"#;

/// Our wrapper's first line, `requests=N retries=R throttled=T`, as a run note.
fn retry_note(stdout: &str) -> anyhow::Result<Option<String>> {
    let Some(line) = stdout.lines().find(|l| l.starts_with("requests=")) else {
        return Ok(None);
    };
    let n: Vec<&str> = line
        .split(' ')
        .filter_map(|f| f.split('=').nth(1))
        .collect();
    Ok(match n[..] {
        [req, retries, throttled] => Some(format!(
            "{req} requests, {retries} retries ({throttled} of them SlowDown)"
        )),
        _ => None,
    })
}

/// The `acl-reconciler` scenario.
pub struct AclReconciler;

impl Scenario for AclReconciler {
    fn name(&self) -> &'static str {
        "acl-reconciler"
    }

    fn about(&self) -> &'static str {
        "reconcile 20k keys with 10% ACL drift vs a boto3 thread pool (get both, compare, put)"
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let keys = ctx.keys(20_000);
        let drift = keys.div_ceil(10);
        let endpoint = ctx.model_process([
            "--seed-bucket".to_owned(),
            "src".to_owned(),
            "--seed-keys".to_owned(),
            keys.to_string(),
            "--distribution".to_owned(),
            "hex".to_owned(),
            "--bucket".to_owned(),
            "ref".to_owned(),
            "--bucket".to_owned(),
            "dst".to_owned(),
            "--acl-latency-ms".to_owned(),
            ACL_MS.to_string(),
        ])?;
        debug_assert!(Distribution::Hex.key(0).len() > 3);
        let py = ctx.python()?;
        let setup = ctx.write_script("acl_setup.py", SETUP)?;
        let st = std::process::Command::new(&py)
            .arg(&setup)
            .arg(&endpoint)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .status()?;
        anyhow::ensure!(st.success(), "acl-reconciler bench setup failed");

        let peer = ctx.write_script("acl_peer.py", PEER)?;
        let wrapper = ctx.write_script("acl_flip.sh", WRAPPER)?;
        let toggle = ctx.scratch().join("acl_toggle").display().to_string();
        let ours_bin = ctx.our_tool("acl-reconciler")?;
        let want = format!("fixed={drift} errors=0");
        let wrapper = wrapper.display().to_string();

        let ours_against = |name: &str, endpoint: &str| {
            Contender::ours(name, "/bin/sh")
                .args([wrapper.as_str(), &toggle, "ours"])
                .arg(ours_bin.display().to_string())
                .args(["--endpoint-url", endpoint, "--apply", "--allow-public"])
                .args(["-j", "256", "-q", "-o", "json"])
                .expect_stdout(&want)
                .check(retry_note)
        };
        let ours = ours_against("acl-reconciler -j 256", &endpoint);
        // The same run with S3 failing some calls: 500 InternalError on 2% of the ACL
        // calls, 1% of the connections reset. It must still fix every drifted key with
        // zero errors, at about the same speed (transient errors are retried, they do
        // not lower the concurrency; SlowDown does, see the note).
        let proxy = ctx.proxy(ProxyConfig {
            upstream: endpoint.clone(),
            faults: Faults {
                internal_error: 0.02,
                reset: 0.01,
                only_ops: vec!["GetObjectAcl".to_owned(), "PutObjectAcl".to_owned()],
                ..Faults::default()
            },
            seed: 7,
            ..ProxyConfig::default()
        })?;
        let faulted = ours_against(
            "acl-reconciler -j 256, 2% InternalError + 1% resets",
            &proxy.endpoint(),
        );
        let boto = Contender::peer(format!("boto3 {THREADS}-thread pool"), "/bin/sh")
            .args([wrapper.as_str(), &toggle, "peer"])
            .arg(py.display().to_string())
            .arg(peer.display().to_string())
            .args([endpoint.as_str(), &THREADS.to_string()])
            .expect_stdout(&want)
            .baseline();
        // The wire's floor: the two reads per key and nothing else, over raw HTTP/1.1.
        let raw = Contender::peer(
            "raw HTTP/1.1 floor: 2 unsigned GetObjectAcl per key, no listing, no writes",
            ctx.release_bin("mc-benchkit", "mc-raw-s3")?,
        )
        .args([
            "--endpoint",
            endpoint.as_str(),
            "--acl-of",
            "src",
            "--acl-of",
            "dst",
        ])
        .args(["--keys", &keys.to_string(), "-j", "256"])
        .expect_stdout(format!("reads={}", 2 * keys));
        // Two GetObjectAcl per key plus a PutObjectAcl per drifted key, 20 ms each.
        let requests = 2 * keys + drift;
        let floor = std::time::Duration::from_millis(ACL_MS) * requests as u32 / 256;
        Ok(Plan::new(
            format!("reconcile {keys} keys, {drift} drifted, {ACL_MS} ms per ACL call (S3 model)"),
            keys as u64,
        )
        .contender(
            ours.floor(floor, format!("{requests} ACL calls × {ACL_MS} ms / 256 in flight")),
        )
        .contender(faulted.floor(floor, "as above, before retries"))
        .contender(boto)
        .contender(raw)
        .note("the raw floor (`mc-raw-s3`) reads both ACLs of every key over one keep-alive connection per request in flight (read by hand, Content-Length only) on the tools' one-thread runtime; its CPU per key is what the loopback, the runtime and the bytes cost on this machine, with nothing of signing, listing, parsing, comparing or fixing")
        .note("each run fixes 10% of the keys: the source alternates between a bucket with every 10th key public-read and an all-private one")
        .note("SlowDown is S3's 'reduce your request rate': our limiter halves its concurrency on it (at most once per round) and climbs back by one per round. S3 sends it when a prefix is over its rate, which the 256 hex prefixes here never are (s3-copier-copy-hot shows SlowDown from the model's per-prefix limits absorbed at speed). Injected at random on 5% of the ACL calls regardless of load, it keeps the concurrency low: measured 217 s, every key fixed, 0 errors")
        .note("model times model S3 (per-call latency + per-prefix rate limits); they are not a measurement of S3"))
    }
}
