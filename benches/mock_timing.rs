//! How late the embedded mock sends its first token, seen from the client: streams with
//! a configured TTFT of 20 ms and no jitter, one at a time and 32 at once, on loopback.
//! Lateness is the client's TTFT minus 20 ms: it holds the mock's own delay and the
//! client's reading, so it bounds both. Run: `cargo bench --bench mock_timing`.

// criterion is not used here: percentiles of one run are the figure.
#![allow(missing_docs)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use relaybench::client::{ApiKey, AuthStyle, Client, Target, Timeouts};
use relaybench::mock::{MockConfig, MockServer};

const TTFT: Duration = Duration::from_millis(20);

async fn lateness(client: &Client, concurrency: usize, rounds: usize) -> Vec<f64> {
    let body = Bytes::from(r#"{"model":"claude-sonnet-4-5","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#);
    let mut late = Vec::new();
    for _ in 0..rounds {
        let batch = (0..concurrency).map(|_| client.execute(body.clone(), 0, true, None, tokio::time::Instant::now()));
        for o in futures::future::join_all(batch).await {
            let ttft = o.ttft.expect("a first token");
            late.push((ttft.as_secs_f64() - TTFT.as_secs_f64()) * 1000.0);
        }
    }
    late
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut config = MockConfig::new("relaybench-bench-key");
        config.latency.ttft = TTFT;
        config.latency.tokens_per_s = 1000.0;
        config.latency.jitter = 0.0;
        let mock = MockServer::start_local(config).await.expect("mock");
        let target = Target {
            base_url: mock.base_url(),
            auth: AuthStyle::XApiKey,
            api_key: ApiKey::new("relaybench-bench-key"),
            anthropic_version: Some(relaybench::protocol::ANTHROPIC_VERSION.into()),
            headers: Vec::new(),
            net: Default::default(),
        };
        let client = Client::new(&target, Timeouts::default()).expect("client");
        // Warm the pool: the first requests include their connects.
        let _ = lateness(&client, 32, 1).await;
        for (concurrency, rounds) in [(1, 300), (32, 20)] {
            let mut late = lateness(&client, concurrency, rounds).await;
            println!("first-token lateness at concurrency {concurrency} ({} streams, ttft {} ms): {}", late.len(), TTFT.as_millis(), support::spread_ms(&mut late));
        }
    });
}
