#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns
//! How close the lister gets to the floor (pages x page latency / cursors) on
//! key distributions S3 users have. Time is Tokio's paused clock, so this
//! measures round trips, not this machine's speed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mc_aws_common::listing::{list, ListOptions, Page, PageSource};

const PAGE: usize = 1000;
const LATENCY: Duration = Duration::from_millis(100);

struct Model {
    keys: Arc<Vec<String>>,
    calls: Arc<AtomicUsize>,
    delimiter_hints: bool,
}

impl PageSource for Model {
    type Item = String;
    type Error = String;

    fn key(item: &String) -> &str {
        item
    }

    fn prefix(&self) -> &str {
        ""
    }

    async fn list_page(
        &self,
        start_after: Option<String>,
        _upto: Option<String>,
    ) -> Result<Page<String>, String> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(LATENCY).await;
        let start = start_after.map_or(0, |a| self.keys.partition_point(|k| *k <= a));
        let end = (start + PAGE).min(self.keys.len());
        Ok(Page {
            items: self.keys[start..end].to_vec(),
            truncated: end < self.keys.len(),
        })
    }

    async fn seed_boundaries(&self) -> Result<Vec<String>, String> {
        tokio::time::sleep(LATENCY).await;
        if !self.delimiter_hints {
            return Ok(Vec::new());
        }
        let mut p: Vec<String> = self
            .keys
            .iter()
            .filter_map(|k| k.find('/').map(|i| k[..=i].to_string()))
            .collect();
        p.dedup();
        Ok(p)
    }
}

/// Returns (virtual seconds, requests, floor seconds).
fn measure(mut keys: Vec<String>, concurrency: usize, hints: bool) -> (f64, usize, f64) {
    keys.sort();
    keys.dedup();
    let n = keys.len();
    let calls = Arc::new(AtomicUsize::new(0));
    let model = Model {
        keys: Arc::new(keys),
        calls: calls.clone(),
        delimiter_hints: hints,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let elapsed = rt.block_on(async move {
        let start = tokio::time::Instant::now();
        let mut listing = list(
            model,
            ListOptions {
                concurrency,
                ranges: None,
                buffer: 1024,
            },
        );
        let mut count = 0;
        let mut timeline = std::collections::BTreeMap::<u64, (usize, usize)>::new();
        while let Some(c) = listing.next().await {
            let n = c.unwrap().items.len();
            count += n;
            let e = timeline
                .entry(start.elapsed().as_millis() as u64 / 100)
                .or_default();
            e.0 += 1;
            e.1 += n;
        }
        if std::env::var("TIMELINE").is_ok() {
            eprintln!("{timeline:?}");
        }
        assert_eq!(count, n);
        start.elapsed().as_secs_f64()
    });
    let pages = n.div_ceil(PAGE) as f64;
    (
        elapsed,
        calls.load(Ordering::Relaxed),
        pages * LATENCY.as_secs_f64() / concurrency as f64,
    )
}

fn hex_keys(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "{:02x}/{:016x}",
                (i * 2654435761) % 256,
                (i as u64).wrapping_mul(0x9E3779B97F4A7C15)
            )
        })
        .collect()
}

fn skewed_sequential(n: usize) -> Vec<String> {
    let hot = n * 9 / 10;
    let mut v: Vec<String> = (0..hot).map(|i| format!("hot/obj-{i:08}")).collect();
    v.extend((0..n - hot).map(|i| format!("{:02x}/obj-{i:08}", i % 256)));
    v
}

fn skewed_uuid(n: usize) -> Vec<String> {
    let hot = n * 9 / 10;
    let mut v: Vec<String> = (0..hot)
        .map(|i| {
            format!(
                "images/{:032x}.jpg",
                (i as u128).wrapping_mul(0x9E3779B97F4A7C15F39CC0605CEDC835)
            )
        })
        .collect();
    v.extend((0..n - hot).map(|i| format!("{:02x}/x{i}", i % 256)));
    v
}

fn flat_sequential(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{i:09}.png")).collect()
}

#[test]
fn listing_stays_near_the_floor() {
    // LISTING_KEYS=1000000 reproduces the 1M-key target.
    let n = std::env::var("LISTING_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let c = 64;
    for (name, keys, hints) in [
        ("hex", hex_keys(n), true),
        ("skewed-sequential", skewed_sequential(n), true),
        ("skewed-uuid", skewed_uuid(n), true),
        ("flat-sequential", flat_sequential(n), true),
        ("hex-no-hints", hex_keys(n), false),
    ] {
        let (secs, calls, floor) = measure(keys, c, hints);
        eprintln!(
            "{name:20} {secs:6.2}s  floor {floor:5.2}s  ratio {:4.2}  requests {calls}",
            secs / floor
        );
        // Ramp-up costs a few round trips over the floor; a multiple means the splitting is broken.
        assert!(
            secs < floor * 2.0 + 1.0,
            "{name}: {secs:.2}s vs floor {floor:.2}s"
        );
    }
}
