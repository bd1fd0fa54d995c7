//! Live databases: connecting (TLS as libpq does it, see [`crate::tls`]),
//! the server's version, and PostgreSQL errors as exit codes.

use mc_aws_common::exit;
use mc_aws_common::output::error_line;
use postgres::config::SslMode as WireMode;
use postgres::error::SqlState;
use postgres::Client;

use crate::connstr::{self, Settings};
use crate::error::{Error, Result};
use crate::tls::{self, SslMode};

/// A connected database.
pub struct Database {
    pub client: Client,
    /// The connection as messages name it (password hidden).
    pub target: String,
    /// `server_version_num`: 150004 for 15.4, 90624 for 9.6.24.
    pub version: u32,
}

/// The oldest server the catalog queries are written for.
pub const OLDEST_VERSION: u32 = 90600;

/// Connects to `conninfo` (a URL, a conninfo string, or the PG* environment
/// alone) and reads the server's version.
pub fn connect(conninfo: Option<&str>) -> Result<Database> {
    let settings = connstr::settings(conninfo)?;
    tracing::debug!(
        "connecting to {} (sslmode {})",
        settings.target,
        tls::mode_name(settings.tls.mode)
    );
    let mut client = open(&settings)?;
    let target = settings.target;
    let version = server_version(&mut client, &target)?;
    if version < OLDEST_VERSION {
        tracing::warn!("{target}: PostgreSQL {version} is older than 9.6, the oldest supported");
    }
    Ok(Database {
        client,
        target,
        version,
    })
}

/// One connection under libpq's sslmode rules: `allow` tries without TLS
/// first and again with it when the server refuses; `prefer` tries TLS and
/// again without when the handshake fails; Unix sockets never use TLS.
fn open(settings: &Settings) -> Result<Client> {
    let connector = settings.tls.connector().map_err(|e| Error::Connect {
        target: settings.target.clone(),
        message: e.message,
        code: e.code,
    })?;
    let attempt = |mode: WireMode| {
        let mut config = settings.config.clone();
        config.ssl_mode(mode);
        config.connect(connector.clone())
    };
    // The error of the last try; the first one's too when it was retried.
    let failed = |e: &postgres::Error, first: Option<(&postgres::Error, &str)>| {
        let message = match first {
            Some((first, how)) => format!("{}; {how}: {}", error_line(first), error_line(e)),
            None => error_line(e),
        };
        Error::Connect {
            target: settings.target.clone(),
            message,
            code: classify(e),
        }
    };
    let once = |mode| attempt(mode).map_err(|e| failed(&e, None));
    match settings.tls.mode {
        _ if connstr::unix_sockets_only(&settings.config) => once(WireMode::Disable),
        SslMode::Disable => once(WireMode::Disable),
        SslMode::Allow => match attempt(WireMode::Disable) {
            Err(plain) if plain.as_db_error().is_some() => {
                attempt(WireMode::Require).map_err(|e| failed(&e, Some((&plain, "with TLS"))))
            }
            other => other.map_err(|e| failed(&e, None)),
        },
        SslMode::Prefer => match attempt(WireMode::Prefer) {
            Err(e) if tls::is_handshake_failure(&e) => attempt(WireMode::Disable)
                .map_err(|plain| failed(&plain, Some((&e, "without TLS")))),
            other => other.map_err(|e| failed(&e, None)),
        },
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => once(WireMode::Require),
    }
}

fn server_version(client: &mut Client, target: &str) -> Result<u32> {
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .map_err(|e| query_error(target, &e))?;
    let version: i32 = row.try_get(0).map_err(|e| query_error(target, &e))?;
    Ok(u32::try_from(version).unwrap_or(0))
}

/// Exit code for a PostgreSQL error, by SQLSTATE: authentication or
/// privilege 4, no such database or object 3, otherwise 6.
fn classify(e: &postgres::Error) -> i32 {
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

/// A failed query on `target` as an [`Error`], its exit code by SQLSTATE.
pub(crate) fn query_error(target: &str, e: &postgres::Error) -> Error {
    Error::Query {
        target: target.to_string(),
        message: error_line(e),
        code: classify(e),
    }
}
