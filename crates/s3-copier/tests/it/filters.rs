//! `--include`/`--exclude` end to end on ministack: `sync` copies and
//! `--delete` deletes only what the filters select (patterns relative to
//! each side's folder, the last match wins), `verify` with the same filters
//! checks exactly that, and the checkpoint refuses a resume with others.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;

/// Only JPEGs, but not under tmp/ except tmp/keep*.
const FILTERS: &[&str] = &[
    "--exclude",
    "*",
    "--include",
    "*.jpg",
    "--exclude",
    "tmp/*",
    "--include",
    "tmp/keep*",
];

#[tokio::test]
async fn sync_and_verify_work_on_what_the_filters_select() {
    let (s3, src, dst) = buckets("filters").await;
    mc_testkit::put_objects(
        &s3,
        &src,
        [
            ("img/a.jpg", "a"),
            ("img/deep/e.jpg", "e"),
            ("img/b.png", "b"),
            ("img/tmp/c.jpg", "c"),
            ("img/tmp/keep.jpg", "k"),
            ("img/d.JPG", "d"),
            // Outside the folder: never listed.
            ("other/x.jpg", "x"),
        ],
    )
    .await;
    // At the destination folder: an extra key the filters select (deleted
    // with --delete) and one they do not (left alone).
    mc_testkit::put_objects(&s3, &dst, [("copy/old.jpg", "o"), ("copy/old.png", "p")]).await;
    let (s, d) = (format!("s3://{src}/img"), format!("s3://{dst}/copy"));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state = state.to_str().unwrap();

    let mut args = vec!["--delete", "--state", state];
    args.extend_from_slice(FILTERS);
    let out = sync_json(&s, &d, &args);
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert_eq!(r["copied"], 3, "{r}");
    assert_eq!(r["excluded"], 3, "{r}");
    assert_eq!(r["listed"], 3, "{r}");
    assert_eq!(r["deleted"], 1, "{r}");
    let keys = mc_testkit::list_all_keys(&s3, &dst, "").await;
    assert_eq!(
        keys,
        [
            "copy/a.jpg",
            "copy/deep/e.jpg",
            "copy/old.png",
            "copy/tmp/keep.jpg"
        ]
    );

    // verify with the same filters: nothing missing; without them, the
    // keys left out are missing.
    let mut verify = vec!["verify", "-o", "json"];
    verify.extend_from_slice(FILTERS);
    verify.extend([s.as_str(), d.as_str()]);
    let out = run(&verify);
    assert_eq!(out.status.code(), Some(0));
    let summary = report(&out);
    assert_eq!(summary["totals"]["checked"], 3, "{summary}");
    assert_eq!(summary["totals"]["excluded"], 3, "{summary}");
    assert_eq!(summary["totals"]["extra"], 0, "old.png is not selected");
    let out = run(&["verify", "-o", "json", &s, &d]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report(&out)["totals"]["missing"], 3);

    // The checkpoint records the filters: other filters are another run.
    let out = run(&[
        "sync",
        "--state",
        state,
        "--delete",
        "--exclude",
        "*.png",
        &s,
        &d,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"it was made with --include/--exclude --exclude "*" --include "*.jpg""#),
        "{err}"
    );
    // The same filters resume (a finished run starts a new pass): nothing to do.
    let out = sync_json(&s, &d, &args);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report(&out)["copied"], 0);
}

#[tokio::test]
async fn dry_run_lists_only_selected_keys() {
    let (s3, src, dst) = buckets("filters-dry").await;
    mc_testkit::put_objects(
        &s3,
        &src,
        [("a.log", "1"), ("b.txt", "2"), ("logs/c.log", "3")],
    )
    .await;
    let out = run(&[
        "sync",
        "--dry-run",
        "--exclude",
        "*.log",
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("copy: b.txt (missing)"), "{text}");
    assert!(!text.contains(".log ("), "{text}");
    assert!(
        text.contains("excluded        2 (--include/--exclude)"),
        "{text}"
    );
}
