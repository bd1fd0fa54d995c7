//! The seed's own command, as printed, against moto's SQS: installed as
//! `postman`, run from the folder holding `message.json`, with no region on
//! the command line (the environment gives it, as `~/.aws/config` would).
//!
//! ```text
//! $ postman message my-test-queue --message-source ./message.json --concurrent-producers 100 --total 1000
//! ```

use std::process::Command;

use mc_testkit::aws_sdk_sqs::types::QueueAttributeName;
use mc_testkit::cli::{bin, stderr, stdout};
use mc_testkit::Emulator;

/// The seed's `message.json` (a dummy message, pretty-printed).
const MESSAGE_JSON: &str = "{\n    \"message\": \"hello from sqs-postman\"\n}\n";

/// Creates `name` (the seed's fixed queue name) empty: the emulator may be
/// shared with an earlier run.
async fn empty_queue(emu: &Emulator, name: &str) -> String {
    let sqs = emu.sqs().await;
    let url = mc_testkit::create_queue(&sqs, name).await;
    sqs.purge_queue().queue_url(&url).send().await.unwrap();
    url
}

async fn visible(emu: &Emulator, url: &str) -> u64 {
    let out = emu
        .sqs()
        .await
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    out.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessages]
        .parse()
        .unwrap()
}

/// A few of the queue's message bodies.
async fn some_bodies(emu: &Emulator, url: &str) -> Vec<String> {
    let out = emu
        .sqs()
        .await
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages()
        .iter()
        .map(|m| m.body().unwrap().to_string())
        .collect()
}

/// `postman ARGS` in a folder holding the seed's `message.json`.
fn seed_postman(emu: &Emulator, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("message.json"), MESSAGE_JSON).unwrap();
    let mut cmd = Command::new(bin("postman"));
    emu.apply_env(&mut cmd);
    cmd.env_remove("DEBUG")
        .env_remove("RUST_LOG")
        .current_dir(dir.path())
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_command_runs_as_printed() {
    let emu = mc_testkit::moto();
    let url = empty_queue(emu, "my-test-queue").await;
    let out = tokio::task::spawn_blocking(move || {
        seed_postman(
            emu,
            &[
                "message",
                "my-test-queue",
                "--message-source",
                "./message.json",
                "--concurrent-producers",
                "100",
                "--total",
                "1000",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("sent 1,000 messages to my-test-queue in ")
            && text.contains(" of 1,000 requested"),
        "{text}"
    );
    assert_eq!(visible(emu, &url).await, 1000);
    // The file as it is, less the final newline (the original 0.1.6 sent it verbatim).
    let bodies = some_bodies(emu, &url).await;
    assert!(!bodies.is_empty());
    for body in bodies {
        assert_eq!(body, MESSAGE_JSON.trim_end());
    }
}

/// `--compact` sends the pretty-printed file as one line, as the original
/// did up to 0.1.5 (`JSON.stringify(require(file))`).
#[tokio::test(flavor = "multi_thread")]
async fn compact_sends_the_file_as_one_line() {
    let emu = mc_testkit::moto();
    let name = mc_testkit::unique_name("seed-compact");
    let url = empty_queue(emu, &name).await;
    let args = [
        "message",
        name.as_str(),
        "-m",
        "./message.json",
        "-t",
        "3",
        "--compact",
    ];
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        seed_postman(emu, &args)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(visible(emu, &url).await, 3);
    for body in some_bodies(emu, &url).await {
        assert_eq!(body, r#"{"message":"hello from sqs-postman"}"#);
    }
}
