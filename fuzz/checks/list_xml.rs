//! ListObjectsV2 pages as a server sends them: the lister's fast reader
//! never panics, and a page it accepts has as many keys as `<Contents>`
//! elements and no key that still holds markup.

pub fn check(data: &[u8]) {
    use mc_aws_common::listing::fast_xml::parse;
    let Some(page) = parse(data) else {
        return;
    };
    let contents = data.windows(10).filter(|w| w == b"<Contents>").count();
    assert_eq!(page.items.len(), contents);
    for item in &page.items {
        assert!(!item.etag.starts_with('"') && !item.etag.ends_with('"'));
    }
}
