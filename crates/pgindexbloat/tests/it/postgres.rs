//! Integration tests on a real throwaway PostgreSQL cluster (mc-testkit):
//! bloat made with updates and deletes, a `pg_dump | psql` restore, `dump`,
//! the comparison, `check`, toast indexes and `estimate`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command as Proc, Stdio};
use std::sync::OnceLock;

use assert_cmd::Command;
use mc_testkit as testkit;
use serde_json::Value;

const PROD: &str = "bloat_prod";
const RESTORE: &str = "bloat_restore";
const BROKEN: &str = "bloat_broken";

/// Indexes of the bloated table, and of the untouched one.
const HOT: [&str; 5] = ["hot_pkey", "hot_grp", "hot_a_b", "hot_open", "hot_b_key"];
const COLD: [&str; 2] = ["cold_pkey", "cold_v"];

const SETUP: &str = "
-- Bloated: btree indexes of several kinds, autovacuum off.
CREATE TABLE hot (id int PRIMARY KEY, grp int, a int, b text, status text) WITH (autovacuum_enabled = off);
INSERT INTO hot SELECT g, g % 10, g, md5(g::text), CASE WHEN g % 50 = 0 THEN 'open' ELSE 'closed' END
  FROM generate_series(1, 200000) g;
CREATE INDEX hot_grp ON hot (grp);                        -- non-unique, many duplicates
CREATE INDEX hot_a_b ON hot (a, b);                       -- multi-column
CREATE INDEX hot_open ON hot (id) WHERE status = 'open';  -- partial
CREATE UNIQUE INDEX hot_b_key ON hot (b);                 -- unique
-- Untouched: loaded first, indexed after, like a restore.
CREATE TABLE cold (id int, v text) WITH (autovacuum_enabled = off);
INSERT INTO cold SELECT g, md5(g::text) FROM generate_series(1, 50000) g;
ALTER TABLE cold ADD PRIMARY KEY (id);
CREATE INDEX cold_v ON cold (v);
-- Toasted: out-of-line values, so the toast index is not empty.
CREATE TABLE docs (id int PRIMARY KEY, body text) WITH (autovacuum_enabled = off);
ALTER TABLE docs ALTER body SET STORAGE EXTERNAL;
INSERT INTO docs SELECT g, repeat(md5(g::text), 100) FROM generate_series(1, 2000) g;
-- The bloat: updates that change indexed columns, deletes, then VACUUM.
UPDATE hot SET a = a + 1000000, b = md5(b) WHERE id % 4 <> 0;
UPDATE hot SET status = 'open', grp = grp + 1 WHERE id % 7 = 0;
DELETE FROM hot WHERE id % 3 = 0;
UPDATE docs SET body = repeat(md5(id::text || 'x'), 100) WHERE id % 2 = 0;
DELETE FROM docs WHERE id % 5 = 0;
VACUUM hot;
VACUUM docs;
ANALYZE;
";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn pg() -> &'static testkit::PgCluster {
    testkit::postgres()
}

/// `pg_dump PROD | psql DB`.
fn restore_into(db: &str) {
    let pg = pg();
    pg.create_db(db);
    let port = pg.port().to_string();
    let mut dump = Proc::new(pg.bin("pg_dump"))
        .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", PROD])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Proc::new(pg.bin("psql"))
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "-d",
            db,
        ])
        .stdin(dump.stdout.take().unwrap())
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(dump.wait().unwrap().success());
    assert_success(&out);
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let pg = pg();
        pg.create_db(PROD);
        pg.psql(PROD, SETUP);
        restore_into(RESTORE);
        restore_into(BROKEN);
        pg.psql(BROKEN, "DROP INDEX hot_a_b;");
        let f = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        for db in [PROD, RESTORE, BROKEN] {
            let out = cmd()
                .args(["dump", "--extra", "-f"])
                .arg(f.path(&format!("{db}.csv")))
                .arg(pg.url(db))
                .output()
                .unwrap();
            assert_success(&out);
        }
        f
    })
}

#[track_caller]
fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cmd() -> Command {
    let mut c = Command::cargo_bin("pgindexbloat").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") || k == "MC_OUTPUT" || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

/// `pg_relation_size` of every index in `db`, by bare name.
fn sizes(db: &str) -> HashMap<String, u64> {
    pg().psql(
        db,
        "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'i' AND n.nspname = 'public'",
    )
    .lines()
    .filter_map(|l| l.split_once('|'))
    .map(|(n, s)| (n.to_string(), s.parse().unwrap()))
    .collect()
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn by_index(lines: &[Value], kind: &str) -> HashMap<String, Value> {
    lines
        .iter()
        .filter(|v| v["type"] == kind)
        .map(|v| {
            (
                v["index"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("public.")
                    .to_string(),
                v.clone(),
            )
        })
        .collect()
}

#[test]
fn dump_writes_the_sizes_postgres_reports() {
    let f = fixture();
    let text = std::fs::read_to_string(f.path(&format!("{PROD}.csv"))).unwrap();
    assert!(
        text.starts_with("relation,size,table,definition,live_tuples\n"),
        "{text}"
    );
    let prod = sizes(PROD);
    for name in HOT.iter().chain(COLD.iter()) {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("public.{name},")))
            .unwrap_or_else(|| panic!("{name} not dumped:\n{text}"));
        let size: u64 = line.split(',').nth(1).unwrap().parse().unwrap();
        assert_eq!(size, prod[*name], "{name}");
    }
    assert!(
        text.contains("public.hot_open,") && text.contains("WHERE (status = 'open'::text)"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("pg_toast.pg_toast_") && l.contains(",public.docs,")),
        "{text}"
    );
    assert!(!text.contains("pg_catalog."), "{text}");

    // Basic columns, from the PG* environment variables, on stdout.
    let out = cmd()
        .arg("dump")
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", pg().port().to_string())
        .env("PGUSER", "postgres")
        .env("PGDATABASE", PROD)
        .output()
        .unwrap();
    assert_success(&out);
    let basic = String::from_utf8(out.stdout).unwrap();
    assert!(basic.starts_with("relation,size\n"), "{basic}");
    assert!(!basic.contains("pg_toast"), "{basic}");
    assert_eq!(
        basic.lines().count(),
        1 + HOT.len() + COLD.len() + 1,
        "{basic}"
    ); // + docs_pkey
}

fn compare_json(a: &str, b: &str) -> (i32, Vec<Value>) {
    let out = cmd()
        .args(["-o", "json", "-c", "0", "-t", "0", "-b", "0"])
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), json_lines(&out.stdout))
}

#[test]
fn comparison_finds_the_bloat() {
    let f = fixture();
    let (prod, fresh) = (sizes(PROD), sizes(RESTORE));
    let a = f.path(&format!("{PROD}.csv"));
    let b = f.path(&format!("{RESTORE}.csv"));
    let (code, lines) = compare_json(a.to_str().unwrap(), b.to_str().unwrap());
    assert_eq!(code, 0, "{lines:#?}");
    let reported = by_index(&lines, "index");
    assert!(
        by_index(&lines, "missing").is_empty(),
        "toast indexes must not show as missing: {lines:#?}"
    );
    for name in HOT {
        let e = reported
            .get(name)
            .unwrap_or_else(|| panic!("{name} not reported as bloated: {lines:#?}"));
        assert_eq!(e["production_bytes"], prod[name], "{name}");
        assert_eq!(e["fresh_bytes"], fresh[name], "{name}");
        assert_eq!(
            e["bloat_bytes"],
            prod[name] as i64 - fresh[name] as i64,
            "{name}: row counts are equal, no scaling"
        );
        assert!(e["percent"].as_u64().unwrap() > 110, "{name}: {e}");
    }
    for name in COLD {
        assert!(
            !reported.contains_key(name),
            "untouched {name} reported: {lines:#?}"
        );
        assert_eq!(prod[name], fresh[name], "{name}");
    }
    assert!(
        reported.contains_key("pg_toast(public.docs)"),
        "the toast index is compared through its table: {lines:#?}"
    );

    // Live connections give the same numbers.
    let (code, live) = compare_json(&pg().url(PROD), &pg().url(RESTORE));
    assert_eq!(code, 0);
    assert_eq!(by_index(&live, "index"), reported);

    // Pretty mode names them without the public schema.
    let out = cmd()
        .args(["-ps", "-c", "0"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Index hot_a_b size compare to clean import: "),
        "{text}"
    );
    assert!(
        text.ends_with('\n')
            && text
                .lines()
                .last()
                .unwrap()
                .starts_with("Total index bloat: "),
        "{text}"
    );
}

#[test]
fn dropped_index_in_the_restore_is_critical() {
    let f = fixture();
    let a = f.path(&format!("{PROD}.csv"));
    let b = f.path(&format!("{BROKEN}.csv"));
    let out = cmd()
        .args(["check", "-c", "0"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{line}");
    assert!(
        line.starts_with(&format!(
            "PGINDEXBLOAT CRITICAL - 1 index missing from {} (broken backup?): hot_a_b;",
            b.display()
        )),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
    // Live, too; the report exits 1 and says so.
    let out = cmd()
        .args(["-p", "-c", "0"])
        .arg(pg().url(PROD))
        .arg(pg().url(BROKEN))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "Ough!  hot_a_b index is missing in the {} database.  Likely a problem with backup!",
            pg().url(BROKEN)
        )),
        "{text}"
    );
    // And the healthy restore is not CRITICAL with thresholds above the bloat.
    let out = cmd()
        .args(["check", "-c", "0", "--critical-percent", "100000"])
        .arg(&a)
        .arg(f.path(&format!("{RESTORE}.csv")))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn estimate_with_pgstattuple_is_close_to_the_restore_method() {
    let f = fixture();
    let (_, lines) = compare_json(
        f.path(&format!("{PROD}.csv")).to_str().unwrap(),
        f.path(&format!("{RESTORE}.csv")).to_str().unwrap(),
    );
    let restore = by_index(&lines, "index");
    let out = cmd()
        .args(["estimate", "--create-extension", "-c", "0", "-o", "json"])
        .arg(pg().url(PROD))
        .output()
        .unwrap();
    assert_success(&out);
    let est = json_lines(&out.stdout);
    let est: HashMap<String, Value> = est
        .into_iter()
        .map(|v| {
            (
                v["index"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("public.")
                    .to_string(),
                v,
            )
        })
        .collect();
    let mut report = Vec::new();
    for name in HOT {
        let (r, e) = (&restore[name], &est[name]);
        assert_eq!(e["method"], "pgstatindex");
        let (rr, er) = (
            r["bloat_ratio"].as_f64().unwrap(),
            e["bloat_ratio"].as_f64().unwrap(),
        );
        report.push(format!("{name}: restore {rr:.1}% estimate {er:.1}%"));
        assert!(
            (rr - er).abs() < 5.0,
            "{name}: restore {rr:.1}% vs pgstatindex {er:.1}%\n{}",
            report.join("\n")
        );
    }
    // The human output names the method.
    let out = cmd()
        .args(["estimate", "-c", "0"])
        .arg(pg().url(PROD))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("method: pgstatindex"), "{text}");
    // The statistical method says so too.
    let out = cmd()
        .args(["estimate", "--method", "stats", "-c", "0", "-o", "json"])
        .arg(pg().url(PROD))
        .output()
        .unwrap();
    assert_success(&out);
    let stats = json_lines(&out.stdout);
    assert!(stats.iter().all(|v| v["method"] == "stats"), "{stats:#?}");
    assert!(
        stats.iter().any(|v| v["index"] == "public.hot_a_b"),
        "{stats:#?}"
    );
    for v in &stats {
        let name = v["index"].as_str().unwrap().trim_start_matches("public.");
        if let Some(r) = restore.get(name) {
            report.push(format!(
                "{name}: restore {:.1}% pg_stats {:.1}%",
                r["bloat_ratio"].as_f64().unwrap(),
                v["bloat_ratio"].as_f64().unwrap()
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn rows_added_since_the_backup_are_not_bloat() {
    let pg = pg();
    pg.create_db("grow_prod");
    pg.psql("grow_prod", "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 100000) g; ANALYZE t;");
    pg.create_db("grow_restore");
    pg.psql("grow_restore", "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 100000) g; ANALYZE t;");
    // Production grows by half after the backup, appending keys: no bloat, just more rows.
    pg.psql(
        "grow_prod",
        "INSERT INTO t SELECT g, g FROM generate_series(100001, 150000) g; VACUUM ANALYZE t;",
    );
    let url = |db: &str| pg.url(db);
    let out = cmd()
        .args(["-o", "json", "-c", "0"])
        .arg(url("grow_prod"))
        .arg(url("grow_restore"))
        .output()
        .unwrap();
    let lines = json_lines(&out.stdout);
    assert!(by_index(&lines, "index").is_empty(), "{lines:#?}");
    let out = cmd()
        .args(["-o", "json", "-c", "0", "--no-normalise"])
        .arg(url("grow_prod"))
        .arg(url("grow_restore"))
        .output()
        .unwrap();
    let lines = json_lines(&out.stdout);
    let p = by_index(&lines, "index")["t_pkey"]["percent"]
        .as_u64()
        .unwrap();
    assert!((145..=155).contains(&p), "{lines:#?}");
    // Exact counts, after more rows arrive without an ANALYZE: still no bloat.
    pg.psql(
        "grow_prod",
        "INSERT INTO t SELECT g, g FROM generate_series(150001, 180000) g;",
    );
    let out = cmd()
        .args(["-o", "json", "-c", "0", "--exact-counts"])
        .arg(url("grow_prod"))
        .arg(url("grow_restore"))
        .output()
        .unwrap();
    let lines = json_lines(&out.stdout);
    assert!(by_index(&lines, "index").is_empty(), "{lines:#?}");
    let out = cmd()
        .args(["dump", "--extra", "--exact-counts"])
        .arg(url("grow_prod"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with(",180000\n"), "{text}");
}

#[test]
fn missing_database_and_stopped_server() {
    let f = fixture();
    let a = f.path(&format!("{PROD}.csv"));
    let out = cmd().arg(&a).arg(pg().url("no_such_db")).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err,
        format!("pgindexbloat: error: cannot connect to {}: db error: FATAL: database \"no_such_db\" does not exist\n", pg().url("no_such_db"))
    );

    let private = testkit::start_private();
    let url = private.url("postgres");
    private.stop();
    let out = cmd().args(["check"]).arg(&a).arg(&url).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.starts_with(&format!(
            "PGINDEXBLOAT UNKNOWN - cannot connect to {url}: error connecting to server: "
        )),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
}

/// PostgreSQL's refusals are exit 4, by SQLSTATE: a role that may not log
/// in (28000) and a missing privilege (42501).
#[test]
fn postgresql_refusals_exit_4() {
    let pg = pg();
    pg.create_db("bloat_perm");
    pg.psql(
        "postgres",
        "DROP ROLE IF EXISTS bloat_nologin; CREATE ROLE bloat_nologin NOLOGIN;
         DROP ROLE IF EXISTS bloat_plain; CREATE ROLE bloat_plain LOGIN;",
    );
    let url = |user: &str| format!("postgres://{user}@127.0.0.1:{}/bloat_perm", pg.port());
    let out = cmd()
        .arg("dump")
        .arg(url("bloat_nologin"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "pgindexbloat: error: cannot connect to {}: db error: FATAL: role \"bloat_nologin\" is not permitted to log in\n",
            url("bloat_nologin")
        )
    );
    assert_eq!(out.status.code(), Some(4));
    let out = cmd()
        .args(["estimate", "--create-extension"])
        .arg(url("bloat_plain"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "pgindexbloat: error: query on {} failed: db error: ERROR: permission denied to create extension \"pgstattuple\"",
            url("bloat_plain")
        )) && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(out.status.code(), Some(4), "{err}");
}

/// The dump query is chosen by server_version_num: each version's query
/// (9.6 to 14) runs on the installed server and reads the same rows as
/// this server's own, with statistics and with exact counts.
#[test]
fn every_versions_dump_query_runs_here() {
    use pgindexbloat::dump::{dump, dump_as};
    fixture();
    let mut db = pgindexbloat::conn::connect(Some(&pg().url(PROD))).unwrap();
    assert!(
        db.version >= 150000,
        "the installed server is 15: {}",
        db.version
    );
    for exact in [false, true] {
        let current = dump(&mut db, exact).unwrap();
        assert!(current.len() > HOT.len(), "{current:?}");
        for version in [90600, 100000, 110000, 120000, 130000, 140000] {
            let rows = dump_as(&mut db, exact, version).unwrap();
            assert_eq!(rows, current, "the {version} query, exact counts {exact}");
        }
    }
}

/// Indexes with hard names (a mixed-case schema with a space, quotes in a
/// name, a 63-byte name), bloated by deletes.
const TRICKY: &str = r#"
CREATE SCHEMA "Sales Ω";
CREATE TABLE "Sales Ω"."Orders" (id int PRIMARY KEY, "Note" text) WITH (autovacuum_enabled = off);
INSERT INTO "Sales Ω"."Orders" SELECT g, md5(g::text) FROM generate_series(1, 30000) g;
CREATE INDEX "Mixed ""q"" Idx" ON "Sales Ω"."Orders" ("Note");
CREATE UNIQUE INDEX "a_very_long_index_name_that_fills_all_sixty_three_bytes_of_name" ON "Sales Ω"."Orders" (id, "Note");
"#;

const DEBLOAT: &str =
    r#"DELETE FROM "Sales Ω"."Orders" WHERE id % 10 <> 0; VACUUM "Sales Ω"."Orders";"#;

/// Names and validity of the tricky table's indexes.
fn tricky_indexes(db: &str) -> String {
    pg().psql(
        db,
        r#"SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE i.indrelid = '"Sales Ω"."Orders"'::regclass ORDER BY 1"#,
    )
}

/// A database with [`TRICKY`]'s indexes: bloated, or freshly built on the
/// rows that the bloated one kept.
fn tricky_db(db: &str, bloated: bool) {
    let pg = pg();
    pg.create_db(db);
    pg.psql(db, TRICKY);
    pg.psql(db, DEBLOAT);
    if !bloated {
        pg.psql(db, r#"REINDEX TABLE "Sales Ω"."Orders";"#);
    }
}

/// `pgindexbloat --reindex-sql` of A against B (every index over 150 %).
fn reindex_script(args: &[&str], a: &str, b: &str) -> String {
    let out = cmd()
        .args(["-c", "0", "-t", "150", "--reindex-sql"])
        .args(args)
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The script for a live PostgreSQL 15 (REINDEX CONCURRENTLY) runs as
/// printed and leaves no bloat, the indexes under their own names.
#[test]
fn reindex_sql_concurrently_removes_the_bloat() {
    let pg = pg();
    tricky_db("rx_prod", true);
    tricky_db("rx_fresh", false);
    let names_before = tricky_indexes("rx_prod");
    let (a, b) = (pg.url("rx_prod"), pg.url("rx_fresh"));
    let script = reindex_script(&[], &a, &b);
    assert!(
        script.contains(r#"REINDEX INDEX CONCURRENTLY "Sales Ω"."Mixed ""q"" Idx";"#),
        "{script}"
    );
    assert!(script.contains("for PostgreSQL 15."), "{script}");
    pg.psql("rx_prod", &script);
    assert_eq!(tricky_indexes("rx_prod"), names_before);
    let after = reindex_script(&[], &a, &b);
    assert!(
        !after.contains("REINDEX"),
        "bloat left after the script:\n{after}"
    );
}

/// The script before 12 (`--server-version 11`, from `dump --extra` CSVs):
/// create, swap, drop, all as printed; the primary key, which backs a
/// constraint, is skipped with a message.
#[test]
fn reindex_sql_create_and_swap_removes_the_bloat() {
    let pg = pg();
    tricky_db("rx_swap", true);
    tricky_db("rx_swap_fresh", false);
    let names_before = tricky_indexes("rx_swap");
    let dir = tempfile::tempdir().unwrap();
    let csv = |db: &str| {
        let path = dir.path().join(format!("{db}.csv"));
        let out = cmd()
            .args(["dump", "--extra", "-f"])
            .arg(&path)
            .arg(pg.url(db))
            .output()
            .unwrap();
        assert_success(&out);
        path.to_str().unwrap().to_string()
    };
    let fresh = csv("rx_swap_fresh");
    let script = reindex_script(&["--server-version", "11"], &csv("rx_swap"), &fresh);
    assert!(script.contains("for PostgreSQL 11.0"), "{script}");
    assert!(
        script.contains(r#"CREATE INDEX CONCURRENTLY "Mixed ""q"" Idx_pgib_new" ON "Sales Ω"."Orders" USING btree ("Note");"#),
        "{script}"
    );
    let long = "a_very_long_index_name_that_fills_all_sixty_three_bytes_of_name";
    assert_eq!(long.len(), 63);
    assert!(
        script.contains(&format!("\"{}_pgib_new\"", &long[..54])),
        "{script}"
    );
    let said = pg.psql("rx_swap", &script);
    assert!(
        said.contains(r#"skipped "Sales Ω"."Orders_pkey": it backs a constraint"#),
        "{said}"
    );
    assert_eq!(
        tricky_indexes("rx_swap"),
        names_before,
        "the same names, all valid"
    );
    let after = reindex_script(&["--server-version", "11"], &csv("rx_swap"), &fresh);
    assert!(
        !after.contains("Mixed") && !after.contains(long) && after.contains("Orders_pkey"),
        "bloat left after the script, or the skipped primary key not reported:\n{after}"
    );
}

/// The README's `psql` one-liner, run as printed (database and file name
/// swapped in), writes byte for byte what `dump --extra` writes, and the
/// tool reads it: both sides the same, nothing is reported.
#[test]
fn the_psql_one_liner_writes_what_dump_writes() {
    let readme = include_str!("../../README.md");
    let line = readme
        .lines()
        .find(|l| l.starts_with("psql -X -q -d app -c 'COPY ("))
        .expect("the one-liner in README.md");
    let pg = pg();
    fixture();
    pg.create_db("rx_oneliner");
    pg.psql("rx_oneliner", TRICKY);
    let dir = tempfile::tempdir().unwrap();
    for db in [PROD, "rx_oneliner"] {
        let by_psql = dir.path().join(format!("{db}.psql.csv"));
        let by_dump = dir.path().join(format!("{db}.dump.csv"));
        let command = line
            .replace("-d app", &format!("-d {db}"))
            .replace("> prod.csv", &format!("> '{}'", by_psql.display()));
        let bin_dir = pg.bin("psql").parent().unwrap().to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Proc::new("sh")
            .arg("-c")
            .arg(&command)
            .env("PATH", path)
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", pg.port().to_string())
            .env("PGUSER", "postgres")
            .output()
            .unwrap();
        assert_success(&out);
        let out = cmd()
            .args(["dump", "--extra", "-f"])
            .arg(&by_dump)
            .arg(pg.url(db))
            .output()
            .unwrap();
        assert_success(&out);
        let (psql, dump) = (
            std::fs::read_to_string(&by_psql).unwrap(),
            std::fs::read_to_string(&by_dump).unwrap(),
        );
        assert_eq!(psql, dump, "{db}");
        let out = cmd()
            .args(["-o", "json", "-c", "0", "-t", "0"])
            .arg(&by_psql)
            .arg(&by_dump)
            .output()
            .unwrap();
        let lines = json_lines(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{lines:?}");
        assert_eq!(lines.len(), 1, "only the total: {lines:?}");
    }
}

/// `dump -f` onto a place that cannot be written: a local file's exit codes
/// (2 for a directory in the way, 3 for a missing directory), one line.
#[test]
fn dump_to_a_file_that_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let url = pg().url("postgres");
    let out = cmd()
        .args(["dump", "-f"])
        .arg(dir.path())
        .arg(&url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("pgindexbloat: error: cannot write ") && err.lines().count() == 1,
        "{err}"
    );
    let missing = dir.path().join("no/such/dir/prod.csv");
    let out = cmd()
        .args(["dump", "-f"])
        .arg(&missing)
        .arg(&url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
}
