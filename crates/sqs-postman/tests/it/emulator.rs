//! The real binary against ministack SQS (and the fault proxy in front of it).

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::process::Output;

use mc_benchkit::proxy::{FaultKind, Faults, FirstN, Proxy, ProxyConfig};
use mc_testkit::aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use mc_testkit::cli::{bin, stderr, stdout};
use mc_testkit::{ministack, unique_name, Emulator};

/// The binary with the emulator's env (and `endpoint` instead of the emulator's, if given).
fn postman(emu: &Emulator, endpoint: Option<&str>) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin("sqs-postman"));
    emu.apply_env(&mut cmd);
    cmd.env_remove("DEBUG").env_remove("RUST_LOG");
    if let Some(e) = endpoint {
        cmd.env("AWS_ENDPOINT_URL", e);
    }
    cmd
}

fn run(mut cmd: std::process::Command, args: &[&str], stdin: Option<&[u8]>) -> Output {
    cmd.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        pipe.write_all(data).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn summary(out: &Output) -> serde_json::Value {
    let text = stdout(out);
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {text}\nstderr: {}", stderr(out)))
}

fn file(content: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(content.as_bytes()).unwrap();
    f
}

async fn queue(emu: &Emulator, name: &str, attrs: &[(QueueAttributeName, &str)]) -> String {
    let sqs = emu.sqs().await;
    let mut req = sqs.create_queue().queue_name(name);
    for (k, v) in attrs {
        req = req.attributes(k.clone(), *v);
    }
    req.send().await.unwrap().queue_url().unwrap().to_string()
}

/// A received message: body, attributes we care about.
#[derive(Debug)]
struct Received {
    body: String,
    group: Option<String>,
    attrs: BTreeMap<String, String>,
}

/// Receives (and deletes: FIFO queues hold back a group while it has messages
/// in flight) until the queue has nothing left.
async fn receive_all(emu: &Emulator, url: &str) -> Vec<Received> {
    let sqs = emu.sqs().await;
    let mut all = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let msgs = out.messages();
        if msgs.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        let mut delete = sqs.delete_message_batch().queue_url(url);
        for (i, m) in msgs.iter().enumerate() {
            delete = delete.entries(
                mc_testkit::aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap())
                    .build()
                    .unwrap(),
            );
        }
        let deleted = delete.send().await.unwrap();
        assert!(deleted.failed().is_empty(), "{:?}", deleted.failed());
        for m in msgs {
            all.push(Received {
                body: m.body().unwrap_or_default().to_string(),
                group: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                    .cloned(),
                attrs: m
                    .message_attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| {
                                (k.clone(), v.string_value().unwrap_or_default().to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_exactly_n_messages_with_distinct_uniques() {
    let emu = ministack();
    let name = unique_name("postman-n");
    let url = queue(emu, &name, &[]).await;
    let tpl = file(r#"{"id":"%unique%","n":%seq%,"at":"%timestamp%"}"#);
    let out = run(
        postman(emu, None),
        &[
            "message",
            &name,
            "-m",
            tpl.path().to_str().unwrap(),
            "-t",
            "1500",
            "-c",
            "16",
            "-o",
            "json",
        ],
        None,
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let s = summary(&out);
    assert_eq!(s["sent"], 1500);
    assert_eq!(s["failed"], 0);
    assert_eq!(s["unsent"], 0);
    assert_eq!(s["batches"], 150);
    assert!(s["latency_ms"]["p50"].as_f64().unwrap() > 0.0);

    let got = receive_all(emu, &url).await;
    assert_eq!(got.len(), 1500);
    let mut ids = HashSet::new();
    let mut seqs = HashSet::new();
    for m in &got {
        let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
        ids.insert(v["id"].as_str().unwrap().to_string());
        seqs.insert(v["n"].as_u64().unwrap());
        assert!(v["at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(ids.len(), 1500, "every %unique% is distinct");
    assert_eq!(seqs, (1..=1500).collect());
}

#[tokio::test(flavor = "multi_thread")]
async fn default_is_one_message_by_url_with_original_flags() {
    let emu = ministack();
    let name = unique_name("postman-one");
    let url = queue(emu, &name, &[]).await;
    let tpl = file("{\"hello\": \"world\"}\n");
    let out = run(
        postman(emu, None),
        &[
            "message",
            &url,
            "--message-source",
            tpl.path().to_str().unwrap(),
            "--aws-region",
            emu.region(),
        ],
        None,
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(
        stdout(&out).starts_with("sent 1 messages to "),
        "{}",
        stdout(&out)
    );
    let got = receive_all(emu, &url).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "{\"hello\": \"world\"}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifo_copies_are_not_deduplicated_and_groups_rotate() {
    let emu = ministack();
    let name = format!("{}.fifo", unique_name("postman-fifo"));
    let url = queue(
        emu,
        &name,
        &[
            (QueueAttributeName::FifoQueue, "true"),
            (QueueAttributeName::ContentBasedDeduplication, "true"),
        ],
    )
    .await;
    // The same body every time: content-based deduplication would keep one.
    let tpl = file(r#"{"same":"body"}"#);
    let out = run(
        postman(emu, None),
        &[
            "message",
            &name,
            "-m",
            tpl.path().to_str().unwrap(),
            "-t",
            "120",
            "--groups",
            "4",
            "-o",
            "json",
        ],
        None,
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(summary(&out)["sent"], 120);
    let got = receive_all(emu, &url).await;
    assert_eq!(got.len(), 120);
    let mut per_group: BTreeMap<String, usize> = BTreeMap::new();
    for m in &got {
        *per_group.entry(m.group.clone().unwrap()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> =
        (0..4).map(|i| (format!("sqs-postman-{i}"), 30)).collect();
    assert_eq!(per_group, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_message_is_rejected_before_sending() {
    let emu = ministack();
    let name = unique_name("postman-big");
    let url = queue(
        emu,
        &name,
        &[(QueueAttributeName::MaximumMessageSize, "1024")],
    )
    .await;
    let tpl = file(&format!("\"{}\"", "x".repeat(1100)));
    let out = run(
        postman(emu, None),
        &[
            "message",
            &name,
            "-m",
            tpl.path().to_str().unwrap(),
            "-t",
            "10",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("sqs-postman: error: "), "{err}");
    assert!(
        err.contains("over the queue's MaximumMessageSize of 1024 bytes"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(receive_all(emu, &url).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_lines_from_stdin_with_a_bad_line() {
    let emu = ministack();
    let name = unique_name("postman-lines");
    let url = queue(emu, &name, &[]).await;
    let mut input = String::new();
    for i in 0..250 {
        input.push_str(&format!("{{\"line\":{i}}}\n"));
        if i == 99 {
            input.push_str("\nnot json\n");
        }
    }
    let out = run(
        postman(emu, None),
        &[
            "message",
            &name,
            "-m",
            "-",
            "--lines",
            "-o",
            "json",
            "-a",
            "kind=test",
            "-a",
            "n:Number=%seq%",
        ],
        Some(input.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("line 102: not valid JSON"), "{err}");
    assert!(
        err.contains("1 message(s) not delivered (1 failed, 0 not sent)"),
        "{err}"
    );
    let s = summary(&out);
    assert_eq!(
        (s["sent"].as_u64(), s["failed"].as_u64()),
        (Some(250), Some(1))
    );
    assert_eq!(s["errors"][0]["code"], "InvalidJson");
    let got = receive_all(emu, &url).await;
    assert_eq!(got.len(), 250);
    let lines: HashSet<u64> = got
        .iter()
        .map(|m| {
            serde_json::from_str::<serde_json::Value>(&m.body).unwrap()["line"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(lines, (0..250).collect());
    assert!(got
        .iter()
        .all(|m| m.attrs.get("kind").map(String::as_str) == Some("test")));
    let mut ns: Vec<u64> = got.iter().map(|m| m.attrs["n"].parse().unwrap()).collect();
    ns.sort_unstable();
    assert_eq!(ns, (1..=251).filter(|&n| n != 101).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_template_from_stdin() {
    let emu = ministack();
    let name = unique_name("postman-raw");
    let url = queue(emu, &name, &[]).await;
    let out = run(
        postman(emu, None),
        &["message", &name, "-m", "-", "-t", "3", "--raw"],
        Some(b"plain text %seq%"),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let mut bodies: Vec<String> = receive_all(emu, &url)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["plain text 1", "plain text 2", "plain text 3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_counts_and_nagios() {
    let emu = ministack();
    let name = unique_name("postman-stats");
    queue(emu, &name, &[]).await;
    let tpl = file("{}");
    let out = run(
        postman(emu, None),
        &[
            "message",
            &name,
            "-m",
            tpl.path().to_str().unwrap(),
            "-t",
            "7",
            "-q",
        ],
        None,
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "-q prints nothing on success");

    let out = run(postman(emu, None), &["stats", &name, "-o", "json"], None);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let s = summary(&out);
    assert_eq!(
        (
            s["visible"].as_u64(),
            s["in_flight"].as_u64(),
            s["delayed"].as_u64()
        ),
        (Some(7), Some(0), Some(0))
    );

    let out = run(postman(emu, None), &["stats", &name], None);
    assert!(stdout(&out).contains("visible"), "{}", stdout(&out));

    let out = run(
        postman(emu, None),
        &["stats", &name, "--nagios", "-w", "5", "-c", "10"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("SQS WARNING - "),
        "{}",
        stdout(&out)
    );

    let out = run(
        postman(emu, None),
        &["stats", "no-such-queue-xyz", "--nagios"],
        None,
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).starts_with("SQS UNKNOWN - queue no-such-queue-xyz: does not exist"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_give_one_line_and_documented_codes() {
    let emu = ministack();
    let name = unique_name("postman-bad");
    queue(emu, &name, &[]).await;
    let good = file("{}");
    let good = good.path().to_str().unwrap();
    let invalid = file("{\"a\": ");

    let cases: Vec<(Vec<&str>, Option<i32>, &str)> = vec![
        (
            vec!["message", &name, "-m", "/no/such/file.json"],
            Some(3),
            "message source /no/such/file.json: No such file",
        ),
        (
            vec!["message", &name, "-m", invalid.path().to_str().unwrap()],
            Some(2),
            "not valid JSON",
        ),
        (
            vec!["message", "no-such-queue-xyz", "-m", good],
            Some(3),
            "queue no-such-queue-xyz: does not exist",
        ),
        (
            vec!["message", &name, "-m", good, "-t", "0"],
            Some(2),
            "--total must be at least 1",
        ),
        (
            vec!["message", &name, "-m", good, "--groups", "3"],
            Some(2),
            "are for FIFO queues",
        ),
        (
            vec!["message", &name, "-m", good, "--rate", "fast"],
            Some(2),
            "is not a positive rate",
        ),
    ];
    for (args, code, needle) in cases {
        let out = run(postman(emu, None), &args, None);
        let err = stderr(&out);
        assert_eq!(out.status.code(), code, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        if code != Some(2) || !needle.contains("rate") {
            assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        }
    }

    // No credentials anywhere: empty config files, no keys, no instance metadata.
    let mut cmd = postman(emu, None);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let out = run(cmd, &["message", &name, "-m", good], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("no AWS credentials found"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

/// Hostile message sources (issue 11): a template is one `sqs-postman: error:`
/// line and exit 2; a `--lines` stream warns per bad line and exits 1. Nothing
/// is sent either way.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_message_sources_send_nothing() {
    let emu = ministack();
    let name = unique_name("postman-hostile");
    let url = queue(emu, &name, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    for (case, path) in mc_testkit::badinput::hostile_files(dir.path()) {
        let path = path.to_str().unwrap();
        let needle = match case {
            "empty" => "empty (SQS does not accept empty messages)",
            "huge-line" => "larger than any SQS message can be",
            _ => "not valid UTF-8",
        };
        let out = run(postman(emu, None), &["message", &name, "-m", path], None);
        mc_testkit::badinput::assert_one_error_line("sqs-postman", case, &out, 2, needle);
        let out = run(
            postman(emu, None),
            &["message", &name, "-m", path, "--lines"],
            None,
        );
        // A stream skips bad lines: one warning per line (at most 10), then
        // one error line with the count, exit 1.
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().collect();
        if case == "empty" {
            assert_eq!(
                (out.status.code(), lines.len()),
                (Some(0), 0),
                "{case}: {err}"
            );
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "--lines {case}: {err}");
        assert!(lines.len() <= 11, "--lines {case}: {err}");
        let (last, warnings) = lines.split_last().unwrap();
        assert!(
            last.starts_with("sqs-postman: error: ") && last.contains("not delivered"),
            "--lines {case}: {err}"
        );
        assert!(
            warnings
                .iter()
                .all(|w| w.contains("WARN line ") && w.ends_with("; not sent")),
            "--lines {case}: {err}"
        );
        if case == "huge-line" {
            assert!(
                err.contains("line 1: line is over the queue's MaximumMessageSize"),
                "{err}"
            );
        }
    }
    assert!(receive_all(emu, &url).await.is_empty());
}

/// (case, endpoint instead of the emulator's, arguments, exit code, text of the line)
type Case<'a> = (&'a str, Option<&'a str>, Vec<&'a str>, i32, &'a str);

/// Unknown queue, unknown profile, expired credentials: one line, exit 3 / 4.
#[tokio::test(flavor = "multi_thread")]
async fn aws_side_failures_are_one_line_with_their_exit_code() {
    let emu = ministack();
    let name = unique_name("postman-auth");
    let url = queue(emu, &name, &[]).await;
    let good = file("{}");
    let good = good.path().to_str().unwrap();
    let expired = Proxy::expired_credentials(emu.endpoint()).unwrap();
    let expired = expired.endpoint();
    let cases: Vec<Case<'_>> = vec![
        (
            "stats: unknown queue",
            None,
            vec!["stats", "no-such-queue-xyz"],
            3,
            "queue no-such-queue-xyz: does not exist",
        ),
        (
            "message --profile nope",
            None,
            vec!["message", &name, "-m", good, "--profile", "nope"],
            4,
            "profile nope: not found in",
        ),
        (
            "stats --profile nope",
            None,
            vec!["stats", &name, "--profile", "nope"],
            4,
            "profile nope: not found in",
        ),
        (
            "message: expired token",
            Some(&expired),
            vec!["message", &name, "-m", good],
            4,
            "credentials rejected (ExpiredToken)",
        ),
        (
            "stats: expired token",
            Some(&expired),
            vec!["stats", &name],
            4,
            "credentials rejected (ExpiredToken)",
        ),
    ];
    for (case, endpoint, args, code, needle) in cases {
        let out = run(postman(emu, endpoint), &args, None);
        mc_testkit::badinput::assert_one_error_line("sqs-postman", case, &out, code, needle);
        assert!(out.stdout.is_empty(), "{case}: {}", stdout(&out));
    }
    assert!(receive_all(emu, &url).await.is_empty());
}

fn proxy(emu: &Emulator, faults: Faults) -> Proxy {
    Proxy::start_blocking(ProxyConfig {
        upstream: emu.endpoint().to_string(),
        faults,
        seed: 7,
        ..ProxyConfig::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_batch_failures_are_resent_and_counted() {
    let emu = ministack();
    let name = unique_name("postman-partial");
    let url = queue(emu, &name, &[]).await;
    let p = proxy(
        emu,
        Faults {
            first_n: vec![FirstN {
                kind: FaultKind::BatchEntryFailure,
                op: Some("SendMessageBatch".into()),
                n: 15,
            }],
            ..Faults::default()
        },
    );
    let tpl = file(r#"{"id":"%unique%"}"#);
    let out = run(
        postman(emu, Some(&p.endpoint())),
        &[
            "message",
            &name,
            "-m",
            tpl.path().to_str().unwrap(),
            "-t",
            "200",
            "-c",
            "4",
            "-o",
            "json",
        ],
        None,
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let s = summary(&out);
    assert_eq!(
        (
            s["sent"].as_u64(),
            s["failed"].as_u64(),
            s["retried"].as_u64()
        ),
        (Some(200), Some(0), Some(15))
    );
    assert_eq!(p.stats().faults["BatchEntryFailure"], 15);
    let got = receive_all(emu, &url).await;
    assert_eq!(got.len(), 200);
    assert_eq!(
        got.iter().map(|m| &m.body).collect::<HashSet<_>>().len(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_backs_off_and_delivers_everything() {
    let emu = ministack();
    let name = unique_name("postman-throttle");
    let url = queue(emu, &name, &[]).await;
    let p = proxy(
        emu,
        Faults {
            first_n: vec![FirstN {
                kind: FaultKind::Throttle,
                op: Some("SendMessageBatch".into()),
                n: 6,
            }],
            ..Faults::default()
        },
    );
    let tpl = file("{}");
    let out = run(
        postman(emu, Some(&p.endpoint())),
        &[
            "message",
            &name,
            "-m",
            tpl.path().to_str().unwrap(),
            "-t",
            "100",
            "-c",
            "8",
            "-o",
            "json",
        ],
        None,
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let s = summary(&out);
    assert_eq!(s["sent"], 100);
    assert_eq!(s["throttled"], 6);
    assert_eq!(s["request_retries"], 6);
    assert_eq!(receive_all(emu, &url).await.len(), 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn permanent_failures_exit_non_zero() {
    let emu = ministack();
    let name = unique_name("postman-perm");
    let url = queue(emu, &name, &[]).await;
    // Every entry of every batch fails (not the sender's fault) until attempts run out.
    let p = proxy(
        emu,
        Faults {
            batch_entry_failure: 1.0,
            only_ops: vec!["SendMessageBatch".into()],
            ..Faults::default()
        },
    );
    let tpl = file("{}");
    let out = run(
        postman(emu, Some(&p.endpoint())),
        &[
            "message",
            &name,
            "-m",
            tpl.path().to_str().unwrap(),
            "-t",
            "30",
            "--max-attempts",
            "2",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let s = summary(&out);
    assert_eq!(
        (
            s["sent"].as_u64(),
            s["failed"].as_u64(),
            s["retried"].as_u64()
        ),
        (Some(0), Some(30), Some(30))
    );
    assert_eq!(s["errors"][0]["code"], "InternalError");
    assert!(stderr(&out).contains("30 message(s) not delivered (30 failed, 0 not sent)"));
    assert!(receive_all(emu, &url).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_and_duration_bound_the_load() {
    let emu = ministack();
    let name = unique_name("postman-rate");
    let url = queue(emu, &name, &[]).await;
    let tpl = file(r#"{"n":%seq%}"#);
    let out = run(
        postman(emu, None),
        &[
            "message",
            &name,
            "-m",
            tpl.path().to_str().unwrap(),
            "--rate",
            "40/s",
            "--duration",
            "1s",
            "-o",
            "json",
        ],
        None,
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let s = summary(&out);
    let sent = s["sent"].as_u64().unwrap();
    // Evenly spaced at 40/s for one second: never more than 41.
    assert!((1..=41).contains(&sent), "sent {sent}");
    assert!(s["requested"].is_null());
    assert_eq!(receive_all(emu, &url).await.len() as u64, sent);
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_env_turns_on_debug_logs() {
    let emu = ministack();
    let name = unique_name("postman-debug");
    queue(emu, &name, &[]).await;
    let tpl = file("{}");
    let mut cmd = postman(emu, None);
    cmd.env("DEBUG", "sqs-postman");
    let out = run(
        cmd,
        &["message", &name, "-m", tpl.path().to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("queue resolved"), "{}", stderr(&out));
    let out = run(
        postman(emu, None),
        &["message", &name, "-m", tpl.path().to_str().unwrap()],
        None,
    );
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

/// `stats -o json | head -1` only reads: it ends quietly with 0, whether the
/// pipe closes after its line or before it could write at all.
#[tokio::test(flavor = "multi_thread")]
async fn stats_into_a_closed_pipe_ends_quietly() {
    let emu = ministack();
    let name = unique_name("postman-head");
    queue(emu, &name, &[]).await;
    let args = ["stats", name.as_str(), "-o", "json"].map(String::from);
    let (head, closed) = tokio::task::spawn_blocking(move || {
        let mut cmd = postman(emu, None);
        cmd.args(&args);
        let head = mc_testkit::cli::first_line_then_close(&mut cmd);
        let mut cmd = postman(emu, None);
        cmd.args(&args);
        (head, mc_testkit::cli::run_with_stdout_closed(&mut cmd))
    })
    .await
    .unwrap();
    assert_eq!(head.status.code(), Some(0), "{}", head.stderr);
    assert!(head.stderr.is_empty(), "{}", head.stderr);
    let line: serde_json::Value = serde_json::from_str(head.first_line.trim()).unwrap();
    assert_eq!(line["queue"], name.as_str());
    assert_eq!(closed.status.code(), Some(0), "{}", stderr(&closed));
    assert!(closed.stderr.is_empty(), "{}", stderr(&closed));
}

/// `message` writes: with its stdout closed it never claims success. It ends
/// with 130, and its summary goes to stderr instead, so every message is
/// accounted for (here: all of them sent, and in the queue).
#[tokio::test(flavor = "multi_thread")]
async fn message_into_a_closed_pipe_never_claims_success() {
    let emu = ministack();
    let name = unique_name("postman-closed");
    let url = queue(emu, &name, &[]).await;
    let tpl = file(r#"{"n":%seq%}"#);
    let path = tpl.path().to_str().unwrap().to_string();
    for (output, total) in [("human", 200u64), ("json", 30)] {
        let args = [
            "message",
            &name,
            "-m",
            &path,
            "-t",
            &total.to_string(),
            "-o",
            output,
        ]
        .map(|a| a.to_string());
        let out = tokio::task::spawn_blocking(move || {
            let mut cmd = postman(emu, None);
            cmd.args(&args).stdin(std::process::Stdio::null());
            mc_testkit::cli::run_with_stdout_closed(&mut cmd)
        })
        .await
        .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "{output}: {err}");
        assert!(
            err.contains(&format!("sent {total} messages to {name}")),
            "{output}: {err}"
        );
        assert!(err.contains("failed 0, not sent 0"), "{output}: {err}");
        assert!(err.contains("stdout was closed"), "{output}: {err}");
        assert_eq!(receive_all(emu, &url).await.len() as u64, total);
    }
}

/// Ctrl-C mid-run: no new batches, the ones in flight finish, the summary
/// accounts for every message (sent + not sent = requested, and the queue
/// holds exactly the sent ones), exit 130.
#[tokio::test(flavor = "multi_thread")]
async fn sigint_stops_cleanly_and_accounts_for_every_message() {
    let emu = ministack();
    let name = unique_name("postman-sigint");
    let url = queue(emu, &name, &[]).await;
    let tpl = file(r#"{"n":%seq%}"#);
    let child = postman(emu, None)
        .args(["message", &name, "-m", tpl.path().to_str().unwrap()])
        .args(["-t", "2000", "--rate", "100/s", "-o", "json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first messages have arrived (bounded wait).
    let sqs = emu.sqs().await;
    for _ in 0..200 {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        let n: u64 = attrs.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessages]
            .parse()
            .unwrap();
        if n > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(130), "stderr: {}", stderr(&out));
    let s = summary(&out);
    assert_eq!(s["interrupted"], true);
    let (sent, failed, unsent) = (
        s["sent"].as_u64().unwrap(),
        s["failed"].as_u64().unwrap(),
        s["unsent"].as_u64().unwrap(),
    );
    assert_eq!(failed, 0);
    assert!(sent > 0 && unsent > 0, "{s}");
    assert_eq!(sent + unsent, 2000, "{s}");
    assert_eq!(receive_all(emu, &url).await.len() as u64, sent);
    assert!(
        stderr(&out).contains("sqs-postman: interrupted"),
        "{}",
        stderr(&out)
    );
}
