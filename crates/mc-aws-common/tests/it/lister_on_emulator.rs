//! The foundation's acceptance test (issue 2): the sharded lister of
//! mc-aws-common lists a 5,000-key skewed bucket on the emulator exactly:
//! every key once, chunk spans partitioning the key space, and shards adding
//! up to the whole.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use mc_aws_common::cli::Shard;
use mc_aws_common::listing::s3::S3Source;
use mc_aws_common::listing::{self, shard_ranges, KeyRange, ListOptions};
use mc_aws_common::retry::{Backoff, Throttle};

/// 90% of the keys under one prefix (the hot one), the rest spread over
/// hex prefixes and flat names, with a few awkward keys.
fn skewed_5000() -> Vec<(String, usize)> {
    let mut keys: Vec<(String, usize)> = (0..5000)
        .map(|i| {
            let key = match i % 10 {
                0 => format!("{:02x}/spread-{i:05}", (i * 31) % 256),
                _ => format!("data/hot/{i:05}"),
            };
            (key, 1)
        })
        .collect();
    for (i, k) in mc_testkit::awkward_keys().into_iter().enumerate() {
        keys[i * 10 + 5] = k; // replace some hot keys: still 5,000 distinct keys
    }
    keys
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn s3() -> aws_sdk_s3::Client {
    mc_testkit::ministack().s3().await
}

/// A new bucket holding `objects` (key, size in bytes).
async fn bucket_with(prefix: &str, objects: &[(String, usize)]) -> String {
    let client = s3().await;
    let name = mc_testkit::unique_name(prefix);
    mc_testkit::create_bucket(&client, &name).await;
    let bodies = objects.iter().map(|(k, n)| (k.clone(), vec![b'x'; *n]));
    mc_testkit::put_objects(&client, &name, bodies).await;
    name
}

/// Lists `ranges` (None: everything) with the sharded lister, its pages
/// after the first sent beside the SDK when `lean`; returns the keys in
/// arrival order and the chunk spans.
async fn list(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    ranges: Option<Vec<KeyRange>>,
    (concurrency, page_size, lean): (usize, i32, bool),
) -> (Vec<String>, Vec<KeyRange>) {
    let throttle = Throttle::new(concurrency, None, Backoff::default());
    let credentials = match lean {
        true => mc_testkit::ministack()
            .sdk_config()
            .await
            .credentials_provider(),
        false => None,
    };
    let source = S3Source::new(client.clone(), bucket, "", Arc::clone(&throttle))
        .page_size(page_size)
        .credentials(credentials);
    let mut listing = listing::list(
        source,
        ListOptions {
            concurrency,
            ranges,
            buffer: 8,
        },
    );
    let mut keys = Vec::new();
    let mut spans = Vec::new();
    while let Some(chunk) = listing.next().await {
        let chunk = chunk.unwrap();
        for item in &chunk.items {
            assert!(
                chunk.span.contains(&item.key),
                "{:?} outside {:?}",
                item.key,
                chunk.span
            );
        }
        keys.extend(chunk.items.into_iter().map(|i| i.key));
        spans.push(chunk.span);
    }
    (keys, spans)
}

/// The spans, sorted, tile `(None, None)` without gaps or overlaps.
fn assert_partition(mut spans: Vec<KeyRange>) {
    spans.sort_by(|a, b| a.after.cmp(&b.after));
    let mut expected_after: Option<String> = None;
    for (i, s) in spans.iter().enumerate() {
        assert_eq!(s.after, expected_after, "gap or overlap at span {i}: {s:?}");
        expected_after = s.upto.clone();
        if i + 1 < spans.len() {
            assert!(s.upto.is_some(), "unbounded span before the end: {s:?}");
        }
    }
    assert_eq!(expected_after, None, "the spans do not reach the end");
}

#[test]
fn skewed_5000_keys_listed_exactly() {
    let rt = rt();
    let objects = skewed_5000();
    let bucket = rt.block_on(bucket_with("accept", &objects));
    rt.block_on(async {
        let client = s3().await;
        let mut reference = mc_testkit::list_all_keys(&client, &bucket, "").await;
        assert_eq!(reference.len(), 5000);
        reference.sort();
        for (concurrency, page_size, lean) in [(64, 100, true), (7, 250, false), (1, 1000, true)] {
            let (mut keys, spans) =
                list(&client, &bucket, None, (concurrency, page_size, lean)).await;
            keys.sort();
            // Same multiset: no key missing, none twice.
            assert_eq!(
                keys.len(),
                reference.len(),
                "concurrency {concurrency}, page {page_size}"
            );
            assert!(
                keys == reference,
                "concurrency {concurrency}, page {page_size}: key sets differ"
            );
            assert_partition(spans);
        }
        // Shards (even split of a fixed alphabet) add up to the key set.
        let mut all = Vec::new();
        for index in 0..6 {
            let range = shard_ranges("", Shard { index, count: 6 }, None);
            let (keys, _) =
                list(&client, &bucket, Some(vec![range.clone()]), (16, 100, true)).await;
            assert!(keys.iter().all(|k| range.contains(k)));
            all.extend(keys);
        }
        all.sort();
        assert!(all == reference, "shards do not add up to the key set");
    });
}

/// A page the fast reader refuses (here: with `CommonPrefixes`) is asked for
/// again and decoded by the SDK: the same keys, one request more, whether
/// the page came through the SDK (the first) or beside it (the next).
#[test]
fn a_page_the_fast_reader_refuses_is_decoded_by_the_sdk() {
    use mc_aws_common::listing::PageSource;
    use mc_benchkit::canned::{Answer, Canned};
    let page = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>b</Name><KeyCount>2</KeyCount><IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>1</Size></Contents><Contents><Key>b&amp;c</Key><Size>2</Size></Contents><CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>";
    let server = Canned::start_blocking(vec![Answer::new("GET", "/b", 200, page)]).unwrap();
    let rt = rt();
    rt.block_on(async {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKID", "secret", None, None, "test",
            ))
            .endpoint_url(server.endpoint())
            .force_path_style(true)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        let throttle = Throttle::new(1, None, Backoff::default());
        let credentials = aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("AKID", "secret", None, None, "test"),
        );
        let source =
            S3Source::new(client, "b", "", Arc::clone(&throttle)).credentials(Some(credentials));
        for round in 1..=2 {
            let page = source.list_page(None, None).await.unwrap();
            let keys: Vec<(&str, u64)> = page
                .items
                .iter()
                .map(|i| (i.key.as_str(), i.size))
                .collect();
            assert_eq!(keys, [("a", 1), ("b&c", 2)]);
            assert!(!page.truncated);
            assert_eq!(throttle.stats().requests, 2 * round);
            assert!(source.is_lean(), "the first page showed the route");
        }
    });
}

/// Against the S3 model checking every signature: after the first page the
/// lister signs its own ListObjectsV2 requests, lists every key exactly
/// (awkward keys in the prefixes and start keys it sends), and a lean page
/// whose credentials are refused is listed by the SDK instead.
#[test]
fn lean_pages_are_signed_and_list_exactly() {
    use crate::signed_model::{credentials as creds, SECRET};
    let rt = rt();
    rt.block_on(async {
        let (_model, client) = crate::signed_model::start("eu-west-1").await;
        client
            .create_bucket()
            .bucket("signed")
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = mc_testkit::awkward_keys()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        keys.extend((0..600).map(|i| format!("p q+r/{i:04}")));
        mc_testkit::put_objects(&client, "signed", keys.iter().map(|k| (k.clone(), b"x"))).await;
        keys.sort();
        let mut requests = Vec::new();
        for secret in [SECRET, "wrong-secret"] {
            let throttle = Throttle::new(8, None, Backoff::default());
            let source = S3Source::new(client.clone(), "signed", "", throttle.clone())
                .page_size(50)
                .credentials(Some(creds(secret)));
            let opts = ListOptions {
                concurrency: 8,
                ..ListOptions::default()
            };
            let mut listing = listing::list(source.clone(), opts);
            let mut got = Vec::new();
            while let Some(chunk) = listing.next().await {
                got.extend(chunk.unwrap().items.into_iter().map(|i| i.key));
            }
            got.sort();
            assert!(
                got == keys,
                "{secret}: {} keys listed of {}",
                got.len(),
                keys.len()
            );
            assert!(source.is_lean(), "{secret}: pages still go through the SDK");
            // Narrowed prefixes with awkward keys, through the lean path.
            let span = KeyRange::new(Some("p q+r/0100".into()), Some("p q+r/0420".into()));
            let spanned = source.list_span(&span).await.unwrap();
            assert_eq!(spanned.len(), 320, "{secret}");
            requests.push(throttle.stats().requests);
        }
        // Refused, each lean page was asked for again through the SDK.
        assert!(requests[1] > requests[0] * 5 / 4, "requests: {requests:?}");
    });
}
