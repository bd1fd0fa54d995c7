//! The naming rules every index list follows, whatever its source: names are
//! schema-qualified (a bare name is in `public`), system and temporary
//! schemas are left out, `pg_toast` indexes are named after their table
//! (their own names change on restore), and reports leave `public.` off.

/// What to do with `pg_toast` indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Toast {
    /// Compare them under their table's name (`pg_toast(public.docs)`) when
    /// the list has a table column; leave them out otherwise.
    #[default]
    Map,
    /// Always leave them out.
    Exclude,
}

/// Schema-qualifies a name: a bare `idx1` is `public.idx1`.
pub fn qualify(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("public.{name}")
    }
}

/// The name as shown in text reports: `public.` is left off, like the
/// original script showed `idx1` for `public.idx1`; other schemas stay.
pub fn display_name(name: &str) -> &str {
    name.strip_prefix("public.").unwrap_or(name)
}

/// Schema and name of a qualified name, split at the first dot (the lists
/// join them with a dot, unquoted: a schema name holding a dot cannot be
/// told apart, and PostgreSQL's own schemas have none).
pub fn split_qualified(name: &str) -> (&str, &str) {
    name.split_once('.').unwrap_or(("public", name))
}

/// `pg_catalog`, `information_schema` and the temporary schemas.
pub fn is_system_schema(schema: &str) -> bool {
    schema == "pg_catalog"
        || schema == "information_schema"
        || schema.starts_with("pg_temp_")
        || schema.starts_with("pg_toast_temp_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(qualify("idx1"), "public.idx1");
        assert_eq!(qualify("s.idx1"), "s.idx1");
        assert_eq!(display_name("public.idx1"), "idx1");
        assert_eq!(display_name("other.idx1"), "other.idx1");
        assert_eq!(split_qualified("s.a.b"), ("s", "a.b"));
        assert_eq!(split_qualified("bare"), ("public", "bare"));
        assert!(is_system_schema("pg_temp_3") && !is_system_schema("pg_toast"));
    }
}
