//! A minimal raw HTTP/1.1 S3 list client (std only, unsigned, keep-alive) used to measure a
//! server's own ceiling: what any client could at best achieve against it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

/// One keep-alive connection.
pub struct RawConn {
    host: String,
    reader: BufReader<TcpStream>,
}

impl RawConn {
    pub fn connect(endpoint: &str) -> anyhow::Result<Self> {
        let host = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let s = TcpStream::connect(&host).with_context(|| format!("connecting {host}"))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Self {
            host,
            reader: BufReader::new(s),
        })
    }

    /// `GET path_and_query`; returns (status, body).
    pub fn get(&mut self, path_and_query: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        self.request("GET", path_and_query, &[])
    }

    /// A bodyless `method path_and_query` (not HEAD: a body is read) with extra `headers`;
    /// returns (status, body).
    pub fn request(
        &mut self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut req = format!(
            "{method} {path_and_query} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mc-bench-raw\r\n",
            self.host
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if method != "GET" {
            req.push_str("Content-Length: 0\r\n");
        }
        req.push_str("\r\n");
        self.reader.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {line:?}"))?;
        let mut len: Option<usize> = None;
        let mut chunked = false;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                if k == "content-length" {
                    len = v.trim().parse().ok();
                } else if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)?;
                if n == 0 {
                    line.clear();
                    self.reader.read_line(&mut line)?;
                    break;
                }
                let start = body.len();
                body.resize(start + n, 0);
                self.reader.read_exact(&mut body[start..])?;
                line.clear();
                self.reader.read_line(&mut line)?;
            }
        } else if let Some(n) = len {
            body.resize(n, 0);
            self.reader.read_exact(&mut body)?;
        } else {
            bail!("response without length");
        }
        Ok((status, body))
    }
}

/// The 256 two-hex-digit prefixes of the model's hex layout, `00/` to `ff/`.
pub fn hex_prefixes() -> Vec<String> {
    (0..256).map(|i| format!("{i:02x}/")).collect()
}

/// `prefixes` dealt round-robin into `n` groups, one per thread of
/// [`parallel_count`].
pub fn round_robin(prefixes: &[String], n: usize) -> Vec<Vec<String>> {
    (0..n)
        .map(|t| prefixes.iter().skip(t).step_by(n).cloned().collect())
        .collect()
}

fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let a = xml.find(&open)? + open.len();
    let b = xml[a..].find(&close)? + a;
    Some(&xml[a..b])
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Counts the keys under `prefix` with ListObjectsV2 pages; returns (keys, pages).
pub fn count_prefix(conn: &mut RawConn, bucket: &str, prefix: &str) -> anyhow::Result<(u64, u64)> {
    let mut keys = 0u64;
    let mut pages = 0u64;
    let mut token: Option<String> = None;
    loop {
        let mut q = format!("/{bucket}?list-type=2&prefix={}", enc(prefix));
        if let Some(t) = &token {
            q.push_str(&format!("&continuation-token={}", enc(t)));
        }
        let (status, body) = conn.get(&q)?;
        if status != 200 {
            bail!("list returned {status}: {}", String::from_utf8_lossy(&body));
        }
        let xml = String::from_utf8_lossy(&body);
        pages += 1;
        keys += tag(&xml, "KeyCount")
            .and_then(|k| k.parse::<u64>().ok())
            .unwrap_or(0);
        if tag(&xml, "IsTruncated") == Some("true") {
            token = tag(&xml, "NextContinuationToken").map(str::to_owned);
            if token.is_none() {
                bail!("truncated page without a continuation token");
            }
        } else {
            return Ok((keys, pages));
        }
    }
}

/// Counts all keys of `groups` (one thread and connection per group); returns (keys, wall).
pub fn parallel_count(
    endpoint: &str,
    bucket: &str,
    groups: &[Vec<String>],
) -> anyhow::Result<(u64, Duration)> {
    let start = Instant::now();
    let handles: Vec<_> = groups
        .iter()
        .cloned()
        .map(|g| {
            let endpoint = endpoint.to_owned();
            let bucket = bucket.to_owned();
            std::thread::spawn(move || -> anyhow::Result<u64> {
                let mut c = RawConn::connect(&endpoint)?;
                let mut n = 0;
                for p in g {
                    n += count_prefix(&mut c, &bucket, &p)?.0;
                }
                Ok(n)
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h
            .join()
            .map_err(|_| anyhow!("raw client thread panicked"))??;
    }
    Ok((total, start.elapsed()))
}
