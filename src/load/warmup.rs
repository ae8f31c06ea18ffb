//! Warm-up: requests sent before a phase's load and not counted, so its first requests do
//! not each pay a TCP (and TLS) connect. Without it, the tail of TTFT at high concurrency
//! is the connect storm of the first second, not the server.

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::client::Client;
use crate::scenario::PreparedRequest;
use crate::stop::Stop;

/// Seed of the warm-up's generated bodies: apart from every loop's, so no warm-up body
/// repeats one the load sends (which a prompt cache would then serve warm).
const WARMUP_SEED: u64 = 0x7761_726d_7570;

/// Sends `count` requests, `at_once` at a time, through `client` (whose pool then holds
/// the connections), cycling over the templates; their outcomes are dropped. Returns
/// early on a stop.
pub async fn warm_up(client: &Client, requests: &Arc<[PreparedRequest]>, count: u64, at_once: u32, stop: &Arc<Stop>) {
    if requests.is_empty() {
        return;
    }
    let mut flying = JoinSet::new();
    for n in 0..count {
        if stop.is_stopped() {
            break;
        }
        while flying.len() >= at_once.max(1) as usize {
            tokio::select! {
                _ = flying.join_next() => {}
                _ = stop.wait() => break,
            }
        }
        let request = &requests[(n % requests.len() as u64) as usize];
        let built = request.build(WARMUP_SEED, n, None);
        let (client, stream) = (client.clone(), request.stream);
        flying.spawn(async move {
            let _ = client.execute(built.body, 0, stream, None, Instant::now()).await;
        });
    }
    tokio::select! {
        _ = async { while flying.join_next().await.is_some() {} } => {}
        _ = stop.wait() => flying.abort_all(),
    }
}
