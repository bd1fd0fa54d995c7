//! The application's data: deterministic objects of mixed sizes with awkward
//! keys, metadata and a mix of private and public-read ACLs; the initial
//! upload; the writer that keeps going while the migration runs; and the
//! moderation that changes ACLs behind the copy's back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use futures::StreamExt;
use mc_testkit::aws_sdk_s3::primitives::ByteStream;
use mc_testkit::aws_sdk_s3::types::ObjectCannedAcl;
use mc_testkit::aws_sdk_s3::Client;
use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle, JoinSet};

use super::cloud::sdk_error;

/// `PutObject` calls in flight during the initial upload.
const UPLOAD_CONCURRENCY: usize = 32;
/// Most writes the application has in flight at once.
const APP_CONCURRENCY: usize = 8;

/// Every object the demo writes, the `i`-th of its series.
#[derive(Debug, Clone)]
pub(crate) struct ObjectSpec {
    pub key: String,
    pub size: usize,
    pub public: bool,
    pub content_type: &'static str,
    pub uploader: String,
}

/// SplitMix64: cheap, deterministic, good enough to spread sizes and ACLs.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const KIB: u64 = 1024;

impl ObjectSpec {
    /// Object `i`, with `prefix` in front of its key ("" for the initial
    /// upload, "live/" for the application's writes during the migration).
    pub(crate) fn new(i: u64, prefix: &str) -> Self {
        let r = mix(i);
        let between = |lo: u64, hi: u64| lo + mix(r) % (hi - lo);
        let (key, content_type, size) = match i % 6 {
            0 => (
                format!("photos/{}/{:02}/IMG_{i:05}.jpg", 2013 + r % 3, 1 + r % 12),
                "image/jpeg",
                between(16 * KIB, 128 * KIB),
            ),
            1 => (
                format!("avatars/{:02x}/user {i} profile.png", r % 256),
                "image/png",
                between(2 * KIB, 16 * KIB),
            ),
            2 => (
                format!("creations/café/😀 sticker {i:05}.gif"),
                "image/gif",
                between(KIB, 8 * KIB),
            ),
            3 => (
                format!("uploads/a+b%2F{i}?v=1 (copy).jpg"),
                "image/jpeg",
                between(4 * KIB, 64 * KIB),
            ),
            4 => (
                format!("thumbs/{:02x}/{i:05}_128x128.jpg", r % 256),
                "image/jpeg",
                between(KIB, 4 * KIB),
            ),
            _ => (
                format!("docs/report #{i} – final.pdf"),
                "application/pdf",
                between(8 * KIB, 96 * KIB),
            ),
        };
        // Now and then a big one (a short video).
        let size = if i % 400 == 399 {
            1024 * KIB + size
        } else {
            size
        };
        Self {
            key: format!("{prefix}{key}"),
            size: usize::try_from(size).unwrap_or(usize::MAX),
            public: (r >> 8) % 10 < 3,
            content_type,
            uploader: format!("user-{}", r % 997),
        }
    }

    /// Content: the key, then filler; unique per object so ETags differ.
    fn body(&self) -> Vec<u8> {
        let mut body = format!("{}\n", self.key).into_bytes();
        let fill = b'a' + (mix(self.size as u64) % 26) as u8;
        body.resize(self.size.max(body.len()), fill);
        body
    }

    /// Upload it the way the application does: content type, cache control,
    /// user metadata, and `public-read` for public objects.
    pub(crate) async fn put(&self, s3: &Client, bucket: &str) -> Result<()> {
        let mut put = s3
            .put_object()
            .bucket(bucket)
            .key(&self.key)
            .content_type(self.content_type)
            .cache_control("max-age=86400")
            .metadata("uploader", &self.uploader)
            .metadata("origin", "popjam-us")
            .body(ByteStream::from(self.body()));
        if self.public {
            put = put.acl(ObjectCannedAcl::PublicRead);
        }
        put.send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("PutObject s3://{bucket}/{}", self.key))?;
        Ok(())
    }
}

/// What was written: objects, bytes, how many public.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Written {
    pub objects: u64,
    pub bytes: u64,
    pub public: u64,
}

impl Written {
    fn add(&mut self, spec: &ObjectSpec) {
        self.objects += 1;
        self.bytes += spec.size as u64;
        self.public += u64::from(spec.public);
    }
}

/// Upload objects `0..n` concurrently.
pub(crate) async fn upload(s3: &Client, bucket: &str, n: u64) -> Result<Written> {
    let mut written = Written::default();
    let puts = (0..n).map(|i| async move {
        let spec = ObjectSpec::new(i, "");
        spec.put(s3, bucket).await.map(|()| spec)
    });
    let mut results = futures::stream::iter(puts).buffer_unordered(UPLOAD_CONCURRENCY);
    while let Some(result) = results.next().await {
        written.add(&result?);
    }
    Ok(written)
}

/// The application: writes new objects under `live/` at a steady rate until
/// it is switched over to the new bucket.
pub(crate) struct Application {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Written>>,
    objects: Arc<AtomicU64>,
    first_error: Arc<Mutex<Option<String>>>,
    started: Instant,
}

impl Application {
    pub(crate) fn start(s3: Client, bucket: String, first: u64, per_second: u32) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let objects = Arc::new(AtomicU64::new(0));
        let first_error = Arc::new(Mutex::new(None));
        let (count, errors) = (objects.clone(), first_error.clone());
        let task = tokio::spawn(async move {
            let mut written = Written::default();
            let mut in_flight = JoinSet::new();
            let mut record = |done: Result<Result<ObjectSpec>, JoinError>| match done {
                Ok(Ok(spec)) => {
                    written.add(&spec);
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Err(e)) => {
                    let mut first = errors.lock().unwrap_or_else(|p| p.into_inner());
                    first.get_or_insert_with(|| format!("{e:#}"));
                }
                Err(e) => {
                    let mut first = errors.lock().unwrap_or_else(|p| p.into_inner());
                    first.get_or_insert_with(|| format!("a write task failed: {e}"));
                }
            };
            // A steady rate however slow one write is, like many users would.
            let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second.max(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut next = first;
            'writing: loop {
                tokio::select! {
                    _ = stopped.changed() => break 'writing,
                    Some(done) = in_flight.join_next(), if !in_flight.is_empty() => record(done),
                    _ = tick.tick(), if in_flight.len() < APP_CONCURRENCY => {
                        let spec = ObjectSpec::new(next, "live/");
                        next += 1;
                        let (s3, bucket) = (s3.clone(), bucket.clone());
                        in_flight.spawn(async move { spec.put(&s3, &bucket).await.map(|()| spec) });
                    }
                }
            }
            while let Some(done) = in_flight.join_next().await {
                record(done);
            }
            written
        });
        Self {
            stop,
            task: Some(task),
            objects,
            first_error,
            started: Instant::now(),
        }
    }

    /// Objects written so far.
    pub(crate) fn objects(&self) -> u64 {
        self.objects.load(Ordering::Relaxed)
    }

    /// Stop writing (after the writes in progress); what was written, and for how long.
    /// A failed write is an error: the application lost data.
    pub(crate) async fn stop(mut self) -> Result<(Written, Duration)> {
        let _ = self.stop.send(true);
        let task = self
            .task
            .take()
            .ok_or_else(|| anyhow!("the application was already stopped"))?;
        let written = task.await.context("the application's writer panicked")?;
        let elapsed = self.started.elapsed();
        if let Some(e) = self
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(anyhow!("the application failed to write: {e}"));
        }
        Ok((written, elapsed))
    }
}

impl Drop for Application {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Moderation: `count` public objects of the initial upload become private
/// (reported content) and `count` private ones become public-read
/// (approved), spread evenly over the bucket. Returns the changed keys
/// (made private, made public).
pub(crate) async fn moderate(
    s3: &Client,
    bucket: &str,
    n: u64,
    count: usize,
) -> Result<(Vec<String>, Vec<String>)> {
    let specs: Vec<ObjectSpec> = (0..n).map(|i| ObjectSpec::new(i, "")).collect();
    let pick = |public: bool| -> Vec<String> {
        let pool: Vec<&ObjectSpec> = specs.iter().filter(|s| s.public == public).collect();
        let step = (pool.len() / count.max(1)).max(1);
        pool.iter()
            .step_by(step)
            .take(count)
            .map(|s| s.key.clone())
            .collect()
    };
    let (hide, show) = (pick(true), pick(false));
    let changes = hide
        .iter()
        .map(|k| (k, ObjectCannedAcl::Private))
        .chain(show.iter().map(|k| (k, ObjectCannedAcl::PublicRead)))
        .map(|(key, acl)| async move {
            s3.put_object_acl()
                .bucket(bucket)
                .key(key)
                .acl(acl)
                .send()
                .await
                .map_err(sdk_error)
                .with_context(|| format!("PutObjectAcl s3://{bucket}/{key}"))
        });
    let mut results = futures::stream::iter(changes).buffer_unordered(UPLOAD_CONCURRENCY);
    while let Some(r) = results.next().await {
        r?;
    }
    drop(results);
    Ok((hide, show))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_deterministic_and_mixed() {
        let a: Vec<ObjectSpec> = (0..600).map(|i| ObjectSpec::new(i, "")).collect();
        let b: Vec<ObjectSpec> = (0..600).map(|i| ObjectSpec::new(i, "")).collect();
        assert!(a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.key == y.key && x.size == y.size));
        let public = a.iter().filter(|s| s.public).count();
        assert!((100..300).contains(&public), "about 30% public: {public}");
        assert!(a.iter().any(|s| s.key.contains(' ')));
        assert!(a.iter().any(|s| s.key.contains('😀')));
        assert!(a.iter().any(|s| s.size > 1024 * 1024));
        let keys: std::collections::BTreeSet<&str> = a.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys.len(), a.len(), "keys are unique");
    }

    #[test]
    fn live_objects_have_their_own_prefix() {
        assert!(ObjectSpec::new(7, "live/").key.starts_with("live/"));
        assert_eq!(
            ObjectSpec::new(7, "").body().len(),
            ObjectSpec::new(7, "").size
        );
    }
}
