//! HTTP/1.1 as a load generator needs it, over plain TCP or TLS: one task per request
//! that connects (or takes an idle connection), writes the request, and reads the response
//! off the connection itself.
//!
//! hyper's client keeps, for every connection, a 32-slot request channel, an 8 KB write
//! buffer and an 8 KB read buffer (26 KB a connection, measured), and moves each body
//! frame from its connection task to the task that asked. Here a read goes into a scratch
//! buffer of the worker thread and is handed on at once (to the SSE parser, which keeps
//! only an event cut by the read), so a stream waiting for its next token holds no buffer
//! of its own (nor does TLS: [`super::tls_stream`]), and each read wakes one task.
//! Heads are parsed by httparse, hyper's own parser. HTTP/2 is [`super::http2`].

use std::cell::RefCell;
use std::io::{ErrorKind, Write as _};
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::chunked::Chunked;
use super::conn::Conn;
use super::dial::{ConnectTimes, DialError, Dialer};
use crate::headers::{visible_ascii, HeaderFields, Headers};

/// How long an idle connection is kept for reuse (hyper-util's pool default).
const IDLE_LIMIT: Duration = Duration::from_secs(90);
/// Largest response head taken, and most header lines in it (hyper's header limit).
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
/// Most 1xx heads taken before the response: a server sending them forever is answered.
const MAX_INFORMATIONAL: usize = 32;
/// Bytes one read may take: a stream sent at once arrives in few reads.
const SCRATCH: usize = 64 * 1024;

thread_local! {
    /// The read buffer of this thread. A read is handed on before the task can yield, so
    /// one buffer per thread serves every connection the thread drives.
    static SCRATCH_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH].into_boxed_slice());
}

/// The connections to one origin, and the request head sent on them. No `Debug`: the head
/// holds the key.
pub struct Http1 {
    dialer: std::sync::Arc<Dialer>,
    /// Request line and headers, up to the value of `content-length`.
    head: Vec<u8>,
    /// The user's headers asked for `connection: close`: no connection is reused.
    close: bool,
    idle: Mutex<Vec<(Conn, Instant)>>,
}

/// True when a header list's `name` fields carry `token` (comma-separated, any case).
pub fn has_token<'a>(values: impl IntoIterator<Item = &'a [u8]>, token: &str) -> bool {
    values.into_iter().flat_map(|v| visible_ascii(v).unwrap_or_default().split(',')).any(|t| t.trim().eq_ignore_ascii_case(token))
}

impl Http1 {
    /// The connections `dialer` opens; every request goes to `request_target` (a path, or
    /// the absolute URL for a forwarding proxy) with `host` unless `headers` name their own
    /// Host, and carries `headers`.
    pub fn new(dialer: std::sync::Arc<Dialer>, request_target: &str, host: &str, headers: &[(HeaderName, HeaderValue)]) -> Http1 {
        let mut head = format!("POST {request_target} HTTP/1.1\r\n").into_bytes();
        if !headers.iter().any(|(name, _)| name == HOST) {
            let _ = write!(head, "host: {host}\r\n");
        }
        for (name, value) in headers {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"content-length: ");
        let close = has_token(headers.iter().filter(|(n, _)| n == CONNECTION).map(|(_, v)| v.as_bytes()), "close");
        Http1 { dialer, head, close, idle: Mutex::default() }
    }

    /// A new connection, with what opening it took.
    pub async fn dial(&self, limit: Duration) -> Result<(Conn, ConnectTimes), DialError> {
        self.dialer.dial(limit).await
    }

    /// The newest idle connection the server has not closed.
    pub fn take_idle(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((mut conn, since)) = idle.pop() {
            if since.elapsed() > IDLE_LIMIT {
                // The rest are older still.
                idle.clear();
                return None;
            }
            if conn.idle_and_open() {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps a connection whose last response was read to its end, for the next request.
    pub fn put_back(&self, conn: Conn) {
        if !self.close {
            self.idle.lock().unwrap_or_else(PoisonError::into_inner).push((conn, Instant::now()));
        }
    }

    /// Sends the request with `body` (head and body in one write) and reads the response
    /// head. A server may answer before the body is all sent (a 413 after the head) and
    /// close: its answer is read as it comes, while the rest is still being written, as
    /// hyper does, so the answer is what the request gets, not a reset.
    pub async fn request<'a>(&self, conn: &'a mut Conn, body: &[u8]) -> Result<Response<'a>, String> {
        let mut request = Vec::with_capacity(self.head.len() + 24 + body.len());
        request.extend_from_slice(&self.head);
        let _ = write!(request, "{}\r\n\r\n", body.len());
        request.extend_from_slice(body);
        let (mut written, mut flushed) = (0, false);
        let mut early = Vec::new();
        let mut early_at = Instant::now();
        let write_error = std::future::poll_fn(|cx| {
            while written < request.len() {
                match Pin::new(&mut *conn).poll_write(cx, &request[written..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Some(std::io::Error::from(ErrorKind::WriteZero))),
                    Poll::Ready(Ok(n)) => written += n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(e)),
                    Poll::Pending => break,
                }
            }
            if written == request.len() {
                match Pin::new(&mut *conn).poll_flush(cx) {
                    Poll::Ready(Ok(())) => {
                        flushed = true;
                        return Poll::Ready(None);
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(e)),
                    Poll::Pending => {}
                }
            }
            // The write waits for room: see whether the server has answered already.
            match poll_read(conn, cx, |bytes, now| {
                early.extend_from_slice(bytes);
                early_at = now;
                bytes.len()
            }) {
                Poll::Ready(Ok(0)) => Poll::Ready(Some(std::io::Error::from(ErrorKind::UnexpectedEof))),
                Poll::Ready(Ok(_)) => Poll::Ready(None),
                Poll::Ready(Err(e)) => Poll::Ready(Some(e)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        let sent = flushed && write_error.is_none();
        match read_head(conn, early, early_at).await {
            Ok(mut response) => {
                response.body.state.keep_alive &= sent;
                Ok(response)
            }
            Err(e) => Err(write_error.map_or(e, |w| format!("sending the request: {w}"))),
        }
    }
}

/// Polls `conn` for bytes (or its end), reads them into the thread's scratch buffer and
/// hands them to `take` with the moment they were read: an empty slice is the end. The
/// poll spends the task's cooperative budget, so a server that floods a stream cannot keep
/// the task from yielding and its deadline from firing.
fn poll_read<R>(conn: &mut Conn, cx: &mut Context<'_>, mut take: impl FnMut(&[u8], Instant) -> R) -> Poll<std::io::Result<R>> {
    SCRATCH_BUF.with_borrow_mut(|scratch| {
        let mut buf = ReadBuf::new(scratch);
        match Pin::new(conn).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(take(buf.filled(), Instant::now()))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    })
}

/// Waits for the next bytes of `conn`, as [`poll_read`] takes them.
async fn read_some<R>(conn: &mut Conn, mut take: impl FnMut(&[u8], Instant) -> R) -> std::io::Result<R> {
    std::future::poll_fn(|cx| poll_read(conn, cx, &mut take)).await
}

/// How a response body's end is known.
#[derive(Debug)]
enum Framing {
    /// This many bytes are left.
    Length(u64),
    Chunked(Chunked),
    /// It ends when the server closes the connection.
    Close,
}

/// A response head, and the reader of the body after it.
pub struct Response<'a> {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Headers,
    /// The body.
    pub body: Body<'a>,
}

/// Reads the response head (skipping any 1xx before it) from `conn`, after the bytes
/// `buf` already read at `now`.
async fn read_head(conn: &mut Conn, mut buf: Vec<u8>, mut now: Instant) -> Result<Response<'_>, String> {
    let mut informational = 0;
    let mut fresh = !buf.is_empty();
    loop {
        if !fresh {
            let read;
            let mut whole = None;
            (read, now) = read_some(conn, |bytes, now| {
                // The usual case, a final head whole in the first read, is parsed where it
                // lies, and only the body's bytes after it are kept: a stream sent at once
                // is not copied whole and then moved up by the head's length.
                let head = if buf.is_empty() { parse_head(bytes).ok().flatten() } else { None };
                match head {
                    Some(head) if !informational_status(head.1) => {
                        buf.extend_from_slice(&bytes[head.0..]);
                        whole = Some(head);
                    }
                    // Anything else (1xx, a part, an error) the loop below reads from `buf`.
                    _ => buf.extend_from_slice(bytes),
                }
                (bytes.len(), now)
            })
            .await
            .map_err(|e| format!("reading the response head: {e}"))?;
            if read == 0 {
                return Err("connection closed before a response head".to_owned());
            }
            if let Some((_, status, headers, version)) = whole {
                return with_body(conn, status, headers, version, buf, now);
            }
        }
        fresh = false;
        while let Some((used, status, headers, version)) = parse_head(&buf)? {
            buf.drain(..used);
            if informational_status(status) {
                informational += 1;
                if informational > MAX_INFORMATIONAL {
                    return Err(format!("more than {MAX_INFORMATIONAL} informational (1xx) heads before the response"));
                }
                continue;
            }
            return with_body(conn, status, headers, version, buf, now);
        }
        // One limit, however the bytes arrive: a partial head this long is refused here, a
        // whole one in parse_head.
        if buf.len() > MAX_HEAD {
            return Err(format!("response head larger than {MAX_HEAD} bytes"));
        }
    }
}

/// A 1xx status other than 101: a head to skip, the response follows it.
fn informational_status(status: u16) -> bool {
    (100..200).contains(&status) && status != 101
}

/// The response whose final head was read, with the body's bytes read after it
/// (`leftover`, at `now`).
fn with_body(conn: &mut Conn, status: u16, headers: Headers, version: u8, leftover: Vec<u8>, now: Instant) -> Result<Response<'_>, String> {
    if status == 101 {
        return Err("the server switched protocols (101)".into());
    }
    let (framing, keep_alive) = framing(status, &headers, version)?;
    let finished = matches!(framing, Framing::Length(0));
    let state = BodyState { framing, finished, clean: true, keep_alive };
    Ok(Response { status, headers, body: Body { stream: conn, leftover, leftover_at: now, state } })
}

/// A complete head at the start of `buf`: its length, status, headers and minor version.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, u16, Headers, u8)>, String> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    let used = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("invalid response head: {e}")),
    };
    if used > MAX_HEAD {
        return Err(format!("response head larger than {MAX_HEAD} bytes"));
    }
    // httparse has checked each name is a token and each value free of control bytes
    // (as the http crate's types would).
    let (names, values) = response.headers.iter().fold((0, 0), |(n, v), h| (n + h.name.len(), v + h.value.len()));
    let mut headers = Headers::with_capacity(response.headers.len(), names, values);
    for h in response.headers.iter() {
        headers.push(h.name, h.value);
    }
    Ok(Some((used, response.code.unwrap_or(0), headers, response.version.unwrap_or(1))))
}

/// How the body's end is known, and whether the connection may carry another request.
fn framing(status: u16, headers: &Headers, version: u8) -> Result<(Framing, bool), String> {
    let mut keep_alive = version == 1 && !has_token(headers.all(CONNECTION.as_str()), "close");
    let framing = if status == 204 || status == 304 {
        Framing::Length(0)
    } else if headers.has(TRANSFER_ENCODING.as_str()) {
        // Both framings at once is a smuggling shape: read it as chunked, never reuse.
        keep_alive &= !headers.has(CONTENT_LENGTH.as_str());
        let last = headers.all(TRANSFER_ENCODING.as_str()).last().and_then(visible_ascii).unwrap_or_default();
        if last.rsplit(',').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked")) {
            Framing::Chunked(Chunked::default())
        } else {
            Framing::Close
        }
    } else if let Some(first) = headers.first(CONTENT_LENGTH.as_str()) {
        // Digits only, as hyper reads it: Rust's parse would take a sign (`+441`).
        let parse = |v: &[u8]| {
            let s = visible_ascii(v)?.trim();
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u64>().ok()).flatten()
        };
        let n = parse(first).ok_or("invalid content-length")?;
        if headers.all(CONTENT_LENGTH.as_str()).any(|v| parse(v) != Some(n)) {
            return Err("content-length headers that disagree".into());
        }
        Framing::Length(n)
    } else {
        Framing::Close
    };
    keep_alive &= !matches!(framing, Framing::Close);
    Ok((framing, keep_alive))
}

/// A response body read straight off its connection.
pub struct Body<'a> {
    stream: &'a mut Conn,
    /// Bytes read with the head that belong to the body, and when they were read.
    leftover: Vec<u8>,
    leftover_at: Instant,
    state: BodyState,
}

/// Where a body's reading stands.
struct BodyState {
    framing: Framing,
    finished: bool,
    /// No byte came after the body's end.
    clean: bool,
    keep_alive: bool,
}

impl Body<'_> {
    /// True when the body was read to its end and the connection can carry another request.
    pub fn reusable(&self) -> bool {
        let s = &self.state;
        s.finished && s.clean && s.keep_alive && self.leftover.is_empty()
    }

    /// Waits for the next bytes and hands the body's part of them to `sink`, with the
    /// moment they were read; `Ok(false)` at the end of the body.
    pub async fn next(&mut self, sink: &mut (impl FnMut(&[u8], Instant) + Send)) -> Result<bool, String> {
        if !self.leftover.is_empty() {
            let bytes = std::mem::take(&mut self.leftover);
            self.state.take(&bytes, self.leftover_at, sink)?;
            return Ok(true);
        }
        if self.state.finished {
            return Ok(false);
        }
        let state = &mut self.state;
        let read = read_some(self.stream, |bytes, now| match bytes {
            [] => state.end(),
            _ => state.take(bytes, now, sink).map(|()| true),
        });
        read.await.map_err(|e| e.to_string())?
    }
}

impl BodyState {
    /// The server closed the connection: the end of the body, or a cut.
    fn end(&mut self) -> Result<bool, String> {
        match &self.framing {
            Framing::Close => {
                self.finished = true;
                Ok(false)
            }
            Framing::Length(left) => Err(format!("connection closed with {left} bytes of the body still to come")),
            Framing::Chunked(_) => Err("connection closed before the last chunk".into()),
        }
    }

    fn take(&mut self, bytes: &[u8], now: Instant, sink: &mut (impl FnMut(&[u8], Instant) + Send)) -> Result<(), String> {
        let used = match &mut self.framing {
            Framing::Close => {
                sink(bytes, now);
                bytes.len()
            }
            Framing::Length(left) => {
                let n = bytes.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                if n > 0 {
                    sink(&bytes[..n], now);
                }
                *left -= n as u64;
                self.finished = *left == 0;
                n
            }
            Framing::Chunked(decoder) => {
                let n = decoder.decode(bytes, |data| sink(data, now)).map_err(|e| e.to_string())?;
                self.finished = decoder.done();
                n
            }
        };
        self.clean &= used == bytes.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<(Framing, bool), String> {
        let (_, status, headers, version) = parse_head(text.as_bytes())?.expect("complete head");
        framing(status, &headers, version)
    }

    #[test]
    fn the_framing_and_reuse_follow_the_head() {
        let cases = [
            ("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", "Length(5)", true),
            ("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", "Chunked", true),
            ("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n", "Chunked", true),
            ("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n", "Chunked", false),
            ("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: keep-alive, close\r\n\r\n", "Length(5)", false),
            ("HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\n", "Length(5)", false),
            ("HTTP/1.1 200 OK\r\n\r\n", "Close", false),
            ("HTTP/1.1 204 No Content\r\ntransfer-encoding: chunked\r\n\r\n", "Length(0)", true),
            ("HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 5\r\n\r\n", "Length(5)", true),
        ];
        for (text, want, reuse) in cases {
            let (framing, keep) = head(text).expect(text);
            assert!(format!("{framing:?}").starts_with(want), "{text}: {framing:?}");
            assert_eq!(keep, reuse, "{text}");
        }
        for bad in ["HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n", "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n"] {
            assert!(head(bad).is_err(), "{bad}");
        }
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-le").map(|h| h.is_none()), Ok(true));
    }

    #[test]
    fn the_request_head_names_the_origin_and_the_length_once() {
        let dialer = || std::sync::Arc::new(Dialer::new("127.0.0.1".into(), 8080));
        let key = (HeaderName::from_static("x-api-key"), HeaderValue::from_static("k"));
        let h1 = Http1::new(dialer(), "/v1/messages", "127.0.0.1:8080", std::slice::from_ref(&key));
        assert_eq!(String::from_utf8_lossy(&h1.head), "POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-api-key: k\r\ncontent-length: ");
        assert!(!h1.close);
        // A Host of the user's replaces ours (one Host line, as hyper sends), and
        // `connection: close` is honoured.
        let own = [(HOST, HeaderValue::from_static("relay.example")), (CONNECTION, HeaderValue::from_static("Close")), key];
        let h1 = Http1::new(dialer(), "/v1/messages", "127.0.0.1:8080", &own);
        let head = String::from_utf8_lossy(&h1.head).into_owned();
        assert_eq!(head.matches("host:").count(), 1, "{head}");
        assert!(head.contains("host: relay.example\r\n") && h1.close, "{head}");
    }

    #[test]
    fn a_content_length_is_digits_only_and_a_head_has_one_limit() {
        assert!(head("HTTP/1.1 200 OK\r\ncontent-length: +441\r\n\r\n").is_err());
        assert!(head("HTTP/1.1 200 OK\r\ncontent-length: \r\n\r\n").is_err());
        let long = format!("HTTP/1.1 200 OK\r\nx-pad: {}\r\n\r\n", "a".repeat(70 * 1024));
        let e = parse_head(long.as_bytes()).expect_err("a 70 KB head in one piece");
        assert!(e.contains("larger than"), "{e}");
    }
}
