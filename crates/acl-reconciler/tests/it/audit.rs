//! `acl-reconciler audit` against the second ministack (`AUTH=true`), which
//! checks who reads: a bucket with mixed grants (public-read, private, READ
//! for a second account), on seeded random layouts (replay one with
//! `MC_AUDIT_SEEDS=7,8`), some versioned; the proposed policy applied,
//! ownership switched to BucketOwnerEnforced, and then every object version
//! is read again anonymously and by the other account: each answer must be
//! the one it was before.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls, OwnershipControlsRule, Tag, Tagging};
use aws_sdk_s3::Client;
use serde_json::Value;

/// The second account: a 12-digit access key is that account's root.
const OTHER: &str = "111111111111";

/// ministack's canonical ID of an account: SHA-256 hex of its ID. Read from
/// an ACL the other account owns instead of computing it.
async fn canonical_of(client: &Client, bucket: &str) -> String {
    client
        .put_object()
        .bucket(bucket)
        .key("whoami")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let acl = client
        .get_object_acl()
        .bucket(bucket)
        .key("whoami")
        .send()
        .await
        .unwrap();
    acl.owner().unwrap().id().unwrap().to_string()
}

async fn client_for(key: &str) -> Client {
    let emu = mc_testkit::ministack_auth();
    let creds = aws_sdk_s3::config::Credentials::new(key, "test", None, None, "t");
    let conf = aws_sdk_s3::config::Builder::from(&emu.sdk_config().await)
        .credentials_provider(creds)
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

/// A small replayable generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// The ACL kinds of the layout.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Private,
    PublicRead,
    OtherReads,
    Both,
}

const KINDS: [Kind; 4] = [
    Kind::Private,
    Kind::PublicRead,
    Kind::OtherReads,
    Kind::Both,
];

/// Keys that share prefixes and are prefixes of each other.
fn layout(rng: &mut Rng) -> Vec<String> {
    let mut keys = std::collections::BTreeSet::new();
    let n = 8 + rng.below(14);
    while (keys.len() as u64) < n {
        let depth = 1 + rng.below(3);
        let mut k = String::new();
        for d in 0..depth {
            if d > 0 {
                k.push('/');
            }
            k.push(['a', 'b', 'c'][rng.below(3) as usize]);
            if rng.below(2) == 0 {
                k.push_str(&rng.below(3).to_string());
            }
        }
        keys.insert(k);
    }
    keys.into_iter().collect()
}

/// One object version as the test wrote it.
#[derive(Debug, Clone)]
struct Written {
    key: String,
    version: Option<String>,
    kind: Kind,
}

async fn write_layout(s3: &Client, bucket: &str, other_id: &str, seed: u64) -> Vec<Written> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let versioned = rng.below(2) == 0;
    if versioned {
        mc_testkit::enable_versioning(s3, bucket).await;
    }
    let mut out = Vec::new();
    for key in layout(&mut rng) {
        let versions = if versioned { 1 + rng.below(2) } else { 1 };
        for _ in 0..versions {
            let kind = KINDS[rng.below(4) as usize];
            let mut put = s3
                .put_object()
                .bucket(bucket)
                .key(&key)
                .body(b"x".to_vec().into());
            put = match kind {
                Kind::Private => put,
                Kind::PublicRead => put.acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead),
                Kind::OtherReads => put.grant_read(format!("id=\"{other_id}\"")),
                Kind::Both => put.grant_read(format!(
                    "id=\"{other_id}\", uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""
                )),
            };
            let v = put.send().await.unwrap().version_id().map(str::to_string);
            out.push(Written {
                key: key.clone(),
                version: v.filter(|_| versioned),
                kind,
            });
        }
    }
    out
}

/// HTTP status of an unsigned GET.
fn anonymous(port: u16, bucket: &str, key: &str, version: Option<&str>) -> u16 {
    let query = version
        .map(|v| format!("?versionId={v}"))
        .unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let req = format!("GET /{bucket}/{key}{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn as_other(other: &Client, bucket: &str, key: &str, version: Option<&str>) -> u16 {
    match other
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_string))
        .send()
        .await
    {
        Ok(_) => 200,
        Err(e) => e.raw_response().map_or(0, |r| r.status().as_u16()),
    }
}

/// Every read that matters, object version by object version:
/// (key, version, who, plain GET or by version id) -> status.
async fn reads(
    bucket: &str,
    written: &[Written],
    other: &Client,
) -> BTreeMap<(String, String, &'static str, bool), u16> {
    let port = mc_testkit::ministack_auth().port();
    let mut out = BTreeMap::new();
    let mut latest: BTreeMap<&str, &Written> = BTreeMap::new();
    for w in written {
        latest.insert(&w.key, w);
    }
    for w in written {
        let v = w.version.as_deref();
        let id = v.unwrap_or("-").to_string();
        out.insert(
            (w.key.clone(), id.clone(), "anonymous", true),
            anonymous(port, bucket, &w.key, v),
        );
        out.insert(
            (w.key.clone(), id.clone(), "other", true),
            as_other(other, bucket, &w.key, v).await,
        );
    }
    for key in latest.keys() {
        out.insert(
            (key.to_string(), "-".into(), "anonymous", false),
            anonymous(port, bucket, key, None),
        );
        out.insert(
            (key.to_string(), "-".into(), "other", false),
            as_other(other, bucket, key, None).await,
        );
    }
    out
}

fn audit(args: &[&str]) -> (i32, Vec<Value>, String) {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"));
    mc_testkit::ministack_auth().apply_env(&mut c);
    let out = c.arg("audit").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kind<'a>(lines: &'a [Value], k: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["kind"] == k).collect()
}

async fn enforce(s3: &Client, bucket: &str) {
    let rule = OwnershipControlsRule::builder()
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .build()
        .unwrap();
    s3.put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(OwnershipControls::builder().rules(rule).build().unwrap())
        .send()
        .await
        .unwrap();
}

/// Tags the versions the proposal says (the tag fallback's step).
async fn tag_as_told(s3: &Client, bucket: &str, lines: &[Value]) {
    let policy = kind(lines, "policy")[0];
    let mut tagged = std::collections::BTreeSet::new();
    for t in policy["statements"].as_array().unwrap() {
        if t["by"] == "tags" {
            for g in t["groups"].as_array().unwrap() {
                tagged.insert(g.as_str().unwrap().to_string());
            }
        }
    }
    for o in kind(lines, "object") {
        let group = o["group"].as_str().unwrap_or_default();
        if !tagged.contains(group) {
            continue;
        }
        let tag = Tag::builder()
            .key("acl-reconciler-grants")
            .value(group)
            .build()
            .unwrap();
        s3.put_object_tagging()
            .bucket(bucket)
            .key(o["key"].as_str().unwrap())
            .set_version_id(o["version"].as_str().map(str::to_string))
            .tagging(Tagging::builder().tag_set(tag).build().unwrap())
            .send()
            .await
            .unwrap();
    }
}

fn seeds() -> Vec<u64> {
    match std::env::var("MC_AUDIT_SEEDS") {
        Ok(s) if !s.trim().is_empty() => s.split(',').map(|x| x.trim().parse().unwrap()).collect(),
        _ => vec![1, 2, 3, 4],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_behave_as_before_once_acls_are_disabled() {
    let s3 = mc_testkit::ministack_auth().s3().await;
    let other = client_for(OTHER).await;
    let mine = mc_testkit::unique_name("audit-other");
    mc_testkit::create_bucket(&other, &mine).await;
    let other_id = canonical_of(&other, &mine).await;
    for seed in seeds() {
        let bucket = mc_testkit::unique_name(&format!("audit-{seed}"));
        mc_testkit::create_bucket_with_acls(&s3, &bucket).await;
        let written = write_layout(&s3, &bucket, &other_id, seed).await;
        // The bucket's own statements stay in the proposal.
        let own = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"KeepDeny","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::{bucket}/*"}},{{"Sid":"KeepAllow","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}"}}]}}"#
        );
        s3.put_bucket_policy()
            .bucket(&bucket)
            .policy(own)
            .send()
            .await
            .unwrap();
        let before = reads(&bucket, &written, &other).await;
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy.json");
        let account = format!("{other_id}={OTHER}");
        let args = [
            "-o",
            "json",
            "--policy-out",
            policy.to_str().unwrap(),
            "--account",
            &account,
        ];
        let (code, lines, stderr) = audit(&[&args[..], &[&format!("s3://{bucket}")]].concat());
        assert_eq!(code, 0, "seed {seed}: {stderr}");
        let summary = kind(&lines, "summary")[0];
        let granted = written.iter().filter(|w| w.kind != Kind::Private).count();
        assert_eq!(summary["with_grants"], granted, "seed {seed}");
        let verification = kind(&lines, "verification")[0];
        assert_eq!(
            verification["widened_count"], 0,
            "seed {seed}: {verification}"
        );
        assert_eq!(verification["lost_count"], 0, "seed {seed}: {verification}");

        let modes: Vec<String> = kind(&lines, "policy")[0]["statements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| format!("{}:{}", t["sid"], t["by"]))
            .collect();
        eprintln!(
            "seed {seed}: {} versions, {granted} with grants, {modes:?}",
            written.len()
        );
        tag_as_told(&s3, &bucket, &lines).await;
        let document = std::fs::read_to_string(&policy).unwrap();
        assert!(
            document.contains("KeepDeny") && document.contains("KeepAllow"),
            "{document}"
        );
        s3.put_bucket_policy()
            .bucket(&bucket)
            .policy(document)
            .send()
            .await
            .unwrap();
        // The check step: the audit finds its policy in place.
        let (code, lines, stderr) = audit(&[
            "-o",
            "json",
            "--account",
            &account,
            &format!("s3://{bucket}"),
        ]);
        assert_eq!(code, 0, "seed {seed}: {stderr}");
        assert_eq!(
            kind(&lines, "summary")[0]["policy_in_place"],
            true,
            "seed {seed}"
        );

        enforce(&s3, &bucket).await;
        let after = reads(&bucket, &written, &other).await;
        for (read, was) in &before {
            assert_eq!(
                after[read], *was,
                "seed {seed}: {read:?} answered {} before the switch, {} after",
                was, after[read]
            );
        }
        // Without the policy the switch would have broken them: the check has teeth.
        if written.iter().any(|w| w.kind != Kind::Private) {
            s3.delete_bucket_policy()
                .bucket(&bucket)
                .send()
                .await
                .unwrap();
            let bare = reads(&bucket, &written, &other).await;
            assert_ne!(bare, before, "seed {seed}");
        }
        // Disabled now: nothing to do.
        let (code, lines, _) = audit(&["-o", "json", &format!("s3://{bucket}")]);
        assert_eq!(code, 0);
        assert_eq!(kind(&lines, "summary")[0]["nothing_to_do"], true);
    }
}

/// Creates an IAM user of account 000000000000 with `policy` and returns
/// its key pair. ministack checks the signatures of IAM users' requests
/// (not of root keys), so the audit's own requests, lean ones included, are
/// verified. The set-up requests are signed by a root key, which ministack
/// takes as it is.
fn iam_user(name: &str, policy: &str) -> (String, String) {
    let port = mc_testkit::ministack_auth().port();
    let call = |body: String| -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let req = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(req.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        answer
    };
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    call(format!(
        "Action=CreateUser&UserName={name}&Version=2010-05-08"
    ));
    call(format!(
        "Action=PutUserPolicy&UserName={name}&PolicyName=audit&PolicyDocument={}&Version=2010-05-08",
        enc(policy)
    ));
    let key = call(format!(
        "Action=CreateAccessKey&UserName={name}&Version=2010-05-08"
    ));
    let field = |tag: &str| {
        let start = key.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
        key[start..].split('<').next().unwrap().to_string()
    };
    (field("AccessKeyId"), field("SecretAccessKey"))
}

fn audit_as(user: &(String, String), args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"));
    mc_testkit::ministack_auth().apply_env(&mut c);
    let out = c
        .env("AWS_ACCESS_KEY_ID", &user.0)
        .env("AWS_SECRET_ACCESS_KEY", &user.1)
        .arg("audit")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What no policy can keep, ACLs nobody may read, the bucket's own ACL,
/// and the saved audit behind the Nagios check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_and_unkeepable_grants_block_the_verdict() {
    use aws_sdk_s3::types::ObjectCannedAcl;
    let s3 = mc_testkit::ministack_auth().s3().await;
    let bucket = mc_testkit::unique_name("audit-block");
    mc_testkit::create_bucket_with_acls(&s3, &bucket).await;
    mc_testkit::put_objects(
        &s3,
        &bucket,
        [("pub", "x"), ("auth", "x"), ("locked", "x"), ("plain", "x")],
    )
    .await;
    for (key, acl) in [
        ("pub", ObjectCannedAcl::PublicRead),
        ("auth", ObjectCannedAcl::AuthenticatedRead),
    ] {
        s3.put_object_acl()
            .bucket(&bucket)
            .key(key)
            .acl(acl)
            .send()
            .await
            .unwrap();
    }
    s3.put_bucket_acl()
        .bucket(&bucket)
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:*","sts:*"],"Resource":"*"}},{{"Effect":"Deny","Action":"s3:GetObjectAcl","Resource":"arn:aws:s3:::{bucket}/locked"}}]}}"#
    );
    let user = iam_user(&mc_testkit::unique_name("auditor"), &policy);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("audit.json");
    let url = format!("s3://{bucket}");
    let (code, stdout, stderr) = audit_as(
        &user,
        &["-o", "json", "--save", saved.to_str().unwrap(), &url],
    );
    assert_eq!(code, 1, "unreadable ACLs: {stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let unreadable: Vec<&Value> = kind(&lines, "object")
        .into_iter()
        .filter(|o| o.get("unreadable").is_some())
        .collect();
    assert_eq!(unreadable.len(), 1, "{stdout}");
    assert_eq!(unreadable[0]["key"], "locked");
    let summary = kind(&lines, "summary")[0];
    assert_eq!(summary["safe"], false);
    // ministack has no account-level Block Public Access: unknown, and why.
    let account = &kind(&lines, "bucket")[0]["account_public_access_block"];
    assert!(
        account["unknown"].as_str().unwrap().contains("InvalidURI"),
        "{account}"
    );
    let reasons = summary["reasons"].to_string();
    assert!(reasons.contains("could not be read"), "{reasons}");
    assert!(reasons.contains("no bucket policy can keep"), "{reasons}");
    let groups = kind(&lines, "group");
    assert!(
        groups.iter().any(
            |g| g["grants"].as_str().unwrap().contains("AuthenticatedUsers")
                && g["changes"].to_string().contains("no policy equivalent")
        ),
        "{groups:?}"
    );
    let steps: Vec<String> = kind(&lines, "step")
        .iter()
        .map(|s| s["command"].to_string())
        .collect();
    assert!(
        steps.iter().any(|c| c.contains("put-bucket-acl")),
        "{steps:?}"
    );
    assert!(
        steps.last().unwrap().contains("BucketOwnerEnforced"),
        "{steps:?}"
    );

    // Nagios, live and from the saved audit.
    let (code, stdout, _) = audit_as(&user, &["--nagios", &url]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.starts_with("ACL_GRANTS WARNING - 2 of 4 object versions"),
        "{stdout}"
    );
    let from = [
        "--nagios",
        "--from",
        saved.to_str().unwrap(),
        "--max-age",
        "1h",
    ];
    let (code, stdout, _) = audit_as(&user, &[&from[..], &[&url]].concat());
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("'unreadable'=1;;;0") && stdout.contains("'age'="),
        "{stdout}"
    );
    let (code, stdout, _) = audit_as(&user, &[&from[..], &["--critical", "1", &url]].concat());
    assert_eq!(code, 2, "{stdout}");
    // Stale, another bucket's, missing, not an audit: UNKNOWN.
    let mut old: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    old["written_at"] = 1_000.into();
    let stale = dir.path().join("stale.json");
    std::fs::write(&stale, old.to_string()).unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "\u{0}\u{1}binary").unwrap();
    for (file, target, says) in [
        (
            stale.to_str().unwrap(),
            url.as_str(),
            "older than --max-age",
        ),
        (
            saved.to_str().unwrap(),
            "s3://some-other-bucket",
            "an audit of",
        ),
        ("/nonexistent/audit.json", url.as_str(), "no such file"),
        (junk.to_str().unwrap(), url.as_str(), "not a saved audit"),
    ] {
        let (code, stdout, _) = audit_as(
            &user,
            &["--nagios", "--from", file, "--max-age", "1h", target],
        );
        assert_eq!(code, 3, "{file}: {stdout}");
        assert!(
            stdout.starts_with("ACL_GRANTS UNKNOWN - ") && stdout.contains(says),
            "{stdout}"
        );
        assert_eq!(stdout.lines().count(), 1);
    }
}

/// Bad inputs outside a check: one line and the documented exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_get_one_line_and_an_exit_code() {
    let s3 = mc_testkit::ministack_auth().s3().await;
    let bucket = mc_testkit::unique_name("audit-bad");
    mc_testkit::create_bucket_with_acls(&s3, &bucket).await;
    let (code, lines, stderr) = audit(&["s3://no-such-bucket-for-audit"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(lines.is_empty());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("acl-reconciler: error: bucket no-such-bucket-for-audit"),
        "{stderr}"
    );
    let (code, _, stderr) = audit(&[
        "--save",
        "/nonexistent/dir/audit.json",
        &format!("s3://{bucket}"),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(
        stderr.trim(),
        "acl-reconciler: error: /nonexistent/dir/audit.json: no such file or directory"
    );
    let (code, _, stderr) = audit(&[
        "--policy-out",
        "/nonexistent/p.json",
        "s3://no-such-bucket-for-audit",
    ]);
    assert_eq!(code, 3, "checked before the bucket: {stderr}");
    assert!(stderr.contains("/nonexistent/p.json"), "{stderr}");
    // A bucket with ACLs disabled: nothing to do, OK for Nagios.
    let enforced = mc_testkit::unique_name("audit-boe");
    mc_testkit::create_bucket(&s3, &enforced).await;
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"));
    mc_testkit::ministack_auth().apply_env(&mut c);
    let out = c
        .args(["audit", &format!("s3://{enforced}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to do"));
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"));
    mc_testkit::ministack_auth().apply_env(&mut c);
    let out = c
        .args(["audit", "--nagios", &format!("s3://{enforced}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ACL_GRANTS OK - "));
}

/// Requester pays: moto's buckets behind a proxy that makes them
/// requester-pays as S3 has it for everyone but the owner (it answers
/// GetBucketRequestPayment `Requester` and refuses object and list requests
/// without `x-amz-request-payer`; neither emulator does either).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requester_pays_buckets_are_read_with_the_request_payer_set() {
    use aws_sdk_s3::types::ObjectCannedAcl;
    let moto = mc_testkit::moto();
    let s3 = moto.s3().await;
    let bucket = mc_testkit::unique_name("audit-rp");
    mc_testkit::create_bucket(&s3, &bucket).await;
    mc_testkit::put_objects(&s3, &bucket, [("pub", "x"), ("plain", "x")]).await;
    s3.put_object_acl()
        .bucket(&bucket)
        .key("pub")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let proxy = mc_benchkit::proxy::Proxy::requester_pays(moto.endpoint()).unwrap();
    // The gate works: a read that does not say who pays is refused.
    let through = aws_sdk_s3::Client::from_conf(
        s3.config()
            .to_builder()
            .endpoint_url(proxy.endpoint())
            .build(),
    );
    assert!(through
        .get_object_acl()
        .bucket(&bucket)
        .key("pub")
        .send()
        .await
        .is_err());
    assert_eq!(proxy.stats().faults.get("RequesterPays"), Some(&1));

    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("acl-reconciler"));
    moto.apply_env(&mut c);
    let out = c
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .args(["audit", "-o", "json", &format!("s3://{bucket}")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let b = kind(&lines, "bucket")[0];
    assert_eq!(b["requester_pays"], true);
    // moto answers S3 Control's GetPublicAccessBlock (none configured).
    assert_eq!(
        b["account_public_access_block"]["account"], "123456789012",
        "{b}"
    );
    assert_eq!(
        b["account_public_access_block"]["public_access_block"]["restrict_public_buckets"], false,
        "{b}"
    );
    assert_eq!(kind(&lines, "summary")[0]["with_grants"], 1);
    let stats = proxy.stats();
    assert_eq!(
        stats.faults.get("RequesterPays"),
        Some(&1),
        "no read of the audit was refused: {stats:?}"
    );
    assert!(
        stats.per_op.get("GetObjectAcl").copied().unwrap_or(0) >= 3,
        "{stats:?}"
    );
}

/// `audit | head -1`: it only reads, so a closed stdout ends it quietly with 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_ends_the_audit_quietly() {
    use aws_sdk_s3::types::ObjectCannedAcl;
    let s3 = mc_testkit::ministack_auth().s3().await;
    let bucket = mc_testkit::unique_name("audit-pipe");
    mc_testkit::create_bucket_with_acls(&s3, &bucket).await;
    let keys: Vec<(String, &str)> = (0..200).map(|i| (format!("k{i:03}"), "x")).collect();
    mc_testkit::put_objects(&s3, &bucket, keys).await;
    for i in 0..200 {
        s3.put_object_acl()
            .bucket(&bucket)
            .key(format!("k{i:03}"))
            .acl(ObjectCannedAcl::PublicRead)
            .send()
            .await
            .unwrap();
    }
    let mut c = Command::new(mc_testkit::cli::bin("acl-reconciler"));
    mc_testkit::ministack_auth().apply_env(&mut c);
    c.env_remove("RUST_LOG")
        .args(["audit", "-o", "json", "-j", "4", &format!("s3://{bucket}")]);
    let closed =
        tokio::task::spawn_blocking(move || mc_testkit::cli::first_line_then_close(&mut c))
            .await
            .unwrap();
    assert_eq!(closed.status.code(), Some(0), "{closed:?}");
}
