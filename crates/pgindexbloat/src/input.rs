//! Index-size lists: the CSV format (the original's `COPY ... TO STDOUT WITH
//! CSV HEADER` output, plus optional extra columns) and where a list comes
//! from (file, stdin or a live database), loaded under the naming rules of
//! [`crate::naming`].
//!
//! CSV columns: `relation,size[,table,definition,live_tuples]`. The header
//! line is optional; with a header, columns are found by name (in any order,
//! unknown columns ignored), without one by position.

use std::io::Read;
use std::path::PathBuf;

use crate::csvfile;
use crate::error::{Error, Result};
use crate::index::IndexRow;
use crate::naming::{qualify, Toast};
use crate::snapshot::{Builder, Snapshot};

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
            Source::Database(c) => crate::connstr::redact(c),
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

/// Loads a source (file, stdin or database) and normalises it;
/// `exact_counts` makes a database source count rows (see [`crate::dump::dump`]).
pub fn load(source: &Source, toast: Toast, exact_counts: bool) -> Result<Snapshot> {
    let label = source.label();
    let read_error = |e| Error::Read {
        path: label.clone(),
        source: e,
    };
    let data = match source {
        Source::Stdin => {
            let mut data = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut data)
                .map_err(read_error)?;
            data
        }
        Source::File(path) => {
            // One read of the whole file: the rows borrow their names from it.
            let mut file = std::fs::File::open(path).map_err(read_error)?;
            let mut data = Vec::new();
            file.read_to_end(&mut data).map_err(read_error)?;
            data
        }
        Source::Database(conninfo) => {
            let mut db = crate::conn::connect(Some(conninfo))?;
            let rows = crate::dump::dump(&mut db, exact_counts)?;
            let mut snapshot = normalise(rows, &label, source.noun(), toast)?;
            snapshot.server_version = Some(db.version);
            return Ok(snapshot);
        }
    };
    load_csv(data, &label, source.noun(), toast)
}

/// A snapshot of a CSV file's bytes; names stay in the file's text.
fn load_csv(data: Vec<u8>, label: &str, noun: &'static str, toast: Toast) -> Result<Snapshot> {
    // Rows are ~35 bytes in the usual file: a close guess saves regrowing.
    let hint = data.len() / 32;
    match String::from_utf8(data) {
        Ok(text) => {
            let mut b = Builder::new(&text, toast, hint);
            csvfile::parse_str(&text, label, |ix| b.push(&text, ix))?;
            Ok(b.finish(text, label, noun))
        }
        Err(e) => {
            // Not UTF-8: the csv crate reads it and says which line is wrong.
            let mut b = Builder::new("", toast, hint);
            csvfile::parse_bytes(e.as_bytes(), label, |ix| b.push("", ix))?;
            Ok(b.finish(String::new(), label, noun))
        }
    }
}

/// Reads `relation,size[,table,definition,live_tuples]` CSV. `label` names the
/// source in error messages (`a.csv:3: ...`).
pub fn read_csv<R: Read>(mut reader: R, label: &str) -> Result<Vec<IndexRow>> {
    let mut data = Vec::new();
    reader.read_to_end(&mut data).map_err(|e| Error::Read {
        path: label.to_string(),
        source: e,
    })?;
    let mut rows = Vec::new();
    csvfile::parse_bytes(&data, label, |ix| {
        rows.push(IndexRow {
            name: qualify(ix.name),
            size: ix.size,
            table: ix.table.map(qualify),
            definition: ix.definition.map(str::to_string),
            live_tuples: ix.live_tuples,
            line: ix.line,
        });
        Ok(())
    })?;
    Ok(rows)
}

/// Applies the naming rules to rows read from a database (or by
/// [`read_csv`]). Duplicate names are found by [`crate::compare::compare`],
/// which hashes the names anyway.
pub fn normalise(
    rows: Vec<IndexRow>,
    label: &str,
    noun: &'static str,
    toast: Toast,
) -> Result<Snapshot> {
    let mut b = Builder::new("", toast, rows.len());
    for r in &rows {
        b.push("", &r.as_index())?;
    }
    Ok(b.finish(String::new(), label, noun))
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
        let names: Vec<_> = snap.iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            ["public.idx1", "pg_toast(public.docs)", "other.idx1"]
        );
        assert_eq!(snap.excluded, 3);
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
