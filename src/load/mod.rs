//! Load generation: which request goes next, how many run at once, and when to stop.
//!
//! Workers only pick, send and hand the outcome to a channel; the collector that owns
//! every measurement lives in [`collect`], so nothing measured is lost when the run is
//! stopped early.

pub mod collect;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::client::Client;
use crate::outcome::Outcome;
use crate::rng::Rng;
use crate::scenario::PreparedRequest;

/// Chooses a template for request `n` by weight. The choice depends only on the seed
/// and `n`, so the mix of a run is repeatable whatever the timing.
#[derive(Debug, Clone)]
pub struct Picker {
    cumulative: Vec<u64>,
    seed: u64,
}

impl Picker {
    /// A picker over the templates' weights.
    pub fn new(requests: &[PreparedRequest], seed: u64) -> Self {
        let mut total = 0;
        let cumulative = requests
            .iter()
            .map(|r| {
                total += u64::from(r.weight.get());
                total
            })
            .collect();
        Picker { cumulative, seed }
    }

    /// Template index for request number `n`.
    pub fn pick(&self, n: u64) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1);
        let x = Rng::derive(self.seed, n).next_u64() % total;
        self.cumulative.partition_point(|&c| c <= x)
    }
}

/// A stop request shared by workers, the collector and the signal handler.
#[derive(Debug, Default)]
pub struct Stop {
    stopped: AtomicBool,
    notify: Notify,
}

impl Stop {
    /// Asks every worker to start no new request.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once a stop is asked for.
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        if self.is_stopped() {
            return;
        }
        notified.await;
    }
}

/// A closed loop: `concurrency` workers, each sending its next request as soon as the
/// previous one ends, until `requests` were started or `duration` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedLoop {
    /// Workers.
    pub concurrency: u32,
    /// Stop after starting this many requests.
    pub requests: Option<u64>,
    /// Stop starting requests after this long.
    pub duration: Option<Duration>,
}

/// Runs the closed loop, sending each outcome on `outcomes`. Returns when every worker
/// has finished; requests in flight at a stop are given `grace` to complete, then cut.
pub async fn run_closed_loop(
    client: Client,
    requests: Arc<[PreparedRequest]>,
    picker: Picker,
    plan: ClosedLoop,
    stop: Arc<Stop>,
    grace: Duration,
    outcomes: mpsc::UnboundedSender<Outcome>,
) {
    let next = Arc::new(AtomicU64::new(0));
    let fail_fast = Arc::new(collect::FailFast::default());
    let deadline = plan.duration.map(|d| Instant::now() + d);
    let mut workers = JoinSet::new();
    for _ in 0..plan.concurrency {
        let (client, requests, picker) = (client.clone(), requests.clone(), picker.clone());
        let (next, stop, outcomes, fail_fast) = (next.clone(), stop.clone(), outcomes.clone(), fail_fast.clone());
        workers.spawn(async move {
            loop {
                if stop.is_stopped() || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let n = next.fetch_add(1, Ordering::Relaxed);
                if plan.requests.is_some_and(|max| n >= max) {
                    break;
                }
                let index = picker.pick(n);
                let request = &requests[index];
                let start = Instant::now();
                let outcome = client.execute(request.body.clone(), index, request.stream, Some(&request.facts), start).await;
                fail_fast.record(&outcome, &stop);
                if outcomes.send(outcome).is_err() {
                    break;
                }
            }
        });
    }
    drop(outcomes);
    tokio::select! {
        _ = async { while workers.join_next().await.is_some() {} } => {}
        _ = async { stop.wait().await; tokio::time::sleep(grace).await } => {
            workers.abort_all();
            while workers.join_next().await.is_some() {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::num::NonZeroU32;

    fn req(weight: u32) -> PreparedRequest {
        PreparedRequest {
            name: String::new(),
            weight: NonZeroU32::new(weight).expect("non-zero"),
            stream: false,
            body: Bytes::new(),
            facts: std::sync::Arc::new(crate::conformance::request::RequestFacts::from_body(&serde_json::json!({}))),
        }
    }

    #[test]
    fn picks_follow_weights_and_repeat() {
        let picker = Picker::new(&[req(1), req(3)], 9);
        let picks: Vec<usize> = (0..4000).map(|n| picker.pick(n)).collect();
        let second = picks.iter().filter(|&&i| i == 1).count();
        assert!((2800..3200).contains(&second), "{second} of 4000 for weight 3/4");
        let again: Vec<usize> = (0..4000).map(|n| picker.pick(n)).collect();
        assert_eq!(picks, again);
    }
}
