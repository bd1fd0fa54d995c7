//! `pgindexbloat estimate`: bloat without a restore, for btree indexes.
//!
//! - `pgstatindex` (extension pgstattuple): reads every page of the index and
//!   reports the leaf density. A fresh build fills leaf pages to the fillfactor
//!   (90 % by default), so the fresh size is about
//!   `leaf_pages * density / fillfactor` leaf pages plus internal pages and the
//!   metapage. Exact about free space; blind to what a rebuild would
//!   additionally *deduplicate* (PostgreSQL 13+ merges duplicates at build
//!   time, but only lazily in a live index), so duplicate-heavy indexes are
//!   underestimated. Costs a full read of each index.
//! - `pg_stats` (statistical): tuple width from the planner statistics
//!   (`avg_width`, `null_frac`) and the row count from `pg_class.reltuples`,
//!   turned into the pages a fresh build would need. Cheap, but only as good as
//!   the last ANALYZE; it ignores alignment padding, suffix truncation and
//!   deduplication, so it can be far off (tens of points) on duplicate-heavy
//!   or multi-column indexes.
//!
//! The restore method (comparing with a fresh `pg_dump` restore) measures what a
//! rebuild really gives, including deduplication, and is the reference.
//!
//! The queries run on every PostgreSQL still in use, 9.6 onwards, unchanged.
//! What they read, and the first version that has it:
//!
//! - `pg_index`: `indexrelid`, `indrelid`, `indkey` (all), `indisvalid` (8.2);
//! - `pg_class`: `oid`, `relname`, `relnamespace`, `relkind`, `relam`,
//!   `reltuples` (all; -1 for "never vacuumed or analyzed" from 14),
//!   `reloptions` (8.2);
//! - `pg_am`: `oid`, `amname` (all; 9.6 rebuilt `pg_am` but kept both);
//! - `pg_attribute`: `attrelid`, `attnum`, `attname`, `atttypid`; `pg_type`:
//!   `oid`, `typlen`; `pg_namespace`: `oid`, `nspname` (all);
//! - `pg_stats`: `schemaname`, `tablename`, `attname`, `avg_width`,
//!   `null_frac` (8.0);
//! - `pg_extension`: `extname`, `extnamespace` (9.1);
//! - `pgstatindex(regclass)` of pgstattuple 1.4 (9.6): `internal_pages`,
//!   `leaf_pages`, `avg_leaf_density`;
//! - `current_setting('block_size')`, `pg_relation_size` (8.1).

use mc_aws_common::output::error_line;
use postgres::Client;
use serde::Serialize;

use crate::conn::query_error;
use crate::error::{Error, Result};

/// How to estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// pgstatindex when the pgstattuple extension is installed, else pg_stats.
    #[default]
    Auto,
    /// pgstatindex (extension pgstattuple); fails if it is not installed.
    Pgstatindex,
    /// The statistical estimate from pg_stats.
    Stats,
}

/// One index's estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub index: String,
    pub method: Method,
    pub production_bytes: u64,
    /// Estimated size of a freshly built copy.
    pub expected_bytes: u64,
    /// production - expected (0 when the estimate is larger).
    pub bloat_bytes: u64,
    /// bloat / production * 100.
    pub bloat_ratio: f64,
    /// production / expected * 100, truncated (comparable with the restore method's percent).
    pub percent: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Estimate {
    fn new(index: String, method: Method, size: u64, expected: u64, note: Option<String>) -> Self {
        let expected = expected.max(1);
        let bloat = size.saturating_sub(expected);
        Estimate {
            index,
            method,
            production_bytes: size,
            expected_bytes: expected,
            bloat_bytes: bloat,
            bloat_ratio: if size > 0 {
                bloat as f64 * 100.0 / size as f64
            } else {
                0.0
            },
            percent: u64::try_from(u128::from(size) * 100 / u128::from(expected))
                .unwrap_or(u64::MAX),
            note,
        }
    }
}

/// Bytes of page header plus btree special space.
const PAGE_OVERHEAD: f64 = 24.0 + 16.0;

/// Fresh size from pgstatindex's numbers.
pub fn fresh_from_pgstatindex(
    block_size: u64,
    fillfactor: u32,
    internal_pages: u64,
    leaf_pages: u64,
    avg_leaf_density: f64,
) -> u64 {
    let density = if avg_leaf_density.is_finite() {
        avg_leaf_density.clamp(0.0, 100.0)
    } else {
        0.0
    };
    let ff = f64::from(fillfactor.clamp(10, 100));
    let fresh_leaf = ((leaf_pages as f64) * density / ff).ceil().max(1.0);
    let fresh_internal = if fresh_leaf <= 1.0 || leaf_pages == 0 {
        0.0
    } else {
        ((internal_pages as f64) * fresh_leaf / leaf_pages as f64)
            .ceil()
            .max(1.0)
    };
    ((1.0 + fresh_leaf + fresh_internal) * block_size as f64) as u64
}

/// One index column's statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnStats {
    /// `pg_stats.avg_width`, or the type's fixed length when there are no statistics.
    pub avg_width: f64,
    pub null_frac: f64,
}

/// Fresh size from planner statistics.
pub fn fresh_from_stats(
    block_size: u64,
    fillfactor: u32,
    reltuples: f64,
    columns: &[ColumnStats],
) -> u64 {
    let maxalign = |x: f64| (x / 8.0).ceil() * 8.0;
    let has_nulls = columns.iter().any(|c| c.null_frac > 0.0);
    let header = if has_nulls { 16.0 } else { 8.0 };
    let data: f64 = columns
        .iter()
        .map(|c| (1.0 - c.null_frac.clamp(0.0, 1.0)) * c.avg_width.max(0.0))
        .sum();
    let tuple = maxalign(header + data) + 4.0; // + line pointer
    let usable = block_size as f64 - PAGE_OVERHEAD;
    let per_leaf = (usable * f64::from(fillfactor.clamp(10, 100)) / 100.0 / tuple)
        .floor()
        .max(1.0);
    let per_internal = (usable / tuple).floor().max(2.0);
    let leaf = (reltuples.max(0.0) / per_leaf).ceil().max(1.0);
    let mut internal = 0.0;
    let mut level = leaf;
    while level > 1.0 {
        level = (level / per_internal).ceil();
        internal += level;
    }
    ((1.0 + leaf + internal) * block_size as f64) as u64
}

const INDEXES_SQL: &str = "\
SELECT c.oid, n.nspname || '.' || c.relname AS name, pg_relation_size(c.oid) AS size,
       current_setting('block_size')::int AS block_size,
       COALESCE((SELECT split_part(o, '=', 2)::int FROM unnest(c.reloptions) o WHERE o LIKE 'fillfactor=%'), 90) AS fillfactor,
       c.reltuples::float8 AS reltuples
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = c.relam
WHERE c.relkind = 'i' AND am.amname = 'btree' AND i.indisvalid
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname !~ '^pg_(toast_)?temp_'
  AND pg_relation_size(c.oid) > $1
ORDER BY name";

const COLUMNS_SQL: &str = "\
SELECT a.attnum::int AS attnum,
       COALESCE(st.avg_width, se.avg_width, NULLIF(ty.typlen, -1), NULLIF(ty.typlen, -2))::float8 AS width,
       COALESCE(st.null_frac, se.null_frac, 0)::float8 AS null_frac,
       (st.avg_width IS NOT NULL OR se.avg_width IS NOT NULL) AS has_stats
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
JOIN pg_type ty ON ty.oid = a.atttypid
LEFT JOIN pg_attribute ta ON ta.attrelid = t.oid AND ta.attnum = i.indkey[a.attnum - 1] AND i.indkey[a.attnum - 1] <> 0
LEFT JOIN pg_stats st ON st.schemaname = tn.nspname AND st.tablename = t.relname AND st.attname = ta.attname
LEFT JOIN pg_stats se ON i.indkey[a.attnum - 1] = 0 AND se.schemaname = n.nspname AND se.tablename = c.relname AND se.attname = a.attname
WHERE c.oid = $1
ORDER BY a.attnum";

/// The schema pgstattuple is installed in, if it is.
fn pgstattuple_schema(client: &mut Client, target: &str) -> Result<Option<String>> {
    let row = client
        .query_opt("SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgstattuple'", &[])
        .map_err(|e| query_error(target, &e))?;
    row.map(|r| r.try_get::<_, String>(0))
        .transpose()
        .map_err(|e| query_error(target, &e))
}

/// Creates the extension (`--create-extension`); needs the right privileges.
pub fn create_extension(client: &mut Client, target: &str) -> Result<()> {
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        .map_err(|e| query_error(target, &e))
}

/// The method to use, and the pgstatindex call when it is that.
fn choose_method(
    client: &mut Client,
    target: &str,
    method: Method,
) -> Result<(Method, Option<String>)> {
    let schema = match method {
        Method::Stats => None,
        _ => pgstattuple_schema(client, target)?,
    };
    match (method, schema) {
        (Method::Pgstatindex, None) => Err(Error::Query {
            target: target.to_string(),
            message: "the pgstattuple extension is not installed (CREATE EXTENSION pgstattuple, or use --create-extension or --method stats)".into(),
            code: mc_aws_common::exit::UNSUPPORTED,
        }),
        (Method::Stats, _) | (Method::Auto, None) => Ok((Method::Stats, None)),
        (_, Some(s)) => Ok((
            Method::Pgstatindex,
            Some(format!("SELECT internal_pages, leaf_pages, avg_leaf_density FROM {s}.pgstatindex($1::oid::regclass)")),
        )),
    }
}

/// One row of [`INDEXES_SQL`].
struct IndexFacts {
    oid: u32,
    name: String,
    size: u64,
    block_size: u64,
    fillfactor: u32,
    reltuples: f64,
}

impl IndexFacts {
    fn of(row: &postgres::Row) -> std::result::Result<Self, postgres::Error> {
        Ok(IndexFacts {
            oid: row.try_get(0)?,
            name: row.try_get(1)?,
            size: u64::try_from(row.try_get::<_, i64>(2)?).unwrap_or(0),
            block_size: u64::try_from(row.try_get::<_, i32>(3)?).unwrap_or(8192),
            fillfactor: u32::try_from(row.try_get::<_, i32>(4)?).unwrap_or(90),
            reltuples: row.try_get(5)?,
        })
    }
}

/// Estimates every valid btree index larger than `min_size`; returns the method used.
pub fn run(
    client: &mut Client,
    target: &str,
    method: Method,
    min_size: u64,
) -> Result<(Method, Vec<Estimate>)> {
    let (used, stat_sql) = choose_method(client, target, method)?;
    let min = i64::try_from(min_size).unwrap_or(i64::MAX);
    let failed = |e: postgres::Error| query_error(target, &e);
    let indexes = client.query(INDEXES_SQL, &[&min]).map_err(failed)?;
    let mut out = Vec::with_capacity(indexes.len());
    for row in &indexes {
        let ix = IndexFacts::of(row).map_err(failed)?;
        out.push(match &stat_sql {
            Some(sql) => by_pgstatindex(client, sql, ix).map_err(failed)?,
            None => by_stats(client, ix).map_err(failed)?,
        });
    }
    out.sort_by(|a, b| {
        b.bloat_bytes
            .cmp(&a.bloat_bytes)
            .then_with(|| a.index.cmp(&b.index))
    });
    Ok((used, out))
}

/// pgstatindex's leaf density; a failure for one index is a note on it.
fn by_pgstatindex(
    client: &mut Client,
    sql: &str,
    ix: IndexFacts,
) -> std::result::Result<Estimate, postgres::Error> {
    let method = Method::Pgstatindex;
    let r = match client.query_one(sql, &[&ix.oid]) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("pgstatindex({}) failed: {}", ix.name, error_line(&e));
            let note = format!("pgstatindex failed: {}", error_line(&e));
            return Ok(Estimate::new(ix.name, method, ix.size, ix.size, Some(note)));
        }
    };
    let internal = u64::try_from(r.try_get::<_, i64>(0)?).unwrap_or(0);
    let leaf = u64::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0);
    let density: f64 = r.try_get(2)?;
    let fresh = fresh_from_pgstatindex(ix.block_size, ix.fillfactor, internal, leaf, density);
    Ok(Estimate::new(ix.name, method, ix.size, fresh, None))
}

/// The planner statistics of the index's columns.
fn by_stats(client: &mut Client, ix: IndexFacts) -> std::result::Result<Estimate, postgres::Error> {
    let method = Method::Stats;
    let cols = client.query(COLUMNS_SQL, &[&ix.oid])?;
    let mut stats = Vec::with_capacity(cols.len());
    let mut without = 0;
    for c in &cols {
        let width: Option<f64> = c.try_get(1)?;
        if !c.try_get::<_, bool>(3)? {
            without += 1;
        }
        stats.push(ColumnStats {
            avg_width: width.unwrap_or(32.0),
            null_frac: c.try_get(2)?,
        });
    }
    if ix.reltuples < 0.0 {
        let note = Some("never vacuumed or analyzed: run ANALYZE".to_string());
        return Ok(Estimate::new(ix.name, method, ix.size, ix.size, note));
    }
    let note = (without > 0).then(|| format!("no statistics for {without} column(s): run ANALYZE"));
    let fresh = fresh_from_stats(ix.block_size, ix.fillfactor, ix.reltuples, &stats);
    Ok(Estimate::new(ix.name, method, ix.size, fresh, note))
}

/// What the method line of the report says.
pub fn describe(method: Method) -> &'static str {
    match method {
        Method::Pgstatindex => "pgstatindex (pgstattuple extension: measured leaf density; misses deduplication a rebuild would do)",
        _ => "pg_stats (statistical estimate from planner statistics; pgstattuple not used; can be tens of points off)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_index_has_no_pgstatindex_bloat() {
        // 1000 leaf pages at 90 % density, fillfactor 90: a rebuild gives the same.
        let fresh = fresh_from_pgstatindex(8192, 90, 4, 1000, 90.0);
        assert_eq!(fresh, (1 + 1000 + 4) * 8192);
        // Half-empty pages: half the leaf pages.
        assert_eq!(
            fresh_from_pgstatindex(8192, 90, 4, 1000, 45.0),
            (1 + 500 + 2) * 8192
        );
        assert_eq!(fresh_from_pgstatindex(8192, 90, 0, 0, f64::NAN), 2 * 8192);
    }

    #[test]
    fn stats_estimate_is_sane() {
        // 1M int4 keys, no nulls: 8 + 4 -> 16 + 4 = 20 bytes; 8152*0.9/20 = 366 per page.
        let fresh = fresh_from_stats(
            8192,
            90,
            1_000_000.0,
            &[ColumnStats {
                avg_width: 4.0,
                null_frac: 0.0,
            }],
        );
        let leaf = (1_000_000f64 / 366.0).ceil() as u64;
        assert!(
            fresh >= (1 + leaf) * 8192 && fresh < (1 + leaf + 20) * 8192,
            "{fresh}"
        );
        assert_eq!(fresh_from_stats(8192, 90, 0.0, &[]), 2 * 8192);
    }

    #[test]
    fn estimate_percentages() {
        let e = Estimate::new("public.i".into(), Method::Stats, 300, 100, None);
        assert_eq!((e.percent, e.bloat_bytes), (300, 200));
        assert!((e.bloat_ratio - 66.666).abs() < 0.01);
        let e = Estimate::new("public.i".into(), Method::Stats, 100, 0, None);
        assert_eq!(e.percent, 10000);
    }
}
