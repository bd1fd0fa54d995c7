//! `--multipart`: incomplete multipart uploads, whose parts are billed
//! storage that no listing of objects shows.

use std::sync::Arc;

use aws_sdk_s3::primitives::DateTimeFormat;
use aws_sdk_s3::Client;
use futures::{StreamExt, TryStreamExt};
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::listing::KeyRange;
use mc_aws_common::retry::Throttle;
use serde::Serialize;

/// Incomplete multipart uploads under a prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MultipartTally {
    pub uploads: u64,
    /// Parts uploaded so far, over all uploads.
    pub parts: u64,
    /// Bytes of those parts.
    pub bytes: u64,
    /// When the oldest upload was started (RFC 3339).
    pub oldest_initiated: Option<String>,
    #[serde(skip)]
    oldest_secs: Option<i64>,
}

/// One upload to size.
struct Upload {
    key: String,
    id: String,
}

/// Counts the incomplete uploads of `bucket` under `prefix` whose key is in
/// `range` (a `--shard`), with their parts' sizes (ListParts, `concurrency`
/// uploads at once). ListMultipartUploads itself is paged sequentially.
pub async fn count(
    client: &Client,
    throttle: &Arc<Throttle>,
    bucket: &str,
    prefix: &str,
    range: Option<&KeyRange>,
    concurrency: usize,
) -> Result<MultipartTally, ToolError> {
    let what = format!("bucket {bucket}");
    let mut tally = MultipartTally::default();
    let mut key_marker: Option<String> = None;
    let mut id_marker: Option<String> = None;
    loop {
        let out = throttle
            .call(|| {
                client
                    .list_multipart_uploads()
                    .bucket(bucket)
                    .set_prefix(Some(prefix.to_string()).filter(|p| !p.is_empty()))
                    .set_key_marker(key_marker.clone())
                    .set_upload_id_marker(id_marker.clone())
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &what))?;
        let mut uploads = Vec::new();
        for u in out.uploads() {
            let (Some(key), Some(id)) = (u.key(), u.upload_id()) else {
                continue;
            };
            if range.is_some_and(|r| !r.contains(key)) {
                continue;
            }
            tally.uploads += 1;
            if let Some(t) = u.initiated() {
                if tally.oldest_secs.is_none_or(|o| t.secs() < o) {
                    tally.oldest_secs = Some(t.secs());
                    tally.oldest_initiated = t.fmt(DateTimeFormat::DateTime).ok();
                }
            }
            uploads.push(Upload {
                key: key.to_string(),
                id: id.to_string(),
            });
        }
        // Size this page's uploads before the next page: memory stays one page.
        let sizes: Vec<(u64, u64)> = futures::stream::iter(uploads)
            .map(|u| parts_of(client, throttle, bucket, u))
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        for (parts, bytes) in sizes {
            tally.parts += parts;
            tally.bytes += bytes;
        }
        let next = (
            out.next_key_marker().map(str::to_string),
            out.next_upload_id_marker().map(str::to_string),
        );
        if !out.is_truncated().unwrap_or(false) || next.0.is_none() {
            break;
        }
        // Guard against a store that repeats its markers.
        if next.0 == key_marker && next.1 == id_marker {
            break;
        }
        (key_marker, id_marker) = next;
    }
    Ok(tally)
}

/// (parts, bytes) of one upload. An upload completed or aborted meanwhile counts as empty.
async fn parts_of(
    client: &Client,
    throttle: &Arc<Throttle>,
    bucket: &str,
    upload: Upload,
) -> Result<(u64, u64), ToolError> {
    let what = format!("multipart upload of s3://{bucket}/{}", upload.key);
    let mut parts = 0;
    let mut bytes = 0;
    let mut marker: Option<String> = None;
    loop {
        let result = throttle
            .call(|| {
                client
                    .list_parts()
                    .bucket(bucket)
                    .key(&upload.key)
                    .upload_id(&upload.id)
                    .set_part_number_marker(marker.clone())
                    .send()
            })
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                let err = describe_sdk_error(&e, &what);
                if matches!(err, ToolError::NotFound { .. }) {
                    return Ok((parts, bytes));
                }
                return Err(err);
            }
        };
        for p in out.parts() {
            parts += 1;
            bytes += p.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
        }
        let next = out.next_part_number_marker().map(str::to_string);
        if !out.is_truncated().unwrap_or(false) || next.is_none() || next == marker {
            return Ok((parts, bytes));
        }
        marker = next;
    }
}
