//! A loaded index list, stored compactly: every name lives in one text arena
//! (for a CSV file, the file's own text) and rows hold spans into it, so a
//! 1M-index list loads without an allocation per row. The naming rules
//! ([`crate::naming`]) are applied as rows are added.

use crate::error::{Error, Result};
use crate::hash::hash_name;
use crate::index::Index;
use crate::naming::{is_system_schema, Toast};

/// Where a string lives in the arena. `u32` keeps rows small; the arena is
/// checked to stay under 4 GiB (a 1M-index CSV is ~35 MB).
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    len: u32,
}

/// An absent optional field (`None`), as opposed to an empty one.
const NONE: Span = Span {
    start: u32::MAX,
    len: 0,
};

#[derive(Clone, Copy, Debug)]
struct Row {
    name: Span,
    /// [`hash_name`] of the name, computed while loading (on the loader's thread).
    hash: u64,
    size: u64,
    line: u64,
}

/// The optional columns, kept apart: most lists have none, and small rows
/// are what a 1M-index comparison walks.
#[derive(Clone, Copy, Debug)]
struct Extra {
    table: Span,
    definition: Span,
    live_tuples: Option<u64>,
}

const NO_EXTRA: Extra = Extra {
    table: NONE,
    definition: NONE,
    live_tuples: None,
};

/// A loaded, normalised list: qualified names, system and temporary schemas
/// left out, toast indexes mapped through their table or left out.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub label: String,
    pub noun: &'static str,
    /// Rows left out (system schemas, temp schemas, unmappable toast indexes).
    pub excluded: usize,
    /// `server_version_num` of a live database (`None` for a file).
    pub server_version: Option<u32>,
    text: String,
    rows: Vec<Row>,
    /// One per row, or empty when no row has an optional column.
    extras: Vec<Extra>,
}

impl Snapshot {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The `i`th index, in the source's order.
    pub fn get(&self, i: usize) -> Index<'_> {
        let r = &self.rows[i];
        let x = self.extras.get(i).unwrap_or(&NO_EXTRA);
        Index {
            name: self.str(r.name),
            size: r.size,
            table: self.opt(x.table),
            definition: self.opt(x.definition),
            live_tuples: x.live_tuples,
            line: r.line,
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Index<'_>> + ExactSizeIterator + '_ {
        (0..self.rows.len()).map(|i| self.get(i))
    }

    pub fn name(&self, i: usize) -> &str {
        self.str(self.rows[i].name)
    }

    pub fn size(&self, i: usize) -> u64 {
        self.rows[i].size
    }

    pub(crate) fn hash(&self, i: usize) -> u64 {
        self.rows[i].hash
    }

    fn str(&self, s: Span) -> &str {
        let start = s.start as usize;
        self.text.get(start..start + s.len as usize).unwrap_or("")
    }

    fn opt(&self, s: Span) -> Option<&str> {
        (s.start != NONE.start).then(|| self.str(s))
    }
}

/// Builds a [`Snapshot`] over a text arena (`base`, e.g. a whole CSV file):
/// strings inside `base` are stored as spans, others (qualified and toast
/// names, strings from a database) are copied to an overflow that is
/// appended to the arena at the end.
pub(crate) struct Builder {
    rows: Vec<Row>,
    extras: Vec<Extra>,
    extra: String,
    base_len: usize,
    toast: Toast,
    excluded: usize,
}

impl Builder {
    pub fn new(base: &str, toast: Toast, rows_hint: usize) -> Builder {
        Builder {
            rows: Vec::with_capacity(rows_hint),
            extras: Vec::new(),
            extra: String::new(),
            base_len: base.len(),
            toast,
            excluded: 0,
        }
    }

    /// Adds one index (as read) under the naming rules: bare names are
    /// `public.` names, system and temporary schemas are left out, toast
    /// indexes are named after their table or left out.
    pub fn push(&mut self, base: &str, ix: &Index<'_>) -> Result<()> {
        let table = match ix.table {
            Some(t) if !t.contains('.') => Some(self.store_joined(&["public.", t])?),
            Some(t) => Some(self.store(base, t)?),
            None => None,
        };
        let Some(name) = self.name_span(base, ix.name, table)? else {
            self.excluded += 1;
            return Ok(());
        };
        let definition = match ix.definition {
            Some(d) => self.store(base, d)?,
            None => NONE,
        };
        self.push_extra(Extra {
            table: table.unwrap_or(NONE),
            definition,
            live_tuples: ix.live_tuples,
        });
        let hash = hash_name(self.span_str(base, name));
        self.rows.push(Row {
            name,
            hash,
            size: ix.size,
            line: ix.line,
        });
        Ok(())
    }

    /// The name under the naming rules, or `None` when the index is left out.
    fn name_span(&mut self, base: &str, name: &str, table: Option<Span>) -> Result<Option<Span>> {
        let Some((schema, _)) = name.split_once('.') else {
            return self.store_joined(&["public.", name]).map(Some);
        };
        if is_system_schema(schema) {
            return Ok(None);
        }
        if schema != "pg_toast" {
            return self.store(base, name).map(Some);
        }
        let table_name = table.map(|t| self.span_str(base, t).to_string());
        match (table_name, self.toast) {
            (Some(t), Toast::Map) if !is_system_schema(t.split('.').next().unwrap_or("")) => {
                self.store_joined(&["pg_toast(", &t, ")"]).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Keeps the optional columns of the row being pushed; the list of them
    /// starts with the first row that has one.
    fn push_extra(&mut self, x: Extra) {
        let has_extra = x.table.start != NONE.start
            || x.definition.start != NONE.start
            || x.live_tuples.is_some();
        if has_extra && self.extras.is_empty() {
            self.extras.resize(self.rows.len(), NO_EXTRA);
        }
        if has_extra || !self.extras.is_empty() {
            self.extras.push(x);
        }
    }

    /// The snapshot over `base` (the same text every [`Builder::push`] got).
    pub fn finish(self, mut base: String, label: &str, noun: &'static str) -> Snapshot {
        base.push_str(&self.extra);
        Snapshot {
            label: label.to_string(),
            noun,
            excluded: self.excluded,
            server_version: None,
            text: base,
            rows: self.rows,
            extras: self.extras,
        }
    }

    /// A span of `s`: where it is when it lies inside `base`, else a copy.
    fn store(&mut self, base: &str, s: &str) -> Result<Span> {
        // Pointer arithmetic only decides whether `s` is a slice of `base`.
        let offset = (s.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
        if offset <= base.len() && s.len() <= base.len() - offset {
            return span(offset, s.len());
        }
        self.store_joined(&[s])
    }

    fn store_joined(&mut self, parts: &[&str]) -> Result<Span> {
        let start = self.base_len + self.extra.len();
        for p in parts {
            self.extra.push_str(p);
        }
        span(start, self.base_len + self.extra.len() - start)
    }

    fn span_str<'s>(&'s self, base: &'s str, s: Span) -> &'s str {
        let start = s.start as usize;
        let end = start + s.len as usize;
        if end <= self.base_len {
            base.get(start..end).unwrap_or("")
        } else {
            let start = start - self.base_len;
            self.extra.get(start..start + s.len as usize).unwrap_or("")
        }
    }
}

fn span(start: usize, len: usize) -> Result<Span> {
    match (u32::try_from(start), u32::try_from(len)) {
        (Ok(start), Ok(len)) if start.checked_add(len).is_some_and(|end| end < u32::MAX) => {
            Ok(Span { start, len })
        }
        _ => Err(Error::Usage(
            "index list too large (over 4 GiB of text)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_inside_the_base_are_not_copied() {
        let base = String::from("public.a,1\nb,2\n");
        let mut b = Builder::new(&base, Toast::Map, 2);
        let ix = |name, line| Index {
            name,
            size: 1,
            table: None,
            definition: Some(""),
            live_tuples: None,
            line,
        };
        b.push(&base, &ix(&base[0..8], 1)).unwrap();
        b.push(&base, &ix(&base[11..12], 2)).unwrap();
        b.push(&base, &ix("pg_catalog.x", 3)).unwrap();
        assert_eq!(b.extra, "public.b");
        let s = b.finish(base, "a.csv", "file");
        let names: Vec<_> = s.iter().map(|i| i.name).collect();
        assert_eq!(names, ["public.a", "public.b"]);
        assert_eq!(s.get(1).definition, Some(""));
        assert_eq!(s.get(1).table, None);
        assert_eq!(s.hash(1), hash_name("public.b"));
        assert_eq!(s.excluded, 1);
    }
}
