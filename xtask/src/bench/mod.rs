//! `cargo xtask bench [NAME...] [--repeats N] [--keys N] [--list]`: our tools side by side with
//! the tools their users would otherwise pick, on loopback servers from `mc-benchkit`.
//!
//! Each scenario sets up its servers (the S3 model, the fault proxy, fauxqs), seeds data, and
//! returns a list of [`Contender`]s: command lines (our tool or a peer) plus the expected output.
//! The framework runs each contender `--repeats` times and reports min/median wall seconds,
//! client CPU seconds and max RSS of the contender's process tree (via GNU `/usr/bin/time`, which
//! reads the child's `wait4` rusage), items/s, the ratio to the baseline contender, the model's
//! floor (e.g. pages × page latency / concurrency) and the server's own ceiling measured by a
//! minimal raw client in the same run. It prints one markdown table per scenario and writes
//! `target/bench/<scenario>.md` and `.json`.
//!
//! # Adding a scenario
//!
//! Write a type implementing [`Scenario`] in its own file under `xtask/src/bench/`, and add it
//! to [`all_scenarios`]. For example, for `s3-key-counter`:
//!
//! ```ignore
//! pub struct KeyCounter;
//! impl Scenario for KeyCounter {
//!     fn name(&self) -> &'static str { "s3-key-counter" }
//!     fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
//!         let model = ctx.model(100, ctx.keys(100_000), Distribution::Hex)?; // 100 ms pages
//!         let ours = Contender::ours("s3-key-counter", ctx.our_tool("s3-key-counter")?)
//!             .args(["--endpoint-url", &model.endpoint(), "s3://bench/"]).expect_stdout("100000");
//!         let peer = Contender::peer("aws s3 ls", ctx.peer("aws")?)
//!             .args(["s3", "ls", "--recursive", "--summarize", "s3://bench/"]).endpoint(&model.endpoint());
//!         Ok(Plan::new("count keys", 100_000).contender(ours).contender(peer))
//!     }
//! }
//! ```
//!
//! [`Ctx`] starts servers (kept alive until the scenario's contenders have run), finds peers
//! (`.venv/bench` from `scripts/setup-bench.sh`, `PATH`) and our release binaries
//! (`cargo build --release -p <tool>`, then `<CARGO_TARGET_DIR or target>/release/<tool>`).

mod acl_reconciler;
mod batch_manifest;
// The framework is the extension API for scenarios still to come; not all of it is used yet.
#[allow(dead_code)]
mod framework;
mod inventory;
mod kit;
mod pgindexbloat;
mod raw;
mod raw_sqs;
mod s3_copier;
mod s3_key_counter;
mod sqs_postman;
mod sqs_postman_seed;

use framework::Scenario;

use anyhow::bail;

/// Every registered scenario, in run order.
pub fn all_scenarios() -> Vec<Box<dyn Scenario>> {
    vec![
        Box::new(kit::Kit),
        Box::new(pgindexbloat::PgIndexBloat),
        Box::new(acl_reconciler::AclReconciler),
        Box::new(sqs_postman::SqsPostman::K10),
        Box::new(sqs_postman::SqsPostman::K100),
        Box::new(sqs_postman::SqsPostman::M1),
        Box::new(sqs_postman_seed::SqsPostmanSeed),
        Box::new(s3_key_counter::KeyCounter::HEX),
        Box::new(s3_key_counter::KeyCounter::SKEWED),
        Box::new(s3_key_counter::KeyCounter::M1),
        Box::new(s3_key_counter::KeyCounter::M25),
        Box::new(s3_copier::S3Copier::COPY),
        Box::new(s3_copier::S3Copier::COPY_HOT),
        Box::new(s3_copier::S3Copier::RESYNC),
        Box::new(s3_copier::S3Copier::RESYNC_1M),
        Box::new(batch_manifest::BatchManifest),
        Box::new(s3_copier::S3Copier::RESYNC_10M),
        Box::new(inventory::InventoryCount::CSV),
        Box::new(inventory::InventoryCount::PARQUET),
        Box::new(inventory::InventoryDiff),
    ]
}

const USAGE: &str = "\
usage: cargo xtask bench [NAME...] [--repeats N] [--keys N] [--list]

  NAME         scenarios to run (default: all)
  --repeats N  runs per contender (min/median reported; default 3)
  --keys N     override the scenario's key/message count
  --list       list scenarios
";

/// Entry point of `cargo xtask bench`; returns the process exit code.
pub fn run(args: &[String]) -> anyhow::Result<u8> {
    let mut names = Vec::new();
    let mut opts = framework::Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--repeats" => opts.repeats = parse_next(&mut it, "--repeats")?,
            "--keys" => opts.keys = Some(parse_next(&mut it, "--keys")?),
            "--list" => {
                for s in all_scenarios() {
                    println!("{:16} {}", s.name(), s.about());
                }
                return Ok(0);
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(0);
            }
            other if other.starts_with('-') => bail!("unknown option {other}\n{USAGE}"),
            other => names.push(other.to_owned()),
        }
    }
    let scenarios: Vec<_> = all_scenarios()
        .into_iter()
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name()))
        .collect();
    for n in &names {
        if !scenarios.iter().any(|s| s.name() == n) {
            bail!("unknown scenario {n:?} (see --list)");
        }
    }
    let mut failed = 0u8;
    for s in scenarios {
        match framework::run_scenario(s.as_ref(), &opts) {
            Ok(_) => {}
            Err(e) => {
                eprintln!("bench {}: error: {e:#}", s.name());
                failed = 1;
            }
        }
    }
    Ok(failed)
}

fn parse_next<T: std::str::FromStr>(
    it: &mut std::slice::Iter<'_, String>,
    flag: &str,
) -> anyhow::Result<T> {
    it.next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{flag} needs a number"))
}
