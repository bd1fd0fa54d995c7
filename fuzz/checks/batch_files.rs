//! What `s3-copier batch` reads from outside: Batch Operations manifests,
//! completion reports (`manifest.json` and result CSVs) and S3 Control's
//! XML answers. Nothing panics; a manifest row read back is written and
//! read again as the same row.

pub fn check(data: &[u8]) {
    use s3_copier::{completion, manifest, s3control};
    let _ = completion::parse_manifest(data);
    let _ = completion::parse_results(data);
    let _ = s3control::parse_create_job(data);
    let _ = s3control::parse_describe_job(data);
    for row in manifest::read_rows(data).flatten() {
        let mut out = Vec::new();
        manifest::write_row(&mut out, &row.bucket, &row.key, row.version_id.as_deref())
            .expect("writing to memory");
        let again: Vec<_> = manifest::read_rows(out.as_slice()).collect();
        // A bucket column with a comma or quote is not one we write.
        if row
            .bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            assert_eq!(again.len(), 1, "{row:?}");
            assert_eq!(again[0].as_ref().ok(), Some(&row), "{row:?}");
        }
    }
}
