//! Counting one `s3://bucket/prefix` with the sharded lister.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::config::SharedCredentialsProvider;
use aws_sdk_s3::Client;
use indicatif::ProgressBar;
use mc_aws_common::error::ToolError;
use mc_aws_common::listing::s3::S3Source;
use mc_aws_common::listing::Detail;
use mc_aws_common::listing::{self, KeyRange, ListOptions, PageSource};
use mc_aws_common::retry::{StatsSnapshot, Throttle};
use mc_aws_common::s3url::S3Url;

use crate::multipart::{self, MultipartTally};
use crate::splits::SplitRecorder;
use crate::tally::{Countable, PrefixGrouping, Tally};
use mc_aws_common::interrupt::Interrupt;

/// How to count.
#[derive(Debug, Clone)]
pub struct CountOptions {
    /// Cursors listing at once.
    pub concurrency: usize,
    /// Keys per list request (1..=1000).
    pub page_size: i32,
    /// Only this part of the key space (`--shard`).
    pub range: Option<KeyRange>,
    /// `--by-prefix DEPTH` with its delimiter.
    pub by_prefix: Option<(usize, String)>,
    pub by_storage_class: bool,
    /// List versions and delete markers (ListObjectVersions).
    pub versions: bool,
    /// Also count incomplete multipart uploads.
    pub multipart: bool,
    /// Record per-chunk counts for `--emit-splits`.
    pub record_splits: bool,
}

/// The result of counting one URL.
#[derive(Debug)]
pub struct Count {
    pub url: S3Url,
    pub tally: Tally,
    pub multipart: Option<MultipartTally>,
    pub elapsed: Duration,
    pub requests: StatsSnapshot,
    pub splits: Option<SplitRecorder>,
    /// Stopped by SIGINT/SIGTERM: the numbers are what was counted so far.
    pub interrupted: bool,
    /// Counted from an inventory report (`--inventory`): which, how old.
    pub inventory: Option<crate::from_inventory::ReportInfo>,
}

impl Count {
    /// Entries listed per second.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.tally.total.entries() as f64 / secs
        } else {
            0.0
        }
    }
}

impl CountOptions {
    /// An empty tally with the breakdowns asked for, prefixes below `url`'s.
    pub fn tally(&self, url: &S3Url) -> Tally {
        let grouping = self
            .by_prefix
            .as_ref()
            .map(|(depth, delimiter)| PrefixGrouping {
                base: url.prefix.clone(),
                depth: *depth,
                delimiter: delimiter.clone(),
            });
        Tally::new(grouping, self.by_storage_class)
    }
}

/// Counts `url` with `client` (bound to the bucket's region), built with
/// `credentials`.
pub async fn count_url(
    client: Client,
    credentials: Option<SharedCredentialsProvider>,
    throttle: Arc<Throttle>,
    url: S3Url,
    opts: &CountOptions,
    progress: &ProgressBar,
    stop: &Interrupt,
) -> Result<Count, ToolError> {
    let start = Instant::now();
    let tally = opts.tally(&url);
    let multipart = async {
        if opts.multipart {
            let counted = multipart::count(
                &client,
                &throttle,
                &url.bucket,
                &url.prefix,
                opts.range.as_ref(),
                opts.concurrency,
            );
            tokio::select! {
                r = counted => r.map(Some),
                // Interrupted: no partial upload count (it is not summable).
                () = stop.wait() => Ok(None),
            }
        } else {
            Ok(None)
        }
    };
    let listed = async {
        if opts.versions {
            let source = S3Source::new(
                client.clone(),
                url.bucket.clone(),
                url.prefix.clone(),
                throttle.clone(),
            )
            .page_size(opts.page_size)
            .versions();
            drain(source, tally, opts, progress, stop).await
        } else {
            let source = S3Source::new(
                client.clone(),
                url.bucket.clone(),
                url.prefix.clone(),
                throttle.clone(),
            )
            .page_size(opts.page_size)
            .detail(Detail::Counts)
            .credentials(credentials);
            drain(source, tally, opts, progress, stop).await
        }
    };
    let ((tally, splits, interrupted), multipart) = futures::try_join!(listed, multipart)?;
    Ok(Count {
        url,
        tally,
        multipart,
        elapsed: start.elapsed(),
        requests: throttle.stats(),
        splits,
        interrupted,
        inventory: None,
    })
}

/// Runs the lister over `source` and tallies every chunk as it arrives.
async fn drain<S>(
    source: S,
    mut tally: Tally,
    opts: &CountOptions,
    progress: &ProgressBar,
    stop: &Interrupt,
) -> Result<(Tally, Option<SplitRecorder>, bool), ToolError>
where
    S: PageSource<Error = ToolError>,
    S::Item: Countable,
{
    let mut recorder = opts.record_splits.then(SplitRecorder::new);
    let mut listing = listing::list(
        source,
        ListOptions {
            concurrency: opts.concurrency.max(1),
            ranges: opts.range.clone().map(|r| vec![r]),
            // On one thread the tally keeps up page by page: a few chunks
            // ahead is enough, and more would only hold memory.
            buffer: 16,
        },
    );
    let signal = stop.wait();
    tokio::pin!(signal);
    loop {
        let chunk = tokio::select! {
            // The requests in flight are dropped with the lister: they only read.
            () = &mut signal => return Ok((tally, recorder, true)),
            next = listing.next() => match next {
                Some(chunk) => chunk?,
                None => break,
            },
        };
        for item in &chunk.items {
            tally.add(item);
        }
        let n = chunk.items.len() as u64;
        if let Some(r) = &mut recorder {
            r.record(&chunk.span, n);
        }
        progress.inc(n);
    }
    Ok((tally, recorder, false))
}
