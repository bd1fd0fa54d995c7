//! Real AWS emulators over HTTP on loopback: ministack (default) and moto.
//!
//! Each is installed into its own project-local venv by
//! `scripts/setup-emulators.sh` on first use, and started at most once per
//! test process on a free 127.0.0.1 port. `cargo xtask test` starts one of
//! each for the whole run and exports `MC_TEST_MINISTACK_URL` /
//! `MC_TEST_MOTO_URL`, which are then used instead of starting new ones.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::process::{free_port, Managed};

/// Fake credentials every emulator accepts. On ministack a non-numeric key
/// maps to account `000000000000`; moto uses `123456789012` regardless.
pub const ACCESS_KEY_ID: &str = "test";
/// See [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "test";
/// Region the emulators are started with and clients are configured for.
pub const REGION: &str = "us-east-1";

/// Which emulator an [`Emulator`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmulatorKind {
    /// PyPI `ministack`: the default, AWS-faithful for S3 ACLs, ownership
    /// controls, S3 event notifications, SQS and CloudFormation.
    Ministack,
    /// PyPI `moto[server]`: for APIs ministack lacks (EC2 spot price
    /// history, auto scaling groups that launch instances).
    Moto,
    /// ministack started with `AUTH=true` (a per-process setting, so a
    /// second process beside the usual one). What its version (1.5.33)
    /// enforces, read in its source and probed: anonymous (unsigned) S3
    /// requests get only what object ACLs (AllUsers), bucket ACLs and the
    /// bucket policy (`"*"`) grant; BucketOwnerEnforced turns object ACLs
    /// off; IgnorePublicAcls and RestrictPublicBuckets apply,
    /// BlockPublicPolicy refuses public policies; a 12-digit access key is
    /// the root of that account (canonical ID: the SHA-256 hex of the
    /// account ID), reaching another account's bucket only through grants
    /// to its canonical ID, group grants, or policies naming
    /// `arn:aws:iam::ACCOUNT:root`; unknown keys are refused. Not enforced:
    /// the signatures of root keys (`test`, 12 digits: any secret passes;
    /// IAM user and STS keys are checked), requester pays, explicit Deny
    /// over an ACL grant (AWS: Deny wins), `CanonicalUser` principals and
    /// policy variables (`${*}`) in policies; S3 Control's account-level
    /// Block Public Access is not implemented. New buckets block all
    /// public access, as on AWS.
    MinistackAuth,
}

impl EmulatorKind {
    /// Short lowercase name ("ministack" / "moto").
    pub fn name(self) -> &'static str {
        match self {
            Self::Ministack => "ministack",
            Self::Moto => "moto",
            Self::MinistackAuth => "ministack-auth",
        }
    }

    /// Env var that, when set, points the kit at an already running instance.
    pub fn url_env_var(self) -> &'static str {
        match self {
            Self::Ministack => "MC_TEST_MINISTACK_URL",
            Self::Moto => "MC_TEST_MOTO_URL",
            Self::MinistackAuth => "MC_TEST_MINISTACK_AUTH_URL",
        }
    }

    /// The venv it is installed in (`.venv/<name>`).
    fn venv(self) -> &'static str {
        match self {
            Self::Ministack | Self::MinistackAuth => "ministack",
            Self::Moto => "moto",
        }
    }

    fn binary(self) -> &'static str {
        match self {
            Self::Ministack | Self::MinistackAuth => "ministack",
            Self::Moto => "moto_server",
        }
    }

    fn ready_path(self) -> &'static str {
        match self {
            Self::Ministack | Self::MinistackAuth => "/_ministack/ready",
            Self::Moto => "/moto-api/",
        }
    }
}

/// A running emulator (or one started elsewhere and found through its URL env var).
pub struct Emulator {
    kind: EmulatorKind,
    endpoint: String,
    region: String,
    process: Option<Managed>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("kind", &self.kind)
            .field("endpoint", &self.endpoint)
            .field("pid", &self.process.as_ref().map(Managed::pid))
            .finish()
    }
}

/// The ministack instance shared by this test process (started on first use).
pub fn ministack() -> &'static Emulator {
    static INSTANCE: OnceLock<Emulator> = OnceLock::new();
    INSTANCE.get_or_init(|| Emulator::shared(EmulatorKind::Ministack))
}

/// The ministack with `AUTH=true` shared by this test process (started on
/// first use, beside [`ministack`]): see [`EmulatorKind::MinistackAuth`]
/// for what it enforces. Its root credentials are the kit's `test`/`test`
/// (account `000000000000`); a 12-digit access key is that account's root.
pub fn ministack_auth() -> &'static Emulator {
    static INSTANCE: OnceLock<Emulator> = OnceLock::new();
    INSTANCE.get_or_init(|| Emulator::shared(EmulatorKind::MinistackAuth))
}

/// The moto server instance shared by this test process (started on first use).
pub fn moto() -> &'static Emulator {
    static INSTANCE: OnceLock<Emulator> = OnceLock::new();
    INSTANCE.get_or_init(|| Emulator::shared(EmulatorKind::Moto))
}

impl Emulator {
    /// Reuse `MC_TEST_*_URL` if set, else start a new instance.
    fn shared(kind: EmulatorKind) -> Self {
        match std::env::var(kind.url_env_var()) {
            Ok(url) if !url.trim().is_empty() => Self {
                kind,
                endpoint: url.trim().trim_end_matches('/').to_owned(),
                region: REGION.to_owned(),
                process: None,
            },
            _ => Self::start(kind),
        }
    }

    /// Start a new, private instance of `kind` (ignoring `MC_TEST_*_URL`).
    /// It is stopped, with everything it started, when the value is dropped
    /// or the test process exits. Panics with the emulator's output if it
    /// does not become ready.
    pub fn start(kind: EmulatorKind) -> Self {
        ensure_installed(kind);
        let timeout = startup_timeout();
        let mut last_error = String::new();
        // A free port can be taken by someone else between our probe and the
        // emulator's bind; retry a few times on a fresh port.
        for _attempt in 0..3 {
            let port = free_port();
            let process =
                match Managed::spawn(kind.name(), emulator_command(kind, port), libc::SIGTERM) {
                    Ok(p) => p,
                    Err(e) => panic!("mc-testkit: cannot start {}: {e}", kind.name()),
                };
            let endpoint = format!("http://127.0.0.1:{port}");
            match wait_ready(kind, &process, port, timeout) {
                Ok(()) => {
                    return Self {
                        kind,
                        endpoint,
                        region: REGION.to_owned(),
                        process: Some(process),
                    }
                }
                Err(e) => {
                    let tail = process.log_tail();
                    process.stop(libc::SIGKILL, Duration::from_secs(5));
                    last_error = format!("{e}\n--- {} output (tail) ---\n{tail}", kind.name());
                    if !tail.contains("already in use") {
                        break;
                    }
                }
            }
        }
        panic!("mc-testkit: {} failed to start: {last_error}", kind.name());
    }

    /// Which emulator this is.
    pub fn kind(&self) -> EmulatorKind {
        self.kind
    }

    /// Base URL, e.g. `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The TCP port of [`Self::endpoint`].
    pub fn port(&self) -> u16 {
        self.endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap_or(80)
    }

    /// Region clients should use ("us-east-1").
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Pid of the emulator's process (group leader) if this process started it.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Managed::pid)
    }

    /// Stop the emulator if this process started it (no-op otherwise).
    /// Only for private instances: stopping the shared one breaks other tests.
    pub fn stop(&self) {
        if let Some(p) = &self.process {
            p.stop(libc::SIGTERM, Duration::from_secs(10));
        }
    }

    /// Env for running a tool binary against this emulator: fake static
    /// credentials, region, `AWS_ENDPOINT_URL`, empty config and credentials
    /// files (so the developer's real `~/.aws` is never read) and IMDS off.
    pub fn env(&self) -> Vec<(String, String)> {
        let (config, credentials) = empty_aws_files();
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_DEFAULT_REGION", self.region.clone()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_CONFIG_FILE", config.display().to_string()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                credentials.display().to_string(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Apply [`Self::env`] to a command, after removing every other `AWS_*`
    /// variable it would inherit (profiles, session tokens, per-service
    /// endpoint overrides, web identity, container credentials).
    pub fn apply_env(&self, cmd: &mut Command) {
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(&key);
            }
        }
        cmd.envs(self.env());
    }
}

/// Unique, lowercase name that is a valid S3 bucket name and SQS queue name:
/// `prefix-<pid>-<counter>-<random>`, at most 63 characters. Characters of
/// `prefix` outside `[a-z0-9-]` become `-`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            h.write_u128(d.as_nanos());
        }
        to_base36(h.finish())
    };
    let suffix = format!(
        "{}-{n}-{}",
        std::process::id(),
        &random[..random.len().min(6)]
    );
    let mut clean: String = prefix
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let max_prefix = 63 - 1 - suffix.len();
    clean.truncate(max_prefix);
    let clean = clean.trim_matches('-');
    if clean.is_empty() {
        format!("t-{suffix}")
    } else {
        format!("{clean}-{suffix}")
    }
}

fn to_base36(mut v: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(v % 36) as usize]);
        v /= 36;
        if v == 0 {
            break;
        }
    }
    while out.len() < 6 {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// Workspace root (`CARGO_MANIFEST_DIR/../..`).
pub fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

/// `target/mc-testkit` of the workspace (created on demand); honours
/// `CARGO_TARGET_DIR`.
pub(crate) fn kit_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => {
            let t = PathBuf::from(t);
            if t.is_absolute() {
                t
            } else {
                workspace_root().join(t)
            }
        }
        _ => workspace_root().join("target"),
    };
    let dir = target.join("mc-testkit");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("mc-testkit: cannot create {}: {e}", dir.display());
    }
    dir
}

fn empty_aws_files() -> (PathBuf, PathBuf) {
    static FILES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    FILES
        .get_or_init(|| {
            let dir = kit_dir().join("aws-empty");
            if let Err(e) = std::fs::create_dir_all(&dir) {
                panic!("mc-testkit: cannot create {}: {e}", dir.display());
            }
            let make = |name: &str| {
                let path = dir.join(name);
                // create(true)+append(true): never truncates, safe to race.
                if let Err(e) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                {
                    panic!("mc-testkit: cannot create {}: {e}", path.display());
                }
                path
            };
            (make("config"), make("credentials"))
        })
        .clone()
}

fn venv_dir(kind: EmulatorKind) -> PathBuf {
    workspace_root().join(".venv").join(kind.venv())
}

/// Run `scripts/setup-emulators.sh` if the venv for `kind` is not complete.
/// The script serialises concurrent installs with `flock`.
fn ensure_installed(kind: EmulatorKind) {
    let venv = venv_dir(kind);
    if venv.join(".installed").is_file() && venv.join("bin").join(kind.binary()).is_file() {
        return;
    }
    let script = workspace_root().join("scripts/setup-emulators.sh");
    eprintln!(
        "mc-testkit: {} is not installed; running {}",
        kind.name(),
        script.display()
    );
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("mc-testkit: cannot run {}: {e}", script.display()));
    if !out.status.success() {
        panic!(
            "mc-testkit: {} failed ({}):\n{}{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn startup_timeout() -> Duration {
    let secs = std::env::var("MC_TEST_EMULATOR_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// Wraps the emulator in a tiny bash supervisor that leads the process group:
/// on SIGTERM/SIGINT/SIGHUP (the parent-death signal included) it forwards
/// SIGTERM to the whole group, so nothing the emulator started outlives it,
/// and SIGKILLs the group if it is not gone within 5 s.
const SUPERVISOR: &str = r#"
stop() {
  trap '' TERM INT HUP
  kill -TERM -- -$$ 2>/dev/null
  (sleep 5; kill -KILL -- -$$) >/dev/null 2>&1 &
  wait "$child"
  exit 143
}
trap stop TERM INT HUP
"$@" &
child=$!
wait "$child"
"#;

fn emulator_command(kind: EmulatorKind, port: u16) -> Command {
    let bin = venv_dir(kind).join("bin").join(kind.binary());
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(SUPERVISOR)
        .arg(format!("mc-testkit-{}", kind.name()));
    cmd.arg(&bin);
    // The emulators must never see the developer's AWS settings.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(&key);
        }
    }
    let tmp = kit_dir().join("tmp");
    let _ = std::fs::create_dir_all(&tmp);
    cmd.env("TMPDIR", &tmp).current_dir(&tmp);
    match kind {
        EmulatorKind::Ministack | EmulatorKind::MinistackAuth => {
            let auth = kind == EmulatorKind::MinistackAuth;
            cmd.env("AUTH", if auth { "true" } else { "false" })
                .env("BIND_HOST", "127.0.0.1")
                .env("GATEWAY_PORT", port.to_string())
                .env("MINISTACK_HOST", "127.0.0.1")
                .env("MINISTACK_REGION", REGION)
                .env("PERSIST_STATE", "0")
                .env("S3_PERSIST", "0")
                // Extra listeners on fixed ports bound to 0.0.0.0: off.
                .env("SFTP_ENABLED", "0")
                .env("IOT_MTLS_ENABLED", "0")
                .env("USE_SSL", "0")
                // Never talk to a Docker daemon on a developer's machine.
                .env(
                    "DOCKER_HOST",
                    "unix:///nonexistent/mc-testkit-no-docker.sock",
                )
                .env("LOG_LEVEL", "WARNING")
                .env("PYTHONUNBUFFERED", "1");
        }
        EmulatorKind::Moto => {
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("PYTHONUNBUFFERED", "1");
        }
    }
    cmd
}

fn wait_ready(
    kind: EmulatorKind,
    process: &Managed,
    port: u16,
    timeout: Duration,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        if let Some(status) = process.try_exited() {
            return Err(format!(
                "{} exited before it was ready (status {status:?})",
                kind.name()
            ));
        }
        if http_status(port, kind.ready_path()) == Some(200) {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(format!(
                "{} was not ready on 127.0.0.1:{port}{} after {timeout:?} \
                 (set MC_TEST_EMULATOR_TIMEOUT_SECS to wait longer)",
                kind.name(),
                kind.ready_path()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Status code of a plain `GET path` on 127.0.0.1:`port`, if anything answers.
pub(crate) fn http_status(port: u16, path: &str) -> Option<u16> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).ok()?;
    let mut head = [0u8; 64];
    let mut len = 0;
    while len < 12 {
        match stream.read(&mut head[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    let text = std::str::from_utf8(&head[..len]).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}
