//! `--reindex-sql`: for each reported index, the SQL that rebuilds it
//! without blocking writes, ready for a change ticket.
//!
//! - PostgreSQL 12 and later: `REINDEX INDEX CONCURRENTLY`.
//! - Before 12: a copy built with `CREATE INDEX CONCURRENTLY` from the
//!   index's definition, swapped in by two renames in one short
//!   transaction, and the old index dropped concurrently. This needs the
//!   definition (a live database, or a CSV from `dump --extra`). An index
//!   that backs a constraint (primary key, unique, exclusion) cannot be
//!   swapped by renames: a psql `\if` (psql 10 or later) skips it with a
//!   message, found by `pg_constraint.conindid` (9.0) when the script runs.
//!
//! Identifiers are always double-quoted (any name is then safe: mixed
//! case, spaces, quotes doubled) and schema-qualified. Toast indexes, known
//! by their table only, are rebuilt with their table
//! (`REINDEX TABLE CONCURRENTLY`, 12+).

use crate::compare::{definition_key, Entry};
use crate::naming::{display_name, split_qualified};

/// Which server version the statements are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `server_version_num`, from the live connection or `--server-version`.
    Version(u32),
    /// Not known (a CSV file and no `--server-version`): 12 or later.
    Assumed,
}

/// The first version with `REINDEX ... CONCURRENTLY`.
const CONCURRENT_REINDEX_FROM: u32 = 120000;

/// PostgreSQL's limit on an identifier's length in bytes (NAMEDATALEN - 1).
const MAX_IDENTIFIER: usize = 63;

impl Target {
    fn has_concurrent_reindex(self) -> bool {
        match self {
            Target::Version(v) => v >= CONCURRENT_REINDEX_FROM,
            Target::Assumed => true,
        }
    }

    /// The script's first line says what it was written for.
    pub fn describe(self) -> String {
        match self {
            Target::Version(v) => format!("PostgreSQL {}", version_text(v)),
            Target::Assumed => {
                "PostgreSQL 12 or later (assumed: give --server-version for an older server)".into()
            }
        }
    }
}

/// `150004` → `15.4`, `90624` → `9.6.24`.
pub fn version_text(v: u32) -> String {
    if v >= 100000 {
        format!("{}.{}", v / 10000, v % 10000)
    } else {
        format!("{}.{}.{}", v / 10000, v / 100 % 100, v % 100)
    }
}

/// Parses `--server-version`: `15`, `15.4`, `9.6`, `9.6.24`, or a
/// `server_version_num` such as `150004`.
pub fn parse_version(text: &str) -> Result<u32, String> {
    let bad = || format!("invalid server version {text:?} (use e.g. 15, 11.22, 9.6 or 150004)");
    let parts: Vec<u32> = text
        .trim()
        .split('.')
        .map(|p| p.parse::<u32>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let version = match parts.as_slice() {
        [num] if *num >= 10000 => *num,
        [major] => major * 10000,
        [major, minor] if *major >= 10 => major * 10000 + minor,
        [9, minor] => 90000 + minor * 100,
        [9, minor, patch] => 90000 + minor * 100 + patch,
        _ => return Err(bad()),
    };
    if !(80000..1_000_000).contains(&version) {
        return Err(bad());
    }
    Ok(version)
}

/// `"name"`, with quotes inside doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."name"` of a qualified name.
fn quote_qualified(name: &str) -> String {
    let (schema, relation) = split_qualified(name);
    format!("{}.{}", quote_ident(schema), quote_ident(relation))
}

/// `name` with `suffix`, cut (at a character boundary) to fit PostgreSQL's
/// 63 bytes, so that the server does not truncate it behind the script's back.
fn with_suffix(name: &str, suffix: &str) -> String {
    let mut end = name.len().min(MAX_IDENTIFIER - suffix.len());
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &name[..end])
}

/// The table of a toast index's name `pg_toast(schema.table)`.
fn toast_table(name: &str) -> Option<&str> {
    name.strip_prefix("pg_toast(")?.strip_suffix(')')
}

/// A comment line and the statements that rebuild one reported index.
pub fn statements(e: &Entry<'_>, target: Target) -> Vec<String> {
    let mut out = vec![format!(
        "-- {}: {} % of the fresh size, {} bytes of bloat",
        display_name(e.index),
        e.percent,
        e.bloat_bytes
    )];
    if let Some(table) = toast_table(e.index) {
        out.extend(toast_statements(table, target));
    } else if target.has_concurrent_reindex() {
        out.push(format!(
            "REINDEX INDEX CONCURRENTLY {};",
            quote_qualified(e.index)
        ));
    } else {
        out.extend(swap_statements(e.index, e.definition));
    }
    out
}

fn toast_statements(table: &str, target: Target) -> Vec<String> {
    if target.has_concurrent_reindex() {
        return vec![
            format!("-- the TOAST index of {table}: this rebuilds every index of the table"),
            format!("REINDEX TABLE CONCURRENTLY {};", quote_qualified(table)),
        ];
    }
    vec![format!(
        "-- the TOAST index of {table}: before PostgreSQL 12 it cannot be rebuilt without blocking writes (REINDEX TABLE {} blocks them; pg_repack does not)",
        quote_qualified(table)
    )]
}

/// `'text'`, with quotes inside doubled.
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Before 12: build a copy concurrently, swap the names, drop the old one;
/// skipped (by psql) for an index that backs a constraint.
fn swap_statements(index: &str, definition: Option<&str>) -> Vec<String> {
    let key = definition.map(definition_key);
    let Some(key) = key.filter(|k| k.contains(" INDEX ON ")) else {
        return vec![
            "-- the recipe needs the index's definition: compare a live database, or a CSV from `pgindexbloat dump --extra`".to_string(),
        ];
    };
    let (schema, name) = split_qualified(index);
    let new = with_suffix(name, "_pgib_new");
    let old = with_suffix(name, "_pgib_old");
    let qualified = |n: &str| format!("{}.{}", quote_ident(schema), quote_ident(n));
    let create = key.replacen(
        " INDEX ON ",
        &format!(" INDEX CONCURRENTLY {} ON ", quote_ident(&new)),
        1,
    );
    vec![
        format!(
            "SELECT count(*) = 0 AS pgib_swap FROM pg_constraint WHERE conindid = {}::regclass \\gset",
            quote_literal(&qualified(name))
        ),
        "\\if :pgib_swap".into(),
        format!("{create};"),
        "BEGIN;".into(),
        format!("ALTER INDEX {} RENAME TO {};", qualified(name), quote_ident(&old)),
        format!("ALTER INDEX {} RENAME TO {};", qualified(&new), quote_ident(name)),
        "COMMIT;".into(),
        format!("DROP INDEX CONCURRENTLY {};", qualified(&old)),
        "\\else".into(),
        format!(
            "\\echo {}",
            quote_literal(&format!(
                "skipped {}: it backs a constraint, which renames cannot move; rebuild it with pg_repack, or swap the constraint (ALTER TABLE ... ADD CONSTRAINT ... USING INDEX)",
                qualified(name)
            ))
        ),
        "\\endif".into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::MatchedBy;

    fn entry<'a>(index: &'a str, definition: Option<&'a str>) -> Entry<'a> {
        Entry {
            index,
            fresh_index: None,
            matched_by: MatchedBy::Name,
            production_bytes: 300,
            fresh_bytes: 100,
            expected_bytes: 100,
            percent: 300,
            bloat_bytes: 200,
            bloat_ratio: 66.7,
            definition,
        }
    }

    #[test]
    fn concurrent_reindex_from_12() {
        let e = entry("public.idx2", None);
        let sql = statements(&e, Target::Version(150004));
        assert_eq!(
            sql,
            [
                "-- idx2: 300 % of the fresh size, 200 bytes of bloat",
                r#"REINDEX INDEX CONCURRENTLY "public"."idx2";"#
            ]
        );
        assert_eq!(statements(&e, Target::Assumed), sql);
        assert_eq!(statements(&e, Target::Version(120000)), sql);
    }

    #[test]
    fn identifiers_are_quoted() {
        let e = entry(r#"Sales.Idx "A".b"#, None);
        assert_eq!(
            statements(&e, Target::Assumed)[1],
            r#"REINDEX INDEX CONCURRENTLY "Sales"."Idx ""A"".b";"#
        );
    }

    #[test]
    fn create_and_swap_before_12() {
        let def = r#"CREATE INDEX "Mixed ""q'""" ON "Sales".orders USING btree (a)"#;
        let e = entry(r#"Sales.Mixed "q'""#, Some(def));
        let sql = statements(&e, Target::Version(110022));
        assert_eq!(
            sql[1..],
            [
                r#"SELECT count(*) = 0 AS pgib_swap FROM pg_constraint WHERE conindid = '"Sales"."Mixed ""q''"""'::regclass \gset"#,
                r"\if :pgib_swap",
                r#"CREATE INDEX CONCURRENTLY "Mixed ""q'""_pgib_new" ON "Sales".orders USING btree (a);"#,
                "BEGIN;",
                r#"ALTER INDEX "Sales"."Mixed ""q'""" RENAME TO "Mixed ""q'""_pgib_old";"#,
                r#"ALTER INDEX "Sales"."Mixed ""q'""_pgib_new" RENAME TO "Mixed ""q'""";"#,
                "COMMIT;",
                r#"DROP INDEX CONCURRENTLY "Sales"."Mixed ""q'""_pgib_old";"#,
                r"\else",
                r#"\echo 'skipped "Sales"."Mixed ""q''""": it backs a constraint, which renames cannot move; rebuild it with pg_repack, or swap the constraint (ALTER TABLE ... ADD CONSTRAINT ... USING INDEX)'"#,
                r"\endif",
            ]
        );
        let unique = entry(
            "public.u",
            Some("CREATE UNIQUE INDEX u ON public.t USING btree (b)"),
        );
        let sql = statements(&unique, Target::Version(90624));
        assert_eq!(
            sql[3],
            r#"CREATE UNIQUE INDEX CONCURRENTLY "u_pgib_new" ON public.t USING btree (b);"#
        );
        let bare = statements(&entry("public.x", None), Target::Version(110000));
        assert!(bare[1].contains("needs the index's definition"), "{bare:?}");
    }

    #[test]
    fn long_names_fit_63_bytes() {
        let name = "é".repeat(40); // 80 bytes
        assert_eq!(with_suffix(&name, "_pgib_new").len(), 63);
        assert_eq!(
            with_suffix(&name, "_pgib_new"),
            format!("{}_pgib_new", "é".repeat(27))
        );
        assert_eq!(with_suffix("short", "_pgib_old"), "short_pgib_old");
    }

    #[test]
    fn toast_indexes_go_with_their_table() {
        let e = entry("pg_toast(public.docs)", None);
        let sql = statements(&e, Target::Version(130000));
        assert_eq!(sql[2], r#"REINDEX TABLE CONCURRENTLY "public"."docs";"#);
        let old = statements(&e, Target::Version(110000));
        assert_eq!(old.len(), 2);
        assert!(old[1].contains("cannot be rebuilt without blocking writes"));
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("15"), Ok(150000));
        assert_eq!(parse_version("15.4"), Ok(150004));
        assert_eq!(parse_version("9.6"), Ok(90600));
        assert_eq!(parse_version("9.6.24"), Ok(90624));
        assert_eq!(parse_version("110022"), Ok(110022));
        assert!(parse_version("fifteen").is_err());
        assert!(parse_version("7").is_err());
        assert_eq!(version_text(150004), "15.4");
        assert_eq!(version_text(90624), "9.6.24");
    }
}
