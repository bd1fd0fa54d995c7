//! [`PageSource`] for an S3 bucket + prefix, through the shared [`Throttle`].

use std::sync::{Arc, Mutex};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::types::RequestPayer;
use aws_sdk_s3::Client;

use super::entry::{storage_class, Detail, ObjectEntry};
use super::fast_list::{FastList, Read, Slot};
use super::fast_xml::PageReader;
use super::{Page, PageSource};
use crate::error::{describe_sdk_error, ToolError};
use crate::lean::s3::{LeanOp, Route, S3Lean};
use crate::lean::{EndpointCapture, LeanError};
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
    lean: Option<Arc<LeanList>>,
}

/// ListObjectsV2 beside the SDK once an SDK page has shown its route.
struct LeanList {
    op: LeanOp,
    credentials: SharedCredentialsProvider,
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
            lean: None,
        }
    }

    /// Sends the pages after the first beside the SDK, signed with
    /// `credentials` (the provider the client was built with), and reads
    /// them as they arrive. Without a provider every page goes through the
    /// SDK.
    pub fn credentials(mut self, credentials: Option<SharedCredentialsProvider>) -> Self {
        self.lean = credentials.map(|credentials| {
            Arc::new(LeanList {
                op: LeanOp::default(),
                credentials,
            })
        });
        self
    }

    /// Whether pages now go beside the SDK (after the first, when the URL
    /// it sent was understood).
    pub fn is_lean(&self) -> bool {
        self.lean.as_ref().is_some_and(|l| l.op.get().is_some())
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

impl S3Source {
    /// One page through the SDK; `fast`: read by [`fast_xml`] as it arrives
    /// (see [`FastList`]), and the route learned for the lean pages.
    ///
    /// [`fast_xml`]: super::fast_xml
    async fn sdk_page(
        &self,
        prefix: &str,
        start_after: &Option<String>,
        fast: bool,
    ) -> Result<Page<ObjectEntry>, ToolError> {
        let slot: Slot = Arc::new(Mutex::new(None));
        let learn = self.lean.as_ref().filter(|l| fast && !l.op.is_learned());
        let capture = learn.map(|_| EndpointCapture::default());
        let capture = &capture;
        let send = |fast: Option<Slot>| {
            self.throttle.call(move || {
                let mut request = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .set_prefix(Some(prefix.to_string()).filter(|p| !p.is_empty()))
                    .set_start_after(start_after.clone())
                    .max_keys(self.page_size)
                    .set_request_payer(self.request_payer.clone())
                    .customize();
                if let Some(slot) = fast.clone() {
                    request = request.interceptor(FastList::new(slot, self.detail));
                }
                if let Some(c) = capture {
                    request = request.interceptor(c.clone());
                }
                request.send()
            })
        };
        let describe = |e| describe_sdk_error(&e, &format!("bucket {}", self.bucket));
        let mut out = send(fast.then(|| slot.clone())).await.map_err(describe)?;
        if let (Some(lean), Some(capture)) = (learn, capture) {
            let route = Route::of_bucket(capture);
            let credentials = Some(lean.credentials.clone());
            lean.op
                .learn_route(route, self.client.config(), credentials);
        }
        let parsed = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        match parsed {
            Some(Read::Page(page)) => return Ok(page),
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

    /// One page sent beside the SDK and read by [`fast_xml`] as it
    /// arrives; `None` when that reader gives up.
    ///
    /// [`fast_xml`]: super::fast_xml
    async fn lean_page(
        &self,
        lean: &S3Lean,
        route: &Route,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Option<Page<ObjectEntry>>, LeanError> {
        let max_keys = self.page_size.to_string();
        let url = route.bucket_url(&list_params(&max_keys, prefix, start_after));
        let headers: &[(&str, &str)] = match self.request_payer {
            Some(_) => &[("x-amz-request-payer", "requester")],
            None => &[],
        };
        self.throttle
            .call(|| async {
                let mut reader = PageReader::new(self.detail);
                lean.get_streamed(&url, headers, |data| reader.feed(data))
                    .await?;
                Ok(reader.finish())
            })
            .await
    }
}

/// ListObjectsV2's query, in the order the SDK writes it.
pub(crate) fn list_params<'a>(
    max_keys: &'a str,
    prefix: &'a str,
    start_after: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut params = vec![("list-type", "2"), ("max-keys", max_keys)];
    if !prefix.is_empty() {
        params.push(("prefix", prefix));
    }
    if let Some(after) = start_after {
        params.push(("start-after", after));
    }
    params
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
        let Some((lean, route)) = self.lean.as_ref().and_then(|l| l.op.get()) else {
            return self.sdk_page(&prefix, &start_after, true).await;
        };
        match self
            .lean_page(lean, route, &prefix, start_after.as_deref())
            .await
        {
            Ok(Some(page)) => return Ok(page),
            Ok(None) => tracing::debug!("ListObjectsV2: page left to the SDK's XML decoder"),
            // Rotated or expired credentials: the SDK's provider has new
            // ones; so will the next lean page.
            Err(e) if e.is_credentials_refused() => {
                tracing::debug!("credentials refused ({e}); refreshing");
                lean.refresh_credentials().await;
            }
            Err(e) => return Err(e.describe(&format!("bucket {}", self.bucket))),
        }
        self.sdk_page(&prefix, &start_after, false).await
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::lean::sigv4::Signer;
    use mc_testkit::signing::{capturing_s3, credentials, signed_at, SignedRequest};

    /// A lean ListObjectsV2 is the SDK's request, header for header, with
    /// the same signature, whatever the prefix and start key hold.
    #[tokio::test]
    async fn lean_list_signs_as_the_sdk() {
        let awkward = ["", "plain/", "a b/c+d%e?f#g&h=i", "ünï/日本", "~x-_.y*'()!"];
        for (endpoint, path_style) in [
            ("http://127.0.0.1:9", true),
            ("https://s3.eu-west-1.amazonaws.com", false),
        ] {
            let (client, captured) = capturing_s3(endpoint, "eu-west-1", path_style);
            for (prefix, after, payer, max_keys) in [
                ("", None, false, 1000),
                (awkward[1], Some("plain/x y"), true, 1000),
                (awkward[2], Some(awkward[3]), false, 7),
                (awkward[3], None, true, 250),
                (awkward[4], Some(awkward[4]), false, 1),
            ] {
                let sdk = client
                    .list_objects_v2()
                    .bucket("my.bucket-1")
                    .set_prefix(Some(prefix.to_string()).filter(|p| !p.is_empty()))
                    .set_start_after(after.map(str::to_string))
                    .max_keys(max_keys)
                    .set_request_payer(payer.then_some(RequestPayer::Requester))
                    .send()
                    .await;
                assert!(sdk.is_err(), "captured, not sent");
                let sdk = captured.take().unwrap().signed_part();
                let route = Route::of_bucket_url(&sdk.uri, "eu-west-1".into());
                let max_keys = max_keys.to_string();
                let url = route.bucket_url(&list_params(&max_keys, prefix, after));
                let headers: &[(&str, &str)] = match payer {
                    true => &[("x-amz-request-payer", "requester")],
                    false => &[],
                };
                let lean = Signer::default()
                    .signed_request(
                        http::Method::GET,
                        &url,
                        headers,
                        &credentials(),
                        "eu-west-1",
                        signed_at(),
                    )
                    .unwrap();
                assert_eq!(
                    SignedRequest::of(&lean).signed_part(),
                    sdk,
                    "{prefix:?} {after:?}"
                );
            }
        }
    }
}
