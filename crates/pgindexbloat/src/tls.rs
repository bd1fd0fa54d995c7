//! TLS to PostgreSQL as libpq does it, on rustls (no OpenSSL: static builds
//! stay possible) with the aws-lc-rs provider.
//!
//! libpq's `sslmode` values and what each one verifies:
//!
//! | sslmode | encryption | server certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `allow` | only when the server insists (a plain try is refused) | as `require` |
//! | `prefer` (default) | when the server offers it; a failed handshake falls back to plain | as `require` |
//! | `require` | always | not verified, unless a root certificate file exists: then the chain is verified (as `verify-ca`) |
//! | `verify-ca` | always | chain to a root of `sslrootcert`; the host name is not checked |
//! | `verify-full` | always | chain, and the host name (or IP address) against the certificate's names |
//!
//! `sslrootcert` is a PEM file (default `~/.postgresql/root.crt`) or
//! `system`: the system's trusted roots, which libpq allows with
//! `verify-full` only (and makes the default mode). A client certificate is
//! sent when `sslcert` (default `~/.postgresql/postgresql.crt`) exists; its
//! key `sslkey` (default `~/.postgresql/postgresql.key`) must then exist and
//! be readable by its owner only. Unix sockets never use TLS.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use mc_aws_common::exit;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{aws_lc_rs, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(format!(
                    "invalid sslmode value: \"{s}\" (disable, allow, prefer, require, verify-ca or verify-full)"
                ))
            }
        })
    }
}

impl SslMode {
    fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// Where the server's certificate must chain to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file of root certificates.
    File(PathBuf),
    /// The system's trusted roots (`sslrootcert=system`).
    System,
}

/// The TLS parameters of a connection (`sslmode`, `sslrootcert`,
/// `sslcert`, `sslkey`), with libpq's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: RootCert,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A TLS setting that cannot be used: the message and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    pub message: String,
    pub code: i32,
}

impl TlsError {
    fn usage(message: String) -> Self {
        TlsError {
            message,
            code: exit::USAGE,
        }
    }

    fn file(what: &str, path: &Path, e: &std::io::Error) -> Self {
        TlsError {
            message: format!("cannot read {what} \"{}\": {e}", path.display()),
            code: exit::of_local_file(e),
        }
    }
}

/// `~/.postgresql/NAME`, libpq's default place for TLS files.
fn default_file(name: &str) -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".postgresql").join(name)
}

impl TlsSettings {
    /// The settings from the given values (connection string first, then
    /// `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`), with libpq's
    /// defaults and its rule for `sslrootcert=system`.
    pub fn new(
        mode: Option<&str>,
        root_cert: Option<&str>,
        cert: Option<&str>,
        key: Option<&str>,
    ) -> Result<Self, TlsError> {
        let root_cert = match root_cert {
            Some("system") => RootCert::System,
            Some(path) => RootCert::File(PathBuf::from(path)),
            None => RootCert::File(default_file("root.crt")),
        };
        let mode = match (mode, &root_cert) {
            (Some(m), _) => m.parse().map_err(TlsError::usage)?,
            (None, RootCert::System) => SslMode::VerifyFull,
            (None, RootCert::File(_)) => SslMode::Prefer,
        };
        if root_cert == RootCert::System && mode != SslMode::VerifyFull && mode != SslMode::Disable
        {
            return Err(TlsError::usage(format!(
                "weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
                mode_name(mode)
            )));
        }
        Ok(TlsSettings {
            mode,
            root_cert,
            cert: cert.map_or_else(|| default_file("postgresql.crt"), PathBuf::from),
            key: key.map_or_else(|| default_file("postgresql.key"), PathBuf::from),
        })
    }

    /// The connector for these settings: roots and client certificate
    /// loaded, the server's certificate checked as the mode says.
    pub fn connector(&self) -> Result<MakeRustlsConnect, TlsError> {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let verifier = Arc::new(LibpqVerifier {
            roots: self.roots()?.map(Arc::new),
            check_name: self.mode == SslMode::VerifyFull,
            provider: provider.clone(),
        });
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::usage(format!("TLS setup failed: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match self.client_certificate()? {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsError::usage(format!("unusable client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        Ok(MakeRustlsConnect::new(config))
    }

    /// The roots to verify the server's chain against, or `None` for no
    /// verification (`require` and weaker without a root certificate file).
    fn roots(&self) -> Result<Option<RootCertStore>, TlsError> {
        if self.mode == SslMode::Disable {
            return Ok(None);
        }
        let path = match &self.root_cert {
            RootCert::System => return system_roots().map(Some),
            RootCert::File(path) => path,
        };
        match std::fs::metadata(path) {
            Ok(_) => file_roots(path).map(Some),
            Err(e) if self.mode.verifies() && e.kind() == std::io::ErrorKind::NotFound => {
                Err(TlsError {
                    message: format!(
                        "root certificate file \"{}\" does not exist; provide it (sslrootcert), use the system's roots with sslrootcert=system, or choose an sslmode that does not verify the server",
                        path.display()
                    ),
                    code: exit::NOT_FOUND,
                })
            }
            Err(e) if self.mode.verifies() => Err(TlsError::file("root certificate file", path, &e)),
            // libpq: without the file, require and weaker do not verify.
            Err(_) => Ok(None),
        }
    }

    /// The client certificate chain and key, when the certificate file exists.
    fn client_certificate(
        &self,
    ) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, TlsError> {
        if self.mode == SslMode::Disable {
            return Ok(None);
        }
        match std::fs::metadata(&self.cert) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TlsError::file("certificate file", &self.cert, &e)),
        }
        let chain = read_certificates(&self.cert, "certificate file")?;
        check_key_permissions(&self.key)?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| pem_error("private key file", &self.key, e, "an unencrypted PEM key"))?;
        Ok(Some((chain, key)))
    }
}

/// libpq's name of a mode.
pub fn mode_name(mode: SslMode) -> &'static str {
    match mode {
        SslMode::Disable => "disable",
        SslMode::Allow => "allow",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

fn pem_error(what: &str, path: &Path, e: rustls::pki_types::pem::Error, wanted: &str) -> TlsError {
    match e {
        rustls::pki_types::pem::Error::Io(io) => TlsError::file(what, path, &io),
        other => TlsError::usage(format!(
            "{what} \"{}\" is not {wanted}: {other}",
            path.display()
        )),
    }
}

fn read_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let wanted = "a PEM certificate file";
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(what, path, e, wanted))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(what, path, e, wanted))?;
    if certs.is_empty() {
        return Err(TlsError::usage(format!(
            "{what} \"{}\" holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

fn file_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    let (_, unusable) =
        roots.add_parsable_certificates(read_certificates(path, "root certificate file")?);
    if roots.is_empty() {
        return Err(TlsError::usage(format!(
            "root certificate file \"{}\" holds no usable certificate ({unusable} unusable)",
            path.display()
        )));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found.errors.first().map(ToString::to_string);
        return Err(TlsError {
            message: format!(
                "sslrootcert=system: no trusted root certificates found on this system{}",
                why.map(|w| format!(" ({w})")).unwrap_or_default()
            ),
            code: exit::NOT_FOUND,
        });
    }
    Ok(roots)
}

/// libpq refuses a key that others may read: owner-only (0600 or less),
/// or, for a file owned by root, readable by its group (0640 or less).
fn check_key_permissions(path: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => TlsError {
            message: format!(
                "certificate present, but not private key file \"{}\"",
                path.display()
            ),
            code: exit::NOT_FOUND,
        },
        _ => TlsError::file("private key file", path, &e),
    })?;
    let allowed = if meta.uid() == 0 { 0o640 } else { 0o600 };
    if meta.mode() & 0o777 & !allowed != 0 {
        return Err(TlsError::usage(format!(
            "private key file \"{}\" has group or world access; it must be u=rw (0600) or less, or u=rw,g=r (0640) or less when owned by root",
            path.display()
        )));
    }
    Ok(())
}

/// The server's certificate as libpq checks it: nothing (`roots` is
/// `None`), the chain (verify-ca, or require with a root file), or the
/// chain and the host name (verify-full). Handshake signatures are always
/// verified.
#[derive(Debug)]
struct LibpqVerifier {
    roots: Option<Arc<RootCertStore>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            let algorithms = self.provider.signature_verification_algorithms.all;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                algorithms,
            )?;
            if self.check_name {
                verify_server_name(&cert, server_name)?;
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Whether a connection error is a failed TLS handshake (prefer then
/// retries without TLS, as libpq does): a rustls error in its causes.
pub fn is_handshake_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mode: Option<&str>, root: Option<&str>) -> Result<TlsSettings, TlsError> {
        TlsSettings::new(
            mode,
            root,
            Some("/nonexistent/c.crt"),
            Some("/nonexistent/c.key"),
        )
    }

    #[test]
    fn modes_are_libpqs() {
        for m in [
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ] {
            let parsed: SslMode = m.parse().unwrap();
            assert_eq!(mode_name(parsed), m);
        }
        assert!("verify_full".parse::<SslMode>().is_err());
        assert_eq!(
            settings(None, Some("/x.crt")).unwrap().mode,
            SslMode::Prefer
        );
    }

    #[test]
    fn system_roots_need_verify_full() {
        let s = settings(None, Some("system")).unwrap();
        assert_eq!(
            (s.mode, s.root_cert),
            (SslMode::VerifyFull, RootCert::System)
        );
        let e = settings(Some("require"), Some("system")).unwrap_err();
        assert_eq!(
            e.message,
            "weak sslmode \"require\" may not be used with sslrootcert=system (use \"verify-full\")"
        );
        assert_eq!(e.code, 2);
    }

    #[test]
    fn a_missing_root_file_matters_only_when_verifying() {
        let missing = Some("/nonexistent/root.crt");
        for mode in ["require", "prefer", "allow"] {
            let s = settings(Some(mode), missing).unwrap();
            assert!(s.roots().unwrap().is_none(), "{mode}");
        }
        for mode in ["verify-ca", "verify-full"] {
            let e = settings(Some(mode), missing).unwrap_err_or_connector();
            assert!(
                e.message
                    .starts_with("root certificate file \"/nonexistent/root.crt\" does not exist;"),
                "{e:?}"
            );
            assert_eq!(e.code, 3);
        }
    }

    trait ConnectorError {
        fn unwrap_err_or_connector(self) -> TlsError;
    }

    impl ConnectorError for Result<TlsSettings, TlsError> {
        fn unwrap_err_or_connector(self) -> TlsError {
            match self {
                Ok(s) => s.connector().err().unwrap(),
                Err(e) => e,
            }
        }
    }

    #[test]
    fn loose_key_permissions_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.key");
        std::fs::write(&key, "x").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = check_key_permissions(&key).unwrap_err();
        assert!(e.message.contains("has group or world access"), "{e:?}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(check_key_permissions(&key), Ok(()));
        let e = check_key_permissions(&dir.path().join("none.key")).unwrap_err();
        assert_eq!(e.code, 3);
    }
}
