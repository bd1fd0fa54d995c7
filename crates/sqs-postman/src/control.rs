//! Stopping a run: gracefully (Ctrl-C, `--duration`) or on a fatal error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::error::Error;

/// Shared by the generator, the producers and the signal handler.
#[derive(Default)]
pub struct Control {
    stop: AtomicBool,
    abort: AtomicBool,
    interrupted: AtomicBool,
    fatal: Mutex<Option<Error>>,
    changed: Notify,
}

impl Control {
    /// Stop generating messages; batches already made are still sent.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Ctrl-C / SIGTERM.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.stop();
    }

    /// A fatal error: stop everything now, keep the first error for the exit.
    pub fn abort(&self, err: Error) {
        {
            let mut f = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
            if f.is_none() {
                *f = Some(err);
            }
        }
        self.abort.store(true, Ordering::SeqCst);
        self.stop();
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub fn is_aborted(&self) -> bool {
        self.abort.load(Ordering::SeqCst)
    }

    pub fn was_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    pub fn take_fatal(&self) -> Option<Error> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Resolves once [`Self::stop`] (or abort) has been called.
    pub async fn stopped(&self) {
        self.wait(|c| c.is_stopped()).await;
    }

    /// Resolves once [`Self::abort`] has been called.
    pub async fn aborted(&self) {
        self.wait(|c| c.is_aborted()).await;
    }

    async fn wait(&self, done: impl Fn(&Self) -> bool) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(self) {
                return;
            }
            notified.await;
        }
    }
}
