//! fauxqs through the launcher (skipped with a message when scripts/setup-bench.sh has not run).

use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fauxqs_serves_sqs_on_loopback() {
    if !mc_benchkit::fauxqs::available() {
        eprintln!("skipped: fauxqs not installed (run scripts/setup-bench.sh)");
        return;
    }
    let f = mc_benchkit::fauxqs::start().expect("start fauxqs");
    assert!(
        f.endpoint.starts_with("http://127.0.0.1:"),
        "{}",
        f.endpoint
    );
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "t"))
        .endpoint_url(&f.endpoint)
        .build();
    let sqs = aws_sdk_sqs::Client::from_conf(conf);
    let q = sqs
        .create_queue()
        .queue_name("bench")
        .send()
        .await
        .expect("create queue");
    let url = q.queue_url().expect("url").to_owned();
    let entries: Vec<_> = (0..10)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body(format!("m{i}"))
                .build()
                .expect("entry")
        })
        .collect();
    let out = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .expect("batch");
    assert_eq!(out.successful().len(), 10);
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    assert!(!got.messages().is_empty());
    let pid = f.child.id();
    drop(f);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true),
        "fauxqs still running after drop"
    );
}
