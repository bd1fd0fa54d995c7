//! Live databases: connection settings (URL, conninfo and the libpq `PG*`
//! environment variables), error classification, and `dump`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use mc_aws_common::exit;
use mc_aws_common::output::error_line;
use postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};
use crate::index::IndexRow;

/// Hides the password of a URL (`postgres://u:***@h/db`) or conninfo (`password=***`).
pub fn redact(conninfo: &str) -> String {
    if let Some(rest) = conninfo.split_once("://").map(|(_, r)| r) {
        let scheme_len = conninfo.len() - rest.len();
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                return format!(
                    "{}{}:***{}",
                    &conninfo[..scheme_len],
                    &rest[..colon],
                    &rest[at..]
                );
            }
        }
        return conninfo.to_string();
    }
    let mut out = Vec::new();
    let mut hide_next = false;
    for word in conninfo.split_whitespace() {
        if hide_next {
            out.push("***".to_string());
            hide_next = false;
            continue;
        }
        match word.split_once('=') {
            Some((k, v)) if k.trim() == "password" => {
                if v.is_empty() {
                    out.push(word.to_string());
                    hide_next = true;
                } else {
                    out.push(format!("{k}=***"));
                }
            }
            _ => out.push(word.to_string()),
        }
    }
    out.join(" ")
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Connection settings from a URL or conninfo (or nothing), completed with the
/// libpq environment variables `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
/// `PGDATABASE`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`, `PGPASSFILE`/`~/.pgpass`.
pub fn config(conninfo: Option<&str>) -> Result<Config> {
    let target = conninfo.map_or_else(|| "the PG* environment".to_string(), redact);
    let mut cfg = match conninfo.filter(|c| !c.trim().is_empty()) {
        Some(c) => c.parse::<Config>().map_err(|e| Error::Connect {
            target: target.clone(),
            message: error_line(&e),
            code: exit::USAGE,
        })?,
        None => Config::new(),
    };
    if cfg.get_ports().is_empty() {
        if let Some(p) = env("PGPORT") {
            let port = p.parse::<u16>().map_err(|_| Error::Connect {
                target: target.clone(),
                message: format!("invalid PGPORT {p:?}"),
                code: exit::USAGE,
            })?;
            cfg.port(port);
        }
    }
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    if cfg.get_hosts().is_empty() {
        match env("PGHOST") {
            Some(hosts) => {
                for h in hosts.split(',') {
                    if h.starts_with('/') {
                        cfg.host_path(h);
                    } else {
                        cfg.host(h);
                    }
                }
            }
            // libpq's default: the Unix socket, where one exists.
            None => match ["/var/run/postgresql", "/tmp"]
                .into_iter()
                .find(|d| PathBuf::from(format!("{d}/.s.PGSQL.{port}")).exists())
            {
                Some(dir) => {
                    cfg.host_path(dir);
                }
                None => {
                    cfg.host("localhost");
                }
            },
        }
    }
    if cfg.get_user().is_none() {
        let user = env("PGUSER")
            .or_else(|| env("USER"))
            .or_else(|| env("LOGNAME"))
            .unwrap_or_else(|| "postgres".to_string());
        cfg.user(&user);
    }
    if cfg.get_dbname().is_none() {
        if let Some(db) = env("PGDATABASE") {
            cfg.dbname(&db);
        }
    }
    if cfg.get_password().is_none() {
        if let Some(pw) = env("PGPASSWORD").or_else(|| pgpass(&cfg, port)) {
            cfg.password(pw);
        }
    }
    if cfg.get_application_name().is_none() {
        cfg.application_name(env("PGAPPNAME").as_deref().unwrap_or("pgindexbloat"));
    }
    if cfg.get_connect_timeout().is_none() {
        let secs = env("PGCONNECT_TIMEOUT")
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(10);
        cfg.connect_timeout(Duration::from_secs(secs));
    }
    Ok(cfg)
}

/// A password from `PGPASSFILE` or `~/.pgpass` (`host:port:db:user:password`, `*` wildcards).
fn pgpass(cfg: &Config, port: u16) -> Option<String> {
    let path = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let host = match cfg.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_string(),
    };
    let user = cfg.get_user().unwrap_or_default().to_string();
    let db = cfg
        .get_dbname()
        .map_or_else(|| user.clone(), str::to_string);
    let wanted = [host, port.to_string(), db, user];
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let fields = split_pgpass(line);
            if fields.len() < 5 {
                return None;
            }
            let ok = fields
                .iter()
                .zip(wanted.iter())
                .all(|(f, w)| f == "*" || f == w);
            ok.then(|| fields[4..].join(":"))
        })
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(last)) = (chars.next(), fields.last_mut()) {
                    last.push(n);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

/// Exit code for a PostgreSQL error: auth 4, no such database 3, otherwise 6.
fn classify(e: &postgres::Error) -> i32 {
    use postgres::error::SqlState;
    match e.code() {
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
                || *c == SqlState::INSUFFICIENT_PRIVILEGE =>
        {
            exit::AUTH
        }
        Some(c)
            if *c == SqlState::INVALID_CATALOG_NAME
                || *c == SqlState::UNDEFINED_FUNCTION
                || *c == SqlState::UNDEFINED_TABLE =>
        {
            exit::NOT_FOUND
        }
        _ => exit::SERVICE,
    }
}

/// Connects (plain TCP or Unix socket; TLS is not supported yet).
pub fn connect(conninfo: Option<&str>) -> Result<Client> {
    let cfg = config(conninfo)?;
    let target = conninfo.map_or_else(|| "the PG* environment".to_string(), redact);
    tracing::debug!("connecting to {target}");
    cfg.connect(NoTls).map_err(|e| Error::Connect {
        target,
        message: error_line(&e),
        code: classify(&e),
    })
}

pub(crate) fn query_error(target: &str, e: &postgres::Error) -> Error {
    Error::Query {
        target: target.to_string(),
        message: error_line(e),
        code: classify(e),
    }
}

/// Every valid user index with its size; toast indexes with the table that owns
/// them; invalid indexes (failed `CREATE INDEX CONCURRENTLY`) and temporary
/// schemas are left out because `pg_dump` leaves them out too.
///
/// `live_tuples` is the table's `pg_class.reltuples` (exact right after a
/// restore, which builds every index; in production as of the last
/// (auto)vacuum or analyze), `pg_stat` `n_live_tup` when the table was never
/// analyzed, or with `$1` = true an exact `count(*)` (one scan per table).
pub const DUMP_SQL: &str = "\
WITH counted AS MATERIALIZED (
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
       COALESCE(k.n, CASE WHEN t.reltuples >= 0 THEN t.reltuples::bigint END, s.n_live_tup) AS live_tuples
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
ORDER BY size DESC, relation";

/// Reads the index list from a live database; `exact_counts` counts every
/// indexed table's rows instead of using the statistics.
pub fn dump(client: &mut Client, target: &str, exact_counts: bool) -> Result<Vec<IndexRow>> {
    let rows = client
        .query(DUMP_SQL, &[&exact_counts])
        .map_err(|e| query_error(target, &e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let get = |i: usize| -> Result<Option<String>> {
            row.try_get::<_, Option<String>>(i)
                .map_err(|e| query_error(target, &e))
        };
        let num = |i: usize| -> Result<Option<i64>> {
            row.try_get::<_, Option<i64>>(i)
                .map_err(|e| query_error(target, &e))
        };
        out.push(IndexRow {
            name: get(0)?.unwrap_or_default(),
            size: num(1)?.and_then(|v| u64::try_from(v).ok()).unwrap_or(0),
            table: get(2)?,
            definition: get(3)?,
            live_tuples: num(4)?.and_then(|v| u64::try_from(v).ok()),
            line: 0,
        });
    }
    Ok(out)
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
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:pw@h:5432/db?x=1"),
            "postgres://u:***@h:5432/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("host=h password=secret dbname=x"),
            "host=h password=*** dbname=x"
        );
        assert_eq!(redact("host=h password= secret"), "host=h password= ***");
    }

    #[test]
    fn pgpass_fields() {
        assert_eq!(
            split_pgpass(r"h:5432:*:u:p\:w:x"),
            ["h", "5432", "*", "u", "p:w", "x"]
        );
    }

    #[test]
    fn bad_conninfo_is_usage() {
        let e = config(Some("postgres://h:notaport/db")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().starts_with(
                "cannot connect to postgres://h:notaport/db: invalid connection string"
            ),
            "{e}"
        );
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
