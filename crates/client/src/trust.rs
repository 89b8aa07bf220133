//! Which servers the clients trust over `https://` and `wss://`: the web's
//! public roots (webpki's bundle, as the rustls builds use) and, with
//! `--cacert FILE`, the certificates of a private CA beside them. Set once
//! per process, before the first client is built; every HTTP client
//! ([`http`]) and the voice WebSocket ([`rustls_config`]) use it.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

static EXTRA: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();

/// Why `--cacert` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file cannot be read, or holds no PEM certificate.
    #[error("--cacert {path}: {why}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A CA was set already in this process.
    #[error("--cacert was given twice")]
    Twice,
}

/// Trusts the PEM certificates in `path` beside the public roots, for the
/// rest of the process. Returns how many it holds.
pub fn trust_ca_file(path: &Path) -> Result<usize, TrustError> {
    let file = |why: String| TrustError::File {
        path: path.display().to_string(),
        why,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file(e.to_string()))?;
    if certs.is_empty() {
        return Err(file("no PEM certificate in it".into()));
    }
    let n = certs.len();
    EXTRA.set(certs).map_err(|_| TrustError::Twice)?;
    Ok(n)
}

/// A builder for an HTTP client of spotlight servers: no Nagle delay,
/// the trusted roots (HTTP/2 when the server offers it over TLS).
pub fn http() -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder().tcp_nodelay(true);
    for der in EXTRA.get().into_iter().flatten() {
        if let Ok(cert) = reqwest::Certificate::from_der(der.as_ref()) {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
}

/// The TLS settings of a `wss://` connection: the same roots.
pub fn rustls_config() -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in EXTRA.get().into_iter().flatten() {
        let _ = roots.add(der.clone());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|_| {
            ClientConfig::builder()
                .with_root_certificates(RootCertStore::empty())
                .with_no_client_auth()
        });
    Arc::new(config)
}

/// Whether `error` (or what caused it) is a TLS certificate the client
/// does not trust or that does not fit the server's name.
pub fn is_certificate_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
        ) {
            return true;
        }
        // An I/O error's `source` skips the error it wraps (TLS errors come
        // wrapped, sometimes twice): look inside it.
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}
