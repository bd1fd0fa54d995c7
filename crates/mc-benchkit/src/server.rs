//! Stopping the kit's in-process servers, and running them on a thread of
//! their own for synchronous callers.

use std::future::Future;
use std::thread::JoinHandle;

use anyhow::anyhow;
use tokio::sync::oneshot;

/// A running server: stopped when dropped (and its thread joined, if it has one).
#[derive(Debug)]
pub(crate) struct Running {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// A server task on the caller's runtime, stopped through `stop`.
    pub(crate) fn task(stop: oneshot::Sender<()>) -> Self {
        Self {
            stop: Some(stop),
            thread: None,
        }
    }

    /// Runs `start` on a new thread `name` with a runtime of its own, for
    /// plain `#[test]`s and synchronous code; returns what `start` handed
    /// out (state shared with the server) and the server on that thread.
    pub(crate) fn on_thread<H, F, Fut>(name: &str, start: F) -> anyhow::Result<(H, Self)>
    where
        H: Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<(H, Running)>>,
    {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow!(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    match start().await {
                        Ok((handed_out, server)) => {
                            let (stop_tx, stop_rx) = oneshot::channel::<()>();
                            let _ = ready_tx.send(Ok((handed_out, stop_tx)));
                            let _ = stop_rx.await;
                            drop(server);
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })?;
        let (handed_out, stop) = ready_rx
            .recv()
            .map_err(|_| anyhow!("the {name} thread died"))??;
        Ok((
            handed_out,
            Self {
                stop: Some(stop),
                thread: Some(thread),
            },
        ))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
