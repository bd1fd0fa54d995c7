//! Throwaway PostgreSQL clusters: `initdb` + `postgres` from the machine's
//! PostgreSQL binaries, on a free 127.0.0.1 port, trust auth, superuser
//! `postgres`, `fsync=off`. Cluster dirs live under the workspace's
//! `target/mc-testkit/pg-<pid>-<n>`; leftovers of dead test processes are
//! removed when the next cluster starts.
//!
//! When the tests run as root (as CI does), `initdb` and `postgres` run as the
//! `postgres` system user (override with `MC_TEST_PG_USER`). The binaries are
//! found through `MC_TEST_PG_BIN` (a bin dir), else `initdb` on `PATH`, else
//! the newest `/usr/lib/postgresql/*/bin`.
//!
//! [`start_tls`] starts one with `ssl=on`, the caller's certificate and key
//! (written owned by the server's user, mode 0600) and `pg_hba.conf`.
//!
//! Autovacuum is left on; tests that need it off turn it off per table
//! (`ALTER TABLE t SET (autovacuum_enabled = off)`) or per database session.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::emulator::kit_dir;
use crate::process::{free_port, Managed};
use crate::sys;

/// A running throwaway PostgreSQL cluster.
pub struct PgCluster {
    port: u16,
    dir: PathBuf,
    bin_dir: PathBuf,
    process: Managed,
}

impl std::fmt::Debug for PgCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCluster")
            .field("port", &self.port)
            .field("dir", &self.dir)
            .field("pid", &self.process.pid())
            .finish()
    }
}

/// The cluster shared by this test process (started on first use).
/// Never call [`PgCluster::stop`] on it: use [`start_private`] for that.
pub fn postgres() -> &'static PgCluster {
    static INSTANCE: OnceLock<PgCluster> = OnceLock::new();
    INSTANCE.get_or_init(start_private)
}

/// Start an independent cluster, stopped (and its directory removed) when the
/// value is dropped, or killed when the test process exits.
pub fn start_private() -> PgCluster {
    start(None)
}

/// What a TLS cluster ([`start_tls`]) serves: PEM texts and the client rules.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The server's certificate chain (`ssl_cert_file`).
    pub cert_pem: String,
    /// Its private key (`ssl_key_file`; written owned by the server's user, mode 0600).
    pub key_pem: String,
    /// The CA that client certificates must chain to (`ssl_ca_file`), if any.
    pub client_ca_pem: Option<String>,
    /// The whole `pg_hba.conf`, e.g. `hostssl` lines only.
    pub hba: String,
}

/// Start an independent cluster with `ssl=on`, `tls`'s certificate and
/// key, and its `pg_hba.conf` (otherwise like [`start_private`]).
pub fn start_tls(tls: &ServerTls) -> PgCluster {
    start(Some(tls))
}

fn start(tls: Option<&ServerTls>) -> PgCluster {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let bin_dir = find_bin_dir();
    let user = run_as_user();
    let base = cluster_base_dir(user);
    remove_stale_dirs(&base);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = base.join(format!("pg-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sock = dir.join("sock");
    create_owned_dir(&dir, user);
    create_owned_dir(&sock, user);
    let data = dir.join("data");

    let mut initdb = Command::new(bin_dir.join("initdb"));
    initdb.arg("-D").arg(&data).args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    prepare(&mut initdb, &dir, user);
    let out = initdb.output().unwrap_or_else(|e| {
        panic!(
            "mc-testkit: cannot run {}: {e}",
            bin_dir.join("initdb").display()
        )
    });
    if !out.status.success() {
        panic!(
            "mc-testkit: initdb failed ({}):\n{}",
            out.status,
            output_text(&out)
        );
    }

    let tls_settings = tls.map_or_else(Vec::new, |t| install_tls(&data, t, user));

    // Unix socket paths are limited to ~107 bytes; skip the socket if the
    // workspace path is too deep (TCP on 127.0.0.1 is what the kit uses).
    let socket_dirs = if sock.as_os_str().len() + 20 < 100 {
        sock.display().to_string()
    } else {
        String::new()
    };
    let mut last_error = String::new();
    for _attempt in 0..3 {
        let port = free_port();
        let mut cmd = Command::new(bin_dir.join("postgres"));
        cmd.arg("-D").arg(&data).arg("-p").arg(port.to_string());
        for setting in [
            "listen_addresses=127.0.0.1".to_owned(),
            format!("unix_socket_directories={socket_dirs}"),
            "fsync=off".to_owned(),
            "synchronous_commit=off".to_owned(),
            "full_page_writes=off".to_owned(),
            "logging_collector=off".to_owned(),
            "max_connections=100".to_owned(),
        ]
        .into_iter()
        .chain(tls_settings.iter().cloned())
        {
            cmd.arg("-c").arg(setting);
        }
        prepare(&mut cmd, &dir, user);
        // SIGQUIT = immediate shutdown: the postmaster takes its backends down
        // with it. Used when the test process exits without stopping it.
        let process = Managed::spawn("postgres", cmd, libc::SIGQUIT)
            .unwrap_or_else(|e| panic!("mc-testkit: cannot start postgres: {e}"));
        match wait_ready(&bin_dir, &process, port) {
            Ok(()) => {
                return PgCluster {
                    port,
                    dir,
                    bin_dir,
                    process,
                }
            }
            Err(e) => {
                let tail = process.log_tail();
                process.stop(libc::SIGQUIT, Duration::from_secs(5));
                last_error = format!("{e}\n--- postgres output (tail) ---\n{tail}");
                if !tail.contains("could not bind") && !tail.contains("already in use") {
                    break;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    panic!("mc-testkit: postgres failed to start: {last_error}");
}

impl PgCluster {
    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The cluster's directory (`data/` and `sock/` inside).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Create a fresh database named `name` (dropping any previous one).
    pub fn create_db(&self, name: &str) {
        let ident = quote_ident(name);
        self.psql("postgres", &format!("DROP DATABASE IF EXISTS {ident};"));
        self.psql("postgres", &format!("CREATE DATABASE {ident};"));
    }

    /// Run `sql` (any number of statements, fed on stdin) with
    /// `psql -X -A -t -q -v ON_ERROR_STOP=1` against `db`; returns stdout
    /// (unaligned, tuples only, `|`-separated columns, one row per line).
    /// Panics with psql's stderr on failure.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let psql = self.bin("psql");
        let mut cmd = Command::new(&psql);
        cmd.args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
        ])
        .arg("-p")
        .arg(self.port.to_string())
        .arg("-d")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        clear_pg_env(&mut cmd);
        cmd.env("PGCONNECT_TIMEOUT", "10");
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("mc-testkit: cannot run {}: {e}", psql.display()));
        let mut stdin = child.stdin.take().expect("mc-testkit: psql stdin is piped");
        let input = sql.to_owned();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("mc-testkit: psql did not finish: {e}"));
        let _ = writer.join();
        if !out.status.success() {
            panic!(
                "mc-testkit: psql -d {db} failed ({}):\n{}\n--- SQL ---\n{sql}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Path of a PostgreSQL client/server binary of the same version
    /// (`pg_dump`, `psql`, `pgbench`, ...).
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// Stop the server (fast shutdown). Further calls on this cluster fail.
    /// Only for clusters from [`start_private`]: stopping the shared one
    /// breaks every other test in the process.
    pub fn stop(&self) {
        self.process.stop(libc::SIGINT, Duration::from_secs(30));
    }

    /// Whether the server process is still running.
    pub fn is_running(&self) -> bool {
        self.process.try_exited().is_none()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.process.stop(libc::SIGQUIT, Duration::from_secs(10));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `tls`'s files into the data directory as the server requires
/// them (owned by its user, the key mode 0600); returns the settings.
fn install_tls(data: &Path, tls: &ServerTls, user: Option<(u32, u32)>) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut files = vec![
        ("server.crt", tls.cert_pem.as_str()),
        ("server.key", tls.key_pem.as_str()),
        ("pg_hba.conf", tls.hba.as_str()),
    ];
    if let Some(ca) = &tls.client_ca_pem {
        files.push(("client_ca.crt", ca.as_str()));
    }
    for (name, text) in files {
        let path = data.join(name);
        let written = std::fs::write(&path, text)
            .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)));
        if let Err(e) = written {
            panic!("mc-testkit: cannot write {}: {e}", path.display());
        }
        if let Some((uid, gid)) = user {
            if let Err(e) = std::os::unix::fs::chown(&path, Some(uid), Some(gid)) {
                panic!("mc-testkit: cannot chown {}: {e}", path.display());
            }
        }
    }
    let mut settings = vec![
        "ssl=on".to_owned(),
        "ssl_cert_file=server.crt".to_owned(),
        "ssl_key_file=server.key".to_owned(),
    ];
    if tls.client_ca_pem.is_some() {
        settings.push("ssl_ca_file=client_ca.crt".to_owned());
    }
    settings
}

/// Double-quote an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The PostgreSQL bin dir: `MC_TEST_PG_BIN`, else `initdb` found on `PATH`
/// (symlinks resolved, so `psql`/`pg_dump` come from the same version), else
/// the newest `/usr/lib/postgresql/*/bin`.
fn find_bin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("MC_TEST_PG_BIN").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                let initdb = dir.join("initdb");
                if initdb.is_file() {
                    let real = initdb.canonicalize().unwrap_or(initdb);
                    if let Some(parent) = real.parent() {
                        if parent.join("postgres").is_file() {
                            return parent.to_path_buf();
                        }
                    }
                }
            }
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((version, bin))
            })
            .collect();
        versions.sort();
        match versions.pop() {
            Some((_, bin)) => bin,
            None => panic!(
                "mc-testkit: no PostgreSQL server binaries found (no initdb on PATH or in \
                 /usr/lib/postgresql/*/bin); install the PostgreSQL server or set MC_TEST_PG_BIN"
            ),
        }
    })
    .clone()
}

/// uid/gid to run initdb/postgres as: `None` unless we are root.
fn run_as_user() -> Option<(u32, u32)> {
    if sys::euid() != 0 {
        return None;
    }
    static USER: OnceLock<(u32, u32)> = OnceLock::new();
    Some(*USER.get_or_init(|| {
        let name = std::env::var("MC_TEST_PG_USER").unwrap_or_else(|_| "postgres".to_owned());
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .arg(flag)
                .arg(&name)
                .output()
                .unwrap_or_else(|e| panic!("mc-testkit: cannot run `id`: {e}"));
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or_else(|_| {
                    panic!(
                    "mc-testkit: running as root, so PostgreSQL must run as the `{name}` user, \
                     but `id {flag} {name}` failed: {}",
                    output_text(&out)
                )
                })
        };
        (id("-u"), id("-g"))
    }))
}

/// Run as `user` (if any), in `dir`, with no inherited PG* settings.
fn prepare(cmd: &mut Command, dir: &Path, user: Option<(u32, u32)>) {
    clear_pg_env(cmd);
    cmd.current_dir(dir).env("LC_ALL", "C");
    if let Some((uid, gid)) = user {
        cmd.uid(uid)
            .gid(gid)
            .env("HOME", dir)
            .env("USER", "postgres");
    }
}

fn clear_pg_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&key);
        }
    }
}

/// `target/mc-testkit`, or when running as root and the postgres user cannot
/// reach it (e.g. a checkout under /root), `<tmp>/mc-testkit-pg`.
fn cluster_base_dir(user: Option<(u32, u32)>) -> PathBuf {
    let base = kit_dir();
    let Some((uid, gid)) = user else {
        return base;
    };
    let reachable = Command::new("test")
        .arg("-x")
        .arg(&base)
        .uid(uid)
        .gid(gid)
        .current_dir("/")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if reachable {
        return base;
    }
    let fallback = std::env::temp_dir().join("mc-testkit-pg");
    if let Err(e) = std::fs::create_dir_all(&fallback) {
        panic!("mc-testkit: cannot create {}: {e}", fallback.display());
    }
    fallback
}

fn create_owned_dir(dir: &Path, user: Option<(u32, u32)>) {
    if let Err(e) = std::fs::create_dir_all(dir) {
        panic!("mc-testkit: cannot create {}: {e}", dir.display());
    }
    if let Some((uid, gid)) = user {
        if let Err(e) = std::os::unix::fs::chown(dir, Some(uid), Some(gid)) {
            panic!(
                "mc-testkit: cannot chown {} to {uid}:{gid}: {e}",
                dir.display()
            );
        }
    }
}

/// Remove `pg-<pid>-<n>` dirs whose test process is gone.
fn remove_stale_dirs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("pg-") else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !sys::pid_alive(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn wait_ready(bin_dir: &Path, process: &Managed, port: u16) -> Result<(), String> {
    let timeout = Duration::from_secs(
        std::env::var("MC_TEST_PG_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let start = Instant::now();
    loop {
        if let Some(status) = process.try_exited() {
            return Err(format!(
                "postgres exited before it was ready (status {status:?})"
            ));
        }
        let mut probe = Command::new(bin_dir.join("pg_isready"));
        probe
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-t",
                "1",
                "-p",
            ])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        clear_pg_env(&mut probe);
        if probe.status().map(|s| s.success()).unwrap_or(false) {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(format!(
                "postgres was not ready on 127.0.0.1:{port} after {timeout:?} \
                 (set MC_TEST_PG_TIMEOUT_SECS to wait longer)"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
