//! The work-stealing engine behind [`list`], generic over [`PageSource`].
//!
//! Invariant (what makes exactly-once hold): a range's `after` and `upto` only
//! change under the one lock, a page is filtered to `<= upto` and `after`
//! advanced under that lock, and a split point is always above the range's
//! current `after`. A request in flight during a steal may return keys beyond
//! the new `upto`: the filter drops them and the thief lists them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, Notify};

use super::split_points::{log_width, split_at, split_n, Alphabet};
use super::KeyRange;

/// One page of a listing, in ascending key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// More keys follow the last one (S3's `IsTruncated`).
    pub truncated: bool,
}

/// "List one page": what the engine needs from a store.
pub trait PageSource: Send + Sync + 'static {
    type Item: Send + 'static;
    type Error: Send + 'static;

    /// The item's key.
    fn key(item: &Self::Item) -> &str;

    /// The prefix every key starts with (keeps split points inside it).
    fn prefix(&self) -> &str;

    /// Up to one page of keys `> start_after` (all keys when `None`), ascending.
    /// `upto` is the cursor's range end at request time: keys above it will be
    /// dropped, so a source may narrow its request with it (see
    /// [`super::narrowed_prefix`]); ignoring it is always correct.
    fn list_page(
        &self,
        start_after: Option<String>,
        upto: Option<String>,
    ) -> impl Future<Output = Result<Page<Self::Item>, Self::Error>> + Send;

    /// Optional hint for the first ranges, e.g. a delimiter listing's
    /// CommonPrefixes (256 hex prefixes give 256 ranges at once). Correctness
    /// never depends on it.
    fn seed_boundaries(&self) -> impl Future<Output = Result<Vec<String>, Self::Error>> + Send {
        async { Ok(Vec::new()) }
    }
}

/// The keys of one page and the span of the key space they account for. The
/// spans of all chunks of a listing are disjoint and cover the listed ranges.
#[derive(Debug, Clone)]
pub struct Chunk<T> {
    pub span: KeyRange,
    pub items: Vec<T>,
}

#[derive(Debug, Clone)]
pub struct ListOptions {
    /// Cursors listing at once.
    pub concurrency: usize,
    /// Only these ranges (a shard, or what a checkpoint says is left). `None`:
    /// the whole prefix, seeded from a first page and [`PageSource::seed_boundaries`].
    pub ranges: Option<Vec<KeyRange>>,
    /// Chunks buffered ahead of the consumer (bounds memory).
    pub buffer: usize,
}

impl Default for ListOptions {
    fn default() -> Self {
        Self {
            concurrency: 64,
            ranges: None,
            buffer: 64,
        }
    }
}

/// A running listing: receive chunks with [`Listing::next`]. Dropping it stops the cursors.
pub struct Listing<T, E> {
    rx: mpsc::Receiver<Result<Chunk<T>, E>>,
}

impl<T, E> Listing<T, E> {
    /// A listing fed by another source of chunks (an inventory report
    /// sorted on disk): the same promise, spans partitioning the ranges.
    pub fn from_channel(rx: mpsc::Receiver<Result<Chunk<T>, E>>) -> Self {
        Self { rx }
    }

    /// The next chunk; `None` once every range is listed. After an error, no
    /// more chunks follow.
    pub async fn next(&mut self) -> Option<Result<Chunk<T>, E>> {
        self.rx.recv().await
    }
}

#[derive(Debug)]
struct Cursor {
    range: KeyRange,
    owned: bool,
    /// The last page was full: likely more work, worth stealing from.
    busy: bool,
    /// Log-width of the last full page's span: with the range's remaining
    /// width it estimates the pages left (exactly, for evenly spread keys).
    page_log_width: f64,
}

/// A busy range is split only if about this many pages seem left in it.
const MIN_PAGES_TO_SPLIT: f64 = 3.0;

/// A stolen part gets at most about this many pages (at the density of the
/// victim's last page): a range estimated far larger usually reaches past its
/// keys (`hot/obj-000123` up to the end of the bucket), and even parts of it
/// would be mostly empty. The last part keeps the rest.
const MAX_PAGES_PER_PART: f64 = 128.0;

struct State {
    cursors: HashMap<u64, Cursor>,
    next_id: u64,
    alphabet: Alphabet,
    stopped: bool,
    /// Workers waiting for something to steal: one steal splits off a part
    /// for each, so a hot range fans out in one round trip, not log2(c).
    idle: usize,
}

struct Engine<S: PageSource> {
    source: S,
    state: Mutex<State>,
    changed: Notify,
    tx: mpsc::Sender<Result<Chunk<S::Item>, S::Error>>,
}

/// Starts listing `source` with `opts.concurrency` cursors. Must be called
/// inside a Tokio runtime.
pub fn list<S: PageSource>(source: S, opts: ListOptions) -> Listing<S::Item, S::Error> {
    let (tx, rx) = mpsc::channel(opts.buffer.max(1));
    let engine = Arc::new(Engine {
        source,
        state: Mutex::new(State {
            cursors: HashMap::new(),
            next_id: 0,
            alphabet: Alphabet::new(),
            stopped: false,
            idle: 0,
        }),
        changed: Notify::new(),
        tx,
    });
    tokio::spawn(async move {
        let concurrency = opts.concurrency.max(1);
        let ranges = match opts.ranges {
            Some(r) => r.into_iter().filter(|r| !r.is_empty()).collect(),
            None => match engine.seed(concurrency).await {
                Some(r) => r,
                None => return,
            },
        };
        {
            let mut st = engine.lock();
            for range in ranges {
                let id = st.next_id;
                if let Some(a) = &range.after {
                    st.alphabet.add(a);
                }
                if let Some(u) = &range.upto {
                    st.alphabet.add(u);
                }
                st.cursors.insert(
                    id,
                    Cursor {
                        range,
                        owned: false,
                        busy: false,
                        page_log_width: 0.0,
                    },
                );
                st.next_id += 1;
            }
        }
        let workers: Vec<_> = (0..concurrency)
            .map(|_| tokio::spawn(engine.clone().work()))
            .collect();
        for w in workers {
            let _ = w.await;
        }
    });
    Listing { rx }
}

impl<S: PageSource> Engine<S> {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lists the first page (emitting it) and splits the rest of the space
    /// into about `concurrency` ranges. `None` when done or failed.
    async fn seed(&self, concurrency: usize) -> Option<Vec<KeyRange>> {
        let (first, bounds) = tokio::join!(
            self.source.list_page(None, None),
            self.source.seed_boundaries()
        );
        let first = match first {
            Ok(p) => p,
            Err(e) => {
                let _ = self.tx.send(Err(e)).await;
                return None;
            }
        };
        // A failed hint is only a lost optimisation.
        let bounds = bounds.unwrap_or_default();
        let last = first.items.last().map(|i| S::key(i).to_string());
        let done = !first.truncated || last.is_none();
        let mut alphabet = Alphabet::new();
        for item in &first.items {
            alphabet.add(S::key(item));
        }
        let span = if done {
            KeyRange::all()
        } else {
            KeyRange::new(None, last.clone())
        };
        if self
            .tx
            .send(Ok(Chunk {
                span,
                items: first.items,
            }))
            .await
            .is_err()
            || done
        {
            return None;
        }
        let prefix = self.source.prefix();
        let mut points: Vec<String> = bounds
            .into_iter()
            .filter(|b| Some(b) > last.as_ref() && b.starts_with(prefix))
            .collect();
        points.sort();
        points.dedup();
        for p in &points {
            alphabet.add(p);
        }
        // More hints than cursors: keep every k-th. With one range per prefix,
        // a hot prefix among many small ones stays with one cursor while the
        // others list the small ones a partial page at a time, and nobody is
        // idle to split it until they are all done.
        if points.len() >= concurrency {
            let k = (points.len() + 1).div_ceil(concurrency);
            points = points.into_iter().skip(k - 1).step_by(k).collect();
        }
        let mut ranges = Vec::with_capacity(points.len() + 1);
        let mut after = last;
        for p in points {
            ranges.push(KeyRange::new(after, Some(p.clone())));
            after = Some(p);
        }
        ranges.push(KeyRange::new(after, None));
        // Too few ranges: split the widest ones evenly in the observed alphabet.
        if ranges.len() < concurrency {
            // Widths are logs of tiny fractions: normalise before exponentiating.
            let widths: Vec<f64> = ranges
                .iter()
                .map(|r| log_width(prefix, r, &alphabet))
                .collect();
            let widest = widths.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = widths.iter().map(|w| (w - widest).exp()).collect();
            let total: f64 = weights.iter().sum();
            let budget = concurrency - ranges.len();
            let mut out = Vec::with_capacity(concurrency);
            for (r, w) in ranges.into_iter().zip(weights) {
                let share = ((w / total) * budget as f64).round() as usize;
                let mut after = r.after.clone();
                for p in split_n(prefix, &r, &alphabet, share + 1) {
                    out.push(KeyRange::new(after, Some(p.clone())));
                    after = Some(p);
                }
                out.push(KeyRange::new(after, r.upto));
            }
            ranges = out;
        }
        self.lock().alphabet = alphabet;
        Some(ranges)
    }

    /// Picks work for a cursor: an unowned range, else a part of the busiest
    /// one, split into as many parts as there are idle workers (and pages left).
    fn take_work(&self, st: &mut State) -> Option<u64> {
        if let Some((&id, c)) = st.cursors.iter_mut().find(|(_, c)| !c.owned) {
            c.owned = true;
            return Some(id);
        }
        let prefix = self.source.prefix();
        // The range with the most pages left, if it has enough to be worth a
        // split: each split costs a partial page on both sides.
        let (victim, log_pages_left) = st
            .cursors
            .iter()
            .filter(|(_, c)| c.busy)
            .map(|(&id, c)| {
                (
                    id,
                    log_width(prefix, &c.range, &st.alphabet) - c.page_log_width,
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        if log_pages_left < MIN_PAGES_TO_SPLIT.ln() {
            return None;
        }
        // The victim, this worker and every idle one, each with enough pages.
        let worth = (log_pages_left.exp() / MIN_PAGES_TO_SPLIT) as usize; // saturates
        let parts = (st.idle + 2).min(worth).max(2);
        let range = st.cursors.get(&victim)?.range.clone();
        let pages_left = log_pages_left.exp();
        let per_part = (pages_left / parts as f64).min(MAX_PAGES_PER_PART);
        let fractions: Vec<f64> = (1..parts)
            .map(|i| i as f64 * per_part / pages_left)
            .collect();
        let points = split_at(prefix, &range, &st.alphabet, &fractions);
        let first = points.first()?.clone();
        if let Some(v) = st.cursors.get_mut(&victim) {
            v.range.upto = Some(first);
        }
        let ends = points.iter().skip(1).cloned().map(Some).chain([range.upto]);
        let mut mine = None;
        for (after, upto) in points.iter().cloned().zip(ends) {
            let id = st.next_id;
            st.next_id += 1;
            st.cursors.insert(
                id,
                Cursor {
                    range: KeyRange::new(Some(after), upto),
                    owned: mine.is_none(),
                    busy: false,
                    page_log_width: 0.0,
                },
            );
            mine.get_or_insert(id);
        }
        if points.len() > 1 {
            // Parts left unowned: wake the idle workers to take them.
            self.changed.notify_waiters();
        }
        mine
    }

    async fn work(self: Arc<Self>) {
        let mut mine: Option<u64> = None;
        let mut idle = false;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let after = {
                let mut st = self.lock();
                if idle {
                    st.idle -= 1;
                    idle = false;
                }
                if st.stopped {
                    return;
                }
                if mine.is_none_or(|id| !st.cursors.contains_key(&id)) {
                    mine = self.take_work(&mut st);
                }
                match mine.and_then(|id| st.cursors.get(&id)) {
                    Some(c) => Some((c.range.after.clone(), c.range.upto.clone())),
                    None if st.cursors.is_empty() => return,
                    None => {
                        st.idle += 1;
                        idle = true;
                        None
                    }
                }
            };
            let (Some((after, upto)), Some(id)) = (after, mine) else {
                // Nothing to take now; wait until a cursor finishes or a page makes a range stealable.
                changed.await;
                continue;
            };
            let page = match self.source.list_page(after, upto).await {
                Ok(p) => p,
                Err(e) => {
                    self.lock().stopped = true;
                    self.changed.notify_waiters();
                    let _ = self.tx.send(Err(e)).await;
                    return;
                }
            };
            let chunk = self.absorb(id, page);
            self.changed.notify_waiters();
            if let Some(chunk) = chunk {
                if self.tx.send(Ok(chunk)).await.is_err() {
                    // The consumer is gone: stop everyone.
                    self.lock().stopped = true;
                    self.changed.notify_waiters();
                    return;
                }
            }
        }
    }

    /// Applies a page to cursor `id` under the lock: keeps keys `<= upto`,
    /// advances `after`, finishes the cursor when it crossed its end.
    fn absorb(&self, id: u64, page: Page<S::Item>) -> Option<Chunk<S::Item>> {
        let mut st = self.lock();
        let State {
            cursors, alphabet, ..
        } = &mut *st;
        let cursor = cursors.get_mut(&id)?;
        let mut items = page.items;
        let upto = cursor.range.upto.clone();
        let keep = match &upto {
            Some(u) => items.partition_point(|i| S::key(i) <= u.as_str()),
            None => items.len(),
        };
        let crossed = keep < items.len();
        items.truncate(keep);
        // Every 8th key (and the last) is plenty to learn the alphabet, and
        // this runs under the engine's lock for every page.
        for i in items.iter().step_by(8).chain(items.last()) {
            alphabet.add(S::key(i));
        }
        let last = items.last().map(|i| S::key(i).to_string());
        let reached_end = last.is_some() && last == upto;
        let done = !page.truncated || crossed || last.is_none() || reached_end;
        let span_after = cursor.range.after.clone();
        let span = if done {
            cursors.remove(&id);
            KeyRange::new(span_after, upto)
        } else {
            cursor.busy = true;
            // Density from the page's own keys, not from the range's start: a
            // first page that jumps a gap (`fc/..` to `hot/obj-0000780`) would
            // make the rest look sparse and its parts mostly empty.
            let first = items.first().map(|i| S::key(i).to_string());
            cursor.page_log_width = log_width(
                self.source.prefix(),
                &KeyRange::new(first, last.clone()),
                alphabet,
            );
            cursor.range.after = last.clone();
            KeyRange::new(span_after, last)
        };
        Some(Chunk { span, items })
    }
}
