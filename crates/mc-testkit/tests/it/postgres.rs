//! Throwaway PostgreSQL clusters.

use mc_testkit::{postgres, start_private};

#[test]
fn create_db_table_and_query_through_psql() {
    let pg = postgres();
    assert!(pg.url("kit").starts_with("postgres://postgres@127.0.0.1:"));
    pg.create_db("kit_basic");
    let out = pg.psql(
        "kit_basic",
        "CREATE TABLE t (id int primary key, name text);
         INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 100) g;
         SELECT count(*), max(name) FROM t;",
    );
    assert_eq!(out.trim(), "100|n99");
    // Per-table autovacuum is the tests' to set.
    pg.psql("kit_basic", "ALTER TABLE t SET (autovacuum_enabled = off);");
    let fsync = pg.psql("kit_basic", "SHOW fsync;");
    assert_eq!(fsync.trim(), "off");
    let listen = pg.psql("kit_basic", "SHOW listen_addresses;");
    assert_eq!(listen.trim(), "127.0.0.1");
    assert!(pg.bin("pg_dump").is_file());
    assert!(pg.bin("psql").is_file());
}

#[test]
#[should_panic(expected = "psql -d kit_err failed")]
fn psql_errors_panic_with_stderr() {
    let pg = postgres();
    pg.create_db("kit_err");
    pg.psql("kit_err", "SELECT * FROM no_such_table;");
}

#[test]
fn private_cluster_stops() {
    let pg = start_private();
    assert_ne!(pg.port(), postgres().port());
    assert_eq!(pg.psql("postgres", "SELECT 40 + 2").trim(), "42");
    let dir = pg.dir().to_path_buf();
    assert!(dir.join("data/PG_VERSION").is_file());
    pg.stop();
    assert!(!pg.is_running());
    assert!(std::net::TcpStream::connect(("127.0.0.1", pg.port())).is_err());
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pg.psql("postgres", "SELECT 1")
    }));
    assert!(failed.is_err(), "psql against a stopped cluster must fail");
    drop(pg);
    assert!(!dir.exists(), "cluster dir is removed on drop");
}
