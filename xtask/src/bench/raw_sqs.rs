//! A minimal raw SQS sender (std only, unsigned, keep-alive, JSON protocol) used to measure a
//! server's own ceiling for `SendMessageBatch`: what any client could at best achieve against
//! it at a given number of requests in flight.
//!
//! Every request (headers and body, batches of 10 with a fresh id per message) is built before
//! the clock starts; each of `inflight` threads then owns one keep-alive connection and writes
//! its requests one after another, reading each answer just far enough to count the accepted
//! entries. Nothing is signed (fauxqs does not check signatures) and nothing is retried: a
//! rejected entry fails the measurement instead of flattering it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context};

/// Entries per SendMessageBatch (SQS limit).
const BATCH: usize = 10;

fn host_of(endpoint: &str) -> String {
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// A complete HTTP/1.1 request for `AmazonSQS.<op>` with a JSON `body`.
fn request(host: &str, op: &str, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mc-bench-raw\r\n\
         Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.{op}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The SendMessageBatch request for messages `first+1 ..= first+count` (the same body shape as
/// the benchmark's template: `{"id":"<unique>","n":<seq>}`).
fn batch_request(host: &str, queue_url: &str, run: u128, first: usize, count: usize) -> Vec<u8> {
    let mut body = format!("{{\"QueueUrl\":\"{queue_url}\",\"Entries\":[");
    for i in 0..count {
        let seq = first + i + 1;
        if i > 0 {
            body.push(',');
        }
        // A unique id per message, as a UUID-length hex string (no RNG needed).
        let unique = format!("{:032x}", run ^ seq as u128);
        body.push_str(&format!(
            "{{\"Id\":\"{i}\",\"MessageBody\":\"{{\\\"id\\\":\\\"{unique}\\\",\\\"n\\\":{seq}}}\"}}"
        ));
    }
    body.push_str("]}");
    request(host, "SendMessageBatch", &body)
}

/// One keep-alive connection.
struct Conn {
    reader: BufReader<TcpStream>,
    line: String,
    body: Vec<u8>,
}

impl Conn {
    fn connect(host: &str) -> anyhow::Result<Self> {
        let s = TcpStream::connect(host).with_context(|| format!("connecting {host}"))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Self {
            reader: BufReader::with_capacity(16 * 1024, s),
            line: String::new(),
            body: Vec::new(),
        })
    }

    /// Sends one prepared request; returns (status, body).
    fn round_trip(&mut self, req: &[u8]) -> anyhow::Result<(u16, &[u8])> {
        self.reader.get_mut().write_all(req)?;
        self.line.clear();
        self.reader.read_line(&mut self.line)?;
        let status: u16 = self
            .line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {:?}", self.line))?;
        let mut len = None;
        loop {
            self.line.clear();
            self.reader.read_line(&mut self.line)?;
            let l = self.line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse::<usize>().ok();
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked answers are not supported by the raw SQS client");
                }
            }
        }
        let n = len.ok_or_else(|| anyhow!("answer without Content-Length"))?;
        self.body.resize(n, 0);
        self.reader.read_exact(&mut self.body)?;
        Ok((status, &self.body))
    }
}

/// How many entries a SendMessageBatch answer lists as successful (each has a `MessageId`).
fn accepted(body: &[u8]) -> usize {
    const NEEDLE: &[u8] = b"\"MessageId\"";
    body.windows(NEEDLE.len()).filter(|w| *w == NEEDLE).count()
}

/// Purges `queue_url` on `endpoint` (call it on the server itself, not through a proxy).
pub fn purge(endpoint: &str, queue_url: &str) -> anyhow::Result<()> {
    let host = host_of(endpoint);
    let mut c = Conn::connect(&host)?;
    let req = request(
        &host,
        "PurgeQueue",
        &format!("{{\"QueueUrl\":\"{queue_url}\"}}"),
    );
    let (status, body) = c.round_trip(&req)?;
    ensure!(
        status == 200,
        "PurgeQueue returned {status}: {}",
        String::from_utf8_lossy(body)
    );
    Ok(())
}

/// Sends `messages` messages to `queue_url` through `endpoint` in batches of 10 with
/// `inflight` requests in flight; returns the wall time of the sending alone (requests are
/// built and connections opened before the clock starts). Fails unless every message was
/// accepted.
pub fn send_batches(
    endpoint: &str,
    queue_url: &str,
    messages: usize,
    inflight: usize,
) -> anyhow::Result<Duration> {
    let host = host_of(endpoint);
    let batches = messages.div_ceil(BATCH);
    let inflight = inflight.clamp(1, batches.max(1));
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        << 32;
    // Batch b goes to thread b % inflight, so every thread has the same share.
    let mut work: Vec<(Conn, Vec<Vec<u8>>)> = (0..inflight)
        .map(|_| Ok((Conn::connect(&host)?, Vec::new())))
        .collect::<anyhow::Result<_>>()?;
    for b in 0..batches {
        let first = b * BATCH;
        let count = BATCH.min(messages - first);
        work[b % inflight]
            .1
            .push(batch_request(&host, queue_url, run, first, count));
    }
    let start = Instant::now();
    let handles: Vec<_> = work
        .into_iter()
        .map(|(mut conn, reqs)| {
            std::thread::spawn(move || -> anyhow::Result<usize> {
                let mut ok = 0;
                for req in &reqs {
                    let (status, body) = conn.round_trip(req)?;
                    if status != 200 {
                        bail!(
                            "SendMessageBatch returned {status}: {}",
                            String::from_utf8_lossy(body)
                        );
                    }
                    ok += accepted(body);
                }
                Ok(ok)
            })
        })
        .collect();
    let mut sent = 0;
    for h in handles {
        sent += h
            .join()
            .map_err(|_| anyhow!("raw SQS client thread panicked"))??;
    }
    let wall = start.elapsed();
    ensure!(
        sent == messages,
        "raw SQS client: {sent} of {messages} messages accepted"
    );
    Ok(wall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_body_is_valid_json_with_unique_ids() {
        let req = batch_request("h:1", "http://q/1/bench", 7 << 32, 20, 3);
        let text = String::from_utf8(req).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let entries = v["Entries"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        let msg: serde_json::Value =
            serde_json::from_str(entries[2]["MessageBody"].as_str().unwrap()).unwrap();
        assert_eq!(msg["n"], 23);
        assert_ne!(
            entries[0]["MessageBody"], entries[1]["MessageBody"],
            "ids differ"
        );
    }

    #[test]
    fn counts_accepted_entries() {
        let body = br#"{"Successful":[{"Id":"0","MessageId":"a"},{"Id":"1","MessageId":"b"}],"Failed":[]}"#;
        assert_eq!(accepted(body), 2);
    }
}
