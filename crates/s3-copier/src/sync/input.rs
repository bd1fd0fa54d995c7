//! What `sync` works through: the source listing's chunks (over the ranges
//! the checkpoint has left), or with `--keys-from` the key file's batches.

use mc_aws_common::error::ToolError;
use mc_aws_common::keyfile::{self, KeyBatch};
use mc_aws_common::listing::{Chunk, Listing, ObjectEntry};
use tokio::sync::mpsc;

use super::chunk::{ChunkDone, Job};
use super::{Connected, Pass};

/// Key batches worked on at once.
const BATCHES_IN_FLIGHT: usize = 4;

/// Where the work comes from.
pub enum Input {
    Listing(Listing<ObjectEntry, ToolError>),
    Keys(mpsc::Receiver<Result<KeyBatch, ToolError>>),
}

/// One piece of work.
pub enum Work {
    Chunk(Chunk<ObjectEntry>),
    Keys(Vec<String>),
}

impl Work {
    pub async fn run(self, job: &Job) -> ChunkDone {
        match self {
            Work::Chunk(c) => job.chunk(c).await,
            Work::Keys(k) => job.keys(k).await,
        }
    }
}

impl Input {
    /// The input, whether nothing is left to do, and how many pieces to
    /// work on at once.
    pub async fn open(pass: &Pass, run: &Connected) -> Result<(Self, bool, usize), ToolError> {
        if let Some(path) = &pass.keys_from {
            let batches = keyfile::read_batches(path, 0, BATCHES_IN_FLIGHT).await?;
            return Ok((Input::Keys(batches), false, BATCHES_IN_FLIGHT));
        }
        let ranges = run.checkpoint.to_list();
        let nothing_left = matches!(&ranges, Some(r) if r.is_empty());
        let (listing, max_chunks) =
            run.job
                .copier
                .src
                .chunks(ranges, &pass.throttle, pass.page_size);
        Ok((Input::Listing(listing), nothing_left, max_chunks))
    }

    pub async fn next(&mut self) -> Option<Result<Work, ToolError>> {
        match self {
            Input::Listing(l) => l.next().await.map(|c| c.map(Work::Chunk)),
            Input::Keys(k) => k.recv().await.map(|b| b.map(|b| Work::Keys(b.keys))),
        }
    }
}
