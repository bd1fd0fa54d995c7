//! Value types behind the flags: ACL mode, sizes, copy options.

use aws_sdk_s3::types::ObjectCannedAcl;

use crate::notifications;

/// The smallest part S3 accepts (except the last one).
pub const MIN_PART: u64 = 5 * 1024 * 1024;
/// The largest part, and the largest object CopyObject copies in one request.
pub const MAX_SINGLE: u64 = 5 * 1024 * 1024 * 1024;
/// S3's limit on parts per upload.
pub const MAX_PARTS: u64 = 10_000;

/// `--acl`: what the copies' ACLs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclMode {
    /// The source object's grants, owner mapped to the destination owner.
    Copy,
    /// No ACL: the destination's default (private to the bucket owner).
    Skip,
    /// This canned ACL on every copy (only when asked for explicitly).
    Canned(ObjectCannedAcl),
}

impl AclMode {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "copy" => Ok(AclMode::Copy),
            "skip" => Ok(AclMode::Skip),
            other => {
                let known = ObjectCannedAcl::values();
                if known.contains(&other) {
                    Ok(AclMode::Canned(ObjectCannedAcl::from(other)))
                } else {
                    Err(format!(
                        "{other:?} is not an ACL mode: expected copy, skip, or a canned ACL ({})",
                        known.join(", ")
                    ))
                }
            }
        }
    }

    /// Whether copies carry ACL information that an ACL-disabled bucket
    /// (BucketOwnerEnforced) would reject.
    pub fn needs_acls(&self) -> bool {
        match self {
            AclMode::Skip => false,
            AclMode::Copy => true,
            // The one canned ACL BucketOwnerEnforced buckets accept.
            AclMode::Canned(c) => *c != ObjectCannedAcl::BucketOwnerFullControl,
        }
    }

    /// Whether the canned ACL grants anything to everyone / all AWS users.
    pub fn is_public_canned(&self) -> bool {
        matches!(
            self,
            AclMode::Canned(
                ObjectCannedAcl::PublicRead
                    | ObjectCannedAcl::PublicReadWrite
                    | ObjectCannedAcl::AuthenticatedRead
            )
        )
    }
}

impl std::fmt::Display for AclMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AclMode::Copy => f.write_str("copy"),
            AclMode::Skip => f.write_str("skip"),
            AclMode::Canned(c) => f.write_str(c.as_str()),
        }
    }
}

/// Parses `5GiB`, `256MiB`, `8MB`, `1048576`, `10k` into bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size: expected e.g. 8MiB, 5GiB or 1048576"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "{s:?}: unknown size unit {unit:?} (use B, KiB, MiB, GiB, KB, MB, GB)"
            ))
        }
    };
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(format!("{s:?} is not a positive size"));
    }
    Ok(bytes as u64)
}

/// How each object is copied.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub acl: AclMode,
    pub storage_class: Option<String>,
    pub sse_kms_key_id: Option<String>,
    pub sse_allow_weaker: bool,
    /// HeadObject before every copy, for its encryption.
    pub sse_per_object: bool,
    pub multipart_threshold: u64,
    pub part_size: u64,
    /// What pre-flight checks the destination's event notifications against.
    pub notifications: notifications::Guard,
}

impl CopyOptions {
    /// The defaults with `acl`, for tests.
    #[cfg(test)]
    pub(crate) fn with_acl(acl: AclMode) -> Self {
        Self {
            acl,
            storage_class: None,
            sse_kms_key_id: None,
            sse_allow_weaker: false,
            sse_per_object: false,
            multipart_threshold: MAX_SINGLE,
            part_size: MIN_PART,
            notifications: Default::default(),
        }
    }

    /// Whether an object of `size` bytes is copied in parts.
    pub fn is_multipart(&self, size: u64) -> bool {
        size > self.multipart_threshold
    }

    /// Part size for an object of `size` bytes: the configured size, raised
    /// so the object fits in 10,000 parts.
    pub fn part_size_for(&self, size: u64) -> u64 {
        let needed = size.div_ceil(MAX_PARTS);
        self.part_size.max(needed).max(MIN_PART)
    }
}

/// Byte ranges `(first, last)` (inclusive) of the parts of an object.
pub fn part_ranges(size: u64, part: u64) -> Vec<(u64, u64)> {
    let part = part.max(1);
    (0..size.div_ceil(part))
        .map(|i| {
            let first = i * part;
            (first, (first + part).min(size) - 1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("5GiB").unwrap(), 5 << 30);
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("8MB").unwrap(), 8_000_000);
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("1.5 KiB").unwrap(), 1536);
        assert!(parse_size("x").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn acl_modes_parse() {
        assert_eq!(AclMode::parse("copy").unwrap(), AclMode::Copy);
        assert_eq!(AclMode::parse("skip").unwrap(), AclMode::Skip);
        assert!(AclMode::parse("public-read").unwrap().is_public_canned());
        assert!(!AclMode::parse("bucket-owner-full-control")
            .unwrap()
            .needs_acls());
        let err = AclMode::parse("world").unwrap_err();
        assert!(err.contains("public-read"), "{err}");
    }

    #[test]
    fn parts_cover_the_object_exactly() {
        assert_eq!(part_ranges(10, 4), vec![(0, 3), (4, 7), (8, 9)]);
        assert_eq!(part_ranges(8, 4), vec![(0, 3), (4, 7)]);
        assert!(part_ranges(0, 4).is_empty());
        let o = CopyOptions::with_acl(AclMode::Skip);
        // 5 TiB in 5 MiB parts would be 1M parts: raised to fit 10,000.
        let size = 5u64 << 40;
        let p = o.part_size_for(size);
        assert!(size.div_ceil(p) <= MAX_PARTS);
    }
}
