//! `cargo xtask fuzz [--seconds N] [--merge] [--list] [TARGET...]`: builds the
//! libFuzzer targets in `fuzz/` and runs each for N seconds (default 60),
//! one after the other, printing one summary line per target.
//!
//! Works on a stable toolchain, without cargo-fuzz: `--sanitizer none` needs
//! no `-Z` flag, so this builds `fuzz/` with the coverage instrumentation
//! cargo-fuzz would pass (`-Cpasses=sancov-module` and the
//! `-sanitizer-coverage-*` LLVM options, `--cfg fuzzing`, debug assertions and
//! overflow checks) for the host target (so build scripts and proc macros
//! stay uninstrumented), then runs the binaries directly. With cargo-fuzz and
//! a nightly toolchain, `cd fuzz && cargo fuzz run <target>` works too.
//!
//! Inputs that find new coverage are added to `fuzz/corpus/<target>/` (the
//! committed seeds; `--merge` first minimises it to the inputs that cover
//! everything). Crashes are written to `fuzz/artifacts/<target>/`; copy one
//! into the corpus once fixed so `cargo test` replays it (each tool crate's
//! `tests/it/fuzz_regressions.rs` runs the same `fuzz/checks/<target>.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::workspace_root;

const USAGE: &str = "usage: cargo xtask fuzz [--seconds N] [--merge] [--list] [TARGET...]";

/// The flags cargo-fuzz passes for `--sanitizer none`.
const RUSTFLAGS: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg",
    "fuzzing",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

struct Options {
    seconds: u64,
    merge: bool,
    list: bool,
    targets: Vec<String>,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        seconds: 60,
        merge: false,
        list: false,
        targets: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let n = it.next().context(USAGE)?;
                o.seconds = n
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .with_context(|| format!("--seconds {n:?}: expected a positive number"))?;
            }
            "--merge" => o.merge = true,
            "--list" => o.list = true,
            "-h" | "--help" => bail!("{USAGE}"),
            s if s.starts_with('-') => bail!("unknown option {s}\n{USAGE}"),
            s => o.targets.push(s.to_string()),
        }
    }
    Ok(o)
}

/// Every target: `fuzz/fuzz_targets/<name>.rs`.
fn all_targets(fuzz: &Path) -> anyhow::Result<Vec<String>> {
    let dir = fuzz.join("fuzz_targets");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    names.sort();
    Ok(names)
}

fn host_triple() -> anyhow::Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("cannot run rustc")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("rustc -vV printed no host")
}

pub fn run(args: &[String]) -> anyhow::Result<u8> {
    let o = parse(args)?;
    let fuzz = workspace_root().join("fuzz");
    let all = all_targets(&fuzz)?;
    if o.list {
        for t in &all {
            println!("{t}");
        }
        return Ok(0);
    }
    let targets = if o.targets.is_empty() {
        all.clone()
    } else {
        for t in &o.targets {
            if !all.contains(t) {
                bail!("unknown fuzz target {t:?}; targets: {}", all.join(", "));
            }
        }
        o.targets.clone()
    };

    let triple = host_triple()?;
    let started = crate::step("building the fuzz targets (fuzz/, instrumented, release)");
    let status = crate::cargo()
        .current_dir(&fuzz)
        .env("RUSTFLAGS", RUSTFLAGS.join(" "))
        .env("CARGO_TARGET_DIR", fuzz.join("target"))
        .args(["build", "--release", "--bins", "--target", &triple])
        .status()
        .context("cannot run cargo build in fuzz/")?;
    if !status.success() {
        bail!("building the fuzz targets failed");
    }
    crate::step_done("build", started);
    let bin_dir = fuzz.join("target").join(&triple).join("release");

    let mut failed = 0u8;
    let mut summary = Vec::new();
    for t in &targets {
        let line = fuzz_one(&fuzz, &bin_dir.join(t), t, &o)?;
        if line.crashes > 0 {
            failed = 1;
        }
        summary.push(line);
    }
    println!("\n==> fuzz summary ({} s per target)", o.seconds);
    for s in &summary {
        println!(
            "{:<18} runs {:>10}  crashes {}  corpus {:>5}  coverage {}{}",
            s.target,
            s.runs,
            s.crashes,
            s.corpus,
            s.coverage,
            if s.crashes > 0 {
                format!("  see {}", s.log.display())
            } else {
                String::new()
            }
        );
    }
    Ok(failed)
}

struct Summary {
    target: String,
    runs: u64,
    crashes: usize,
    corpus: usize,
    coverage: String,
    log: PathBuf,
}

fn count_files(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |d| d.filter_map(|e| e.ok()).count())
}

fn fuzz_one(fuzz: &Path, bin: &Path, target: &str, o: &Options) -> anyhow::Result<Summary> {
    let corpus = fuzz.join("corpus").join(target);
    let artifacts = fuzz.join("artifacts").join(target);
    let logs = fuzz.join("target").join("logs");
    for d in [&corpus, &artifacts, &logs] {
        fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    if o.merge {
        merge(bin, &corpus)?;
    }
    let crashes_before = count_files(&artifacts);
    let log = logs.join(format!("{target}.log"));
    let log_file =
        fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let started = crate::step(&format!("fuzzing {target} for {} s", o.seconds));
    let status = Command::new(bin)
        .arg(&corpus)
        .arg(format!("-max_total_time={}", o.seconds))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .args(["-print_final_stats=1", "-timeout=10", "-rss_limit_mb=2048"])
        .args(["-max_len=65536", "-len_control=200"])
        .stdout(Stdio::null())
        .stderr(log_file)
        .status()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let text = fs::read_to_string(&log).unwrap_or_default();
    let stat = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("stat::{name}:")))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let coverage = text
        .lines()
        .rev()
        .find_map(|l| l.split_once(" cov: ").map(|(_, r)| r))
        .and_then(|r| r.split_whitespace().next())
        .map_or("?".to_string(), |c| format!("{c} edges"));
    let mut crashes = count_files(&artifacts).saturating_sub(crashes_before);
    if !status.success() {
        crashes = crashes.max(1);
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        eprintln!(
            "{target}: libFuzzer failed ({status}); last lines of {}:",
            log.display()
        );
        for l in tail.into_iter().rev() {
            eprintln!("  {l}");
        }
    }
    if crashes == 0 {
        crate::step_done(target, started);
    } else {
        println!(
            "==> {target}: CRASHED after {:.0?} (input in {})",
            started.elapsed(),
            artifacts.display()
        );
    }
    Ok(Summary {
        target: target.to_string(),
        runs: stat("number_of_executed_units").unwrap_or(0),
        crashes,
        corpus: count_files(&corpus),
        coverage,
        log,
    })
}

/// Replaces `corpus` with its minimal subset of the same coverage (`-merge=1`).
fn merge(bin: &Path, corpus: &Path) -> anyhow::Result<()> {
    let parent = corpus.parent().context("corpus has a parent")?;
    let tmp = tempfile::tempdir_in(parent).context("cannot create a temporary corpus")?;
    let status = Command::new(bin)
        .arg("-merge=1")
        .arg(tmp.path())
        .arg(corpus)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !status.success() {
        bail!("minimising {} failed ({status})", corpus.display());
    }
    let before = count_files(corpus);
    fs::remove_dir_all(corpus)?;
    fs::rename(tmp.keep(), corpus)?;
    println!(
        "{}: minimised from {before} to {} inputs",
        corpus.display(),
        count_files(corpus)
    );
    Ok(())
}
