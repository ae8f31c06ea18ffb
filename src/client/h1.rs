//! HTTP/1.1 over plain TCP, as a load generator needs it: one task per request that
//! connects (or takes an idle connection), writes the request, and reads the response off
//! the socket itself.
//!
//! hyper's client keeps, for every connection, a 32-slot request channel, an 8 KB write
//! buffer and an 8 KB read buffer (26 KB a connection, measured), and moves each body
//! frame from its connection task to the task that asked. Here a read goes into a scratch
//! buffer of the worker thread and is handed on at once (to the SSE parser, which keeps
//! only an event cut by the read), so a stream waiting for its next token holds no buffer
//! at all, and each read wakes one task. Heads are parsed by httparse, hyper's own parser.
//! TLS and HTTP/2 stay with hyper ([`super::exchange`]).

use std::cell::RefCell;
use std::io::{ErrorKind, Write as _};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::Uri;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::chunked::Chunked;

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

/// The connections to one `http://` origin, and the request head sent on them. No
/// `Debug`: the head holds the key.
pub struct Http1 {
    /// `host:port` to connect to.
    addr: String,
    /// Request line and headers, up to the value of `content-length`.
    head: Vec<u8>,
    idle: Mutex<Vec<(TcpStream, Instant)>>,
}

/// Why no connection could be had.
pub enum ConnectFailure {
    /// Not within the connect limit.
    Timeout,
    /// Refused, unreachable, or the name does not resolve.
    Error(String),
}

impl Http1 {
    /// The connections to `uri`'s origin; every request carries `headers`.
    pub fn new(uri: &Uri, headers: &[(HeaderName, HeaderValue)]) -> Http1 {
        let host = uri.host().unwrap_or_default();
        let port = uri.port_u16();
        // The Host header names the origin as the URL does, without any user:password@.
        let host_header = port.map_or_else(|| host.to_owned(), |p| format!("{host}:{p}"));
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut head = format!("POST {path} HTTP/1.1\r\nhost: {host_header}\r\n").into_bytes();
        for (name, value) in headers {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"content-length: ");
        let addr = format!("{host}:{}", port.unwrap_or(80));
        Http1 { addr, head, idle: Mutex::default() }
    }

    /// An idle connection, or a new one with the time its TCP connect took.
    pub async fn connection(&self, limit: Duration) -> Result<(TcpStream, Option<Duration>), ConnectFailure> {
        if let Some(stream) = self.take_idle() {
            return Ok((stream, None));
        }
        let begun = Instant::now();
        let stream = match tokio::time::timeout(limit, TcpStream::connect(self.addr.as_str())).await {
            Err(_) => return Err(ConnectFailure::Timeout),
            Ok(Err(e)) => return Err(ConnectFailure::Error(e.to_string())),
            Ok(Ok(s)) => s,
        };
        let took = begun.elapsed();
        // A request is one write; waiting for an ACK before sending it would only add delay.
        stream.set_nodelay(true).map_err(|e| ConnectFailure::Error(e.to_string()))?;
        Ok((stream, Some(took)))
    }

    /// The newest idle connection the server has not closed.
    fn take_idle(&self) -> Option<TcpStream> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((stream, since)) = idle.pop() {
            if since.elapsed() > IDLE_LIMIT {
                // The rest are older still.
                idle.clear();
                return None;
            }
            // An idle connection has nothing to read: data or an end means the server
            // closed it (or broke it), and a request sent on it would be lost.
            if matches!(stream.try_read(&mut [0u8; 1]), Err(e) if e.kind() == ErrorKind::WouldBlock) {
                return Some(stream);
            }
        }
        None
    }

    /// Keeps a connection whose last response was read to its end, for the next request.
    pub fn put_back(&self, stream: TcpStream) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push((stream, Instant::now()));
    }

    /// Sends the request with `body`, head and body in one write.
    pub async fn send(&self, stream: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
        let mut request = Vec::with_capacity(self.head.len() + 24 + body.len());
        request.extend_from_slice(&self.head);
        let _ = write!(request, "{}\r\n\r\n", body.len());
        request.extend_from_slice(body);
        stream.write_all(&request).await
    }
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
    pub headers: HeaderMap,
    /// The body.
    pub body: Body<'a>,
}

/// Waits until `stream` has bytes (or its end), reads them into the thread's scratch
/// buffer and hands them to `take` with the moment they were read: an empty slice is the
/// end. The wait spends the task's cooperative budget (unlike `TcpStream::readable`), so a
/// server that floods a stream cannot keep the task from yielding and its deadline from
/// firing.
async fn read_some<R>(stream: &TcpStream, mut take: impl FnMut(&[u8], Instant) -> R) -> std::io::Result<R> {
    loop {
        std::future::poll_fn(|cx| stream.poll_read_ready(cx)).await?;
        let now = Instant::now();
        let step = SCRATCH_BUF.with_borrow_mut(|scratch| match stream.try_read(scratch) {
            Ok(n) => Some(Ok(take(&scratch[..n], now))),
            Err(e) if e.kind() == ErrorKind::WouldBlock => None,
            Err(e) => Some(Err(e)),
        });
        if let Some(read) = step {
            return read;
        }
    }
}

/// Reads the response head (skipping any 1xx before it) from `stream`.
pub async fn read_head(stream: &mut TcpStream) -> Result<Response<'_>, String> {
    let mut buf: Vec<u8> = Vec::new();
    let mut informational = 0;
    loop {
        let (read, now) = read_some(stream, |bytes, now| {
            buf.extend_from_slice(bytes);
            (bytes.len(), now)
        })
        .await
        .map_err(|e| format!("reading the response head: {e}"))?;
        if read == 0 {
            return Err("connection closed before a response head".to_owned());
        }
        while let Some((used, status, headers, version)) = parse_head(&buf)? {
            buf.drain(..used);
            if (100..200).contains(&status) && status != 101 {
                informational += 1;
                if informational > MAX_INFORMATIONAL {
                    return Err(format!("more than {MAX_INFORMATIONAL} informational (1xx) heads before the response"));
                }
                continue;
            }
            if status == 101 {
                return Err("the server switched protocols (101)".into());
            }
            let (framing, keep_alive) = framing(status, &headers, version)?;
            let finished = matches!(framing, Framing::Length(0));
            let state = BodyState { framing, finished, clean: true, keep_alive };
            return Ok(Response { status, headers, body: Body { stream, leftover: buf, leftover_at: now, state } });
        }
        if buf.len() > MAX_HEAD {
            return Err(format!("response head larger than {MAX_HEAD} bytes"));
        }
    }
}

/// A complete head at the start of `buf`: its length, status, headers and minor version.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, u16, HeaderMap, u8)>, String> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    let used = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("invalid response head: {e}")),
    };
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for h in response.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| format!("invalid header name {:?}", h.name))?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| format!("invalid value of header {:?}", h.name))?;
        headers.append(name, value);
    }
    Ok(Some((used, response.code.unwrap_or(0), headers, response.version.unwrap_or(1))))
}

/// How the body's end is known, and whether the connection may carry another request.
fn framing(status: u16, headers: &HeaderMap, version: u8) -> Result<(Framing, bool), String> {
    let has_token = |name: &HeaderName, token: &str| {
        headers.get_all(name).iter().flat_map(|v| v.to_str().unwrap_or_default().split(',')).any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    let mut keep_alive = version == 1 && !has_token(&CONNECTION, "close");
    let framing = if status == 204 || status == 304 {
        Framing::Length(0)
    } else if headers.contains_key(TRANSFER_ENCODING) {
        // Both framings at once is a smuggling shape: read it as chunked, never reuse.
        keep_alive &= !headers.contains_key(CONTENT_LENGTH);
        let last = headers.get_all(TRANSFER_ENCODING).iter().next_back().and_then(|v| v.to_str().ok()).unwrap_or_default();
        if last.rsplit(',').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked")) {
            Framing::Chunked(Chunked::default())
        } else {
            Framing::Close
        }
    } else if let Some(first) = headers.get(CONTENT_LENGTH) {
        let parse = |v: &HeaderValue| v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok());
        let n = parse(first).ok_or("invalid content-length")?;
        if headers.get_all(CONTENT_LENGTH).iter().any(|v| parse(v) != Some(n)) {
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
    stream: &'a mut TcpStream,
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
    fn the_request_head_names_the_origin_and_the_length() {
        let uri: Uri = "http://user:pw@127.0.0.1:8080/v1/messages".parse().expect("uri");
        let h1 = Http1::new(&uri, &[(HeaderName::from_static("x-api-key"), HeaderValue::from_static("k"))]);
        assert_eq!(h1.addr, "127.0.0.1:8080");
        assert_eq!(String::from_utf8_lossy(&h1.head), "POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-api-key: k\r\ncontent-length: ");
        let v6: Uri = "http://[::1]/v1/messages".parse().expect("uri");
        let v6 = Http1::new(&v6, &[]);
        assert_eq!(v6.addr, "[::1]:80");
        assert!(v6.head.starts_with(b"POST /v1/messages HTTP/1.1\r\nhost: [::1]\r\n"));
    }
}
