//! ListObjectsV2 pages as a server sends them: the lister's fast reader
//! never panics, a page it accepts has as many keys as `<Contents>`
//! elements and no ETag still in quotes, and reading only what counting
//! needs gives the same keys, sizes and classes.

pub fn check(data: &[u8]) {
    use mc_aws_common::listing::fast_xml::{parse, parse_with};
    use mc_aws_common::listing::Detail;
    let counts = parse_with(data, Detail::Counts);
    let Some(page) = parse(data) else {
        return;
    };
    let counts = counts.expect("the counting read accepts what the full read accepts");
    assert_eq!(counts.truncated, page.truncated);
    assert_eq!(counts.items.len(), page.items.len());
    for (c, f) in counts.items.iter().zip(&page.items) {
        assert_eq!(
            (&c.key, c.size, &c.storage_class),
            (&f.key, f.size, &f.storage_class)
        );
        assert!(c.etag.is_empty() && c.last_modified.is_none());
    }
    let contents = data.windows(10).filter(|w| w == b"<Contents>").count();
    assert_eq!(page.items.len(), contents);
    for item in &page.items {
        assert!(!item.etag.starts_with('"') && !item.etag.ends_with('"'));
    }
}
