//! Child processes that die with the test process.
//!
//! Every child is spawned from one dedicated thread that never exits, with
//! `PR_SET_PDEATHSIG` set: the kernel signals the child when that thread (and
//! so the whole process) goes away, even though the `static`s that own the
//! emulators never run destructors. Each child also gets its own process group
//! so it can be stopped together with anything it started.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::sys;

type SpawnJob = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawn `cmd` on the never-exiting spawner thread.
fn spawn_on_spawner_thread(cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        thread::Builder::new()
            .name("mc-testkit-spawner".into())
            .spawn(move || {
                // The sender lives in a static and is never dropped, so this
                // loop (and the thread the death signals are tied to) runs
                // until the process exits.
                while let Ok((mut cmd, reply)) = rx.recv() {
                    let _ = reply.send(cmd.spawn());
                }
                loop {
                    thread::park();
                }
            })
            .expect("mc-testkit: cannot start the spawner thread");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, reply_tx))
        .map_err(|_| io::Error::other("mc-testkit spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("mc-testkit spawner thread dropped the request"))?
}

const LOG_LINES: usize = 200;

/// A child process in its own process group, with its stdout and stderr
/// drained into a bounded in-memory tail (so it never blocks on a full pipe).
pub(crate) struct Managed {
    name: String,
    pid: u32,
    child: Mutex<Option<Child>>,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Managed {
    /// Start `cmd` as a managed child. `death_signal` is what it receives
    /// when the test process exits.
    pub(crate) fn spawn(
        name: &str,
        mut cmd: Command,
        death_signal: libc::c_int,
    ) -> io::Result<Self> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        sys::set_parent_death_signal(&mut cmd, death_signal);
        let mut child = spawn_on_spawner_thread(cmd)?;
        let log = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_LINES)));
        let echo = std::env::var_os("MC_TESTKIT_VERBOSE").is_some();
        if let Some(out) = child.stdout.take() {
            drain(format!("{name}-stdout"), out, Arc::clone(&log), echo);
        }
        if let Some(err) = child.stderr.take() {
            drain(format!("{name}-stderr"), err, Arc::clone(&log), echo);
        }
        Ok(Self {
            name: name.to_owned(),
            pid: child.id(),
            child: Mutex::new(Some(child)),
            log,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The last lines the child wrote to stdout/stderr.
    pub(crate) fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for line in log.iter() {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// `Some(status)` if the child has exited (or was already stopped).
    pub(crate) fn try_exited(&self) -> Option<Option<ExitStatus>> {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            None => Some(None),
            Some(child) => match child.try_wait() {
                Ok(Some(status)) => Some(Some(status)),
                Ok(None) => None,
                Err(_) => Some(None),
            },
        }
    }

    /// Signal the whole process group with `signal`, wait up to `grace` for the
    /// child to exit, then SIGKILL the group. Idempotent.
    pub(crate) fn stop(&self, signal: libc::c_int, grace: Duration) {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut child) = guard.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            // Leader is gone; make sure stragglers in its group are too.
            sys::signal_group(self.pid, libc::SIGKILL);
            return;
        }
        sys::signal_group(self.pid, signal);
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    eprintln!(
                        "mc-testkit: {} did not stop within {grace:?}; killing it",
                        self.name
                    );
                    sys::signal_group(self.pid, libc::SIGKILL);
                    let _ = child.wait();
                    break;
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
            }
        }
        sys::signal_group(self.pid, libc::SIGKILL);
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.stop(libc::SIGTERM, Duration::from_secs(10));
    }
}

fn drain(
    thread_name: String,
    pipe: impl Read + Send + 'static,
    log: Arc<Mutex<VecDeque<String>>>,
    echo: bool,
) {
    let spawned = thread::Builder::new()
        .name(thread_name.clone())
        .spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
                        if echo {
                            eprintln!("[{thread_name}] {line}");
                        }
                        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                        if log.len() == LOG_LINES {
                            log.pop_front();
                        }
                        log.push_back(line);
                    }
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("mc-testkit: cannot start a log reader thread: {e}");
    }
}

/// A currently free TCP port on 127.0.0.1 (bind port 0, read it back, release).
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .expect("mc-testkit: cannot bind 127.0.0.1:0 to find a free port");
    listener
        .local_addr()
        .expect("mc-testkit: bound socket has no local address")
        .port()
}
