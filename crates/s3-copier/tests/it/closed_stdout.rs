//! A closed stdout: `verify ... | head -1` (it only reads) ends quietly
//! with 0; `sync` (it writes) never claims success: it finishes its work,
//! saves its checkpoint and exits 130.
#![allow(clippy::unwrap_used)]

use std::process::Stdio;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_into_a_closed_pipe_ends_quietly_with_0() {
    let (s3, src, dst) = buckets("pipe-verify").await;
    // More output than the pipe (64 KiB) and the reader's buffer hold: a
    // verify fast enough to write it all before the reader closes its end
    // would never see the pipe closed.
    let keys: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("k{i:04}"), "x".into()))
        .collect();
    mc_testkit::put_objects(&s3, &src, keys).await;
    let mut cmd = copier();
    cmd.args([
        "verify",
        "-o",
        "json",
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
    ]);
    let end = tokio::task::spawn_blocking(move || mc_testkit::cli::first_line_then_close(&mut cmd))
        .await
        .unwrap();
    assert!(end.first_line.contains("\"missing\""), "{}", end.first_line);
    assert_eq!(end.status.code(), Some(0), "{}", end.stderr);
    assert!(!end.stderr.contains("error"), "{}", end.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_with_stdout_closed_exits_130_with_its_work_done() {
    let (s3, src, dst) = buckets("pipe-sync").await;
    let keys: Vec<(String, String)> = (0..50).map(|i| (format!("k{i:04}"), "x".into())).collect();
    mc_testkit::put_objects(&s3, &src, keys).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut cmd = copier();
    cmd.args(["sync", "-o", "json", "--state", state.to_str().unwrap()])
        .args([format!("s3://{src}"), format!("s3://{dst}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stderr = mc_testkit::cli::stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stdout was closed"), "{stderr}");
    // Nothing lost: every object copied, the checkpoint saved.
    assert_eq!(mc_testkit::list_all_keys(&s3, &dst, "").await.len(), 50);
    assert!(std::fs::read_to_string(&state)
        .unwrap()
        .contains("\"done\""));
}
