//! The scanner against the general XML decoder on generated answers: every
//! answer in S3's shape is read, and read as the decoder reads it; a cut or
//! changed answer is either left to the decoder or read as it reads it.

use proptest::prelude::*;

use super::read;
use crate::acl::reader::parse_general;

fn escape(s: &str, numeric_quotes: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if numeric_quotes => out.push_str("&#34;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone)]
struct GrantXml {
    kind: Option<&'static str>,
    fields: Vec<(&'static str, String)>,
    permission: &'static str,
    permission_first: bool,
}

fn text() -> impl Strategy<Value = String> {
    "[a-f0-9 &<>\"'é日.@/:]{0,12}"
}

fn grant() -> impl Strategy<Value = GrantXml> {
    let kind = prop::option::of(prop::sample::select(vec![
        "CanonicalUser",
        "Group",
        "AmazonCustomerByEmail",
        "Future",
    ]));
    let field = prop::sample::select(vec!["ID", "URI", "EmailAddress", "DisplayName"]);
    let fields = prop::collection::vec((field, text()), 0..3);
    let permission = prop::sample::select(vec![
        "FULL_CONTROL",
        "READ",
        "WRITE",
        "READ_ACP",
        "WRITE_ACP",
        "PEEK",
    ]);
    (kind, fields, permission, any::<bool>()).prop_map(|(kind, fields, permission, first)| {
        GrantXml {
            kind,
            fields,
            permission,
            permission_first: first,
        }
    })
}

/// An answer as S3 writes one, with `gap` between elements.
fn render(
    owner: &Option<(Option<String>, Option<String>)>,
    grants: &Option<Vec<GrantXml>>,
    declaration: bool,
    gap: &str,
    numeric_quotes: bool,
) -> String {
    let e = |s: &str| escape(s, numeric_quotes);
    let mut x = String::new();
    if declaration {
        x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    }
    x.push_str("<AccessControlPolicy xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if let Some((id, name)) = owner {
        x.push_str(&format!("{gap}<Owner>"));
        if let Some(id) = id {
            x.push_str(&format!("<ID>{}</ID>", e(id)));
        }
        if let Some(name) = name {
            x.push_str(&format!("{gap}<DisplayName>{}</DisplayName>", e(name)));
        }
        x.push_str("</Owner>");
    }
    if let Some(grants) = grants {
        x.push_str(&format!("{gap}<AccessControlList>"));
        for g in grants {
            let permission = format!("<Permission>{}</Permission>", g.permission);
            let mut grantee =
                String::from("<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"");
            if let Some(kind) = g.kind {
                grantee.push_str(&format!(" xsi:type=\"{kind}\""));
            }
            grantee.push('>');
            for (name, value) in &g.fields {
                grantee.push_str(&format!("<{name}>{}</{name}>", e(value)));
            }
            grantee.push_str("</Grantee>");
            let (a, b) = match g.permission_first {
                true => (&permission, &grantee),
                false => (&grantee, &permission),
            };
            x.push_str(&format!("{gap}<Grant>{gap}{a}{gap}{b}{gap}</Grant>"));
        }
        x.push_str(&format!("{gap}</AccessControlList>"));
    }
    x.push_str(&format!("{gap}</AccessControlPolicy>"));
    x
}

fn answer() -> impl Strategy<Value = String> {
    let owner = prop::option::of((prop::option::of(text()), prop::option::of(text())));
    let grants = prop::option::of(prop::collection::vec(grant(), 0..5));
    let gap = prop::sample::select(vec!["", "\n  ", " ", "\r\n\t"]);
    (owner, grants, any::<bool>(), gap, any::<bool>())
        .prop_map(|(o, g, d, gap, q)| render(&o, &g, d, gap, q))
}

/// Whether `doc` repeats a grantee field (the general decoder keeps the
/// last; the scanner leaves such answers to it).
fn repeats_a_field(doc: &str) -> bool {
    doc.split("<Grantee").skip(1).any(|grantee| {
        let grantee = grantee.split("</Grantee>").next().unwrap_or_default();
        ["<ID>", "<URI>", "<EmailAddress>", "<DisplayName>"]
            .iter()
            .any(|f| grantee.matches(f).count() > 1)
    })
}

proptest! {
    #[test]
    fn reads_what_the_decoder_reads(doc in answer()) {
        let general = parse_general(&doc);
        let ours = read(doc.as_bytes());
        if repeats_a_field(&doc) {
            prop_assert!(ours.is_none());
        } else {
            prop_assert_eq!(ours, general, "{}", doc);
        }
    }

    #[test]
    fn leaves_a_damaged_answer_or_reads_it_alike(
        doc in answer(),
        at in any::<prop::sample::Index>(),
        junk in prop::sample::select(vec!["", "<", ">", "/", "&", "<!-- c -->", "<X>y</X>", "\"", "=", "<![CDATA[z]]>"]),
    ) {
        let mut cut = at.index(doc.len() + 1);
        while !doc.is_char_boundary(cut) {
            cut -= 1;
        }
        let damaged = format!("{}{junk}{}", &doc[..cut], if junk.is_empty() { "" } else { &doc[cut..] });
        if let Some(ours) = read(damaged.as_bytes()) {
            prop_assert_eq!(Some(ours), parse_general(&damaged), "{}", damaged);
        }
    }
}

/// XML allows nothing before its declaration: such an answer is the general
/// decoder's to judge; whitespace before the root alone is fine.
#[test]
fn leaves_whitespace_before_the_declaration_to_the_decoder() {
    let body = "<AccessControlPolicy><Owner><ID>o</ID></Owner></AccessControlPolicy>";
    let declared = format!(r#"<?xml version="1.0" encoding="UTF-8"?>{body}"#);
    assert!(read(declared.as_bytes()).is_some());
    assert!(read(format!("\n {body}").as_bytes()).is_some());
    assert!(read(format!("\n{declared}").as_bytes()).is_none());
}
