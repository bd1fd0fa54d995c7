//! GetObjectAcl's usual answer read by a scanner of its own: the general XML
//! decoder was an eighth of acl-reconciler's CPU. It reads exactly the shape
//! S3 writes (its declaration or none, `Owner` and `AccessControlList` with
//! `Grant`s of one `Grantee` and one `Permission`, whitespace between
//! elements) and gives up on anything else (comments, CDATA, unknown or
//! repeated elements), which the general decoder then reads. What it reads
//! goes through the same constructors as the general decoder's result, and a
//! property test checks that both read the same ACL.

use aws_sdk_s3::types as s3t;

use crate::listing::fast_xml::text;

/// The owner and grants of an `<AccessControlPolicy>` in S3's usual shape;
/// `None` for anything else.
pub(super) fn read(body: &[u8]) -> Option<(Option<s3t::Owner>, Vec<s3t::Grant>)> {
    let mut s = Scan(body);
    // S3's declaration, first of all, or none; any other (or whitespace
    // before it, which XML forbids) is the general decoder's to judge.
    s.eat(br#"<?xml version="1.0" encoding="UTF-8"?>"#);
    s.space();
    attributes(s.open(b"AccessControlPolicy")?)?;
    let (mut owner, mut grants) = (None, None);
    loop {
        s.space();
        if s.eat(b"</AccessControlPolicy>") {
            break;
        } else if s.eat(b"<Owner>") {
            super::reader::once(&mut owner, read_owner(&mut s)?)?;
        } else if s.eat(b"<AccessControlList>") {
            super::reader::once(&mut grants, read_grants(&mut s)?)?;
        } else {
            return None;
        }
    }
    s.space();
    s.0.is_empty().then(|| (owner, grants.unwrap_or_default()))
}

fn read_owner(s: &mut Scan<'_>) -> Option<s3t::Owner> {
    let mut id = None;
    loop {
        s.space();
        if s.eat(b"</Owner>") {
            return Some(s3t::Owner::builder().set_id(id).build());
        }
        let (name, raw) = s.field()?;
        match name {
            b"ID" => super::reader::once(&mut id, text(raw)?)?,
            b"DisplayName" => {}
            _ => return None,
        }
    }
}

fn read_grants(s: &mut Scan<'_>) -> Option<Vec<s3t::Grant>> {
    let mut grants = Vec::new();
    loop {
        s.space();
        if s.eat(b"</AccessControlList>") {
            return Some(grants);
        }
        if !s.eat(b"<Grant>") {
            return None;
        }
        grants.push(read_grant(s)?);
    }
}

fn read_grant(s: &mut Scan<'_>) -> Option<s3t::Grant> {
    let (mut grantee, mut permission) = (None, None);
    loop {
        s.space();
        if s.eat(b"</Grant>") {
            return super::reader::grant(grantee, permission);
        }
        if let Some(attrs) = s.open(b"Grantee") {
            super::reader::once(&mut grantee, read_grantee(s, attrs)?)?;
        } else if s.eat(b"<Permission>") {
            let raw = s.text_closing(b"Permission")?;
            super::reader::once(&mut permission, s3t::Permission::from(text(raw)?.as_str()))?;
        } else {
            return None;
        }
    }
}

fn read_grantee(s: &mut Scan<'_>, attrs: &[u8]) -> Option<s3t::Grantee> {
    let kind = match attributes(attrs)?
        .into_iter()
        .find(|(name, _)| *name == b"xsi:type")
    {
        Some((_, value)) => text(value)?,
        None => String::new(),
    };
    let mut g = s3t::Grantee::builder().r#type(s3t::Type::from(kind.as_str()));
    let mut seen = [false; 4];
    loop {
        s.space();
        if s.eat(b"</Grantee>") {
            return g.build().ok();
        }
        let (name, raw) = s.field()?;
        let value = Some(text(raw)?);
        let (slot, set) = super::reader::grantee_field(name)?;
        // A field twice: the general decoder keeps the last; leave it to it.
        if std::mem::replace(&mut seen[slot], true) {
            return None;
        }
        g = set(g, value);
    }
}

/// A start tag's attributes, `name="value"` (or single quotes) separated by
/// whitespace: the names and raw values, or `None` if any is malformed.
fn attributes(raw: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut list = Vec::new();
    let mut rest = raw;
    loop {
        rest = rest.trim_ascii_start();
        if rest.is_empty() {
            return Some(list);
        }
        let eq = rest.iter().position(|&b| b == b'=')?;
        let name = rest[..eq].trim_ascii_end();
        let after = rest[eq + 1..].trim_ascii_start();
        let quote = *after.first().filter(|q| matches!(q, b'"' | b'\''))?;
        let len = after[1..].iter().position(|&b| b == quote)?;
        // ASCII names only (S3's `xmlns`, `xmlns:xsi`, `xsi:type`).
        let valid_name = name
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && name
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'-'));
        let value = &after[1..1 + len];
        // As an XML parser: no `<`, and entities it knows.
        if !valid_name || value.contains(&b'<') || (value.contains(&b'&') && text(value).is_none())
        {
            return None;
        }
        list.push((name, value));
        rest = &after[len + 2..];
    }
}

/// The unread rest of the document.
struct Scan<'a>(&'a [u8]);

impl<'a> Scan<'a> {
    fn space(&mut self) {
        self.0 = self.0.trim_ascii_start();
    }

    fn eat(&mut self, literal: &[u8]) -> bool {
        match self.0.strip_prefix(literal) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    /// `<name ...>` (not self-closing): its attributes' raw text.
    fn open(&mut self, name: &[u8]) -> Option<&'a [u8]> {
        let rest = self.0.strip_prefix(b"<")?.strip_prefix(name)?;
        if !matches!(rest.first(), Some(b'>' | b' ' | b'\t' | b'\r' | b'\n')) {
            return None;
        }
        let end = memchr::memchr(b'>', rest)?;
        let attrs = &rest[..end];
        if attrs.ends_with(b"/") {
            return None;
        }
        self.0 = &rest[end + 1..];
        Some(attrs)
    }

    /// `<Name>text</Name>` without attributes: the name and the raw text.
    fn field(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let rest = self.0.strip_prefix(b"<")?;
        let end = memchr::memchr(b'>', rest)?;
        let name = &rest[..end];
        if name.is_empty() || !name.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        self.0 = &rest[end + 1..];
        let raw = self.text_closing(name)?;
        Some((name, raw))
    }

    /// Text up to the next tag, which must be `</name>`.
    fn text_closing(&mut self, name: &[u8]) -> Option<&'a [u8]> {
        let end = memchr::memchr(b'<', self.0)?;
        let raw = &self.0[..end];
        let rest = self.0[end..]
            .strip_prefix(b"</")?
            .strip_prefix(name)?
            .strip_prefix(b">")?;
        self.0 = rest;
        Some(raw)
    }
}

#[cfg(test)]
mod tests;
