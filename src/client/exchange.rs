//! Building a request for a target and sending it: HTTP/1.1 (plain or TLS) through the
//! crate's own reader ([`super::h1`]), HTTP/2 on the `h2` crate ([`super::http2`]), both
//! over connections from one [`Dialer`]; then the response is read and checked the same
//! way ([`super::body`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING, USER_AGENT};
use http::{Method, Request, Uri};
use http_body_util::Full;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::time::{timeout_at, Instant};

use super::body::{collect_limited, error_chain, read_error_body, read_message, read_stream, BodyReader, MAX_ERROR_BODY};
use super::conn::Conn;
use super::connect::DialConnector;
use super::dial::{ConnectTimes, DialError, Dialer, TlsTarget};
use super::host::{authority, url_host};
use super::h1::{has_token, Http1};
use super::http2::{Http2, Opened, SendError, Slot};
use super::proxy::{Proxy, ProxyKind};
use super::tls::{Alpn, TlsOptions};
pub use super::target::{ApiKey, AuthStyle, ClientError, NetOptions, Target, Timeouts};
use crate::conformance::envelope;
use crate::conformance::fingerprint::Fingerprint;
use crate::conformance::request::RequestFacts;
use crate::headers::HeaderFields;
use crate::outcome::{Outcome, OutcomeKind, RawResponse, ServerDate};
use crate::protocol;
use crate::text::{excerpt, redact};

type HyperClient = hyper_util::client::legacy::Client<DialConnector, Full<Bytes>>;

/// Times an HTTP/2 request is sent when the server did not process it (a closed
/// connection, a refused stream) before it counts as a transport error.
const MAX_H2_TRIES: u32 = 3;

/// The `User-Agent` sent unless a target's headers name their own (RFC 9110 §10.1.5: a
/// client should send one; relays log it).
pub const USER_AGENT_VALUE: &str = concat!("relaybench/", env!("CARGO_PKG_VERSION"));

/// A pooled client for one target. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    /// hyper's pool over the dialer's connections, for the few requests besides the
    /// load's (`count_tokens`, `/v1/models`).
    inner: HyperClient,
    /// HTTP/1.1, plain or TLS: the crate's own reader; also `auto`'s once a server chose
    /// HTTP/1.1.
    h1: Arc<Http1>,
    /// HTTP/2, and `auto` on https: one shared connection on the `h2` crate.
    h2: Option<Arc<Http2>>,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeouts: Timeouts,
    /// The key (and a proxy's password), only to redact them from whatever comes back.
    secrets: Vec<String>,
    /// The proxy the connections go through, by name.
    proxy: Option<String>,
    /// Keep each response's raw bytes on its outcome, for capture files.
    capture: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("uri", &self.uri).finish_non_exhaustive()
    }
}

/// A base URL as it may be shown: without `user:password@`.
fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => url.split_once('@').map_or_else(|| url.to_owned(), |(_, rest)| format!("…@{rest}")),
    }
}

/// The parts of a base URL requests are built from.
struct Endpoint {
    https: bool,
    /// Host, an IPv6 address without brackets.
    host: String,
    port: u16,
    /// `host[:port]` as the Host header and the URL show it.
    host_header: String,
    /// The messages path with the base URL's query: `/base/v1/messages?q`.
    path: String,
}

fn endpoint(base_url: &str) -> Result<Endpoint, ClientError> {
    let bad = |reason: &str| ClientError::BadUrl { url: shown_url(base_url), reason: reason.into() };
    let url = url::Url::parse(base_url.trim()).map_err(|e| bad(&e.to_string()))?;
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err(bad("the scheme must be http or https")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials in a URL (user:password@) would be sent in the clear to every log; give the key by api_key_env"));
    }
    if url.fragment().is_some() {
        return Err(bad("a fragment (#…) is never sent to a server"));
    }
    let host = url_host(&url).ok_or_else(|| bad("no host"))?;
    let port = url.port_or_known_default().ok_or_else(|| bad("no port"))?;
    let host_header = match url.port() {
        Some(p) => authority(&host, p),
        None if host.contains(':') => format!("[{host}]"),
        None => host.clone(),
    };
    let mut path = format!("{}{}", url.path().trim_end_matches('/'), protocol::MESSAGES_PATH);
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    Ok(Endpoint { https, host, port, host_header, path })
}

/// `host[:port]` of a target's `connect_to`, the port defaulting to the URL's.
fn connect_to(text: &str, port: u16) -> Result<(String, u16), ClientError> {
    let bad = || ClientError::BadUrl { url: text.to_owned(), reason: "connect_to must be host, host:port, or [v6]:port".into() };
    let url = url::Url::parse(&format!("http://{}", text.trim())).map_err(|_| bad())?;
    let host = url_host(&url).ok_or_else(bad)?;
    if !matches!(url.path(), "" | "/") || url.query().is_some() || !url.username().is_empty() {
        return Err(bad());
    }
    Ok((host, url.port().unwrap_or(port)))
}

impl Client {
    /// Builds a client; fails on a bad URL, header, TLS file or proxy before any request
    /// is sent. The proxy comes from the environment when the target says so.
    pub fn new(target: &Target, timeouts: Timeouts) -> Result<Client, ClientError> {
        Self::with_env(target, timeouts, &|name| std::env::var(name).ok())
    }

    /// [`Client::new`] with the environment read through `env`.
    pub fn with_env(target: &Target, timeouts: Timeouts, env: &dyn Fn(&str) -> Option<String>) -> Result<Client, ClientError> {
        let end = endpoint(&target.base_url)?;
        let scheme = if end.https { "https" } else { "http" };
        let uri: Uri = format!("{scheme}://{}{}", end.host_header, end.path)
            .parse()
            .map_err(|e: http::uri::InvalidUri| ClientError::BadUrl { url: shown_url(&target.base_url), reason: e.to_string() })?;
        let mut headers = request_headers(target)?;
        let net = &target.net;
        if net.no_reuse && !has_token(headers.iter().filter(|(n, _)| n == CONNECTION).map(|(_, v)| v.as_bytes()), "close") {
            // HTTP/1.1 says so on the wire, and the server closes (RFC 9112 §9.6); HTTP/2
            // drops the header and closes the connection itself.
            headers.push((CONNECTION, HeaderValue::from_static("close")));
        }
        let proxy = net.proxy.resolve(scheme, &end.host, end.port, env).map_err(ClientError::Proxy)?;
        // `auto` on plain http cannot negotiate HTTP/2: it is HTTP/1.1.
        let http1_only = net.alpn == Alpn::Http1 || (net.alpn == Alpn::Auto && !end.https);
        let mut dialer = Dialer::new(end.host.clone(), end.port);
        dialer.connect_to = net.connect_to.as_deref().map(|t| connect_to(t, end.port)).transpose()?;
        if end.https {
            let alpn = if http1_only { Alpn::Http1 } else { net.alpn };
            let config = Arc::new(net.tls.client_config(alpn)?);
            dialer.tls = Some(TlsTarget { config, name: net.tls.server_name(&end.host)? });
        }
        let mut secrets = vec![target.api_key.expose().to_owned()];
        if let Some(p) = &proxy {
            secrets.extend(p.secrets());
            if p.kind == ProxyKind::Https {
                let to_proxy = TlsOptions { client_cert: None, client_key: None, server_name: None, ..net.tls.clone() };
                dialer.proxy_tls = Some(Arc::new(to_proxy.client_config(Alpn::Http1)?));
            }
            dialer.forward = !end.https && http1_only && matches!(p.kind, ProxyKind::Http | ProxyKind::Https);
        }
        let proxy_name = proxy.as_ref().map(Proxy::name);
        let mut request_target = end.path.clone();
        if dialer.forward {
            request_target = format!("http://{}{}", end.host_header, end.path);
            if let Some(auth) = proxy.as_ref().and_then(Proxy::basic_auth) {
                let mut value = HeaderValue::from_str(&auth).map_err(|_| ClientError::Proxy("credentials that are not a header value".into()))?;
                value.set_sensitive(true);
                headers.push((HeaderName::from_static("proxy-authorization"), value));
            }
        }
        dialer.proxy = proxy;
        let dialer = Arc::new(dialer);
        let h1 = Arc::new(Http1::new(dialer.clone(), &request_target, &end.host_header, &headers));
        let h2 = (!http1_only).then(|| Arc::new(Http2::new(dialer.clone(), uri.clone(), &headers, net.alpn == Alpn::Auto).with_fresh_connections(net.no_reuse)));
        let connector = DialConnector { dialer, limit: timeouts.connect };
        let mut builder = hyper_util::client::legacy::Client::builder(TokioExecutor::new());
        builder.pool_idle_timeout(Duration::from_secs(90));
        builder.http2_only(net.alpn == Alpn::Http2);
        let inner = builder.build(connector);
        Ok(Client { inner, h1, h2, uri, headers, timeouts, secrets, proxy: proxy_name, capture: false })
    }

    /// The proxy requests go through, by name (never its credentials).
    pub fn proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
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
        let uri = format!("{}/count_tokens", self.uri.to_string().trim_end_matches('/'));
        let (status, bytes) = self.side_request(Method::POST, &uri, body).await?;
        let count = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| v.get("input_tokens").and_then(Value::as_u64));
        match (status, count) {
            (200, Some(n)) => Ok(n),
            _ => Err(self.shown(status, &bytes)),
        }
    }

    /// The model ids the target lists at `GET /v1/models` (its first page of up to
    /// 1000), in its order. Errors say what came back, cut to size.
    pub async fn list_models(&self) -> Result<Vec<String>, String> {
        let base = self.uri.to_string();
        let uri = format!("{}/models?limit=1000", base.strip_suffix("/messages").unwrap_or(&base));
        let (status, bytes) = self.side_request(Method::GET, &uri, Bytes::new()).await?;
        let listed = serde_json::from_slice::<Value>(&bytes).ok();
        let ids = listed.as_ref().and_then(|v| v.get("data")?.as_array()).map(|data| data.iter().filter_map(|m| m.get("id")?.as_str().map(str::to_owned)).collect::<Vec<_>>());
        match (status, ids) {
            (200, Some(ids)) => Ok(ids),
            _ => Err(self.shown(status, &bytes)),
        }
    }

    /// One request beside the load (`count_tokens`, `/v1/models`) with the target's
    /// headers, its status and body up to [`MAX_ERROR_BODY`].
    async fn side_request(&self, method: Method, uri: &str, body: Bytes) -> Result<(u16, Bytes), String> {
        let mut request = self.build_request(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri.parse().map_err(|e: http::uri::InvalidUri| e.to_string())?;
        let deadline = Instant::now() + self.timeouts.total;
        let response = match timeout_at(deadline, self.inner.request(request)).await {
            Err(_) => return Err("no answer before the time limit".into()),
            Ok(Err(e)) => return Err(error_chain(&e)),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        let bytes = collect_limited(&mut response.into_body(), MAX_ERROR_BODY, deadline).await.map_err(|(_, why)| why)?;
        Ok((status, bytes))
    }

    /// An answer that was not what was asked, as an error says it: redacted, cut to size.
    fn shown(&self, status: u16, bytes: &[u8]) -> String {
        self.secrets.iter().fold(format!("HTTP {status}: {}", excerpt(bytes)), |text, secret| redact(&text, secret))
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
        *self.execute_boxed(body, template, stream, facts, start, false).await
    }

    /// [`Client::execute`] for a turn of a conversation: the reply's text is kept in the
    /// outcome, for the next turn to send back.
    pub async fn execute_turn(&self, body: Bytes, template: usize, stream: bool, facts: Option<&RequestFacts>, start: Instant) -> Outcome {
        *self.execute_boxed(body, template, stream, facts, start, true).await
    }

    /// [`Client::execute`], or [`Client::execute_turn`] with `keep_reply`, with the outcome
    /// left in its box: a load hands it on to the collector, and each move of an outcome
    /// (0.9 KB) on the way was a copy.
    pub async fn execute_boxed(&self, body: Bytes, template: usize, stream: bool, facts: Option<&RequestFacts>, start: Instant, keep_reply: bool) -> Box<Outcome> {
        let mut outcome = Box::new(Outcome::new(template, stream));
        if keep_reply {
            outcome.reply = Some(String::new());
        }
        self.execute_into(outcome, body, facts, start).await
    }

    /// The outcome is boxed while the request is in flight: inline, a future keeps it twice
    /// (the argument and the value returned), 1.8 KB of every idle stream's task.
    async fn execute_into(&self, mut outcome: Box<Outcome>, body: Bytes, facts: Option<&RequestFacts>, start: Instant) -> Box<Outcome> {
        outcome.start = Some(start);
        let deadline = Instant::now() + self.timeouts.total;
        self.exchange(body, start, deadline, facts, &mut outcome).await;
        outcome.e2e = Instant::now().saturating_duration_since(start);
        for secret in &self.secrets {
            outcome.sanitize(secret);
        }
        outcome
    }

    async fn exchange(&self, body: Bytes, start: Instant, deadline: Instant, facts: Option<&RequestFacts>, outcome: &mut Outcome) {
        let sent = Instant::now();
        let head_deadline = self.timeouts.ttfb.map_or(deadline, |t| (sent + t).min(deadline));
        let at = Deadlines { start, head: head_deadline, total: deadline };
        // One await of each way: each call site would keep its own state in this future.
        match self.route(at, outcome).await {
            Some(Route::H2(h2, slot, times)) => self.over_h2(h2, slot, times, body, at, facts, outcome).await,
            Some(Route::Http1(conn, times)) => self.over_http1(conn, times, body, at, facts, outcome).await,
            None => {}
        }
    }

    /// The way a request goes out: a stream on an HTTP/2 connection unless `auto`'s server
    /// chose HTTP/1.1. Then it takes an idle HTTP/1.1 connection, else a free stream on an
    /// HTTP/2 connection the server has chosen since, else a new connection. None when
    /// none could be had (the outcome says why).
    async fn route(&self, at: Deadlines, outcome: &mut Outcome) -> Option<Route<'_>> {
        let limit = self.timeouts.connect;
        if let Some(h2) = self.h2.as_ref().filter(|h2| !h2.chose_http1()) {
            return match self.settle(outcome, at, timeout_at(at.head, h2.open(limit)).await)? {
                Opened::H2(slot, times) => Some(Route::H2(h2, slot, times)),
                Opened::Http1(conn, times) => Some(Route::Http1(conn, Some(times))),
            };
        }
        if let Some(conn) = self.h1.take_idle() {
            return Some(Route::Http1(conn, None));
        }
        if let Some((h2, slot)) = self.h2.as_ref().and_then(|h2| Some((h2, h2.claim()?))) {
            return Some(Route::H2(h2, slot, None));
        }
        let (conn, times) = self.settle(outcome, at, timeout_at(at.head, self.h1.dial(limit)).await)?;
        if !conn.negotiated_h2() {
            return Some(Route::Http1(conn, Some(times)));
        }
        // Only `auto` offers both: the server chose HTTP/1.1 before and h2 now (an edge may
        // choose per connection), so the connection joins the HTTP/2 ones.
        let Some(h2) = self.h2.as_ref() else {
            self.connect_error(outcome, "the server chose HTTP/2 by ALPN, which was not offered");
            return None;
        };
        let slot = self.settle(outcome, at, timeout_at(at.head, h2.adopt(conn, limit)).await)?;
        Some(Route::H2(h2, slot, Some(times)))
    }

    /// What a connection step gave, or None with the outcome saying why it gave nothing.
    fn settle<T>(&self, outcome: &mut Outcome, at: Deadlines, step: Result<Result<T, DialError>, tokio::time::error::Elapsed>) -> Option<T> {
        match step {
            Err(_) => late(outcome, at),
            Ok(Err(e)) => self.dial_failed(outcome, e),
            Ok(Ok(done)) => return Some(done),
        }
        None
    }

    /// An exchange on a stream of a shared HTTP/2 connection.
    #[allow(clippy::too_many_arguments)]
    async fn over_h2(&self, h2: &Http2, slot: Slot, times: Option<ConnectTimes>, body: Bytes, at: Deadlines, facts: Option<&RequestFacts>, outcome: &mut Outcome) {
        // The stream is held until its response is read, so the connection counts it.
        let Some((response, _slot)) = self.h2_head(h2, slot, times, body, at, facts, outcome).await else { return };
        outcome.h2 = true;
        let (head, mut body) = response.into_parts();
        self.respond(head.status.as_u16(), head.headers, &mut body, at.start, at.total, facts, outcome).await;
    }

    /// Sends a request on `slot` and waits for its response head. A request the server
    /// did not process goes again on a stream [`Http2::open`] finds, as hyper's pool and
    /// RFC 9113 §8.7 send it, a few times at most. None when the outcome is settled.
    #[allow(clippy::too_many_arguments)]
    async fn h2_head(&self, h2: &Http2, slot: Slot, times: Option<ConnectTimes>, body: Bytes, at: Deadlines, facts: Option<&RequestFacts>, outcome: &mut Outcome) -> Option<(http::Response<h2::RecvStream>, Slot)> {
        let (mut next, mut tries) = ((slot, times), 0);
        loop {
            tries += 1;
            let (slot, times) = next;
            record_connect(outcome, times);
            match timeout_at(at.head, h2.request(&slot, body.clone())).await {
                Err(_) => {
                    late(outcome, at);
                    return None;
                }
                Ok(Ok(r)) => return Some((r, slot)),
                // The connection had closed before it left (a GOAWAY, an idle timeout),
                // or the stream was refused.
                Ok(Err(SendError::NotSent(_) | SendError::Refused(_))) if tries < MAX_H2_TRIES => {}
                Ok(Err(SendError::NotSent(e) | SendError::Refused(e) | SendError::Failed(e))) => {
                    outcome.fail(OutcomeKind::TransportError, e);
                    return None;
                }
            }
            drop(slot);
            // The rare way, boxed: inline, a retry's dial would be part of every request's
            // state, and the HTTP/1.1 way's too.
            next = match self.settle(outcome, at, timeout_at(at.head, Box::pin(h2.open(self.timeouts.connect))).await)? {
                Opened::H2(slot, times) => (slot, times),
                // `auto`, and the server chose HTTP/1.1 on the new connection.
                Opened::Http1(conn, times) => {
                    Box::pin(self.over_http1(conn, Some(times), body, at, facts, outcome)).await;
                    return None;
                }
            };
        }
    }

    /// The rest of an exchange on an HTTP/1.1 connection; the connection goes back to the
    /// pool if its response was read to a clean end.
    async fn over_http1(&self, mut conn: Conn, times: Option<ConnectTimes>, body: Bytes, at: Deadlines, facts: Option<&RequestFacts>, outcome: &mut Outcome) {
        let (start, deadline, head_deadline) = (at.start, at.total, at.head);
        record_connect(outcome, times);
        let response = match timeout_at(head_deadline, self.h1.request(&mut conn, &body)).await {
            Err(_) => return late(outcome, at),
            Ok(Err(e)) => return outcome.fail(OutcomeKind::TransportError, e),
            Ok(Ok(r)) => r,
        };
        let super::h1::Response { status, headers, mut body } = response;
        self.respond(status, headers, &mut body, start, deadline, facts, outcome).await;
        if body.reusable() {
            drop(body);
            self.h1.put_back(conn);
        }
    }

    fn dial_failed(&self, outcome: &mut Outcome, e: DialError) {
        match e {
            DialError::Timeout => self.connect_timeout(outcome),
            DialError::Error(e) => self.connect_error(outcome, &e),
        }
    }

    fn connect_timeout(&self, outcome: &mut Outcome) {
        outcome.fail(OutcomeKind::ConnectTimeout, format!("no connection to {} within the connect limit", self.uri))
    }

    fn connect_error(&self, outcome: &mut Outcome, why: &str) {
        outcome.fail(OutcomeKind::ConnectError, format!("cannot connect to {}: {why}", self.uri))
    }

    /// The part of an exchange after the response head, the same on either connection
    /// (the head as our HTTP/1.1 reader keeps it, or h2's map for HTTP/2). The head is
    /// read before the body and dropped: a real API's answer carries twenty headers, which
    /// a stream waiting for its tokens need not hold.
    #[allow(clippy::too_many_arguments)]
    async fn respond(
        &self,
        status: u16,
        headers: impl HeaderFields,
        body: &mut impl BodyReader,
        start: Instant,
        deadline: Instant,
        facts: Option<&RequestFacts>,
        outcome: &mut Outcome,
    ) {
        outcome.ttfb = Some(start.elapsed());
        outcome.status = Some(status);
        if self.capture {
            let headers = headers.fields().map(|(k, v)| (k.to_owned(), String::from_utf8_lossy(v).into_owned())).collect();
            outcome.raw = Some(Box::new(RawResponse { status, headers, ..RawResponse::default() }));
        }
        let stream = outcome.stream && (200..300).contains(&status);
        outcome.findings.extend(envelope::check_headers(status, stream, &headers));
        let now = crate::conformance::limits::unix_now();
        outcome.limits = crate::conformance::limits::RateLimits::from_headers(&headers, now).map(Box::new);
        let date = headers.text(http::header::DATE.as_str());
        outcome.server_date = date.and_then(|d| ServerDate::read(d, outcome.ttfb.unwrap_or_default(), now));
        // We never send accept-encoding, so an encoded body is the server's fault, and
        // parsing compressed bytes as SSE or JSON would only report noise.
        if let Some(encoding) = headers.text(http::header::CONTENT_ENCODING.as_str()) {
            if !encoding.eq_ignore_ascii_case("identity") {
                return outcome.fail(OutcomeKind::Malformed, format!("content-encoding {} that was not asked for", excerpt(encoding.as_bytes())));
            }
        }
        let mut header_signals = Fingerprint::default();
        header_signals.add_headers(&headers);
        drop(headers);
        if !(200..300).contains(&status) {
            read_error_body(body, deadline, outcome).await;
        } else if outcome.stream {
            read_stream(body, start, deadline, self.timeouts.idle, facts, outcome).await;
        } else {
            read_message(body, deadline, facts, outcome).await;
        }
        if let Some(fp) = &mut outcome.fingerprint {
            fp.observed.append(&mut header_signals.observed);
            fp.requested = facts.map(|f| f.model.clone()).filter(|m| !m.is_empty());
        }
    }
}

/// No response head by `head_deadline`: the time-to-first-byte limit's, or the request's.
/// Where [`Client::route`] sends a request: a stream on a shared HTTP/2 connection or an
/// HTTP/1.1 connection, with what opening the connection took if this request opened it.
enum Route<'a> {
    H2(&'a Http2, Slot, Option<ConnectTimes>),
    Http1(Conn, Option<ConnectTimes>),
}

/// When a request started, when its head is due, and when it must be over.
#[derive(Clone, Copy)]
struct Deadlines {
    start: Instant,
    head: Instant,
    total: Instant,
}

fn late(outcome: &mut Outcome, at: Deadlines) {
    if at.head < at.total {
        outcome.fail(OutcomeKind::TtfbTimeout, "no response head within the time-to-first-byte limit")
    } else {
        outcome.fail(OutcomeKind::Timeout, "no response head before the time limit")
    }
}

/// What opening a new connection took, on the outcome of the request that waited for it.
fn record_connect(outcome: &mut Outcome, times: Option<ConnectTimes>) {
    if let Some(t) = times {
        (outcome.dns, outcome.connect, outcome.proxy, outcome.tls, outcome.tls_resumed) = (t.dns, t.connect, t.proxy, t.tls, t.resumed);
    }
}

fn request_headers(target: &Target) -> Result<Vec<(HeaderName, HeaderValue)>, ClientError> {
    let mut list = vec![(CONTENT_TYPE.as_str().to_owned(), protocol::CONTENT_TYPE_JSON.to_owned())];
    if let Some(v) = &target.anthropic_version {
        list.push((protocol::HEADER_VERSION.to_owned(), v.clone()));
    }
    list.extend(target.headers.iter().cloned());
    let mut headers = Vec::with_capacity(list.len() + 2);
    for (name, value) in list {
        let bad = |reason| ClientError::BadHeader { name: name.clone(), reason };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad(""))?;
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            // Two framings on the wire is the shape of request smuggling.
            return Err(bad(": the client frames the body itself"));
        }
        if (name == HOST || name == CONNECTION) && headers.iter().any(|(n, _)| *n == name) {
            return Err(bad(": given twice"));
        }
        headers.push((name, HeaderValue::from_str(&value).map_err(|_| bad(""))?));
    }
    if !headers.iter().any(|(n, _)| *n == USER_AGENT) {
        headers.push((USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE)));
    }
    if target.api_key.is_none() {
        return Ok(headers);
    }
    let (name, value) = match target.auth {
        AuthStyle::XApiKey => (HeaderName::from_static(protocol::HEADER_API_KEY), target.api_key.expose().to_owned()),
        AuthStyle::Bearer => (AUTHORIZATION, format!("Bearer {}", target.api_key.expose())),
    };
    // The error names the header, never the value, which holds the key.
    let mut value = HeaderValue::from_str(&value).map_err(|_| ClientError::BadHeader { name: name.to_string(), reason: "" })?;
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
            net: NetOptions::default(),
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
        let mut keyless = target(AuthStyle::XApiKey);
        keyless.api_key = ApiKey::none();
        let req = Client::new(&keyless, Timeouts::default()).expect("client").build_request(Bytes::new());
        assert!(!req.headers().contains_key("x-api-key") && !req.headers().contains_key("authorization"));
        assert_eq!(req.headers()["anthropic-version"], "2023-06-01", "only the key is left out");
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
