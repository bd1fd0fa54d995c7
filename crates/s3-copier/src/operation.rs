//! Which Batch Operations operation copies what `sync` would copy, keeping
//! what the user asked for: S3's own copy (S3PutObjectCopy) where it can,
//! else LambdaInvoke of the s3-copier handler (which copies exactly as
//! `sync` does).
//!
//! S3PutObjectCopy keeps user metadata and content headers
//! (MetadataDirective COPY) and tags (no NewObjectTagging: the source's
//! tags are copied), but it copies objects of at most 5 GB, sets one
//! storage class and one ACL for every object, never copies an object's own
//! ACL grants, and cannot read SSE-C objects.

use mc_aws_common::twosided::Folders;

use crate::cost::{CopyProfile, Engine};
use crate::options::{AclMode, CopyOptions, MAX_SINGLE};
use crate::sse::SsePlan;

/// `--operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Requested {
    /// S3's copy where it keeps what was asked for, else the Lambda handler.
    Auto,
    /// S3PutObjectCopy; refused when it would not keep what was asked for.
    Copy,
    /// LambdaInvoke of the s3-copier handler (`--lambda-arn`).
    Lambda,
}

/// S3PutObjectCopy's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeCopy {
    /// `TargetResource`: the destination bucket's ARN.
    pub target_bucket_arn: String,
    /// `TargetKeyPrefix`: the destination folder.
    pub target_key_prefix: Option<String>,
    pub storage_class: Option<String>,
    pub canned_acl: Option<String>,
}

/// The job's operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    Native(NativeCopy),
    Lambda {
        function_arn: String,
        reads_acls: bool,
    },
}

impl Operation {
    pub fn engine(&self) -> Engine {
        match self {
            Operation::Native(_) => Engine::NativeCopy,
            Operation::Lambda { reads_acls, .. } => Engine::Lambda {
                reads_acls: *reads_acls,
            },
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Operation::Native(_) => "S3PutObjectCopy",
            Operation::Lambda { .. } => "LambdaInvoke",
        }
    }
}

/// What the decision rests on.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub opts: &'a CopyOptions,
    /// The source bucket has ACLs enabled (`--acl copy` then reads them).
    pub source_acls: bool,
    /// The encryption copies get (pre-flight's decision).
    pub sse: &'a SsePlan,
    pub profile: &'a CopyProfile,
    /// The manifest names versions (the Lambda handler copies current ones only).
    pub versions: bool,
    pub folders: &'a Folders,
}

impl Facts<'_> {
    /// S3's copy writes `TargetKeyPrefix + source key`; `sync` writes the
    /// destination folder + the key's path below the source folder. The
    /// prefix that makes them the same, if there is one.
    fn target_key_prefix(&self) -> Option<String> {
        let (src, dst) = (&self.folders.source.prefix, &self.folders.dest.prefix);
        dst.strip_suffix(src.as_str()).map(str::to_string)
    }

    fn copies_acls(&self) -> bool {
        self.opts.acl == AclMode::Copy && self.source_acls
    }

    /// The one storage class every copy gets: `--storage-class`, or the
    /// source's when all objects share it (`None`: STANDARD, S3's default).
    fn one_class(&self) -> Result<Option<String>, String> {
        if let Some(c) = &self.opts.storage_class {
            return Ok(Some(c.clone()));
        }
        let mut classes = self.profile.classes.keys();
        match (classes.next(), classes.next()) {
            (Some(c), None) if c != "STANDARD" => Ok(Some(c.clone())),
            (_, None) => Ok(None),
            _ => Err(format!(
                "the objects are in several storage classes ({}) and S3's copy gives them all one: pass --storage-class, or copy with the Lambda",
                self.profile.classes.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// Why S3's own copy would not keep what was asked for (empty: it would).
    pub fn native_obstacles(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.copies_acls() {
            why.push("--acl copy: S3's copy cannot copy each object's own ACL grants (use --acl skip or a canned ACL, or the Lambda)".into());
        }
        if self.profile.largest > MAX_SINGLE {
            why.push(format!(
                "the largest object is {} bytes: S3's copy takes objects up to 5 GB (the Lambda copies larger ones in parts)",
                self.profile.largest
            ));
        }
        if let SsePlan::Kms { key, .. } = self.sse {
            why.push(format!("copies must be encrypted with KMS key {key}, which S3's copy would only set by replacing the objects' metadata"));
        }
        if self.target_key_prefix().is_none() {
            why.push(format!(
                "S3's copy writes its target prefix followed by the whole source key, which cannot turn {:?} into {:?}",
                self.folders.source.prefix, self.folders.dest.prefix
            ));
        }
        if self.opts.sse_per_object {
            why.push(
                "--sse-per-object: each copy keeps its own encryption, which only the Lambda reads"
                    .into(),
            );
        }
        if let Err(e) = self.one_class() {
            why.push(e);
        }
        why
    }

    /// The engine the estimate prices: S3's copy when nothing stands in its way.
    pub fn likely_engine(&self) -> Engine {
        if self.native_obstacles().is_empty() {
            Engine::NativeCopy
        } else {
            Engine::Lambda {
                reads_acls: self.copies_acls(),
            }
        }
    }
}

/// Chooses the operation, or says in one line why none fits.
pub fn choose(
    requested: Requested,
    facts: &Facts<'_>,
    partition: &str,
    lambda_arn: Option<&str>,
) -> Result<Operation, String> {
    let obstacles = facts.native_obstacles();
    let native = || {
        let canned = match &facts.opts.acl {
            AclMode::Canned(c) => Some(c.as_str().to_string()),
            _ => None,
        };
        Operation::Native(NativeCopy {
            target_bucket_arn: format!("arn:{partition}:s3:::{}", facts.folders.dest.bucket),
            target_key_prefix: facts.target_key_prefix().filter(|p| !p.is_empty()),
            storage_class: facts.one_class().ok().flatten(),
            canned_acl: canned,
        })
    };
    let lambda = |arn: &str| Operation::Lambda {
        function_arn: arn.to_string(),
        reads_acls: facts.copies_acls(),
    };
    match requested {
        Requested::Copy | Requested::Auto if obstacles.is_empty() => Ok(native()),
        Requested::Copy => Err(format!("--operation copy: {}", obstacles.join("; "))),
        _ if facts.versions => Err(
            "the manifest names object versions, and the Lambda handler copies current versions only: make S3's copy possible (see above)".into(),
        ),
        Requested::Lambda | Requested::Auto => match lambda_arn {
            Some(arn) => Ok(lambda(arn)),
            None if requested == Requested::Lambda => {
                Err("--operation lambda needs --lambda-arn (the s3-copier-lambda function)".into())
            }
            None => Err(format!(
                "S3's copy would not keep what was asked for ({}); give --lambda-arn to copy with the s3-copier Lambda handler",
                obstacles.join("; ")
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(acl: &str) -> CopyOptions {
        CopyOptions::with_acl(AclMode::parse(acl).unwrap())
    }

    fn profile(largest: u64, classes: &[&str]) -> CopyProfile {
        let mut p = CopyProfile::default();
        for c in classes {
            p.add_object(largest, Some(c));
        }
        p
    }

    fn folders(src: &str, dst: &str) -> Folders {
        let url = |s: &str| mc_aws_common::s3url::S3Url::parse_folder(s).unwrap();
        Folders::new(url(src), url(dst)).unwrap()
    }

    fn decide(
        o: &CopyOptions,
        p: &CopyProfile,
        req: Requested,
        arn: Option<&str>,
    ) -> Result<Operation, String> {
        decide_in(
            o,
            p,
            req,
            arn,
            &folders("s3://old-bucket", "s3://new-bucket/media"),
        )
    }

    fn decide_in(
        o: &CopyOptions,
        p: &CopyProfile,
        req: Requested,
        arn: Option<&str>,
        f: &Folders,
    ) -> Result<Operation, String> {
        let facts = Facts {
            opts: o,
            source_acls: true,
            sse: &SsePlan::Default,
            profile: p,
            versions: false,
            folders: f,
        };
        choose(req, &facts, "aws", arn)
    }

    #[test]
    fn folders_must_map_as_s3s_copy_maps_them() {
        let p = profile(1, &["STANDARD"]);
        let o = opts("skip");
        let same = decide_in(
            &o,
            &p,
            Requested::Copy,
            None,
            &folders("s3://src-a/img", "s3://dst-b/img"),
        );
        assert!(matches!(
            same,
            Ok(Operation::Native(NativeCopy {
                target_key_prefix: None,
                ..
            }))
        ));
        let nested = decide_in(
            &o,
            &p,
            Requested::Copy,
            None,
            &folders("s3://src-a/img", "s3://dst-b/v2/img"),
        );
        assert!(
            matches!(nested, Ok(Operation::Native(NativeCopy { target_key_prefix: Some(ref t), .. })) if t == "v2/")
        );
        let err = decide_in(
            &o,
            &p,
            Requested::Copy,
            None,
            &folders("s3://src-a/img", "s3://dst-b/pics"),
        )
        .unwrap_err();
        assert!(err.contains("target prefix"), "{err}");
    }

    #[test]
    fn native_copy_when_it_keeps_everything_asked_for() {
        let p = profile(1 << 20, &["STANDARD_IA", "STANDARD_IA"]);
        let op = decide(&opts("skip"), &p, Requested::Auto, None).unwrap();
        assert_eq!(
            op,
            Operation::Native(NativeCopy {
                target_bucket_arn: "arn:aws:s3:::new-bucket".into(),
                target_key_prefix: Some("media/".into()),
                storage_class: Some("STANDARD_IA".into()),
                canned_acl: None,
            })
        );
        let canned = decide(
            &opts("bucket-owner-full-control"),
            &p,
            Requested::Copy,
            None,
        )
        .unwrap();
        assert!(
            matches!(canned, Operation::Native(NativeCopy { canned_acl: Some(ref c), .. }) if c == "bucket-owner-full-control")
        );
    }

    #[test]
    fn acl_copy_big_objects_and_mixed_classes_need_the_lambda() {
        let small = profile(10, &["STANDARD"]);
        let err = decide(&opts("copy"), &small, Requested::Auto, None).unwrap_err();
        assert!(
            err.contains("--acl copy") && err.contains("--lambda-arn"),
            "{err}"
        );
        let arn = "arn:aws:lambda:eu-west-1:111122223333:function:s3-copier";
        let op = decide(&opts("copy"), &small, Requested::Auto, Some(arn)).unwrap();
        assert_eq!(
            op,
            Operation::Lambda {
                function_arn: arn.into(),
                reads_acls: true
            }
        );
        let big = profile(MAX_SINGLE + 1, &["STANDARD"]);
        let err = decide(&opts("skip"), &big, Requested::Copy, None).unwrap_err();
        assert!(err.contains("up to 5 GB"), "{err}");
        let mixed = profile(10, &["STANDARD", "GLACIER_IR"]);
        let err = decide(&opts("skip"), &mixed, Requested::Copy, None).unwrap_err();
        assert!(err.contains("GLACIER_IR, STANDARD"), "{err}");
        let mut o = opts("skip");
        o.storage_class = Some("STANDARD".into());
        assert!(decide(&o, &mixed, Requested::Copy, None).is_ok());
        let err = decide(&opts("skip"), &small, Requested::Lambda, None).unwrap_err();
        assert!(err.contains("needs --lambda-arn"), "{err}");
    }
}
