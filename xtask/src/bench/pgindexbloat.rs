//! `pgindexbloat`: compare two generated 1M-index CSVs (production and a fresh restore), the
//! size of a large cluster's index list. Ours only (the original is a Python 2 script); the
//! target is under one second. Register with `mod pgindexbloat;` and
//! `Box::new(pgindexbloat::PgIndexBloat)` in `all_scenarios`.

use std::io::{BufWriter, Write};

use super::framework::{Contender, Ctx, Plan, Scenario};

/// The `pgindexbloat` scenario.
pub struct PgIndexBloat;

/// A small deterministic generator (xorshift64*), so runs compare the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Writes `prod.csv` and `fresh.csv` with `n` indexes (0.1 % missing from the restore, 30 %
/// bloated) and returns their paths and the total bloat `-i -t 0 -c 0 -s` must print.
fn generate(ctx: &Ctx, n: usize) -> anyhow::Result<(String, String, u64)> {
    let prod_path = ctx.scratch().join("prod.csv");
    let fresh_path = ctx.scratch().join("fresh.csv");
    let mut prod = BufWriter::new(std::fs::File::create(&prod_path)?);
    let mut fresh = BufWriter::new(std::fs::File::create(&fresh_path)?);
    writeln!(prod, "relation,size")?;
    writeln!(fresh, "relation,size")?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut total = 0u64;
    for i in 0..n {
        let name = format!("app_{}.table_{}_idx_{}", i % 50, i / 10, i % 10);
        let fresh_size = (1 + rng.next() % 20_000) * 8192;
        let bloat = if rng.next() % 10 < 3 {
            (rng.next() % (fresh_size / 8192 + 1)) * 8192
        } else {
            0
        };
        writeln!(prod, "{name},{}", fresh_size + bloat)?;
        if i % 1000 == 999 {
            continue; // missing from the restore
        }
        writeln!(fresh, "{name},{fresh_size}")?;
        total += bloat;
    }
    prod.flush()?;
    fresh.flush()?;
    Ok((
        prod_path.display().to_string(),
        fresh_path.display().to_string(),
        total,
    ))
}

impl Scenario for PgIndexBloat {
    fn name(&self) -> &'static str {
        "pgindexbloat"
    }

    fn about(&self) -> &'static str {
        "pgindexbloat: compare two 1M-index CSVs (target: under 1 s)"
    }

    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan> {
        let n = ctx.keys(1_000_000);
        let (prod, fresh, total) = generate(ctx, n)?;
        let ours = Contender::ours("pgindexbloat", ctx.our_tool("pgindexbloat")?)
            // Every index compared and every bloated one reported (the heaviest output);
            // -i: the 0.1 % missing indexes do not make the run exit 1.
            .args([
                "-i",
                "-s",
                "-t",
                "0",
                "-c",
                "0",
                "-b",
                "0",
                prod.as_str(),
                fresh.as_str(),
            ])
            .expect_stdout(format!("total\t-\t-\t-\t-\t{total}"));
        Ok(Plan::new(format!("compare two {n}-index CSVs"), n as u64)
            .contender(ours)
            .note("target: under 1 s wall on the CI machine (2 cores)"))
    }
}
