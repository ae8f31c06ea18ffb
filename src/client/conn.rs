//! A connection as the readers see it: plain TCP, or TLS over it, possibly through a proxy's
//! tunnel. One enum instead of a boxed stream, so a read is a direct call and the HTTP/1.1
//! reader ([`super::h1`]), HTTP/2 ([`super::http2`]) and hyper ([`super::connect`]) take the
//! same connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::tls_stream::TlsStream;

/// The bytes' way to the server: TCP to it or to a proxy's tunnel, or TLS to an https
/// proxy.
pub enum Tunnel {
    /// TCP (to the server, or a CONNECT or SOCKS tunnel through a proxy).
    Tcp(TcpStream),
    /// TLS to an https proxy, whose CONNECT tunnel carries the connection.
    Tls(Box<TlsStream<TcpStream>>),
}

/// A connection to the server.
pub enum Conn {
    /// `http://`.
    Plain(Tunnel),
    /// `https://`.
    Tls(Box<TlsStream<Tunnel>>),
}

/// Forwards the tokio I/O traits to whichever stream an enum holds.
macro_rules! forward_io {
    ($ty:ident, $($variant:ident),+) => {
        impl AsyncRead for $ty {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() { $($ty::$variant(s) => Pin::new(s).poll_read(cx, buf),)+ }
            }
        }
        impl AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                match self.get_mut() { $($ty::$variant(s) => Pin::new(s).poll_write(cx, buf),)+ }
            }
            fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
                match self.get_mut() { $($ty::$variant(s) => Pin::new(s).poll_write_vectored(cx, bufs),)+ }
            }
            fn is_write_vectored(&self) -> bool {
                match self { $($ty::$variant(s) => s.is_write_vectored(),)+ }
            }
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() { $($ty::$variant(s) => Pin::new(s).poll_flush(cx),)+ }
            }
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() { $($ty::$variant(s) => Pin::new(s).poll_shutdown(cx),)+ }
            }
        }
    };
}

forward_io!(Tunnel, Tcp, Tls);
forward_io!(Conn, Plain, Tls);

impl Conn {
    /// True when TLS negotiated HTTP/2 by ALPN.
    pub fn negotiated_h2(&self) -> bool {
        matches!(self, Conn::Tls(tls) if tls.alpn_protocol() == Some(b"h2"))
    }

    /// True when an idle connection can carry a request: nothing to read and no end. Data
    /// or an end means the server closed it (or broke it), and a request sent on it would
    /// be lost. A TLS record that carries no data (a session ticket) is taken in passing.
    pub fn idle_and_open(&mut self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        Pin::new(self).poll_read(&mut cx, &mut buf).is_pending()
    }
}
