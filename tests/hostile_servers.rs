//! The hostile-server matrix: a real `relaybench run` against a loopback server that
//! misbehaves in one way per mode, on every other connection, in plain HTTP and again
//! behind a TLS front (which passes a clean end on as close_notify and a reset as a cut
//! without it). Each run must end in bounded time and memory with a clear outcome for the
//! hostile answers, the good answers between them unharmed, a report written, and the key
//! in no output or artifact.
//!
//! Linux only: peak memory is read from `/proc/PID/status` (`VmHWM`) while the run goes.
#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_relaybench");
const KEY_VAR: &str = "RELAYBENCH_TEST_HOSTILE_KEY";
const KEY: &str = "sk-hostile-0123456789abcdefghijklmnopqrstuvwxyz";
/// Requests per run; the hostile ones are every other connection.
const REQUESTS: u64 = 6;
/// Peak resident memory a run may reach: these runs peak at 33-41 MB, and keeping every
/// finding of a 2 s flood once took hundreds.
const MEMORY_BOUND_KB: u64 = 128 << 10;
/// Wall time a run may take (its requests are limited to 2 s each).
const TIME_BOUND: Duration = Duration::from_secs(45);

const MESSAGE_START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n";
const BLOCK_START: &str = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
const DELTA: &str = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n";
const END: &str = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_1\r\nconnection: close\r\n\r\n";

/// A complete, conformant stream.
fn good_stream() -> String {
    format!("{MESSAGE_START}{BLOCK_START}{DELTA}{END}")
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    SlowDrip,
    EndlessLine,
    HugeEvent,
    Garbage,
    NotHttp,
    ResetMidStream,
    ShortContentLength,
    BadChunking,
    WrongContentType,
    Gzip,
    NeverAnswers,
    EventFlood,
    FindingsFlood,
    Http10,
    Informational,
    Redirect,
    RateLimitStorm,
    PingsForever,
    KeyEcho,
    KeyEchoInStream,
}

/// Reads one request (head, then a Content-Length body); false when the peer went away.
fn read_request(sock: &mut TcpStream) -> bool {
    let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
            if data.len() >= end + 4 + length {
                return true;
            }
        }
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// Writes `piece` until the client hangs up (or a minute passes, so a test can never hang).
fn repeat_until_closed(sock: &mut TcpStream, piece: &[u8]) {
    let block = piece.repeat((64 << 10) / piece.len().max(1) + 1);
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if sock.write_all(&block).is_err() {
            return;
        }
    }
}

fn answer(mode: Mode, sock: &mut TcpStream) {
    let sse = |body: &str| format!("{SSE_HEAD}{body}");
    let _ = match mode {
        Mode::SlowDrip => {
            let _ = sock.write_all(SSE_HEAD.as_bytes());
            for byte in good_stream().bytes() {
                if sock.write_all(&[byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(())
        }
        Mode::EndlessLine => {
            let _ = sock.write_all(sse("data: ").as_bytes());
            repeat_until_closed(sock, b"x");
            Ok(())
        }
        Mode::HugeEvent => {
            let event = format!("event: content_block_delta\ndata: {}\n\n", "y".repeat(20 << 20));
            sock.write_all(sse(&format!("{MESSAGE_START}{event}")).as_bytes())
        }
        Mode::Garbage => {
            let mut bytes = SSE_HEAD.as_bytes().to_vec();
            bytes.extend((0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
            sock.write_all(&bytes)
        }
        Mode::NotHttp => sock.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 not http at all\r\n\r\n"),
        Mode::ResetMidStream => {
            let _ = sock.write_all(sse(&format!("{MESSAGE_START}{BLOCK_START}{DELTA}event: content_block_delta\ndata: {{\"type\":\"cont")).as_bytes());
            std::thread::sleep(Duration::from_millis(50));
            // A zero linger turns the close into a TCP reset.
            let _ = socket2::SockRef::from(&*sock).set_linger(Some(Duration::ZERO));
            Ok(())
        }
        Mode::ShortContentLength => {
            let body = r#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"te"#;
            sock.write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4000\r\nconnection: close\r\n\r\n{body}").as_bytes())
        }
        Mode::BadChunking => sock.write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{MESSAGE_START}\r\nzz\r\nnot a chunk\r\n", MESSAGE_START.len()).as_bytes()),
        Mode::WrongContentType => sock.write_all("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body>Welcome to nginx!</body></html>".to_string().as_bytes()),
        Mode::Gzip => {
            let mut bytes = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\nconnection: close\r\n\r\n".as_bytes().to_vec();
            bytes.extend_from_slice(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x57\x28\xcf\x2f\xca\x49\x01\x00\x85\x11\x4a\x0d\x0b\x00\x00\x00");
            sock.write_all(&bytes)
        }
        Mode::NeverAnswers => {
            std::thread::sleep(Duration::from_secs(8));
            Ok(())
        }
        Mode::EventFlood => {
            let _ = sock.write_all(sse(&format!("{MESSAGE_START}{BLOCK_START}")).as_bytes());
            repeat_until_closed(sock, DELTA.as_bytes());
            Ok(())
        }
        Mode::FindingsFlood => {
            // Deltas to a block that was never started: a finding on every event.
            let _ = sock.write_all(sse(MESSAGE_START).as_bytes());
            repeat_until_closed(sock, DELTA.replace("\"index\":0", "\"index\":7").as_bytes());
            Ok(())
        }
        Mode::Http10 => sock.write_all(format!("HTTP/1.0 200 OK\r\ncontent-type: text/event-stream\r\n\r\n{}", good_stream()).as_bytes()),
        Mode::Informational => sock.write_all(format!("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n{}", sse(&good_stream())).as_bytes()),
        Mode::Redirect => sock.write_all(b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:1/v1/messages\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
        Mode::RateLimitStorm => {
            let body = r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#;
            sock.write_all(format!("HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes())
        }
        Mode::PingsForever => {
            let _ = sock.write_all(sse(MESSAGE_START).as_bytes());
            repeat_until_closed(sock, b"event: ping\ndata: {\"type\": \"ping\"}\n\n");
            Ok(())
        }
        Mode::KeyEcho => {
            let body = format!(r#"{{"type":"error","error":{{"type":"authentication_error","message":"invalid x-api-key {KEY} (Bearer {KEY})"}}}}"#);
            sock.write_all(format!("HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nx-echo-key: {KEY}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes())
        }
        Mode::KeyEchoInStream => {
            let error = format!("event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"upstream refused key {KEY}\"}}}}\n\n");
            sock.write_all(sse(&format!("{MESSAGE_START}{error}")).as_bytes())
        }
    };
}

/// Serves `mode` on even connections and a good stream on odd ones, one request per
/// connection, each on its own thread.
fn serve(mode: Mode) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let count = Arc::clone(&count);
            std::thread::spawn(move || {
                let mut sock = conn;
                if !read_request(&mut sock) {
                    return;
                }
                if count.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                    answer(mode, &mut sock);
                } else {
                    let _ = sock.write_all(format!("{SSE_HEAD}{}", good_stream()).as_bytes());
                }
                let _ = sock.flush();
            });
        }
    });
    addr
}

/// A TLS front for `backend` with a certificate from the mock's CA (written to `dir`);
/// returns its address and the CA file.
fn tls_front(backend: SocketAddr, dir: &std::path::Path) -> (SocketAddr, std::path::PathBuf) {
    let made = relaybench::mock::tls::generate(dir).expect("certificates");
    (common::tls_front(&made, backend), made.ca_file.expect("ca file"))
}

/// What one run did.
struct Ran {
    code: Option<i32>,
    elapsed: Duration,
    peak_kb: u64,
    /// Readings of the peak taken from the running binary; with none, `peak_kb` says nothing.
    samples: u32,
    printed: String,
    out: std::path::PathBuf,
}

/// Runs the binary on `scenario` with the key set, sampling its peak resident memory.
fn run(name: &str, scenario: &str) -> Ran {
    let dir = common::temp_dir(&format!("hostile-{name}"));
    let file = common::write_file(&dir, "s.yaml", scenario);
    let out = dir.join("out");
    let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
    let started = Instant::now();
    let mut child = std::process::Command::new(BIN)
        .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")])
        .env(KEY_VAR, KEY)
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("run relaybench");
    let status_path = format!("/proc/{}/status", child.id());
    let (mut peak_kb, mut samples) = (0, 0);
    let status = loop {
        // VmHWM is the peak so far, so the last sample before exit is close to the true one.
        // Until the child has exec'd, its status is a copy of this test process's.
        let proc_status = std::fs::read_to_string(&status_path).unwrap_or_default();
        if proc_status.lines().next().is_some_and(|l| l.contains("relaybench")) {
            if let Some(kb) = proc_status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()) {
                peak_kb = peak_kb.max(kb);
                samples += 1;
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > TIME_BOUND {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let printed = format!("{}{}", std::fs::read_to_string(&stdout).unwrap_or_default(), std::fs::read_to_string(&stderr).unwrap_or_default());
    Ran { code: status.code(), elapsed: started.elapsed(), peak_kb, samples, printed, out }
}

/// Runs one mode, behind a TLS front when `tls`, and returns what is wrong with the run
/// (empty when nothing is).
fn check(mode: Mode, expected: &[&str], hostile_ok: bool, tls: bool) -> Vec<String> {
    let backend = serve(mode);
    let name = format!("{mode:?}{}", if tls { "-tls" } else { "" });
    let target = if tls {
        let (front, ca) = tls_front(backend, &common::temp_dir(&format!("hostile-ca-{name}")));
        format!("{{base_url: \"https://{front}\", api_key_env: {KEY_VAR}, tls: {{ca_file: \"{}\"}}}}", ca.display())
    } else {
        format!("{{base_url: \"http://{backend}\", api_key_env: {KEY_VAR}}}")
    };
    let scenario = format!(
        "name: hostile\ntarget: {target}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\nload: {{concurrency: 2, requests: {REQUESTS}, timeout: 2s, connect_timeout: 1s}}\ncapture: all\n"
    );
    let ran = run(&name, &scenario);
    let mut wrong = Vec::new();
    let mut fail = |what: String| wrong.push(format!("{name}: {what}"));
    if !matches!(ran.code, Some(0 | 1)) {
        fail(format!("exit {:?} (0 or 1 expected: the good half succeeded)\n{}", ran.code, ran.printed));
    }
    if ran.printed.contains("panicked") {
        fail(format!("panicked\n{}", ran.printed));
    }
    if ran.elapsed > Duration::from_secs(30) {
        fail(format!("took {:?}", ran.elapsed));
    }
    if ran.samples == 0 {
        fail(format!("no reading of its peak memory was taken in {:?}: the bound below checked nothing", ran.elapsed));
    }
    if ran.peak_kb > MEMORY_BOUND_KB {
        fail(format!("peak memory {} MB", ran.peak_kb >> 10));
    }
    let files = common::files_under(&ran.out).into_iter().map(|(p, t)| (p.display().to_string(), t));
    for (name, text) in std::iter::once(("output".to_owned(), ran.printed.clone())).chain(files) {
        if text.contains(&KEY[..14]) {
            fail(format!("{name} holds the key"));
        }
    }
    let Ok(dir) = std::fs::read_dir(&ran.out).map(|mut d| d.next()) else {
        fail("no report folder".to_owned());
        return wrong;
    };
    let Some(report) = dir.and_then(|e| e.ok()).and_then(|e| relaybench::report::read(&e.path().join(relaybench::report::REPORT_JSON)).ok()) else {
        fail("no readable report".to_owned());
        return wrong;
    };
    let totals = &report.totals;
    if totals.requests != REQUESTS {
        fail(format!("{} requests recorded", totals.requests));
    }
    let ok = totals.by_outcome.get("ok").copied().unwrap_or(0);
    let want_ok = if hostile_ok { REQUESTS } else { REQUESTS / 2 };
    if ok != want_ok {
        fail(format!("{ok} ok, {want_ok} expected: {:?}", totals.by_outcome));
    }
    let hostile: u64 = expected.iter().map(|kind| totals.by_outcome.get(*kind).copied().unwrap_or(0)).sum();
    if !hostile_ok && hostile != REQUESTS / 2 {
        fail(format!("the hostile answers are not {expected:?}: {:?}", totals.by_outcome));
    }
    wrong
}

const CASES: &[(Mode, &[&str], bool)] = &[
    (Mode::SlowDrip, &["timeout"], false),
    (Mode::EndlessLine, &["malformed"], false),
    (Mode::HugeEvent, &["malformed"], false),
    (Mode::Garbage, &["malformed"], false),
    (Mode::NotHttp, &["transport_error"], false),
    (Mode::ResetMidStream, &["truncated"], false),
    (Mode::ShortContentLength, &["truncated"], false),
    (Mode::BadChunking, &["truncated"], false),
    (Mode::WrongContentType, &["malformed"], false),
    (Mode::Gzip, &["malformed"], false),
    (Mode::NeverAnswers, &["timeout"], false),
    (Mode::EventFlood, &["timeout"], false),
    (Mode::FindingsFlood, &["timeout"], false),
    (Mode::Http10, &[], true),
    (Mode::Informational, &[], true),
    (Mode::Redirect, &["http_error"], false),
    (Mode::RateLimitStorm, &["http_error"], false),
    (Mode::PingsForever, &["timeout"], false),
    (Mode::KeyEcho, &["http_error"], false),
    (Mode::KeyEchoInStream, &["stream_error"], false),
];

/// Runs every case, four at a time (the floods each keep a core busy).
fn matrix(tls: bool) {
    let mut wrong = Vec::new();
    for chunk in CASES.chunks(4) {
        let handles: Vec<_> = chunk.iter().map(|&(mode, expected, hostile_ok)| std::thread::spawn(move || check(mode, expected, hostile_ok, tls))).collect();
        for h in handles {
            wrong.extend(h.join().expect("check thread"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_hostile_server_ends_bounded_with_a_clear_outcome_and_no_key() {
    matrix(false);
}

#[test]
fn every_hostile_server_behind_tls_ends_bounded_with_a_clear_outcome_and_no_key() {
    matrix(true);
}

#[test]
fn tls_that_never_completes_ends_as_unreachable_with_a_report() {
    let addr = common::silent_server();
    let scenario = format!(
        "name: hostile\ntarget: {{base_url: \"https://{addr}\", api_key_env: {KEY_VAR}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\nload: {{concurrency: 2, requests: {REQUESTS}, timeout: 2s, connect_timeout: 500ms}}\n"
    );
    let ran = run("tls", &scenario);
    assert_eq!(ran.code, Some(3), "{}", ran.printed);
    assert!(ran.elapsed < Duration::from_secs(20), "took {:?}", ran.elapsed);
    assert!(!ran.printed.contains(&KEY[..14]));
    let r = common::only_report(&ran.out);
    assert_eq!(r.totals.by_outcome["connect_timeout"], r.totals.requests);
}
