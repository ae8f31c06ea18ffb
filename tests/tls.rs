//! HTTPS on loopback: a TLS front (a certificate made for 127.0.0.1, offering h2 and
//! http/1.1 by ALPN) before the mock. The client negotiates HTTP/2, streams conform, and a
//! certificate nobody vouches for is refused unless the target's `ca_file` trusts it.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use relaybench::client::{ApiKey, AuthStyle, Client, Target, Timeouts};
use relaybench::mock::{MockConfig, MockServer};
use relaybench::outcome::OutcomeKind;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_rustls::rustls;

/// Starts a TLS front for `backend` (a `host:port`) with a fresh self-signed
/// certificate; returns its https URL, the certificate's PEM, and the ALPN protocol of
/// each connection it accepted.
async fn tls_front(backend: String) -> (String, String, Arc<Mutex<Vec<Option<Vec<u8>>>>>) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("certificate");
    let pem = cert.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let alpn = Arc::new(Mutex::new(Vec::new()));
    let seen = alpn.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else { return };
            let (acceptor, backend, seen) = (acceptor.clone(), backend.clone(), seen.clone());
            tokio::spawn(async move {
                // A handshake the client refuses just ends this connection.
                let Ok(mut tls) = acceptor.accept(sock).await else { return };
                seen.lock().expect("lock").push(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec));
                let Ok(mut plain) = TcpStream::connect(&backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (format!("https://{addr}"), pem, alpn)
}

fn client(base_url: &str, ca_file: Option<std::path::PathBuf>) -> Client {
    let target = Target { ca_file, ..client_target(base_url) };
    Client::new(&target, Timeouts { connect: Duration::from_secs(5), total: Duration::from_secs(10), ..Timeouts::default() }).expect("client")
}

fn client_target(base_url: &str) -> Target {
    Target {
        base_url: base_url.to_owned(),
        auth: AuthStyle::XApiKey,
        api_key: ApiKey::new("k"),
        anthropic_version: Some("2023-06-01".into()),
        headers: Vec::new(),
        http2: false,
        ca_file: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_negotiates_h2_and_checks_the_certificate() {
    let mut config = MockConfig::new("k");
    config.latency.ttft = Duration::from_millis(2);
    config.latency.tokens_per_s = 5000.0;
    let mock = MockServer::start_local(config).await.expect("mock");
    let (url, pem, alpn) = tls_front(mock.base_url().trim_start_matches("http://").to_owned()).await;
    let dir = common::temp_dir("tls");
    let ca = common::write_file(&dir, "ca.pem", &pem);

    let trusted = client(&url, Some(ca));
    let mut timed = Vec::new();
    for stream in [true, false] {
        let o = trusted.execute(common::body(stream, 32), 0, stream, None, Instant::now()).await;
        assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
        assert!(o.findings.is_empty(), "{:?}", o.findings);
        timed.push((o.connect, o.tls, o.ttfb));
    }
    // The first request opened the connection and paid for TCP and TLS, both inside its
    // ttfb; the second rode the same connection and paid for neither.
    let (Some(tcp), Some(tls), Some(ttfb)) = timed[0] else { panic!("the first request's connect times: {timed:?}") };
    assert!(!tls.is_zero() && tcp + tls <= ttfb, "{timed:?}");
    assert_eq!((timed[1].0, timed[1].1), (None, None));
    // One pooled connection carried both requests, over HTTP/2.
    assert_eq!(*alpn.lock().expect("lock"), [Some(b"h2".to_vec())]);

    // The public roots alone do not vouch for a self-signed certificate.
    let o = client(&url, None).execute(common::body(false, 8), 0, false, None, Instant::now()).await;
    assert_eq!(o.kind, OutcomeKind::ConnectError, "{:?}", o.detail);
    assert!(o.detail.as_deref().is_some_and(|d| d.to_lowercase().contains("certificate")), "{:?}", o.detail);

    // A CA file with no certificate is refused before anything is sent.
    let empty = common::write_file(&dir, "empty.pem", "not a certificate\n");
    let target = Target { ca_file: Some(empty), ..client_target(&url) };
    let e = Client::new(&target, Timeouts::default()).expect_err("no certificate");
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
}
