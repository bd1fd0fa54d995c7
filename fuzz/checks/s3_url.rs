//! `s3://bucket/prefix` URLs: `S3Url::from_str` never panics and what it
//! accepts prints back to a URL that parses to the same value.

pub fn check(data: &[u8]) {
    use mc_aws_common::s3url::S3Url;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(url) = text.parse::<S3Url>() else {
        return;
    };
    assert!(
        url.bucket.len() >= 3 && !url.bucket.contains('/'),
        "{url:?}"
    );
    let again: S3Url = url.to_string().parse().expect("a printed S3Url parses");
    assert_eq!(again, url);
    let mapped = url.map_key(&format!("{}x", url.prefix), &again);
    assert_eq!(mapped, format!("{}x", url.prefix));
}
