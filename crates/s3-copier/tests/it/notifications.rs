//! Pre-flight reads the destination's event notifications on ministack
//! (which stores and returns them as S3 does): a warning naming every
//! Lambda function, queue, topic and EventBridge delivery the copies
//! trigger; a loop straight back to the worker's queue (or `sync
//! --queue-arn`) refused with exit 2 unless `--allow-notification-loop`;
//! access denied (through the bench kit's proxy) only a warning.
#![allow(clippy::unwrap_used)]

use crate::common;

use aws_sdk_s3::types::{
    Event, EventBridgeConfiguration, FilterRule, FilterRuleName, LambdaFunctionConfiguration,
    NotificationConfiguration, NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    TopicConfiguration,
};
use common::*;
use mc_benchkit::proxy::{FaultKind, Faults, FirstN, Proxy, ProxyConfig};

fn queue_config(id: &str, arn: &str, event: &str) -> QueueConfiguration {
    QueueConfiguration::builder()
        .id(id)
        .queue_arn(arn)
        .events(Event::from(event))
        .build()
        .unwrap()
}

async fn notify(bucket: &str, config: NotificationConfiguration) {
    s3().await
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(config)
        .skip_destination_validation(true)
        .send()
        .await
        .unwrap();
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn warns_by_name_about_every_target_the_copies_trigger() {
    let (s3, src, dst) = buckets("notif").await;
    mc_testkit::put_objects(&s3, &src, [("img/a.jpg", "a")]).await;
    let (_, indexer) = queue("indexer").await;
    let (_, uploads) = queue("uploads").await;
    // The account and region of ARNs the emulator accepts, from a queue's.
    let parts: Vec<&str> = indexer.split(':').collect();
    let (region, account) = (parts[3], parts[4]);
    let lambda = format!("arn:aws:lambda:{region}:{account}:function:thumbnails");
    let topic = format!("arn:aws:sns:{region}:{account}:fanout");
    let logs_only = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value("logs/")
                        .build(),
                )
                .build(),
        )
        .build();
    let config = NotificationConfiguration::builder()
        .lambda_function_configurations(
            LambdaFunctionConfiguration::builder()
                .id("thumbs")
                .lambda_function_arn(&lambda)
                .events(Event::from("s3:ObjectCreated:*"))
                .build()
                .unwrap(),
        )
        .queue_configurations(queue_config("index", &indexer, "s3:ObjectCreated:Copy"))
        // Neither triggered: PUTs only, and another folder.
        .queue_configurations(queue_config("puts", &uploads, "s3:ObjectCreated:Put"))
        .queue_configurations(
            QueueConfiguration::builder()
                .id("logs")
                .queue_arn(&uploads)
                .events(Event::from("s3:ObjectCreated:*"))
                .filter(logs_only)
                .build()
                .unwrap(),
        )
        .topic_configurations(
            TopicConfiguration::builder()
                .id("fan")
                .topic_arn(&topic)
                .events(Event::from("s3:ObjectCreated:*"))
                .build()
                .unwrap(),
        )
        .event_bridge_configuration(EventBridgeConfiguration::builder().build())
        .build();
    notify(&dst, config).await;

    let out = sync_json(&format!("s3://{src}/img"), &format!("s3://{dst}/img"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let notes: Vec<String> = report(&out)["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let about = |needle: &str| notes.iter().filter(|n| n.contains(needle)).count();
    assert_eq!(
        about(&format!("notification \"thumbs\" invokes Lambda function thumbnails ({lambda}) on s3:ObjectCreated:*: every copy invokes it")),
        1,
        "{notes:#?}"
    );
    assert_eq!(
        about(&format!("sends to SQS queue {}", parts[5])),
        1,
        "{notes:#?}"
    );
    assert_eq!(about("publishes to SNS topic fanout"), 1, "{notes:#?}");
    assert_eq!(about("Amazon EventBridge"), 1, "{notes:#?}");
    assert_eq!(
        about("cannot see"),
        2,
        "SNS and EventBridge fan-out: {notes:#?}"
    );
    assert_eq!(about(&uploads), 0, "not triggered: {notes:#?}");
    // And on stderr, as warnings.
    assert!(stderr(&out).contains("Lambda function thumbnails"));
}

#[tokio::test]
async fn a_loop_back_to_the_copiers_own_queue_is_refused_unless_allowed() {
    let (s3, src, dst) = buckets("loop").await;
    mc_testkit::put_objects(&s3, &src, [("a", "x")]).await;
    let (url, arn) = queue("loop-events").await;
    notify(
        &dst,
        NotificationConfiguration::builder()
            .queue_configurations(queue_config("back", &arn, "s3:ObjectCreated:*"))
            .build(),
    )
    .await;
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let worker = |extra: &[&str]| {
        let mut args = vec!["worker", "--queue", &url, "--exit-when-idle", "1"];
        args.extend_from_slice(extra);
        args.extend([s.as_str(), d.as_str()]);
        run(&args)
    };
    let refused = |out: &std::process::Output| {
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("s3-copier: error: pre-flight: destination bucket"),
            "{err}"
        );
        assert!(
            err.contains("notification \"back\" sends to SQS queue"),
            "{err}"
        );
        assert!(err.contains("the copier's own input"), "{err}");
        assert!(err.contains("--allow-notification-loop"), "{err}");
    };
    refused(&worker(&[]));
    refused(&run(&["sync", "--queue-arn", &arn, &s, &d]));
    assert!(
        mc_testkit::list_all_keys(&s3, &dst, "").await.is_empty(),
        "nothing copied"
    );
    let out = worker(&["--allow-notification-loop"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("allowed by --allow-notification-loop"));
    // sync without the queue's ARN cannot know it: a warning only.
    let out = run(&["sync", &s, &d]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("every copy puts a message on it"));
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_to_the_configuration_is_a_warning() {
    let (s3, src, dst) = buckets("notif-denied").await;
    mc_testkit::put_objects(&s3, &src, [("a", "x")]).await;
    let proxy = Proxy::start_blocking(ProxyConfig {
        upstream: emulator().endpoint().to_string(),
        faults: Faults {
            first_n: vec![FirstN {
                kind: FaultKind::AccessDenied,
                op: Some("GetBucketNotificationConfiguration".into()),
                n: u64::MAX,
            }],
            ..Faults::default()
        },
        ..ProxyConfig::default()
    })
    .unwrap();
    let out = copier()
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .args(["sync", &format!("s3://{src}"), &format!("s3://{dst}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("event notifications of destination bucket {dst} not checked (access denied: the identity needs s3:GetBucketNotification)")),
        "{}",
        stderr(&out)
    );
    assert_eq!(proxy.stats().faults.get("AccessDenied"), Some(&1));
    assert_eq!(mc_testkit::list_all_keys(&s3, &dst, "").await, ["a"]);
}
