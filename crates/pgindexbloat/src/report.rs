//! Text and JSON renderings of a comparison.
//!
//! - pretty (`-p`): the original script's sentences, names without `public.`;
//! - plain (default): one tab-separated line per index, raw bytes, for `awk`/`cut`:
//!   `bloat <TAB> index <TAB> percent <TAB> production <TAB> fresh <TAB> bloat_bytes`,
//!   `missing <TAB> index <TAB> - <TAB> production <TAB> - <TAB> -`,
//!   `total <TAB> - <TAB> - <TAB> - <TAB> - <TAB> bloat_bytes` (with `-s`);
//! - JSON (`-o json`): one object per line, `"type"` = `index`, `missing` or `total`.

use std::io::{self, Write};

use serde::Serialize;

use crate::compare::{Comparison, Entry, Missing};
use crate::naming::display_name;
use crate::reindex::{self, Target};
use crate::size::{convert_bytes, Bytes};
use crate::snapshot::Snapshot;

/// Text style of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Pretty,
    Plain,
    /// JSON lines; with a target, each index line has its `reindex_sql`.
    Json(Option<Target>),
    /// The SQL that rebuilds each reported index (`--reindex-sql`).
    ReindexSql(Target),
}

/// An index line of the JSON report.
#[derive(Serialize)]
struct JsonIndex<'a> {
    #[serde(flatten)]
    entry: &'a Entry<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reindex_sql: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum JsonLine<'a> {
    Index(JsonIndex<'a>),
    Missing {
        #[serde(flatten)]
        missing: &'a Missing<'a>,
        missing_in: &'a str,
    },
    Total {
        bloat_bytes: u64,
        indexes_compared: usize,
        indexes_reported: usize,
        indexes_missing: usize,
    },
}

fn pretty_entry(w: &mut impl Write, e: &Entry<'_>) -> io::Result<()> {
    write!(
        w,
        "Index {} size compare to clean import: {} % ({} vs. {})",
        display_name(e.index),
        e.percent,
        Bytes(e.production_bytes),
        Bytes(e.fresh_bytes)
    )?;
    let mut notes = Vec::new();
    if let Some(fresh) = e.fresh_index {
        notes.push(format!("restored as {}", display_name(fresh)));
    }
    if e.expected_bytes != e.fresh_bytes {
        notes.push(format!(
            "{} at production's row count",
            Bytes(e.expected_bytes)
        ));
    }
    if !notes.is_empty() {
        write!(w, " [{}]", notes.join("; "))?;
    }
    writeln!(w)
}

/// Writes the report, one line per index. `fresh` names the restore in
/// "missing" lines; `sum` adds the total line (JSON always has it).
pub fn write(
    w: &mut impl Write,
    c: &Comparison<'_>,
    fresh: &Snapshot,
    style: Style,
    sum: bool,
) -> io::Result<()> {
    match style {
        Style::Pretty => write_pretty(w, c, fresh, sum),
        Style::Plain => write_plain(w, c, sum),
        Style::Json(reindex) => write_json(w, c, fresh, reindex),
        Style::ReindexSql(target) => write_reindex_sql(w, c, fresh, target),
    }
}

fn write_pretty(
    w: &mut impl Write,
    c: &Comparison<'_>,
    fresh: &Snapshot,
    sum: bool,
) -> io::Result<()> {
    for e in &c.reported {
        pretty_entry(w, e)?;
    }
    for m in &c.missing {
        writeln!(
            w,
            "Ough!  {} index is missing in the {} {}.  Likely a problem with backup!",
            display_name(m.index),
            fresh.label,
            fresh.noun
        )?;
    }
    if sum {
        writeln!(w, "Total index bloat: {}", Bytes(c.total_bloat))?;
    }
    Ok(())
}

fn write_plain(w: &mut impl Write, c: &Comparison<'_>, sum: bool) -> io::Result<()> {
    for e in &c.reported {
        writeln!(
            w,
            "bloat\t{}\t{}\t{}\t{}\t{}",
            e.index, e.percent, e.production_bytes, e.expected_bytes, e.bloat_bytes
        )?;
    }
    for m in &c.missing {
        writeln!(w, "missing\t{}\t-\t{}\t-\t-", m.index, m.production_bytes)?;
    }
    if sum {
        writeln!(w, "total\t-\t-\t-\t-\t{}", c.total_bloat)?;
    }
    Ok(())
}

fn write_json(
    w: &mut impl Write,
    c: &Comparison<'_>,
    fresh: &Snapshot,
    reindex: Option<Target>,
) -> io::Result<()> {
    let lines = c
        .reported
        .iter()
        .map(|entry| {
            JsonLine::Index(JsonIndex {
                entry,
                // Without the comment line: statements only.
                reindex_sql: reindex.map(|t| reindex::statements(entry, t).split_off(1)),
            })
        })
        .chain(c.missing.iter().map(|m| JsonLine::Missing {
            missing: m,
            missing_in: &fresh.label,
        }))
        .chain(std::iter::once(JsonLine::Total {
            bloat_bytes: c.total_bloat,
            indexes_compared: c.indexes_compared,
            indexes_reported: c.reported.len(),
            indexes_missing: c.missing.len(),
        }));
    for line in lines {
        serde_json::to_writer(&mut *w, &line)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// An SQL script (psql) that rebuilds every reported index without
/// blocking writes; missing indexes are named in comments.
fn write_reindex_sql(
    w: &mut impl Write,
    c: &Comparison<'_>,
    fresh: &Snapshot,
    target: Target,
) -> io::Result<()> {
    let n = c.reported.len();
    writeln!(
        w,
        "-- pgindexbloat: rebuilds the {n} bloated index{} without blocking writes, for {}",
        if n == 1 { "" } else { "es" },
        target.describe()
    )?;
    writeln!(
        w,
        "-- run with psql, not in a transaction block: CONCURRENTLY cannot run inside one"
    )?;
    for e in &c.reported {
        for line in reindex::statements(e, target) {
            writeln!(w, "{line}")?;
        }
    }
    for m in &c.missing {
        writeln!(
            w,
            "-- {}: missing in the {} {} (a problem with the backup?); nothing to rebuild",
            display_name(m.index),
            fresh.label,
            fresh.noun
        )?;
    }
    Ok(())
}

/// Warnings for stderr: indexes smaller in production than in the restore.
pub fn warnings(c: &Comparison<'_>, production: &Snapshot, fresh: &Snapshot) -> Vec<String> {
    const SHOWN: usize = 10;
    let mut out = Vec::new();
    if !c.smaller.is_empty() && c.smaller.len() == c.indexes_compared && c.indexes_compared > 1 {
        out.push(format!(
            "warning: all {} compared indexes are smaller in {} than in {}; are production and restore swapped?",
            c.indexes_compared,
            production.label,
            fresh.label
        ));
        return out;
    }
    for e in c.smaller.iter().take(SHOWN) {
        out.push(format!(
            "warning: {} is smaller in production than in the restore ({} vs. {}); its bloat counts as 0",
            e.index,
            convert_bytes(e.production_bytes),
            convert_bytes(e.expected_bytes)
        ));
    }
    if c.smaller.len() > SHOWN {
        out.push(format!(
            "warning: and {} more indexes smaller in production than in the restore",
            c.smaller.len() - SHOWN
        ));
    }
    out
}
