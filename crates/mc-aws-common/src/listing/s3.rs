//! [`PageSource`] for an S3 bucket + prefix, through the shared [`Throttle`].

use std::sync::{Arc, Mutex};

use aws_sdk_s3::types::RequestPayer;
use aws_sdk_s3::Client;

use super::entry::{storage_class, Detail, ObjectEntry};
use super::fast_list::{FastList, Read, Slot};
use super::{Page, PageSource};
use crate::error::{describe_sdk_error, ToolError};
use crate::retry::Throttle;

/// Lists `bucket` under `prefix` with ListObjectsV2.
#[derive(Clone)]
pub struct S3Source {
    pub(super) client: Client,
    pub(super) bucket: String,
    pub(super) prefix: String,
    pub(super) throttle: Arc<Throttle>,
    pub(super) page_size: i32,
    detail: Detail,
    pub(super) request_payer: Option<RequestPayer>,
}

impl S3Source {
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
        throttle: Arc<Throttle>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: prefix.into(),
            throttle,
            page_size: 1000,
            detail: Detail::Full,
            request_payer: None,
        }
    }

    /// Sends `x-amz-request-payer: requester` (a requester-pays bucket).
    pub fn requester_pays(mut self, yes: bool) -> Self {
        self.request_payer = yes.then_some(RequestPayer::Requester);
        self
    }

    /// How much of each object to read (default: everything).
    pub fn detail(mut self, detail: Detail) -> Self {
        self.detail = detail;
        self
    }

    /// Keys per request (1..=1000; S3's maximum is 1000).
    pub fn page_size(mut self, n: i32) -> Self {
        self.page_size = n.clamp(1, 1000);
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The same bucket, prefix and settings, listing every version and
    /// delete marker instead.
    pub fn versions(self) -> super::versions::VersionSource {
        super::versions::VersionSource::of(self)
    }

    /// Lists the keys in `(after, upto]` sequentially (for comparing one span of
    /// another bucket in a merge-join). Memory: the keys of the span.
    pub async fn list_span(&self, span: &super::KeyRange) -> Result<Vec<ObjectEntry>, ToolError> {
        let mut out = Vec::new();
        let mut after = span.after.clone();
        loop {
            let page = self.list_page(after.clone(), span.upto.clone()).await?;
            let upto = span.upto.as_deref();
            let mut crossed = false;
            for item in page.items {
                if upto.is_some_and(|u| item.key.as_str() > u) {
                    crossed = true;
                    break;
                }
                after = Some(item.key.clone());
                out.push(item);
            }
            if crossed || !page.truncated || after.as_deref() == upto {
                return Ok(out);
            }
        }
    }
}

fn entry(o: &aws_sdk_s3::types::Object, detail: Detail) -> Option<ObjectEntry> {
    let full = detail == Detail::Full;
    Some(ObjectEntry {
        key: o.key()?.to_string(),
        size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
        etag: match o.e_tag() {
            Some(e) if full => e.trim_matches('"').to_string(),
            _ => String::new(),
        },
        storage_class: o.storage_class().map(|s| storage_class(s.as_str())),
        last_modified: o.last_modified().filter(|_| full).map(|t| t.secs()),
    })
}

impl PageSource for S3Source {
    type Item = ObjectEntry;
    type Error = ToolError;

    fn key(item: &ObjectEntry) -> &str {
        &item.key
    }

    fn prefix(&self) -> &str {
        &self.prefix
    }

    async fn list_page(
        &self,
        start_after: Option<String>,
        upto: Option<String>,
    ) -> Result<Page<ObjectEntry>, ToolError> {
        let prefix = super::narrowed_prefix(&self.prefix, start_after.as_deref(), upto.as_deref());
        let fast: Slot = Arc::new(Mutex::new(None));
        let (prefix, start_after) = (&prefix, &start_after);
        let send = |fast: Option<Slot>| {
            self.throttle.call(move || {
                let request = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .set_prefix(Some(prefix.clone()).filter(|p| !p.is_empty()))
                    .set_start_after(start_after.clone())
                    .max_keys(self.page_size)
                    .set_request_payer(self.request_payer.clone())
                    .customize();
                match fast.clone() {
                    Some(slot) => request.interceptor(FastList::new(slot, self.detail)),
                    None => request,
                }
                .send()
            })
        };
        let describe = |e| describe_sdk_error(&e, &format!("bucket {}", self.bucket));
        let mut out = send(Some(fast.clone())).await.map_err(describe)?;
        let parsed = fast.lock().unwrap_or_else(|e| e.into_inner()).take();
        match parsed {
            Some(Read::Page(page)) => {
                return Ok(Page {
                    items: page.items,
                    truncated: page.truncated,
                })
            }
            // The body was read as it came, not kept: ask again for the SDK.
            Some(Read::Unreadable) => out = send(None).await.map_err(describe)?,
            None => {}
        }
        let items = out
            .contents()
            .iter()
            .filter_map(|o| entry(o, self.detail))
            .collect();
        Ok(Page {
            items,
            truncated: out.is_truncated().unwrap_or(false),
        })
    }

    async fn seed_boundaries(&self) -> Result<Vec<String>, ToolError> {
        let out = self
            .throttle
            .call(|| {
                self.client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .set_prefix(Some(self.prefix.clone()).filter(|p| !p.is_empty()))
                    .delimiter("/")
                    .max_keys(1000)
                    .set_request_payer(self.request_payer.clone())
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &format!("bucket {}", self.bucket)))?;
        Ok(out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_string))
            .collect())
    }
}
