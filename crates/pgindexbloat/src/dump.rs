//! `dump`: every index of a live database with its size, in the CSV format
//! of [`crate::input`]; the same query feeds a live comparison.
//!
//! The query runs on every PostgreSQL still in use, 9.6 onwards; where
//! versions differ it is chosen by `server_version_num`. What it reads, and
//! the first version that has it:
//!
//! - `pg_index`: `indexrelid`, `indrelid` (all), `indisvalid` (8.2);
//! - `pg_class`: `oid`, `relname`, `relnamespace`, `relkind` (all; `'m'`,
//!   materialized views, 9.3), `relpages`, `reltuples` (all; -1 for "never
//!   vacuumed or analyzed" from 14, 0 before, hence the test on both),
//!   `reltoastrelid` (all);
//! - `pg_namespace`: `oid`, `nspname` (all);
//! - `pg_stat_all_tables`: `relid`, `n_live_tup` (8.3);
//! - functions: `pg_relation_size` (8.1), `pg_get_indexdef` (7.4),
//!   `format` with `%I` (9.1), `query_to_xml` and `xpath` (8.3);
//! - `WITH ... AS MATERIALIZED` (12): before 12 every CTE is materialized,
//!   so the keyword is left out there.

use std::io::Write;

use crate::conn::{query_error, Database};
use crate::error::Result;
use crate::index::IndexRow;

/// The first version that knows `AS MATERIALIZED`.
const MATERIALIZED_FROM: u32 = 120000;

/// Every valid user index with its size; toast indexes with the table that
/// owns them; invalid indexes (failed `CREATE INDEX CONCURRENTLY`) and
/// temporary schemas are left out because `pg_dump` leaves them out too.
///
/// `live_tuples` is the table's `pg_class.reltuples` (exact right after a
/// restore, which builds every index; in production as of the last
/// (auto)vacuum or analyze), `pg_stat` `n_live_tup` when the table was never
/// analyzed, or with `$1` = true an exact `count(*)` (one scan per table,
/// done once per table: the CTE is materialized).
pub fn dump_sql(server_version: u32) -> String {
    let materialized = if server_version >= MATERIALIZED_FROM {
        "MATERIALIZED "
    } else {
        ""
    };
    format!(
        "\
WITH counted AS {materialized}(
  SELECT t.oid,
         (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', tn.nspname, t.relname), false, true, '')))[1]::text::bigint AS n
  FROM pg_class t JOIN pg_namespace tn ON tn.oid = t.relnamespace
  WHERE $1 AND t.relkind IN ('r', 'm') AND t.oid IN (SELECT indrelid FROM pg_index)
    AND tn.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND tn.nspname !~ '^pg_(toast_)?temp_'
)
SELECT n.nspname || '.' || c.relname AS relation,
       pg_relation_size(c.oid) AS size,
       CASE WHEN n.nspname = 'pg_toast' THEN os.nspname || '.' || o.relname
            ELSE tn.nspname || '.' || t.relname END AS \"table\",
       pg_get_indexdef(c.oid) AS definition,
       COALESCE(k.n,
                CASE WHEN t.reltuples > 0 OR (t.reltuples = 0 AND t.relpages > 0) THEN t.reltuples::bigint END,
                s.n_live_tup) AS live_tuples
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
LEFT JOIN pg_class o ON n.nspname = 'pg_toast' AND o.reltoastrelid = t.oid
LEFT JOIN pg_namespace os ON os.oid = o.relnamespace
LEFT JOIN pg_stat_all_tables s ON s.relid = t.oid
LEFT JOIN counted k ON k.oid = t.oid
WHERE c.relkind = 'i' AND i.indisvalid
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast_)?temp_'
  AND (n.nspname <> 'pg_toast'
       OR (o.oid IS NOT NULL AND os.nspname NOT IN ('pg_catalog', 'information_schema') AND os.nspname !~ '^pg_temp_'))
ORDER BY size DESC, relation"
    )
}

/// Reads the index list of a live database with the query for its
/// version; `exact_counts` counts every indexed table's rows instead of
/// using the statistics.
pub fn dump(db: &mut Database, exact_counts: bool) -> Result<Vec<IndexRow>> {
    dump_as(db, exact_counts, db.version)
}

/// [`dump`] with the query written for `server_version` (the tests run
/// every version's query on the installed server).
pub fn dump_as(
    db: &mut Database,
    exact_counts: bool,
    server_version: u32,
) -> Result<Vec<IndexRow>> {
    let target = db.target.as_str();
    let failed = |e: postgres::Error| query_error(target, &e);
    let rows = db
        .client
        .query(dump_sql(server_version).as_str(), &[&exact_counts])
        .map_err(failed)?;
    rows.iter()
        .map(|row| index_row(row).map_err(failed))
        .collect()
}

fn index_row(row: &postgres::Row) -> std::result::Result<IndexRow, postgres::Error> {
    let bytes = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
    Ok(IndexRow {
        name: row.try_get::<_, Option<String>>(0)?.unwrap_or_default(),
        size: bytes(row.try_get(1)?).unwrap_or(0),
        table: row.try_get(2)?,
        definition: row.try_get(3)?,
        live_tuples: bytes(row.try_get(4)?),
        line: 0,
    })
}

/// Writes rows as CSV with a header: `relation,size` or, with `extra`,
/// `relation,size,table,definition,live_tuples`. Without `extra`, toast
/// indexes are left out (their names are meaningless after a restore).
pub fn write_csv<W: Write>(rows: &[IndexRow], extra: bool, out: W) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    if extra {
        w.write_record(["relation", "size", "table", "definition", "live_tuples"])?;
    } else {
        w.write_record(["relation", "size"])?;
    }
    for r in rows {
        let size = r.size.to_string();
        if extra {
            let tuples = r.live_tuples.map(|t| t.to_string()).unwrap_or_default();
            w.write_record([
                r.name.as_str(),
                &size,
                r.table.as_deref().unwrap_or(""),
                r.definition.as_deref().unwrap_or(""),
                &tuples,
            ])?;
        } else if !r.name.starts_with("pg_toast.") {
            w.write_record([r.name.as_str(), &size])?;
        }
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn materialized_only_from_12() {
        assert!(dump_sql(120000).starts_with("WITH counted AS MATERIALIZED ("));
        assert!(dump_sql(110022).starts_with("WITH counted AS ("));
        assert!(dump_sql(90624).starts_with("WITH counted AS ("));
    }

    #[test]
    fn csv_out() {
        let rows = vec![
            IndexRow {
                name: "public.i".into(),
                size: 8192,
                table: Some("public.t".into()),
                definition: Some("CREATE INDEX i ON public.t USING btree (a)".into()),
                live_tuples: Some(3),
                line: 0,
            },
            IndexRow {
                name: "pg_toast.pg_toast_1_index".into(),
                size: 8192,
                table: Some("public.t".into()),
                definition: None,
                live_tuples: None,
                line: 0,
            },
        ];
        let mut basic = Vec::new();
        write_csv(&rows, false, &mut basic).unwrap();
        assert_eq!(
            String::from_utf8(basic).unwrap(),
            "relation,size\npublic.i,8192\n"
        );
        let mut extra = Vec::new();
        write_csv(&rows, true, &mut extra).unwrap();
        assert_eq!(
            String::from_utf8(extra).unwrap(),
            "relation,size,table,definition,live_tuples\npublic.i,8192,public.t,CREATE INDEX i ON public.t USING btree (a),3\npg_toast.pg_toast_1_index,8192,public.t,,\n"
        );
    }
}
