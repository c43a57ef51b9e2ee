//! TLS for the relay: a certificate and key from PEM files, read again when
//! they change, so that a renewed certificate is served without a restart.
//!
//! Devices send their token with every request, so the relay must be reached
//! over TLS anywhere but on loopback. Certificates renewed by an ACME client
//! (certbot, acme.sh) replace the files in place; the relay looks at them every
//! [`RELOAD_CHECK`] and serves the new pair to every handshake from then on. A
//! pair that cannot be read (half written, key not matching) is logged and the
//! previous one kept.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

/// How often the certificate files are checked for a change.
pub(crate) const RELOAD_CHECK: Duration = Duration::from_secs(5);

/// The certificate and key files, and the pair last read from them.
pub(crate) struct ReloadingCertificate {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Loaded>,
}

struct Loaded {
    key: Arc<CertifiedKey>,
    modified: (Option<SystemTime>, Option<SystemTime>),
}

impl fmt::Debug for ReloadingCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCertificate")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok()
}

fn load(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .with_context(|| format!("cannot read certificates from {}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} holds a malformed certificate", cert_path.display()))?;
    if chain.is_empty() {
        return Err(anyhow!("{} holds no certificate", cert_path.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("cannot read a private key from {}", key_path.display()))?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, key, &provider).with_context(|| {
        format!("{} and {} do not make a usable pair", cert_path.display(), key_path.display())
    })?;
    Ok(certified)
}

impl ReloadingCertificate {
    /// Reads the pair; fails if it cannot be used.
    pub(crate) fn open(cert_path: &Path, key_path: &Path) -> Result<Arc<Self>> {
        let key = Arc::new(load(cert_path, key_path)?);
        Ok(Arc::new(Self {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            current: RwLock::new(Loaded {
                key,
                modified: (modified(cert_path), modified(key_path)),
            }),
        }))
    }

    /// Reads the files again if either changed since they were last read.
    fn reload_if_changed(&self) {
        let now = (modified(&self.cert_path), modified(&self.key_path));
        let changed = self.current.read().is_ok_and(|current| current.modified != now);
        if !changed {
            return;
        }
        match load(&self.cert_path, &self.key_path) {
            Ok(key) => {
                if let Ok(mut current) = self.current.write() {
                    *current = Loaded { key: Arc::new(key), modified: now };
                    tracing::info!(cert = %self.cert_path.display(), "serving a renewed TLS certificate");
                }
            }
            // Probably caught mid-write: keep serving the old pair, try again later.
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "cannot use the changed TLS files yet")
            }
        }
    }

    /// Checks the files every [`RELOAD_CHECK`] until `shutdown`.
    pub(crate) async fn watch(self: Arc<Self>, shutdown: CancellationToken) {
        let mut interval = tokio::time::interval(RELOAD_CHECK);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let certificate = self.clone();
            let _ = tokio::task::spawn_blocking(move || certificate.reload_if_changed()).await;
        }
    }

    /// The rustls configuration serving this certificate (HTTP/1.1 only: the
    /// websocket upgrade needs it).
    pub(crate) fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("no TLS protocol version available")?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|current| current.key.clone())
    }
}
