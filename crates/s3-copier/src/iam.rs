//! `iam-policy`: the least-privilege IAM policy each mode needs.

use serde_json::{json, Value};

use crate::cli::{IamPolicyArgs, PolicyMode};

/// Object ARN pattern for a bucket + prefix.
fn objects(bucket: &str, prefix: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{prefix}*")
}

fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

const QUEUE_PLACEHOLDER: &str = "arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE_NAME";

/// The buckets and folders the policy is for (placeholders when not given).
struct Scope {
    sb: String,
    sp: String,
    db: String,
    dp: String,
}

impl Scope {
    fn of(args: &IamPolicyArgs) -> Self {
        let side = |u: &Option<mc_aws_common::s3url::S3Url>, placeholder: &str| {
            u.as_ref()
                .map(|u| (u.bucket.clone(), u.prefix.clone()))
                .unwrap_or((placeholder.into(), String::new()))
        };
        let ((sb, sp), (db, dp)) = (
            side(&args.source, "SOURCE_BUCKET"),
            side(&args.dest, "DEST_BUCKET"),
        );
        Self { sb, sp, db, dp }
    }
}

/// The trust policy of the role Batch Operations assumes.
pub fn batch_trust() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "batchoperations.s3.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }],
    })
}

/// The policy of the role a Batch Operations job runs as: read its
/// manifest, write its report, and copy (S3PutObjectCopy: read the source
/// objects, write the destination ones) or invoke the Lambda handler
/// (whose own role copies).
fn batch(args: &IamPolicyArgs, s: &Scope) -> Value {
    let (sb, sp, db, dp) = (&s.sb, &s.sp, &s.db, &s.dp);
    let (mb, mp) = args
        .manifest
        .as_ref()
        .map(|u| (u.bucket.clone(), u.prefix.clone()))
        .unwrap_or(("MANIFEST_BUCKET".into(), String::new()));
    let mut statements = vec![
        json!({
            "Sid": "ReadManifest",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": objects(&mb, &mp),
        }),
        json!({
            "Sid": "WriteCompletionReport",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": objects(&mb, &format!("{mp}reports/")),
        }),
        json!({
            "Sid": "ReportBucketLocation",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation"],
            "Resource": bucket_arn(&mb),
        }),
    ];
    if let Some(arn) = &args.lambda_arn {
        statements.push(json!({
            "Sid": "InvokeCopier",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": arn,
        }));
    } else {
        statements.push(json!({
            "Sid": "ReadSourceObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"],
            "Resource": objects(sb, sp),
        }));
        let mut write = vec!["s3:PutObject", "s3:PutObjectTagging"];
        if !args.no_acl {
            write.push("s3:PutObjectAcl");
        }
        statements.push(json!({
            "Sid": "WriteDestinationObjects",
            "Effect": "Allow",
            "Action": write,
            "Resource": objects(db, dp),
        }));
        if !args.kms_key.is_empty() {
            statements.push(json!({
                "Sid": "UseKmsKeys",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": args.kms_key,
            }));
        }
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The progress record of published ranges: its bucket's listing under
/// the folder, and `actions` on its objects.
fn progress_record(args: &IamPolicyArgs, actions: &[&str]) -> Vec<Value> {
    let (pb, pp) = args
        .progress
        .as_ref()
        .map(|u| (u.bucket.clone(), u.prefix.clone()))
        .unwrap_or(("PROGRESS_BUCKET".into(), String::new()));
    let mut list = json!({
        "Sid": "ListProgressRecord",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": bucket_arn(&pb),
    });
    if !pp.is_empty() {
        list["Condition"] = json!({"StringLike": {"s3:prefix": [format!("{pp}*")]}});
    }
    vec![
        list,
        json!({
            "Sid": "WriteProgressRecord",
            "Effect": "Allow",
            "Action": actions,
            "Resource": objects(&pb, &pp),
        }),
    ]
}

/// `sync --publish-ranges`: both buckets looked up and the source listed, the ranges sent (the
/// queue and its dead-letter queue created with `--create-queue`), the
/// plan written and the progress record read (`--wait`, `fleet-status`).
fn publish(args: &IamPolicyArgs, s: &Scope) -> Value {
    let queue = args.queue_arn.clone().unwrap_or(QUEUE_PLACEHOLDER.into());
    let dlq = format!("{queue}-dlq");
    let mut send = vec!["sqs:SendMessage", "sqs:GetQueueAttributes"];
    if args.create_queue {
        send.push("sqs:CreateQueue");
    }
    let mut dlq_actions = vec!["sqs:GetQueueUrl", "sqs:GetQueueAttributes"];
    if args.create_queue {
        dlq_actions.push("sqs:CreateQueue");
    }
    // Both buckets looked up, the source listed (the default cut).
    let mut statements = listing(args, s);
    statements.extend([
        json!({
            "Sid": "SendRanges",
            "Effect": "Allow",
            "Action": send,
            "Resource": queue,
        }),
        json!({
            "Sid": "DeadLetterQueue",
            "Effect": "Allow",
            "Action": dlq_actions,
            "Resource": dlq,
        }),
    ]);
    statements.extend(progress_record(args, &["s3:PutObject", "s3:GetObject"]));
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Builds the policy document for `args`.
pub fn policy(args: &IamPolicyArgs) -> Value {
    if args.mode == PolicyMode::Lag {
        // The state files are local; the queue's depth is all it reads.
        return json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "ReadQueueDepth",
            "Effect": "Allow",
            "Action": ["sqs:GetQueueAttributes"],
            "Resource": args.queue_arn.clone().unwrap_or(QUEUE_PLACEHOLDER.into()),
        }]});
    }
    let scope = Scope::of(args);
    if args.mode == PolicyMode::Publish {
        return publish(args, &scope);
    }
    if args.mode == PolicyMode::Batch {
        return if args.trust {
            batch_trust()
        } else {
            batch(args, &scope)
        };
    }
    let mut statements = listing(args, &scope);
    statements.push(source_reads(args, &scope));
    if args.mode == PolicyMode::Verify {
        statements.push(destination_reads(args, &scope));
    } else {
        statements.extend(preflight(args, &scope));
        statements.push(destination_writes(args, &scope));
    }
    statements.extend(queue_keys_logs(args));
    if args.mode == PolicyMode::Worker && args.progress.is_some() {
        // Published ranges: acknowledged in the run's progress record.
        statements.extend(progress_record(args, &["s3:PutObject"]));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Listing: both sides, only under the folders. (HeadBucket, which finds a
/// bucket's region, is refused under such a condition, but its 403 still
/// names the region, and that is all the tool reads from it.)
fn listing(args: &IamPolicyArgs, scope: &Scope) -> Vec<Value> {
    let list_cond = |prefix: &str| {
        (!prefix.is_empty()).then(|| json!({"StringLike": {"s3:prefix": [format!("{prefix}*")]}}))
    };
    // The worker and the Lambda read each source object with HeadObject, and
    // S3 answers 404 for one deleted since its event only to an identity with
    // s3:ListBucket on the bucket, without conditions (a HEAD has no prefix);
    // 403 instead would retry the event until the dead-letter queue.
    let heads_source = matches!(args.mode, PolicyMode::Worker | PolicyMode::Lambda);
    let sides = [
        ("ListSource", &scope.sb, &scope.sp),
        ("ListDestination", &scope.db, &scope.dp),
    ];
    sides
        .into_iter()
        .map(|(sid, b, p)| {
            let mut s = json!({
                "Sid": sid,
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": bucket_arn(b),
            });
            let unconditioned = heads_source && sid == "ListSource";
            if let Some(c) = list_cond(p).filter(|_| !unconditioned) {
                s["Condition"] = c;
            }
            s
        })
        .collect()
}

fn source_reads(args: &IamPolicyArgs, scope: &Scope) -> Value {
    let mut src_read = vec!["s3:GetObject"];
    if args.mode != PolicyMode::Verify {
        src_read.push("s3:GetObjectTagging");
    }
    if !args.no_acl {
        src_read.push("s3:GetObjectAcl");
    }
    json!({
        "Sid": "ReadSourceObjects",
        "Effect": "Allow",
        "Action": src_read,
        "Resource": objects(&scope.sb, &scope.sp),
    })
}

/// What pre-flight reads before a run that writes.
fn preflight(args: &IamPolicyArgs, scope: &Scope) -> Vec<Value> {
    // GetBucketEncryption: pre-flight compares both buckets' default encryption.
    let mut bucket_reads = vec!["s3:GetBucketVersioning", "s3:GetEncryptionConfiguration"];
    if !args.no_acl {
        bucket_reads.extend([
            "s3:GetBucketOwnershipControls",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetBucketAcl",
        ]);
    }
    vec![
        json!({
            "Sid": "PreflightBucketSettings",
            "Effect": "Allow",
            "Action": bucket_reads,
            "Resource": [bucket_arn(&scope.sb), bucket_arn(&scope.db)],
        }),
        // What the copies will trigger (GetBucketNotificationConfiguration).
        json!({
            "Sid": "PreflightDestinationNotifications",
            "Effect": "Allow",
            "Action": ["s3:GetBucketNotification"],
            "Resource": bucket_arn(&scope.db),
        }),
    ]
}

fn destination_writes(args: &IamPolicyArgs, scope: &Scope) -> Value {
    let mut write = vec![
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:AbortMultipartUpload",
    ];
    if !args.no_acl {
        write.push("s3:PutObjectAcl");
    }
    if args.delete {
        write.push("s3:DeleteObject");
    }
    json!({
        "Sid": "WriteDestinationObjects",
        "Effect": "Allow",
        "Action": write,
        "Resource": objects(&scope.db, &scope.dp),
    })
}

fn destination_reads(args: &IamPolicyArgs, scope: &Scope) -> Value {
    let mut dst_read = vec!["s3:GetObject"];
    if !args.no_acl {
        dst_read.push("s3:GetObjectAcl");
    }
    json!({
        "Sid": "ReadDestinationObjects",
        "Effect": "Allow",
        "Action": dst_read,
        "Resource": objects(&scope.db, &scope.dp),
    })
}

/// The event queue, KMS keys and the Lambda's logs, where the mode needs them.
fn queue_keys_logs(args: &IamPolicyArgs) -> Vec<Value> {
    let mode = args.mode;
    let mut statements = Vec::new();
    // The worker reads its queue; so does a Lambda's SQS trigger, with the
    // function's role (without a queue, the Lambda is triggered directly).
    if mode == PolicyMode::Worker || (mode == PolicyMode::Lambda && args.queue_arn.is_some()) {
        statements.push(json!({
            "Sid": "ConsumeEventQueue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
            "Resource": args.queue_arn.clone().unwrap_or(QUEUE_PLACEHOLDER.into()),
        }));
    }
    if mode != PolicyMode::Verify && !args.kms_key.is_empty() {
        // CopyObject of an SSE-KMS object decrypts with the source key and
        // encrypts with the destination's (the same key, or --sse-kms-key-id).
        statements.push(json!({
            "Sid": "UseKmsKeys",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": args.kms_key,
        }));
    }
    if mode == PolicyMode::Lambda {
        statements.push(json!({
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/*",
        }));
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(mode: PolicyMode) -> IamPolicyArgs {
        IamPolicyArgs {
            mode,
            source: Some("s3://old/img/".parse().unwrap()),
            dest: Some("s3://new".parse().unwrap()),
            no_acl: false,
            delete: false,
            queue_arn: None,
            kms_key: Vec::new(),
            manifest: None,
            lambda_arn: None,
            trust: false,
            progress: None,
            create_queue: false,
        }
    }

    #[test]
    fn the_publisher_sends_ranges_and_writes_the_progress_record() {
        let mut a = args(PolicyMode::Publish);
        a.progress = Some("s3://ops/fleet/".parse().unwrap());
        a.queue_arn = Some("arn:aws:sqs:eu-west-1:111122223333:ranges".into());
        let p = policy(&a);
        let acts = actions(&p);
        assert!(acts.contains(&"sqs:SendMessage".to_string()));
        assert!(!acts.contains(&"sqs:CreateQueue".to_string()));
        assert!(!acts
            .iter()
            .any(|x| x.starts_with("s3:Put") && x != "s3:PutObject"));
        let text = p.to_string();
        assert!(text.contains("arn:aws:s3:::ops/fleet/*"), "{text}");
        assert!(text.contains("ranges-dlq"), "{text}");
        a.create_queue = true;
        assert!(actions(&policy(&a)).contains(&"sqs:CreateQueue".to_string()));
        let mut w = args(PolicyMode::Worker);
        assert!(!policy(&w).to_string().contains("Progress"));
        w.progress = Some("s3://ops/fleet/".parse().unwrap());
        let p = policy(&w);
        assert!(p.to_string().contains("WriteProgressRecord"));
        assert!(p.to_string().contains("ops/fleet/*"));
    }

    #[test]
    fn batch_role_reads_the_manifest_writes_the_report_and_copies() {
        let mut a = args(PolicyMode::Batch);
        a.manifest = Some("s3://ops/batch/".parse().unwrap());
        let p = policy(&a);
        let text = p.to_string();
        assert!(text.contains("arn:aws:s3:::ops/batch/*"), "{text}");
        assert!(text.contains("arn:aws:s3:::ops/batch/reports/*"), "{text}");
        let acts = actions(&p);
        assert!(acts.contains(&"s3:GetObjectTagging".to_string()));
        assert!(!acts.iter().any(|x| x.starts_with("lambda:")));
        a.lambda_arn = Some("arn:aws:lambda:eu-west-1:111122223333:function:s3-copier".into());
        let acts = actions(&policy(&a));
        assert!(acts.contains(&"lambda:InvokeFunction".to_string()));
        assert!(
            !acts.contains(&"s3:PutObjectTagging".to_string()),
            "the Lambda's own role copies"
        );
        a.trust = true;
        let t = policy(&a);
        assert_eq!(
            t["Statement"][0]["Principal"]["Service"],
            "batchoperations.s3.amazonaws.com"
        );
    }

    fn actions(p: &Value) -> Vec<String> {
        p["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| {
                s["Action"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
            })
            .collect()
    }

    #[test]
    fn sync_policy_is_scoped_and_has_no_delete_by_default() {
        let p = policy(&args(PolicyMode::Sync));
        let a = actions(&p);
        assert!(a.contains(&"s3:PutObjectAcl".to_string()));
        assert!(!a.contains(&"s3:DeleteObject".to_string()));
        assert!(!a.iter().any(|x| x.starts_with("sqs:")));
        let text = p.to_string();
        assert!(text.contains("arn:aws:s3:::old/img/*"), "{text}");
        assert!(text.contains("arn:aws:s3:::new/*"), "{text}");
        assert!(!text.contains("\"*\""), "no wildcard resources: {text}");
    }

    #[test]
    fn modes_add_what_they_need() {
        let mut w = args(PolicyMode::Worker);
        w.delete = true;
        let a = actions(&policy(&w));
        assert!(a.contains(&"sqs:ChangeMessageVisibility".to_string()));
        assert!(a.contains(&"s3:DeleteObject".to_string()));
        assert!(
            actions(&policy(&args(PolicyMode::Lambda))).contains(&"logs:PutLogEvents".to_string())
        );
        let v = actions(&policy(&args(PolicyMode::Verify)));
        assert!(!v.iter().any(|x| x.starts_with("s3:Put")), "{v:?}");
        let mut skip = args(PolicyMode::Sync);
        skip.no_acl = true;
        assert!(!actions(&policy(&skip)).iter().any(|x| x.contains("Acl")));
        let s = actions(&policy(&args(PolicyMode::Sync)));
        assert!(s.contains(&"s3:GetEncryptionConfiguration".to_string()));
        assert!(s.contains(&"s3:GetBucketNotification".to_string()));
        assert!(!v.contains(&"s3:GetBucketNotification".to_string()));
        assert!(!s.iter().any(|x| x.starts_with("kms:")));
        let mut kms = args(PolicyMode::Worker);
        kms.kms_key = vec!["arn:aws:kms:eu-west-1:111122223333:key/k".into()];
        let p = policy(&kms);
        assert!(actions(&p).contains(&"kms:GenerateDataKey".to_string()));
        assert!(p.to_string().contains("key/k"));
    }

    #[test]
    fn notifications_are_read_on_the_destination_only() {
        let p = policy(&args(PolicyMode::Worker));
        let st = p["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "PreflightDestinationNotifications")
            .unwrap();
        assert_eq!(st["Resource"], "arn:aws:s3:::new");
    }

    #[test]
    fn lag_reads_the_queue_attributes_only() {
        let mut a = args(PolicyMode::Lag);
        a.queue_arn = Some("arn:aws:sqs:us-east-1:123456789012:events".into());
        let p = policy(&a);
        assert_eq!(actions(&p), ["sqs:GetQueueAttributes"]);
        assert_eq!(
            p["Statement"][0]["Resource"],
            "arn:aws:sqs:us-east-1:123456789012:events"
        );
    }

    #[test]
    fn a_lambda_fed_by_sqs_may_consume_its_queue() {
        let arn = "arn:aws:sqs:us-east-1:123456789012:old-bucket-events";
        let direct = policy(&args(PolicyMode::Lambda));
        assert!(!actions(&direct).contains(&"sqs:ReceiveMessage".to_string()));
        let mut a = args(PolicyMode::Lambda);
        a.queue_arn = Some(arn.into());
        let fed = policy(&a);
        assert!(actions(&fed).contains(&"sqs:DeleteMessage".to_string()));
        assert!(fed.to_string().contains(arn));
    }
}
