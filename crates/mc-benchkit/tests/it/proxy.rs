//! The latency/fault proxy, in front of the S3 model and a trivial in-process SQS upstream.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use mc_benchkit::proxy::{FaultKind, Faults, FirstN, Latency, Proxy, ProxyConfig};
use mc_benchkit::s3model::{ModelConfig, S3Model};

fn raw_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        .retry_canceled_requests(false)
        .build(HttpConnector::new())
}

async fn get(c: &Client<HttpConnector, Full<Bytes>>, url: &str) -> Result<(u16, String), String> {
    let req = http::Request::get(url)
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let resp = c.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Within `k` standard deviations of a binomial(n, p) mean.
fn within(count: u64, n: u64, p: f64, k: f64) -> bool {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (count as f64 - mean).abs() <= k * sd + 1.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adds_configured_latency_within_a_few_ms() {
    let model = S3Model::start(ModelConfig::instant()).await.expect("model");
    model.create_bucket("bkt").expect("bucket");
    let proxy = Proxy::start(ProxyConfig {
        upstream: model.endpoint(),
        latency: Latency::Fixed(Duration::from_millis(60)),
        ..Default::default()
    })
    .await
    .expect("proxy");
    let c = raw_client();
    let direct_url = format!("{}/bkt?list-type=2", model.endpoint());
    let proxied_url = format!("{}/bkt?list-type=2", proxy.endpoint());
    // Warm both connections.
    get(&c, &direct_url).await.expect("direct");
    get(&c, &proxied_url).await.expect("proxied");
    let mut added = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        get(&c, &direct_url).await.expect("direct");
        let direct = t.elapsed();
        let t = Instant::now();
        let (status, _) = get(&c, &proxied_url).await.expect("proxied");
        assert_eq!(status, 200);
        added.push(t.elapsed().saturating_sub(direct));
    }
    added.sort();
    let median = added[added.len() / 2];
    // Loose bounds: never below the configured sleep, and within a few ms (generous for CI).
    assert!(
        median >= Duration::from_millis(58),
        "median added {median:?}"
    );
    assert!(
        median <= Duration::from_millis(60 + 25),
        "median added {median:?}"
    );
    let stats = proxy.stats();
    assert_eq!(stats.per_op.get("ListObjectsV2"), Some(&8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_faults_at_their_rates() {
    let model = S3Model::start(ModelConfig::instant()).await.expect("model");
    model.insert_object("bkt", "k", "x").expect("insert");
    let proxy = Proxy::start(ProxyConfig {
        upstream: model.endpoint(),
        faults: Faults {
            slowdown: 0.2,
            internal_error: 0.1,
            reset: 0.1,
            throttle: 0.5, // SQS only: must not hit S3 requests
            ..Default::default()
        },
        seed: 42,
        ..Default::default()
    })
    .await
    .expect("proxy");
    let c = raw_client();
    let url = format!("{}/bkt?list-type=2", proxy.endpoint());
    let n = 400u64;
    let (mut ok, mut slow, mut internal, mut reset) = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..n {
        match get(&c, &url).await {
            Ok((200, body)) => {
                assert!(body.contains("<Key>k</Key>"));
                ok += 1;
            }
            Ok((503, body)) => {
                assert!(body.contains("<Code>SlowDown</Code>"), "{body}");
                assert!(body.contains("<Message>Please reduce your request rate.</Message>"));
                slow += 1;
            }
            Ok((500, body)) => {
                assert!(body.contains("<Code>InternalError</Code>"), "{body}");
                internal += 1;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => reset += 1,
        }
    }
    assert!(within(slow, n, 0.2, 4.0), "slowdown {slow}/{n}");
    assert!(within(internal, n, 0.1, 4.0), "internal {internal}/{n}");
    assert!(within(reset, n, 0.1, 4.0), "reset {reset}/{n}");
    assert_eq!(ok + slow + internal + reset, n);
    let stats = proxy.stats();
    assert_eq!(stats.faults.get("SlowDown").copied().unwrap_or(0), slow);
    assert_eq!(
        stats.faults.get("InternalError").copied().unwrap_or(0),
        internal
    );
    assert_eq!(stats.faults.get("Reset").copied().unwrap_or(0), reset);
    assert_eq!(stats.faults.get("Throttle"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_n_slowdowns_are_deterministic_and_seen_by_the_sdk() {
    let model = S3Model::start(ModelConfig::instant()).await.expect("model");
    model.insert_object("bkt", "k", "x").expect("insert");
    let proxy = Proxy::start(ProxyConfig {
        upstream: model.endpoint(),
        faults: Faults {
            first_n: vec![FirstN {
                kind: FaultKind::SlowDown,
                op: Some("ListObjectsV2".into()),
                n: 2,
            }],
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("proxy");
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "t"))
        .endpoint_url(proxy.endpoint())
        .force_path_style(true)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    // Other operations are untouched.
    s3.head_object()
        .bucket("bkt")
        .key("k")
        .send()
        .await
        .expect("head");
    for _ in 0..2 {
        let e = s3
            .list_objects_v2()
            .bucket("bkt")
            .send()
            .await
            .expect_err("slowdown");
        assert_eq!(
            aws_sdk_s3::error::ProvideErrorMetadata::code(&e),
            Some("SlowDown")
        );
    }
    let out = s3
        .list_objects_v2()
        .bucket("bkt")
        .send()
        .await
        .expect("third");
    assert_eq!(out.key_count(), Some(1));
}

/// A trivial SQS JSON upstream recording the message ids it accepted.
async fn sqs_upstream(seen: Arc<Mutex<Vec<String>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: http::Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        async move {
                            let target = req
                                .headers()
                                .get("x-amz-target")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_owned();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|c| c.to_bytes())
                                .unwrap_or_default();
                            let json: serde_json::Value =
                                serde_json::from_slice(&body).unwrap_or_default();
                            let md5 = |s: &str| {
                                use md5::Digest;
                                md5::Md5::digest(s.as_bytes())
                                    .iter()
                                    .map(|b| format!("{b:02x}"))
                                    .collect::<String>()
                            };
                            let out = match target.as_str() {
                                "AmazonSQS.SendMessageBatch" => {
                                    let mut ok = Vec::new();
                                    for e in json["Entries"].as_array().cloned().unwrap_or_default()
                                    {
                                        let id = e["Id"].as_str().unwrap_or("").to_owned();
                                        let b = e["MessageBody"].as_str().unwrap_or("");
                                        seen.lock().expect("lock").push(id.clone());
                                        ok.push(serde_json::json!({"Id": id, "MessageId": format!("m-{id}"), "MD5OfMessageBody": md5(b)}));
                                    }
                                    serde_json::json!({"Successful": ok, "Failed": []})
                                }
                                _ => {
                                    let b = json["MessageBody"].as_str().unwrap_or("");
                                    serde_json::json!({"MessageId": "m-1", "MD5OfMessageBody": md5(b)})
                                }
                            };
                            let mut r =
                                http::Response::new(Full::new(Bytes::from(out.to_string())));
                            r.headers_mut().insert(
                                "content-type",
                                http::HeaderValue::from_static("application/x-amz-json-1.0"),
                            );
                            Ok::<_, Infallible>(r)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "a", "b", None, None, "t",
        ))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

const QUEUE: &str = "http://127.0.0.1:1/000000000000/q";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_throttling_is_parsed_by_the_sdk() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let upstream = sqs_upstream(seen).await;
    let proxy = Proxy::start(ProxyConfig {
        upstream,
        faults: Faults {
            first_n: vec![FirstN {
                kind: FaultKind::Throttle,
                op: Some("SendMessage".into()),
                n: 1,
            }],
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("proxy");
    let sqs = sqs_client(&proxy.endpoint());
    let e = sqs
        .send_message()
        .queue_url(QUEUE)
        .message_body("hi")
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(e.code(), Some("ThrottlingException"), "{e:?}");
    let raw = e.raw_response().expect("raw");
    assert_eq!(raw.status().as_u16(), 400);
    assert_eq!(
        raw.headers().get("x-amzn-query-error"),
        Some("ThrottlingException;Sender")
    );
    sqs.send_message()
        .queue_url(QUEUE)
        .message_body("hi")
        .send()
        .await
        .expect("second succeeds");
    assert_eq!(proxy.stats().faults.get("Throttle"), Some(&1));
    assert_eq!(proxy.stats().per_op.get("SendMessage"), Some(&2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_message_batch_partial_failures_are_not_delivered() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let upstream = sqs_upstream(seen.clone()).await;
    let proxy = Proxy::start(ProxyConfig {
        upstream,
        faults: Faults {
            batch_entry_failure: 0.3,
            ..Default::default()
        },
        seed: 7,
        ..Default::default()
    })
    .await
    .expect("proxy");
    let sqs = sqs_client(&proxy.endpoint());
    let mut ok_ids = HashSet::new();
    let mut failed_ids = HashSet::new();
    let batches = 40;
    for b in 0..batches {
        let entries: Vec<_> = (0..10)
            .map(|i| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("b{b}-e{i}"))
                    .message_body(format!("body {b} {i}"))
                    .build()
                    .expect("entry")
            })
            .collect();
        let out = sqs
            .send_message_batch()
            .queue_url(QUEUE)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("batch");
        assert_eq!(out.successful().len() + out.failed().len(), 10);
        for s in out.successful() {
            ok_ids.insert(s.id().to_owned());
        }
        for f in out.failed() {
            assert!(!f.sender_fault());
            assert_eq!(f.code(), "InternalError");
            failed_ids.insert(f.id().to_owned());
        }
    }
    let delivered: HashSet<String> = seen.lock().expect("lock").iter().cloned().collect();
    assert_eq!(
        delivered, ok_ids,
        "exactly the successful entries reached the upstream"
    );
    assert!(ok_ids.is_disjoint(&failed_ids));
    let n = batches * 10;
    assert!(
        within(failed_ids.len() as u64, n, 0.3, 4.0),
        "failed {}/{n}",
        failed_ids.len()
    );
    assert_eq!(
        proxy.stats().faults.get("BatchEntryFailure").copied(),
        Some(failed_ids.len() as u64)
    );
}

#[test]
fn blocking_start_works_without_a_runtime() {
    let model = S3Model::start_blocking(ModelConfig::instant()).expect("model");
    model.create_bucket("bkt").expect("bucket");
    let proxy = Proxy::start_blocking(ProxyConfig {
        upstream: model.endpoint(),
        ..Default::default()
    })
    .expect("proxy");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (status, body) = rt
        .block_on(get(
            &raw_client(),
            &format!("{}/bkt?list-type=2", proxy.endpoint()),
        ))
        .expect("get");
    assert_eq!(status, 200, "{body}");
    assert_eq!(proxy.stats().forwarded, 1);
}
