//! HTTP/2 as a load generator needs it, on the `h2` crate directly: connections to the
//! origin shared by every request, opened by the same [`Dialer`] as HTTP/1.1.
//!
//! hyper's pooled client sent each request from the asking task to the connection's task
//! through a channel, spawned a third task per request to feed its body, and that task ran
//! after the connection had written the request's HEADERS: HEADERS and DATA left in two
//! writes (1.35 sends a request against h2load's 0.65 on a Message over TLS, counted with
//! `perf stat -e syscalls:sys_enter_sendto`; 0.45 now). Here the asking task hands HEADERS and DATA to
//! h2 together, so the connection writes them in one go, and reads its response frames
//! itself.
//!
//! A connection carries as many streams at once as the server's `max_concurrent_streams`
//! allows; a request past that on every connection opens another, as Go's transport and
//! h2load's `-c` do. On one connection it would wait inside h2 for a stream to close, and
//! the wait would count in its latency: the concurrency a scenario sets would not be the
//! concurrency the server sees.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use h2::RecvStream;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, TE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, Method, Request, Response, Uri};

use super::body::error_chain;
use super::conn::Conn;
use super::dial::{ConnectTimes, DialError, Dialer};

/// hyper's client defaults, kept so that moving off hyper changed no window a server sees:
/// 5 MB for the connection, 2 MB a stream, 16 KB of response headers.
const CONNECTION_WINDOW: u32 = 5 * 1024 * 1024;
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
const MAX_HEADER_LIST: u32 = 16 * 1024;
/// Streams opened on a first connection before the server's SETTINGS say how many it
/// takes (hyper's default too; RFC 9113 §6.5.2 recommends servers allow at least 100). A
/// later connection starts from what the open ones were told.
const STREAMS_BEFORE_SETTINGS: usize = 100;

/// Request headers HTTP/2 forbids (RFC 9113 §8.2.2), dropped from the user's as hyper
/// drops them; `te` is kept only as `trailers`.
const CONNECTION_SPECIFIC: [&str; 3] = ["keep-alive", "proxy-connection", "upgrade"];

/// A handle on an HTTP/2 connection, whether it is known to be closed (its task ended,
/// or a request found it so), and how many of its streams requests hold.
#[derive(Clone)]
pub struct Shared {
    send: SendRequest<Bytes>,
    closed: Arc<AtomicBool>,
    streams: Arc<AtomicUsize>,
}

impl Shared {
    /// A stream on this connection, if the server takes one more.
    fn claim(&self) -> Option<Slot> {
        let held = self.streams.load(Ordering::Acquire);
        (held < self.send.current_max_send_streams()).then(|| self.slot())
    }

    fn slot(&self) -> Slot {
        self.streams.fetch_add(1, Ordering::AcqRel);
        Slot { conn: self.clone() }
    }
}

/// A stream held on a connection, from the request until its response is read; the
/// connection counts it until this is dropped.
pub struct Slot {
    conn: Shared,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.conn.streams.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a request goes out on.
pub enum Opened {
    /// A stream on a shared HTTP/2 connection, with what opening the connection took if
    /// this request opened it.
    H2(Slot, Option<ConnectTimes>),
    /// `auto`, and the server chose HTTP/1.1 by ALPN: the connection, for the HTTP/1.1
    /// reader.
    Http1(Conn, ConnectTimes),
}

/// Why a request got no response head.
#[derive(Debug)]
pub enum SendError {
    /// The connection was closed before the request left: it may be sent on another.
    NotSent(String),
    /// The server refused the stream, so it did not process the request (RFC 9113 §8.7:
    /// safe to send again). A server answers so to streams opened before its
    /// `max_concurrent_streams` reached the client.
    Refused(String),
    /// After it left: the stream was reset, or the connection broke.
    Failed(String),
}

/// The HTTP/2 connections to one origin and the request head sent on them. No `Debug`:
/// the head holds the key.
pub struct Http2 {
    dialer: Arc<Dialer>,
    uri: Uri,
    headers: HeaderMap,
    /// `auto`: a connection whose TLS chose http/1.1 is handed back for HTTP/1.1.
    auto: bool,
    /// Set in `auto` once a server chose http/1.1.
    chose_http1: AtomicBool,
    /// A connection for each request, closed once its response is read (no keep-alive):
    /// none is kept for the next request.
    fresh: bool,
    live: Mutex<Vec<Shared>>,
    /// Held while a connection is being opened, so that the requests waiting for it share
    /// it rather than each opening their own.
    dialing: tokio::sync::Mutex<()>,
}

impl Http2 {
    /// The connection `dialer` opens; every request goes to `uri` (scheme and authority
    /// become `:scheme` and `:authority`) with `headers`, without those HTTP/2 forbids.
    pub fn new(dialer: Arc<Dialer>, uri: Uri, headers: &[(HeaderName, HeaderValue)], auto: bool) -> Http2 {
        let mut map = HeaderMap::with_capacity(headers.len() + 1);
        for (name, value) in headers {
            let forbidden = name == CONNECTION || name == TRANSFER_ENCODING || name == UPGRADE || CONNECTION_SPECIFIC.contains(&name.as_str());
            if forbidden || (name == TE && value != "trailers") {
                continue;
            }
            map.append(name.clone(), value.clone());
        }
        Http2 { dialer, uri, headers: map, auto, chose_http1: AtomicBool::new(false), fresh: false, live: Mutex::default(), dialing: tokio::sync::Mutex::new(()) }
    }

    /// With `on`, each request opens its own connection, which closes once the request's
    /// stream is done.
    pub fn with_fresh_connections(mut self, on: bool) -> Http2 {
        self.fresh = on;
        self
    }

    /// True in `auto` once a server chose HTTP/1.1: requests then go to the HTTP/1.1
    /// reader's idle connections first.
    pub fn chose_http1(&self) -> bool {
        self.chose_http1.load(Ordering::Relaxed)
    }

    /// A stream on the first open connection with room for one; closed connections are
    /// forgotten.
    pub fn claim(&self) -> Option<Slot> {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|c| !c.closed.load(Ordering::Acquire));
        live.iter().find_map(Shared::claim)
    }

    /// A stream on a connection in use, or on a new one when none has room (one is opened
    /// at a time: the requests that wait for it take its streams first). With fresh
    /// connections, always a new one.
    pub async fn open(&self, limit: Duration) -> Result<Opened, DialError> {
        if self.fresh {
            return self.open_new(limit).await;
        }
        if let Some(slot) = self.claim() {
            return Ok(Opened::H2(slot, None));
        }
        let _dialing = self.dialing.lock().await;
        if let Some(slot) = self.claim() {
            return Ok(Opened::H2(slot, None));
        }
        self.open_new(limit).await
    }

    /// A new connection and a stream on it, or the connection itself where `auto` found
    /// the server chose HTTP/1.1.
    async fn open_new(&self, limit: Duration) -> Result<Opened, DialError> {
        let (conn, times) = self.dialer.dial(limit).await?;
        if self.auto && matches!(conn, Conn::Tls(_)) && !conn.negotiated_h2() {
            self.chose_http1.store(true, Ordering::Relaxed);
            return Ok(Opened::Http1(conn, times));
        }
        Ok(Opened::H2(self.adopt(conn, limit).await?, Some(times)))
    }

    /// Starts HTTP/2 on a connection just opened, keeps it for the requests to come, and
    /// gives the request that opened it a stream on it, whatever the server allows. In
    /// `auto`, a connection the HTTP/1.1 side opened comes here when the server chose h2
    /// on it: an edge may choose per connection.
    pub async fn adopt(&self, conn: Conn, limit: Duration) -> Result<Slot, DialError> {
        let known = self.live.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|c| c.send.current_max_send_streams()).min();
        let handshake = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_header_list_size(MAX_HEADER_LIST)
            .enable_push(false)
            .initial_max_send_streams(known.unwrap_or(STREAMS_BEFORE_SETTINGS))
            .handshake::<_, Bytes>(conn);
        let (send, connection) = match tokio::time::timeout(limit, handshake).await {
            Err(_) => return Err(DialError::Timeout),
            Ok(Err(e)) => return Err(DialError::Error(format!("HTTP/2 handshake: {e}"))),
            Ok(Ok(pair)) => pair,
        };
        let closed = Arc::new(AtomicBool::new(false));
        let ended = closed.clone();
        tokio::spawn(async move {
            // Its errors reach every open stream, and so each request's outcome.
            let _ = connection.await;
            ended.store(true, Ordering::Release);
        });
        let shared = Shared { send, closed, streams: Arc::default() };
        let slot = shared.slot();
        // Unshared, the connection's last handle goes with the slot, and h2 then closes it.
        if !self.fresh {
            self.live.lock().unwrap_or_else(PoisonError::into_inner).push(shared);
        }
        Ok(slot)
    }

    /// Sends the request with `body` on the stream `slot` holds, HEADERS and DATA handed
    /// over together, and waits for the response head. A connection found closed before the
    /// request left is marked so, and [`Http2::open`] no longer uses it.
    pub async fn request(&self, slot: &Slot, body: Bytes) -> Result<Response<RecvStream>, SendError> {
        let conn = &slot.conn;
        let closed = |e: h2::Error| {
            conn.closed.store(true, Ordering::Release);
            SendError::NotSent(error_chain(&e))
        };
        let mut send = conn.send.clone().ready().await.map_err(closed)?;
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        let (response, mut stream) = send.send_request(request, body.is_empty()).map_err(closed)?;
        if !body.is_empty() {
            // h2 keeps what the flow-control window cannot take yet and sends it as the
            // server opens the window; the bytes are shared, not copied.
            stream.send_data(body, true).map_err(|e| SendError::Failed(error_chain(&e)))?;
        }
        response.await.map_err(|e| {
            if e.is_remote() && e.reason() == Some(h2::Reason::REFUSED_STREAM) {
                SendError::Refused(error_chain(&e))
            } else {
                SendError::Failed(error_chain(&e))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_http2_forbids_are_dropped_as_hyper_drops_them() {
        let given: Vec<(HeaderName, HeaderValue)> = [("connection", "close"), ("keep-alive", "5"), ("te", "gzip"), ("x-api-key", "k"), ("te", "trailers"), ("anthropic-beta", "a"), ("anthropic-beta", "b")]
            .into_iter()
            .map(|(n, v)| (HeaderName::from_static(n), HeaderValue::from_static(v)))
            .collect();
        let dialer = Arc::new(Dialer::new("127.0.0.1".into(), 1));
        let h2 = Http2::new(dialer, "http://127.0.0.1:1/v1/messages".parse().expect("uri"), &given, false);
        let kept: Vec<(&str, &str)> = h2.headers.iter().map(|(n, v)| (n.as_str(), v.to_str().expect("text"))).collect();
        assert_eq!(kept, [("x-api-key", "k"), ("te", "trailers"), ("anthropic-beta", "a"), ("anthropic-beta", "b")]);
    }
}
