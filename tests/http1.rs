//! The plain HTTP/1.1 path (`http://` targets) against loopback servers that keep
//! connections alive: a connection is reused only when its last response ended cleanly,
//! one the server closed while idle is never used, and a response cut into any pieces
//! reads the same.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use relaybench::outcome::{Outcome, OutcomeKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

const MESSAGE: &str = r#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}"#;

const EVENTS: [&str; 7] = [
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"h\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"i\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
];

/// A Message answer with a Content-Length, then `after` (bytes that belong to nothing).
fn message_response(after: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_1\r\ncontent-length: {}\r\n\r\n{MESSAGE}{after}", MESSAGE.len()).into_bytes()
}

/// A stream answer, each event its own chunk (with an extension on one), and a trailer.
fn chunked_stream() -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_1\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for (i, event) in EVENTS.iter().enumerate() {
        let ext = if i == 2 { ";note=x" } else { "" };
        out.extend_from_slice(format!("{:X}{ext}\r\n{event}\r\n", event.len()).as_bytes());
    }
    out.extend_from_slice(b"0\r\nx-trailer: 1\r\n\r\n");
    out
}

/// Reads one request (head and Content-Length body); false when the peer closed first.
async fn read_request(sock: &mut TcpStream, idle: Duration) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match tokio::time::timeout(idle, sock.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return false,
        };
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return true;
            }
        }
    }
}

/// A server that answers every request on a connection with `response` (written one byte
/// at a time when `bytewise`), and closes a connection idle for `idle`. Returns its base
/// URL and the count of connections it accepted.
async fn keep_alive_server(response: Vec<u8>, idle: Duration, bytewise: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                let _ = sock.set_nodelay(true);
                while read_request(&mut sock, idle).await {
                    let pieces: Vec<&[u8]> = if bytewise { response.chunks(1).collect() } else { vec![&response] };
                    for piece in pieces {
                        if sock.write_all(piece).await.is_err() {
                            return;
                        }
                        if bytewise {
                            tokio::time::sleep(Duration::from_micros(50)).await;
                        }
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), accepted)
}

async fn send(client: &relaybench::client::Client, stream: bool) -> Outcome {
    let o = client.execute(common::body(stream, 16), 0, stream, None, Instant::now()).await;
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
    o
}

#[tokio::test]
async fn a_connection_is_reused_after_a_clean_response() {
    let (url, accepted) = keep_alive_server(message_response(""), Duration::from_secs(10), false).await;
    let client = common::client(&url, "k", Duration::from_secs(10));
    let first = send(&client, false).await;
    let second = send(&client, false).await;
    assert!(first.connect.is_some(), "the first request opened the connection");
    assert_eq!(second.connect, None, "the second went on the same one");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_not_used() {
    let (url, accepted) = keep_alive_server(message_response(""), Duration::from_millis(50), false).await;
    let client = common::client(&url, "k", Duration::from_secs(10));
    send(&client, false).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = send(&client, false).await;
    assert!(second.connect.is_some(), "a new connection for the second request");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bytes_after_a_body_keep_its_connection_from_reuse() {
    let (url, accepted) = keep_alive_server(message_response("HTTP/1.1 200 OK\r\n"), Duration::from_secs(10), false).await;
    let client = common::client(&url, "k", Duration::from_secs(10));
    send(&client, false).await;
    let second = send(&client, false).await;
    assert!(second.connect.is_some(), "the stray bytes would have been read as the next response's head");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_stream_sent_a_byte_at_a_time_reads_whole_and_keeps_its_connection() {
    let (url, accepted) = keep_alive_server(chunked_stream(), Duration::from_secs(10), true).await;
    let client = common::client(&url, "k", Duration::from_secs(30));
    for _ in 0..2 {
        let o = send(&client, true).await;
        assert_eq!(o.content_deltas, 2);
        assert_eq!(o.output_tokens, Some(2));
        assert!(o.findings.is_empty(), "{:?}", o.findings);
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "the trailer ended the body, and the connection was reused");
}
