//! `mc-s3-model`: the in-memory S3 performance model as a standalone server on 127.0.0.1.
//!
//! ```text
//! mc-s3-model --port 0 --seed-bucket b --seed-keys 200000 --distribution hex --list-latency-ms 100
//! ```
//! prints `listening on http://127.0.0.1:PORT` on stdout once ready and serves until killed.

use std::time::Duration;

use clap::Parser;
use mc_benchkit::s3model::{
    Distribution, LatencyModel, ModelConfig, RateLimits, S3Model, SeedSpec,
};

#[derive(Debug, Parser)]
#[command(
    name = "mc-s3-model",
    about = "In-memory S3 performance model (sorted index, modelled latency, per-prefix rate limits) on 127.0.0.1"
)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Bucket to create and seed (repeatable: each gets the same keys, seeded in order, so
    /// a later one is an up-to-date copy of an earlier one).
    #[arg(long = "seed-bucket")]
    seed_buckets: Vec<String>,
    /// Number of keys to seed into each --seed-bucket.
    #[arg(long, default_value_t = 0)]
    seed_keys: usize,
    /// Key layout: hex (256 hex prefixes), skewed (90% under hot/), flat.
    #[arg(long, default_value = "hex")]
    distribution: Distribution,
    /// Size of each seeded object in bytes.
    #[arg(long, default_value_t = 16)]
    object_size: usize,
    /// Extra empty buckets to create (repeatable).
    #[arg(long = "bucket")]
    buckets: Vec<String>,
    /// ListObjects(V2) page latency.
    #[arg(long, default_value_t = 100)]
    list_latency_ms: u64,
    /// GetObject latency.
    #[arg(long, default_value_t = 25)]
    get_latency_ms: u64,
    /// HeadObject latency.
    #[arg(long, default_value_t = 20)]
    head_latency_ms: u64,
    /// PutObject latency.
    #[arg(long, default_value_t = 30)]
    put_latency_ms: u64,
    /// CopyObject / UploadPartCopy latency.
    #[arg(long, default_value_t = 30)]
    copy_latency_ms: u64,
    /// DeleteObject(s) latency.
    #[arg(long, default_value_t = 20)]
    delete_latency_ms: u64,
    /// Get/PutObjectAcl latency.
    #[arg(long, default_value_t = 20)]
    acl_latency_ms: u64,
    /// Multipart create/upload/complete/abort latency.
    #[arg(long, default_value_t = 30)]
    multipart_latency_ms: u64,
    /// Bucket-level call latency.
    #[arg(long, default_value_t = 20)]
    bucket_latency_ms: u64,
    /// Factor applied to every latency (0 = none).
    #[arg(long, default_value_t = 1.0)]
    latency_scale: f64,
    /// PUT/COPY/POST/DELETE per second per prefix.
    #[arg(long, default_value_t = 3500)]
    write_limit: u32,
    /// GET/HEAD/LIST per second per prefix.
    #[arg(long, default_value_t = 5500)]
    read_limit: u32,
    /// Disable the per-prefix request-rate limits.
    #[arg(long)]
    no_rate_limits: bool,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let ms = Duration::from_millis;
    let config = ModelConfig {
        latency: LatencyModel {
            list: ms(a.list_latency_ms),
            get: ms(a.get_latency_ms),
            head: ms(a.head_latency_ms),
            put: ms(a.put_latency_ms),
            copy: ms(a.copy_latency_ms),
            delete: ms(a.delete_latency_ms),
            get_acl: ms(a.acl_latency_ms),
            put_acl: ms(a.acl_latency_ms),
            multipart: ms(a.multipart_latency_ms),
            bucket: ms(a.bucket_latency_ms),
        },
        scale: a.latency_scale,
        rate_limits: (!a.no_rate_limits).then_some(RateLimits {
            write_per_sec: a.write_limit,
            read_per_sec: a.read_limit,
        }),
        port: a.port,
        check_signatures: None,
    };
    let model = S3Model::start(config).await?;
    for b in &a.buckets {
        model.create_bucket(b)?;
    }
    for bucket in &a.seed_buckets {
        let n = model.seed(&SeedSpec {
            bucket: bucket.clone(),
            keys: a.seed_keys,
            distribution: a.distribution,
            object_size: a.object_size,
        })?;
        eprintln!("seeded {n} keys into {bucket}");
    }
    println!("listening on {}", model.endpoint());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    drop(model);
    Ok(())
}
