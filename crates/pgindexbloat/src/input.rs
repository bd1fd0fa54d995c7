//! Index-size lists: the CSV format (the original's `COPY ... TO STDOUT WITH
//! CSV HEADER` output, plus optional extra columns), where a list comes from
//! (file, stdin or a live database), and the naming rules shared by every
//! source.
//!
//! CSV columns: `relation,size[,table,definition,live_tuples]`. The header
//! line is optional; with a header, columns are found by name (in any order,
//! unknown columns ignored), without one by position.

use std::io::Read;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};

/// One index as read from a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexRow {
    /// Schema-qualified name (`public.idx1`); toast indexes are keyed by
    /// their table: `pg_toast(public.docs)`.
    pub name: String,
    /// `pg_relation_size` in bytes.
    pub size: u64,
    /// Schema-qualified table the index is on (for toast indexes: the table
    /// that owns the toast table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// `pg_get_indexdef` text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// Live rows of the table when the list was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_tuples: Option<u64>,
    /// Line in the source (1-based; 0 for a database).
    #[serde(skip)]
    pub line: u64,
}

/// Where a list comes from, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
    /// A `postgres://` URL or a `key=value` conninfo string.
    Database(String),
}

impl Source {
    /// `-` is stdin; `postgres://`/`postgresql://` URLs and strings with a
    /// `=` that are not an existing file are connections; anything else is a file.
    pub fn parse(spec: &str) -> Source {
        if spec == "-" {
            Source::Stdin
        } else if spec.starts_with("postgres://")
            || spec.starts_with("postgresql://")
            || (spec.contains('=') && !std::path::Path::new(spec).exists())
        {
            Source::Database(spec.to_string())
        } else {
            Source::File(PathBuf::from(spec))
        }
    }

    /// The name used in messages (passwords hidden).
    pub fn label(&self) -> String {
        match self {
            Source::Stdin => "stdin".to_string(),
            Source::File(p) => p.display().to_string(),
            Source::Database(c) => crate::conn::redact(c),
        }
    }

    /// "file" or "database", for "missing in the X file".
    pub fn noun(&self) -> &'static str {
        match self {
            Source::Database(_) => "database",
            _ => "file",
        }
    }
}

/// A loaded, normalised list: qualified names, system and temporary schemas
/// left out, toast indexes mapped through their table or left out.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub label: String,
    pub noun: &'static str,
    pub rows: Vec<IndexRow>,
    /// Rows left out (system schemas, temp schemas, unmappable toast indexes).
    pub excluded: usize,
}

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

/// Loads a source (file, stdin or database) and normalises it;
/// `exact_counts` makes a database source count rows (see [`crate::conn::dump`]).
pub fn load(source: &Source, toast: Toast, exact_counts: bool) -> Result<Snapshot> {
    let label = source.label();
    let rows = match source {
        Source::Stdin => read_csv(std::io::stdin().lock(), &label)?,
        Source::File(path) => {
            let file = std::fs::File::open(path).map_err(|e| Error::Read {
                path: label.clone(),
                source: e,
            })?;
            // No BufReader: the CSV reader buffers (1 MiB) and a second buffer would copy twice.
            read_csv(file, &label)?
        }
        Source::Database(conninfo) => {
            let mut client = crate::conn::connect(Some(conninfo))?;
            crate::conn::dump(&mut client, &label, exact_counts)?
        }
    };
    normalise(rows, &label, source.noun(), toast)
}

#[derive(Clone, Copy)]
struct Columns {
    name: usize,
    size: usize,
    table: Option<usize>,
    definition: Option<usize>,
    live_tuples: Option<usize>,
}

const POSITIONAL: Columns = Columns {
    name: 0,
    size: 1,
    table: Some(2),
    definition: Some(3),
    live_tuples: Some(4),
};

fn header_columns(record: &csv::StringRecord) -> Option<Columns> {
    let find = |names: &[&str]| {
        record
            .iter()
            .position(|f| names.iter().any(|n| f.trim().eq_ignore_ascii_case(n)))
    };
    let name = find(&["relation", "index", "name"]);
    let size = find(&["size", "bytes"]);
    // A header is a first line whose size column is not a number but a column name.
    let looks_like_header = size.is_some()
        || record
            .get(1)
            .is_some_and(|f| f.trim().parse::<u64>().is_err() && name.is_some());
    if !looks_like_header {
        return None;
    }
    Some(Columns {
        name: name.unwrap_or(0),
        size: size.unwrap_or(1),
        table: find(&["table", "tablename"]),
        definition: find(&["definition", "indexdef"]),
        live_tuples: find(&["live_tuples", "n_live_tup", "tuples"]),
    })
}

/// Reads `relation,size[,table,definition,live_tuples]` CSV. `label` names the
/// source in error messages (`a.csv:3: ...`).
pub fn read_csv<R: Read>(reader: R, label: &str) -> Result<Vec<IndexRow>> {
    // Byte records and one allocation per row: 1M-line lists load in well under a second.
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let mut rows = Vec::new();
    let mut columns: Option<Columns> = None;
    loop {
        let more = rdr
            .read_byte_record(&mut record)
            .map_err(|e| csv_error(e, label))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let text = |i: Option<usize>| -> Result<Option<&str>> {
            match i.and_then(|i| record.get(i)) {
                None => Ok(None),
                Some(b) => std::str::from_utf8(b.trim_ascii())
                    .map(|s| Some(s).filter(|s| !s.is_empty()))
                    .map_err(|_| Error::input(label, line, "not valid UTF-8")),
            }
        };
        let cols = match columns {
            Some(c) => c,
            None => {
                let strings = csv::StringRecord::from_byte_record(record.clone())
                    .map_err(|_| Error::input(label, line, "not valid UTF-8"))?;
                let found = header_columns(&strings);
                columns = Some(found.unwrap_or(POSITIONAL));
                if found.is_some() {
                    continue;
                }
                POSITIONAL
            }
        };
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty()) {
            continue; // blank line
        }
        let name = match text(Some(cols.name))? {
            Some(n) => n,
            None if record.len() <= cols.name.max(cols.size) => {
                return Err(too_few(&record, label, line))
            }
            None => return Err(Error::input(label, line, "empty index name")),
        };
        let size_text = match record.get(cols.size) {
            Some(_) => text(Some(cols.size))?.unwrap_or(""),
            None => return Err(too_few(&record, label, line)),
        };
        let size = parse_count(size_text).ok_or_else(|| {
            Error::input(
                label,
                line,
                format!("size {size_text:?} of {name} is not a number of bytes"),
            )
        })?;
        let live_tuples = match text(cols.live_tuples)? {
            None => None,
            Some(t) => Some(parse_count(t).ok_or_else(|| {
                Error::input(
                    label,
                    line,
                    format!("live_tuples {t:?} of {name} is not a number"),
                )
            })?),
        };
        rows.push(IndexRow {
            name: qualify(name),
            size,
            table: text(cols.table)?.map(qualify),
            definition: text(cols.definition)?.map(str::to_string),
            live_tuples,
            line,
        });
    }
    Ok(rows)
}

fn too_few(record: &csv::ByteRecord, label: &str, line: u64) -> Error {
    let text = record
        .iter()
        .map(|f| String::from_utf8_lossy(f.trim_ascii()))
        .collect::<Vec<_>>()
        .join(",");
    // One field that holds the separator: a quote opened and never closed.
    let hint = if record.len() == 1 && text.contains([',', '\n']) {
        " (unterminated quote?)"
    } else {
        ""
    };
    let shown: String = text.chars().take(80).collect();
    Error::input(
        label,
        line,
        format!(
            "expected relation,size but found {} field(s): {shown:?}{hint}",
            record.len()
        ),
    )
}

/// A non-negative integer; tolerates a `.0` (spreadsheets) but nothing else.
fn parse_count(text: &str) -> Option<u64> {
    text.parse::<u64>()
        .ok()
        .or_else(|| text.strip_suffix(".0").and_then(|t| t.parse().ok()))
}

fn csv_error(e: csv::Error, label: &str) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::Read {
            path: label.to_string(),
            source: io,
        },
        csv::ErrorKind::Utf8 { .. } => Error::input(label, line, "not valid UTF-8"),
        other => Error::input(label, line, format!("malformed CSV: {other:?}")),
    }
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

fn is_system_schema(schema: &str) -> bool {
    schema == "pg_catalog"
        || schema == "information_schema"
        || schema.starts_with("pg_temp_")
        || schema.starts_with("pg_toast_temp_")
}

/// Applies the naming rules. Duplicate names are found by
/// [`crate::compare::compare`], which hashes the names anyway.
pub fn normalise(
    mut rows: Vec<IndexRow>,
    label: &str,
    noun: &'static str,
    toast: Toast,
) -> Result<Snapshot> {
    let before = rows.len();
    rows.retain_mut(|row| {
        if !row.name.contains('.') {
            row.name = qualify(&row.name);
        }
        let schema = row.name.split('.').next().unwrap_or("");
        if is_system_schema(schema) {
            return false;
        }
        if schema == "pg_toast" {
            row.table = row.table.as_deref().map(qualify);
            match (&row.table, toast) {
                (Some(table), Toast::Map)
                    if !is_system_schema(table.split('.').next().unwrap_or("")) =>
                {
                    row.name = format!("pg_toast({table})");
                }
                _ => return false,
            }
        }
        true
    });
    let excluded = before - rows.len();
    Ok(Snapshot {
        label: label.to_string(),
        noun,
        rows,
        excluded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<IndexRow>> {
        read_csv(text.as_bytes(), "a.csv")
    }

    fn msg(text: &str) -> String {
        match read(text).and_then(|r| normalise(r, "a.csv", "file", Toast::Map)) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn header_is_optional() {
        let with = read("relation,size\npublic.idx1,10\n").unwrap();
        let without = read("public.idx1,10\n").unwrap();
        assert_eq!(with.len(), 1);
        assert_eq!(with[0].name, without[0].name);
        assert_eq!(with[0].size, 10);
        assert_eq!(with[0].line, 2);
    }

    #[test]
    fn header_columns_by_name() {
        let rows = read("size,live_tuples,relation,definition,table\n10,5,public.i,\"CREATE INDEX i ON public.t USING btree (a, b)\",public.t\n").unwrap();
        assert_eq!(rows[0].name, "public.i");
        assert_eq!(rows[0].live_tuples, Some(5));
        assert_eq!(rows[0].table.as_deref(), Some("public.t"));
        assert_eq!(
            rows[0].definition.as_deref(),
            Some("CREATE INDEX i ON public.t USING btree (a, b)")
        );
    }

    #[test]
    fn bad_inputs_have_one_line_messages() {
        assert_eq!(
            msg("relation,size\npublic.idx1\n"),
            r#"a.csv:2: expected relation,size but found 1 field(s): "public.idx1""#
        );
        assert_eq!(
            msg("public.idx1,12x\n"),
            r#"a.csv:1: size "12x" of public.idx1 is not a number of bytes"#
        );
        assert_eq!(
            msg("public.idx1,-5\n"),
            r#"a.csv:1: size "-5" of public.idx1 is not a number of bytes"#
        );
        assert_eq!(msg("public.idx1,1\n,2\n"), "a.csv:2: empty index name");
        assert_eq!(
            msg("public.idx1,1\npublic.idx2,2,t,d,many\n"),
            r#"a.csv:2: live_tuples "many" of public.idx2 is not a number"#
        );
        assert_eq!(
            msg("public.idx1,1\n\"public.idx2,2\n"),
            r#"a.csv:2: expected relation,size but found 1 field(s): "public.idx2,2" (unterminated quote?)"#
        );
    }

    #[test]
    fn invalid_utf8() {
        let e = read_csv(&b"public.idx1,1\npublic.\xff,2\n"[..], "a.csv").unwrap_err();
        assert_eq!(e.to_string(), "a.csv:2: not valid UTF-8");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn naming_rules() {
        let rows = read(
            "relation,size,table\nidx1,1,\npg_catalog.pg_class_oid_index,2,\npg_toast.pg_toast_1_index,3,public.docs\npg_toast.pg_toast_2_index,4,\npg_temp_3.x,5,\nother.idx1,6,\n",
        )
        .unwrap();
        let snap = normalise(rows, "a.csv", "file", Toast::Map).unwrap();
        let names: Vec<_> = snap.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["public.idx1", "pg_toast(public.docs)", "other.idx1"]
        );
        assert_eq!(snap.excluded, 3);
        assert_eq!(display_name("public.idx1"), "idx1");
        assert_eq!(display_name("other.idx1"), "other.idx1");
    }

    #[test]
    fn sources() {
        assert_eq!(Source::parse("-"), Source::Stdin);
        assert_eq!(
            Source::parse("postgres://u:secret@h/db"),
            Source::Database("postgres://u:secret@h/db".into())
        );
        assert_eq!(
            Source::parse("host=h dbname=x"),
            Source::Database("host=h dbname=x".into())
        );
        assert_eq!(Source::parse("a.csv"), Source::File("a.csv".into()));
        assert_eq!(
            Source::parse("postgres://u:secret@h/db").label(),
            "postgres://u:***@h/db"
        );
    }
}
