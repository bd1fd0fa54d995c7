//! Hands a ListObjectsV2 response body to [`fast_xml`] instead of the SDK's
//! XML decoder, while the SDK keeps doing everything else (endpoint, signing,
//! errors). An interceptor wraps a 200 response's body; when the body ends,
//! the wrapper parses it, leaves the page in a slot for the caller and gives
//! the SDK a tiny stand-in document to decode. If [`fast_xml`] gives up, the
//! SDK gets the original bytes and the slot stays empty.

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

use super::entry::Detail;
use super::fast_xml::{self, FastPage};

/// Where the parsed page lands (the last successful attempt's).
pub(crate) type Slot = Arc<Mutex<Option<FastPage>>>;

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
            // One allocation for the whole page (~220 KB for 1000 keys).
            let length = response
                .headers()
                .get("content-length")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(0);
            let inner = std::mem::replace(response.body_mut(), SdkBody::taken());
            *response.body_mut() = SdkBody::from_body_1_x(Parsing {
                inner,
                buf: Vec::with_capacity(length.min(4 << 20)),
                slot: self.slot.clone(),
                detail: self.detail,
                done: false,
            });
        }
        Ok(())
    }
}

/// Collects the body; at its end yields either the stand-in or the original.
struct Parsing {
    inner: SdkBody,
    buf: Vec<u8>,
    slot: Slot,
    detail: Detail,
    done: bool,
}

impl Parsing {
    fn finish(&mut self) -> Bytes {
        let buf = std::mem::take(&mut self.buf);
        match fast_xml::parse_with(&buf, self.detail) {
            Some(page) => {
                let stand_in = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                     <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                     <IsTruncated>{}</IsTruncated></ListBucketResult>",
                    page.truncated
                );
                *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(page);
                Bytes::from(stand_in)
            }
            None => {
                tracing::debug!("ListObjectsV2: page left to the SDK's XML decoder");
                Bytes::from(buf)
            }
        }
    }
}

impl Body for Parsing {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    // Trailers (none on ListObjectsV2) are dropped.
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    self.done = true;
                    let out = self.finish();
                    return Poll::Ready(Some(Ok(Frame::data(out))));
                }
            }
        }
    }
}
