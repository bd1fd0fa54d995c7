//! Parsing the CSV format described in [`crate::input`], from text in memory.
//!
//! Two readers with the same results: a fast one that splits lines and
//! commas of the text in place (for the common file: valid UTF-8 without
//! quotes or carriage returns, like `COPY ... CSV` writes for plain names and
//! sizes), and the `csv` crate for everything else (quoted fields, CRLF, a
//! BOM, invalid UTF-8). Both hand each record's fields to [`record`], so
//! checks and messages are shared; line numbers are the `csv` crate's
//! (a record after blank lines reports the line after the previous record).

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::index::Index;

/// Calls `row` for every index of a CSV file's bytes.
pub(crate) fn parse_bytes(
    data: &[u8],
    label: &str,
    row: impl FnMut(&Index<'_>) -> Result<()>,
) -> Result<()> {
    match std::str::from_utf8(data) {
        Ok(text) => parse_str(text, label, row),
        Err(_) => parse_general(data, label, row),
    }
}

/// Calls `row` for every index of a CSV file's text.
pub(crate) fn parse_str(
    text: &str,
    label: &str,
    row: impl FnMut(&Index<'_>) -> Result<()>,
) -> Result<()> {
    if is_plain(text.as_bytes()) {
        parse_plain(text, label, row)
    } else {
        parse_general(text.as_bytes(), label, row)
    }
}

/// No quotes, no carriage returns, no BOM: every line is one record and
/// every comma separates fields.
fn is_plain(data: &[u8]) -> bool {
    // Branch-free per chunk, so the scan vectorises.
    !data.starts_with(b"\xef\xbb\xbf")
        && !data.chunks(256).any(|c| {
            c.iter()
                .fold(false, |acc, &b| acc | (b == b'"') | (b == b'\r'))
        })
}

fn parse_plain(
    text: &str,
    label: &str,
    mut row: impl FnMut(&Index<'_>) -> Result<()>,
) -> Result<()> {
    let bytes = text.as_bytes();
    let mut columns = None;
    let mut fields: Vec<&str> = Vec::with_capacity(8);
    // The csv crate skips empty lines and numbers a record with the line
    // after the previous record; so do we, so both readers agree.
    let mut position = 1u64;
    let mut line_no = 1u64;
    let mut start = 0;
    while start < bytes.len() {
        // One pass finds the commas and the end of the line.
        fields.clear();
        let (mut field, mut i) = (start, start);
        while let Some(&b) = bytes.get(i) {
            if b == b'\n' {
                break;
            }
            if b == b',' {
                fields.push(&text[field..i]); // ASCII: always a char boundary
                field = i + 1;
            }
            i += 1;
        }
        if i > start {
            fields.push(&text[field..i]);
            if let Some(ix) = record(&fields, &mut columns, label, position)? {
                row(&ix)?;
            }
            position = line_no + 1;
        }
        line_no += 1;
        start = i + 1;
    }
    Ok(())
}

fn parse_general(
    data: &[u8],
    label: &str,
    mut row: impl FnMut(&Index<'_>) -> Result<()>,
) -> Result<()> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rec = csv::ByteRecord::new();
    let mut columns = None;
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_error(e, label))?
    {
        let line = rec.position().map_or(0, |p| p.line());
        let fields: Vec<&[u8]> = rec.iter().collect();
        if let Some(ix) = record(&fields, &mut columns, label, line)? {
            row(&ix)?;
        }
    }
    Ok(())
}

/// A field as the two readers have it: text already checked, or bytes.
trait Field<'r>: Copy {
    /// The field without surrounding ASCII whitespace; `Err` if not UTF-8.
    fn text(self) -> Result<&'r str, ()>;
    fn lossy(self) -> Cow<'r, str>;
}

impl<'r> Field<'r> for &'r str {
    fn text(self) -> Result<&'r str, ()> {
        Ok(self.trim_ascii())
    }

    fn lossy(self) -> Cow<'r, str> {
        Cow::Borrowed(self.trim_ascii())
    }
}

impl<'r> Field<'r> for &'r [u8] {
    fn text(self) -> Result<&'r str, ()> {
        std::str::from_utf8(self.trim_ascii()).map_err(|_| ())
    }

    fn lossy(self) -> Cow<'r, str> {
        String::from_utf8_lossy(self.trim_ascii())
    }
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

fn header_columns(record: &[&str]) -> Option<Columns> {
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

/// One record: `None` for the header and blank lines, else the index.
/// `columns` is decided by the first record (header or positional).
fn record<'r, F: Field<'r>>(
    fields: &[F],
    columns: &mut Option<Columns>,
    label: &str,
    line: u64,
) -> Result<Option<Index<'r>>> {
    let cols = match *columns {
        Some(c) => c,
        None => {
            let (cols, is_header) = first_record_columns(fields, label, line)?;
            *columns = Some(cols);
            if is_header {
                return Ok(None);
            }
            cols
        }
    };
    if fields.len() == 1 && fields[0].lossy().is_empty() {
        return Ok(None); // blank line
    }
    let text = |i: Option<usize>| field_text(fields, i, label, line);
    let name = match text(Some(cols.name))? {
        Some(n) => n,
        None if fields.len() <= cols.name.max(cols.size) => {
            return Err(too_few(fields, label, line))
        }
        None => return Err(Error::input(label, line, "empty index name")),
    };
    let size_text = match fields.get(cols.size) {
        Some(_) => text(Some(cols.size))?.unwrap_or(""),
        None => return Err(too_few(fields, label, line)),
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
    Ok(Some(Index {
        name,
        size,
        table: text(cols.table)?,
        definition: text(cols.definition)?,
        live_tuples,
        line,
    }))
}

/// The columns the first record decides: a header's, or by position.
fn first_record_columns<'r, F: Field<'r>>(
    fields: &[F],
    label: &str,
    line: u64,
) -> Result<(Columns, bool)> {
    let texts = fields
        .iter()
        .map(|f| f.text())
        .collect::<Result<Vec<_>, ()>>()
        .map_err(|()| Error::input(label, line, "not valid UTF-8"))?;
    Ok(match header_columns(&texts) {
        Some(cols) => (cols, true),
        None => (POSITIONAL, false),
    })
}

/// Field `i` (if the record has it) as text, `None` when empty.
fn field_text<'r, F: Field<'r>>(
    fields: &[F],
    i: Option<usize>,
    label: &str,
    line: u64,
) -> Result<Option<&'r str>> {
    match i.and_then(|i| fields.get(i)) {
        None => Ok(None),
        Some(f) => f
            .text()
            .map(|s| Some(s).filter(|s| !s.is_empty()))
            .map_err(|()| Error::input(label, line, "not valid UTF-8")),
    }
}

fn too_few<'r, F: Field<'r>>(fields: &[F], label: &str, line: u64) -> Error {
    let text = fields
        .iter()
        .map(|f| f.lossy())
        .collect::<Vec<_>>()
        .join(",");
    // One field that holds the separator: a quote opened and never closed.
    let hint = if fields.len() == 1 && text.contains([',', '\n']) {
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
            fields.len()
        ),
    )
}

/// A non-negative integer; tolerates a `.0` (spreadsheets) but nothing else.
fn parse_count(text: &str) -> Option<u64> {
    // Fast path for plain digits that cannot overflow; `parse` for the rest.
    if (1..=19).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(text.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every index (or the error) a reader yields, as text.
    fn run(data: &[u8], general: bool) -> String {
        let mut out = String::new();
        let mut push = |ix: &Index<'_>| {
            out.push_str(&format!("{ix:?}\n"));
            Ok(())
        };
        let r = if general {
            parse_general(data, "a.csv", &mut push)
        } else {
            parse_bytes(data, "a.csv", &mut push)
        };
        match r {
            Ok(()) => out,
            Err(e) => format!("{out}error: {e}"),
        }
    }

    #[test]
    fn both_readers_agree() {
        let inputs: &[&[u8]] = &[
            b"relation,size\npublic.idx1,10\n",
            b"public.idx1,10\nidx2,20",
            b"\n\npublic.idx1,1\n\n\n   \npublic.idx2,x\n",
            b"public.idx1,1\n\npublic.idx2,2\n\n",
            b"public.idx1,18446744073709551615\npublic.idx2,18446744073709551616\n",
            b"public.idx1,0009\npublic.idx2,+9\n",
            b"size,live_tuples,relation,definition,table\n10,5,public.i,CREATE INDEX i ON public.t USING btree (a),public.t\n",
            b"public.idx1\n",
            b"public.idx1,1\n,2\n",
            b"public.idx1,1\n  ,2\n",
            b"public.idx1, 12 \n",
            b"public.idx1,12x\n",
            b"public.idx1,-5\n",
            b"public.idx1,5.0\n",
            b"public.idx1,1\npublic.idx2,2,t,d,many\n",
            b"public.idx1,1,,,\npublic.idx2,2,,,,,extra\n",
            b"relation\nidx1\n",
            b"index,bytes\n i , 3 \n",
            b"a,b\n1,2\n",
            b"   \n",
            b"",
            b"\n",
            b"x\0y,1\n",
            "caf\u{e9}.idx,1\n".as_bytes(),
            b"public.\xff,1\n",
            b"public.idx1,1,\xff\n",
        ];
        for data in inputs {
            assert_eq!(
                run(data, false),
                run(data, true),
                "{:?}",
                String::from_utf8_lossy(data)
            );
        }
    }

    #[test]
    fn plain_text_is_detected() {
        assert!(is_plain(b"public.idx1,1\n"));
        assert!(!is_plain(b"\"public.idx1\",1\n"));
        assert!(!is_plain(b"public.idx1,1\r\n"));
        assert!(!is_plain(b"\xef\xbb\xbfrelation,size\n"));
    }
}
