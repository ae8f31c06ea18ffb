//! The TLS mock's certificates: a CA and a leaf for `localhost` and the loopback
//! addresses made at start (so every https test and bench runs against a server whose
//! trust is known), or the user's own certificate and key. The server offers HTTP/2 and
//! HTTP/1.1 by ALPN, as a CDN in front of a relay does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The file the made CA is written to, in the certificate folder.
pub const CA_FILE: &str = "mock-ca.pem";

/// Names the made leaf certificate is valid for.
const LEAF_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Why the TLS mock cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A certificate could not be made.
    #[error("making the mock's certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The certificate and key do not make a server configuration.
    #[error("TLS server setup: {0}")]
    Config(#[from] rustls::Error),
}

/// A TLS server configuration, and where its CA was written when it was made here.
#[derive(Debug, Clone)]
pub struct MockTls {
    /// The configuration the mock's acceptor uses.
    pub config: Arc<rustls::ServerConfig>,
    /// The CA a client must trust (the `ca_file` to give it), when the mock made it.
    pub ca_file: Option<PathBuf>,
}

/// Makes a CA and a leaf signed by it, writes the CA's PEM to `dir`/[`CA_FILE`], and
/// serves the leaf.
pub fn generate(dir: &Path) -> Result<MockTls, TlsSetupError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(DnType::CommonName, "relaybench mock CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut leaf_params = CertificateParams::new(LEAF_NAMES.map(str::to_owned).to_vec())?;
    leaf_params.distinguished_name.push(DnType::CommonName, "localhost");
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca)?;

    let file_error = |path: &Path, e: std::io::Error| TlsSetupError::File { path: path.display().to_string(), reason: e.to_string() };
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let ca_file = dir.join(CA_FILE);
    std::fs::write(&ca_file, ca.pem()).map_err(|e| file_error(&ca_file, e))?;

    let key = PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = server_config(vec![leaf.der().clone(), ca.der().clone()], key)?;
    Ok(MockTls { config, ca_file: Some(ca_file) })
}

/// Serves the user's certificate chain and key (PEM files).
pub fn from_files(cert: &Path, key: &Path) -> Result<MockTls, TlsSetupError> {
    let bad = |path: &Path, reason: String| TlsSetupError::File { path: path.display().to_string(), reason };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(bad(cert, "no PEM certificate in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, format!("no usable PEM private key: {e}")))?;
    Ok(MockTls { config: server_config(chain, key)?, ca_file: None })
}

fn server_config(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_made_ca_vouches_for_the_leaf_and_bad_files_are_named() {
        let dir = std::env::temp_dir().join(format!("relaybench-mock-tls-{}", std::process::id()));
        let made = generate(&dir).expect("generate");
        let pem = std::fs::read_to_string(made.ca_file.as_ref().expect("ca file")).expect("read");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert_eq!(made.config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);

        let missing = from_files(&dir.join("none.pem"), &dir.join("none.key")).expect_err("missing");
        assert!(missing.to_string().contains("none.pem"), "{missing}");
        let no_key = from_files(made.ca_file.as_ref().expect("ca"), made.ca_file.as_ref().expect("ca")).expect_err("no key");
        assert!(no_key.to_string().contains("private key"), "{no_key}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
