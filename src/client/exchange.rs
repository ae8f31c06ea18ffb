//! Building a request for a target and sending it: on `http://` over HTTP/1.1 through the
//! plain reader ([`super::h1`]), otherwise (TLS, HTTP/2) through the pooled hyper client;
//! then the response is read and checked the same way ([`super::body`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, Uri};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::time::{timeout_at, Instant};

use super::body::{collect_limited, error_chain, read_error_body, read_message, read_stream, BodyReader, MAX_ERROR_BODY};
use super::connect::{connect_times, TcpTimer, TimedConnector};
use super::h1::{self, ConnectFailure, Http1};
use crate::conformance::envelope;
use crate::conformance::request::RequestFacts;
use crate::outcome::{Outcome, OutcomeKind, RawResponse};
use crate::protocol;
use crate::text::{excerpt, redact};

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
    /// Use HTTP/2 with prior knowledge on `http://` URLs (on `https://` ALPN decides).
    pub http2: bool,
    /// A PEM file of certificates trusted besides the public roots: a relay behind a
    /// private CA.
    pub ca_file: Option<std::path::PathBuf>,
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

/// True when a connect error was the connect timeout.
fn is_connect_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
            return true;
        }
        source = s.source();
    }
    false
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
    /// A header name or value is not valid HTTP.
    #[error("invalid header {name:?}")]
    BadHeader {
        /// The header's name.
        name: String,
    },
    /// The TLS settings cannot be built.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// The CA file cannot be read or holds no usable certificate.
    #[error("ca_file {path}: {reason}")]
    BadCaFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The TLS settings: the public roots, plus the target's own CA certificates if any.
fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, ClientError> {
    let mut roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        use rustls::pki_types::pem::PemObject;
        let bad = |reason: String| ClientError::BadCaFile { path: path.display().to_string(), reason };
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?;
        let mut added = 0;
        for cert in certs {
            roots.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("no PEM certificate in it".into()));
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

type HyperClient = hyper_util::client::legacy::Client<TimedConnector<HttpsConnector<TcpTimer>>, Full<Bytes>>;

/// A pooled client for one target. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: HyperClient,
    /// The plain HTTP/1.1 connections, for an `http://` target without `http2`.
    h1: Option<Arc<Http1>>,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeouts: Timeouts,
    /// The key, only to redact it from whatever the server sends back.
    secret: String,
    /// Keep each response's raw bytes on its outcome, for capture files.
    capture: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("uri", &self.uri).finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client; fails on a bad URL or header before any request is sent.
    pub fn new(target: &Target, timeouts: Timeouts) -> Result<Client, ClientError> {
        let url = format!("{}{}", target.base_url.trim_end_matches('/'), protocol::MESSAGES_PATH);
        let bad_url = |reason: &str| ClientError::BadUrl { url: target.base_url.clone(), reason: reason.into() };
        let uri: Uri = url.parse().map_err(|e: http::uri::InvalidUri| bad_url(&e.to_string()))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => return Err(bad_url("the scheme must be http or https")),
        }
        if uri.host().is_none() {
            return Err(bad_url("no host"));
        }
        let headers = request_headers(target)?;

        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(timeouts.connect));
        let http = TcpTimer(tcp);
        // ALPN offers h2 and http/1.1 (set by enable_all_versions), so https negotiates.
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(target.ca_file.as_deref())?)
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        let connector = TimedConnector { inner: https, limit: timeouts.connect };
        let mut builder = hyper_util::client::legacy::Client::builder(TokioExecutor::new());
        builder.pool_idle_timeout(Duration::from_secs(90));
        if target.http2 && uri.scheme_str() == Some("http") {
            builder.http2_only(true);
        }
        let plain = uri.scheme_str() == Some("http") && !target.http2;
        Ok(Client {
            inner: builder.build(connector),
            h1: plain.then(|| Arc::new(Http1::new(&uri, &headers))),
            uri,
            headers,
            timeouts,
            secret: target.api_key.expose().to_owned(),
            capture: false,
        })
    }

    /// This client, keeping each response's raw bytes (status, headers, body up to
    /// [`crate::outcome::MAX_CAPTURE_BYTES`]) on its outcome when `on`.
    pub fn with_capture(mut self, on: bool) -> Client {
        self.capture = on;
        self
    }

    /// The URL requests go to.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Asks the target's `count_tokens` endpoint for the input tokens of `body` (a
    /// request without `max_tokens`). Errors say what came back, cut to size.
    pub async fn count_tokens(&self, body: Bytes) -> Result<u64, String> {
        let mut request = self.build_request(body);
        let uri = format!("{}/count_tokens", self.uri.to_string().trim_end_matches('/'));
        *request.uri_mut() = uri.parse().map_err(|e: http::uri::InvalidUri| e.to_string())?;
        let deadline = Instant::now() + self.timeouts.total;
        let response = match timeout_at(deadline, self.inner.request(request)).await {
            Err(_) => return Err("no answer before the time limit".into()),
            Ok(Err(e)) => return Err(error_chain(&e)),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        let bytes = collect_limited(&mut response.into_body(), MAX_ERROR_BODY, deadline).await.map_err(|(_, why)| why)?;
        let count = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| v.get("input_tokens").and_then(Value::as_u64));
        match (status, count) {
            (200, Some(n)) => Ok(n),
            _ => Err(redact(&format!("HTTP {status}: {}", excerpt(&bytes)), &self.secret)),
        }
    }

    /// The request exactly as it will be sent.
    pub fn build_request(&self, body: Bytes) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        let headers = request.headers_mut();
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        request
    }

    /// Sends one request and measures it. `start` is the reference moment latencies are
    /// measured from (when it was sent in a closed loop, when it was due in an open one).
    /// Every failure becomes an outcome kind; nothing here returns an error.
    /// With `facts`, a complete response is also held against what the request asked for.
    pub async fn execute(
        &self,
        body: Bytes,
        template: usize,
        stream: bool,
        facts: Option<&RequestFacts>,
        start: Instant,
    ) -> Outcome {
        self.execute_into(Outcome::new(template, stream), body, facts, start).await
    }

    /// [`Client::execute`] for a turn of a conversation: the reply's text is kept in the
    /// outcome, for the next turn to send back.
    pub async fn execute_turn(&self, body: Bytes, template: usize, stream: bool, facts: Option<&RequestFacts>, start: Instant) -> Outcome {
        let mut outcome = Outcome::new(template, stream);
        outcome.reply = Some(String::new());
        self.execute_into(outcome, body, facts, start).await
    }

    async fn execute_into(&self, mut outcome: Outcome, body: Bytes, facts: Option<&RequestFacts>, start: Instant) -> Outcome {
        outcome.start = Some(start);
        let deadline = Instant::now() + self.timeouts.total;
        self.exchange(body, start, deadline, facts, &mut outcome).await;
        outcome.e2e = Instant::now().saturating_duration_since(start);
        outcome.sanitize(&self.secret);
        outcome
    }

    async fn exchange(&self, body: Bytes, start: Instant, deadline: Instant, facts: Option<&RequestFacts>, outcome: &mut Outcome) {
        let sent = Instant::now();
        let head_deadline = self.timeouts.ttfb.map_or(deadline, |t| (sent + t).min(deadline));
        let late = |outcome: &mut Outcome| {
            if head_deadline < deadline {
                outcome.fail(OutcomeKind::TtfbTimeout, "no response head within the time-to-first-byte limit")
            } else {
                outcome.fail(OutcomeKind::Timeout, "no response head before the time limit")
            }
        };
        if let Some(h1) = &self.h1 {
            let (mut stream, connect) = match timeout_at(head_deadline, h1.connection(self.timeouts.connect)).await {
                Err(_) => return late(outcome),
                Ok(Err(ConnectFailure::Timeout)) => return self.connect_timeout(outcome),
                Ok(Err(ConnectFailure::Error(e))) => return self.connect_error(outcome, &e),
                Ok(Ok(c)) => c,
            };
            outcome.connect = connect;
            let response = match timeout_at(head_deadline, async {
                h1.send(&mut stream, &body).await.map_err(|e| format!("sending the request: {e}"))?;
                h1::read_head(&mut stream).await
            })
            .await
            {
                Err(_) => return late(outcome),
                Ok(Err(e)) => return outcome.fail(OutcomeKind::TransportError, e),
                Ok(Ok(r)) => r,
            };
            let h1::Response { status, headers, mut body } = response;
            self.respond(status, &headers, &mut body, start, deadline, facts, outcome).await;
            if body.reusable() {
                drop(body);
                h1.put_back(stream);
            }
            return;
        }
        let response = match timeout_at(head_deadline, self.inner.request(self.build_request(body))).await {
            Err(_) => return late(outcome),
            Ok(Err(e)) if e.is_connect() && is_connect_timeout(&e) => return self.connect_timeout(outcome),
            Ok(Err(e)) if e.is_connect() => return self.connect_error(outcome, &error_chain(&e)),
            Ok(Err(e)) => return outcome.fail(OutcomeKind::TransportError, error_chain(&e)),
            Ok(Ok(r)) => r,
        };
        (outcome.connect, outcome.tls) = connect_times(&response, self.uri.scheme_str() == Some("https"));
        let (head, mut body) = response.into_parts();
        self.respond(head.status.as_u16(), &head.headers, &mut body, start, deadline, facts, outcome).await;
    }

    fn connect_timeout(&self, outcome: &mut Outcome) {
        outcome.fail(OutcomeKind::ConnectTimeout, format!("no connection to {} within the connect limit", self.uri))
    }

    fn connect_error(&self, outcome: &mut Outcome, why: &str) {
        outcome.fail(OutcomeKind::ConnectError, format!("cannot connect to {}: {why}", self.uri))
    }

    /// The part of an exchange after the response head, the same on either connection.
    #[allow(clippy::too_many_arguments)]
    async fn respond(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &mut impl BodyReader,
        start: Instant,
        deadline: Instant,
        facts: Option<&RequestFacts>,
        outcome: &mut Outcome,
    ) {
        outcome.ttfb = Some(start.elapsed());
        outcome.status = Some(status);
        if self.capture {
            let headers = headers.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
            outcome.raw = Some(Box::new(RawResponse { status, headers, ..RawResponse::default() }));
        }
        let stream = outcome.stream && (200..300).contains(&status);
        outcome.findings.extend(envelope::check_headers(status, stream, headers));
        outcome.limits = crate::conformance::limits::RateLimits::from_headers(headers, crate::conformance::limits::unix_now()).map(Box::new);
        // We never send accept-encoding, so an encoded body is the server's fault, and
        // parsing compressed bytes as SSE or JSON would only report noise.
        if let Some(encoding) = headers.get(http::header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()) {
            if !encoding.eq_ignore_ascii_case("identity") {
                return outcome.fail(OutcomeKind::Malformed, format!("content-encoding {} that was not asked for", excerpt(encoding.as_bytes())));
            }
        }
        if !(200..300).contains(&status) {
            read_error_body(body, deadline, outcome).await;
        } else if outcome.stream {
            read_stream(body, start, deadline, self.timeouts.idle, facts, outcome).await;
        } else {
            read_message(body, deadline, facts, outcome).await;
        }
    }
}

fn request_headers(target: &Target) -> Result<Vec<(HeaderName, HeaderValue)>, ClientError> {
    let mut list = vec![(CONTENT_TYPE.as_str().to_owned(), protocol::CONTENT_TYPE_JSON.to_owned())];
    if let Some(v) = &target.anthropic_version {
        list.push((protocol::HEADER_VERSION.to_owned(), v.clone()));
    }
    list.extend(target.headers.iter().cloned());
    let mut headers = Vec::with_capacity(list.len() + 1);
    for (name, value) in list {
        let bad = || ClientError::BadHeader { name: name.clone() };
        headers.push((
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?,
            HeaderValue::from_str(&value).map_err(|_| bad())?,
        ));
    }
    let (name, value) = match target.auth {
        AuthStyle::XApiKey => (HeaderName::from_static(protocol::HEADER_API_KEY), target.api_key.expose().to_owned()),
        AuthStyle::Bearer => (AUTHORIZATION, format!("Bearer {}", target.api_key.expose())),
    };
    // The error names the header, never the value, which holds the key.
    let mut value = HeaderValue::from_str(&value).map_err(|_| ClientError::BadHeader { name: name.to_string() })?;
    value.set_sensitive(true);
    headers.push((name, value));
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(auth: AuthStyle) -> Target {
        Target {
            base_url: "https://relay.example/".into(),
            auth,
            api_key: ApiKey::new("sk-secret"),
            anthropic_version: Some(protocol::ANTHROPIC_VERSION.into()),
            headers: vec![("anthropic-beta".into(), "tools-2024-04-04".into())],
            http2: false,
            ca_file: None,
        }
    }

    #[test]
    fn request_carries_auth_version_and_extra_headers() {
        let client = Client::new(&target(AuthStyle::Bearer), Timeouts::default()).expect("client");
        let req = client.build_request(Bytes::from_static(b"{}"));
        assert_eq!(req.uri().to_string(), "https://relay.example/v1/messages");
        assert_eq!(req.headers()["authorization"], "Bearer sk-secret");
        assert_eq!(req.headers()["anthropic-version"], "2023-06-01");
        assert_eq!(req.headers()["anthropic-beta"], "tools-2024-04-04");
        assert_eq!(req.headers()["content-type"], "application/json");
        assert!(!req.headers().contains_key("x-api-key"));
        let client = Client::new(&target(AuthStyle::XApiKey), Timeouts::default()).expect("client");
        let req = client.build_request(Bytes::new());
        assert_eq!(req.headers()["x-api-key"], "sk-secret");
    }

    #[test]
    fn key_never_prints() {
        let t = target(AuthStyle::Bearer);
        assert!(!format!("{t:?}").contains("sk-secret"));
        let client = Client::new(&t, Timeouts::default()).expect("client");
        let req = client.build_request(Bytes::new());
        assert!(!format!("{:?}", req.headers()).contains("sk-secret"));
    }

    #[test]
    fn bad_urls_are_rejected_before_sending() {
        for url in ["ftp://x", "not a url", "/relative"] {
            let mut t = target(AuthStyle::Bearer);
            t.base_url = url.into();
            assert!(Client::new(&t, Timeouts::default()).is_err(), "{url}");
        }
    }
}
