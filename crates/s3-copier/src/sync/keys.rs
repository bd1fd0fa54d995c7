//! `sync --keys-from`: the named keys instead of a listing, a batch of
//! lines at a time, with the same comparison and copy as a listed span.

use std::path::Path;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use mc_aws_common::error::ToolError;
use mc_aws_common::interrupt::GRACE;
use mc_aws_common::keyfile;
use mc_aws_common::output::OutputArgs;

use super::{record, Connected};

/// Key batches worked on at once.
const BATCHES_IN_FLIGHT: usize = 4;

/// Works through the key file until it ends, a signal stops the run, or
/// the file turns out bad. Returns whether the run was stopped, and the error.
pub async fn execute(
    path: &Path,
    out: &OutputArgs,
    run: &mut Connected,
) -> (bool, Option<ToolError>) {
    let mut batches = match keyfile::read_batches(path, 0, BATCHES_IN_FLIGHT).await {
        Ok(b) => b,
        Err(e) => return (false, Some(e)),
    };
    let bar = out.progress(None, "compared");
    let mut inflight = FuturesUnordered::new();
    let (mut input_done, mut stopping, mut fatal) = (false, false, None);
    let stop = run.job.stop.clone();
    let signal = stop.wait();
    tokio::pin!(signal);
    let grace = tokio::time::sleep(GRACE);
    tokio::pin!(grace);
    loop {
        if (input_done || stopping) && inflight.is_empty() {
            break;
        }
        tokio::select! {
            _ = &mut signal, if !stopping => {
                stopping = true;
                run.report.complete = false;
                grace.as_mut().reset(tokio::time::Instant::now() + GRACE);
            }
            _ = &mut grace, if stopping => break,
            Some(done) = inflight.next(), if !inflight.is_empty() => {
                let done: super::ChunkDone = done;
                bar.inc(done.counts.listed);
                record(run, done);
            }
            next = batches.recv(), if !input_done && !stopping && inflight.len() < BATCHES_IN_FLIGHT => {
                match next {
                    None => input_done = true,
                    Some(Err(e)) => {
                        fatal = Some(e);
                        input_done = true;
                        run.report.complete = false;
                    }
                    Some(Ok(batch)) => {
                        let job = run.job.clone();
                        inflight.push(async move { job.keys(batch.keys).await });
                    }
                }
            }
        }
    }
    bar.finish_and_clear();
    (stopping, fatal)
}
