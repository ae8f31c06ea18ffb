//! The embedded mock provider: the Messages API from the server side, on loopback.
//!
//! It is the default target of every example and test, so it must be exact: the event
//! sequence of PROTOCOL.md §2, the error envelopes of §3, the request checks of §5, and
//! response times that follow a latency model instead of arriving all at once.

pub mod cache;
pub mod channel;
pub mod latency;
pub mod limiter;
pub mod models;
pub mod profile;
pub mod quirk;
pub mod reply;
pub mod stream;
pub mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use crate::conformance::Rule;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::conformance::validate::{self, Rejection};
use crate::protocol::{self, error_body, CONTENT_TYPE_JSON, HEADER_REQUEST_ID};
use crate::rng::Rng;
use latency::LatencyModel;
use reply::OutputLength;

/// Models the mock serves when none are configured: the current Claude ids.
pub const DEFAULT_MODELS: [&str; 8] = crate::provider::OFFICIAL_MODELS;

/// Largest request body the API accepts (DOC-ERR: 413 beyond 32 MB).
const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// Everything that shapes the mock's answers.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Seed of the generated text and of the latency jitter.
    pub seed: u64,
    /// The key a request must present (`x-api-key` or `Authorization: Bearer`).
    pub api_key: String,
    /// Delays of each response.
    pub latency: LatencyModel,
    /// Natural answer length before `max_tokens` applies.
    pub output: OutputLength,
    /// Models that exist; any other is a 404 `not_found_error`.
    pub models: Vec<String>,
    /// A conformance rule to break on purpose (see [`quirk`]).
    pub quirk: Option<crate::conformance::Rule>,
    /// Body fields accepted beyond the official ones (a relay profile's extensions).
    pub extra_fields: Vec<String>,
    /// Reject requests without `anthropic-version`, as the API does.
    pub version_required: bool,
    /// Accept images by URL as well as base64.
    pub url_images: bool,
    /// At most this many responses in progress; the rest queue, and the wait shows as
    /// latency (a provider with a known capacity, for sweeps).
    pub capacity: Option<usize>,
    /// A pause: from `after` the server start, for `length`, no response begins.
    pub stall: Option<Stall>,
    /// Rate limits metered per key, with the API's headers and 429s.
    pub rate_limit: Option<limiter::RateLimit>,
    /// Answer this share of requests 529 `overloaded_error`, as an overloaded API does.
    pub overload: Option<Overload>,
    /// When set, each stream's first-token send time, by the request's
    /// `metadata.user_id`: the server's side of the client/wire timing comparison
    /// (`cargo bench --bench wire_timing`). Never set from a scenario.
    pub send_log: Option<stream::SendLog>,
    /// Serve https (HTTP/2 or HTTP/1.1 by ALPN) with this configuration.
    pub tls: Option<tls::MockTls>,
    /// The channel the answers look like they came through (PROTOCOL.md §9).
    pub channel: channel::MockChannel,
    /// Relay software played in front of the mock.
    pub gateway: Option<channel::MockGateway>,
}

/// Overload the mock answers a share of requests with: 529 `overloaded_error`, with
/// `retry-after-ms`, `retry-after` and `x-should-retry: true`, as the API sends them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overload {
    /// The share of requests refused, 0 to 1, drawn per request from the seed.
    pub share: f64,
    /// The wait the answer asks for.
    pub retry_after: std::time::Duration,
}

/// A fixed pause in the mock's service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// When it begins, from the server's start.
    pub after: std::time::Duration,
    /// How long it lasts.
    pub length: std::time::Duration,
}

impl MockConfig {
    /// The default mock, accepting `api_key`.
    pub fn new(api_key: impl Into<String>) -> Self {
        MockConfig {
            seed: 1,
            api_key: api_key.into(),
            latency: LatencyModel::default(),
            output: OutputLength { min: 32, max: 192 },
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            quirk: None,
            extra_fields: Vec::new(),
            version_required: true,
            url_images: true,
            capacity: None,
            stall: None,
            rate_limit: Some(limiter::ROOMY),
            overload: None,
            send_log: None,
            tls: None,
            channel: channel::MockChannel::Anthropic,
            gateway: None,
        }
    }
}

struct State {
    config: MockConfig,
    requests: AtomicU64,
    started: Instant,
    slots: Option<Arc<tokio::sync::Semaphore>>,
    cache: cache::PromptCache,
    /// Request bodies answered so far, for the response-cache quirk.
    answered: cache::PromptCache,
    /// The rate limits' buckets, when the mock meters any.
    limiter: Option<limiter::Limiter>,
    /// The server's start in unix seconds, for the frozen headers of the static quirk.
    started_unix: f64,
}

/// A running mock. Dropping it stops the server and closes its connections.
pub struct MockServer {
    addr: SocketAddr,
    tls: Option<tls::MockTls>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl MockServer {
    /// Binds `addr` (port 0 for an ephemeral port) and serves until dropped.
    pub async fn start(config: MockConfig, addr: SocketAddr) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let slots = config.capacity.map(|k| Arc::new(tokio::sync::Semaphore::new(k.max(1))));
        let limiter = config.rate_limit.map(limiter::Limiter::new);
        let tls = config.tls.clone();
        let acceptor = tls.as_ref().map(|t| tokio_rustls::TlsAcceptor::from(t.config.clone()));
        let state = Arc::new(State {
            config,
            limiter,
            started_unix: crate::conformance::limits::unix_now(),
            requests: AtomicU64::new(0),
            started: Instant::now(),
            slots,
            cache: cache::PromptCache::default(),
            answered: cache::PromptCache::default(),
        });
        let task = tokio::spawn(accept_loop(listener, acceptor, state));
        Ok(MockServer { addr, tls, task: Some(task) })
    }

    /// Starts on an ephemeral loopback port.
    pub async fn start_local(config: MockConfig) -> std::io::Result<MockServer> {
        Self::start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr` (`https://` when it serves TLS), the base URL a client uses.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The CA file a client must trust, when the mock serves TLS with a certificate it made.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().and_then(|t| t.ca_file.as_deref())
    }

    /// Serves until the process ends (for the standalone `relaybench mock`).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// How long a TLS client may take over its handshake before the mock drops it.
const HANDSHAKE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

async fn accept_loop(listener: TcpListener, acceptor: Option<tokio_rustls::TlsAcceptor>, state: Arc<State>) {
    // Connections live in this set, so aborting the loop also closes them.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of descriptors (EMFILE) or a connection gone before it was
                    // taken: wait a moment instead of spinning on the same error.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (state, acceptor) = (state.clone(), acceptor.clone());
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(req, state.clone()));
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    match acceptor {
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                        }
                        Some(acceptor) => {
                            // A client that never finishes its handshake costs one task, for a while.
                            let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(stream)).await else { return };
                            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Response body: a whole buffer, or stream chunks from the writer task.
pub enum MockBody {
    /// A complete body.
    Full(Option<Bytes>),
    /// Chunks as the writer produces them.
    Stream(mpsc::Receiver<Bytes>),
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            MockBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            MockBody::Stream(rx) => rx.poll_recv(cx).map(|c| c.map(|d| Ok(Frame::data(d)))),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(Some(d)) => SizeHint::with_exact(d.len() as u64),
            MockBody::Full(None) => SizeHint::with_exact(0),
            MockBody::Stream(_) => SizeHint::default(),
        }
    }
}

async fn handle(req: Request<Incoming>, state: Arc<State>) -> Result<Response<MockBody>, Infallible> {
    let n = state.requests.fetch_add(1, Ordering::Relaxed);
    let mut rng = Rng::derive(state.config.seed, n);
    let request_id = format!("req_{}", reply::base58(&mut rng, 24));
    let mut extra = Vec::new();
    let response = match respond(req, &state, &mut rng, &mut extra).await {
        Ok(r) => r,
        Err(rej) => {
            let status = StatusCode::from_u16(rej.status).unwrap_or(StatusCode::BAD_REQUEST);
            let mut body = error_body(rej.error_type, &rej.message, &request_id);
            if state.config.gateway.is_some() {
                channel::gateway_error(&mut body);
            }
            match state.config.quirk {
                Some(q) => {
                    let (bytes, content_type) = quirk::apply_error(q, rej.status, body);
                    bytes_response(status, bytes, content_type)
                }
                None => json_response(status, &body),
            }
        }
    };
    let mut response = with_request_id(response, &request_id);
    let stream = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if quirk::drops_limit_headers(state.config.quirk, stream) {
        extra.retain(|(name, _)| !name.starts_with(protocol::HEADER_RATELIMIT_PREFIX));
    }
    if state.config.gateway.is_some() {
        channel::gateway_headers(&mut rng, &mut extra, stream);
        if !stream {
            response.headers_mut().remove(HEADER_REQUEST_ID);
        }
    }
    for (name, value) in extra {
        if let (Ok(name), Ok(value)) = (header::HeaderName::try_from(name), header::HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}

/// `count_tokens`: the request's input by the mock's rule, the one every reply reports.
/// The body is checked as a Message request is, but without `max_tokens`.
fn count_tokens(raw: &[u8], config: &MockConfig) -> Result<Response<MockBody>, Rejection> {
    let mut body: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(raw)
        .map_err(|e| Rejection { status: 400, error_type: "invalid_request_error", message: format!("invalid JSON body: {e}") })?;
    if body.contains_key("max_tokens") {
        return Err(Rejection { status: 400, error_type: "invalid_request_error", message: "max_tokens: Extra inputs are not permitted".into() });
    }
    body.insert("max_tokens".into(), 1.into());
    let body = validate::validate_with(serde_json::Value::Object(body).to_string().as_bytes(), &config.models, false, &config.extra_fields)?;
    let tokens = match config.quirk {
        Some(Rule::IdentityTokenizer) => quirk::substitute_tokens(&body),
        _ => crate::synth::request_tokens(&body),
    };
    Ok(json_response(StatusCode::OK, &serde_json::json!({"input_tokens": tokens})))
}

/// Answers one request; headers that go on the answer whatever it is (the rate limits')
/// are added to `extra`.
async fn respond(req: Request<Incoming>, state: &State, rng: &mut Rng, extra: &mut Vec<(String, String)>) -> Result<Response<MockBody>, Rejection> {
    // The response's delays run from the request's arrival (its head), as a server's
    // clock would, not from after reading and checking the body.
    let mut start = Instant::now();
    let config = &state.config;
    let counting = req.uri().path() == protocol::COUNT_TOKENS_PATH;
    if let Some(rest) = req.uri().path().strip_prefix(protocol::MODELS_PATH) {
        check_auth(req.headers(), &config.api_key)?;
        return models::answer(&config.models, rest, req.method()).map(|body| json_response(StatusCode::OK, &body));
    }
    if req.uri().path() != protocol::MESSAGES_PATH && !counting {
        return Err(Rejection { status: 404, error_type: "not_found_error", message: format!("Not found: {}", req.uri().path()) });
    }
    if req.method() != Method::POST {
        return Err(Rejection { status: 405, error_type: "invalid_request_error", message: format!("Method {} not allowed", req.method()) });
    }
    check_auth(req.headers(), &config.api_key)?;
    if config.version_required && !req.headers().contains_key(protocol::HEADER_VERSION) {
        return Err(Rejection { status: 400, error_type: "invalid_request_error", message: "anthropic-version: header is required".into() });
    }
    // The context-management beta takes effect only with its header: the response then
    // reports what was applied.
    let context_beta = req
        .headers()
        .get_all(protocol::HEADER_BETA)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|b| b.trim() == protocol::BETA_CONTEXT_MANAGEMENT));
    let raw = Limited::new(req.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
        .map_err(|_| Rejection { status: 413, error_type: "request_too_large", message: "Request exceeds the maximum allowed number of bytes.".into() })?
        .to_bytes();
    if counting {
        return count_tokens(&raw, config);
    }
    let lax = config.quirk == Some(Rule::ProbeUnexpectedResponse);
    let body = validate::validate_with(&raw, &config.models, lax, &config.extra_fields)?;
    if !config.url_images && validate::has_url_image(&body) {
        return Err(Rejection { status: 400, error_type: "invalid_request_error", message: "image source type url is not supported; send the image as base64".into() });
    }
    let stream = body.get("stream").and_then(serde_json::Value::as_bool).unwrap_or(false);
    // Queue for a slot, then wait out a stall; after either, the response's own delays
    // start when it ends.
    let slot = match &state.slots {
        Some(slots) => match slots.clone().try_acquire_owned() {
            Ok(slot) => Some(slot),
            Err(_) => {
                let slot = slots.clone().acquire_owned().await.ok();
                start = Instant::now();
                slot
            }
        },
        None => None,
    };
    if let Some(stall) = config.stall {
        let (begin, end) = (state.started + stall.after, state.started + stall.after + stall.length);
        if (begin..end).contains(&Instant::now()) {
            tokio::time::sleep_until(end).await;
            start = Instant::now();
        }
    }
    if config.quirk == Some(Rule::EnvelopeOverloadedFlattened) {
        drop(slot);
        return Ok(json_response(StatusCode::BAD_GATEWAY, &quirk::flattened_overload()));
    }
    let id = format!("msg_{}", reply::base58(rng, 24));
    let ignored = config.quirk == Some(Rule::RequestStopSequenceIgnored);
    let key = reply::content_key(&body);
    let mut planned = match ignored {
        true => quirk::plan_ignoring_stop_sequences(&body, key, config.seed, config.output, id),
        false => reply::plan(&body, key, config.seed, config.output, id),
    };
    if config.quirk == Some(Rule::IdentityTokenizer) {
        planned.input_tokens = quirk::substitute_tokens(&body);
    }
    if let Some((key, tokens, one_hour)) = cache::prefix(&body) {
        planned.use_cache(tokens, state.cache.hit(key), one_hour);
    }
    if let Some(overload) = config.overload.filter(|o| rng.next_f64() < o.share) {
        let ms = overload.retry_after.as_millis();
        extra.push((protocol::HEADER_RETRY_AFTER_MS.to_owned(), ms.to_string()));
        extra.push((protocol::HEADER_RETRY_AFTER.to_owned(), ms.div_ceil(1000).max(1).to_string()));
        extra.push((protocol::HEADER_SHOULD_RETRY.to_owned(), "true".to_owned()));
        return Err(Rejection { status: 529, error_type: "overloaded_error", message: "Overloaded".into() });
    }
    if config.quirk == Some(Rule::LimitsStaticHeaders) {
        extra.extend(limiter::static_headers(state.started_unix));
    } else if let Some(limiter) = &state.limiter {
        let input = planned.input_tokens + planned.cache_creation_input_tokens;
        match limiter.admit(input, planned.output_tokens()) {
            limiter::Admission::Served(headers) => extra.extend(headers),
            limiter::Admission::Throttled(headers) => {
                extra.extend(headers);
                return Err(Rejection { status: 429, error_type: "rate_limit_error", message: "Number of requests has exceeded your rate limit. Please try again later.".into() });
            }
        }
    }
    if channel::dress(config.channel, rng, &mut planned, extra) {
        extra.retain(|(name, _)| !name.starts_with(protocol::HEADER_RATELIMIT_PREFIX));
    }
    // Input read from the cache skips prefill; input written to it does not.
    let timing = config.latency.draw(rng, planned.input_tokens + planned.cache_creation_input_tokens);
    // A caching relay answers a repeated request at once, from its cache.
    let cached = config.quirk == Some(Rule::IdentityResponseCache) && state.answered.hit(crate::rng::hash_bytes(&raw));
    let timing = if cached { quirk::CACHED.draw(rng, 0) } else { timing };

    if stream {
        let mut events = stream::plan_events(&planned, config.quirk.is_some());
        if let Some(q) = config.quirk {
            quirk::apply_stream(q, &mut events);
        }
        let (tx, rx) = mpsc::channel(16);
        let first_token = start + timing.due(0);
        let hold = (config.quirk == Some(Rule::BufferedStream)).then_some(quirk::BUFFER_HOLD);
        let log = config.send_log.clone().and_then(|log| {
            let key = body.get("metadata")?.get("user_id")?.as_str()?.to_owned();
            Some((log, key))
        });
        tokio::spawn(async move {
            stream::send_events(events, timing, start, tx, hold, log).await;
            drop(slot);
        });
        if config.gateway.is_some() || config.quirk == Some(Rule::StreamHeadHeld) {
            // The gateway holds the head (and message_start) until the first token.
            tokio::time::sleep_until(first_token).await;
        }
        let mut response = Response::new(MockBody::Stream(rx));
        let content_type = quirk::stream_content_type(config.quirk);
        response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
        response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache"));
        return Ok(response);
    }
    let tokens = planned.output_tokens() as usize;
    tokio::time::sleep_until(start + timing.due(tokens.saturating_sub(1))).await;
    let mut message = planned.message_json();
    if context_beta && body.contains_key("context_management") {
        message["context_management"] = serde_json::json!({"applied_edits": []});
    }
    if let Some(q) = config.quirk {
        quirk::apply_message(q, &mut message);
    }
    drop(slot);
    Ok(json_response(StatusCode::OK, &message))
}

fn check_auth(headers: &HeaderMap, key: &str) -> Result<(), Rejection> {
    let presented = headers
        .get(protocol::HEADER_API_KEY)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        });
    match presented {
        Some(k) if k == key => Ok(()),
        Some(_) => Err(Rejection { status: 401, error_type: "authentication_error", message: "invalid x-api-key".into() }),
        None => Err(Rejection { status: 401, error_type: "authentication_error", message: "x-api-key header is required".into() }),
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<MockBody> {
    bytes_response(status, body.to_string().into_bytes(), CONTENT_TYPE_JSON)
}

fn bytes_response(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response<MockBody> {
    let mut response = Response::new(MockBody::Full(Some(Bytes::from(body))));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    response
}

fn with_request_id(mut response: Response<MockBody>, request_id: &str) -> Response<MockBody> {
    if let Ok(v) = header::HeaderValue::from_str(request_id) {
        response.headers_mut().insert(HEADER_REQUEST_ID, v);
    }
    response
}
