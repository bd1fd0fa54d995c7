#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns
//! The sharded lister's promise, checked in memory: for random key sets,
//! concurrency, page sizes and interleavings, every key comes out exactly
//! once and the chunk spans partition the listed ranges.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mc_aws_common::listing::{
    list, narrowed_prefix, KeyRange, ListOptions, Page, PageSource, RangeSet,
};
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

struct MemSource {
    keys: Arc<Vec<String>>,
    prefix: String,
    page: usize,
    hints: Vec<String>,
    rng: Mutex<StdRng>,
    /// Requests served, to check no range is listed twice over.
    calls: Arc<Mutex<usize>>,
}

impl MemSource {
    fn new(
        keys: &BTreeSet<String>,
        prefix: &str,
        page: usize,
        hints: Vec<String>,
        seed: u64,
    ) -> Self {
        Self {
            keys: Arc::new(
                keys.iter()
                    .filter(|k| k.starts_with(prefix))
                    .cloned()
                    .collect(),
            ),
            prefix: prefix.to_string(),
            page,
            hints,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            calls: Arc::new(Mutex::new(0)),
        }
    }

    async fn jitter(&self) {
        let (yields, sleep) = {
            let mut r = self.rng.lock().unwrap();
            (r.random_range(0..8), r.random_bool(0.1))
        };
        for _ in 0..yields {
            tokio::task::yield_now().await;
        }
        if sleep {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
}

impl PageSource for MemSource {
    type Item = String;
    type Error = String;

    fn key(item: &String) -> &str {
        item
    }

    fn prefix(&self) -> &str {
        &self.prefix
    }

    async fn list_page(
        &self,
        start_after: Option<String>,
        upto: Option<String>,
    ) -> Result<Page<String>, String> {
        *self.calls.lock().unwrap() += 1;
        self.jitter().await;
        // Like S3 given the narrowed prefix the S3 source sends.
        let prefix = narrowed_prefix(&self.prefix, start_after.as_deref(), upto.as_deref());
        let start = match &start_after {
            Some(a) => self.keys.partition_point(|k| k <= a),
            None => 0,
        };
        let mut matching = self.keys[start..].iter().filter(|k| k.starts_with(&prefix));
        let items: Vec<String> = matching.by_ref().take(self.page).cloned().collect();
        let truncated = matching.next().is_some();
        self.jitter().await;
        Ok(Page { items, truncated })
    }

    async fn seed_boundaries(&self) -> Result<Vec<String>, String> {
        Ok(self.hints.clone())
    }
}

fn run(source: MemSource, opts: ListOptions) -> (Vec<String>, Vec<KeyRange>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut listing = list(source, opts);
        let (mut keys, mut spans) = (Vec::new(), Vec::new());
        while let Some(chunk) = listing.next().await {
            let chunk = chunk.unwrap();
            for k in &chunk.items {
                assert!(
                    chunk.span.contains(k),
                    "{k:?} outside its chunk's span {:?}",
                    chunk.span
                );
            }
            keys.extend(chunk.items);
            spans.push(chunk.span);
        }
        (keys, spans)
    })
}

fn assert_disjoint(spans: &[KeyRange]) {
    let mut sorted = spans.to_vec();
    sorted.sort_by(|a, b| match (&a.after, &b.after) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, _) => std::cmp::Ordering::Less,
        (_, None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y),
    });
    for w in sorted.windows(2) {
        match (&w[0].upto, &w[1].after) {
            (Some(u), Some(a)) => assert!(u <= a, "overlapping spans {:?} and {:?}", w[0], w[1]),
            _ => panic!("overlapping spans {:?} and {:?}", w[0], w[1]),
        }
    }
}

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        // Small alphabet with multi-byte characters: keys that are prefixes of others, equal to split points.
        "[ab0/\u{e9}\u{65e5}\u{1F600}]{1,6}",
        // One hot prefix with flat names.
        "hot/[a-z0-9]{1,8}",
        // Hex-prefixed.
        "[0-9a-f]{2}/[0-9a-f]{1,6}",
        // Anything printable, including '+', '%', spaces.
        "[ -~]{1,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn whole_prefix_lists_every_key_exactly_once(
        keys in prop::collection::btree_set(key_strategy(), 0..300),
        prefix in prop_oneof![Just(String::new()), Just("hot/".to_string()), Just("a".to_string())],
        concurrency in 1usize..48,
        page in 1usize..25,
        hinted in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let hints: Vec<String> = if hinted {
            keys.iter().filter_map(|k| k.find('/').map(|i| k[..=i].to_string())).collect::<BTreeSet<_>>().into_iter().collect()
        } else {
            Vec::new()
        };
        let expected: Vec<String> = keys.iter().filter(|k| k.starts_with(&prefix)).cloned().collect();
        let source = MemSource::new(&keys, &prefix, page, hints, seed);
        let (mut got, spans) = run(source, ListOptions { concurrency, ranges: None, buffer: 4 });
        got.sort();
        prop_assert_eq!(&got, &expected);
        assert_disjoint(&spans);
        let mut covered = RangeSet::new();
        for s in spans {
            covered.insert(s);
        }
        prop_assert!(covered.is_complete(), "spans do not cover the key space: {:?}", covered);
    }

    #[test]
    fn given_ranges_list_exactly_their_keys(
        keys in prop::collection::btree_set(key_strategy(), 0..300),
        cuts in prop::collection::btree_set(key_strategy(), 0..6),
        take in prop::collection::vec(any::<bool>(), 7),
        concurrency in 1usize..32,
        page in 1usize..25,
        seed in any::<u64>(),
    ) {
        // Partition the space at random cut points and list a random subset of the parts.
        let cuts: Vec<String> = cuts.into_iter().collect();
        let mut parts = Vec::new();
        let mut after = None;
        for c in &cuts {
            parts.push(KeyRange::new(after.clone(), Some(c.clone())));
            after = Some(c.clone());
        }
        parts.push(KeyRange::new(after, None));
        let chosen: Vec<KeyRange> = parts.into_iter().zip(take).filter(|(_, t)| *t).map(|(p, _)| p).collect();
        let expected: Vec<String> = keys.iter().filter(|k| chosen.iter().any(|r| r.contains(k))).cloned().collect();
        let source = MemSource::new(&keys, "", page, Vec::new(), seed);
        let (mut got, spans) = run(source, ListOptions { concurrency, ranges: Some(chosen.clone()), buffer: 4 });
        got.sort();
        prop_assert_eq!(&got, &expected);
        assert_disjoint(&spans);
        let mut covered = RangeSet::new();
        for s in spans {
            covered.insert(s);
        }
        let mut wanted = RangeSet::new();
        for r in chosen {
            wanted.insert(r);
        }
        prop_assert_eq!(covered, wanted);
    }
}

#[test]
fn a_skewed_key_space_is_split_across_cursors() {
    // 90% under one prefix: stealing must spread the hot range, so the
    // number of requests stays near pages (not pages x cursors) and all keys arrive.
    let mut keys = BTreeSet::new();
    for i in 0..9000 {
        keys.insert(format!("hot/{i:08}"));
    }
    for i in 0..1000 {
        keys.insert(format!("{:02x}/{i}", i % 256));
    }
    let source = MemSource::new(&keys, "", 100, Vec::new(), 7);
    let calls = source.calls.clone();
    let (got, _) = run(
        source,
        ListOptions {
            concurrency: 16,
            ranges: None,
            buffer: 16,
        },
    );
    assert_eq!(got.len(), keys.len());
    // 100 full pages; splitting costs some partial pages and empty ranges, not a multiple.
    let calls = *calls.lock().unwrap();
    eprintln!("requests: {calls}");
    assert!(calls < 100 + 16 * 10, "{calls} requests for 100 pages");
    let got: BTreeSet<String> = got.into_iter().collect();
    assert_eq!(got, keys);
}
