//! A closed stdout: the plan (it only reads) ends quietly with 0; `--apply`
//! stops as on SIGINT: the keys in flight finish, the state is saved, exit
//! 130, and the same command then finishes the rest.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use aws_sdk_s3::types::ObjectCannedAcl;

fn tool(args: &[String]) -> Command {
    let mut c = Command::new(mc_testkit::cli::bin("acl-reconciler"));
    mc_testkit::ministack().apply_env(&mut c);
    c.env_remove("RUST_LOG")
        .args(["-o", "json", "-j", "4"])
        .args(args);
    c
}

/// Two buckets whose 300 keys are public at the source, private at the destination.
async fn drifted(prefix: &str) -> (aws_sdk_s3::Client, String, String) {
    let s3 = mc_testkit::ministack().s3().await;
    let src = mc_testkit::unique_name(&format!("{prefix}-src"));
    let dst = mc_testkit::unique_name(&format!("{prefix}-dst"));
    mc_testkit::create_bucket_with_acls(&s3, &src).await;
    mc_testkit::create_bucket_with_acls(&s3, &dst).await;
    let keys: Vec<(String, String)> = (0..300).map(|i| (format!("k{i:04}"), "x".into())).collect();
    mc_testkit::put_objects(&s3, &src, keys.clone()).await;
    mc_testkit::put_objects(&s3, &dst, keys).await;
    for i in 0..300 {
        s3.put_object_acl()
            .bucket(&src)
            .key(format!("k{i:04}"))
            .acl(ObjectCannedAcl::PublicRead)
            .send()
            .await
            .unwrap();
    }
    (s3, src, dst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_the_plan_with_0_and_stops_apply_with_130() {
    let (_s3, src, dst) = drifted("pipe").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json").display().to_string();
    let urls = vec![format!("s3://{src}"), format!("s3://{dst}")];

    let mut plan = tool(&urls);
    let end =
        tokio::task::spawn_blocking(move || mc_testkit::cli::first_line_then_close(&mut plan))
            .await
            .unwrap();
    assert!(
        end.first_line.contains("\"skipped-public\""),
        "{}",
        end.first_line
    );
    assert_eq!(end.status.code(), Some(0), "{}", end.stderr);
    assert_eq!(end.stderr, "");

    let apply_args = [
        vec![
            "--apply".into(),
            "--allow-public".into(),
            "--state".into(),
            state,
        ],
        urls,
    ]
    .concat();
    let mut apply = tool(&apply_args);
    let end =
        tokio::task::spawn_blocking(move || mc_testkit::cli::first_line_then_close(&mut apply))
            .await
            .unwrap();
    assert_eq!(end.status.code(), Some(130), "{}", end.stderr);
    assert!(end.stderr.contains("stdout was closed"), "{}", end.stderr);
    // The same command finishes the rest: every key fixed.
    let out = tool(&apply_args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        mc_testkit::cli::stderr(&out)
    );
    let out = tool(&[format!("s3://{src}"), format!("s3://{dst}")])
        .output()
        .unwrap();
    let summary = mc_testkit::cli::stdout(&out);
    assert!(summary.contains("\"drift\":0"), "{summary}");
}
