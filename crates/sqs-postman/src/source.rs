//! Generating messages lazily and packing them into batches within the SQS limits.
//!
//! One generator task renders messages (from a template repeated `--total`
//! times, or one per input line), packs them into batches of at most 10
//! entries and [`BATCH_MAX_BYTES`], paces them for `--rate`, and hands them to
//! the producers through a bounded channel: memory stays constant whatever
//! the number of messages.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::mpsc;

use crate::batch::{push_json_str, BatchEntry, BATCH_MAX_BYTES, BATCH_MAX_ENTRIES};
use crate::cli::{AttrType, AttributeArg};
use crate::control::Control;
use crate::report::Tally;
use crate::template::{Template, TemplateError};
/// With `--rate`, a batch is sent once its first message has waited this long.
const MAX_BATCH_WAIT: Duration = Duration::from_millis(50);
/// With `--rate`, falling further behind than this resets the schedule instead of bursting.
const MAX_LAG: Duration = Duration::from_secs(1);
/// How many rejected input lines are logged one by one.
const MAX_LOGGED_REJECTS: u64 = 10;

/// FIFO message groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Groups {
    Fixed(String),
    RoundRobin { prefix: String, k: u64 },
    PerMessage { prefix: String },
}

impl Groups {
    fn id(&self, seq: u64) -> String {
        match self {
            Groups::Fixed(g) => g.clone(),
            Groups::RoundRobin { prefix, k } => format!("{prefix}-{}", (seq - 1) % k),
            Groups::PerMessage { prefix } => format!("{prefix}-{seq}"),
        }
    }
}

/// FIFO settings: groups and a deduplication id unique per message copy
/// (`RUN-SEQ`), stable across resends so a retried entry is not duplicated.
#[derive(Debug, Clone)]
pub struct Fifo {
    pub groups: Groups,
    pub run_id: String,
}

struct Attribute {
    name: String,
    data_type: AttrType,
    value: Template,
}

/// Turns rendered bodies into batch entries, checking JSON and size.
pub struct Packer {
    attributes: Vec<Attribute>,
    fifo: Option<Fifo>,
    delay_seconds: Option<i32>,
    max_message: usize,
    check_json: bool,
}

/// Why a message cannot be sent at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub code: &'static str,
    pub message: String,
}

impl Packer {
    pub fn new(
        attributes: &[AttributeArg],
        fifo: Option<Fifo>,
        delay_seconds: Option<i32>,
        max_message: usize,
        check_json: bool,
    ) -> Result<Self, TemplateError> {
        let attributes = attributes
            .iter()
            .map(|a| {
                Ok(Attribute {
                    name: a.name.clone(),
                    data_type: a.data_type,
                    value: Template::parse(&a.value)?,
                })
            })
            .collect::<Result<_, TemplateError>>()?;
        Ok(Self {
            attributes,
            fifo,
            delay_seconds,
            max_message,
            check_json,
        })
    }

    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// Upper bound of the attributes' size for any message up to `max_seq`.
    pub fn attributes_max_len(&self, max_seq: Option<u64>) -> usize {
        self.attributes
            .iter()
            .map(|a| a.name.len() + a.data_type.as_str().len() + a.value.max_len_with_seq(max_seq))
            .sum()
    }

    /// Builds message `seq`'s batch entry from its body.
    pub fn pack(&self, seq: u64, body: &str) -> Result<BatchEntry, Reject> {
        if self.check_json {
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(body) {
                return Err(Reject {
                    code: "InvalidJson",
                    message: format!("not valid JSON ({e}); use --raw to send it anyway"),
                });
            }
        }
        if body.is_empty() {
            return Err(Reject {
                code: "EmptyMessage",
                message: "SQS does not accept an empty message body".into(),
            });
        }
        let mut size = body.len();
        for a in &self.attributes {
            size += a.name.len() + a.data_type.as_str().len();
        }
        let mut json = Vec::with_capacity(body.len() + body.len() / 8 + 32);
        json.extend_from_slice(b",\"MessageBody\":");
        push_json_str(&mut json, body);
        if let Some(d) = self.delay_seconds {
            json.extend_from_slice(format!(",\"DelaySeconds\":{d}").as_bytes());
        }
        size += self.push_attributes(&mut json, seq);
        if size > self.max_message {
            return Err(Reject {
                code: "MessageTooLong",
                message: format!(
                    "message of {size} bytes (body and attributes) is over the queue's MaximumMessageSize of {} bytes",
                    self.max_message
                ),
            });
        }
        if let Some(f) = &self.fifo {
            json.extend_from_slice(b",\"MessageGroupId\":");
            push_json_str(&mut json, &f.groups.id(seq));
            json.extend_from_slice(b",\"MessageDeduplicationId\":");
            push_json_str(&mut json, &format!("{}-{seq}", f.run_id));
        }
        Ok(BatchEntry { seq, size, json })
    }

    /// Appends message `seq`'s attributes (values rendered once, straight
    /// into the entry); returns the size of their rendered values.
    fn push_attributes(&self, json: &mut Vec<u8>, seq: u64) -> usize {
        if self.attributes.is_empty() {
            return 0;
        }
        let mut size = 0;
        json.extend_from_slice(b",\"MessageAttributes\":{");
        let mut value = String::new();
        for (i, a) in self.attributes.iter().enumerate() {
            value.clear();
            a.value.render_into(seq, &mut value);
            size += value.len();
            if i > 0 {
                json.push(b',');
            }
            push_json_str(json, &a.name);
            json.extend_from_slice(b":{\"DataType\":");
            push_json_str(json, a.data_type.as_str());
            json.extend_from_slice(b",\"StringValue\":");
            push_json_str(json, &value);
            json.push(b'}');
        }
        json.push(b'}');
        size
    }
}

/// Where message bodies come from.
pub enum Input {
    /// One template, rendered for every message.
    Template(Template),
    /// One message per line (each line a template), streamed.
    Lines(Box<dyn AsyncBufRead + Unpin + Send>),
}

/// When to stop and how fast to go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pace {
    pub total: Option<u64>,
    pub deadline: Option<Instant>,
    /// Messages per second.
    pub rate: Option<f64>,
}

/// Batches filling up, flushed to the producers.
struct Batcher<'a> {
    tx: &'a mpsc::Sender<Vec<BatchEntry>>,
    ctl: &'a Control,
    tally: &'a Tally,
    cur: Vec<BatchEntry>,
    bytes: usize,
    /// When the first message of `cur` was due (with --rate).
    first_due: Option<Instant>,
}

impl Batcher<'_> {
    /// Sends the current batch to the producers; false once the run is aborted.
    async fn flush(&mut self) -> bool {
        if self.cur.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.cur, Vec::with_capacity(BATCH_MAX_ENTRIES));
        let n = batch.len() as u64;
        self.bytes = 0;
        self.first_due = None;
        self.tally.generated.fetch_add(n, Ordering::Relaxed);
        tokio::select! {
            sent = self.tx.send(batch) => {
                if sent.is_err() {
                    self.tally.unsent.fetch_add(n, Ordering::Relaxed);
                    return false;
                }
                true
            }
            _ = self.ctl.aborted() => {
                self.tally.unsent.fetch_add(n, Ordering::Relaxed);
                false
            }
        }
    }

    async fn push(&mut self, p: BatchEntry, due: Option<Instant>) -> bool {
        let full = self.cur.len() >= BATCH_MAX_ENTRIES || self.bytes + p.size > BATCH_MAX_BYTES;
        if full && !self.flush().await {
            return false;
        }
        self.bytes += p.size;
        self.cur.push(p);
        if self.first_due.is_none() {
            self.first_due = due;
        }
        true
    }
}

/// Generates every message and hands the batches to the producers; returns
/// when done, at `--duration`, when stopped, or when the run is aborted.
pub async fn generate(
    input: Input,
    packer: &Packer,
    pace: Pace,
    tx: mpsc::Sender<Vec<BatchEntry>>,
    ctl: &Control,
    tally: &Tally,
) -> std::io::Result<()> {
    let mut g = Generator {
        batcher: Batcher {
            tx: &tx,
            ctl,
            tally,
            cur: Vec::with_capacity(BATCH_MAX_ENTRIES),
            bytes: 0,
            first_due: None,
        },
        schedule: pace.rate.map(|r| Schedule::new(r, Instant::now())),
        packer,
        pace,
        ctl,
        tally,
        body: String::new(),
    };
    match input {
        Input::Template(t) => g.send_template(&t).await,
        Input::Lines(mut r) => g.send_lines(&mut r).await?,
    }
    Ok(())
}

/// The generator's state between messages.
struct Generator<'a> {
    batcher: Batcher<'a>,
    schedule: Option<Schedule>,
    packer: &'a Packer,
    pace: Pace,
    ctl: &'a Control,
    tally: &'a Tally,
    /// Each body is rendered into this one buffer and encoded into its entry from there.
    body: String,
}

impl Generator<'_> {
    /// Every message from one template.
    async fn send_template(&mut self, t: &Template) {
        let mut seq = 0u64;
        while self.pace.total.is_none_or(|n| seq < n) {
            seq += 1;
            let Some(due) = self.next_due().await else {
                break;
            };
            self.body.clear();
            t.render_into(seq, &mut self.body);
            match self.packer.pack(seq, &self.body) {
                Ok(p) => {
                    if !self.batcher.push(p, due).await {
                        return;
                    }
                }
                Err(r) => {
                    // Cannot happen for a template checked up front; count it anyway.
                    let message = r.message;
                    self.tally
                        .fail(1, r.code, || format!("message {seq}: {message}"));
                }
            }
        }
        self.batcher.flush().await;
    }

    /// One message per line; a line that cannot be sent is counted as failed.
    async fn send_lines(
        &mut self,
        lines: &mut (dyn AsyncBufRead + Unpin + Send),
    ) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let (mut line_no, mut seq, mut rejected) = (0u64, 0u64, 0u64);
        let limit = self.packer.max_message().saturating_mul(2);
        while self.pace.total.is_none_or(|n| seq < n) {
            let Some(too_long) = read_line_bounded(lines, &mut buf, limit).await? else {
                break;
            };
            line_no += 1;
            if !too_long && buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let Some(due) = self.next_due().await else {
                break;
            };
            seq += 1;
            match self.pack_line(seq, &buf, too_long) {
                Ok(p) => {
                    if !self.batcher.push(p, due).await {
                        return Ok(());
                    }
                }
                Err(r) => {
                    rejected += 1;
                    if rejected <= MAX_LOGGED_REJECTS {
                        tracing::warn!("line {line_no}: {}; not sent", r.message);
                    }
                    let message = r.message;
                    self.tally
                        .fail(1, r.code, || format!("line {line_no}: {message}"));
                }
            }
        }
        self.batcher.flush().await;
        Ok(())
    }

    /// Message `seq` from one line (itself a template).
    fn pack_line(&mut self, seq: u64, line: &[u8], too_long: bool) -> Result<BatchEntry, Reject> {
        if too_long {
            return Err(Reject {
                code: "MessageTooLong",
                message: format!(
                    "line is over the queue's MaximumMessageSize of {} bytes",
                    self.packer.max_message()
                ),
            });
        }
        let text = std::str::from_utf8(line).map_err(|_| Reject {
            code: "InvalidUtf8",
            message: "not valid UTF-8".into(),
        })?;
        let t = Template::parse(text).map_err(|e| Reject {
            code: "BadPlaceholder",
            message: e.to_string(),
        })?;
        self.body.clear();
        t.render_into(seq, &mut self.body);
        self.packer.pack(seq, &self.body)
    }

    /// When the next message is due (see [`pace_next`]); `None` to stop.
    async fn next_due(&mut self) -> Option<Option<Instant>> {
        pace_next(&mut self.schedule, &mut self.batcher, self.pace, self.ctl).await
    }
}

/// Waits until the next message is due (with --rate), flushing a batch that
/// has waited long enough; `None` when generation must stop.
async fn pace_next(
    schedule: &mut Option<Schedule>,
    batcher: &mut Batcher<'_>,
    pace: Pace,
    ctl: &Control,
) -> Option<Option<Instant>> {
    if ctl.is_stopped() || pace.deadline.is_some_and(|d| Instant::now() >= d) {
        return None;
    }
    let Some(s) = schedule else {
        return Some(None);
    };
    let due = s.next_due(Instant::now());
    if let Some(first) = batcher.first_due {
        if due.saturating_duration_since(first) >= MAX_BATCH_WAIT && !batcher.flush().await {
            return None;
        }
    }
    let wake = pace.deadline.map_or(due, |d| due.min(d));
    if wake > Instant::now() {
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = ctl.stopped() => return None,
        }
    }
    if pace.deadline.is_some_and(|d| Instant::now() >= d) {
        return None;
    }
    Some(Some(due))
}

/// Evenly spaced due times for `--rate`.
struct Schedule {
    interval: Duration,
    next: Instant,
    warned: bool,
}

impl Schedule {
    fn new(rate: f64, start: Instant) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: start,
            warned: false,
        }
    }

    fn next_due(&mut self, now: Instant) -> Instant {
        if now.saturating_duration_since(self.next) > MAX_LAG {
            if !self.warned {
                tracing::warn!("cannot keep up with --rate: sending as fast as the queue accepts");
                self.warned = true;
            }
            self.next = now;
        }
        let due = self.next;
        self.next += self.interval;
        due
    }
}

/// Reads one line (without its `\n` / `\r\n`) into `buf`, keeping at most
/// `limit` bytes: `Some(true)` when the line was longer (and was skipped),
/// `None` at end of input.
async fn read_line_bounded<R: AsyncBufRead + Unpin + ?Sized>(
    r: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            break;
        }
        any = true;
        let (chunk, used, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (&avail[..i], i + 1, true),
            None => (avail, avail.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > limit {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        r.consume(used);
        if done {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(too_long))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packer(max: usize, check_json: bool) -> Packer {
        Packer::new(&[], None, None, max, check_json).unwrap()
    }

    /// The entry as SQS receives it.
    fn entry(p: &BatchEntry) -> serde_json::Value {
        let mut text = br#"{"Id":"0""#.to_vec();
        text.extend_from_slice(&p.json);
        text.push(b'}');
        serde_json::from_slice(&text).unwrap()
    }

    #[test]
    fn pack_checks_json_and_size() {
        let p = packer(20, true);
        let ok = p.pack(1, r#"{"a":1}"#).unwrap();
        assert_eq!(entry(&ok)["MessageBody"], r#"{"a":1}"#);
        assert_eq!(p.pack(1, "{").unwrap_err().code, "InvalidJson");
        assert_eq!(
            p.pack(1, &format!("\"{}\"", "x".repeat(30)))
                .unwrap_err()
                .code,
            "MessageTooLong"
        );
        assert!(packer(20, false).pack(1, "not json").is_ok());
        assert_eq!(
            packer(20, false).pack(1, "").unwrap_err().code,
            "EmptyMessage"
        );
    }

    #[test]
    fn attributes_count_toward_size() {
        let attrs = [AttributeArg {
            name: "n".into(),
            data_type: AttrType::Number,
            value: "%seq%".into(),
        }];
        let p = Packer::new(&attrs, None, None, 1000, true).unwrap();
        let m = p.pack(123, "1").unwrap();
        assert_eq!(m.size, 1 + 1 + "Number".len() + 3);
        let a = &entry(&m)["MessageAttributes"]["n"];
        assert_eq!(a["StringValue"], "123");
        assert_eq!(a["DataType"], "Number");
        assert_eq!(p.attributes_max_len(Some(999)), 1 + 6 + 3);
    }

    #[test]
    fn fifo_ids() {
        let fifo = Fifo {
            groups: Groups::RoundRobin {
                prefix: "g".into(),
                k: 3,
            },
            run_id: "run".into(),
        };
        let p = Packer::new(&[], Some(fifo), None, 1000, false).unwrap();
        let groups: Vec<String> = (1..=4)
            .map(|s| {
                entry(&p.pack(s, "x").unwrap())["MessageGroupId"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(groups, ["g-0", "g-1", "g-2", "g-0"]);
        let d = entry(&p.pack(7, "x").unwrap());
        assert_eq!(d["MessageDeduplicationId"], "run-7");
        assert_eq!(Groups::PerMessage { prefix: "g".into() }.id(5), "g-5");
        assert_eq!(Groups::Fixed("g".into()).id(5), "g");
    }

    #[tokio::test]
    async fn bounded_lines() {
        let data: &[u8] = b"one\r\n\ntoo long line\nlast";
        let mut r = tokio::io::BufReader::with_capacity(4, data);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some(too_long) = read_line_bounded(&mut r, &mut buf, 8).await.unwrap() {
            got.push((String::from_utf8(buf.clone()).unwrap(), too_long));
        }
        assert_eq!(
            got,
            [
                ("one".to_string(), false),
                (String::new(), false),
                (String::new(), true),
                ("last".to_string(), false)
            ]
        );
    }

    async fn collect(input: Input, pace: Pace, packer: &Packer) -> (Vec<Vec<BatchEntry>>, Tally) {
        let (tx, mut rx) = mpsc::channel(4);
        let ctl = Control::default();
        let tally = Tally::default();
        let consumer = tokio::spawn(async move {
            let mut v = Vec::new();
            while let Some(b) = rx.recv().await {
                v.push(b);
            }
            v
        });
        generate(input, packer, pace, tx, &ctl, &tally)
            .await
            .unwrap();
        (consumer.await.unwrap(), tally)
    }

    #[tokio::test]
    async fn template_batches_of_ten() {
        let p = packer(1000, true);
        let pace = Pace {
            total: Some(25),
            ..Pace::default()
        };
        let (batches, tally) =
            collect(Input::Template(Template::parse("%seq%").unwrap()), pace, &p).await;
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 5]);
        let seqs: Vec<u64> = batches.iter().flatten().map(|p| p.seq).collect();
        assert_eq!(seqs, (1..=25).collect::<Vec<_>>());
        assert_eq!(entry(&batches[0][3])["MessageBody"], "4");
        assert_eq!(tally.generated.load(Ordering::Relaxed), 25);
    }

    #[tokio::test]
    async fn batches_respect_the_byte_limit() {
        let body = format!("\"{}\"", "x".repeat(400 * 1024));
        let p = packer(BATCH_MAX_BYTES, true);
        let pace = Pace {
            total: Some(5),
            ..Pace::default()
        };
        let (batches, _) =
            collect(Input::Template(Template::parse(&body).unwrap()), pace, &p).await;
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 1]);
    }

    #[tokio::test]
    async fn lines_skip_blanks_and_reject_bad_ones() {
        let data: &'static [u8] = b"{\"a\":1}\n\nnot json\n{\"b\":%seq%}\n";
        let p = packer(1000, true);
        let (batches, tally) = collect(Input::Lines(Box::new(data)), Pace::default(), &p).await;
        let bodies: Vec<String> = batches
            .iter()
            .flatten()
            .map(|p| entry(p)["MessageBody"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(bodies, [r#"{"a":1}"#, r#"{"b":3}"#]);
        assert_eq!(tally.failed.load(Ordering::Relaxed), 1);
        assert_eq!(tally.errors()[0].example, "line 3: not valid JSON (expected ident at line 1 column 2); use --raw to send it anyway");
    }

    #[tokio::test(start_paused = true)]
    async fn rate_spreads_messages() {
        let p = packer(1000, false);
        let pace = Pace {
            total: Some(40),
            rate: Some(100.0),
            deadline: None,
        };
        let start = tokio::time::Instant::now();
        let (batches, _) = collect(Input::Template(Template::parse("x").unwrap()), pace, &p).await;
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 40);
        // 40 messages at 100/s: the last one is due 390 ms after the first.
        assert!(start.elapsed() >= Duration::from_millis(390));
        // At 100/s a batch waits at most 50 ms: about 5 messages each.
        assert!(batches.len() >= 6, "{} batches", batches.len());
    }

    #[test]
    fn schedule_resets_when_far_behind() {
        let start = Instant::now();
        let mut s = Schedule::new(10.0, start);
        assert_eq!(s.next_due(start), start);
        assert_eq!(s.next_due(start), start + Duration::from_millis(100));
        let late = start + Duration::from_secs(5);
        assert_eq!(s.next_due(late), late);
    }
}
