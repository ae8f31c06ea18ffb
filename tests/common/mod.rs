//! Helpers shared by the integration tests. Everything talks to 127.0.0.1 only.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use relaybench::client::{ApiKey, AuthStyle, Client, Target, Timeouts};
use relaybench::protocol::ANTHROPIC_VERSION;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A client for `base_url` with key `key` and the given total time limit.
pub fn client(base_url: &str, key: &str, total: Duration) -> Client {
    let target = Target {
        base_url: base_url.to_owned(),
        auth: AuthStyle::XApiKey,
        api_key: ApiKey::new(key),
        anthropic_version: Some(ANTHROPIC_VERSION.to_owned()),
        headers: Vec::new(),
        net: Default::default(),
    };
    Client::new(&target, Timeouts { connect: Duration::from_secs(5), total, ..Timeouts::default() }).expect("client")
}

/// A client with every limit given.
/// The clients the probes go out with, against `base_url`: key `k`, a wrong key, none.
#[allow(dead_code)]
pub fn probe_clients(base_url: &str) -> relaybench::probes::ProbeClients {
    let total = Duration::from_secs(20);
    relaybench::probes::ProbeClients { target: client(base_url, "k", total), wrong_key: client(base_url, "wrong", total), no_key: client(base_url, "", total) }
}

pub fn client_with(base_url: &str, timeouts: Timeouts) -> Client {
    let target = Target {
        base_url: base_url.to_owned(),
        auth: AuthStyle::XApiKey,
        api_key: ApiKey::new("k"),
        anthropic_version: Some(ANTHROPIC_VERSION.to_owned()),
        headers: Vec::new(),
        net: Default::default(),
    };
    Client::new(&target, timeouts).expect("client")
}

/// A request body for the mock.
pub fn body(stream: bool, max_tokens: u64) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": max_tokens,
            "stream": stream,
            "messages": [{"role": "user", "content": "hello"}],
        })
        .to_string(),
    )
}

/// What a misbehaving server sends after reading a request.
#[derive(Clone)]
pub enum Script {
    /// These bytes, then close.
    Bytes(Vec<u8>),
    /// These bytes, one piece every `gap`, then close.
    Drip(Vec<u8>, Duration),
    /// The head, then `total` bytes of `fill` with no line end, then close.
    Endless(Vec<u8>, u8, usize),
    /// Nothing at all for this long, then close.
    Silence(Duration),
}

/// A complete, valid stream response: what a well-behaved server answers.
pub fn good_stream_response() -> Vec<u8> {
    let mut response = sse_head();
    response.extend_from_slice(concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ).as_bytes());
    response
}

/// Serves `script` to every connection on an ephemeral loopback port; returns the base URL.
pub async fn bad_server(script: Script) -> String {
    serve_scripts(move |_| script.clone()).await
}

/// Serves `script` to the first connection and a complete, valid stream to every later
/// one: whether a client is still usable after a misbehaving answer.
pub async fn bad_then_good_server(script: Script) -> String {
    serve_scripts(move |n| if n == 0 { script.clone() } else { Script::Bytes(good_stream_response()) }).await
}

/// Serves connection number `n` (from 0) with `script_of(n)`; returns the base URL.
async fn serve_scripts(script_of: impl Fn(usize) -> Script + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let script = script_of(n);
            tokio::spawn(async move {
                let _ = read_request(&mut sock).await;
                match script {
                    Script::Bytes(b) => {
                        let _ = sock.write_all(&b).await;
                    }
                    Script::Drip(b, gap) => {
                        for piece in b.chunks(4) {
                            if sock.write_all(piece).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(gap).await;
                        }
                    }
                    Script::Silence(length) => tokio::time::sleep(length).await,
                    Script::Endless(head, fill, total) => {
                        let _ = sock.write_all(&head).await;
                        let block = vec![fill; 64 * 1024];
                        let mut sent = 0;
                        while sent < total {
                            if sock.write_all(&block).await.is_err() {
                                return;
                            }
                            sent += block.len();
                        }
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// Serves `response` to every request on an ephemeral loopback port and keeps each
/// request's raw bytes; returns the base URL and the requests received.
pub async fn recording_server(response: Vec<u8>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (response, kept) = (response.clone(), kept.clone());
            tokio::spawn(async move {
                let request = read_request(&mut sock).await;
                kept.lock().expect("lock").push(request);
                let _ = sock.write_all(&response).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// Reads one request head and its Content-Length body, and returns them.
async fn read_request(sock: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = sock.read(&mut chunk).await else { return buf };
        if n == 0 {
            return buf;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return buf;
            }
        }
    }
}

/// An HTTP/1.1 response head for a stream with no Content-Length, closed by the server.
pub fn sse_head() -> Vec<u8> {
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\nconnection: close\r\n\r\n".to_vec()
}

/// A fresh, empty temporary folder unique to `name` and this process.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("relaybench-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes `text` as `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The exact body bytes the mock sends for `body`, captured over a raw HTTP/1.0 socket
/// (hyper answers 1.0 without chunked encoding, so the bytes after the head are the body).
pub async fn capture(base_url: &str, body: &str) -> (String, Vec<u8>) {
    let addr = base_url.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST /v1/messages HTTP/1.0\r\nhost: {addr}\r\nx-api-key: k\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw).await.expect("read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    (String::from_utf8_lossy(&raw[..split]).into_owned(), raw[split..].to_vec())
}


/// The one report folder a run wrote under `out`.
pub fn only_report_dir(out: &Path) -> PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(out).expect("out dir").collect();
    assert_eq!(dirs.len(), 1, "one report folder");
    dirs.into_iter().next().expect("one").expect("entry").path()
}

/// The report of the one run written under `out`.
pub fn only_report(out: &Path) -> relaybench::report::Report {
    relaybench::report::read(&only_report_dir(out).join(relaybench::report::REPORT_JSON)).expect("report parses")
}

/// Runs `scenario` (YAML text) with the relaybench binary, quietly, in a fresh folder named
/// after `name`; asserts it exits 0 and returns its report.
pub fn run_ok(name: &str, scenario: &str) -> relaybench::report::Report {
    relaybench::report::read(&run_ok_dir(name, scenario).join(relaybench::report::REPORT_JSON)).expect("report parses")
}

/// [`run_ok`], returning the report folder instead (for its other files).
pub fn run_ok_dir(name: &str, scenario: &str) -> PathBuf {
    only_report_dir(&run_expecting(name, scenario, &["-q"], 0).1)
}

/// Runs `scenario` (YAML text) with the relaybench binary and `extra` arguments, in a
/// fresh folder named after `name`; asserts it exits with `code` and returns what it
/// printed and the folder it wrote its report folder in.
pub fn run_expecting(name: &str, scenario: &str, extra: &[&str], code: i32) -> (String, PathBuf) {
    let dir = temp_dir(name);
    let file = write_file(&dir, "s.yaml", scenario);
    let out = dir.join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_relaybench"))
        .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")])
        .args(extra)
        .output()
        .expect("run relaybench");
    assert_eq!(o.status.code(), Some(code), "{}", String::from_utf8_lossy(&o.stderr));
    (String::from_utf8_lossy(&o.stdout).into_owned(), out)
}

/// The structure of the common JUnit schema (the Ant format CI systems read): which
/// element may hold which, and the attributes each requires.
const JUNIT_STRUCTURE: [(&str, &[&str], &[&str]); 5] = [
    // (element, allowed parents, required attributes)
    ("testsuites", &[], &[]),
    ("testsuite", &["testsuites"], &["name", "tests"]),
    ("testcase", &["testsuite"], &["name", "classname"]),
    ("failure", &["testcase"], &[]),
    ("skipped", &["testcase"], &[]),
];

/// Counts of `<testcase>` and `<failure>` elements, and the sums of the suites' `tests`
/// and `failures` attributes, from a parse that fails on malformed XML or on structure the
/// common JUnit schema does not allow.
pub fn junit_counts(xml: &str) -> (usize, usize, usize, usize) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut cases, mut failures, mut declared_tests, mut declared_failures) = (0, 0, 0, 0);
    let mut open: Vec<String> = Vec::new();
    loop {
        let event = reader.read_event().expect("well-formed XML");
        if let quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) = &event {
            let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
            let (_, parents, required) = JUNIT_STRUCTURE
                .iter()
                .find(|(n, _, _)| *n == name)
                .unwrap_or_else(|| panic!("<{name}> is not a JUnit element"));
            let parent = open.last().map(String::as_str);
            assert!(parents.is_empty() == parent.is_none() && parent.is_none_or(|p| parents.contains(&p)), "<{name}> inside {parent:?}");
            for attribute in *required {
                assert!(e.try_get_attribute(*attribute).expect("attribute").is_some(), "<{name}> lacks {attribute}");
            }
        }
        match &event {
            quick_xml::events::Event::Start(e) => open.push(String::from_utf8_lossy(e.name().as_ref()).into_owned()),
            quick_xml::events::Event::End(_) => {
                open.pop();
            }
            _ => {}
        }
        match event {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => match e.name().as_ref() {
                b"testcase" => cases += 1,
                b"failure" => failures += 1,
                b"testsuite" => {
                    for a in e.attributes() {
                        let a = a.expect("attribute");
                        let n: usize = String::from_utf8_lossy(&a.value).parse().unwrap_or(0);
                        match a.key.as_ref() {
                            b"tests" => declared_tests += n,
                            b"failures" => declared_failures += n,
                            _ => {}
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    (cases, failures, declared_tests, declared_failures)
}

/// Runs `relaybench run SCENARIO --out OUT` with the key variable `key_var` set to `key`,
/// on a blocking thread, so the async test's own server keeps serving meanwhile.
pub async fn run_with_key(scenario: &Path, out: &Path, key_var: &str, key: &str) -> std::process::Output {
    let args = ["run".to_owned(), scenario.display().to_string(), "--out".to_owned(), out.display().to_string()];
    let (key_var, key) = (key_var.to_owned(), key.to_owned());
    tokio::task::spawn_blocking(move || std::process::Command::new(env!("CARGO_BIN_EXE_relaybench")).args(&args).env(key_var, key).output().expect("run relaybench"))
        .await
        .expect("run relaybench")
}

/// A loopback server that accepts connections and never sends a byte (holding them
/// open), on its own thread; returns its address.
pub fn silent_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    addr
}

/// A TLS front for `backend`, serving `tls`'s certificate, on its own thread and runtime
/// (so sync and async tests alike can start it): each connection is decrypted and copied
/// to a new TCP connection to `backend`. A clean end is shut down with close_notify; an
/// error (a reset) drops the connection without it. Returns its address.
pub fn tls_front(tls: &relaybench::mock::tls::MockTls, backend: std::net::SocketAddr) -> std::net::SocketAddr {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener).expect("listener");
            while let Ok((sock, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // Without it, Nagle's algorithm holds a small write for the peer's
                    // delayed ACK (40 ms): a stream would arrive as one buffered lump.
                    let _ = sock.set_nodelay(true);
                    let Ok(mut tls) = acceptor.accept(sock).await else { return };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else { return };
                    let _ = plain.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
    });
    addr
}

/// Runs `file` into `out`, waits until the run says it is under way (its signal handling
/// is installed by then), then sends SIGINT after each pause of `pauses` in turn. Returns
/// the output, the stderr that followed the first line, and how long the run took to end
/// after the first signal.
#[cfg(unix)]
pub fn interrupt_after(file: &Path, out: &Path, pauses: &[Duration]) -> (std::process::Output, String, Duration) {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_relaybench"))
        .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).expect("read stderr");
    assert!(line.contains("running"), "{line}");
    let mut signalled = None;
    for pause in pauses {
        std::thread::sleep(*pause);
        signalled.get_or_insert_with(std::time::Instant::now);
        assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill").success());
    }
    let o = child.wait_with_output().expect("wait");
    let stopped_after = signalled.map_or(Duration::ZERO, |s| s.elapsed());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("read stderr");
    (o, rest, stopped_after)
}

/// Every file under `dir`, read as text.
pub fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned()));
        }
    }
    out
}
