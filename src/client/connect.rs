//! The connector under hyper's pool, which sends the few requests besides the load's
//! (`count_tokens`, `/v1/models`): the same [`Dialer`] as the load's connections.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;

use super::conn::Conn;
use super::dial::{DialError, Dialer};

/// A dialed connection as hyper takes it.
pub struct Dialed {
    io: TokioIo<Conn>,
    h2: bool,
    /// Requests go to a forwarding proxy, as absolute URLs.
    forward: bool,
}

impl hyper::rt::Read for Dialed {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: hyper::rt::ReadBufCursor<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Dialed {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

impl Connection for Dialed {
    fn connected(&self) -> Connected {
        let connected = Connected::new().proxy(self.forward);
        if self.h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

/// The connector: every connection from one dialer, within one limit.
#[derive(Clone)]
pub struct DialConnector {
    /// The dialer of the client's one origin.
    pub dialer: Arc<Dialer>,
    /// The limit on DNS, TCP, the proxy's tunnel and TLS together.
    pub limit: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Uri> for DialConnector {
    type Response = Dialed;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Dialed, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    /// Dials the client's origin; `uri` is always it, since a client serves one target.
    fn call(&mut self, _uri: Uri) -> Self::Future {
        let (dialer, limit) = (self.dialer.clone(), self.limit);
        Box::pin(async move {
            match dialer.dial(limit).await {
                Ok((conn, _)) => {
                    let h2 = conn.negotiated_h2();
                    Ok(Dialed { io: TokioIo::new(conn), h2, forward: dialer.forward })
                }
                Err(DialError::Timeout) => Err(Box::new(std::io::Error::new(std::io::ErrorKind::TimedOut, "connection not ready within the connect limit")) as BoxError),
                Err(DialError::Error(e)) => Err(e.into()),
            }
        })
    }
}
