//! Server-side encryption of the copies.
//!
//! CopyObject does not carry the source's encryption: without SSE headers a
//! copy gets the destination bucket's default. The rules, so that a copy is
//! never encrypted less strictly than its source nor than the destination's
//! own default:
//!
//! - pre-flight reads both buckets' default encryption. Source default
//!   SSE-KMS and a destination default that is not KMS: the copies carry the
//!   source's key when it can be used in the destination's region, else the
//!   run stops (exit 2) unless `--sse-kms-key-id` or `--sse-allow-weaker`;
//! - objects read with HeadObject (multipart path, worker, Lambda) carry their
//!   own encryption: SSE-S3 -> SSE-S3, SSE-KMS with a key usable in the
//!   destination's region -> the same key (and the Bucket Key flag); other
//!   keys -> `--sse-kms-key-id`, or the destination default with a warning;
//! - SSE-C objects cannot be read without their key: a per-object failure;
//! - `--sse-kms-key-id` encrypts every copy with that key.

use aws_sdk_s3::types::ServerSideEncryption;

/// Encryption of a bucket (its default) or of one object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Sse {
    /// None configured (buckets from before 2023), or not known.
    #[default]
    None,
    /// SSE-S3 (AES256).
    S3,
    /// SSE-KMS (or DSSE-KMS); `key` is absent for the AWS managed `aws/s3` key.
    Kms {
        key: Option<String>,
        bucket_key: bool,
    },
    /// SSE-C: only readable with the customer's key.
    Customer,
}

impl Sse {
    /// From the algorithm name S3 reports (`AES256`, `aws:kms`, `aws:kms:dsse`).
    pub fn from_algorithm(alg: Option<&str>, key: Option<&str>, bucket_key: bool) -> Self {
        match alg {
            Some("AES256") => Sse::S3,
            Some(a) if a.starts_with("aws:kms") => Sse::Kms {
                key: key.filter(|k| !k.is_empty()).map(str::to_string),
                bucket_key,
            },
            _ => Sse::None,
        }
    }

    fn is_kms(&self) -> bool {
        matches!(self, Sse::Kms { .. })
    }

    fn describe(&self) -> &'static str {
        match self {
            Sse::None => "no default encryption",
            Sse::S3 => "SSE-S3",
            Sse::Kms { .. } => "SSE-KMS",
            Sse::Customer => "SSE-C",
        }
    }
}

/// What a copy request says about encryption.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SsePlan {
    /// No SSE headers: the destination bucket's default applies.
    #[default]
    Default,
    S3,
    Kms {
        key: String,
        bucket_key: bool,
    },
}

impl SsePlan {
    /// `(x-amz-server-side-encryption, key id, bucket key)` for the request builders.
    pub fn headers(&self) -> Option<(ServerSideEncryption, Option<&str>, Option<bool>)> {
        match self {
            SsePlan::Default => None,
            SsePlan::S3 => Some((ServerSideEncryption::Aes256, None, None)),
            SsePlan::Kms { key, bucket_key } => Some((
                ServerSideEncryption::AwsKms,
                Some(key.as_str()),
                bucket_key.then_some(true),
            )),
        }
    }
}

/// The reason given for an SSE-C object.
pub const SSE_C_REASON: &str = "source object is encrypted with a customer-provided key (SSE-C): S3 cannot read or copy it without that key; copy it with the key yourself";

/// What the run knows about encryption (from pre-flight and the flags).
#[derive(Debug, Clone, Default)]
pub struct SseSetup {
    /// `--sse-kms-key-id`.
    pub explicit_key: Option<String>,
    /// The destination bucket's default.
    pub dest_default: Sse,
    pub src_region: String,
    pub dest_region: String,
    /// For copies whose own encryption is not known (sync's single-request
    /// path: listings do not say): from the buckets' defaults.
    pub bulk: SsePlan,
}

/// The region a KMS key lives in: the one in its ARN, else (a bare key id
/// or alias) the source bucket's.
fn key_region<'a>(key: &'a str, src_region: &'a str) -> &'a str {
    if key.starts_with("arn:") {
        key.split(':').nth(3).unwrap_or(src_region)
    } else {
        src_region
    }
}

impl SseSetup {
    /// The plan for one object whose encryption is `src`; `Err` is the
    /// failure reason, the `Option<String>` a warning.
    pub fn for_object(&self, src: &Sse) -> Result<(SsePlan, Option<String>), String> {
        let bucket_key = matches!(
            src,
            Sse::Kms {
                bucket_key: true,
                ..
            }
        );
        if let Sse::Customer = src {
            return Err(SSE_C_REASON.to_string());
        }
        if let Some(k) = &self.explicit_key {
            return Ok((
                SsePlan::Kms {
                    key: k.clone(),
                    bucket_key,
                },
                None,
            ));
        }
        Ok(match src {
            Sse::None | Sse::Customer => (SsePlan::Default, None),
            // Any default is at least SSE-S3; a KMS default must not be downgraded.
            Sse::S3 if self.dest_default == Sse::None => (SsePlan::S3, None),
            Sse::S3 => (SsePlan::Default, None),
            // The destination's own KMS configuration is the new owner's choice.
            Sse::Kms { .. } if self.dest_default.is_kms() => (SsePlan::Default, None),
            Sse::Kms {
                key: Some(k),
                bucket_key,
            } if key_region(k, &self.src_region) == self.dest_region => (
                SsePlan::Kms {
                    key: k.clone(),
                    bucket_key: *bucket_key,
                },
                None,
            ),
            Sse::Kms { key, .. } => (
                SsePlan::Default,
                Some(format!(
                    "source is SSE-KMS with {} not usable in {}: the copy gets the destination's {} (give --sse-kms-key-id to choose a key)",
                    key.as_deref().map_or("the AWS managed key aws/s3".to_string(), |k| format!("key {k}")),
                    self.dest_region,
                    self.dest_default.describe()
                )),
            ),
        })
    }

    /// Pre-flight's decision from the buckets' defaults: the bulk plan, or
    /// the one-line reason to stop. `allow_weaker` is `--sse-allow-weaker`.
    pub fn decide_bulk(&mut self, src_default: &Sse, allow_weaker: bool) -> Result<(), String> {
        match self.for_object(src_default) {
            Ok((plan, None)) => {
                self.bulk = plan;
                Ok(())
            }
            Ok((plan, Some(_))) if allow_weaker => {
                self.bulk = plan;
                Ok(())
            }
            Ok((_, Some(_))) | Err(_) => Err(format!(
                "the source bucket encrypts with SSE-KMS by default ({}) but the destination's default is {}: the copies would be encrypted less strictly; give --sse-kms-key-id KEY (a key in {}), set a KMS default encryption on the destination, or accept with --sse-allow-weaker",
                match src_default {
                    Sse::Kms { key: Some(k), .. } => format!("key {k}"),
                    _ => "AWS managed key aws/s3".to_string(),
                },
                self.dest_default.describe(),
                self.dest_region
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(dest: Sse, explicit: Option<&str>) -> SseSetup {
        SseSetup {
            explicit_key: explicit.map(Into::into),
            dest_default: dest,
            src_region: "us-east-1".into(),
            dest_region: "eu-west-1".into(),
            bulk: SsePlan::Default,
        }
    }

    fn kms(k: &str) -> Sse {
        Sse::Kms {
            key: Some(k.into()),
            bucket_key: true,
        }
    }

    const EU_KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/abc";
    const US_KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/abc";

    #[test]
    fn sse_s3_is_kept_and_never_downgrades_a_kms_default() {
        assert_eq!(
            setup(Sse::None, None).for_object(&Sse::S3).unwrap(),
            (SsePlan::S3, None)
        );
        assert_eq!(
            setup(Sse::S3, None).for_object(&Sse::S3).unwrap().0,
            SsePlan::Default
        );
        assert_eq!(
            setup(kms(EU_KEY), None).for_object(&Sse::S3).unwrap().0,
            SsePlan::Default
        );
        assert_eq!(
            setup(Sse::S3, None).for_object(&Sse::None).unwrap().0,
            SsePlan::Default
        );
    }

    #[test]
    fn kms_key_in_the_destination_region_is_carried_with_its_bucket_key() {
        let (plan, warn) = setup(Sse::S3, None).for_object(&kms(EU_KEY)).unwrap();
        assert_eq!(
            plan,
            SsePlan::Kms {
                key: EU_KEY.into(),
                bucket_key: true
            }
        );
        assert!(warn.is_none());
        // A bare key id lives in the source's region: usable within one region only.
        let mut same = setup(Sse::None, None);
        same.dest_region = "us-east-1".into();
        assert!(matches!(
            same.for_object(&kms("1234abcd")).unwrap().0,
            SsePlan::Kms { .. }
        ));
    }

    #[test]
    fn kms_key_elsewhere_falls_back_with_a_warning_or_to_the_given_key() {
        let (plan, warn) = setup(Sse::S3, None).for_object(&kms(US_KEY)).unwrap();
        assert_eq!(plan, SsePlan::Default);
        assert!(warn.unwrap().contains("--sse-kms-key-id"));
        let (plan, warn) = setup(Sse::S3, Some(EU_KEY))
            .for_object(&kms(US_KEY))
            .unwrap();
        assert_eq!(
            plan,
            SsePlan::Kms {
                key: EU_KEY.into(),
                bucket_key: true
            }
        );
        assert!(warn.is_none());
        // The destination's own KMS default is kept.
        let (plan, warn) = setup(kms(EU_KEY), None).for_object(&kms(US_KEY)).unwrap();
        assert_eq!((plan, warn), (SsePlan::Default, None));
    }

    #[test]
    fn sse_c_is_a_failure_even_with_a_key() {
        let err = setup(Sse::S3, Some(EU_KEY))
            .for_object(&Sse::Customer)
            .unwrap_err();
        assert!(err.contains("SSE-C"), "{err}");
    }

    #[test]
    fn preflight_refuses_a_weaker_destination_unless_told() {
        let mut s = setup(Sse::S3, None);
        let err = s.decide_bulk(&kms(US_KEY), false).unwrap_err();
        assert!(err.contains("--sse-allow-weaker"), "{err}");
        assert!(err.contains("--sse-kms-key-id"), "{err}");
        s.decide_bulk(&kms(US_KEY), true).unwrap();
        assert_eq!(s.bulk, SsePlan::Default);
        // The AWS managed key cannot be named in another bucket's requests.
        let managed = Sse::Kms {
            key: None,
            bucket_key: false,
        };
        assert!(setup(Sse::None, None).decide_bulk(&managed, false).is_err());
        // Usable key: carried.
        let mut s = setup(Sse::S3, None);
        s.decide_bulk(&kms(EU_KEY), false).unwrap();
        assert!(matches!(s.bulk, SsePlan::Kms { .. }));
        // Given key: used.
        let mut s = setup(Sse::None, Some(EU_KEY));
        s.decide_bulk(&kms(US_KEY), false).unwrap();
        assert!(matches!(s.bulk, SsePlan::Kms { .. }));
        // SSE-S3 source, no destination default: SSE-S3 explicitly.
        let mut s = setup(Sse::None, None);
        s.decide_bulk(&Sse::S3, false).unwrap();
        assert_eq!(s.bulk, SsePlan::S3);
    }
}
