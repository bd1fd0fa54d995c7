//! Where reports are read from: the inventory bucket (a side of its own,
//! with its own identity and region) or a local copy of it (`aws s3 sync`
//! of the inventory prefix, or a benchmark's files).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_s3::Client;

use crate::error::{describe_sdk_error, ToolError};
use crate::retry::Throttle;

/// A bucket or a local folder holding reports.
pub enum Store {
    S3 {
        client: Client,
        bucket: String,
        throttle: Arc<Throttle>,
    },
    Local(PathBuf),
}

impl Store {
    /// How the location reads in messages.
    pub fn describe(&self, key: &str) -> String {
        match self {
            Store::S3 { bucket, .. } => format!("s3://{bucket}/{key}"),
            Store::Local(root) => root.join(key).display().to_string(),
        }
    }

    /// The folders right below `prefix` (which ends with `/` or is empty),
    /// as full prefixes ending with `/`.
    pub async fn folders(&self, prefix: &str) -> Result<Vec<String>, ToolError> {
        match self {
            Store::S3 {
                client,
                bucket,
                throttle,
            } => {
                let mut out = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let page = throttle
                        .call(|| {
                            client
                                .list_objects_v2()
                                .bucket(bucket)
                                .prefix(prefix)
                                .delimiter("/")
                                .set_continuation_token(token.clone())
                                .send()
                        })
                        .await
                        .map_err(|e| describe_sdk_error(&e, &self.describe(prefix)))?;
                    out.extend(
                        page.common_prefixes()
                            .iter()
                            .filter_map(|p| p.prefix().map(String::from)),
                    );
                    token = page.next_continuation_token().map(String::from);
                    if token.is_none() {
                        return Ok(out);
                    }
                }
            }
            Store::Local(root) => {
                let dir = root.join(prefix);
                let entries = std::fs::read_dir(&dir).map_err(|e| ToolError::file(&dir, e))?;
                let mut out: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .map(|name| format!("{prefix}{name}/"))
                    .collect();
                out.sort();
                Ok(out)
            }
        }
    }

    /// A small object whole (`None` when it does not exist).
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ToolError> {
        match self {
            Store::S3 {
                client,
                bucket,
                throttle,
            } => {
                let out = throttle
                    .call(|| client.get_object().bucket(bucket).key(key).send())
                    .await;
                let out = match out {
                    Ok(o) => o,
                    Err(e) => {
                        return match describe_sdk_error(&e, &self.describe(key)) {
                            ToolError::NotFound { .. } => Ok(None),
                            other => Err(other),
                        }
                    }
                };
                let body = out.body.collect().await.map_err(|e| ToolError::Service {
                    what: self.describe(key),
                    message: e.to_string(),
                })?;
                Ok(Some(body.into_bytes().to_vec()))
            }
            Store::Local(root) => match std::fs::read(root.join(key)) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(ToolError::file(root.join(key), e)),
            },
        }
    }

    /// The size of an object (`None` when it does not exist).
    pub async fn size(&self, key: &str) -> Result<Option<u64>, ToolError> {
        match self {
            Store::S3 {
                client,
                bucket,
                throttle,
            } => match throttle
                .call(|| client.head_object().bucket(bucket).key(key).send())
                .await
            {
                Ok(h) => Ok(Some(h.content_length().unwrap_or(0).max(0) as u64)),
                Err(e) => match describe_sdk_error(&e, &self.describe(key)) {
                    ToolError::NotFound { .. } => Ok(None),
                    other => Err(other),
                },
            },
            Store::Local(root) => match std::fs::metadata(root.join(key)) {
                Ok(m) => Ok(Some(m.len())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(ToolError::file(root.join(key), e)),
            },
        }
    }

    /// A data file as a blocking reader (call from a blocking thread): a
    /// local file, or the object's body streamed.
    pub async fn open(&self, key: &str) -> Result<Box<dyn Read + Send>, ToolError> {
        match self {
            Store::S3 {
                client,
                bucket,
                throttle,
            } => {
                let out = throttle
                    .call(|| client.get_object().bucket(bucket).key(key).send())
                    .await
                    .map_err(|e| describe_sdk_error(&e, &self.describe(key)))?;
                let body = out.body.into_async_read();
                Ok(Box::new(tokio_util::io::SyncIoBridge::new(body)))
            }
            Store::Local(root) => {
                let path = root.join(key);
                let f = std::fs::File::open(&path).map_err(|e| ToolError::file(&path, e))?;
                Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
            }
        }
    }
}
