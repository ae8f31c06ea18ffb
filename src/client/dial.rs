//! Opening a connection to a target, each step timed as its own metric: the DNS lookup
//! (k6's `http_req_looking_up`), the TCP connect, the proxy's tunnel, the TLS handshake.
//! One dialer serves both readers, HTTP/1.1 and HTTP/2, and hyper's pool for the requests
//! besides the load's.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::conn::{Conn, Tunnel};
use super::host::authority;
use super::proxy::{Proxy, ProxyKind};
use super::tls_stream;

/// How long a looked-up address list is reused (k6's default DNS TTL).
const DNS_TTL: Duration = Duration::from_secs(300);
/// How long the first address of a name has before the next is tried alongside it
/// (hyper-util's happy-eyeballs delay, RFC 8305's recommended 250 ms rounded up).
const FALLBACK_DELAY: Duration = Duration::from_millis(300);
/// Largest proxy answer to CONNECT taken.
const MAX_PROXY_HEAD: usize = 16 * 1024;

/// Looked-up addresses by `(host, port)`, with when they were looked up.
type DnsCache = HashMap<(String, u16), (Vec<SocketAddr>, Instant)>;

/// What opening one connection took, step by step; a step that did not happen is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectTimes {
    /// The name lookup (none for an IP address, or a name looked up recently).
    pub dns: Option<Duration>,
    /// The TCP connect, to the server or to the proxy.
    pub connect: Option<Duration>,
    /// From the proxy's TCP connection to a ready tunnel (CONNECT or SOCKS5, and TLS to
    /// an https proxy).
    pub proxy: Option<Duration>,
    /// The TLS handshake with the server.
    pub tls: Option<Duration>,
    /// That handshake resumed an earlier session (a ticket): no certificate sent or
    /// checked, and under TLS 1.2 one round trip fewer.
    pub resumed: bool,
}

/// Why no connection could be had.
#[derive(Debug)]
pub enum DialError {
    /// Not within the connect limit.
    Timeout,
    /// Refused, unreachable, a name that does not resolve, a failed handshake or tunnel.
    Error(String),
}

/// TLS to the server: the configuration and the name it verifies and sends as SNI.
#[derive(Clone)]
pub struct TlsTarget {
    /// The rustls configuration.
    pub config: Arc<rustls::ClientConfig>,
    /// The name.
    pub name: ServerName<'static>,
}

/// How to open connections to one origin.
pub struct Dialer {
    /// The URL's host (an IPv6 address without brackets) and port.
    pub host: String,
    /// The URL's port.
    pub port: u16,
    /// Where to connect instead, keeping the URL's host for SNI and Host (curl's
    /// `--resolve`): `host` and `port`.
    pub connect_to: Option<(String, u16)>,
    /// TLS to the server, for https.
    pub tls: Option<TlsTarget>,
    /// The proxy, if any.
    pub proxy: Option<Proxy>,
    /// True when plain-HTTP requests go to an HTTP proxy as absolute URLs, with no tunnel.
    pub forward: bool,
    /// TLS to an https proxy.
    pub proxy_tls: Option<Arc<rustls::ClientConfig>>,
    dns_cache: Mutex<DnsCache>,
}

impl Dialer {
    /// A dialer to `host:port`, directly, without TLS; the fields say the rest.
    pub fn new(host: String, port: u16) -> Dialer {
        Dialer { host, port, connect_to: None, tls: None, proxy: None, forward: false, proxy_tls: None, dns_cache: Mutex::default() }
    }

    /// Opens a connection within `limit`.
    pub async fn dial(&self, limit: Duration) -> Result<(Conn, ConnectTimes), DialError> {
        match tokio::time::timeout(limit, self.open()).await {
            Err(_) => Err(DialError::Timeout),
            Ok(result) => result.map_err(DialError::Error),
        }
    }

    async fn open(&self) -> Result<(Conn, ConnectTimes), String> {
        let mut times = ConnectTimes::default();
        let (host, port) = self.connect_to.clone().unwrap_or_else(|| (self.host.clone(), self.port));
        let tunnel = match &self.proxy {
            None => Tunnel::Tcp(self.tcp(&host, port, &mut times).await?),
            Some(proxy) => {
                let tcp = self.tcp(&proxy.host, proxy.port, &mut times).await.map_err(|e| format!("proxy {}: {e}", proxy.name()))?;
                let begun = Instant::now();
                let tunnel = self.tunnel(proxy, tcp, &host, port).await.map_err(|e| format!("proxy {}: {e}", proxy.name()))?;
                times.proxy = Some(begun.elapsed());
                tunnel
            }
        };
        let Some(tls) = &self.tls else { return Ok((Conn::Plain(tunnel), times)) };
        let begun = Instant::now();
        let stream = tls_stream::connect(tls.config.clone(), tls.name.clone(), tunnel).await.map_err(|e| format!("TLS handshake: {e}"))?;
        times.tls = Some(begun.elapsed());
        times.resumed = stream.resumed();
        Ok((Conn::Tls(Box::new(stream)), times))
    }

    /// A TCP connection to `host:port`, looking the name up first.
    async fn tcp(&self, host: &str, port: u16, times: &mut ConnectTimes) -> Result<TcpStream, String> {
        let addrs = self.resolve(host, port, times).await?;
        let begun = Instant::now();
        let stream = connect_first(addrs).await.map_err(|e| e.to_string())?;
        times.connect = Some(begun.elapsed());
        // A request is one write; waiting for an ACK before sending it would only add delay.
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(stream)
    }

    /// The addresses of `host`, from the cache when it looked them up lately.
    async fn resolve(&self, host: &str, port: u16, times: &mut ConnectTimes) -> Result<Vec<SocketAddr>, String> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let key = (host.to_owned(), port);
        if let Some((addrs, at)) = self.dns_cache.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            if at.elapsed() < DNS_TTL {
                return Ok(addrs.clone());
            }
        }
        let begun = Instant::now();
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await.map_err(|e| format!("looking up {host}: {e}"))?.collect();
        times.dns = Some(begun.elapsed());
        if addrs.is_empty() {
            return Err(format!("{host} has no address"));
        }
        self.dns_cache.lock().unwrap_or_else(PoisonError::into_inner).insert(key, (addrs.clone(), Instant::now()));
        Ok(addrs)
    }

    /// Through `proxy`, already reached by `tcp`, a tunnel to `host:port`.
    async fn tunnel(&self, proxy: &Proxy, tcp: TcpStream, host: &str, port: u16) -> Result<Tunnel, String> {
        match proxy.kind {
            ProxyKind::Socks5 | ProxyKind::Socks5h => {
                let to = if proxy.kind == ProxyKind::Socks5 {
                    tokio_socks::TargetAddr::Ip(self.resolve(host, port, &mut ConnectTimes::default()).await?[0])
                } else {
                    tokio_socks::TargetAddr::Domain(host.into(), port)
                };
                let stream = match proxy.credentials() {
                    Some((user, password)) => tokio_socks::tcp::Socks5Stream::connect_with_password_and_socket(tcp, to, user, password).await,
                    None => tokio_socks::tcp::Socks5Stream::connect_with_socket(tcp, to).await,
                };
                Ok(Tunnel::Tcp(stream.map_err(|e| format!("SOCKS5: {e}"))?.into_inner()))
            }
            ProxyKind::Http | ProxyKind::Https => {
                let mut tunnel = match (&self.proxy_tls, proxy.kind) {
                    (Some(config), ProxyKind::Https) => {
                        let name = ServerName::try_from(proxy.host.clone()).map_err(|e| e.to_string())?;
                        Tunnel::Tls(Box::new(tls_stream::connect(config.clone(), name, tcp).await.map_err(|e| format!("TLS handshake: {e}"))?))
                    }
                    _ => Tunnel::Tcp(tcp),
                };
                if !self.forward {
                    connect_through(&mut tunnel, proxy, host, port).await?;
                }
                Ok(tunnel)
            }
        }
    }
}

/// Asks an HTTP proxy for a tunnel with CONNECT, and reads its answer byte by byte so that
/// nothing of the tunnel is taken with it.
async fn connect_through(tunnel: &mut Tunnel, proxy: &Proxy, host: &str, port: u16) -> Result<(), String> {
    let target = authority(host, port);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nhost: {target}\r\n");
    if let Some(auth) = proxy.basic_auth() {
        request.push_str(&format!("proxy-authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    tunnel.write_all(request.as_bytes()).await.map_err(|e| format!("sending CONNECT: {e}"))?;
    tunnel.flush().await.map_err(|e| format!("sending CONNECT: {e}"))?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_PROXY_HEAD {
            return Err(format!("an answer to CONNECT longer than {MAX_PROXY_HEAD} bytes"));
        }
        match tunnel.read_u8().await {
            Ok(b) => head.push(b),
            Err(e) => return Err(format!("reading the answer to CONNECT: {e}")),
        }
    }
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut slots);
    match response.parse(&head) {
        Ok(httparse::Status::Complete(_)) => match response.code {
            Some(code) if (200..300).contains(&code) => Ok(()),
            Some(code) => Err(format!("CONNECT {target} answered {code} {}", response.reason.unwrap_or_default())),
            None => Err("an answer to CONNECT without a status".into()),
        },
        _ => Err("an answer to CONNECT that is not HTTP".into()),
    }
}

/// Connects to the first of `addrs` that answers: each further address starts when the one
/// before fails or has had [`FALLBACK_DELAY`], so a dual-stack name whose first address is
/// dead costs a fraction of the connect limit, not all of it.
async fn connect_first(addrs: Vec<SocketAddr>) -> std::io::Result<TcpStream> {
    let mut pending = addrs.into_iter();
    let mut attempts = JoinSet::new();
    let mut last_error = None;
    loop {
        if let Some(addr) = pending.next() {
            attempts.spawn(TcpStream::connect(addr));
        } else if attempts.is_empty() {
            return Err(last_error.unwrap_or_else(|| std::io::Error::other("no address to connect to")));
        }
        let more = pending.len() > 0;
        tokio::select! {
            Some(done) = attempts.join_next() => match done {
                Ok(Ok(stream)) => return Ok(stream),
                Ok(Err(e)) => last_error = Some(e),
                Err(e) => last_error = Some(std::io::Error::other(e.to_string())),
            },
            () = tokio::time::sleep(FALLBACK_DELAY), if more => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dead_first_address_costs_the_fallback_delay_not_the_limit() {
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        // A loopback listener whose accept queue is full drops further SYNs, so a connect
        // to it hangs as one to a dead address does.
        let full = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
        full.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind");
        full.listen(0).expect("listen");
        let dead = full.local_addr().expect("addr").as_socket().expect("inet");
        let mut held = Vec::new();
        while held.len() < 8 {
            match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(dead)).await {
                Ok(Ok(s)) => held.push(s),
                _ => break,
            }
        }
        assert!(tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(dead)).await.is_err(), "the full listener still answers");
        let begun = Instant::now();
        let stream = connect_first(vec![dead, live.local_addr().expect("addr")]).await.expect("the live address");
        let took = begun.elapsed();
        println!("connected to {:?} after {took:?}", stream.peer_addr());
        assert!(took >= FALLBACK_DELAY && took < FALLBACK_DELAY * 5, "{took:?}");
        assert_eq!(stream.peer_addr().expect("peer"), live.local_addr().expect("addr"));
        let refused = connect_first(vec!["127.0.0.1:1".parse().expect("addr")]).await.expect_err("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
