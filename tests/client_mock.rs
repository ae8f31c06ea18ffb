//! The client against the embedded mock on 127.0.0.1:0: the real network path.

mod common;

use std::time::Duration;

use relaybench::metrics::Recorder;
use relaybench::mock::latency::LatencyModel;
use relaybench::mock::{MockConfig, MockServer};
use relaybench::outcome::OutcomeKind;
use tokio::time::Instant;

const KEY: &str = "test-key";

/// A client speaking HTTP/2 to `base_url` (with prior knowledge: plain http).
fn http2_client(base_url: String) -> relaybench::client::Client {
    let target = relaybench::client::Target {
        base_url,
        auth: relaybench::client::AuthStyle::XApiKey,
        api_key: relaybench::client::ApiKey::new(KEY),
        anthropic_version: Some("2023-06-01".into()),
        headers: Vec::new(),
        net: relaybench::client::NetOptions { alpn: relaybench::client::tls::Alpn::Http2, ..Default::default() },
    };
    relaybench::client::Client::new(&target, Default::default()).expect("client")
}

fn mock_config(ttft_ms: u64) -> MockConfig {
    let mut c = MockConfig::new(KEY);
    c.latency = LatencyModel { ttft: Duration::from_millis(ttft_ms), tokens_per_s: 1000.0, jitter: 0.2, prefill_per_token: Duration::ZERO };
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_reaches_message_stop_and_counts_add_up() {
    let mock = MockServer::start_local(mock_config(20)).await.expect("mock");
    let client = common::client(&mock.base_url(), KEY, Duration::from_secs(30));
    let mut tasks = Vec::new();
    for i in 0..60u64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let stream = i % 3 != 0;
            client.execute(common::body(stream, 64), 0, stream, None, Instant::now()).await
        }));
    }
    let mut recorder = Recorder::default();
    for t in tasks {
        let o = t.await.expect("task");
        assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
        assert_eq!(o.status, Some(200));
        let tokens = o.output_tokens.expect("usage reported");
        assert!(tokens > 0 && tokens <= 64);
        if o.stream {
            // One text block, one token per delta: usage and counted deltas agree.
            assert_eq!(o.content_deltas, tokens);
            assert_eq!(o.itl.iter().map(|&(_, n)| u64::from(n)).sum::<u64>(), tokens - 1);
            assert!(o.message_start.expect("message_start seen") <= o.ttft.expect("ttft"));
        }
        recorder.record(&o);
    }
    assert_eq!(recorder.requests, 60);
    assert_eq!(recorder.streamed, 40);
    assert_eq!(recorder.count(OutcomeKind::Ok), 60);
    assert_eq!(recorder.statuses.get(&200), Some(&60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measured_ttft_is_at_least_the_configured_delay_and_near_it() {
    let configured = Duration::from_millis(150);
    let mock = MockServer::start_local(mock_config(150)).await.expect("mock");
    let client = common::client(&mock.base_url(), KEY, Duration::from_secs(30));
    for _ in 0..5 {
        let o = client.execute(common::body(true, 32), 0, true, None, Instant::now()).await;
        let ttft = o.ttft.expect("ttft measured");
        assert!(ttft >= configured, "ttft {ttft:?} below the mock's delay");
        // Jitter stretches by at most 20 %; a loaded machine may add scheduling delay.
        assert!(ttft < configured.mul_f64(1.2) + Duration::from_millis(500), "ttft {ttft:?}");
        assert!(o.ttfb.expect("ttfb") < ttft, "the head comes before the first token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_works_against_the_mock() {
    let mock = MockServer::start_local(mock_config(5)).await.expect("mock");
    // The mock answers HTTP/1.1 as well, so the bytes on the wire tell which was spoken: a
    // relay between client and mock keeps the first bytes of each connection.
    let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let relay_url = format!("http://{}", relay.local_addr().expect("addr"));
    let upstream = mock.base_url().trim_start_matches("http://").to_owned();
    let openings = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<u8>>::new()));
    let seen = openings.clone();
    tokio::spawn(async move {
        while let Ok((mut client_side, _)) = relay.accept().await {
            let (upstream, seen) = (upstream.clone(), seen.clone());
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut first = vec![0u8; 24];
                let Ok(()) = client_side.read_exact(&mut first).await.map(drop) else { return };
                seen.lock().expect("lock").push(first.clone());
                let Ok(mut server_side) = tokio::net::TcpStream::connect(&upstream).await else { return };
                if server_side.write_all(&first).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client_side, &mut server_side).await;
                }
            });
        }
    });
    let client = http2_client(relay_url);
    let o = client.execute(common::body(true, 16), 0, true, None, Instant::now()).await;
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
    // One connection, opened with the HTTP/2 connection preface (RFC 9113 §3.4), not a
    // request line.
    let openings = openings.lock().expect("lock").clone();
    assert_eq!(openings.len(), 1, "connections: {openings:?}");
    assert_eq!(openings[0], b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "{}", String::from_utf8_lossy(&openings[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_come_back_with_status_and_error_type() {
    let mock = MockServer::start_local(mock_config(5)).await.expect("mock");
    let wrong = common::client(&mock.base_url(), "wrong-key", Duration::from_secs(10));
    let o = wrong.execute(common::body(true, 16), 0, true, None, Instant::now()).await;
    assert_eq!((o.kind, o.status), (OutcomeKind::HttpError, Some(401)));
    assert_eq!(o.error_type.as_deref(), Some("authentication_error"));

    let client = common::client(&mock.base_url(), KEY, Duration::from_secs(10));
    let bad = bytes::Bytes::from_static(br#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}]}"#);
    let o = client.execute(bad, 0, false, None, Instant::now()).await;
    assert_eq!((o.kind, o.status), (OutcomeKind::HttpError, Some(400)));
    assert_eq!(o.error_type.as_deref(), Some("invalid_request_error"));
    assert!(o.detail.expect("detail").contains("max_tokens"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_target_is_a_connect_error() {
    let url = format!("http://127.0.0.1:{}", common::closed_port());
    let client = common::client(&url, KEY, Duration::from_secs(10));
    let o = client.execute(common::body(true, 16), 0, true, None, Instant::now()).await;
    assert_eq!(o.kind, OutcomeKind::ConnectError, "{:?}", o.detail);
    assert_eq!(o.status, None);
}

/// A TCP relay to `upstream` whose connections can all be cut at once; counts them.
async fn cuttable_relay(upstream: std::net::SocketAddr) -> (String, std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>) {
    let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", relay.local_addr().expect("addr"));
    let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let handles = open.clone();
    tokio::spawn(async move {
        while let Ok((mut client_side, _)) = relay.accept().await {
            let _ = client_side.set_nodelay(true);
            let task = tokio::spawn(async move {
                let Ok(mut server_side) = tokio::net::TcpStream::connect(upstream).await else { return };
                let _ = server_side.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client_side, &mut server_side).await;
            });
            handles.lock().expect("lock").push(task.abort_handle());
        }
    });
    (url, open)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_http2_connection_is_replaced_by_a_new_one() {
    let mock = MockServer::start_local(mock_config(5)).await.expect("mock");
    let (url, connections) = cuttable_relay(mock.addr()).await;
    let client = http2_client(url);
    // Eight at once share the one connection the first of them opens.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move { client.execute(common::body(true, 8), 0, true, None, Instant::now()).await }));
    }
    let mut opened = 0;
    for task in tasks {
        let o = task.await.expect("task");
        assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
        assert!(o.h2);
        opened += usize::from(o.connect.is_some());
    }
    assert_eq!((opened, connections.lock().expect("lock").len()), (1, 1), "one shared connection");

    // The server side goes away (as after an idle timeout or a GOAWAY): the next request
    // opens a new connection rather than failing on the dead one.
    connections.lock().expect("lock").iter().for_each(tokio::task::AbortHandle::abort);
    tokio::time::sleep(Duration::from_millis(200)).await;
    for first in [true, false] {
        let o = client.execute(common::body(false, 8), 0, false, None, Instant::now()).await;
        assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.detail);
        assert_eq!(o.connect.is_some(), first, "a new connection for the first request after the cut only");
    }
    assert_eq!(connections.lock().expect("lock").len(), 2);
}

/// A Message as the API answers one, for servers written here.
const MESSAGE: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_opens_another_connection_past_the_servers_max_concurrent_streams() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    // An HTTP/2 server that allows two streams at a time on a connection and answers each
    // after 50 ms, counting the streams open at once on each connection and on all.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (open, peak, peak_one, connections) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (o, p, p1, c) = (open.clone(), peak.clone(), peak_one.clone(), connections.clone());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let (open, peak, peak_one, on_this) = (o.clone(), p.clone(), p1.clone(), Arc::new(AtomicUsize::new(0)));
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::Builder::new().max_concurrent_streams(2).handshake::<_, bytes::Bytes>(sock).await else { return };
                while let Some(Ok((request, mut respond))) = conn.accept().await {
                    let (open, peak, peak_one, on_this) = (open.clone(), peak.clone(), peak_one.clone(), on_this.clone());
                    tokio::spawn(async move {
                        peak.fetch_max(open.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                        peak_one.fetch_max(on_this.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                        let mut body = request.into_body();
                        while let Some(Ok(data)) = body.data().await {
                            let _ = body.flow_control().release_capacity(data.len());
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let head = http::Response::builder().status(200).header("content-type", "application/json").header("request-id", "req_1").body(()).expect("head");
                        let Ok(mut send) = respond.send_response(head, false) else { return };
                        // Counted closed before the end goes out: the client may open the next
                        // stream only once it has read the end.
                        open.fetch_sub(1, Ordering::SeqCst);
                        on_this.fetch_sub(1, Ordering::SeqCst);
                        let _ = send.send_data(bytes::Bytes::from_static(MESSAGE.as_bytes()), true);
                    });
                }
            });
        }
    });
    let client = http2_client(url);
    for round in 0..2 {
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.execute(common::body(false, 8), 0, false, None, Instant::now()).await })
            })
            .collect();
        for task in tasks {
            let o = task.await.expect("task");
            assert_eq!(o.kind, OutcomeKind::Ok, "round {round}: {:?}", o.detail);
            assert!(o.h2);
        }
    }
    // The first requests, sent before the server's SETTINGS arrived, were refused past two
    // and went again on new connections, which start from the limit the first was told.
    assert_eq!(peak_one.load(Ordering::SeqCst), 2, "never more streams on a connection than the server allows");
    assert!(peak.load(Ordering::SeqCst) > 2, "the server saw more requests at once than one connection carries");
    let opened = connections.load(Ordering::SeqCst);
    assert!((5..=10).contains(&opened), "ten requests two to a connection: {opened} connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_stream_reset_mid_answer_is_a_truncated_request_and_the_connection_goes_on() {
    // The first stream on each connection is reset after its first event; the next one
    // is answered whole.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(sock).await else { return };
                let mut first = true;
                while let Some(Ok((_, mut respond))) = conn.accept().await {
                    let reset = std::mem::take(&mut first);
                    tokio::spawn(async move {
                        let content_type = if reset { "text/event-stream" } else { "application/json" };
                        let head = http::Response::builder().status(200).header("content-type", content_type).header("request-id", "req_1").body(()).expect("head");
                        let Ok(mut send) = respond.send_response(head, false) else { return };
                        if reset {
                            let start = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}

"#;
                            let _ = send.send_data(bytes::Bytes::from_static(start.as_bytes()), false);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            send.send_reset(h2::Reason::INTERNAL_ERROR);
                        } else {
                            let _ = send.send_data(bytes::Bytes::from_static(MESSAGE.as_bytes()), true);
                        }
                    });
                }
            });
        }
    });
    let client = http2_client(url);
    let cut = client.execute(common::body(true, 8), 0, true, None, Instant::now()).await;
    assert_eq!(cut.kind, OutcomeKind::Truncated, "{:?}", cut.detail);
    assert!(cut.detail.as_deref().is_some_and(|d| d.contains("INTERNAL_ERROR") || d.contains("internal error")), "{:?}", cut.detail);
    assert!(cut.message_start.is_some(), "what came before the reset was read");
    let next = client.execute(common::body(false, 8), 0, false, None, Instant::now()).await;
    assert_eq!(next.kind, OutcomeKind::Ok, "{:?}", next.detail);
    assert!(next.connect.is_none(), "the same connection carried on");
}
