//! `mc-raw-s3`: the wire's floor for per-key S3 requests, a peer in `cargo
//! xtask bench`. It sends what acl-reconciler sends per key (GetObjectAcl on
//! each bucket, compared), or what s3-copier sends (GetObjectAcl, then
//! CopyObject with the owner's grant), and nothing else: no listing (the keys
//! are the model's own), no signing, no retries, no pool logic beyond one
//! keep-alive connection per request in flight, HTTP/1.1 read by hand. Its
//! CPU per key is what the kernel's loopback, the runtime and the bytes on
//! the wire cost on this machine, against which the tools' CPU per key is
//! read.
//!
//! ```text
//! mc-raw-s3 --endpoint http://127.0.0.1:PORT --acl-of src --acl-of dst --keys 20000 -j 256
//! mc-raw-s3 --endpoint http://127.0.0.1:PORT --acl-of src --copy-to dst --keys 20000 -j 256
//! ```
//! prints `equal=E` (keys whose ACL answers were the same bytes), then
//! `reads=N` and, when copying, `copied=N`.

use std::cell::Cell;

use anyhow::{bail, ensure, Context};
use clap::Parser;
use mc_benchkit::s3model::Distribution;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Parser)]
#[command(
    name = "mc-raw-s3",
    about = "The wire's floor: unsigned GetObjectAcl per key on the S3 model, over raw HTTP/1.1"
)]
struct Args {
    /// The model's endpoint (`http://127.0.0.1:PORT`).
    #[arg(long)]
    endpoint: String,
    /// A bucket whose ACL is read for every key (repeatable; path style).
    #[arg(long = "acl-of", required = true)]
    buckets: Vec<String>,
    /// Copies every key of the first `--acl-of` bucket here (CopyObject
    /// granting full control to the owner its ACL named).
    #[arg(long)]
    copy_to: Option<String>,
    /// Keys 0..N of the model's seeded layout.
    #[arg(long)]
    keys: usize,
    /// The layout the model was seeded with.
    #[arg(long, default_value = "hex")]
    distribution: Distribution,
    /// Requests in flight (one connection each).
    #[arg(short = 'j', long, default_value_t = 256)]
    connections: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let host = args
        .endpoint
        .strip_prefix("http://")
        .context("the endpoint must be http://HOST:PORT")?
        .trim_end_matches('/')
        .to_owned();
    // The same runtime as the tools': one thread.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let next = Cell::new(0);
    let equal = Cell::new(0usize);
    let worker = || async {
        let mut conn = Conn::open(&host).await?;
        let mut bodies: Vec<Vec<u8>> = vec![Vec::new(); args.buckets.len()];
        loop {
            let i = next.get();
            if i >= args.keys {
                return anyhow::Ok(());
            }
            next.set(i + 1);
            let key = args.distribution.key(i);
            for (bucket, body) in args.buckets.iter().zip(&mut bodies) {
                conn.get_acl(bucket, &key, body).await?;
            }
            if bodies.windows(2).all(|w| w[0] == w[1]) {
                equal.set(equal.get() + 1);
            }
            if let Some(dst) = &args.copy_to {
                let owner = between(&bodies[0], b"<ID>", b"</ID>").context("no owner")?;
                conn.copy(&args.buckets[0], dst, &key, owner).await?;
            }
        }
    };
    let workers = (0..args.connections.max(1)).map(|_| worker());
    rt.block_on(futures::future::try_join_all(workers))?;
    let reads = args.keys * args.buckets.len();
    println!("equal={}", equal.get());
    println!("reads={reads}");
    if args.copy_to.is_some() {
        println!("copied={}", args.keys);
    }
    Ok(())
}

/// One keep-alive connection: a request written whole, its answer read by
/// `Content-Length`.
struct Conn<'a> {
    host: &'a str,
    stream: TcpStream,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl<'a> Conn<'a> {
    async fn open(host: &'a str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(host)
            .await
            .with_context(|| format!("connecting to {host}"))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            host,
            stream,
            request: Vec::with_capacity(256),
            buf: Vec::with_capacity(8192),
        })
    }

    /// GetObjectAcl of `bucket`/`key` (keys of the model's layouts need no
    /// escaping); the body into `body`.
    async fn get_acl(&mut self, bucket: &str, key: &str, body: &mut Vec<u8>) -> anyhow::Result<()> {
        let head = [
            "GET /",
            bucket,
            "/",
            key,
            "?acl HTTP/1.1\r\nHost: ",
            self.host,
        ];
        self.exchange(&head, &[], body).await
    }

    /// CopyObject of `src`/`key` to `dst`/`key`, full control to `owner`.
    async fn copy(&mut self, src: &str, dst: &str, key: &str, owner: &[u8]) -> anyhow::Result<()> {
        let head = [
            "PUT /",
            dst,
            "/",
            key,
            " HTTP/1.1\r\nHost: ",
            self.host,
            "\r\nx-amz-copy-source: /",
            src,
            "/",
            key,
            "\r\nx-amz-grant-full-control: id=\"",
        ];
        let mut body = Vec::new();
        self.exchange(&head, owner, &mut body).await
    }

    /// Writes the request `head` (then `tail` and the closing quote of a
    /// grant, when given) and reads the answer's body into `body`.
    async fn exchange(
        &mut self,
        head: &[&str],
        tail: &[u8],
        body: &mut Vec<u8>,
    ) -> anyhow::Result<()> {
        self.request.clear();
        for part in head {
            self.request.extend_from_slice(part.as_bytes());
        }
        if !tail.is_empty() {
            self.request.extend_from_slice(tail);
            self.request.push(b'"');
        }
        self.request
            .extend_from_slice(b"\r\nUser-Agent: mc-raw-s3\r\nContent-Length: 0\r\n\r\n");
        self.stream.write_all(&self.request).await?;
        let (status, start, len) = self.read_head().await?;
        while self.buf.len() < start + len {
            self.fill().await?;
        }
        let answer = &self.buf[start..start + len];
        ensure!(
            status == 200 && !answer.windows(7).any(|w| w == b"<Error>"),
            "{}: HTTP {status}: {}",
            head[..4].concat(),
            String::from_utf8_lossy(answer)
        );
        body.clear();
        body.extend_from_slice(answer);
        self.buf.drain(..start + len);
        Ok(())
    }

    /// The status, where the body starts and its length.
    async fn read_head(&mut self) -> anyhow::Result<(u16, usize, usize)> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end])?;
                let status = head
                    .get(9..12)
                    .and_then(|s| s.parse().ok())
                    .context("no status line")?;
                let mut len = None;
                for line in head.split("\r\n").skip(1) {
                    let (name, value) = line.split_once(':').context("bad header")?;
                    if name.eq_ignore_ascii_case("content-length") {
                        len = Some(value.trim().parse()?);
                    } else if name.eq_ignore_ascii_case("transfer-encoding") {
                        bail!("a chunked answer: not read here");
                    }
                }
                return Ok((status, end + 4, len.context("no Content-Length")?));
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await?;
        ensure!(n > 0, "the connection closed mid-answer");
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The bytes between the first `open` and the `close` after it.
fn between<'h>(hay: &'h [u8], open: &[u8], close: &[u8]) -> Option<&'h [u8]> {
    let start = find(hay, open)? + open.len();
    let len = find(&hay[start..], close)?;
    Some(&hay[start..start + len])
}
