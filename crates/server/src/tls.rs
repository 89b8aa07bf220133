//! TLS for `serve --tls-cert --tls-key`: the certificate and key loaded
//! into a rustls configuration (TLS 1.2 and 1.3, ALPN `h2` then
//! `http/1.1`), swapped whole on a reload (SIGHUP) so that new handshakes
//! get the new pair while open connections keep theirs; a pair that does
//! not load is refused and the one in use stays.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// ALPN protocols offered, in order of preference.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Why a certificate and key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no PEM of the kind needed.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// rustls refused the pair (a key that does not match the certificate).
    #[error("the certificate and key cannot be used together: {0}")]
    Pair(String),
}

/// What diag and the metrics show of the certificate in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The leaf certificate's subject.
    pub subject: String,
    /// When it expires, Unix seconds.
    pub not_after: i64,
}

/// The certificate in use and where it came from.
#[derive(Debug)]
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<(Arc<ServerConfig>, CertInfo)>,
}

impl Tls {
    /// Loads the PEM certificate chain at `cert` and the PEM private key
    /// at `key`.
    pub fn load(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let loaded = load(cert, key)?;
        Ok(Tls {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new(loaded),
        })
    }

    /// Reads the files again; on success new handshakes use the new pair.
    /// On failure the pair in use stays.
    pub fn reload(&self) -> Result<CertInfo, TlsError> {
        let loaded = load(&self.cert, &self.key)?;
        let info = loaded.1.clone();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        Ok(info)
    }

    /// An acceptor with the pair in use now.
    pub fn acceptor(&self) -> TlsAcceptor {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        TlsAcceptor::from(current.0.clone())
    }

    /// The certificate in use.
    pub fn info(&self) -> CertInfo {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }
}

fn file_error(path: &Path, why: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

fn load(cert: &Path, key: &Path) -> Result<(Arc<ServerConfig>, CertInfo), TlsError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file_error(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(cert, e))?;
    let Some(leaf) = chain.first() else {
        return Err(file_error(cert, "no PEM certificate in it"));
    };
    let info = cert_info(leaf).map_err(|e| file_error(cert, e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| file_error(key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Pair(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Pair(e.to_string()))?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok((Arc::new(config), info))
}

/// The subject and expiry of a DER certificate.
fn cert_info(der: &CertificateDer<'_>) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// A self-signed certificate for `localhost`, for the crate's tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The pair loaded as `serve --tls-cert --tls-key` loads it (its files
    /// in `dir`), and the certificate, for a client to trust.
    pub(crate) fn self_signed(dir: &Path) -> (Tls, CertificateDer<'static>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (
            Tls::load(&cert_file, &key_file).unwrap(),
            cert.der().clone(),
        )
    }
}
