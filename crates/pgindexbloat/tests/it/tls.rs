//! TLS against a real PostgreSQL started with `ssl=on`, a CA and a server
//! certificate for `localhost` made here (rcgen), and a `pg_hba.conf` that
//! accepts only `hostssl`: libpq's sslmode values, root certificates (a
//! file, the default `~/.postgresql/root.crt`, `system`), client
//! certificates, the `PGSSL*` variables and URI parameters.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use mc_testkit::{PgCluster, ServerTls};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// The certificates, in a directory that outlives the tests' processes.
struct Pki {
    dir: tempfile::TempDir,
    /// The CA that signed the server's and the client's certificates.
    ca: PathBuf,
    /// A CA that signed nothing here.
    other_ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

struct Server {
    cluster: PgCluster,
    pki: Pki,
}

/// A CA: its PEM and what signs with it.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

/// A leaf certificate signed by `issuer`: PEM and key PEM.
fn leaf(issuer: &Issuer<'_, KeyPair>, common_name: &str, names: &[&str]) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (ca_pem, issuer) = ca("pgindexbloat test CA");
        let (other_pem, _) = ca("another CA");
        // The server's name is localhost only: 127.0.0.1 does not match it.
        let (server_pem, server_key) = leaf(&issuer, "localhost", &["localhost"]);
        let (client_pem, client_key) = leaf(&issuer, "bloat_cert", &[]);
        let cluster = mc_testkit::start_tls(&ServerTls {
            cert_pem: server_pem,
            key_pem: server_key,
            client_ca_pem: Some(ca_pem.clone()),
            hba: "local all all trust\n\
                  hostssl all bloat_cert 127.0.0.1/32 cert\n\
                  hostssl all all 127.0.0.1/32 trust\n"
                .into(),
        });
        cluster.psql(
            "postgres",
            "DROP ROLE IF EXISTS bloat_cert; CREATE ROLE bloat_cert LOGIN;",
        );
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            write_private(&path, text);
            path
        };
        let pki = Pki {
            ca: file("ca.pem", &ca_pem),
            other_ca: file("other-ca.pem", &other_pem),
            client_cert: file("client.crt", &client_pem),
            client_key: file("client.key", &client_key),
            dir,
        };
        Server { cluster, pki }
    })
}

/// The binary with no PG* variables and an empty HOME (no
/// `~/.postgresql/` files unless a test puts them there).
fn cmd(home: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(mc_testkit::cli::bin("pgindexbloat"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") || k.starts_with("SSL_CERT") || k == "MC_OUTPUT" || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c.env("HOME", home);
    c
}

/// `host=HOST port=P dbname=postgres user=postgres EXTRA`.
fn conninfo(host: &str, extra: &str) -> String {
    let s = server();
    let address = if host == "localhost" {
        " hostaddr=127.0.0.1"
    } else {
        ""
    };
    format!(
        "host={host}{address} port={} dbname=postgres user=postgres {extra}",
        s.cluster.port()
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `pgindexbloat dump CONN` with an empty HOME.
fn dump(conn: &str) -> Output {
    let home = tempfile::tempdir().unwrap();
    cmd(home.path()).arg("dump").arg(conn).output().unwrap()
}

fn stderr(out: &Output) -> String {
    mc_testkit::cli::stderr(out)
}

#[track_caller]
fn assert_connects(out: &Output, what: &str) {
    assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(out));
    assert!(
        mc_testkit::cli::stdout(out).starts_with("relation,size\n"),
        "{what}"
    );
}

/// A refused connection: one line naming the target, and the exit code.
#[track_caller]
fn assert_refused(out: &Output, code: i32, why: &str, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    assert!(
        err.starts_with("pgindexbloat: error: cannot connect to ") && err.contains(why),
        "{what}: {err}"
    );
}

#[test]
fn require_and_verify_full_work_and_disable_is_refused() {
    let pki = &server().pki;
    assert_connects(&dump(&conninfo("localhost", "sslmode=require")), "require");
    let full = format!("sslmode=verify-full sslrootcert={}", path(&pki.ca));
    assert_connects(&dump(&conninfo("localhost", &full)), "verify-full");
    let out = dump(&conninfo("localhost", "sslmode=disable"));
    assert_eq!(
        stderr(&out),
        format!(
            "pgindexbloat: error: cannot connect to {}: db error: FATAL: no pg_hba.conf entry for host \"127.0.0.1\", user \"postgres\", database \"postgres\", no encryption\n",
            conninfo("localhost", "sslmode=disable")
        )
    );
    assert_eq!(out.status.code(), Some(4));
    // prefer (the default) and allow end up on TLS too.
    assert_connects(&dump(&conninfo("localhost", "")), "default (prefer)");
    assert_connects(&dump(&conninfo("localhost", "sslmode=allow")), "allow");
}

#[test]
fn a_wrong_ca_fails_verification() {
    let pki = &server().pki;
    let wrong = format!("sslrootcert={}", path(&pki.other_ca));
    for mode in ["verify-full", "verify-ca", "require"] {
        let out = dump(&conninfo("localhost", &format!("sslmode={mode} {wrong}")));
        assert_refused(&out, 6, "invalid peer certificate: UnknownIssuer", mode);
    }
    // prefer verifies too when given a root file; a failed handshake falls
    // back to a plain connection, which this server refuses: both are told.
    let out = dump(&conninfo("localhost", &format!("sslmode=prefer {wrong}")));
    assert_refused(
        &out,
        4,
        "UnknownIssuer; without TLS: db error: FATAL: no pg_hba.conf entry",
        "prefer",
    );
    // A root file that does not exist: verify-* refuses to start, require
    // does not verify (libpq's rule).
    let missing = "sslrootcert=/nonexistent/root.crt";
    let out = dump(&conninfo(
        "localhost",
        &format!("sslmode=verify-full {missing}"),
    ));
    assert_refused(
        &out,
        3,
        "root certificate file \"/nonexistent/root.crt\" does not exist",
        "missing",
    );
    assert_connects(
        &dump(&conninfo(
            "localhost",
            &format!("sslmode=require {missing}"),
        )),
        "require, no root file",
    );
}

/// verify-ca checks the chain only: a certificate for localhost, reached as
/// 127.0.0.1, passes verify-ca (and require with a root file) but fails
/// verify-full.
#[test]
fn verify_ca_skips_the_host_name_and_verify_full_does_not() {
    let pki = &server().pki;
    let root = format!("sslrootcert={}", path(&pki.ca));
    for mode in ["verify-ca", "require"] {
        let out = dump(&conninfo("127.0.0.1", &format!("sslmode={mode} {root}")));
        assert_connects(&out, mode);
    }
    let out = dump(&conninfo(
        "127.0.0.1",
        &format!("sslmode=verify-full {root}"),
    ));
    assert_refused(
        &out,
        6,
        "certificate not valid for name \"127.0.0.1\"",
        "verify-full",
    );
}

#[test]
fn the_default_root_file_makes_require_verify() {
    let pki = &server().pki;
    let home = tempfile::tempdir().unwrap();
    let dot = home.path().join(".postgresql");
    std::fs::create_dir(&dot).unwrap();
    std::fs::copy(&pki.other_ca, dot.join("root.crt")).unwrap();
    let out = cmd(home.path())
        .arg("dump")
        .arg(conninfo("localhost", "sslmode=require"))
        .output()
        .unwrap();
    assert_refused(
        &out,
        6,
        "UnknownIssuer",
        "require with ~/.postgresql/root.crt",
    );
    std::fs::copy(&pki.ca, dot.join("root.crt")).unwrap();
    let out = cmd(home.path())
        .arg("dump")
        .arg(conninfo("localhost", "sslmode=verify-full"))
        .output()
        .unwrap();
    assert_connects(&out, "verify-full with ~/.postgresql/root.crt");
}

#[test]
fn environment_variables_and_uri_parameters() {
    let pki = &server().pki;
    let home = tempfile::tempdir().unwrap();
    let run = |root: &Path| {
        cmd(home.path())
            .arg("dump")
            .arg(conninfo("localhost", ""))
            .env("PGSSLMODE", "verify-full")
            .env("PGSSLROOTCERT", root)
            .output()
            .unwrap()
    };
    assert_connects(&run(&pki.ca), "PGSSLMODE, PGSSLROOTCERT");
    assert_refused(
        &run(&pki.other_ca),
        6,
        "UnknownIssuer",
        "PGSSLROOTCERT wrong",
    );
    // The connection string wins over the variables.
    let out = cmd(home.path())
        .arg("dump")
        .arg(conninfo("localhost", "sslmode=require"))
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", "/nonexistent/root.crt")
        .output()
        .unwrap();
    assert_connects(&out, "sslmode in the string over PGSSLMODE");
    let url = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        server().cluster.port(),
        path(&pki.ca).replace('/', "%2F")
    );
    assert_connects(&dump(&url), "URI parameters");
    let out = dump(&url.replace(
        path(&pki.ca).replace('/', "%2F").as_str(),
        path(&pki.other_ca),
    ));
    assert_refused(&out, 6, "UnknownIssuer", "URI, wrong CA");
}

#[test]
fn client_certificates() {
    let pki = &server().pki;
    let full = format!("sslmode=verify-full sslrootcert={}", path(&pki.ca));
    let as_cert_user = |extra: &str| {
        conninfo("localhost", &format!("{full} {extra}"))
            .replace("user=postgres", "user=bloat_cert")
    };
    let with_cert = format!(
        "sslcert={} sslkey={}",
        path(&pki.client_cert),
        path(&pki.client_key)
    );
    assert_connects(&dump(&as_cert_user(&with_cert)), "sslcert, sslkey");
    let out = dump(&as_cert_user(""));
    assert_refused(
        &out,
        4,
        "connection requires a valid client certificate",
        "no certificate",
    );
    // The default files in ~/.postgresql, and the variables.
    let home = tempfile::tempdir().unwrap();
    let dot = home.path().join(".postgresql");
    std::fs::create_dir(&dot).unwrap();
    std::fs::copy(&pki.client_cert, dot.join("postgresql.crt")).unwrap();
    std::fs::copy(&pki.client_key, dot.join("postgresql.key")).unwrap();
    let run =
        |cmd: &mut std::process::Command| cmd.arg("dump").arg(as_cert_user("")).output().unwrap();
    assert_connects(&run(&mut cmd(home.path())), "~/.postgresql/postgresql.crt");
    let empty = tempfile::tempdir().unwrap();
    let out = run(cmd(empty.path())
        .env("PGSSLCERT", &pki.client_cert)
        .env("PGSSLKEY", &pki.client_key));
    assert_connects(&out, "PGSSLCERT, PGSSLKEY");
    // A key others can read is refused before connecting, like libpq does.
    use std::os::unix::fs::PermissionsExt;
    let loose = pki.dir.path().join("loose.key");
    std::fs::copy(&pki.client_key, &loose).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = dump(&as_cert_user(&format!(
        "sslcert={} sslkey={}",
        path(&pki.client_cert),
        path(&loose)
    )));
    assert_refused(&out, 2, "has group or world access", "loose key");
}

/// `sslrootcert=system`: the system's roots (here SSL_CERT_FILE, which
/// the system store honours, names the test CA), verify-full only.
#[test]
fn system_roots() {
    let pki = &server().pki;
    let home = tempfile::tempdir().unwrap();
    let run = |roots: &Path, extra: &str| {
        cmd(home.path())
            .arg("dump")
            .arg(conninfo(
                "localhost",
                &format!("sslrootcert=system {extra}"),
            ))
            .env("SSL_CERT_FILE", roots)
            .output()
            .unwrap()
    };
    assert_connects(&run(&pki.ca, ""), "system roots hold the CA");
    assert_refused(
        &run(&pki.other_ca, ""),
        6,
        "UnknownIssuer",
        "system roots without it",
    );
    let out = run(&pki.ca, "sslmode=require");
    assert_refused(
        &out,
        2,
        "weak sslmode \"require\" may not be used with sslrootcert=system (use \"verify-full\")",
        "system with require",
    );
}

/// The whole tool over TLS: both sides live, verified.
#[test]
fn a_comparison_over_verified_tls() {
    let pki = &server().pki;
    let conn = conninfo(
        "localhost",
        &format!("sslmode=verify-full sslrootcert={}", path(&pki.ca)),
    );
    let home = tempfile::tempdir().unwrap();
    let out = cmd(home.path())
        .args(["-ps", "-c", "0"])
        .arg(&conn)
        .arg(&conn)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mc_testkit::cli::stdout(&out), "Total index bloat: 0.00b\n");
}
