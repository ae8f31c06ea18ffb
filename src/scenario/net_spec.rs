//! How a target's connections are made, as a scenario writes it: `tls:` (CA, client
//! certificate, server name, lowest version, ALPN, `insecure`), `connect_to:` and `proxy:`.

use std::path::PathBuf;

use serde::Deserialize;

use crate::client::proxy::{Proxy, ProxyChoice};
use crate::client::tls::{Alpn, TlsOptions, TlsVersion};
use crate::client::NetOptions;

/// `tls:` of a target.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// PEM certificates trusted besides the public roots (a private CA, or the mock's
    /// `mock-ca.pem`).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// A client certificate chain (PEM), for a relay that asks for one; with `client_key`.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// The private key (PEM) of `client_cert`.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// The name sent as SNI and checked against the certificate, instead of the URL's host.
    #[serde(default)]
    pub server_name: Option<String>,
    /// Accept any certificate (`true`), printing a warning on the terminal and in every
    /// report. Refused for the catalog's public hosts unless `force`.
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Insecure>")]
    pub insecure: Insecure,
    /// The lowest TLS version accepted: `1.2` (default) or `1.3`.
    #[serde(default, deserialize_with = "tls_version")]
    #[schemars(with = "Option<super::schema_values::TlsVersion>")]
    pub min_version: TlsVersion,
    /// The HTTP versions offered: `http1` (default, as the official SDKs send), `http2`,
    /// or `auto` (both by ALPN; the server chooses).
    #[serde(default, deserialize_with = "alpn")]
    #[schemars(with = "Option<super::schema_values::Alpn>")]
    pub alpn: Option<Alpn>,
    /// `false`: never resume a TLS session, so that every handshake is a full one
    /// (curl's `--no-sessionid`). By default a new connection resumes a session with a
    /// ticket the server gave, as curl and Node's https agent do.
    #[serde(default)]
    pub resume: Option<bool>,
}

/// `insecure:` as written: `true`, `false` or `force`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Insecure {
    /// Certificates are verified.
    #[default]
    Off,
    /// Any certificate is accepted, except for the catalog's public hosts.
    On,
    /// Any certificate is accepted, whatever the host.
    Force,
}

impl<'de> Deserialize<'de> for Insecure {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Flag(bool),
            Word(String),
        }
        match Written::deserialize(d)? {
            Written::Flag(false) => Ok(Insecure::Off),
            Written::Flag(true) => Ok(Insecure::On),
            Written::Word(w) if w == "force" => Ok(Insecure::Force),
            Written::Word(w) => Err(serde::de::Error::custom(format!("tls.insecure is true, false or force, not {w:?}"))),
        }
    }
}

/// Reads one of `names` into its value.
fn choice<'de, D: serde::Deserializer<'de>, T>(d: D, field: &str, names: &[&str], parse: fn(&str) -> Option<T>) -> Result<T, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).ok_or_else(|| serde::de::Error::custom(format!("{field} is one of {}, not {text:?}", names.join(", "))))
}

fn tls_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TlsVersion, D::Error> {
    choice(d, "tls.min_version", &TlsVersion::NAMES, TlsVersion::parse)
}

fn alpn<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Alpn>, D::Error> {
    choice(d, "tls.alpn", &Alpn::NAMES, Alpn::parse).map(Some)
}

/// `proxy:` of a target: `env` (the default: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
/// `NO_PROXY`, as curl reads them), `none`, a proxy URL, or `{url, credentials_env}`.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ProxySpec {
    /// `env`, `none`, or a URL (`http://`, `https://`, `socks5://`, `socks5h://`) without
    /// credentials.
    Url(String),
    /// A proxy URL, and the NAME of the environment variable holding its `user:password`.
    WithCredentials {
        /// The proxy URL, without credentials.
        url: String,
        /// The NAME of the variable holding `user:password`.
        credentials_env: String,
    },
}

impl ProxySpec {
    /// Checks what can be checked before the run: the URL's shape, and no credentials
    /// written into the scenario file.
    pub fn check(&self) -> Result<(), String> {
        let url = match self {
            ProxySpec::Url(u) if u == "env" || u == "none" => return Ok(()),
            ProxySpec::Url(u) => u,
            ProxySpec::WithCredentials { url, .. } => url,
        };
        let proxy = Proxy::parse(url).map_err(|e| format!("proxy: {e}"))?;
        if proxy.credentials().is_some() {
            return Err("proxy: credentials do not belong in a scenario file; give `{url, credentials_env}`".into());
        }
        Ok(())
    }

    /// The client's choice; the credentials are read from the environment now, or stand in
    /// when `placeholder` (a scenario checked before its run).
    pub fn choice(&self, placeholder: bool) -> Result<ProxyChoice, String> {
        self.check()?;
        match self {
            ProxySpec::Url(u) if u == "env" => Ok(ProxyChoice::FromEnv),
            ProxySpec::Url(u) if u == "none" => Ok(ProxyChoice::Direct),
            ProxySpec::Url(u) => Proxy::parse(u).map(ProxyChoice::Given),
            ProxySpec::WithCredentials { url, credentials_env } => {
                let credentials = match placeholder {
                    true => "user:placeholder".to_owned(),
                    false => std::env::var(credentials_env).map_err(|_| format!("proxy.credentials_env: {credentials_env} is not set"))?,
                };
                Ok(ProxyChoice::Given(Proxy::parse(url)?.with_credentials(&credentials)))
            }
        }
    }
}

/// A target's network settings, from its fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetSpec {
    /// `tls:`.
    pub tls: TlsSpec,
    /// `http2: true`, the older spelling of `tls.alpn: http2`.
    pub http2: bool,
    /// `connect_to:`.
    pub connect_to: Option<String>,
    /// `proxy:`.
    pub proxy: Option<ProxySpec>,
}

impl NetSpec {
    /// Checks the combination; `host` is the target URL's host.
    pub fn check(&self, host: Option<&str>) -> Result<(), String> {
        if self.http2 && self.tls.alpn.is_some_and(|a| a != Alpn::Http2) {
            return Err("http2: true and tls.alpn disagree; give one".into());
        }
        if self.tls.client_cert.is_some() != self.tls.client_key.is_some() {
            return Err("tls.client_cert and tls.client_key go together".into());
        }
        if self.tls.insecure == Insecure::On {
            if let Some(host) = host.filter(|h| public_hosts().any(|p| p.eq_ignore_ascii_case(h))) {
                return Err(format!("tls.insecure is refused for {host}, a public host of the catalog whose certificate is trusted anyway; write `insecure: force` if you mean it"));
            }
        }
        self.proxy.as_ref().map_or(Ok(()), ProxySpec::check)
    }

    /// The client's settings; `default_proxy` applies when the scenario gives none, and
    /// `placeholder` stands in for proxy credentials not read yet.
    pub fn options(&self, default_proxy: ProxyChoice, placeholder: bool) -> Result<NetOptions, String> {
        let alpn = if self.http2 { Alpn::Http2 } else { self.tls.alpn.unwrap_or_default() };
        let t = &self.tls;
        Ok(NetOptions {
            alpn,
            tls: TlsOptions {
                ca_file: t.ca_file.clone(),
                client_cert: t.client_cert.clone(),
                client_key: t.client_key.clone(),
                server_name: t.server_name.clone(),
                insecure: t.insecure != Insecure::Off,
                min_version: t.min_version,
                no_resumption: t.resume == Some(false),
            },
            connect_to: self.connect_to.clone(),
            proxy: self.proxy.as_ref().map_or(Ok(default_proxy), |p| p.choice(placeholder))?,
            no_reuse: false,
        })
    }
}

/// The hosts of the catalog's documented base URLs.
fn public_hosts() -> impl Iterator<Item = String> {
    crate::provider::CATALOG.iter().filter_map(|p| p.base_url).filter_map(crate::client::host::host_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_is_refused_for_public_hosts_unless_forced() {
        let spec = |insecure| NetSpec { tls: TlsSpec { insecure, ..TlsSpec::default() }, ..NetSpec::default() };
        let e = spec(Insecure::On).check(Some("api.anthropic.com")).expect_err("public host");
        assert!(e.contains("force"), "{e}");
        assert!(spec(Insecure::Force).check(Some("api.anthropic.com")).is_ok());
        assert!(spec(Insecure::On).check(Some("relay.internal")).is_ok());
        assert!(spec(Insecure::On).options(ProxyChoice::Direct, false).expect("options").tls.insecure);
    }
}
