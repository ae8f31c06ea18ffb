//! What a client is built from: the target (URL, key, headers, how to connect), the time
//! limits of a request, and why a target cannot be used.

use std::fmt;
use std::time::Duration;

use super::proxy::ProxyChoice;
use super::tls::{Alpn, TlsConfigError, TlsOptions};

/// Targets name their auth style through the client, where a target is built.
pub use crate::protocol::AuthStyle;

/// An API key. It is only ever read from the environment, and its `Debug` and `Display`
/// print a placeholder so it cannot leak into logs, errors or reports.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// No key at all: requests carry no auth header (the `no-key` probe). Keys read from
    /// the environment are never empty, so this cannot happen by mistake.
    pub fn none() -> Self {
        ApiKey(String::new())
    }

    /// Whether this is [`ApiKey::none`].
    pub fn is_none(&self) -> bool {
        self.0.is_empty()
    }

    /// The key itself, for building the auth header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where and how requests are sent.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL; `/v1/messages` is appended.
    pub base_url: String,
    /// Auth header style.
    pub auth: AuthStyle,
    /// The key.
    pub api_key: ApiKey,
    /// `anthropic-version` to send, or none.
    pub anthropic_version: Option<String>,
    /// Extra headers sent with every request (e.g. `anthropic-beta`).
    pub headers: Vec<(String, String)>,
    /// How connections are made: HTTP version, TLS, address, proxy.
    pub net: NetOptions,
}

/// How a target's connections are made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetOptions {
    /// The HTTP versions spoken (on `http://`, HTTP/2 is spoken with prior knowledge).
    pub alpn: Alpn,
    /// TLS settings, for https.
    pub tls: TlsOptions,
    /// Connect to this `host[:port]` instead of the URL's, keeping the URL's host for SNI
    /// and Host (curl's `--resolve`): to pin one edge of a relay.
    pub connect_to: Option<String>,
    /// The proxy.
    pub proxy: ProxyChoice,
    /// A new connection for every request, closed after its response (`load.keep_alive:
    /// false`); by default connections are kept and reused.
    pub no_reuse: bool,
}

/// Limits of one request, each a distinct outcome when it is hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP (and TLS) connection set-up.
    pub connect: Duration,
    /// From sending to the response head.
    pub ttfb: Option<Duration>,
    /// Longest silence between two pieces of a streamed body.
    pub idle: Option<Duration>,
    /// The whole request, from start to the end of the body.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            ttfb: None,
            idle: None,
            total: Duration::from_secs(120),
        }
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL does not parse or is not http(s).
    #[error("invalid base URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A header name or value is not valid HTTP, or one the client must write itself.
    #[error("invalid header {name:?}{reason}")]
    BadHeader {
        /// The header's name.
        name: String,
        /// Why, when more than its spelling.
        reason: &'static str,
    },
    /// The TLS settings cannot be used.
    #[error("tls: {0}")]
    Tls(#[from] TlsConfigError),
    /// The proxy setting (or the environment's) is not a proxy URL.
    #[error("proxy: {0}")]
    Proxy(String),
}

