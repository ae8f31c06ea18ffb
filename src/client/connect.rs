//! The connectors under the pooled client: one deadline over TCP and TLS together, and
//! the time each took, carried on the connection to the first response that used it (as
//! k6 reports `http_req_connecting` and `http_req_tls_handshaking`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use tokio::time::Instant;

/// How long the TCP connect of a connection took; hyper-util hands a connection's extras
/// to every response it carries.
#[derive(Clone, Debug)]
pub struct TcpTime(Duration);

/// How long the whole connect (TCP and TLS) took, and whether a response has already
/// claimed it: only the first request on a connection paid for it.
#[derive(Clone, Debug)]
pub struct ConnectTime {
    total: Duration,
    claimed: Arc<AtomicBool>,
}

/// A connection's stream carrying an extra for [`Connection::connected`]; reads and writes
/// pass straight through.
pub struct Timed<S, E> {
    io: S,
    extra: E,
}

impl<S: hyper::rt::Read + Unpin, E: Unpin> hyper::rt::Read for Timed<S, E> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: hyper::rt::ReadBufCursor<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<S: hyper::rt::Write + Unpin, E: Unpin> hyper::rt::Write for Timed<S, E> {
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

impl<S: Connection, E: Clone + Send + Sync + 'static> Connection for Timed<S, E> {
    fn connected(&self) -> Connected {
        self.io.connected().extra(self.extra.clone())
    }
}

/// HttpConnector, timing each TCP connect.
#[derive(Clone)]
pub struct TcpTimer(pub HttpConnector);

impl tower_service::Service<Uri> for TcpTimer {
    type Response = Timed<<HttpConnector as tower_service::Service<Uri>>::Response, TcpTime>;
    type Error = <HttpConnector as tower_service::Service<Uri>>::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.0.call(uri);
        Box::pin(async move {
            let begun = Instant::now();
            let io = connecting.await?;
            Ok(Timed { io, extra: TcpTime(begun.elapsed()) })
        })
    }
}

/// A connector that gives up when the whole connection, TCP and (for https) the TLS
/// handshake, is not ready within `limit`, and times it. HttpConnector's own timeout
/// covers TCP only, so a server that accepts and never finishes TLS held each request for
/// its whole time limit, counted as a plain timeout, and the unreachable-target stop
/// never fired.
#[derive(Clone)]
pub struct TimedConnector<C> {
    /// The connector it wraps.
    pub inner: C,
    /// The limit on TCP and TLS together.
    pub limit: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<C> tower_service::Service<Uri> for TimedConnector<C>
where
    C: tower_service::Service<Uri> + Clone + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = Timed<C::Response, ConnectTime>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let (connecting, limit) = (self.inner.call(uri), self.limit);
        Box::pin(async move {
            let begun = Instant::now();
            match tokio::time::timeout(limit, connecting).await {
                Ok(result) => {
                    let io = result.map_err(Into::into)?;
                    Ok(Timed { io, extra: ConnectTime { total: begun.elapsed(), claimed: Arc::default() } })
                }
                Err(_) => Err(Box::new(std::io::Error::new(std::io::ErrorKind::TimedOut, "connection (TCP and TLS) not ready within the connect limit")) as BoxError),
            }
        })
    }
}

/// The connect and TLS times of `response`'s connection, for the first response on it
/// only: the one whose request waited for it.
pub fn connect_times(response: &hyper::Response<hyper::body::Incoming>, https: bool) -> (Option<Duration>, Option<Duration>) {
    let Some(c) = response.extensions().get::<ConnectTime>() else { return (None, None) };
    if c.claimed.swap(true, Ordering::Relaxed) {
        return (None, None);
    }
    let tcp = response.extensions().get::<TcpTime>().map_or(c.total, |t| t.0);
    (Some(tcp), https.then(|| c.total.saturating_sub(tcp)))
}
