//! A target's TLS settings and the rustls configuration made from them: the public roots
//! plus the target's own CA, a client certificate, the name to verify (and send as SNI),
//! the lowest TLS version, the protocols offered by ALPN, and `insecure` for a relay whose
//! certificate nobody vouches for.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The warning every output carries for a target with `insecure`.
pub const INSECURE_WARNING: &str = "TLS certificate verification is OFF for this target (tls.insecure): anyone on the path could have answered";

/// Which HTTP versions a connection may speak, offered by ALPN on https.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Alpn {
    /// HTTP/1.1 only, as the official SDKs send by default: over https through the same
    /// reader as plain HTTP.
    #[default]
    Http1,
    /// HTTP/2 only (prior knowledge on `http://`).
    Http2,
    /// Offer both; the server chooses.
    Auto,
}

impl Alpn {
    /// The scenario's name of each choice.
    pub const NAMES: [&'static str; 3] = ["http1", "http2", "auto"];

    /// Parses a scenario's name.
    pub fn parse(name: &str) -> Option<Alpn> {
        match name {
            "http1" => Some(Alpn::Http1),
            "http2" => Some(Alpn::Http2),
            "auto" => Some(Alpn::Auto),
            _ => None,
        }
    }

    fn protocols(self) -> Vec<Vec<u8>> {
        match self {
            Alpn::Http1 => vec![b"http/1.1".to_vec()],
            Alpn::Http2 => vec![b"h2".to_vec()],
            Alpn::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        }
    }
}

/// The lowest TLS version a connection accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    /// TLS 1.2 or 1.3.
    #[default]
    V12,
    /// TLS 1.3 only.
    V13,
}

impl TlsVersion {
    /// The scenario's name of each choice.
    pub const NAMES: [&'static str; 2] = ["1.2", "1.3"];

    /// Parses a scenario's name.
    pub fn parse(name: &str) -> Option<TlsVersion> {
        match name {
            "1.2" => Some(TlsVersion::V12),
            "1.3" => Some(TlsVersion::V13),
            _ => None,
        }
    }
}

/// A target's TLS settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsOptions {
    /// A PEM file of certificates trusted besides the public roots: a relay behind a
    /// private CA.
    pub ca_file: Option<PathBuf>,
    /// A client certificate chain (PEM), for a relay that asks for one (mutual TLS).
    pub client_cert: Option<PathBuf>,
    /// The private key (PEM) of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// The name sent as SNI and checked against the certificate, instead of the URL's host.
    pub server_name: Option<String>,
    /// Accept any certificate. Only for a relay under test whose certificate cannot be
    /// trusted otherwise; every report says it was on.
    pub insecure: bool,
    /// The lowest version accepted.
    pub min_version: TlsVersion,
    /// Never resume a session: every handshake a full one.
    pub no_resumption: bool,
}

/// Why TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// A file holds nothing usable.
    #[error("{field} {path}: {reason}")]
    File {
        /// The setting that names it.
        field: &'static str,
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the settings.
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
    /// `server_name` is not a DNS name or an IP address.
    #[error("server_name {0:?} is not a host name or an IP address")]
    ServerName(String),
}

fn file_error(field: &'static str, path: &Path, reason: impl ToString) -> TlsConfigError {
    TlsConfigError::File { field, path: path.display().to_string(), reason: reason.to_string() }
}

fn certificates(field: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(field, path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(field, path, e))?;
    if certs.is_empty() {
        return Err(file_error(field, path, "no PEM certificate in it"));
    }
    Ok(certs)
}

impl TlsOptions {
    /// The rustls configuration of these settings, offering `alpn`'s protocols.
    pub fn client_config(&self, alpn: Alpn) -> Result<rustls::ClientConfig, TlsConfigError> {
        let mut roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &self.ca_file {
            for cert in certificates("ca_file", path)? {
                roots.add(cert).map_err(|e| file_error("ca_file", path, e))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = match self.min_version {
            TlsVersion::V12 => rustls::DEFAULT_VERSIONS,
            TlsVersion::V13 => &[&rustls::version::TLS13],
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone()).with_protocol_versions(versions)?;
        let builder = if self.insecure {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        } else {
            builder.with_root_certificates(roots)
        };
        let mut config = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => {
                let chain = certificates("client_cert", cert)?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| file_error("client_key", key, format!("no usable PEM private key: {e}")))?;
                builder.with_client_auth_cert(chain, key)?
            }
            _ => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.protocols();
        if self.no_resumption {
            config.resumption = rustls::client::Resumption::disabled();
        }
        Ok(config)
    }

    /// The name to verify and send as SNI: `server_name`, or the URL's `host`.
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, TlsConfigError> {
        let name = self.server_name.as_deref().unwrap_or(host);
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(bare.to_owned()).map_err(|_| TlsConfigError::ServerName(name.to_owned()))
    }
}

/// The verifier of `insecure`: any certificate for any name, while the handshake's
/// signatures are still checked (a connection is still encrypted to whoever holds the key).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(&self, _: &CertificateDer<'_>, _: &[CertificateDer<'_>], _: &ServerName<'_>, _: &[u8], _: UnixTime) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_certificates_versions_and_names_make_a_configuration_or_a_named_error() {
        let dir = std::env::temp_dir().join(format!("relaybench-client-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let made = rcgen::generate_simple_self_signed(vec!["client.example".to_owned()]).expect("certificate");
        let (cert, key) = (dir.join("client.pem"), dir.join("client.key"));
        std::fs::write(&cert, made.cert.pem()).expect("write");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("write");
        let options = TlsOptions { client_cert: Some(cert.clone()), client_key: Some(key), min_version: TlsVersion::V13, ..TlsOptions::default() };
        let config = options.client_config(Alpn::Auto).expect("config");
        assert!(config.client_auth_cert_resolver.has_certs());
        assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        let bad = TlsOptions { client_key: Some(cert.clone()), ..options.clone() };
        let e = bad.client_config(Alpn::Http1).expect_err("a certificate is no key");
        assert!(e.to_string().starts_with("client_key"), "{e}");
        assert!(options.server_name("127.0.0.1").is_ok() && options.server_name("[::1]").is_ok());
        let named = TlsOptions { server_name: Some("bad name!".into()), ..TlsOptions::default() };
        assert!(named.server_name("127.0.0.1").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
