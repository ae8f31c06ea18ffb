//! Does relaybench's TTFT match the wire? `relaybench mock --send-log` (its own process,
//! pinned to core 0 when taskset is there) writes when it hands each stream's first token
//! to its connection, by the request's `metadata.user_id`, in wall-clock time; this
//! process's client gives its first-token time (request start plus TTFT) on the same
//! clock. The difference per stream is what the client adds: the loopback trip, the
//! read, the SSE parse. Streams of 8 tokens at 1 ms a token, TTFT 200 to 300 ms (jitter
//! 0.5): 100 one at a time, then 256 workers each sending 8 one after another (a closed loop
//! at 256 in flight), on a warm pool.
//!
//! The mock's log also says when each first token was due (its request's arrival plus its
//! planned TTFT), which gives the mock's own lateness.
//!
//! When tcpdump is there (and may capture on loopback), the wire itself is the second
//! reference: a capture of the mock's port gives, per stream, when the segment carrying the
//! first `content_block_delta` crossed loopback, so the mock's own delay between handing a
//! token over and writing it drops out. The client runs pinned to core 1 when taskset is
//! there, the mock to core 0.
//!
//! The same again over https against `relaybench mock --tls`: HTTP/1.1 through the same
//! reader, and HTTP/2 on the h2 crate, with the mock's send log as the reference (the wire is
//! encrypted, so the capture reads only plain HTTP). Run: `cargo bench --bench wire_timing`.

// criterion is not used here: percentiles of one run are the figure.
#![allow(missing_docs)]

mod support;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use relaybench::client::tls::Alpn;
use relaybench::client::{ApiKey, AuthStyle, Client, NetOptions, Target, Timeouts};

const KEY: &str = "relaybench-bench-key";

fn body(n: u64) -> Bytes {
    Bytes::from(format!(r#"{{"model":"claude-sonnet-4-5","max_tokens":8,"stream":true,"metadata":{{"user_id":"r{n}"}},"messages":[{{"role":"user","content":"hi"}}]}}"#))
}

/// A packet capture of the mock's port on loopback, while it lasts.
struct Capture {
    child: std::process::Child,
    file: std::path::PathBuf,
    port: u16,
}

impl Capture {
    fn start(port: u16) -> Option<Capture> {
        let file = std::env::temp_dir().join(format!("relaybench-wire-{}.pcap", std::process::id()));
        let mut child = Command::new("tcpdump")
            .args(["-i", "lo", "-U", "-n", "-s", "1024", "--time-stamp-precision=nano", "-w"])
            .arg(&file)
            .args(["tcp", "port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        // tcpdump says "listening on" once its capture is open.
        let mut err = std::io::BufReader::new(child.stderr.take()?);
        let mut line = String::new();
        std::io::BufRead::read_line(&mut err, &mut line).ok()?;
        if !line.contains("listening") {
            let _ = child.kill();
            return None;
        }
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Some(Capture { child, file, port })
    }

    /// Stops the capture; per request id, when its first delta crossed the wire (ns since
    /// the epoch).
    fn first_deltas(mut self) -> HashMap<String, u128> {
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let bytes = std::fs::read(&self.file).unwrap_or_default();
        let _ = std::fs::remove_file(&self.file);
        support::pcap_first_deltas(&bytes, self.port)
    }
}

fn main() {
    // The client on core 1, the mock on core 0 (threads started later inherit this).
    let _ = Command::new("taskset").args(["-p", "-c", "1", &std::process::id().to_string()]).stdout(Stdio::null()).status();
    let certs = std::env::temp_dir().join(format!("relaybench-wire-certs-{}", std::process::id()));
    for (path, alpn) in [("http", None), ("https HTTP/1.1", Some(Alpn::Http1)), ("https HTTP/2", Some(Alpn::Http2))] {
        println!("-- {path}");
        measure(&certs, alpn);
    }
    let _ = std::fs::remove_dir_all(certs);
}

/// One set-up: plain HTTP (`alpn` none) or https with `alpn`, against a mock of its own.
fn measure(certs: &std::path::Path, alpn: Option<Alpn>) {
    let log = std::env::temp_dir().join(format!("relaybench-send-log-{}", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let log_path = log.to_str().expect("utf8");
    let args = ["--ttft", "200ms", "--tokens-per-s", "1000", "--jitter", "0.5", "--send-log", log_path];
    let mut net = NetOptions::default();
    let (mut mock, base_url) = match alpn {
        None => support::start_mock(KEY, &args, Some(0)),
        Some(alpn) => {
            let (mock, url, ca) = support::start_tls_mock(KEY, &args, Some(0), certs);
            (net.alpn, net.tls.ca_file) = (alpn, Some(ca));
            (mock, url)
        }
    };
    let port: u16 = base_url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let target = Target {
            base_url,
            auth: AuthStyle::XApiKey,
            api_key: ApiKey::new(KEY),
            anthropic_version: Some(relaybench::protocol::ANTHROPIC_VERSION.into()),
            headers: Vec::new(),
            net,
        };
        let client = Arc::new(Client::new(&target, Timeouts::default()).expect("client"));
        let next = Arc::new(AtomicU64::new(0));
        // The same instant on both clocks, to put the client's times on the wall clock.
        let (anchor, anchor_wall) = (tokio::time::Instant::now(), SystemTime::now());
        // The pool is warmed with 256 connections first: connects are not the question here.
        for (label, workers, each) in [("warm-up", 256, 1), ("one at a time", 1, 100), ("256 in flight", 256, 8)] {
            let capture = if label == "warm-up" || alpn.is_some() { None } else { Capture::start(port) };
            let tasks: Vec<_> = (0..workers)
                .map(|_| {
                    let (client, next) = (client.clone(), next.clone());
                    tokio::spawn(async move {
                        let mut sent = Vec::new();
                        for _ in 0..each {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            let o = client.execute(body(n), 0, true, None, tokio::time::Instant::now()).await;
                            sent.push((format!("r{n}"), o));
                        }
                        sent
                    })
                })
                .collect();
            let mut sent = Vec::new();
            for t in tasks {
                sent.extend(t.await.expect("worker"));
            }
            if label == "warm-up" {
                continue;
            }
            // The mock writes its log every 50 ms.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let text = std::fs::read_to_string(&log).expect("send log");
            // key, handed to the connection, due: nanoseconds since the epoch.
            let lines: Vec<(&str, u128, u128)> = text
                .lines()
                .filter_map(|l| {
                    let mut f = l.split('\t');
                    Some((f.next()?, f.next()?.parse().ok()?, f.next()?.parse().ok()?))
                })
                .collect();
            let handed: HashMap<String, u128> = lines.iter().map(|&(k, sent, _)| (k.to_owned(), sent)).collect();
            let due: HashMap<&str, u128> = lines.iter().map(|&(k, _, due)| (k, due)).collect();
            let late = |at: &HashMap<String, u128>| -> Vec<f64> { at.iter().filter_map(|(k, &t)| Some((t as f64 - *due.get(k.as_str())? as f64) / 1e6)).collect() };
            println!("{label}: the mock's first token after it was due, handed over: {}", support::spread_ms(&mut late(&handed)));
            let mut references = vec![("the mock handed it over", handed)];
            match capture {
                Some(capture) => {
                    let wire = capture.first_deltas();
                    println!("{label}: the mock's first token after it was due, on the wire: {}", support::spread_ms(&mut late(&wire)));
                    references.push(("it crossed the wire", wire));
                }
                None if alpn.is_some() => {}
                None => println!("{label}: no packet capture (tcpdump missing or not allowed on lo)"),
            }
            for (reference, server) in references {
                let mut added: Vec<f64> = sent
                    .iter()
                    .filter_map(|(key, o)| {
                        let first = o.start? + o.ttft?;
                        let wall = anchor_wall + first.saturating_duration_since(anchor);
                        let client_ns = wall.duration_since(UNIX_EPOCH).ok()?.as_nanos();
                        let server_ns = *server.get(key.as_str())?;
                        Some((client_ns as f64 - server_ns as f64) / 1e6)
                    })
                    .collect();
                let matched = added.len();
                if matched == 0 {
                    println!("{label}: no stream matched against when {reference}");
                    continue;
                }
                let spread = support::spread_ms(&mut added);
                println!("{label}: {matched} of {} streams; client's first token after {reference}: {spread} (min {:.3} ms)", sent.len(), added[0]);
            }
        }
    });
    let _ = mock.kill();
    let _ = mock.wait();
    let _ = std::fs::remove_file(&log);
}
