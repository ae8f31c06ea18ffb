//! TLS over a byte stream through rustls's unbuffered API, where the caller lends the
//! buffers. rustls's buffered connection keeps a receive buffer of at least 4 KiB for as
//! long as the connection lives (`prepare_read` in its deframer), so an idle https stream
//! cost 1.8 times a plain one. Here ciphertext is read into a buffer of the worker thread
//! and decrypted there; a connection keeps bytes of its own only for a record a read cut in
//! two, ciphertext the socket has not taken yet, or plaintext a small read buffer could not
//! hold, and frees each once it is empty. A stream waiting between records holds none.

use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::ServerName;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, InsufficientSizeError, UnbufferedStatus};
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Largest TLS record on the wire (rustls's `MAX_WIRE_SIZE`: 16 KiB of data, 2 KiB of
/// expansion, the header).
const MAX_RECORD: usize = 16384 + 2048 + 5;
/// Most bytes a record adds to its data: header, content type, padding-free AEAD tag, and
/// TLS 1.2's explicit nonce.
const RECORD_OVERHEAD: usize = 5 + 1 + 16 + 8;
/// Most ciphertext one read takes; the thread's buffer also holds a cut record before it.
const READ_MAX: usize = 64 * 1024;
/// Least a read asks for, however small the reader's buffer: a close_notify or a session
/// ticket is taken whole rather than five bytes at a time.
const READ_MIN: usize = 4096;
/// Most plaintext encrypted by one write: a large body goes out in pieces, so the
/// ciphertext waiting for the socket stays bounded.
const WRITE_MAX: usize = 64 * 1024;
/// Bytes a handshake may buffer before it is refused (rustls's own limit for a joined
/// handshake message is 64 KiB).
const MAX_HANDSHAKE_BUFFER: usize = 128 * 1024;

/// Bytes of the thread's ciphertext buffer: a cut record carried over, then a read.
const SCRATCH_LEN: usize = MAX_RECORD + READ_MAX;

thread_local! {
    /// Ciphertext buffers of this thread. A read is decrypted and handed on before the
    /// task can yield, so one buffer serves every connection the thread drives; TLS inside
    /// TLS (to a server through an https proxy) reads the outer layer while the inner one
    /// holds its buffer, so each layer takes its own from this pool.
    static CIPHERTEXT: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
    /// The thread's buffer for ciphertext being written: a write is encrypted and offered
    /// to the socket before the task can yield, and only what the socket leaves is kept
    /// by the connection.
    static SENDING: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a ciphertext buffer of the thread's pool.
fn with_scratch<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut buf = CIPHERTEXT.with_borrow_mut(Vec::pop).unwrap_or_else(|| vec![0; SCRATCH_LEN].into_boxed_slice());
    let result = f(&mut buf);
    CIPHERTEXT.with_borrow_mut(|pool| pool.push(buf));
    result
}

/// Runs `f` on the thread's empty buffer for ciphertext to write. TLS inside TLS finds
/// it taken by the outer call and gets a new one.
fn with_sending<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut out = SENDING.with_borrow_mut(std::mem::take);
    out.clear();
    let result = f(&mut out);
    SENDING.with_borrow_mut(|kept| *kept = out);
    result
}

/// Writes as much of `data` to `io` as it takes now; how much that was. When it takes less,
/// `io` has registered the task's wake-up.
fn write_now<S: AsyncWrite + Unpin>(io: &mut S, cx: &mut Context<'_>, data: &[u8]) -> io::Result<usize> {
    let mut sent = 0;
    while sent < data.len() {
        match Pin::new(&mut *io).poll_write(cx, &data[sent..]) {
            Poll::Ready(Ok(0)) => return Err(ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(n)) => sent += n,
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
    }
    Ok(sent)
}

/// A client TLS connection over `io`.
pub struct TlsStream<S> {
    io: S,
    tls: UnbufferedClientConnection,
    /// The start of a record a read cut in two.
    partial: Vec<u8>,
    /// Ciphertext not yet taken by the socket, from `sent` on.
    outgoing: Vec<u8>,
    sent: usize,
    /// Plaintext a reader's buffer could not take, from `plain_at` on.
    plain: Vec<u8>,
    plain_at: usize,
    /// The peer's close_notify was read: the end of its data.
    read_closed: bool,
    /// Our close_notify was queued.
    write_closed: bool,
}

/// What the caller asks of [`drive`] once the records at hand are processed.
enum Action<'a> {
    /// Nothing: report where the connection stands.
    Read,
    /// Encrypt these bytes.
    Write(&'a [u8]),
    /// Queue a close_notify.
    Close,
}

/// Where [`drive`] left the connection.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// The handshake needs more bytes from the peer.
    Handshaking,
    /// Open for data both ways; the action (if any) was done, writing this many bytes.
    Open(usize),
    /// The peer closed its side (close_notify); after ours too, the connection is over.
    PeerClosed,
}

fn tls_error(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, e)
}

/// Runs `encode` on `guess` bytes more at the end of `out`, growing them once to what
/// rustls says it needs.
fn append<E>(out: &mut Vec<u8>, guess: usize, mut encode: impl FnMut(&mut [u8]) -> Result<usize, E>, too_small: impl Fn(&E) -> Option<usize>) -> Result<usize, E> {
    let len = out.len();
    out.resize(len + guess, 0);
    let result = match encode(&mut out[len..]) {
        Err(e) => match too_small(&e) {
            Some(required) => {
                out.resize(len + required, 0);
                encode(&mut out[len..])
            }
            None => Err(e),
        },
        ok => ok,
    };
    out.truncate(len + *result.as_ref().unwrap_or(&0));
    result
}

/// Processes every whole record of `incoming`: handshake messages answered into
/// `outgoing`, plaintext handed to `plain`; then does `action`. Returns how many bytes of
/// `incoming` were used up, and where the connection stands.
fn drive(tls: &mut UnbufferedClientConnection, incoming: &mut [u8], outgoing: &mut Vec<u8>, plain: &mut dyn FnMut(&[u8]), action: Action<'_>) -> io::Result<(usize, Step)> {
    let mut used = 0;
    loop {
        let UnbufferedStatus { mut discard, state } = tls.process_tls_records(&mut incoming[used..]);
        let step = match state.map_err(tls_error)? {
            ConnectionState::ReadTraffic(mut records) => {
                while let Some(record) = records.next_record() {
                    let record = record.map_err(tls_error)?;
                    discard += record.discard;
                    plain(record.payload);
                }
                None
            }
            ConnectionState::EncodeTlsData(mut data) => {
                let too_small = |e: &EncodeError| match e {
                    EncodeError::InsufficientSize(InsufficientSizeError { required_size }) => Some(*required_size),
                    _ => None,
                };
                append(outgoing, 512, |out| data.encode(out), too_small).map_err(tls_error)?;
                None
            }
            // The bytes are in `outgoing`, which every caller sends before it waits to read.
            ConnectionState::TransmitTlsData(data) => {
                data.done();
                None
            }
            ConnectionState::BlockedHandshake => Some(Step::Handshaking),
            ConnectionState::PeerClosed | ConnectionState::Closed => Some(Step::PeerClosed),
            ConnectionState::WriteTraffic(mut traffic) => {
                let too_small = |e: &EncryptError| match e {
                    EncryptError::InsufficientSize(InsufficientSizeError { required_size }) => Some(*required_size),
                    _ => None,
                };
                let written = match action {
                    Action::Read => 0,
                    Action::Write(data) => {
                        append(outgoing, data.len() + (data.len() / 16384 + 1) * RECORD_OVERHEAD, |out| traffic.encrypt(data, out), too_small).map_err(tls_error)?;
                        data.len()
                    }
                    Action::Close => {
                        append(outgoing, 64, |out| traffic.queue_close_notify(out), too_small).map_err(tls_error)?;
                        0
                    }
                };
                Some(Step::Open(written))
            }
            other => return Err(io::Error::other(format!("unexpected TLS state {other:?}"))),
        };
        used += discard;
        if let Some(step) = step {
            return Ok((used, step));
        }
    }
}

/// Opens TLS over `io` to `name`: the handshake, with the bytes it needs buffered here and
/// dropped once it is done.
pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(config: Arc<ClientConfig>, name: ServerName<'static>, mut io: S) -> io::Result<TlsStream<S>> {
    let mut tls = UnbufferedClientConnection::new(config, name).map_err(tls_error)?;
    let (mut incoming, mut outgoing, mut early) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let (used, step) = drive(&mut tls, &mut incoming, &mut outgoing, &mut |p| early.extend_from_slice(p), Action::Read)?;
        incoming.drain(..used);
        if !outgoing.is_empty() {
            io.write_all(&outgoing).await?;
            io.flush().await?;
            outgoing.clear();
        }
        match step {
            Step::Open(_) => break,
            Step::PeerClosed => return Err(io::Error::new(ErrorKind::UnexpectedEof, "the server closed the connection during the TLS handshake")),
            Step::Handshaking => {
                if incoming.len() >= MAX_HANDSHAKE_BUFFER {
                    return Err(io::Error::new(ErrorKind::InvalidData, "a TLS handshake message larger than 128 KiB"));
                }
                incoming.reserve(READ_MIN);
                if io.read_buf(&mut incoming).await? == 0 {
                    return Err(io::Error::new(ErrorKind::UnexpectedEof, "the server closed the connection during the TLS handshake"));
                }
            }
        }
    }
    incoming.shrink_to_fit();
    Ok(TlsStream { io, tls, partial: incoming, outgoing: Vec::new(), sent: 0, plain_at: 0, plain: early, read_closed: false, write_closed: false })
}

impl<S> TlsStream<S> {
    /// The protocol the server chose by ALPN.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.tls.alpn_protocol()
    }

    /// Whether the handshake resumed an earlier session.
    pub fn resumed(&self) -> bool {
        self.tls.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    /// The stream TLS runs over.
    pub fn get_ref(&self) -> &S {
        &self.io
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream<S> {
    /// Writes queued ciphertext; ready once none is left.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.sent += write_now(&mut self.io, cx, &self.outgoing[self.sent..])?;
        if self.sent < self.outgoing.len() {
            return Poll::Pending;
        }
        self.outgoing = Vec::new();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    /// Processes the cut record kept from the last read with `action`: the state machine
    /// wants the bytes it has seen, even when they make no whole record.
    fn act(&mut self, action: Action<'_>) -> io::Result<Step> {
        let mut outgoing = std::mem::take(&mut self.outgoing);
        let step = self.act_into(action, &mut outgoing);
        self.outgoing = outgoing;
        step
    }

    /// [`TlsStream::act`] with the ciphertext it makes appended to `outgoing`.
    fn act_into(&mut self, action: Action<'_>, outgoing: &mut Vec<u8>) -> io::Result<Step> {
        let plain = &mut self.plain;
        let (used, step) = drive(&mut self.tls, &mut self.partial, outgoing, &mut |p| plain.extend_from_slice(p), action)?;
        self.partial.drain(..used);
        Ok(step)
    }

    /// Hands out plaintext kept from an earlier read; true when there was some.
    fn take_plain(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        if self.plain_at == self.plain.len() {
            return false;
        }
        let n = buf.remaining().min(self.plain.len() - self.plain_at);
        buf.put_slice(&self.plain[self.plain_at..self.plain_at + n]);
        self.plain_at += n;
        if self.plain_at == self.plain.len() {
            self.plain = Vec::new();
            self.plain_at = 0;
        }
        true
    }

    /// One read from the socket into the thread's buffer after the cut record, and the
    /// records it completes processed: plaintext into `buf` (the rest kept), the cut end
    /// kept. Ready with nothing in `buf` when the bytes made no data (a session ticket).
    fn poll_records(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        with_scratch(|scratch| {
            let kept = self.partial.len();
            if kept > MAX_RECORD {
                // Only a handshake message joined across records grows past one record,
                // and none after the handshake is this large.
                return Poll::Ready(Err(io::Error::new(ErrorKind::InvalidData, "a TLS message after the handshake larger than a record")));
            }
            scratch[..kept].copy_from_slice(&self.partial);
            let want = buf.remaining().saturating_sub(kept).clamp(READ_MIN, READ_MAX);
            let mut read = ReadBuf::new(&mut scratch[kept..kept + want]);
            match Pin::new(&mut self.io).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            let n = read.filled().len();
            if n == 0 {
                let why = if kept > 0 { "the connection closed inside a TLS record" } else { "the server closed the connection without a TLS close_notify" };
                return Poll::Ready(Err(io::Error::new(ErrorKind::UnexpectedEof, why)));
            }
            let (plain, outgoing) = (&mut self.plain, &mut self.outgoing);
            let mut take = |p: &[u8]| {
                let n = buf.remaining().min(p.len());
                buf.put_slice(&p[..n]);
                plain.extend_from_slice(&p[n..]);
            };
            let (used, step) = drive(&mut self.tls, &mut scratch[..kept + n], outgoing, &mut take, Action::Read)?;
            self.partial.clear();
            self.partial.extend_from_slice(&scratch[used..kept + n]);
            if self.partial.is_empty() {
                self.partial = Vec::new();
            }
            self.read_closed |= step == Step::PeerClosed;
            Poll::Ready(Ok(()))
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.take_plain(buf) || this.read_closed {
                return Poll::Ready(Ok(()));
            }
            let before = buf.filled().len();
            std::task::ready!(this.poll_records(cx, buf))?;
            // A key update's answer, or an alert: sent on the way, never waited for (a
            // full socket has registered its wake-up, and reading goes on).
            let _ = this.poll_send(cx)?;
            if buf.filled().len() > before {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_send(cx))?;
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let piece = &data[..data.len().min(WRITE_MAX)];
        // Encrypted in the thread's buffer and sent from there if the socket takes it;
        // the rest is kept, and sent by the next write or flush. A request the socket
        // takes whole allocates nothing.
        let step = with_sending(|out| {
            let step = this.act_into(Action::Write(piece), out);
            let sent = if step.is_ok() { write_now(&mut this.io, cx, out) } else { Ok(0) };
            this.outgoing.extend_from_slice(&out[*sent.as_ref().unwrap_or(&0)..]);
            step.and_then(|step| sent.map(|_| step))
        })?;
        let written = match step {
            Step::Open(n) => n,
            Step::Handshaking => return Poll::Ready(Err(io::Error::other("TLS handshake not complete"))),
            Step::PeerClosed => return Poll::Ready(Err(ErrorKind::BrokenPipe.into())),
        };
        Poll::Ready(Ok(written))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_send(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.write_closed {
            this.write_closed = true;
            // A connection the peer closed already has nothing to say a close_notify to.
            let _ = this.act(Action::Close);
        }
        std::task::ready!(this.poll_send(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

impl<S> TlsStream<S> {
    /// Bytes this connection holds of its own besides rustls's state: a cut record,
    /// unsent ciphertext, plaintext not yet read. Zero on a connection waiting between
    /// records, which is what makes an idle https stream cost what a plain one does.
    pub fn held_bytes(&self) -> usize {
        self.partial.capacity() + self.outgoing.capacity() + self.plain.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::net::{TcpListener, TcpStream};

    /// A rustls server for `localhost` that runs `serve` on each connection, and a client
    /// configuration that trusts it.
    async fn server<F, Fut>(serve: F) -> (std::net::SocketAddr, Arc<ClientConfig>)
    where
        F: Fn(tokio_rustls::server::TlsStream<TcpStream>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let (acceptor, client) = configs();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let serve = Arc::new(serve);
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (acceptor, serve) = (acceptor.clone(), serve.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(sock).await {
                        serve(tls).await;
                    }
                });
            }
        });
        (addr, client)
    }

    /// A rustls server acceptor for `localhost`, and a client configuration that trusts it.
    fn configs() -> (tokio_rustls::TlsAcceptor, Arc<ClientConfig>) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
        let key = PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
        let cert: CertificateDer<'static> = made.cert.der().clone();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().expect("versions").with_no_client_auth().with_single_cert(vec![cert.clone()], key).expect("server config");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).expect("root");
        let client = ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().expect("versions").with_root_certificates(roots).with_no_client_auth();
        (tokio_rustls::TlsAcceptor::from(Arc::new(config)), Arc::new(client))
    }

    #[tokio::test]
    async fn what_the_socket_does_not_take_at_once_is_kept_and_sent_by_the_next_write_or_flush() {
        // A pipe that holds 1 KiB, read by a server only once the client has written all:
        // a write fills the pipe and the connection keeps the rest of its ciphertext.
        let (client_io, server_io) = tokio::io::duplex(1024);
        let (acceptor, config) = configs();
        let size = 100_000;
        let server = tokio::spawn(async move {
            let mut tls = acceptor.accept(server_io).await.expect("accept");
            let mut data = vec![0; size];
            tls.read_exact(&mut data).await.expect("data");
            data
        });
        let mut conn = connect(config, ServerName::try_from("localhost").expect("name"), client_io).await.expect("handshake");
        let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let taken = conn.write(&data).await.expect("write");
        assert!(taken > 1024, "one write took only {taken} bytes");
        assert!(conn.held_bytes() > 0, "the ciphertext the pipe could not take was not kept");
        conn.write_all(&data[taken..]).await.expect("write the rest");
        conn.flush().await.expect("flush");
        assert_eq!(conn.held_bytes(), 0, "a flushed connection holds a buffer");
        assert!(server.await.expect("server") == data, "the server read other bytes than were written");
    }

    async fn open(addr: std::net::SocketAddr, config: &Arc<ClientConfig>) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        connect(config.clone(), ServerName::try_from("localhost").expect("name"), tcp).await.expect("handshake")
    }

    #[tokio::test]
    async fn data_goes_both_ways_whole_and_an_idle_connection_holds_no_buffer() {
        // An echo server: each request is a length line, then that many bytes, answered
        // with the bytes reversed.
        let (addr, config) = server(|mut tls| async move {
            loop {
                let mut line = Vec::new();
                while !line.ends_with(b"\n") {
                    match tls.read_u8().await {
                        Ok(b) => line.push(b),
                        Err(_) => return,
                    }
                }
                let n: usize = String::from_utf8_lossy(&line).trim().parse().expect("length");
                let mut data = vec![0; n];
                tls.read_exact(&mut data).await.expect("data");
                data.reverse();
                tls.write_all(&data).await.expect("answer");
                tls.flush().await.expect("flush");
            }
        })
        .await;
        let mut conn = open(addr, &config).await;
        for size in [1usize, 5_000, 70_000, 1_300_000] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            conn.write_all(format!("{size}\n").as_bytes()).await.expect("write");
            conn.write_all(&data).await.expect("write");
            conn.flush().await.expect("flush");
            // A small read buffer takes the answer in pieces; what it cannot take is kept.
            let mut answer = Vec::new();
            let mut piece = [0u8; 777];
            while answer.len() < size {
                let n = conn.read(&mut piece).await.expect("read");
                assert!(n > 0, "end after {} of {size} bytes", answer.len());
                answer.extend_from_slice(&piece[..n]);
            }
            assert!(answer.iter().rev().eq(data.iter()), "{size} bytes came back changed");
            assert_eq!(conn.held_bytes(), 0, "after {size} bytes the idle connection holds a buffer");
        }
        assert_eq!(conn.alpn_protocol(), None);
    }

    #[tokio::test]
    async fn close_notify_is_an_end_and_a_bare_close_an_error() {
        let (addr, config) = server(|mut tls| async move {
            tls.write_all(b"bye").await.expect("write");
            tls.shutdown().await.expect("close_notify");
        })
        .await;
        let mut conn = open(addr, &config).await;
        let mut all = Vec::new();
        conn.read_to_end(&mut all).await.expect("a clean end");
        assert_eq!(all, b"bye");
        conn.shutdown().await.expect("our close_notify");

        let (addr, config) = server(|mut tls| async move {
            tls.write_all(b"cut").await.expect("write");
            tls.flush().await.expect("flush");
            drop(tls.into_inner().0);
        })
        .await;
        let mut conn = open(addr, &config).await;
        let mut all = Vec::new();
        let e = conn.read_to_end(&mut all).await.expect_err("no close_notify");
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{e}");
        assert_eq!(all, b"cut");

        // A certificate for another name fails the handshake, named.
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let e = connect(config.clone(), ServerName::try_from("other.example").expect("name"), tcp).await.err().expect("wrong name");
        assert!(e.to_string().contains("certificate"), "{e}");
    }
}
