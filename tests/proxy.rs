//! Proxies on loopback, each started by the test and recording what it was asked: an HTTP
//! proxy (CONNECT for https, absolute URLs for plain http) and a SOCKS5 proxy, both with
//! credentials. Requests reach the mock through them, the proxy leg is timed apart,
//! `NO_PROXY` bypasses them, and a whole run names the proxy in its report without its
//! credentials anywhere in its output or files.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use relaybench::client::proxy::{Proxy, ProxyChoice};
use relaybench::client::tls::Alpn;
use relaybench::client::{ApiKey, AuthStyle, Client, NetOptions, Target, Timeouts};
use relaybench::mock::tls::MockTls;
use relaybench::mock::{MockConfig, MockServer};
use relaybench::outcome::OutcomeKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

const USER: &str = "bench";
const PASSWORD: &str = "proxy-pass-7f3a9c";

type Seen = Arc<Mutex<Vec<String>>>;

/// An HTTP proxy that requires Basic credentials; records each request line.
async fn http_proxy() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            // Without it, Nagle's algorithm holds a small write for the peer's delayed ACK
            // (40 ms), and a stream arrives as one buffered lump.
            let _ = client.set_nodelay(true);
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let Ok(b) = client.read_u8().await else { return };
                    head.push(b);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let line = text.lines().next().unwrap_or_default().to_owned();
                log.lock().expect("lock").push(line.clone());
                let expected = format!("proxy-authorization: Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")));
                if !text.to_lowercase().contains(&expected.to_lowercase()) {
                    let _ = client.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n").await;
                    return;
                }
                let mut words = line.split(' ');
                let (method, target) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
                let authority = if method == "CONNECT" {
                    target.to_owned()
                } else {
                    target.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned()
                };
                let Ok(mut upstream) = TcpStream::connect(&authority).await else { return };
                let _ = upstream.set_nodelay(true);
                if method == "CONNECT" {
                    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
                } else {
                    // A forwarded request goes on as it came (the mock takes absolute URLs).
                    let _ = upstream.write_all(&head).await;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (url, seen)
}

/// A SOCKS5 proxy (RFC 1928) that requires user/password auth (RFC 1929); records each
/// CONNECT's destination.
async fn socks5_proxy() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("socks5://{}", listener.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = listener.accept().await {
            let log = log.clone();
            let _ = c.set_nodelay(true);
            tokio::spawn(async move {
                let socks = async {
                    let (_version, methods) = (c.read_u8().await?, c.read_u8().await?);
                    let mut offered = vec![0; methods as usize];
                    c.read_exact(&mut offered).await?;
                    c.write_all(&[5, 2]).await?;
                    let _ = c.read_u8().await?;
                    let mut user = vec![0; c.read_u8().await? as usize];
                    c.read_exact(&mut user).await?;
                    let mut password = vec![0; c.read_u8().await? as usize];
                    c.read_exact(&mut password).await?;
                    let ok = user == USER.as_bytes() && password == PASSWORD.as_bytes();
                    c.write_all(&[1, if ok { 0 } else { 1 }]).await?;
                    if !ok {
                        return Ok(None);
                    }
                    let mut request = [0u8; 4];
                    c.read_exact(&mut request).await?;
                    let host = match request[3] {
                        1 => {
                            let mut ip = [0u8; 4];
                            c.read_exact(&mut ip).await?;
                            std::net::Ipv4Addr::from(ip).to_string()
                        }
                        3 => {
                            let mut name = vec![0; c.read_u8().await? as usize];
                            c.read_exact(&mut name).await?;
                            String::from_utf8_lossy(&name).into_owned()
                        }
                        _ => return Ok(None),
                    };
                    let port = c.read_u16().await?;
                    Ok::<_, std::io::Error>(Some(format!("{host}:{port}")))
                };
                let Ok(Some(destination)) = socks.await else { return };
                log.lock().expect("lock").push(destination.clone());
                let Ok(mut upstream) = TcpStream::connect(destination.replace("localhost", "127.0.0.1")).await else { return };
                let _ = upstream.set_nodelay(true);
                let _ = c.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await;
                let _ = tokio::io::copy_bidirectional(&mut c, &mut upstream).await;
            });
        }
    });
    (url, seen)
}

async fn mock(tls: Option<MockTls>) -> MockServer {
    let mut config = MockConfig::new("k");
    config.latency.ttft = Duration::from_millis(2);
    config.latency.tokens_per_s = 5000.0;
    config.tls = tls;
    MockServer::start_local(config).await.expect("mock")
}

/// Certificates for a TLS mock (its CA written to `dir`).
fn certificates(dir: &std::path::Path) -> MockTls {
    relaybench::mock::tls::generate(dir).expect("certificates")
}

fn target(base_url: &str, net: NetOptions) -> Target {
    Target { base_url: base_url.to_owned(), auth: AuthStyle::XApiKey, api_key: ApiKey::new("k"), anthropic_version: Some("2023-06-01".into()), headers: Vec::new(), net }
}

fn through(proxy_url: &str, mock: &MockServer, alpn: Alpn) -> NetOptions {
    let mut net = NetOptions { alpn, proxy: ProxyChoice::Given(Proxy::parse(proxy_url).expect("proxy").with_credentials(&format!("{USER}:{PASSWORD}"))), ..NetOptions::default() };
    net.tls.ca_file = mock.ca_file().map(std::path::Path::to_path_buf);
    net
}

async fn ok_through(client: &Client) {
    for stream in [true, false] {
        let o = client.execute(common::body(stream, 16), 0, stream, None, Instant::now()).await;
        assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
        assert!(o.findings.is_empty(), "{:?}", o.findings);
        if stream {
            assert!(o.proxy.is_some() && o.connect.is_some(), "the first request's proxy leg is timed: {:?}", (o.connect, o.proxy));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_the_mock_through_http_and_socks5_proxies() {
    let dir = common::temp_dir("proxy-tls");
    let (plain, tls) = (mock(None).await, mock(Some(certificates(&dir))).await);
    let (http_url, http_seen) = http_proxy().await;
    let (socks_url, socks_seen) = socks5_proxy().await;
    let timeouts = Timeouts { connect: Duration::from_secs(3), total: Duration::from_secs(10), ..Timeouts::default() };

    // https through the HTTP proxy: a CONNECT tunnel, over HTTP/1.1 and HTTP/2.
    for alpn in [Alpn::Http1, Alpn::Http2] {
        ok_through(&Client::new(&target(&tls.base_url(), through(&http_url, &tls, alpn)), timeouts).expect("client")).await;
    }
    // Plain http through it: the absolute URL, no tunnel.
    let client = Client::new(&target(&plain.base_url(), through(&http_url, &plain, Alpn::Http1)), timeouts).expect("client");
    assert_eq!(client.proxy(), Some(http_url.as_str()));
    ok_through(&client).await;
    let seen = http_seen.lock().expect("lock").clone();
    let tunnel = format!("CONNECT {} HTTP/1.1", tls.addr());
    assert_eq!(seen.iter().filter(|l| **l == tunnel).count(), 2, "{seen:?}");
    assert!(seen.iter().any(|l| *l == format!("POST {}/v1/messages HTTP/1.1", plain.base_url())), "{seen:?}");

    // SOCKS5, to both; socks5h hands the name to the proxy.
    ok_through(&Client::new(&target(&plain.base_url(), through(&socks_url, &plain, Alpn::Http1)), timeouts).expect("client")).await;
    ok_through(&Client::new(&target(&tls.base_url(), through(&socks_url, &tls, Alpn::Http1)), timeouts).expect("client")).await;
    let by_name = format!("https://localhost:{}", tls.addr().port());
    let socks5h = socks_url.replace("socks5://", "socks5h://");
    ok_through(&Client::new(&target(&by_name, through(&socks5h, &tls, Alpn::Http1)), timeouts).expect("client")).await;
    let seen = socks_seen.lock().expect("lock").clone();
    assert_eq!(seen, [plain.addr().to_string(), tls.addr().to_string(), format!("localhost:{}", tls.addr().port())]);

    // Wrong credentials: a clear connect error naming the proxy, never the password.
    let mut wrong = through(&http_url, &tls, Alpn::Http1);
    wrong.proxy = ProxyChoice::Given(Proxy::parse(&http_url).expect("proxy").with_credentials("bench:wrong-password"));
    let o = Client::new(&target(&tls.base_url(), wrong), timeouts).expect("client").execute(common::body(true, 8), 0, true, None, Instant::now()).await;
    assert_eq!(o.kind, OutcomeKind::ConnectError, "{:?}", o.detail);
    let detail = o.detail.unwrap_or_default();
    assert!(detail.contains("407") && detail.contains(&http_url) && !detail.contains("wrong-password"), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_proxy_carries_https_as_tls_inside_tls_and_plain_http_forwarded() {
    let made = certificates(&common::temp_dir("proxy-https"));
    let (tls, plain) = (mock(Some(made.clone())).await, mock(None).await);
    let (http_url, seen) = http_proxy().await;
    // The proxy's certificate comes from the mock's CA, so one ca_file trusts both.
    let behind = http_url.trim_start_matches("http://").parse().expect("proxy address");
    let proxy_url = format!("https://{}", common::tls_front(&made, behind));
    let timeouts = Timeouts { connect: Duration::from_secs(3), total: Duration::from_secs(10), ..Timeouts::default() };
    for alpn in [Alpn::Http1, Alpn::Http2] {
        ok_through(&Client::new(&target(&tls.base_url(), through(&proxy_url, &tls, alpn)), timeouts).expect("client")).await;
    }
    ok_through(&Client::new(&target(&plain.base_url(), through(&proxy_url, &tls, Alpn::Http1)), timeouts).expect("client")).await;
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.iter().filter(|l| **l == format!("CONNECT {} HTTP/1.1", tls.addr())).count(), 2, "{seen:?}");
    assert!(seen.iter().any(|l| *l == format!("POST {}/v1/messages HTTP/1.1", plain.base_url())), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_proxy_applies_unless_no_proxy_names_the_host() {
    let plain = mock(None).await;
    let (http_url, seen) = http_proxy().await;
    let proxy_with_credentials = http_url.replace("http://", &format!("http://{USER}:{PASSWORD}@"));
    let net = NetOptions { proxy: ProxyChoice::FromEnv, ..NetOptions::default() };
    let timeouts = Timeouts { connect: Duration::from_secs(3), total: Duration::from_secs(10), ..Timeouts::default() };
    for (no_proxy, via_proxy) in [("", true), ("127.0.0.1", false), ("localhost,127.0.0.0/8", false)] {
        let proxy_var = proxy_with_credentials.clone();
        let env = move |name: &str| match name {
            "http_proxy" => Some(proxy_var.clone()),
            "NO_PROXY" => Some(no_proxy.to_owned()),
            _ => None,
        };
        let client = Client::with_env(&target(&plain.base_url(), net.clone()), timeouts, &env).expect("client");
        assert_eq!(client.proxy().is_some(), via_proxy, "NO_PROXY={no_proxy}");
        let before = seen.lock().expect("lock").len();
        let o = client.execute(common::body(true, 8), 0, true, None, Instant::now()).await;
        assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
        assert_eq!(seen.lock().expect("lock").len() > before, via_proxy, "NO_PROXY={no_proxy}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_names_its_proxy_and_never_its_credentials() {
    let plain = mock(None).await;
    let (http_url, seen) = http_proxy().await;
    let dir = common::temp_dir("proxy-run");
    let scenario = common::write_file(
        &dir,
        "proxy.yaml",
        &format!(
            "name: proxied\ntarget: {{base_url: \"{}\", api_key_env: PROXY_RUN_KEY, proxy: {{url: \"{http_url}\", credentials_env: PROXY_RUN_CREDENTIALS}}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hello}}\nload: {{concurrency: 2, requests: 6}}\n",
            plain.base_url()
        ),
    );
    let out = dir.join("out");
    let args = ["run".to_owned(), scenario.display().to_string(), "--out".to_owned(), out.display().to_string()];
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_relaybench"))
            .args(&args)
            .env("PROXY_RUN_KEY", "k")
            .env("PROXY_RUN_CREDENTIALS", format!("{USER}:{PASSWORD}"))
            .output()
            .expect("run relaybench")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let report = common::only_report(&out);
    // Keep-alive through the proxy: it saw one request line per connection, as many as the
    // report says were opened.
    let connections = seen.lock().expect("lock").len() as u64;
    assert!(connections >= 1 && report.connections.as_ref().map(|c| c.opened) == Some(connections), "{connections} vs {:?}", report.connections);
    assert_eq!(report.target.proxy.as_deref(), Some(http_url.as_str()));
    assert_eq!(report.totals.by_outcome["ok"], 6);
    assert!(stdout.contains(&format!("through proxy {http_url}")), "{stdout}");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    for (name, text) in common::files_under(&out).into_iter().map(|(p, t)| (p.display().to_string(), t)).chain([("stdout".to_owned(), stdout), ("stderr".to_owned(), stderr)]) {
        assert!(!text.contains(PASSWORD) && !text.contains(&basic), "{name} holds the proxy's credentials");
    }
}
