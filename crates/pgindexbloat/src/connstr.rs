//! Connection settings as libpq reads them: a `postgres://` URL or a
//! `key=value` conninfo string, completed with the libpq environment
//! variables and `~/.pgpass`. The TLS parameters (`sslmode`, `sslrootcert`,
//! `sslcert`, `sslkey`, and `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`,
//! `PGSSLKEY`) are taken out here, since the postgres crate knows only part
//! of them: [`crate::tls`] applies them.

use std::path::PathBuf;
use std::time::Duration;

use mc_aws_common::exit;
use mc_aws_common::output::error_line;
use postgres::config::Host;
use postgres::Config;

use crate::error::{Error, Result};
use crate::tls::TlsSettings;

/// The TLS parameters of a connection string, and their variables.
const TLS_PARAMETERS: [(&str, &str); 4] = [
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
];

/// Everything needed to connect.
#[derive(Debug)]
pub struct Settings {
    /// Host, port, user, database, password, timeouts (TLS mode not set).
    pub config: Config,
    pub tls: TlsSettings,
    /// The connection as messages name it (password hidden).
    pub target: String,
}

/// Who a connection string names in messages: the string with its
/// password hidden, or the environment.
pub fn target(conninfo: Option<&str>) -> String {
    conninfo.map_or_else(|| "the PG* environment".to_string(), redact)
}

/// The settings of `conninfo` (a URL, a conninfo string, or nothing: the
/// environment alone).
pub fn settings(conninfo: Option<&str>) -> Result<Settings> {
    let target = target(conninfo);
    let usage = |message: String| Error::Connect {
        target: target.clone(),
        message,
        code: exit::USAGE,
    };
    let (rest, tls_values) = match conninfo.filter(|c| !c.trim().is_empty()) {
        Some(c) => split_tls_parameters(c),
        None => (String::new(), Vec::new()),
    };
    let mut config = if rest.trim().is_empty() {
        Config::new()
    } else {
        rest.parse::<Config>().map_err(|e| usage(error_line(&e)))?
    };
    fill_from_environment(&mut config).map_err(usage)?;
    let value = |key: &str, var: &str| {
        tls_values
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .or_else(|| env(var))
    };
    let [mode, root, cert, key] = TLS_PARAMETERS.map(|(k, var)| value(k, var));
    let tls = TlsSettings::new(
        mode.as_deref(),
        root.as_deref(),
        cert.as_deref(),
        key.as_deref(),
    )
    .map_err(|e| Error::Connect {
        target: target.clone(),
        message: e.message,
        code: e.code,
    })?;
    Ok(Settings {
        config,
        tls,
        target,
    })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The connection string without its TLS parameters, and those parameters.
fn split_tls_parameters(conninfo: &str) -> (String, Vec<(String, String)>) {
    let is_tls = |key: &str| TLS_PARAMETERS.iter().any(|(k, _)| *k == key);
    if conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://") {
        let Some((base, query)) = conninfo.split_once('?') else {
            return (conninfo.to_string(), Vec::new());
        };
        let (mut kept, mut tls) = (Vec::new(), Vec::new());
        for param in query.split('&') {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            match percent_decode(k) {
                key if is_tls(&key) => tls.push((key, percent_decode(v))),
                _ => kept.push(param),
            }
        }
        let rest = match kept.is_empty() {
            true => base.to_string(),
            false => format!("{base}?{}", kept.join("&")),
        };
        return (rest, tls);
    }
    // A string that does not tokenise is left whole for the postgres
    // crate's parser, which says what is wrong with it.
    let Some(pairs) = conninfo_pairs(conninfo) else {
        return (conninfo.to_string(), Vec::new());
    };
    if !pairs.iter().any(|(k, _)| is_tls(k)) {
        return (conninfo.to_string(), Vec::new());
    }
    let (tls, kept): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(k, _)| is_tls(k));
    let rest = kept
        .iter()
        .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect::<Vec<_>>()
        .join(" ");
    (rest, tls)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The `key=value` pairs of a conninfo string, read as libpq reads them
/// (values in single quotes or bare, `\` escapes); `None` when it is not
/// well formed.
fn conninfo_pairs(s: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = s.chars().peekable();
    let skip_spaces = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_spaces(&mut chars);
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            return chars.peek().is_none().then_some(pairs);
        }
        skip_spaces(&mut chars);
        chars.next_if_eq(&'=')?;
        skip_spaces(&mut chars);
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next()? {
                    '\'' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                match c {
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        }
        pairs.push((key, value));
    }
}

/// What the connection string left out, from `PGHOST`, `PGPORT`, `PGUSER`,
/// `PGPASSWORD`, `PGDATABASE`, `PGAPPNAME`, `PGCONNECT_TIMEOUT` and
/// `PGPASSFILE`/`~/.pgpass`, or libpq's defaults.
fn fill_from_environment(cfg: &mut Config) -> std::result::Result<(), String> {
    if cfg.get_ports().is_empty() {
        if let Some(p) = env("PGPORT") {
            cfg.port(
                p.parse::<u16>()
                    .map_err(|_| format!("invalid PGPORT {p:?}"))?,
            );
        }
    }
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    if cfg.get_hosts().is_empty() {
        fill_hosts(cfg, port);
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
        if let Some(pw) = env("PGPASSWORD").or_else(|| pgpass(cfg, port)) {
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
    Ok(())
}

/// `PGHOST`, or libpq's default: the Unix socket where one exists, else localhost.
fn fill_hosts(cfg: &mut Config, port: u16) {
    if let Some(hosts) = env("PGHOST") {
        for h in hosts.split(',') {
            if h.starts_with('/') {
                cfg.host_path(h);
            } else {
                cfg.host(h);
            }
        }
        return;
    }
    match ["/var/run/postgresql", "/tmp"]
        .into_iter()
        .find(|d| PathBuf::from(format!("{d}/.s.PGSQL.{port}")).exists())
    {
        Some(dir) => cfg.host_path(dir),
        None => cfg.host("localhost"),
    };
}

/// Whether every host is a Unix socket (libpq never uses TLS on those).
pub fn unix_sockets_only(cfg: &Config) -> bool {
    let hosts = cfg.get_hosts();
    cfg.get_hostaddrs().is_empty()
        && !hosts.is_empty()
        && hosts.iter().all(|h| !matches!(h, Host::Tcp(_)))
}

/// A password from `PGPASSFILE` or `~/.pgpass` (`host:port:db:user:password`, `*` wildcards).
fn pgpass(cfg: &Config, port: u16) -> Option<String> {
    let path = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let host = match cfg.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::{RootCert, SslMode};

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
        let e = settings(Some("postgres://h:notaport/db")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().starts_with(
                "cannot connect to postgres://h:notaport/db: invalid connection string"
            ),
            "{e}"
        );
        let e = settings(Some("host=h sslmode=verify_full")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("invalid sslmode value"), "{e}");
    }

    #[test]
    fn tls_parameters_come_out_of_urls_and_conninfo() {
        let (rest, tls) = split_tls_parameters(
            "postgres://u@h/db?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca%20b.pem",
        );
        assert_eq!(rest, "postgres://u@h/db?application_name=x");
        assert_eq!(
            tls,
            [
                ("sslmode".into(), "verify-full".into()),
                ("sslrootcert".into(), "/tmp/ca b.pem".into())
            ]
        );
        let (rest, tls) = split_tls_parameters(
            r"host=h sslmode = 'verify-ca' password='it\'s' sslcert='/a b/c\'.crt' dbname=x",
        );
        assert_eq!(rest, r"host='h' password='it\'s' dbname='x'");
        assert_eq!(tls[1], ("sslcert".into(), "/a b/c'.crt".into()));
        let unchanged = "host=h dbname=x";
        assert_eq!(split_tls_parameters(unchanged).0, unchanged);
    }

    #[test]
    fn settings_carry_tls() {
        let s = settings(Some(
            "host=db.example.com sslmode=verify-full sslrootcert=/ca.pem sslcert=/c.crt sslkey=/c.key dbname=x",
        ))
        .unwrap();
        assert_eq!(s.tls.mode, SslMode::VerifyFull);
        assert_eq!(s.tls.root_cert, RootCert::File("/ca.pem".into()));
        assert_eq!(s.tls.key, PathBuf::from("/c.key"));
        assert_eq!(s.config.get_dbname(), Some("x"));
        let s = settings(Some("postgres://u@h/db?sslrootcert=system")).unwrap();
        assert_eq!(
            (s.tls.mode, s.tls.root_cert),
            (SslMode::VerifyFull, RootCert::System)
        );
    }
}
