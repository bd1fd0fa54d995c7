//! Hands a ListObjectsV2 response body to [`fast_xml`] instead of the SDK's
//! XML decoder, while the SDK keeps doing everything else (endpoint, signing,
//! errors). An interceptor wraps a 200 response's body; the wrapper reads the
//! page as it arrives (the body itself is not kept, which saves copying each
//! ~220 KB body once), leaves it in a slot for the caller and gives the SDK a
//! tiny stand-in document to decode. If [`fast_xml`] gives up, the slot
//! says so and the caller asks for the page again without this interceptor.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;
use http_body::{Body, Frame};

use super::entry::{Detail, ObjectEntry};
use super::fast_xml::PageReader;
use super::Page;

/// What the last attempt's body was.
#[derive(Debug)]
pub(crate) enum Read {
    Page(Page<ObjectEntry>),
    /// Not a page [`fast_xml`] reads: ask again, for the SDK to decode.
    Unreadable,
}

/// Where the parsed page lands (the last attempt's).
pub(crate) type Slot = Arc<Mutex<Option<Read>>>;

#[derive(Debug)]
pub(crate) struct FastList {
    slot: Slot,
    detail: Detail,
}

impl FastList {
    pub(crate) fn new(slot: Slot, detail: Detail) -> Self {
        Self { slot, detail }
    }
}

impl Intercept for FastList {
    fn name(&self) -> &'static str {
        "FastList"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        if response.status().as_u16() == 200 {
            let inner = std::mem::replace(response.body_mut(), SdkBody::taken());
            *response.body_mut() = SdkBody::from_body_1_x(Parsing {
                inner,
                reader: Some(PageReader::new(self.detail)),
                slot: self.slot.clone(),
            });
        }
        Ok(())
    }
}

/// Reads the body as it arrives; at its end yields the stand-in.
struct Parsing {
    inner: SdkBody,
    /// `None` once the body has ended.
    reader: Option<PageReader>,
    slot: Slot,
}

impl Parsing {
    fn finish(&mut self, reader: PageReader) -> Bytes {
        let (read, truncated) = match reader.finish() {
            Some(page) => {
                let t = page.truncated;
                (Read::Page(page), t)
            }
            None => {
                tracing::debug!("ListObjectsV2: page left to the SDK's XML decoder");
                (Read::Unreadable, false)
            }
        };
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(read);
        Bytes::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <IsTruncated>{truncated}</IsTruncated></ListBucketResult>"
        ))
    }
}

impl Body for Parsing {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            let Some(reader) = this.reader.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    // Trailers (none on ListObjectsV2) are dropped.
                    if let Ok(data) = frame.into_data() {
                        reader.feed(&data);
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    let out = this.reader.take().map(|r| this.finish(r));
                    return Poll::Ready(out.map(|b| Ok(Frame::data(b))));
                }
            }
        }
    }
}
