//! One index of a list: borrowed while a source is read ([`Index`]), or
//! owned, as a database returns it ([`IndexRow`]).

use serde::Serialize;

/// One index, borrowed from a [`crate::snapshot::Snapshot`] or from a
/// source while it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Index<'a> {
    /// Schema-qualified name; toast indexes are `pg_toast(schema.table)`.
    pub name: &'a str,
    pub size: u64,
    pub table: Option<&'a str>,
    pub definition: Option<&'a str>,
    pub live_tuples: Option<u64>,
    /// Line in the source (1-based; 0 for a database).
    pub line: u64,
}

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

impl IndexRow {
    /// The row, borrowed.
    pub fn as_index(&self) -> Index<'_> {
        Index {
            name: &self.name,
            size: self.size,
            table: self.table.as_deref(),
            definition: self.definition.as_deref(),
            live_tuples: self.live_tuples,
            line: self.line,
        }
    }
}
