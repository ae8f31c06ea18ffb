//! A server that breaks the protocol must become a recorded outcome, never a panic or
//! unbounded memory, and the client must stay usable for the next request: each server
//! here misbehaves on its first connection only, and the same client's second request
//! must then succeed.

mod common;

use std::time::Duration;

use common::{bad_then_good_server, sse_head, Script};
use relaybench::outcome::OutcomeKind;
use tokio::time::Instant;

async fn outcome_of(script: Script, total: Duration) -> relaybench::outcome::Outcome {
    let url = bad_then_good_server(script).await;
    outcome_then_ok(&common::client(&url, "k", total)).await
}

/// The outcome of a first request, after checking that a second one on the same client
/// succeeds.
async fn outcome_then_ok(client: &relaybench::client::Client) -> relaybench::outcome::Outcome {
    let first = client.execute(common::body(true, 16), 0, true, None, Instant::now()).await;
    let second = client.execute(common::body(true, 16), 1, true, None, Instant::now()).await;
    assert_eq!(second.kind, OutcomeKind::Ok, "the request after {:?} failed: {:?}", first.kind, second.detail);
    first
}

fn with_head(body: &[u8]) -> Vec<u8> {
    let mut v = sse_head();
    v.extend_from_slice(body);
    v
}

#[tokio::test]
async fn connection_dropped_mid_stream_is_truncated() {
    let body = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_b";
    let o = outcome_of(Script::Bytes(with_head(body)), Duration::from_secs(10)).await;
    assert_eq!(o.kind, OutcomeKind::Truncated, "{:?}", o.detail);
    assert!(o.detail.expect("detail").contains("mid-event"));
    assert!(o.message_start.is_some(), "what arrived before the drop is kept");
}

#[tokio::test]
async fn garbage_bytes_are_malformed() {
    let body = b"\x00\xff\xfe garbage\n\nevent: x\ndata: not json at all\n\n";
    let o = outcome_of(Script::Bytes(with_head(body)), Duration::from_secs(10)).await;
    assert_eq!(o.kind, OutcomeKind::Malformed, "{:?}", o.detail);
}

#[tokio::test]
async fn endless_line_is_cut_at_the_event_limit() {
    // 16 MiB without a line end: the parser reports the event as too large (bounded
    // buffer) and the stream then ends without message_stop.
    let script = Script::Endless(with_head(b"data: "), b'x', 16 << 20);
    let o = outcome_of(script, Duration::from_secs(30)).await;
    assert_eq!(o.kind, OutcomeKind::Malformed, "{:?}", o.detail);
    assert!(o.detail.expect("detail").contains("exceeds the limit"));
}

#[tokio::test]
async fn slow_drip_hits_the_time_limit() {
    let body = b"event: ping\ndata: {\"type\":\"ping\"}\n\n".repeat(50);
    let script = Script::Drip(with_head(&body), Duration::from_millis(50));
    let o = outcome_of(script, Duration::from_millis(700)).await;
    assert_eq!(o.kind, OutcomeKind::Timeout, "{:?}", o.detail);
    assert!(o.e2e >= Duration::from_millis(700));
}

#[tokio::test]
async fn non_json_error_body_is_still_an_http_error() {
    let resp = b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 21\r\nconnection: close\r\n\r\n<h1>bad gateway</h1>\n";
    let o = outcome_of(Script::Bytes(resp.to_vec()), Duration::from_secs(10)).await;
    assert_eq!((o.kind, o.status), (OutcomeKind::HttpError, Some(502)));
    assert_eq!(o.error_type, None);
    assert!(o.detail.expect("detail").contains("bad gateway"));
}

#[tokio::test]
async fn silent_stream_hits_the_idle_limit_not_the_total() {
    let body = b"event: ping\ndata: {\"type\":\"ping\"}\n\n".repeat(50);
    let url = bad_then_good_server(Script::Drip(with_head(&body), Duration::from_millis(300))).await;
    let timeouts = relaybench::client::Timeouts { idle: Some(Duration::from_millis(100)), total: Duration::from_secs(20), ..Default::default() };
    let o = outcome_then_ok(&common::client_with(&url, timeouts)).await;
    assert_eq!(o.kind, OutcomeKind::IdleTimeout, "{:?}", o.detail);
    assert!(o.e2e < Duration::from_secs(10));
    // Cutting the stream was our limit, not the server's protocol fault.
    let missing_stop = o.findings.iter().any(|f| f.rule == relaybench::conformance::Rule::MissingMessageStop);
    assert!(!missing_stop, "{:?}", o.findings);
}

#[tokio::test]
async fn server_that_never_answers_hits_the_ttfb_limit() {
    // Reads the request, then sends not one byte for longer than the limit.
    let url = bad_then_good_server(Script::Silence(Duration::from_secs(5))).await;
    let timeouts = relaybench::client::Timeouts { ttfb: Some(Duration::from_millis(200)), total: Duration::from_secs(20), ..Default::default() };
    let started = Instant::now();
    let o = outcome_then_ok(&common::client_with(&url, timeouts)).await;
    assert_eq!(o.kind, OutcomeKind::TtfbTimeout, "{:?}", o.detail);
    assert_eq!(o.status, None);
    assert!(started.elapsed() < Duration::from_secs(4), "the limit, not the server's silence, ended it");
}

#[tokio::test]
async fn server_that_stops_inside_its_status_line_hits_the_ttfb_limit() {
    // A head begun and never finished is no head: the same limit holds.
    let url = bad_then_good_server(Script::Drip(b"HTTP/1.1 200 OK\r\n".to_vec(), Duration::from_secs(5))).await;
    let timeouts = relaybench::client::Timeouts { ttfb: Some(Duration::from_millis(200)), total: Duration::from_secs(20), ..Default::default() };
    let o = outcome_then_ok(&common::client_with(&url, timeouts)).await;
    assert_eq!(o.kind, OutcomeKind::TtfbTimeout, "{:?}", o.detail);
    assert_eq!(o.status, None);
}
