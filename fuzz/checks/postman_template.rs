//! sqs-postman message templates: parsing never panics, a rendering is never
//! longer than the computed bound (used to size batches), and a template
//! without placeholders renders as its own text.

pub fn check(data: &[u8]) {
    use sqs_postman::template::Template;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = Template::parse(text) else {
        return;
    };
    for seq in [1, 99, u64::MAX] {
        let out = t.render(seq);
        assert!(out.len() <= t.max_len(), "{} > {}", out.len(), t.max_len());
        assert!(out.len() <= t.max_len_with_seq(Some(seq)));
    }
    if t.is_constant() {
        assert_eq!(t.render(1), text);
    }
    for u in t.unknown_placeholders() {
        assert!(text.contains(&format!("%{u}%")));
    }
}
