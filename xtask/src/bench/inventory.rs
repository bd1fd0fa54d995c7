//! S3 Inventory at scale (issue 17), on local copies of reports (an inventory
//! read from local files is the same reader as from the inventory bucket,
//! without a server holding gigabytes): reports written by pyarrow
//! (`gen_inventory.py`, in the fixtures venv), no code of ours.
//!
//! - `inventory-count-csv`, `inventory-count-parquet`: `s3-key-counter
//!   --inventory` against the floor of the same machine: `zcat | wc -l` for
//!   CSV.gz, pyarrow (`use_threads=False`) reading the same columns for
//!   Parquet. Read the rows per CPU-second: our reader uses every core, the
//!   peers one.
//! - `inventory-diff`: `s3-copier verify` of two reports against each other
//!   (the destination lacks every 1000th key and has every 500th changed),
//!   sorted on disk in bounded memory: peak RSS is the figure.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context};
use mc_benchkit::s3model::ModelConfig;

use super::framework::{Contender, Ctx, Measured, Plan, Scenario};

const SOURCE: &str = "bench-src";
const DEST: &str = "bench-dst";
/// Rows per data file (AWS writes files of a few million rows).
const ROWS_PER_FILE: usize = 2_000_000;
const GENERATOR: &str = include_str!("gen_inventory.py");

const PYARROW_PEER: &str = r#"
import glob, sys
import pyarrow.parquet as pq
rows = size = 0
for f in sorted(glob.glob(sys.argv[1] + "/**/*.parquet", recursive=True)):
    t = pq.read_table(f, columns=["key", "size", "storage_class"], use_threads=False)
    rows += t.num_rows
    size += sum(v for v in t.column("size").to_pylist() if v)
print(rows, size)
"#;

/// Counting a report of one format.
pub struct InventoryCount {
    format: &'static str,
}

impl InventoryCount {
    pub const CSV: Self = Self { format: "CSV" };
    pub const PARQUET: Self = Self { format: "Parquet" };
}

/// Diffing two reports.
pub struct InventoryDiff;

/// The fixtures venv's python (pyarrow), installed by `scripts/setup-emulators.sh`.
fn pyarrow_python(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join(".venv/fixtures");
    if !venv.join(".installed").is_file() {
        let st = Command::new("bash")
            .arg(root.join("scripts/setup-emulators.sh"))
            .status()?;
        ensure!(st.success(), "scripts/setup-emulators.sh failed");
    }
    Ok(venv.join("bin/python"))
}

/// Writes a report of `rows` rows into `dir` (untimed).
fn generate(
    ctx: &Ctx,
    dir: &Path,
    format: &str,
    rows: usize,
    source: &str,
    skip_change: Option<(usize, usize)>,
) -> anyhow::Result<()> {
    let script = ctx.write_script("gen_inventory.py", GENERATOR)?;
    let files = rows.div_ceil(ROWS_PER_FILE).max(1);
    let mut cmd = Command::new(pyarrow_python(&ctx.root)?);
    cmd.arg(script)
        .args([format, &rows.to_string(), &files.to_string()])
        .arg(dir)
        .arg(source);
    if let Some((skip, change)) = skip_change {
        cmd.args([skip.to_string(), change.to_string()]);
    }
    eprintln!("bench: writing a {format} report of {rows} rows in {files} files");
    let out = cmd.output().context("gen_inventory.py")?;
    if !out.status.success() {
        bail!("gen_inventory.py: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// An S3 model that holds the (empty) buckets the commands check live.
fn model(ctx: &mut Ctx) -> anyhow::Result<String> {
    let m = ctx.model(ModelConfig::default())?;
    for b in [SOURCE, DEST] {
        m.create_bucket(b)?;
    }
    Ok(m.endpoint())
}

/// The first number of a JSON field in our output (`"objects":N`).
fn json_number(stdout: &str, field: &str) -> Option<u64> {
    let at = stdout.find(&format!("\"{field}\":"))? + field.len() + 3;
    let digits: String = stdout[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// What the log of a run says the sort spilled, both sides together.
fn spilled(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let bytes: u64 = text
        .lines()
        .filter(|l| l.contains("sorted on disk"))
        .filter_map(|l| {
            let at = l.find("spilled=")? + "spilled=".len();
            l[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    format!(
        "spilled to disk: {:.2} GiB (both reports' sort runs and their merged files)",
        bytes as f64 / (1u64 << 30) as f64
    )
}

/// Rows per CPU-second of each contender, under the table.
fn per_core(rows: u64) -> impl Fn(&[Measured]) -> String {
    move |measured| {
        let mut s = String::from("rows per CPU-second (user + system, median run):\n");
        for m in measured {
            if let Some(cpu) = m.cpu.filter(|c| *c > 0.0) {
                s.push_str(&format!("- {}: {:.0}\n", m.name, rows as f64 / cpu));
            }
        }
        s
    }
}

impl Scenario for InventoryCount {
    fn name(&self) -> &'static str {
        match self.format {
            "CSV" => "inventory-count-csv",
            _ => "inventory-count-parquet",
        }
    }

    fn about(&self) -> &'static str {
        match self.format {
            "CSV" => "s3-key-counter --inventory: 100M rows of CSV.gz vs zcat | wc -l",
            _ => "s3-key-counter --inventory: 100M rows of Parquet vs pyarrow (use_threads=False)",
        }
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let n = ctx.keys(100_000_000);
        let dir = ctx.scratch().join("inventory");
        generate(ctx, &dir, self.format, n, SOURCE, None)?;
        let endpoint = model(ctx)?;
        let ours = Contender::ours(
            "s3-key-counter --inventory",
            ctx.our_tool("s3-key-counter")?,
        )
        .endpoint(&endpoint)
        .args([
            format!("s3://{SOURCE}"),
            "-o".into(),
            "json".into(),
            "-q".into(),
        ])
        .arg("--inventory")
        .arg(dir.display().to_string())
        .check(move |out| {
            let got = json_number(out, "objects");
            ensure!(got == Some(n as u64), "counted {got:?}, expected {n}");
            Ok(None)
        });
        let peer = match self.format {
            "CSV" => Contender::peer("zcat, then wc -l", "sh")
                .arg("-c")
                .arg(format!(
                    "zcat {}/{SOURCE}/bench-config/data/*.csv.gz | wc -l",
                    dir.display()
                ))
                .baseline(),
            _ => {
                let script = ctx.write_script("pyarrow_count.py", PYARROW_PEER)?;
                Contender::peer("pyarrow (use_threads=False)", pyarrow_python(&ctx.root)?)
                    .arg(script.display().to_string())
                    .arg(dir.display().to_string())
                    .baseline()
            }
        };
        let peer = peer.check(move |out| {
            let got = out.split_whitespace().next().and_then(|w| w.parse().ok());
            ensure!(got == Some(n as u64), "counted {got:?}, expected {n}");
            Ok(None)
        });
        Ok(Plan::new(
            format!("count a {n}-row {} inventory report (local files)", self.format),
            n as u64,
        )
        .contender(ours)
        .contender(peer)
        .note("the report (Bucket, Key, Size, LastModifiedDate, ETag, StorageClass; files of 2M rows) written by pyarrow; ours checks every file's MD5 and the manifest's checksum as it reads")
        .summary(per_core(n as u64)))
    }
}

impl Scenario for InventoryDiff {
    fn name(&self) -> &'static str {
        "inventory-diff"
    }

    fn about(&self) -> &'static str {
        "s3-copier verify of two 100M-row CSV.gz inventories in bounded memory (sorted on disk)"
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let n = ctx.keys(100_000_000);
        let (a, b) = (ctx.scratch().join("src"), ctx.scratch().join("dst"));
        generate(ctx, &a, "CSV", n, SOURCE, None)?;
        // The destination's report: its own bucket, every 1000th key
        // missing, every 500th changed (a size of 2).
        generate(ctx, &b, "CSV", n, DEST, Some((1000, 500)))?;
        let endpoint = model(ctx)?;
        let missing = n.div_ceil(1000) as u64;
        // Every 500th not skipped: the odd multiples of 500.
        let different = (n / 500 - n / 1000) as u64;
        // Through `sh` to keep the log, whose lines say how much each side
        // spilled, and to take verify's 1 (differences found) as success.
        let log = ctx.scratch().join("verify.log");
        let log_path = log.clone();
        let ours = Contender::ours("s3-copier verify (two inventories)", "sh")
            .endpoint(&endpoint)
            .arg("-c")
            .arg(format!("\"$0\" \"$@\" 2>{}; [ $? -le 1 ]", log.display()))
            .arg(ctx.our_tool("s3-copier")?.display().to_string())
            .args(["verify", "-o", "json", "-v", "--source-inventory"])
            .arg(a.display().to_string())
            .arg("--dest-inventory")
            .arg(b.display().to_string())
            .args([format!("s3://{SOURCE}"), format!("s3://{DEST}")])
            .check(move |out| {
                let totals = &out[out.rfind("\"totals\"").unwrap_or(0)..];
                let got = (
                    json_number(totals, "missing"),
                    json_number(totals, "different"),
                );
                ensure!(
                    got == (Some(missing), Some(different)),
                    "missing/different {got:?}, expected {missing}/{different}"
                );
                Ok(Some(spilled(&log_path)))
            })
            .max_runs(1);
        Ok(Plan::new(format!("diff two {n}-row inventory reports"), n as u64)
            .contender(ours)
            .note("both reports CSV.gz written by pyarrow; rows sorted on disk (runs of 4 MiB merged) and merge-joined; peak RSS is the figure to read (target under 512 MiB)"))
    }
}
