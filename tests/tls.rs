//! HTTPS on loopback against the TLS mock (a CA and a leaf for localhost made at start,
//! offering h2 and http/1.1 by ALPN): HTTP/1.1 through the crate's own reader by default,
//! HTTP/2 when asked, each step of a new connection timed; the certificate is checked
//! unless `insecure`, against the URL's host or `server_name`, and `connect_to` pins the
//! address while SNI and Host keep the URL's name. Then the hostile servers of TLS: a
//! handshake that stalls, a certificate for another name, a connection cut mid-stream
//! without close_notify, a fatal alert mid-stream.

mod common;

use std::sync::Arc;
use std::time::Duration;

use relaybench::client::tls::Alpn;
use relaybench::client::{ApiKey, AuthStyle, Client, NetOptions, Target, Timeouts};
use relaybench::mock::{MockConfig, MockServer};
use relaybench::outcome::{Outcome, OutcomeKind};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::time::Instant;

fn timeouts() -> Timeouts {
    Timeouts { connect: Duration::from_secs(2), total: Duration::from_secs(10), ..Timeouts::default() }
}

fn target(base_url: &str, net: NetOptions) -> Target {
    Target {
        base_url: base_url.to_owned(),
        auth: AuthStyle::XApiKey,
        api_key: ApiKey::new("k"),
        anthropic_version: Some("2023-06-01".into()),
        headers: Vec::new(),
        net,
    }
}

async fn tls_mock(dir: &std::path::Path) -> MockServer {
    let mut config = MockConfig::new("k");
    config.latency.ttft = Duration::from_millis(2);
    config.latency.tokens_per_s = 5000.0;
    config.tls = Some(relaybench::mock::tls::generate(dir).expect("certificates"));
    MockServer::start_local(config).await.expect("mock")
}

async fn send(client: &Client, stream: bool) -> Outcome {
    client.execute(common::body(stream, 16), 0, stream, None, Instant::now()).await
}

fn trusting(mock: &MockServer, alpn: Alpn) -> NetOptions {
    let mut net = NetOptions { alpn, ..NetOptions::default() };
    net.tls.ca_file = mock.ca_file().map(std::path::Path::to_path_buf);
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_over_the_own_reader_and_over_h2_with_each_step_timed() {
    let dir = common::temp_dir("tls-mock");
    let mock = tls_mock(&dir).await;
    assert!(mock.base_url().starts_with("https://127.0.0.1:"), "{}", mock.base_url());

    for (alpn, h2) in [(Alpn::Http1, false), (Alpn::Http2, true), (Alpn::Auto, true)] {
        let client = Client::new(&target(&mock.base_url(), trusting(&mock, alpn)), timeouts()).expect("client");
        let mut firsts = Vec::new();
        for stream in [true, false, true] {
            let o = send(&client, stream).await;
            assert_eq!(o.kind, OutcomeKind::Ok, "{alpn:?}: {:?}", o.detail);
            assert!(o.findings.is_empty(), "{alpn:?}: {:?}", o.findings);
            assert_eq!(o.h2, h2, "{alpn:?}");
            firsts.push((o.connect, o.tls, o.dns, o.ttfb));
        }
        // The first request opened the connection and paid for TCP and TLS, both inside
        // its ttfb (an IP address needs no lookup); the others rode it and paid nothing.
        let (Some(tcp), Some(tls), None, Some(ttfb)) = firsts[0] else { panic!("{alpn:?}: {firsts:?}") };
        assert!(!tls.is_zero() && tcp + tls <= ttfb, "{alpn:?}: {firsts:?}");
        for later in &firsts[1..] {
            assert_eq!((later.0, later.1), (None, None), "{alpn:?}: reused: {firsts:?}");
        }
    }

    // `localhost` is looked up (a timed DNS step) and the certificate names it.
    let port = mock.addr().port();
    let by_name = Client::new(&target(&format!("https://localhost:{port}"), trusting(&mock, Alpn::Http1)), timeouts()).expect("client");
    let o = send(&by_name, true).await;
    if o.kind == OutcomeKind::Ok {
        assert!(o.dns.is_some(), "a name was connected to without a timed lookup");
    } else {
        // localhost may resolve to ::1 first where the mock listens on 127.0.0.1 only;
        // the fallback to the next address must then have reached it.
        panic!("localhost: {:?}", o.detail);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_is_checked_unless_insecure_and_connect_to_keeps_the_name() {
    let dir = common::temp_dir("tls-trust");
    let mock = tls_mock(&dir).await;
    let url = mock.base_url();

    // The public roots alone do not vouch for the mock's CA.
    let o = send(&Client::new(&target(&url, NetOptions::default()), timeouts()).expect("client"), false).await;
    assert_eq!(o.kind, OutcomeKind::ConnectError, "{:?}", o.detail);
    assert!(o.detail.as_deref().is_some_and(|d| d.contains("certificate")), "{:?}", o.detail);

    // insecure: any certificate.
    let mut net = NetOptions::default();
    net.tls.insecure = true;
    let o = send(&Client::new(&target(&url, net), timeouts()).expect("client"), true).await;
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);

    // A name the certificate does not carry is refused, even with the CA trusted.
    let mut other = trusting(&mock, Alpn::Http1);
    other.tls.server_name = Some("relay.example".into());
    let o = send(&Client::new(&target(&url, other), timeouts()).expect("client"), false).await;
    assert_eq!(o.kind, OutcomeKind::ConnectError, "{:?}", o.detail);
    assert!(o.detail.as_deref().is_some_and(|d| d.contains("certificate")), "{:?}", o.detail);

    // connect_to: the URL names a host that does not resolve; the connection goes to
    // the mock, and SNI and the certificate check use the URL's name (localhost).
    let mut pinned = trusting(&mock, Alpn::Http1);
    pinned.connect_to = Some(mock.addr().to_string());
    let port = mock.addr().port();
    let o = send(&Client::new(&target(&format!("https://localhost:{port}"), pinned), timeouts()).expect("client"), true).await;
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
    assert_eq!(o.dns, None, "connect_to names an address: no lookup");

    // TLS 1.3 only: the mock speaks it.
    let mut modern = trusting(&mock, Alpn::Http1);
    modern.tls.min_version = relaybench::client::tls::TlsVersion::V13;
    let o = send(&Client::new(&target(&url, modern), timeouts()).expect("client"), true).await;
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);

    // A CA file with no certificate is refused before anything is sent.
    let empty = common::write_file(&dir, "empty.pem", "not a certificate\n");
    let mut net = NetOptions::default();
    net.tls.ca_file = Some(empty);
    let e = Client::new(&target(&url, net), Timeouts::default()).expect_err("no certificate");
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_speaks_http1_where_the_server_chose_it_and_reuses_those_connections() {
    let dir = common::temp_dir("tls-auto-http1");
    let made = relaybench::mock::tls::generate(&dir).expect("certificates");
    let mut config = MockConfig::new("k");
    config.latency.ttft = Duration::from_millis(2);
    let plain = MockServer::start_local(config).await.expect("mock");
    // An edge that offers only http/1.1 by ALPN, in front of the mock.
    let mut server = (*made.config).clone();
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    let front = common::tls_front(&relaybench::mock::tls::MockTls { config: Arc::new(server), ca_file: made.ca_file.clone() }, plain.addr());
    let mut net = NetOptions { alpn: Alpn::Auto, ..NetOptions::default() };
    net.tls.ca_file = made.ca_file.clone();
    let client = Client::new(&target(&format!("https://{front}"), net), timeouts()).expect("client");
    let mut opened = Vec::new();
    for stream in [true, false, true] {
        let o = send(&client, stream).await;
        assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
        assert!(!o.h2 && o.findings.is_empty(), "{:?}", o.findings);
        opened.push(o.connect.is_some());
    }
    assert_eq!(opened, [true, false, false], "one connection, kept for the next requests");
    // Several at once: each its own HTTP/1.1 connection, all answered.
    let tasks: Vec<_> = (0..4).map(|_| { let c = client.clone(); tokio::spawn(async move { send(&c, true).await }) }).collect();
    for task in tasks {
        let o = task.await.expect("task");
        assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
        assert!(!o.h2);
    }

    // An edge that chose http/1.1 on the first connection and h2 on the next (as one whose
    // servers differ may): the h2 connection joins the HTTP/2 side, and carries the
    // requests no idle HTTP/1.1 connection takes.
    let mut only_http1 = (*made.config).clone();
    only_http1.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptors = [tokio_rustls::TlsAcceptor::from(Arc::new(only_http1)), tokio_rustls::TlsAcceptor::from(made.config.clone())];
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let fickle = format!("https://{}", listener.local_addr().expect("addr"));
    let backend = plain.addr();
    tokio::spawn(async move {
        let mut accepted = 0;
        while let Ok((sock, _)) = listener.accept().await {
            let acceptor = acceptors[usize::from(accepted > 0)].clone();
            accepted += 1;
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else { return };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    let mut net = NetOptions { alpn: Alpn::Auto, ..NetOptions::default() };
    net.tls.ca_file = made.ca_file.clone();
    let client = Client::new(&target(&fickle, net), timeouts()).expect("client");
    assert_eq!(send(&client, false).await.kind, OutcomeKind::Ok);
    let (a, b) = tokio::join!(send(&client, false), send(&client, true));
    for o in [&a, &b] {
        assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
        assert!(o.findings.is_empty(), "{:?}", o.findings);
    }
    assert!(a.h2 != b.h2, "one on the idle HTTP/1.1 connection, one on the new h2 one: {} {}", a.h2, b.h2);
    // Then both kinds are kept: four at once take the idle HTTP/1.1 connection, streams
    // on the h2 one, and no new connection.
    let (c, d, e, f) = tokio::join!(send(&client, true), send(&client, false), send(&client, true), send(&client, false));
    let four = [c, d, e, f];
    assert!(four.iter().all(|o| o.kind == OutcomeKind::Ok && o.connect.is_none()), "{:?}", four.iter().map(|o| (&o.kind, o.connect.is_some())).collect::<Vec<_>>());
    assert!(four.iter().any(|o| o.h2) && four.iter().any(|o| !o.h2));
}

/// A TCP relay to `upstream` that counts the connections it accepted and those still open.
async fn counting_relay(upstream: std::net::SocketAddr) -> (std::net::SocketAddr, Arc<std::sync::atomic::AtomicUsize>, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (accepted, open) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (a, o) = (accepted.clone(), open.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            o.fetch_add(1, Ordering::SeqCst);
            let o = o.clone();
            tokio::spawn(async move {
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut sock, &mut upstream).await;
                }
                o.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (addr, accepted, open)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keep_alive_each_request_opens_its_own_connection_and_closes_it() {
    use std::sync::atomic::Ordering;
    let dir = common::temp_dir("tls-no-keep-alive");
    let mock = tls_mock(&dir).await;
    let (relay, accepted, open) = counting_relay(mock.addr()).await;
    let url = format!("https://{relay}");
    for (alpn, h2) in [(Alpn::Http1, false), (Alpn::Http2, true), (Alpn::Auto, true)] {
        for no_reuse in [false, true] {
            accepted.store(0, Ordering::SeqCst);
            let client = Client::new(&target(&url, NetOptions { no_reuse, ..trusting(&mock, alpn) }), timeouts()).expect("client");
            let mut paid = Vec::new();
            for stream in [true, false, true] {
                let o = send(&client, stream).await;
                assert_eq!(o.kind, OutcomeKind::Ok, "{alpn:?}: {:?}", o.detail);
                assert!(o.findings.is_empty() && o.h2 == h2, "{alpn:?}: {:?}", o.findings);
                paid.push(o.connect.is_some() && o.tls.is_some());
            }
            let at_once = tokio::join!(send(&client, true), send(&client, false));
            for o in [&at_once.0, &at_once.1] {
                assert_eq!(o.kind, OutcomeKind::Ok, "{alpn:?}: {:?}", o.detail);
            }
            let (expected, opened) = match no_reuse {
                // Each request paid TCP and TLS on a connection of its own.
                true => ([true; 3], 5),
                // One connection carried the first three; two at once need a second
                // over HTTP/1.1, a second stream over HTTP/2.
                false => ([true, false, false], if h2 { 1 } else { 2 }),
            };
            assert_eq!(paid, expected, "{alpn:?}, no_reuse {no_reuse}");
            assert_eq!(accepted.load(Ordering::SeqCst), opened, "{alpn:?}, no_reuse {no_reuse}");
            if no_reuse {
                // Closed once answered: none is left open.
                let deadline = Instant::now() + Duration::from_secs(2);
                while open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                assert_eq!(open.load(Ordering::SeqCst), 0, "{alpn:?}: connections left open");
            }
            drop(client);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_connections_resume_the_tls_session_unless_told_not_to_and_the_report_counts_them() {
    let dir = common::temp_dir("tls-resume");
    let mock = tls_mock(&dir).await;
    let ca = mock.ca_file().expect("ca").display().to_string();
    for (tls, resumed) in [("", 3), (", resume: false", 0)] {
        let scenario = common::write_file(
            &dir,
            "resume.yaml",
            &format!(
                "name: resume\ntarget: {{base_url: \"{}\", api_key_env: TLS_RESUME_KEY, tls: {{ca_file: \"{ca}\"{tls}}}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 8, prompt: hi}}\nload: {{concurrency: 1, requests: 4, keep_alive: false}}\n",
                mock.base_url()
            ),
        );
        let out = dir.join(format!("out-{resumed}"));
        let output = common::run_with_key(&scenario, &out, "TLS_RESUME_KEY", "k").await;
        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "{printed}");
        let report = common::only_report(&out);
        let connections = report.connections.expect("connections");
        // One request at a time, each on a new connection: the first handshake is a full
        // one, and the next three resume with the tickets the server sent, unless told not to.
        assert_eq!((connections.opened, connections.tls_resumed), (4, resumed), "{tls}: {connections:?}");
        assert_eq!(printed.contains(&format!("{resumed} resumed a TLS session")), resumed > 0, "{printed}");
    }
}

/// A TLS server with the mock's certificate that runs `serve` on each connection.
async fn hostile_tls<F, Fut>(dir: &std::path::Path, serve: F) -> (String, NetOptions)
where
    F: Fn(tokio_rustls::server::TlsStream<tokio::net::TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let made = relaybench::mock::tls::generate(dir).expect("certificates");
    let acceptor = tokio_rustls::TlsAcceptor::from(made.config.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (acceptor, serve) = (acceptor.clone(), serve.clone());
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(sock).await {
                    // The request (one small write) is read first: a close with it unread
                    // would be a reset that races the answer.
                    let mut request = vec![0u8; 65536];
                    let _ = tokio::io::AsyncReadExt::read(&mut tls, &mut request).await;
                    serve(tls).await;
                }
            });
        }
    });
    let mut net = NetOptions::default();
    net.tls.ca_file = made.ca_file;
    (url, net)
}

const STREAM_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nrequest-id: req_1\r\n\r\n";

fn chunk(data: &str) -> Vec<u8> {
    format!("{:x}\r\n{data}\r\n", data.len()).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tls_servers_are_findings_and_the_run_goes_on() {
    let dir = common::temp_dir("tls-hostile");
    let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n";

    // A handshake that never comes: a TCP server that accepts and stays silent.
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_url = format!("https://{}", silent.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let quick = Timeouts { connect: Duration::from_millis(300), ..timeouts() };
    let begun = Instant::now();
    let o = send(&Client::new(&target(&silent_url, NetOptions::default()), quick).expect("client"), true).await;
    assert_eq!(o.kind, OutcomeKind::ConnectTimeout, "{:?}", o.detail);
    assert!(begun.elapsed() < Duration::from_secs(2), "{:?}", begun.elapsed());

    // A stream cut without close_notify: the TCP connection just closes mid-stream.
    let (cut_url, cut_net) = hostile_tls(&dir.join("cut"), move |mut tls| async move {
        let _ = tls.write_all(&[STREAM_HEAD.as_bytes(), &chunk(start)].concat()).await;
        let _ = tls.flush().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (tcp, _) = tls.into_inner();
        drop(tcp);
    })
    .await;
    let cut = Client::new(&target(&cut_url, cut_net), timeouts()).expect("client");
    let o = send(&cut, true).await;
    assert_eq!(o.kind, OutcomeKind::Truncated, "{:?}", o.detail);

    // Alerts mid-stream: close_notify before the end of the stream, and a fatal alert
    // (internal_error) written as a raw record: the stream is cut short, never taken as whole.
    let (notify_url, notify_net) = hostile_tls(&dir.join("notify"), move |mut tls| async move {
        let _ = tls.write_all(&[STREAM_HEAD.as_bytes(), &chunk(start)].concat()).await;
        tls.get_mut().1.send_close_notify();
        let _ = tls.flush().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
    .await;
    let (alert_url, alert_net) = hostile_tls(&dir.join("alert"), move |mut tls| async move {
        let _ = tls.write_all(&[STREAM_HEAD.as_bytes(), &chunk(start)].concat()).await;
        let _ = tls.flush().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = tls.get_mut().0.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50]).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
    .await;
    for (url, net) in [(notify_url, notify_net), (alert_url, alert_net)] {
        let o = send(&Client::new(&target(&url, net), timeouts()).expect("client"), true).await;
        assert_eq!(o.kind, OutcomeKind::Truncated, "{url}: {:?}", o.detail);
    }

    // After all of them, the same client still works against a good server: each fault
    // was one request's.
    let mock = tls_mock(&dir.join("good")).await;
    let good = Client::new(&target(&mock.base_url(), trusting(&mock, Alpn::Http1)), timeouts()).expect("client");
    assert_eq!(send(&good, true).await.kind, OutcomeKind::Ok);
    let o = send(&cut, true).await;
    assert_eq!(o.kind, OutcomeKind::Truncated, "the cut server again: {:?}", o.detail);
}

/// Kills the child process when dropped, so a failed assertion leaves no mock behind.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `relaybench quick` with `args` against the TLS mock; returns exit code, everything it
/// printed and its report folder's parent.
fn quick(url: &str, args: &[&str], out: &std::path::Path) -> (Option<i32>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_relaybench"))
        .args(["quick", url, "--key-env", "TLS_QUICK_KEY", "--duration", "1s", "--concurrency", "2", "--out", &out.display().to_string()])
        .args(args)
        .env("TLS_QUICK_KEY", "relaybench-mock-key")
        .output()
        .expect("run relaybench");
    (output.status.code(), format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn quick_against_the_tls_mock_works_with_its_ca_fails_without_and_warns_when_insecure() {
    let dir = common::temp_dir("tls-cli");
    let port = common::closed_port();
    let mock = std::process::Command::new(env!("CARGO_BIN_EXE_relaybench"))
        .args(["mock", "--tls", "--port", &port.to_string(), "--cert-dir", &dir.display().to_string(), "--ttft", "5ms", "--tokens-per-s", "2000"])
        .env("RELAYBENCH_MOCK_KEY", "relaybench-mock-key")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the mock");
    let _mock = Killed(mock);
    let ca = dir.join(relaybench::mock::tls::CA_FILE);
    let started = std::time::Instant::now();
    while !(ca.exists() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()) {
        assert!(started.elapsed() < Duration::from_secs(20), "the TLS mock did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("https://127.0.0.1:{port}");
    let ca_arg = ca.display().to_string();

    for (alpn, http2) in [("http1", false), ("http2", true)] {
        let out = dir.join(format!("with-ca-{alpn}"));
        let (code, printed) = quick(&url, &["--ca-file", &ca_arg, "--alpn", alpn, "--stream"], &out);
        assert_eq!(code, Some(0), "{printed}");
        let report = common::only_report(&out);
        let c = report.connections.expect("connections");
        assert!(report.totals.by_outcome["ok"] > 0 && report.totals.by_outcome["ok"] == report.totals.requests, "{:?}", report.totals);
        assert_eq!(c.http2_responses == report.totals.requests, http2, "{c:?}");
        // Two requests in flight: two connections, each carrying many requests (HTTP/1.1
        // keep-alive) or streams (HTTP/2 may carry them all on one).
        assert!((1..=2).contains(&c.opened) && c.requests_per_connection.is_some_and(|n| n > 1.0), "{c:?}");
        assert!(printed.contains("connections:"), "{printed}");
    }

    let (code, printed) = quick(&url, &[], &dir.join("no-ca"));
    assert_ne!(code, Some(0), "{printed}");
    assert!(printed.contains("certificate"), "{printed}");

    let out = dir.join("insecure");
    let (code, printed) = quick(&url, &["--insecure"], &out);
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("WARNING: TLS certificate verification is OFF"), "{printed}");
    let folder = common::only_report_dir(&out);
    let summary = std::fs::read_to_string(folder.join("summary.md")).expect("summary");
    let junit = std::fs::read_to_string(folder.join("junit.xml")).expect("junit");
    assert!(summary.contains("WARNING") && junit.contains("certificate verification is OFF"), "{summary}\n{junit}");
    assert!(common::only_report(&out).target.tls_insecure);
}

#[test]
fn a_scenario_mock_with_tls_is_reached_over_https_with_the_ca_it_made() {
    for (http2, h2_responses) in [(false, 0), (true, 6)] {
        let scenario = format!("name: tls-mock\ntarget: {{mock: {{tls: true, http2: {http2}, ttft: 5ms}}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\nload: {{concurrency: 2, requests: 6}}\n");
        let report = common::run_ok(&format!("tls-mock-{http2}"), &scenario);
        assert!(report.target.url.starts_with("https://127.0.0.1:"), "{}", report.target.url);
        assert_eq!(report.totals.by_outcome["ok"], 6);
        let c = report.connections.expect("connections");
        assert_eq!(c.http2_responses, h2_responses, "{c:?}");
        assert!(report.metrics.contains_key("tls"), "{:?}", report.metrics.keys());
    }
}
