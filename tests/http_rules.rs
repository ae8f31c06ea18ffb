//! Where HTTP says how a client behaves, the client does, on both of its paths (HTTP/1.1
//! by its own reader, HTTP/2 by hyper): an early answer to a large request is read, not
//! lost to a reset; headers that frame the request are the client's own; the base URL is
//! parsed as a URL (its query kept after the path, credentials refused without being
//! echoed); a User-Agent is sent.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use relaybench::client::{ApiKey, AuthStyle, Client, NetOptions, Target, Timeouts};
use relaybench::outcome::OutcomeKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

fn target(base_url: &str, headers: &[(&str, &str)]) -> Target {
    Target {
        base_url: base_url.to_owned(),
        auth: AuthStyle::XApiKey,
        api_key: ApiKey::new("key-abcdef123456"),
        anthropic_version: Some("2023-06-01".into()),
        headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        net: NetOptions::default(),
    }
}

fn timeouts() -> Timeouts {
    Timeouts { connect: Duration::from_secs(2), total: Duration::from_secs(10), ..Timeouts::default() }
}

const TOO_LARGE: &str = "HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: 98\r\nconnection: close\r\n\r\n{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\",\"message\":\"Request exceeds the maximum size\"}}";

/// A server that reads the head, answers 413 at once and closes, with most of a large
/// body still unread (so the client's write fails with a reset).
async fn early_answer_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if sock.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let _ = sock.write_all(TOO_LARGE.as_bytes()).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_answer_to_a_large_request_is_read() {
    assert_eq!(TOO_LARGE.split("\r\n\r\n").nth(1).map(str::len), Some(98));
    let url = early_answer_server().await;
    let client = Client::new(&target(&url, &[]), timeouts()).expect("client");
    // 4.4 MB, far beyond what the socket buffers hold, so the write is still going on.
    let prompt = "x".repeat(4_400_000);
    let body = Bytes::from(format!("{{\"model\":\"m\",\"max_tokens\":8,\"messages\":[{{\"role\":\"user\",\"content\":\"{prompt}\"}}]}}"));
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let o = client.execute(body.clone(), 0, false, None, Instant::now()).await;
        statuses.push((o.status, o.kind, o.error_type.clone()));
    }
    let answered = statuses.iter().filter(|(s, _, t)| *s == Some(413) && t.as_deref() == Some("request_too_large")).count();
    println!("{answered} of {} read the 413", statuses.len());
    assert_eq!(answered, statuses.len(), "{statuses:?}");
}

/// The raw requests a recording server received from one request of `client`.
async fn one_request(seen: &Arc<Mutex<Vec<Vec<u8>>>>, t: Target) -> String {
    let client = Client::new(&t, timeouts()).expect("client");
    let o = client.execute(common::body(false, 8), 0, false, None, Instant::now()).await;
    assert!(o.status.is_some(), "{:?}", o.detail);
    let raw = seen.lock().expect("lock").pop().expect("a request");
    String::from_utf8_lossy(&raw).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_headers_are_the_clients_and_a_user_agent_is_sent() {
    let message = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}"#;
    let response = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{message}", message.len()).into_bytes();
    let (url, seen) = common::recording_server(response).await;

    let plain = one_request(&seen, target(&url, &[])).await;
    let lower = plain.to_lowercase();
    assert!(lower.contains(&format!("user-agent: relaybench/{}\r\n", env!("CARGO_PKG_VERSION"))), "{plain}");
    assert_eq!(lower.matches("\r\nhost:").count(), 1, "{plain}");

    // The user's Host and User-Agent replace the client's; nothing is written twice.
    let own = one_request(&seen, target(&url, &[("host", "relay.example"), ("user-agent", "my-app/1.0")])).await.to_lowercase();
    assert_eq!(own.matches("\r\nhost:").count(), 1, "{own}");
    assert!(own.contains("\r\nhost: relay.example\r\n") && own.contains("user-agent: my-app/1.0") && !own.contains("relaybench/"), "{own}");
    assert_eq!(own.matches("content-length:").count(), 1, "{own}");

    // Headers that frame the body are refused before anything is sent.
    for name in ["content-length", "Transfer-Encoding"] {
        let e = Client::new(&target(&url, &[(name, "5")]), timeouts()).expect_err(name);
        assert!(e.to_string().contains("frames the body itself"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close_from_the_user_is_honoured() {
    let accepted = Arc::new(Mutex::new(0usize));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let count = accepted.clone();
    let message = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}"#;
    let response = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{message}", message.len());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            *count.lock().expect("lock") += 1;
            let response = response.clone();
            // Keeps the connection open for more requests, as a keep-alive server does.
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 || sock.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    for (headers, connections) in [(vec![], 1), (vec![("connection", "close")], 3)] {
        *accepted.lock().expect("lock") = 0;
        let client = Client::new(&target(&url, &headers), timeouts()).expect("client");
        for _ in 0..3 {
            let o = client.execute(common::body(false, 8), 0, false, None, Instant::now()).await;
            assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
        }
        assert_eq!(*accepted.lock().expect("lock"), connections, "{headers:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_base_url_is_parsed_as_a_url() {
    let (url, seen) = common::recording_server(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec()).await;
    // The query stays a query, after the path.
    let raw = one_request(&seen, target(&format!("{url}/api/?tenant=a&x=1"), &[])).await;
    assert!(raw.starts_with("POST /api/v1/messages?tenant=a&x=1 HTTP/1.1\r\n"), "{raw}");
    let client = Client::new(&target(&format!("{url}/api?tenant=a"), &[]), timeouts()).expect("client");
    assert_eq!(client.uri().to_string(), format!("{url}/api/v1/messages?tenant=a"));

    // Credentials and fragments are refused, and the password is never repeated.
    let with_password = url.replace("http://", "http://user:hunter2-secret@");
    let e = Client::new(&target(&with_password, &[]), timeouts()).expect_err("credentials");
    assert!(e.to_string().contains("credentials") && !e.to_string().contains("hunter2-secret"), "{e}");
    let e = Client::new(&target(&format!("{url}/api#frag"), &[]), timeouts()).expect_err("fragment");
    assert!(e.to_string().contains("fragment"), "{e}");

    // The same through a whole run: a clear error, the password nowhere.
    let dir = common::temp_dir("url-credentials");
    let scenario = common::write_file(&dir, "s.yaml", &format!("name: creds\ntarget: {{base_url: \"{with_password}\", api_key_env: SOME_KEY}}\nmodel: m\nrequests:\n  - {{prompt: hi, max_tokens: 8}}\nload: {{concurrency: 1, requests: 1}}\n"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["run", &scenario.display().to_string(), "--out", &dir.join("out").display().to_string()]).env("SOME_KEY", "k").output().expect("run");
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success() && all.contains("credentials") && !all.contains("hunter2-secret"), "{all}");
    assert!(common::files_under(&dir.join("out")).iter().all(|(_, t)| !t.contains("hunter2-secret")));
}
