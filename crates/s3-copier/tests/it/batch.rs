//! `batch` against ministack (both buckets, the manifest bucket) and, for
//! S3 Control, which no emulator implements, a server of the documented
//! answers behind the bench kit's recording proxy: the requests the tool
//! sends are checked field by field against AWS's documented example.
#![allow(clippy::unwrap_used)]

use std::process::Output;

use aws_sdk_s3::primitives::ByteStream;
use mc_benchkit::canned::{Answer, Canned};
use mc_benchkit::proxy::{Proxy, ProxyConfig, Recorded};
use s3_copier::manifest::read_rows;

use crate::common::*;

const ROLE: &str = "arn:aws:iam::111122223333:role/s3-copier-batch";
const JOB_ID: &str = "f8fb9d89-a3aa-461d-bddc-ea6a1b131955";
const KEYS: &[&str] = &[
    "plain.txt",
    "with space/file name.jpg",
    "plus+sign,comma\"quote",
    "percent%20literal",
    "unicode/café/日本語/😀.png",
    "line\nbreak",
];

/// The user guide's `aws s3control create-job` example (its --manifest and
/// --report), as the fields CreateJob's body carries.
const DOCUMENTED: &[(&str, &str)] = &[
    ("Format", "S3BatchOperations_CSV_20180820"),
    ("Fields", "<member>Bucket</member><member>Key</member>"),
    ("Priority", "10"),
];
const DOCUMENTED_REPORT: &[(&str, &str)] =
    &[("Format", "Report_CSV_20180820"), ("Enabled", "true")];

/// S3 Control's documented answers behind a recording proxy.
pub(crate) fn control() -> (Canned, Proxy) {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let read = |f: &str| std::fs::read_to_string(format!("{data}/{f}")).unwrap();
    let canned = Canned::start_blocking(vec![
        Answer::new(
            "POST",
            "/v20180820/jobs/",
            200,
            read("update-job-status.aws.xml"),
        ),
        Answer::new("POST", "/v20180820/jobs", 200, read("create-job.aws.xml")),
        Answer::new("GET", "/v20180820/jobs/", 200, read("describe-job.aws.xml")),
    ])
    .unwrap();
    let proxy = Proxy::start_blocking(ProxyConfig {
        upstream: canned.endpoint(),
        record: true,
        ..ProxyConfig::default()
    })
    .unwrap();
    (canned, proxy)
}

fn batch(proxy: &Proxy, args: &[&str]) -> Output {
    let mut cmd = copier();
    cmd.env("AWS_ENDPOINT_URL_S3_CONTROL", proxy.endpoint());
    let out = cmd.arg("batch").args(args).output().unwrap();
    eprintln!(
        "$ s3-copier batch {}\n--- stdout\n{}--- stderr\n{}--- exit {:?}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code()
    );
    out
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn line<'a>(lines: &'a [serde_json::Value], kind: &str) -> &'a serde_json::Value {
    lines.iter().find(|l| l["kind"] == kind).unwrap()
}

/// The text of the first `<name>` inside `within` (a whole body or a part).
fn field<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
        + open.len();
    let end = xml[start..].find(&format!("</{name}>")).unwrap() + start;
    &xml[start..end]
}

/// Source objects: all of KEYS; the destination already has the first one
/// (the same) and the second (different).
async fn seed() -> (aws_sdk_s3::Client, String, String, String) {
    let (s3, src, dst) = buckets("batch").await;
    let man = mc_testkit::unique_name("batch-man");
    mc_testkit::create_bucket(&s3, &man).await;
    for k in KEYS {
        put(&s3, &src, *k, ByteStream::from(k.as_bytes().to_vec())).await;
    }
    put(
        &s3,
        &dst,
        KEYS[0],
        ByteStream::from(KEYS[0].as_bytes().to_vec()),
    )
    .await;
    put(&s3, &dst, KEYS[1], ByteStream::from_static(b"stale")).await;
    (s3, src, dst, man)
}

fn create_job(r: &[Recorded]) -> &Recorded {
    let jobs: Vec<&Recorded> = r.iter().filter(|r| r.op == "CreateJob").collect();
    assert_eq!(jobs.len(), 1, "{r:?}");
    jobs[0]
}

#[tokio::test]
async fn create_uploads_the_diff_and_sends_the_documented_request() {
    let (s3, src, dst, man) = seed().await;
    let (_canned, proxy) = control();
    let manifest_at = format!("s3://{man}/batch/");
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let args = [
        "-o",
        "json",
        "create",
        "--acl",
        "skip",
        "--yes",
        "--manifest",
        &manifest_at,
        "--role-arn",
        ROLE,
        &s,
        &d,
    ];
    let out = batch(&proxy, &args);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    let plan = line(&lines, "plan");
    assert_eq!(plan["objects"], KEYS.len() - 1);
    assert_eq!(plan["missing"], KEYS.len() - 2);
    assert_eq!(plan["different"], 1);
    assert_eq!(plan["operation"], "S3PutObjectCopy");
    assert!(line(&lines, "estimate")["total"].as_f64().unwrap() > 0.25);
    assert_eq!(line(&lines, "job")["job_id"], JOB_ID);

    // The manifest: the differences, URL-encoded, read back.
    let uploaded = mc_testkit::list_all_keys(&s3, &man, "batch/").await;
    assert_eq!(uploaded.len(), 1, "{uploaded:?}");
    let body = get_body(&s3, &man, &uploaded[0]).await;
    let rows: Vec<_> = read_rows(body.as_slice()).map(Result::unwrap).collect();
    let mut keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    keys.sort_unstable();
    let mut want: Vec<&str> = KEYS[1..].to_vec();
    want.sort_unstable();
    assert_eq!(keys, want);
    assert!(rows
        .iter()
        .all(|r| r.bucket == src && r.version_id.is_none()));
    let etag = s3
        .head_object()
        .bucket(&man)
        .key(&uploaded[0])
        .send()
        .await
        .unwrap();
    let etag = etag.e_tag().unwrap().trim_matches('"').to_string();

    // The request, field by field.
    let recorded = proxy.recorded();
    let req = create_job(&recorded);
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v20180820/jobs")
    );
    assert_eq!(req.header("x-amz-account-id"), Some("111122223333"));
    assert_eq!(req.header("content-type"), Some("application/xml"));
    let auth = req.header("authorization").unwrap();
    let scope = format!("/{}/s3/aws4_request", emulator().region());
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=") && auth.contains(&scope),
        "{auth}"
    );
    assert_eq!(req.header("x-amz-content-sha256").map(str::len), Some(64));
    let xml = std::str::from_utf8(&req.body).unwrap();
    assert!(
        xml.starts_with(
            "<CreateJobRequest xmlns=\"http://awss3control.amazonaws.com/doc/2018-08-20/\">"
        ),
        "{xml}"
    );
    let manifest = field(xml, "Manifest");
    let report = field(xml, "Report");
    for (name, value) in DOCUMENTED {
        let within = if *name == "Priority" { xml } else { manifest };
        assert_eq!(field(within, name), *value, "{name}");
    }
    for (name, value) in DOCUMENTED_REPORT {
        assert_eq!(field(report, name), *value, "{name}");
    }
    assert_eq!(
        field(manifest, "ObjectArn"),
        format!("arn:aws:s3:::{man}/{}", uploaded[0])
    );
    assert_eq!(field(manifest, "ETag"), etag);
    assert_eq!(field(report, "Bucket"), format!("arn:aws:s3:::{man}"));
    assert_eq!(field(report, "Prefix"), "batch/reports");
    assert_eq!(field(report, "ReportScope"), "FailedTasksOnly");
    assert_eq!(field(xml, "RoleArn"), ROLE);
    assert_eq!(field(xml, "ConfirmationRequired"), "false");
    assert_eq!(field(xml, "ClientRequestToken").len(), 32);
    let copy = field(xml, "S3PutObjectCopy");
    assert_eq!(field(copy, "TargetResource"), format!("arn:aws:s3:::{dst}"));
    assert_eq!(field(copy, "MetadataDirective"), "COPY");
    assert!(
        !copy.contains("CannedAccessControlList") && !copy.contains("NewObjectTagging"),
        "{copy}"
    );

    // DescribeJob: the documented answer, read.
    let out = batch(
        &proxy,
        &[
            "-o",
            "json",
            "status",
            "--region",
            emulator().region(),
            "--account-id",
            "111122223333",
            JOB_ID,
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let job = &json_lines(&out)[0];
    assert_eq!(
        (job["status"].as_str(), job["total_tasks"].as_u64()),
        (Some("Active"), Some(10_000))
    );
    let recorded = proxy.recorded();
    let d = recorded.iter().find(|r| r.op == "DescribeJob").unwrap();
    assert_eq!(d.method, "GET");
    assert_eq!(d.path, format!("/v20180820/jobs/{JOB_ID}"));
    assert_eq!(d.header("x-amz-account-id"), Some("111122223333"));
    assert!(d.body.is_empty());
}

#[tokio::test]
async fn without_yes_the_job_waits_and_acl_copy_needs_the_lambda() {
    let (s3, src, dst, man) = seed().await;
    let (_canned, proxy) = control();
    let manifest_at = format!("s3://{man}/m");
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    // --acl copy (the default): S3's copy cannot keep each object's ACL.
    let out = batch(
        &proxy,
        &[
            "create",
            "--manifest",
            &manifest_at,
            "--role-arn",
            ROLE,
            &s,
            &d,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("s3-copier: error: batch create:") && last.contains("--lambda-arn"),
        "{err}"
    );
    assert!(proxy.recorded().is_empty(), "no job");
    assert!(
        mc_testkit::list_all_keys(&s3, &man, "").await.is_empty(),
        "no manifest uploaded"
    );

    // With the Lambda: LambdaInvoke, schema 2.0; without --yes: confirmation required.
    let arn = "arn:aws:lambda:us-east-1:111122223333:function:s3-copier";
    let out = batch(
        &proxy,
        &[
            "-o",
            "json",
            "create",
            "--lambda-arn",
            arn,
            "--manifest",
            &manifest_at,
            "--role-arn",
            ROLE,
            &s,
            &d,
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let recorded = proxy.recorded();
    let xml = std::str::from_utf8(&create_job(&recorded).body)
        .unwrap()
        .to_string();
    assert_eq!(field(&xml, "ConfirmationRequired"), "true");
    assert_eq!(field(&xml, "FunctionArn"), arn);
    assert_eq!(field(&xml, "InvocationSchemaVersion"), "2.0");
    let job = line(&json_lines(&out), "job").clone();
    assert_eq!(job["confirmation_required"], true);
    assert_eq!(job["operation"], "LambdaInvoke");

    // batch confirm: UpdateJobStatus with requestedJobStatus=Ready, no body.
    let region = emulator().region();
    let args = [
        "-o",
        "json",
        "confirm",
        "--region",
        region,
        "--account-id",
        "111122223333",
        JOB_ID,
    ];
    let out = batch(&proxy, &args);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_lines(&out)[0]["status"], "Ready");
    let recorded = proxy.recorded();
    let u = recorded.iter().find(|r| r.op == "UpdateJobStatus").unwrap();
    assert_eq!(u.method, "POST");
    assert_eq!(
        u.path,
        format!("/v20180820/jobs/{JOB_ID}/status?requestedJobStatus=Ready")
    );
    assert_eq!(u.header("x-amz-account-id"), Some("111122223333"));
    assert!(u.body.is_empty());
}

#[tokio::test]
async fn plan_writes_the_manifest_locally_and_prices_it() {
    let (_s3, src, dst, _man) = seed().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("diff.csv");
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let out = run(&[
        "batch",
        "-o",
        "json",
        "plan",
        "--manifest-file",
        file.to_str().unwrap(),
        &s,
        &d,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    let plan = line(&lines, "plan");
    assert_eq!(plan["objects"], KEYS.len() - 1);
    assert!(
        plan["operation_refused"]
            .as_str()
            .unwrap()
            .contains("--acl copy"),
        "{plan}"
    );
    let estimate = line(&lines, "estimate");
    assert_eq!(estimate["prices_as_of"], "2025-06");
    let items: Vec<&str> = estimate["charges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["item"].as_str().unwrap())
        .collect();
    assert!(
        items.contains(&"Lambda invocations (per million)"),
        "{items:?}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text.lines().count(),
        KEYS.len() - 1,
        "the line break is encoded: {text}"
    );
    assert!(
        text.contains(&format!("{src},plus%2Bsign%2Ccomma%22quote\n")),
        "{text}"
    );

    // sync --dry-run prints the same estimate.
    let out = sync_json(&s, &d, &["--dry-run", "--acl", "skip"]);
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert_eq!(r["estimate"]["kind"], "estimate");
    let first = r["estimate"]["charges"][0]["item"].as_str().unwrap();
    assert_eq!(first, "Batch Operations jobs");
    // Nothing to copy: no estimate.
    let empty = dir.path().join("none.txt");
    std::fs::write(&empty, "").unwrap();
    let out = sync_json(
        &s,
        &d,
        &["--dry-run", "--keys-from", empty.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(report(&out).get("estimate").is_none());
}

#[test]
fn report_writes_the_failed_objects_from_a_local_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (m, k) = (dir.path().join("retry.csv"), dir.path().join("retry.txt"));
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/batch-report");
    let out = run(&[
        "batch",
        "-o",
        "json",
        "report",
        "--manifest-out",
        m.to_str().unwrap(),
        "--keys-out",
        k.to_str().unwrap(),
        fixture,
    ]);
    assert_eq!(out.status.code(), Some(1), "failed tasks: exit 1");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["failed"], 3);
    assert_eq!(s["succeeded_listed"], 1);
    assert_eq!(s["failed_by_code"]["PermanentFailure"], 2);
    assert_eq!(
        std::fs::read_to_string(&k).unwrap(),
        "image_14975\nimage_15897\nphotos/my cat+1.jpg\n"
    );
    let rows: Vec<_> = read_rows(std::fs::File::open(&m).unwrap())
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows[2].key, "photos/my cat+1.jpg");
    assert_eq!(
        rows[2].version_id.as_deref(),
        Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
    );
}

#[tokio::test]
async fn report_reads_from_s3_and_refuses_a_damaged_file() {
    let s3 = s3().await;
    let bucket = mc_testkit::unique_name("batch-reports");
    mc_testkit::create_bucket(&s3, &bucket).await;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/batch-report");
    let manifest = std::fs::read_to_string(format!("{fixture}/manifest.json")).unwrap();
    let manifest = manifest.replace("my-job-reports", &bucket);
    let job = format!("reports/job-{JOB_ID}");
    put(
        &s3,
        &bucket,
        format!("{job}/manifest.json"),
        ByteStream::from(manifest.into_bytes()),
    )
    .await;
    for name in [
        "6217b0fab0de85c408b4be96aeaca9b195a7daa5.csv",
        "b2ddad417e94331e9f37b44f1faf8c7ed5873f2e.csv",
    ] {
        let body = std::fs::read(format!("{fixture}/results/{name}")).unwrap();
        // The manifest names the files at job-ID/results/ (no prefix): as given.
        put(
            &s3,
            &bucket,
            format!("job-{JOB_ID}/results/{name}"),
            ByteStream::from(body),
        )
        .await;
    }
    let at = format!("s3://{bucket}/{job}/manifest.json");
    let out = run(&["batch", "-o", "json", "report", &at]);
    assert_eq!(out.status.code(), Some(1));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["failed"], 3);
    // A result file that is not what the manifest says: an error, no count.
    put(
        &s3,
        &bucket,
        format!("job-{JOB_ID}/results/b2ddad417e94331e9f37b44f1faf8c7ed5873f2e.csv"),
        ByteStream::from_static(b"x,y,,failed\n"),
    )
    .await;
    let out = run(&["batch", "report", &at]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.trim_end()
            .lines()
            .last()
            .unwrap()
            .contains("damaged or incomplete"),
        "{err}"
    );
}

#[tokio::test]
async fn sync_keys_from_copies_only_the_named_keys() {
    let (s3, src, dst) = buckets("keysfrom").await;
    for k in ["a", "b b", "c+c"] {
        put(&s3, &src, k, ByteStream::from(k.as_bytes().to_vec())).await;
    }
    put(&s3, &dst, "a", ByteStream::from_static(b"a")).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "a\nc+c\n\nnot-there\n").unwrap();
    let out = sync_json(
        &format!("s3://{src}"),
        &format!("s3://{dst}"),
        &["--keys-from", keys.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert_eq!(
        (
            r["copied"].as_u64(),
            r["skipped"].as_u64(),
            r["gone"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let mut at_dst = mc_testkit::list_all_keys(&s3, &dst, "").await;
    at_dst.sort();
    assert_eq!(at_dst, ["a", "c+c"]);
}

#[test]
fn bad_batch_input_is_one_line_with_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{not json").unwrap();
    let missing = dir.path().join("missing.json");
    let bad_prices = dir.path().join("prices.json");
    std::fs::write(&bad_prices, "{}").unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["batch", "report", junk.to_str().unwrap()],
            2,
            "not a completion report manifest",
        ),
        (
            &["batch", "report", missing.to_str().unwrap()],
            3,
            "no such file",
        ),
        (
            &[
                "batch",
                "status",
                "--account-id",
                "111122223333",
                "no/such!id",
            ],
            2,
            "job id",
        ),
        (
            &["batch", "status", "--account-id", "12", "abcdef"],
            2,
            "12-digit",
        ),
        (
            &[
                "batch",
                "create",
                "--manifest",
                "s3://man-b",
                "--role-arn",
                "nope",
                "s3://src-b",
                "s3://dst-b",
            ],
            2,
            "IAM role ARN",
        ),
        (
            &[
                "batch",
                "manifest",
                "--bucket",
                "b-b-b",
                "--keys-from",
                missing.to_str().unwrap(),
                "-f",
                "/dev/null",
            ],
            3,
            "no such file",
        ),
        (
            &[
                "sync",
                "--dry-run",
                "--price-table",
                bad_prices.to_str().unwrap(),
                "s3://src-b",
                "s3://dst-b",
            ],
            2,
            "not a price table",
        ),
        (
            &[
                "sync",
                "--keys-from",
                "k",
                "--delete",
                "s3://src-b",
                "s3://dst-b",
            ],
            2,
            "--delete",
        ),
    ];
    for (args, code, text) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(*code), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(text), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        // Ours: one line. Clap's usage errors: its error line first.
        let first = err.lines().next().unwrap_or_default();
        if first.starts_with("s3-copier: error:") {
            assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        } else {
            assert!(first.starts_with("error:"), "{args:?}: {err}");
        }
    }
}

#[test]
fn manifest_from_a_key_list() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, out) = (dir.path().join("k.txt"), dir.path().join("m.csv"));
    std::fs::write(&keys, "a b\nc,d\n").unwrap();
    let r = run(&[
        "batch",
        "manifest",
        "--bucket",
        "src-bucket",
        "--keys-from",
        keys.to_str().unwrap(),
        "-f",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "src-bucket,a%20b\nsrc-bucket,c%2Cd\n"
    );
}

#[tokio::test]
async fn a_big_manifest_goes_up_in_parts() {
    let s3 = s3().await;
    let bucket = mc_testkit::unique_name("batch-upload");
    mc_testkit::create_bucket(&s3, &bucket).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.csv");
    let body: Vec<u8> = (0..(11u32 << 20)).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(&file, &body).unwrap();
    let throttle = mc_aws_common::retry::Throttle::from_args(&Default::default());
    let part = 5 << 20;
    let etag = s3_copier::batch::create::upload(&s3, &throttle, &file, &bucket, "m.csv", part)
        .await
        .unwrap();
    assert!(etag.ends_with("-3"), "three parts: {etag}");
    assert_eq!(get_body(&s3, &bucket, "m.csv").await, body);
    let etag =
        s3_copier::batch::create::upload(&s3, &throttle, &file, &bucket, "one.csv", 64 << 20)
            .await
            .unwrap();
    assert!(!etag.contains('-'), "{etag}");
}

#[tokio::test]
async fn noncurrent_versions_go_in_a_job_of_their_own_oldest_first() {
    let (s3, src, dst) = buckets("batch-versions").await;
    mc_testkit::enable_versioning(&s3, &src).await;
    // "a b": three versions; "c": one; "gone": one version, then a delete marker.
    for body in ["a1", "a22", "a333"] {
        put(&s3, &src, "a b", ByteStream::from(body.as_bytes().to_vec())).await;
    }
    put(&s3, &src, "c", ByteStream::from_static(b"c")).await;
    put(&s3, &src, "gone", ByteStream::from_static(b"g")).await;
    s3.delete_object()
        .bucket(&src)
        .key("gone")
        .send()
        .await
        .unwrap();
    let versions = s3.list_object_versions().bucket(&src).send().await.unwrap();
    let id_of = |body_len: i64| {
        versions
            .versions()
            .iter()
            .find(|v| v.key() == Some("a b") && v.size() == Some(body_len))
            .unwrap()
            .version_id()
            .unwrap()
            .to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.csv");
    let (s, d) = (format!("s3://{src}"), format!("s3://{dst}"));
    let args = [
        "batch",
        "-o",
        "json",
        "plan",
        "--versions",
        "noncurrent",
        "--acl",
        "skip",
        "--manifest-file",
        file.to_str().unwrap(),
        &s,
        &d,
    ];
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    let plan = line(&lines, "plan");
    assert_eq!(
        plan["objects"], 3,
        "a1, a22 and the version under gone's marker"
    );
    assert_eq!(plan["operation"], "S3PutObjectCopy");
    let notes = plan["notes"].to_string();
    assert!(
        notes.contains("1 keys are deleted at the source") && notes.contains("gone"),
        "{notes}"
    );
    let rows: Vec<_> = read_rows(std::fs::File::open(&file).unwrap())
        .map(Result::unwrap)
        .collect();
    let a: Vec<&str> = rows
        .iter()
        .filter(|r| r.key == "a b")
        .map(|r| r.version_id.as_deref().unwrap())
        .collect();
    assert_eq!(a, [id_of(2), id_of(3)], "oldest first");
    assert!(rows.iter().any(|r| r.key == "gone"));
    // The Lambda handler copies current versions only: never for versions.
    let arn = "arn:aws:lambda:us-east-1:111122223333:function:s3-copier";
    let out = run(&[
        "batch",
        "plan",
        "--versions",
        "noncurrent",
        "--operation",
        "lambda",
        "--lambda-arn",
        arn,
        "--acl",
        "skip",
        "--manifest-file",
        file.to_str().unwrap(),
        &s,
        &d,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("copies current versions only"));
}
