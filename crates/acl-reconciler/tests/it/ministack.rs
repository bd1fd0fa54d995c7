//! The real binary against ministack (which enforces Object Ownership and
//! Block Public Access like AWS, and gives each account its own canonical ID).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use aws_sdk_s3::types::{ObjectCannedAcl, PublicAccessBlockConfiguration};
use aws_sdk_s3::Client;
use mc_aws_common::acl::{Acl, Grant, Grantee, Group, Permission};
use serde_json::Value;

/// A canonical ID of "another account" (ministack checks the 64-hex form).
const OTHER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// A second ministack account: a numeric access key selects it.
const DEST_ACCOUNT_KEY: &str = "111111111111";

fn tool() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"));
    mc_testkit::ministack().apply_env(&mut c);
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// JSON lines by key (records only).
    fn records(&self) -> BTreeMap<String, Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v.get("key").is_some())
            .map(|v| (v["key"].as_str().unwrap().to_string(), v))
            .collect()
    }

    fn actions(&self) -> BTreeMap<String, String> {
        self.records()
            .into_iter()
            .map(|(k, v)| (k, v["action"].as_str().unwrap().to_string()))
            .collect()
    }

    fn summary(&self) -> Value {
        let line = self.stdout.lines().last().unwrap();
        serde_json::from_str::<Value>(line).unwrap()["summary"].clone()
    }
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn reconcile(src: &str, dst: &str, extra: &[&str]) -> Run {
    let mut c = tool();
    c.args(["-o", "json", "--show-equal"])
        .args(extra)
        .arg(format!("s3://{src}"))
        .arg(format!("s3://{dst}"));
    run(&mut c)
}

async fn acl_of(s3: &Client, bucket: &str, key: &str) -> Acl {
    let out = mc_testkit::get_object_acl(s3, bucket, key).await;
    Acl::from_sdk(out.owner(), out.grants())
}

async fn set_canned(s3: &Client, bucket: &str, key: &str, acl: ObjectCannedAcl) {
    s3.put_object_acl()
        .bucket(bucket)
        .key(key)
        .acl(acl)
        .send()
        .await
        .unwrap();
}

async fn set_grants(s3: &Client, bucket: &str, key: &str, read: &str) {
    let owner = acl_of(s3, bucket, key).await.owner.unwrap();
    s3.put_object_acl()
        .bucket(bucket)
        .key(key)
        .grant_full_control(format!("id=\"{owner}\""))
        .grant_read(read)
        .send()
        .await
        .unwrap();
}

fn with_owner(owner: &str, extra: &[Grant]) -> Acl {
    let mut grants = vec![Grant::new(Grantee::user(owner), Permission::FullControl)];
    grants.extend_from_slice(extra);
    Acl::new(Some(owner.to_string()), grants)
}

fn public_read() -> Grant {
    Grant::new(Grantee::Group(Group::AllUsers), Permission::Read)
}

const SPECIAL: &str = "dir/ü ber+plus%20 & (1)?#.txt";

/// Source and destination with the same keys, plus one key on each side only.
async fn fixture(s3: &Client) -> (String, String) {
    let (src, dst) = (
        mc_testkit::unique_name("acl-src"),
        mc_testkit::unique_name("acl-dst"),
    );
    mc_testkit::create_bucket_with_acls(s3, &src).await;
    mc_testkit::create_bucket_with_acls(s3, &dst).await;
    let common = [
        "same",
        "pub-src",
        "pub-dst",
        "grant-user",
        "grant-auth",
        SPECIAL,
    ];
    mc_testkit::put_objects(
        s3,
        &src,
        common.iter().map(|k| (*k, "x")).chain([("only-src", "x")]),
    )
    .await;
    mc_testkit::put_objects(
        s3,
        &dst,
        common.iter().map(|k| (*k, "x")).chain([("only-dst", "x")]),
    )
    .await;
    set_canned(s3, &src, "pub-src", ObjectCannedAcl::PublicRead).await;
    set_canned(s3, &dst, "pub-dst", ObjectCannedAcl::PublicRead).await;
    set_grants(s3, &src, "grant-user", &format!("id=\"{OTHER}\"")).await;
    set_grants(
        s3,
        &src,
        "grant-auth",
        "uri=\"http://acs.amazonaws.com/groups/global/AuthenticatedUsers\"",
    )
    .await;
    set_canned(s3, &src, SPECIAL, ObjectCannedAcl::PublicRead).await;
    (src, dst)
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_plans_apply_fixes_and_public_needs_the_flag() {
    let s3 = mc_testkit::ministack().s3().await;
    let (src, dst) = fixture(&s3).await;
    let before: Vec<Acl> = futures::future::join_all(
        [
            "same",
            "pub-src",
            "pub-dst",
            "grant-user",
            "grant-auth",
            SPECIAL,
        ]
        .map(|k| acl_of(&s3, &dst, k)),
    )
    .await;

    // Dry run: the plan, nothing written.
    let r = reconcile(&src, &dst, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let actions = r.actions();
    let expect = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, a)| (k.to_string(), a.to_string()))
            .collect()
    };
    assert_eq!(
        actions,
        expect(&[
            ("same", "equal"),
            ("pub-src", "skipped-public"),
            ("pub-dst", "plan"),
            ("grant-user", "plan"),
            ("grant-auth", "skipped-public"),
            (SPECIAL, "skipped-public"),
            ("only-src", "missing-in-destination"),
        ])
    );
    let rec = &r.records()["grant-user"];
    let owner = before[0].owner.clone().unwrap();
    let want: Acl = serde_json::from_value(rec["after"].clone()).unwrap();
    assert_eq!(
        want,
        with_owner(
            &owner,
            &[Grant::new(Grantee::user(OTHER), Permission::Read)]
        )
    );
    let s = r.summary();
    assert_eq!(s["checked"], 7);
    assert_eq!(s["equal"], 1);
    assert_eq!(s["planned"], 2);
    assert_eq!(s["missing_in_destination"], 1);
    let after: Vec<Acl> = futures::future::join_all(
        [
            "same",
            "pub-src",
            "pub-dst",
            "grant-user",
            "grant-auth",
            SPECIAL,
        ]
        .map(|k| acl_of(&s3, &dst, k)),
    )
    .await;
    assert_eq!(before, after, "a dry run must not write");

    // --apply: narrowing and non-public grants are fixed; public ones wait for the flag.
    let r = reconcile(&src, &dst, &["--apply"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.actions()["pub-dst"], "fixed");
    assert_eq!(r.actions()["grant-user"], "fixed");
    assert_eq!(r.actions()["pub-src"], "skipped-public");
    assert!(r.stderr.contains("--allow-public"), "{}", r.stderr);
    assert_eq!(acl_of(&s3, &dst, "pub-dst").await, with_owner(&owner, &[]));
    assert_eq!(acl_of(&s3, &dst, "pub-src").await, with_owner(&owner, &[]));

    // --allow-public: the rest.
    let r = reconcile(&src, &dst, &["--apply", "--allow-public"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["fixed"], 3);
    assert_eq!(
        acl_of(&s3, &dst, "pub-src").await,
        with_owner(&owner, &[public_read()])
    );
    assert_eq!(
        acl_of(&s3, &dst, SPECIAL).await,
        with_owner(&owner, &[public_read()])
    );
    assert!(acl_of(&s3, &dst, "grant-auth").await.is_public());

    // Converged: everything equal.
    let r = reconcile(&src, &dst, &[]);
    assert_eq!(r.code, 0);
    assert_eq!(r.summary()["equal"], 6);
    assert_eq!(r.summary()["drift"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_is_mapped_across_accounts() {
    let emu = mc_testkit::ministack();
    let s3 = emu.s3().await;
    let creds = aws_sdk_s3::config::Credentials::new(DEST_ACCOUNT_KEY, "test", None, None, "t");
    let conf = aws_sdk_s3::config::Builder::from(&emu.sdk_config().await)
        .credentials_provider(creds)
        .force_path_style(true)
        .build();
    let s3b = Client::from_conf(conf);
    let (src, dst) = (
        mc_testkit::unique_name("acl-xsrc"),
        mc_testkit::unique_name("acl-xdst"),
    );
    mc_testkit::create_bucket_with_acls(&s3, &src).await;
    mc_testkit::create_bucket_with_acls(&s3b, &dst).await;
    mc_testkit::put_objects(&s3, &src, [("a", "x"), ("b", "x")]).await;
    mc_testkit::put_objects(&s3b, &dst, [("a", "x"), ("b", "x")]).await;
    set_canned(&s3, &src, "b", ObjectCannedAcl::PublicRead).await;
    let (src_owner, dst_owner) = (
        acl_of(&s3, &src, "a").await.owner.unwrap(),
        acl_of(&s3b, &dst, "a").await.owner.unwrap(),
    );
    assert_ne!(src_owner, dst_owner);

    // Two profiles: the default (source account) and `dst`.
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        format!("[default]\naws_access_key_id = test\naws_secret_access_key = test\n[dst]\naws_access_key_id = {DEST_ACCOUNT_KEY}\naws_secret_access_key = test\n"),
    )
    .unwrap();
    let mut c = tool();
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .args(["-o", "json", "--show-equal", "--apply", "--allow-public"])
        .args(["--dest-profile", "dst"])
        .arg(format!("s3://{src}"))
        .arg(format!("s3://{dst}"));
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Private in both accounts (different owners) is equal; public-read is mapped.
    assert_eq!(r.actions()["a"], "equal");
    assert_eq!(r.actions()["b"], "fixed");
    assert_eq!(
        acl_of(&s3b, &dst, "b").await,
        with_owner(&dst_owner, &[public_read()])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_from_checks_only_the_listed_keys() {
    let s3 = mc_testkit::ministack().s3().await;
    let (src, dst) = fixture(&s3).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(
        &keys,
        format!("pub-dst\r\n\n{SPECIAL}\nonly-src\nnowhere\n"),
    )
    .unwrap();
    let r = reconcile(&src, &dst, &["--keys-from", keys.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut want = BTreeMap::new();
    for (k, a) in [
        ("pub-dst", "plan"),
        (SPECIAL, "skipped-public"),
        ("only-src", "missing-in-destination"),
        ("nowhere", "missing-in-source"),
    ] {
        want.insert(k.to_string(), a.to_string());
    }
    assert_eq!(r.actions(), want);

    // From stdin.
    let mut c = tool();
    c.args(["-o", "json", "--keys-from", "-", "--apply"])
        .arg(format!("s3://{src}"))
        .arg(format!("s3://{dst}"))
        .stdin(std::fs::File::open(&keys).unwrap());
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.actions()["pub-dst"], "fixed");
    assert_eq!(r.summary()["checked"], 4);
}

async fn boe_and_acl_buckets(s3: &Client) -> (String, String) {
    let (src, dst) = (
        mc_testkit::unique_name("acl-bsrc"),
        mc_testkit::unique_name("acl-bdst"),
    );
    mc_testkit::create_bucket_with_acls(s3, &src).await;
    mc_testkit::create_bucket(s3, &dst).await; // BucketOwnerEnforced
    mc_testkit::put_objects(s3, &src, [("pub", "x"), ("priv", "x")]).await;
    mc_testkit::put_objects(s3, &dst, [("pub", "x"), ("priv", "x")]).await;
    set_canned(s3, &src, "pub", ObjectCannedAcl::PublicRead).await;
    (src, dst)
}

#[tokio::test(flavor = "multi_thread")]
async fn bucket_owner_enforced_is_explained_with_the_public_keys() {
    let s3 = mc_testkit::ministack().s3().await;
    let (src, dst) = boe_and_acl_buckets(&s3).await;
    let r = reconcile(&src, &dst, &["--apply", "--allow-public"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("BucketOwnerEnforced"), "{}", r.stderr);
    assert!(
        r.stderr.contains("1 source keys are public"),
        "{}",
        r.stderr
    );
    assert_eq!(r.actions()["pub"], "public-on-source");
    assert_eq!(r.actions()["priv"], "private");

    // The other way round: nothing to copy from a source without ACLs.
    let r = reconcile(&dst, &src, &[]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("source s3://"), "{}", r.stderr);
    assert!(r.stderr.lines().count() == 1, "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn block_public_access_is_reported_not_forced() {
    let s3 = mc_testkit::ministack().s3().await;
    let (src, dst) = fixture(&s3).await;
    s3.put_public_access_block()
        .bucket(&dst)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = reconcile(&src, &dst, &["--apply", "--allow-public"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.actions()["pub-src"], "blocked");
    assert_eq!(r.actions()["grant-user"], "fixed");
    assert!(!acl_of(&s3, &dst, "pub-src").await.is_public());
}

#[tokio::test(flavor = "multi_thread")]
async fn prefixes_map_and_state_resumes() {
    let s3 = mc_testkit::ministack().s3().await;
    let (src, dst) = (
        mc_testkit::unique_name("acl-psrc"),
        mc_testkit::unique_name("acl-pdst"),
    );
    mc_testkit::create_bucket_with_acls(&s3, &src).await;
    mc_testkit::create_bucket_with_acls(&s3, &dst).await;
    let keys: Vec<String> = (0..300).map(|i| format!("{:03}", i)).collect();
    mc_testkit::put_objects(&s3, &src, keys.iter().map(|k| (format!("old/{k}"), "x"))).await;
    mc_testkit::put_objects(&s3, &dst, keys.iter().map(|k| (format!("new/{k}"), "x"))).await;
    mc_testkit::put_objects(&s3, &dst, [("new/999", "x"), ("other", "x")]).await;
    for k in ["old/007", "old/150", "old/299"] {
        set_grants(&s3, &src, k, &format!("id=\"{OTHER}\"")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let mut c = tool();
    c.args(["-o", "json", "--apply", "--state", state_arg, "-j", "8"])
        .arg(format!("s3://{src}/old/"))
        .arg(format!("s3://{dst}/new/"));
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["checked"], 300);
    assert_eq!(r.summary()["fixed"], 3);
    let rec = &r.records()["old/150"];
    assert_eq!(rec["dest_key"], "new/150");
    assert!(acl_of(&s3, &dst, "new/150")
        .await
        .grants()
        .any(|g| g.grantee == Grantee::user(OTHER)));
    // The state says everything is done: the next run starts a new pass
    // (a finished state must not make every later run a silent no-op).
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(
        saved["done"]["ranges"].as_array().unwrap().len(),
        1,
        "{saved}"
    );
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["checked"], 300);
    assert_eq!(r.summary()["fixed"], 0);
    assert!(r.stderr.contains("checks everything again"), "{}", r.stderr);
    // A state file of another run is refused.
    let mut c = tool();
    c.args(["--state", state_arg])
        .arg(format!("s3://{src}/old/"))
        .arg(format!("s3://{dst}/"));
    let r = run(&mut c);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("another run"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_cover_every_key_once() {
    let s3 = mc_testkit::ministack().s3().await;
    let (src, dst) = (
        mc_testkit::unique_name("acl-ssrc"),
        mc_testkit::unique_name("acl-sdst"),
    );
    mc_testkit::create_bucket_with_acls(&s3, &src).await;
    mc_testkit::create_bucket_with_acls(&s3, &dst).await;
    let keys: Vec<String> = (0..200).map(|i| format!("k{i:x}/{i}")).collect();
    mc_testkit::put_objects(&s3, &src, keys.iter().map(|k| (k.clone(), "x"))).await;
    mc_testkit::put_objects(&s3, &dst, keys.iter().map(|k| (k.clone(), "x"))).await;
    let mut seen = Vec::new();
    for shard in ["0/3", "1/3", "2/3"] {
        let r = reconcile(&src, &dst, &["--shard", shard]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        seen.extend(r.records().into_keys());
    }
    seen.sort();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(seen, want);
}

#[tokio::test(flavor = "multi_thread")]
async fn nagios_reports_drift_with_perfdata() {
    let s3 = mc_testkit::ministack().s3().await;
    let (src, dst) = fixture(&s3).await;
    let mut c = tool();
    c.args(["--nagios", "--warning", "2", "--critical", "10"])
        .arg(format!("s3://{src}"))
        .arg(format!("s3://{dst}"));
    let r = run(&mut c);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout.trim(),
        "ACL_DRIFT WARNING - 5 of 7 keys have drifted ACLs, 1 missing in destination | 'drift'=5;2;10;0 'checked'=7;;;0 'missing'=1;;;0 'errors'=0;;;0"
    );
    // A bucket that does not exist: UNKNOWN.
    let mut c = tool();
    c.args(["--nagios"])
        .arg(format!("s3://{src}"))
        .arg("s3://no-such-bucket-acl-reconciler");
    let r = run(&mut c);
    assert_eq!(r.code, 3);
    assert!(r.stdout.starts_with("ACL_DRIFT UNKNOWN - "), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_one_line_and_an_exit_code() {
    let s3 = mc_testkit::ministack().s3().await;
    let src = mc_testkit::unique_name("acl-bad");
    mc_testkit::create_bucket_with_acls(&s3, &src).await;
    let cases: &[(&[&str], i32, &str)] = &[
        (&["not-a-url", "s3://abc"], 2, "is not an S3 URL"),
        (
            &["s3://abc", "s3://def", "--shard", "3/3"],
            2,
            "is not a shard",
        ),
        // A Nagios check that cannot run is UNKNOWN (stdout), not CRITICAL.
        (
            &["s3://abc", "s3://def", "--nagios", "--apply"],
            3,
            "ACL_DRIFT UNKNOWN - the argument '--nagios' cannot be used with",
        ),
        (&["s3://abc", "s3://def", "--warning", "3"], 2, "--nagios"),
    ];
    for (args, code, msg) in cases {
        let r = run(tool().args(*args));
        assert_eq!(r.code, *code, "{args:?}: {}", r.stderr);
        let said = format!("{}{}", r.stdout, r.stderr);
        assert!(said.contains(msg), "{args:?}: {said}");
    }
    let r = run(tool()
        .arg(format!("s3://{src}"))
        .arg("s3://no-such-bucket-acl-reconciler"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "acl-reconciler: error: bucket no-such-bucket-acl-reconciler: does not exist (NotFound)"
    );
    let missing = Path::new("/nonexistent/keys.txt");
    let r = run(tool()
        .args(["--keys-from", missing.to_str().unwrap()])
        .arg(format!("s3://{src}/a/"))
        .arg(format!("s3://{src}/b/")));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "acl-reconciler: error: /nonexistent/keys.txt: no such file or directory"
    );
}
