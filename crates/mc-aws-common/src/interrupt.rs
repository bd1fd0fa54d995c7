//! SIGINT / SIGTERM: the first signal asks the run to stop cleanly (no new
//! requests, the ones in flight finish within a grace period, the state is
//! saved, the summary so far is printed, exit 130); a second one exits at
//! once with the same code. A closed stdout (`tool | head -1`) asks for the
//! same clean stop, once (see [`crate::startup`] for the exit code).

use std::time::Duration;

use crate::exit;
use tokio::sync::watch;

/// How long requests in flight may take to finish after the first signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// A handle on "has the run been asked to stop?"; cheap to clone.
#[derive(Debug, Clone)]
pub struct Interrupt {
    rx: watch::Receiver<bool>,
}

impl Interrupt {
    /// Starts listening for SIGINT and SIGTERM (needs a tokio runtime).
    /// `tool` names the program in the message printed on a second signal.
    pub fn install(tool: &'static str) -> Self {
        let (tx, rx) = watch::channel(false);
        // Registered now, so a signal that comes before the task first runs
        // is not lost (nor kills the process).
        let Some(mut signals) = Signals::new() else {
            return Self::never();
        };
        let on_close = tx.clone();
        crate::output::on_stdout_closed(move || {
            tracing::info!("stdout is closed: stopping as on an interrupt");
            let _ = on_close.send(true);
        });
        tokio::spawn(async move {
            signals.next().await;
            tracing::warn!("interrupted: stopping cleanly (interrupt again to exit at once)");
            let _ = tx.send(true);
            signals.next().await;
            eprintln!("{tool}: interrupted again: exiting now");
            std::process::exit(exit::INTERRUPTED);
        });
        Self { rx }
    }

    /// A handle that never fires (library callers and tests).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        // Keep the sender alive so `wait` stays pending rather than ending.
        std::mem::forget(tx);
        Self { rx }
    }

    /// Whether a stop was asked for.
    pub fn is_set(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once a stop is asked for (at once if it already was).
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|set| *set).await.is_err() {
            // The listener is gone (no signal support): never resolve.
            std::future::pending::<()>().await;
        }
    }
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere).
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Option<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Some(Self {
                int: signal(SignalKind::interrupt()).ok()?,
                term: signal(SignalKind::terminate()).ok()?,
            })
        }
        #[cfg(not(unix))]
        {
            Some(Self {})
        }
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => {}
                _ = self.term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn never_stays_unset() {
        let i = Interrupt::never();
        assert!(!i.is_set());
        let waited = tokio::time::timeout(Duration::from_millis(20), i.wait()).await;
        assert!(waited.is_err());
    }
}
