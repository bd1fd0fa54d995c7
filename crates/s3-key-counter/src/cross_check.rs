//! `--cross-check N`: how far the bucket has moved since its inventory
//! report. N narrow key ranges are picked from the report's sample of keys
//! (each between two neighbouring sampled keys, about total/65,536 keys
//! wide); the report is read a second time for its rows in those ranges,
//! the same ranges are listed live, and the two are merge-joined: keys
//! added, removed and changed since the report, and, scaled by the share of
//! the report the ranges hold, the drift of the whole bucket.

use std::sync::Arc;

use futures::StreamExt;
use mc_aws_common::error::ToolError;
use mc_aws_common::inventory::Report;
use mc_aws_common::listing::s3::S3Source;
use mc_aws_common::listing::{Detail, KeyRange, ObjectEntry};
use mc_aws_common::s3url::S3Url;
use mc_aws_common::twosided::{merge_join, Folders, Joined};
use serde::Serialize;

use crate::from_inventory::files_at_once;
use crate::splits::KeySample;

/// What the cross-check found.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Drift {
    /// Ranges compared.
    pub ranges: usize,
    /// Keys the report has in them, and the bucket now.
    pub report_keys: u64,
    pub live_keys: u64,
    /// Since the report: keys that are new, gone, or of another size or ETag.
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    /// The share of the report's keys the ranges hold.
    pub share: f64,
    /// The same for the whole bucket, extrapolated from the ranges.
    pub estimated_added: u64,
    pub estimated_removed: u64,
    pub estimated_changed: u64,
}

/// Compares `n` ranges of `report` with the bucket now, listing through
/// `source` (the URL's bucket and prefix). `total` is the number of keys the
/// count found in the report.
pub async fn run(
    report: &Arc<Report>,
    url: &S3Url,
    sample: KeySample,
    n: usize,
    total: u64,
    source: &S3Source,
) -> Result<Drift, ToolError> {
    let ranges = pick_ranges(sample.sorted(), n);
    let from_report = rows_in(report, url, &ranges).await?;
    let live: Vec<Vec<ObjectEntry>> = futures::stream::iter(&ranges)
        .map(|r| source.list_span(r))
        .buffered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    // The same place at two times: no folder mapping.
    let same = Folders {
        source: url.clone(),
        dest: url.clone(),
    };
    let mut d = Drift {
        ranges: ranges.len(),
        ..Drift::default()
    };
    for (then, now) in from_report.iter().zip(&live) {
        d.report_keys += then.len() as u64;
        d.live_keys += now.len() as u64;
        for j in merge_join(then, now, &same) {
            match j {
                Joined::SourceOnly(_) => d.removed += 1,
                Joined::DestOnly(_) => d.added += 1,
                Joined::Both(a, b) if changed(a, b) => d.changed += 1,
                Joined::Both(..) => {}
            }
        }
    }
    d.share = if total > 0 {
        d.report_keys as f64 / total as f64
    } else {
        0.0
    };
    let scale = |x: u64| {
        if d.share > 0.0 {
            (x as f64 / d.share).round() as u64
        } else {
            x
        }
    };
    d.estimated_added = scale(d.added);
    d.estimated_removed = scale(d.removed);
    d.estimated_changed = scale(d.changed);
    Ok(d)
}

/// Whether the object is another since the report: another size, or
/// another ETag when the report has ETags (an inventory need not).
fn changed(then: &ObjectEntry, now: &ObjectEntry) -> bool {
    then.size != now.size || (!then.etag.is_empty() && then.etag != now.etag)
}

/// `n` ranges between neighbouring sampled keys, spread evenly over the
/// sample (sorted and disjoint).
fn pick_ranges(sorted: Vec<String>, n: usize) -> Vec<KeyRange> {
    if sorted.len() < 2 || n == 0 {
        return vec![KeyRange::all()];
    }
    let step = ((sorted.len() - 1) / n).max(1);
    (0..sorted.len() - 1)
        .step_by(step)
        .take(n)
        .map(|i| KeyRange::new(Some(sorted[i].clone()), Some(sorted[i + 1].clone())))
        .collect()
}

/// The report's current objects in each range (sorted by key).
async fn rows_in(
    report: &Arc<Report>,
    url: &S3Url,
    ranges: &[KeyRange],
) -> Result<Vec<Vec<ObjectEntry>>, ToolError> {
    let mut out = vec![Vec::new(); ranges.len()];
    let mut rows = report.rows(Detail::Full, files_at_once());
    while let Some(batch) = rows.recv().await {
        for row in batch? {
            let key = &row.entry.key;
            if !row.is_latest || row.is_delete_marker || !key.starts_with(url.prefix.as_str()) {
                continue;
            }
            // Ranges are sorted and disjoint: the first whose end is at or past the key.
            let i = ranges.partition_point(|r| r.upto.as_ref().is_some_and(|u| u < key));
            if ranges.get(i).is_some_and(|r| r.contains(key)) {
                out[i].push(row.entry);
            }
        }
    }
    for keys in &mut out {
        keys.sort_by(|a, b| a.key.cmp(&b.key));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_spread_over_the_sample() {
        let sample: Vec<String> = (0..100).map(|i| format!("k{i:03}")).collect();
        let r = pick_ranges(sample, 4);
        assert_eq!(r.len(), 4);
        assert_eq!(
            r[0],
            KeyRange::new(Some("k000".into()), Some("k001".into()))
        );
        assert_eq!(r[1].after.as_deref(), Some("k024"));
        assert!(r.windows(2).all(|w| w[0].upto <= w[1].after));
        assert_eq!(pick_ranges(vec!["a".into()], 3), vec![KeyRange::all()]);
    }
}
