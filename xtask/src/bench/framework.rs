//! The bench framework: scenarios, contenders, measurement and reports.

use std::any::Any;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use mc_benchkit::proxy::{Proxy, ProxyConfig};
use mc_benchkit::s3model::{ModelConfig, S3Model};
use serde_json::json;

/// Command-line options shared by all scenarios.
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs per contender.
    pub repeats: usize,
    /// Override of the scenario's item count.
    pub keys: Option<usize>,
    /// Per-run time limit.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            repeats: 3,
            keys: None,
            timeout: Duration::from_secs(600),
        }
    }
}

/// One benchmark scenario. See the module docs of `bench` for an example.
pub trait Scenario {
    /// Name used on the command line and for the output files.
    fn name(&self) -> &'static str;
    /// One line for `--list`.
    fn about(&self) -> &'static str {
        ""
    }
    /// Starts servers (through `ctx`, which keeps them alive), seeds data and returns the plan.
    fn setup(&self, ctx: &mut Ctx) -> anyhow::Result<Plan>;
}

/// A server's own best time for a contender's workload, measured by a minimal raw client.
pub type Ceiling = Box<dyn Fn() -> anyhow::Result<Duration>>;

/// Untimed preparation before each run (e.g. a fresh destination bucket).
pub type BeforeEach = Box<dyn Fn() -> anyhow::Result<()>>;

/// Untimed check after each successful run, given its stdout: an error fails the run (so a
/// fast but wrong result cannot win); `Some(note)` is reported under the table.
pub type Check = Box<dyn Fn(&str) -> anyhow::Result<Option<String>>>;

/// One command line to measure.
pub struct Contender {
    pub name: String,
    /// Our tool (the first `ours` contender is the ratio baseline unless one is marked).
    pub ours: bool,
    pub baseline: bool,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub env_remove: Vec<String>,
    /// If set, the last stdout line (trimmed) must equal this.
    pub expect_stdout: Option<String>,
    /// The model's lower bound for this workload, and how it was computed.
    pub floor: Option<(Duration, String)>,
    pub ceiling: Option<Ceiling>,
    pub before_each: Option<BeforeEach>,
    pub check: Option<Check>,
    /// Items of this contender's run, when not the plan's (items/s).
    pub items: Option<u64>,
    /// At most this many runs (a slow peer), whatever `--repeats` says.
    pub max_runs: Option<usize>,
    /// Contenders of one group are compared with that group's baseline.
    pub group: Option<String>,
}

impl Contender {
    fn new(name: impl Into<String>, program: impl Into<PathBuf>, ours: bool) -> Self {
        Self {
            name: name.into(),
            ours,
            baseline: false,
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            expect_stdout: None,
            floor: None,
            ceiling: None,
            before_each: None,
            check: None,
            items: None,
            max_runs: None,
            group: None,
        }
    }

    /// One of our tools.
    pub fn ours(name: impl Into<String>, program: impl Into<PathBuf>) -> Self {
        Self::new(name, program, true)
    }

    /// A peer tool.
    pub fn peer(name: impl Into<String>, program: impl Into<PathBuf>) -> Self {
        Self::new(name, program, false)
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, a: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(a.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Sets `AWS_ENDPOINT_URL` (honoured by boto3, the Rust SDK and the AWS CLI's S3
    /// commands; aws-cli v1's SQS commands ignore it and need `--endpoint-url`).
    pub fn endpoint(self, url: &str) -> Self {
        self.env("AWS_ENDPOINT_URL", url)
    }

    pub fn expect_stdout(mut self, s: impl ToString) -> Self {
        self.expect_stdout = Some(s.to_string());
        self
    }

    pub fn floor(mut self, d: Duration, how: impl Into<String>) -> Self {
        self.floor = Some((d, how.into()));
        self
    }

    pub fn ceiling(mut self, f: impl Fn() -> anyhow::Result<Duration> + 'static) -> Self {
        self.ceiling = Some(Box::new(f));
        self
    }

    /// Runs `f` (untimed) before each run, e.g. to create a fresh destination.
    pub fn before_each(mut self, f: impl Fn() -> anyhow::Result<()> + 'static) -> Self {
        self.before_each = Some(Box::new(f));
        self
    }

    /// Checks each successful run (untimed) with its stdout; see [`Check`].
    pub fn check(mut self, f: impl Fn(&str) -> anyhow::Result<Option<String>> + 'static) -> Self {
        self.check = Some(Box::new(f));
        self
    }

    /// Ratios are relative to this contender (within its group, if it has one).
    pub fn baseline(mut self) -> Self {
        self.baseline = true;
        self
    }

    /// This contender's run handles `n` items, not the plan's.
    pub fn items(mut self, n: u64) -> Self {
        self.items = Some(n);
        self
    }

    /// Runs at most `n` times (for a peer too slow to repeat).
    pub fn max_runs(mut self, n: usize) -> Self {
        self.max_runs = Some(n);
        self
    }

    /// Compares this contender with the baseline of group `g` (e.g. the same
    /// message count) instead of the plan's.
    pub fn group(mut self, g: impl Into<String>) -> Self {
        self.group = Some(g.into());
        self
    }
}

/// A contender's result as a plan's summary sees it.
pub struct Measured {
    pub name: String,
    /// Median wall time; `None` when it failed or did not run.
    pub median: Option<Duration>,
    /// Client CPU-seconds of the median run, when measured.
    pub cpu: Option<f64>,
}

/// Renders extra markdown under a scenario's table from its results.
pub type Summary = Box<dyn Fn(&[Measured]) -> String>;

/// What a scenario measures.
pub struct Plan {
    pub title: String,
    /// Items processed per run (keys listed, messages sent, …), for items/s.
    pub items: u64,
    pub contenders: Vec<Contender>,
    pub notes: Vec<String>,
    pub summary: Option<Summary>,
}

impl Plan {
    pub fn new(title: impl Into<String>, items: u64) -> Self {
        Self {
            title: title.into(),
            items,
            contenders: Vec::new(),
            notes: Vec::new(),
            summary: None,
        }
    }

    pub fn contender(mut self, c: Contender) -> Self {
        self.contenders.push(c);
        self
    }

    pub fn note(mut self, n: impl Into<String>) -> Self {
        self.notes.push(n.into());
        self
    }

    /// Markdown of the scenario's own under its table (e.g. a published
    /// table and ours side by side), made from the results.
    pub fn summary(mut self, f: impl Fn(&[Measured]) -> String + 'static) -> Self {
        self.summary = Some(Box::new(f));
        self
    }
}

/// Scenario context: options, servers kept alive for the scenario, peers and our binaries.
pub struct Ctx {
    pub opts: Options,
    pub root: PathBuf,
    scratch: tempfile::TempDir,
    guards: Vec<Box<dyn Any>>,
    /// The process id of the last model started with [`Ctx::model_process`].
    model_pid: Option<u32>,
}

/// The CPU seconds a process (the S3 model) has used, read from `/proc`, so
/// a contender can report the model's CPU beside its own.
#[derive(Debug, Clone)]
pub struct ProcessCpu {
    pid: u32,
    mark: std::sync::Arc<std::sync::Mutex<f64>>,
}

impl ProcessCpu {
    /// User + system CPU seconds so far (`/proc/PID/stat` fields 14 and 15,
    /// in USER_HZ = 100 ticks per second on Linux).
    pub fn seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // The command name may hold spaces: fields are counted after its ')'.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    /// Remembers the CPU so far (before a run).
    pub fn mark(&self) {
        if let (Some(s), Ok(mut m)) = (self.seconds(), self.mark.lock()) {
            *m = s;
        }
    }

    /// CPU seconds since [`ProcessCpu::mark`].
    pub fn since_mark(&self) -> Option<f64> {
        let m = *self.mark.lock().ok()?;
        Some(self.seconds()? - m)
    }
}

impl Ctx {
    fn new(opts: Options) -> anyhow::Result<Self> {
        Ok(Self {
            opts,
            root: workspace_root(),
            scratch: tempfile::Builder::new().prefix("mc-bench-").tempdir()?,
            guards: Vec::new(),
            model_pid: None,
        })
    }

    /// `--keys` or the scenario's default.
    pub fn keys(&self, default: usize) -> usize {
        self.opts.keys.unwrap_or(default)
    }

    /// Starts the S3 model (own runtime thread); it lives until the scenario ends.
    pub fn model(&mut self, config: ModelConfig) -> anyhow::Result<Arc<S3Model>> {
        let m = Arc::new(S3Model::start_blocking(config)?);
        self.guards.push(Box::new(m.clone()));
        Ok(m)
    }

    /// Starts the release build of `mc-s3-model` as its own process (optimised, and not sharing
    /// the bench runner's process) with `args` (e.g. `--seed-bucket b --seed-keys 100000`);
    /// returns its endpoint. It is killed when the scenario ends.
    pub fn model_process<I, S>(&mut self, args: I) -> anyhow::Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let bin = self.release_bin("mc-benchkit", "mc-s3-model")?;
        let child = Command::new(&bin)
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        self.model_pid = Some(child.id());
        let mut guard = KillOnDrop(Some(child));
        let stdout = guard
            .0
            .as_mut()
            .and_then(|c| c.stdout.take())
            .ok_or_else(|| anyhow!("no stdout"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(ep) = line.strip_prefix("listening on ") {
                    let _ = tx.send(ep.trim().to_owned());
                }
            }
        });
        let ep = rx
            .recv_timeout(Duration::from_secs(300))
            .map_err(|_| anyhow!("mc-s3-model did not start"))?;
        self.guards.push(Box::new(guard));
        Ok(ep)
    }

    /// The CPU of the last model started with [`Ctx::model_process`].
    pub fn model_cpu(&self) -> Option<ProcessCpu> {
        Some(ProcessCpu {
            pid: self.model_pid?,
            mark: Default::default(),
        })
    }

    /// Builds `package` in release mode and returns `target/release/<bin>`.
    pub fn release_bin(&self, package: &str, bin: &str) -> anyhow::Result<PathBuf> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let st = Command::new(cargo)
            .current_dir(&self.root)
            .args(["build", "--release", "-p", package, "--bin", bin])
            .status()?;
        if !st.success() {
            bail!("cargo build --release -p {package} --bin {bin} failed");
        }
        let p = self.release_dir().join(bin);
        if !p.is_file() {
            bail!("{} not found after building", p.display());
        }
        Ok(p)
    }

    /// Where `cargo build --release` puts binaries: `CARGO_TARGET_DIR`
    /// (relative to the workspace root, as cargo reads it there) or `target`.
    fn release_dir(&self) -> PathBuf {
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| "target".into(), PathBuf::from);
        self.root.join(target).join("release")
    }

    /// Starts the fault proxy; it lives until the scenario ends.
    pub fn proxy(&mut self, config: ProxyConfig) -> anyhow::Result<Arc<Proxy>> {
        let p = Arc::new(Proxy::start_blocking(config)?);
        self.guards.push(Box::new(p.clone()));
        Ok(p)
    }

    /// Starts fauxqs; it lives until the scenario ends.
    pub fn fauxqs(&mut self) -> anyhow::Result<String> {
        ensure_setup(&self.root)?;
        let f = mc_benchkit::fauxqs::start()?;
        let ep = f.endpoint.clone();
        self.guards.push(Box::new(f));
        Ok(ep)
    }

    /// A peer executable: `.venv/bench/bin/NAME`, else `NAME` on `PATH`.
    pub fn peer(&self, name: &str) -> anyhow::Result<PathBuf> {
        ensure_setup(&self.root)?;
        let venv = self.root.join(".venv/bench/bin").join(name);
        if venv.is_file() {
            return Ok(venv);
        }
        which(name).ok_or_else(|| anyhow!("peer {name} not found (run scripts/setup-bench.sh)"))
    }

    /// The bench venv's python (with boto3).
    pub fn python(&self) -> anyhow::Result<PathBuf> {
        self.peer("python")
    }

    /// Builds one of our tools in release mode and returns its path.
    pub fn our_tool(&self, package: &str) -> anyhow::Result<PathBuf> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let st = Command::new(cargo)
            .current_dir(&self.root)
            .args(["build", "--release", "-p", package])
            .status()?;
        if !st.success() {
            bail!("cargo build --release -p {package} failed");
        }
        let p = self.release_dir().join(package);
        if !p.is_file() {
            bail!("{} not found after building", p.display());
        }
        Ok(p)
    }

    /// Writes a helper script into the scenario's scratch folder.
    pub fn write_script(&self, name: &str, content: &str) -> anyhow::Result<PathBuf> {
        let p = self.scratch.path().join(name);
        std::fs::write(&p, content)?;
        Ok(p)
    }

    /// The scenario's scratch folder (removed afterwards).
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }
}

/// Kills (and reaps) a server process when the scenario ends.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Runs `scripts/setup-bench.sh` once per process (it is idempotent and fast when done).
fn ensure_setup(root: &Path) -> anyhow::Result<()> {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        Command::new("bash")
            .arg(root.join("scripts/setup-bench.sh"))
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    });
    if !ok {
        bail!("scripts/setup-bench.sh failed");
    }
    Ok(())
}

/// One measured run.
#[derive(Debug, Clone)]
struct Sample {
    wall: Duration,
    cpu: Option<f64>,
    max_rss_kib: Option<u64>,
}

/// Runs `c` once; returns the sample and the run's stdout.
fn measure(c: &Contender, scratch: &Path, timeout: Duration) -> anyhow::Result<(Sample, String)> {
    let time_bin = Path::new("/usr/bin/time");
    let time_out = scratch.join("time.out");
    let _ = std::fs::remove_file(&time_out);
    let mut cmd = if time_bin.is_file() {
        let mut t = Command::new(time_bin);
        t.arg("-f").arg("%U %S %M").arg("-o").arg(&time_out);
        t.arg(&c.program);
        t
    } else {
        Command::new(&c.program)
    };
    cmd.args(&c.args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // rclone fails with LoadCustomCABundleError when it is set; loopback is plain HTTP.
        .env_remove("AWS_CA_BUNDLE")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &c.env {
        cmd.env(k, v);
    }
    for k in &c.env_remove {
        cmd.env_remove(k);
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("spawning {}", c.program.display()))?;
    let mut so = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut se = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if start.elapsed() > timeout {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            bail!("timed out after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = start.elapsed();
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    if !status.success() {
        let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        bail!("exit {status}: {tail}");
    }
    if let Some(want) = &c.expect_stdout {
        let last = stdout.lines().last().unwrap_or("").trim();
        if last != want {
            bail!("expected output {want:?}, got {last:?}");
        }
    }
    let (cpu, rss) = std::fs::read_to_string(&time_out)
        .ok()
        .and_then(|s| {
            let line = s.lines().last()?.to_owned();
            let f: Vec<&str> = line.split_whitespace().collect();
            let u: f64 = f.first()?.parse().ok()?;
            let sy: f64 = f.get(1)?.parse().ok()?;
            let m: u64 = f.get(2)?.parse().ok()?;
            Some((Some(u + sy), Some(m)))
        })
        .unwrap_or((None, None));
    Ok((
        Sample {
            wall,
            cpu,
            max_rss_kib: rss,
        },
        stdout,
    ))
}

struct Row {
    name: String,
    ours: bool,
    baseline: bool,
    group: Option<String>,
    /// Items per run.
    items: u64,
    samples: Vec<Sample>,
    error: Option<String>,
    floor: Option<(Duration, String)>,
    ceiling: Option<Result<Duration, String>>,
    /// Notes from the contender's check, one per run.
    run_notes: Vec<String>,
}

impl Row {
    fn median(&self) -> Option<Duration> {
        let mut w: Vec<Duration> = self.samples.iter().map(|s| s.wall).collect();
        w.sort();
        w.get(w.len() / 2).copied()
    }
    fn min(&self) -> Option<Duration> {
        self.samples.iter().map(|s| s.wall).min()
    }
    fn median_sample(&self) -> Option<&Sample> {
        let m = self.median()?;
        self.samples.iter().find(|s| s.wall == m)
    }
}

/// Runs one scenario: setup, measure each contender, print and write the report.
pub fn run_scenario(s: &dyn Scenario, opts: &Options) -> anyhow::Result<()> {
    let mut ctx = Ctx::new(opts.clone())?;
    eprintln!("bench {}: setting up", s.name());
    let plan = s.setup(&mut ctx)?;
    let mut rows = Vec::new();
    for c in &plan.contenders {
        let mut row = Row {
            name: c.name.clone(),
            ours: c.ours,
            baseline: c.baseline,
            group: c.group.clone(),
            items: c.items.unwrap_or(plan.items),
            samples: Vec::new(),
            error: None,
            floor: c.floor.clone(),
            ceiling: None,
            run_notes: Vec::new(),
        };
        let runs = opts.repeats.max(1).min(c.max_runs.unwrap_or(usize::MAX));
        for r in 0..runs {
            eprintln!("bench {}: {} run {}/{runs}", s.name(), c.name, r + 1);
            if let Some(prepare) = &c.before_each {
                if let Err(e) = prepare() {
                    eprintln!("  preparation failed: {e:#}");
                    row.error = Some(format!("preparation: {e:#}"));
                    break;
                }
            }
            let checked = measure(c, ctx.scratch(), opts.timeout).and_then(|(sample, out)| {
                let note = match &c.check {
                    Some(check) => check(&out).context("check")?,
                    None => None,
                };
                Ok((sample, note))
            });
            match checked {
                Ok((sample, note)) => {
                    eprintln!("  {:.3} s", sample.wall.as_secs_f64());
                    if let Some(n) = note {
                        eprintln!("  {n}");
                        row.run_notes.push(format!("run {}: {n}", r + 1));
                    }
                    row.samples.push(sample);
                }
                Err(e) => {
                    eprintln!("  failed: {e:#}");
                    row.error = Some(format!("{e:#}"));
                    break;
                }
            }
        }
        if let Some(f) = &c.ceiling {
            eprintln!("bench {}: raw-client ceiling for {}", s.name(), c.name);
            row.ceiling = Some(f().map_err(|e| format!("{e:#}")));
        }
        rows.push(row);
    }
    let bases = baselines(&rows);
    let mut md = render_markdown(s.name(), &plan, &rows, &bases);
    if let Some(summary) = &plan.summary {
        md.push('\n');
        md.push_str(&summary(&measured(&rows)));
    }
    println!("\n{md}");
    let dir = ctx.root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{}.md", s.name())), &md)?;
    let js = render_json(s.name(), &plan, &rows, &bases, &md);
    std::fs::write(
        dir.join(format!("{}.json", s.name())),
        serde_json::to_string_pretty(&js)?,
    )?;
    eprintln!(
        "bench {}: wrote {}",
        s.name(),
        dir.join(format!("{}.{{md,json}}", s.name())).display()
    );
    Ok(())
}

/// The rows as a plan's summary sees them.
fn measured(rows: &[Row]) -> Vec<Measured> {
    rows.iter()
        .map(|r| Measured {
            name: r.name.clone(),
            median: r.median(),
            cpu: r.median_sample().and_then(|s| s.cpu),
        })
        .collect()
}

/// Each row's baseline median: its group's marked baseline, else the group's
/// first of ours, else the group's first row (rows without a group form one).
fn baselines(rows: &[Row]) -> Vec<Option<Duration>> {
    rows.iter()
        .map(|row| {
            let group: Vec<&Row> = rows.iter().filter(|r| r.group == row.group).collect();
            let base = group
                .iter()
                .find(|r| r.baseline)
                .or_else(|| group.iter().find(|r| r.ours))
                .or_else(|| group.first());
            base.and_then(|r| r.median())
        })
        .collect()
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn render_markdown(name: &str, plan: &Plan, rows: &[Row], bases: &[Option<Duration>]) -> String {
    let mut s = format!("### `{name}`: {}\n\n", plan.title);
    s.push_str("| contender | median s | min s | items/s | client CPU s | max RSS MiB | × baseline | model floor s | raw-client ceiling s |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (r, base) in rows.iter().zip(bases) {
        let name = if r.ours {
            format!("**{}** (ours)", r.name)
        } else {
            r.name.clone()
        };
        let floor = r.floor.as_ref().map_or("–".into(), |(d, _)| secs(*d));
        let ceiling = match &r.ceiling {
            None => "–".to_owned(),
            Some(Ok(d)) => secs(*d),
            Some(Err(_)) => "error".to_owned(),
        };
        match (r.median(), &r.error) {
            (Some(m), _) if r.error.is_none() || !r.samples.is_empty() => {
                let ms = r.median_sample();
                let cpu = ms
                    .and_then(|x| x.cpu)
                    .map_or("–".into(), |c| format!("{c:.2}"));
                let rss = ms
                    .and_then(|x| x.max_rss_kib)
                    .map_or("–".into(), |k| format!("{:.0}", k as f64 / 1024.0));
                let ips = r.items as f64 / m.as_secs_f64().max(1e-9);
                let ratio = base.map_or("–".into(), |b| {
                    format!("{:.2}", m.as_secs_f64() / b.as_secs_f64().max(1e-9))
                });
                s.push_str(&format!(
                    "| {name} | {} | {} | {ips:.0} | {cpu} | {rss} | {ratio} | {floor} | {ceiling} |\n",
                    secs(m),
                    r.min().map_or("–".into(), secs),
                ));
            }
            (_, Some(e)) => {
                let e: String = e.chars().take(80).collect();
                s.push_str(&format!(
                    "| {name} | failed: {} | | | | | | {floor} | {ceiling} |\n",
                    e.replace('|', "/")
                ));
            }
            _ => s.push_str(&format!(
                "| {name} | no runs | | | | | | {floor} | {ceiling} |\n"
            )),
        }
    }
    s.push('\n');
    let runs = rows.iter().map(|r| r.samples.len()).max().unwrap_or(0);
    let items = if rows.iter().all(|r| r.items == plan.items) {
        format!("{} items per run", plan.items)
    } else {
        "items per run as each contender says".to_owned()
    };
    s.push_str(&format!(
        "{items}; median and min of {runs} run(s); CPU and RSS from `/usr/bin/time` of the contender's process tree.\n"
    ));
    for r in rows
        .iter()
        .filter(|r| r.samples.len() < runs && r.error.is_none())
    {
        s.push_str(&format!("- {}: {} run(s)\n", r.name, r.samples.len()));
    }
    for r in rows {
        if let Some((_, how)) = &r.floor {
            s.push_str(&format!("- floor for {}: {how}\n", r.name));
        }
        if let Some(Err(e)) = &r.ceiling {
            s.push_str(&format!("- ceiling for {} failed: {e}\n", r.name));
        }
        for n in &r.run_notes {
            s.push_str(&format!("- {}, {n}\n", r.name));
        }
    }
    for n in &plan.notes {
        s.push_str(&format!("- {n}\n"));
    }
    s
}

fn render_json(
    name: &str,
    plan: &Plan,
    rows: &[Row],
    bases: &[Option<Duration>],
    markdown: &str,
) -> serde_json::Value {
    json!({
        "scenario": name,
        "title": plan.title,
        "items": plan.items,
        "notes": plan.notes,
        "markdown": markdown,
        "contenders": rows.iter().zip(bases).map(|(r, base)| json!({
            "name": r.name,
            "ours": r.ours,
            "error": r.error,
            "wall_s": r.samples.iter().map(|s| s.wall.as_secs_f64()).collect::<Vec<_>>(),
            "cpu_s": r.samples.iter().map(|s| s.cpu).collect::<Vec<_>>(),
            "max_rss_kib": r.samples.iter().map(|s| s.max_rss_kib).collect::<Vec<_>>(),
            "median_s": r.median().map(|d| d.as_secs_f64()),
            "min_s": r.min().map(|d| d.as_secs_f64()),
            "items": r.items,
            "group": r.group,
            "items_per_s": r.median().map(|d| r.items as f64 / d.as_secs_f64().max(1e-9)),
            "ratio_to_baseline": match (r.median(), *base) {
                (Some(m), Some(b)) => Some(m.as_secs_f64() / b.as_secs_f64().max(1e-9)),
                _ => None,
            },
            "floor_s": r.floor.as_ref().map(|(d, _)| d.as_secs_f64()),
            "floor_how": r.floor.as_ref().map(|(_, h)| h.clone()),
            "ceiling_s": r.ceiling.as_ref().and_then(|c| c.as_ref().ok()).map(|d| d.as_secs_f64()),
            "run_notes": r.run_notes,
        })).collect::<Vec<_>>(),
    })
}
