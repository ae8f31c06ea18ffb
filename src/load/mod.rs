//! Load generation: which request goes next, how many run at once, and when to stop.
//!
//! Two loops: a closed loop (workers, constant or ramping) and an open loop (requests
//! sent when due, at a constant or ramping rate). Workers only pick, send and hand the
//! outcome to a channel; the collector that owns every measurement lives in [`collect`],
//! so nothing measured is lost when the run is stopped early.

pub mod abort;
pub mod capture;
pub mod clock;
pub mod collect;
pub mod exporter;
pub mod feed;
pub mod open_files;
pub mod progress;
pub mod records;
pub mod saturation;
pub mod segment;
pub mod warmup;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::client::Client;
use crate::outcome::{Outcome, OutcomeKind};
use crate::rng::Rng;
use crate::scenario::trace::Trace;
use crate::scenario::{Built, PreparedRequest, SessionSpec, Traced};

/// Workers, the collector and the signal handler share one stop request.
pub use crate::stop::Stop;

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

/// A closed loop: workers, each sending its next request as soon as the previous one
/// ends, until `requests` were started or `duration` has passed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedLoop {
    /// How many workers send at each moment: constant, or a ramp (k6's ramping VUs).
    pub workers: LoadShape,
    /// Stop after starting this many requests.
    pub requests: Option<u64>,
    /// Stop starting requests after this long.
    pub duration: Option<Duration>,
    /// This worker's share of a split run: its workers, and the whole run's requests that
    /// fall to their turns ([`segment::Segment::owns_turn`]).
    pub segment: segment::Segment,
}

/// What both executors share: where requests go, how each is chosen, and where its
/// outcome and progress are reported.
#[derive(Clone)]
pub struct Wiring {
    /// The target's client.
    pub client: Client,
    /// The templates.
    pub requests: Arc<[PreparedRequest]>,
    /// Chooses the template of request n.
    pub picker: Picker,
    /// Asked to stop by a signal or the fail-fast gate.
    pub stop: Arc<Stop>,
    /// Where outcomes go (the collector).
    pub outcomes: mpsc::UnboundedSender<Box<Outcome>>,
    /// Live progress counters.
    pub live: Arc<progress::Live>,
    /// Seed of the generated parts of bodies; each loop of a run has its own, so no two
    /// requests of a run share a generated prompt.
    pub body_seed: u64,
    /// A trace being replayed: request `n` takes the sizes of its record `n`.
    pub trace: Option<Arc<Trace>>,
    /// Each template's dataset feed, for those that have one.
    pub feeds: Arc<[Option<feed::Feed>]>,
    /// The retry policy, when the scenario asks for one.
    pub retry: Option<Arc<crate::retry::Policy>>,
    /// The target's stop conditions, when the scenario gives any.
    pub abort: Option<Arc<abort::Abort>>,
    fail_fast: Arc<collect::FailFast>,
}

impl Wiring {
    /// Wiring for one phase.
    pub fn new(
        client: Client,
        requests: Arc<[PreparedRequest]>,
        picker: Picker,
        stop: Arc<Stop>,
        outcomes: mpsc::UnboundedSender<Box<Outcome>>,
        live: Arc<progress::Live>,
        body_seed: u64,
    ) -> Wiring {
        let feeds = requests.iter().map(|r| r.dataset.as_ref().map(|d| feed::Feed::start(d))).collect();
        Wiring { client, requests, picker, stop, outcomes, live, body_seed, trace: None, feeds, retry: None, abort: None, fail_fast: Arc::default() }
    }

    /// Sends request number `n`, measured from `start`, and reports its outcome. Returns
    /// false when the collector is gone.
    async fn send(&self, n: u64, start: Instant, send_lag: Option<Duration>) -> bool {
        let index = self.picker.pick(n);
        let request = &self.requests[index];
        if let Some(session) = request.session {
            return self.converse(n, index, session, start, send_lag).await;
        }
        let traced = self.trace.as_ref().and_then(|t| {
            let record = t.records.get(usize::try_from(n).ok()?)?;
            Some(Traced { input: u64::from(record.input), output: u64::from(record.output), hash_ids: t.hash_ids(record), block_tokens: u64::from(t.block_tokens) })
        });
        let built = match self.feeds.get(index).and_then(Option::as_ref) {
            Some(feed) => match feed.next().await {
                Some(record) => request.build_from(&record, self.body_seed, n),
                None => {
                    // A dataset read once is used up: the run has sent it all.
                    self.stop.stop();
                    return true;
                }
            },
            None => request.build(self.body_seed, n, traced),
        };
        match self.attempts(n, index, built, start, send_lag, false).await {
            Some(outcome) => self.report(outcome),
            None => false,
        }
    }

    /// Sends `built` and, under a retry policy, again while the policy retries it, each
    /// attempt reported as it ends; returns the last attempt, not yet reported (`None`
    /// when the collector is gone). A retry is a request of its own: it holds the open
    /// loop's in-flight slot like the first, and is measured from when it was sent, while
    /// the last attempt's `effective` runs from the first attempt's start.
    async fn attempts(&self, n: u64, index: usize, built: Built, start: Instant, send_lag: Option<Duration>, keep_reply: bool) -> Option<Box<Outcome>> {
        let Some(policy) = &self.retry else {
            let mut outcome = self.execute(index, built, start, send_lag, keep_reply).await;
            outcome.arrival = Some(n);
            return Some(outcome);
        };
        // The jitter's own stream of the seed, so retrying changes no body and no schedule.
        let mut rng = Rng::derive(self.body_seed ^ 0x7265_7472_7921, n);
        let (mut attempt_start, mut lag) = (start, send_lag);
        for taken in 0.. {
            // Boxed (as every outcome is): kept across the wait before a retry, an inline
            // outcome would sit beside the request's future in every task, 0.9 KB of each
            // idle stream.
            let mut outcome = self.execute(index, built.clone(), attempt_start, lag, keep_reply).await;
            outcome.attempt = Some(taken + 1);
            outcome.arrival = Some(n);
            let retry = policy.decide(&outcome, taken, &mut rng).filter(|_| !self.stop.is_stopped());
            let waited = match retry {
                Some((_, wait)) => tokio::select! {
                    _ = tokio::time::sleep(wait) => !self.stop.is_stopped(),
                    _ = self.stop.wait() => false,
                },
                None => false,
            };
            match retry.filter(|_| waited) {
                Some((cause, _)) => {
                    outcome.retried_for = Some(cause.id());
                    if !self.report(outcome) {
                        return None;
                    }
                    (attempt_start, lag) = (Instant::now(), None);
                }
                None => {
                    outcome.effective = Some(start.elapsed());
                    return Some(outcome);
                }
            }
        }
        None
    }

    /// Sends `built` for template `index`, held to the template's facts with the
    /// request's own `max_tokens`; `keep_reply` keeps the reply's text (a turn).
    async fn execute(&self, index: usize, built: Built, start: Instant, send_lag: Option<Duration>, keep_reply: bool) -> Box<Outcome> {
        let request = &self.requests[index];
        let drawn = built.max_tokens.map(|m| request.facts.with_max_tokens(m));
        let facts = Some(drawn.as_ref().unwrap_or(&request.facts));
        self.live.started();
        let call = self.client.execute_boxed(built.body, index, request.stream, facts, start, keep_reply);
        // A cut run still records the request it ended, so the report counts every send.
        let mut outcome = tokio::select! {
            outcome = call => outcome,
            _ = self.stop.wait_cut() => {
                let mut cut = Outcome::new(index, request.stream);
                cut.fail(OutcomeKind::Cancelled, "cut when the run was interrupted");
                cut.start = Some(start);
                cut.e2e = start.elapsed();
                Box::new(cut)
            }
        };
        outcome.send_lag = send_lag;
        outcome.requested_input_tokens = Some(built.input_tokens);
        outcome
    }

    /// Hands a finished request's outcome on; false when the collector is gone.
    fn report(&self, outcome: Box<Outcome>) -> bool {
        self.live.finished(&outcome);
        self.fail_fast.record(&outcome, &self.stop);
        if let Some(abort) = &self.abort {
            abort.record(&outcome, &self.stop);
        }
        self.outcomes.send(outcome).is_ok()
    }

    /// Runs conversation `n` of template `index`: each turn sends the history and the next
    /// user message, and the reply it gets goes into the history; a turn that fails ends
    /// the conversation. The first turn is measured from `start` (its due time in an open
    /// loop), later ones from when they are sent, after the think time.
    async fn converse(&self, n: u64, index: usize, session: SessionSpec, start: Instant, send_lag: Option<Duration>) -> bool {
        let request = &self.requests[index];
        let mut history = Vec::new();
        for turn in 1..=session.turns {
            let (start, send_lag) = if turn == 1 { (start, send_lag) } else { (Instant::now(), None) };
            let built = request.build_turn(self.body_seed, n, turn, &mut history);
            let Some(mut outcome) = self.attempts(n, index, built, start, send_lag, true).await else { return false };
            outcome.turn = Some(turn);
            // The API takes no empty assistant turn: a reply without text (a tool call
            // alone) goes back as one word.
            let reply = outcome.reply.take().filter(|r| !r.trim().is_empty()).unwrap_or_else(|| "(no text)".to_owned());
            let ok = outcome.kind == OutcomeKind::Ok;
            if !self.report(outcome) {
                return false;
            }
            if !ok || turn == session.turns {
                break;
            }
            history.push(serde_json::json!({"role": "assistant", "content": reply}));
            let think = session.think_time.map_or(Duration::ZERO, |t| t.0);
            tokio::select! {
                _ = tokio::time::sleep(think) => {}
                _ = self.stop.wait() => break,
            }
            if self.stop.is_stopped() {
                break;
            }
        }
        true
    }
}

/// Runs the closed loop. Returns when every worker has finished; requests in flight at a
/// stop are given `grace` to complete, then cut. Workers are spawned when the level
/// first reaches them, and never more than the requests to send: a ramp to 100,000
/// workers, or a concurrency of 100,000 for ten requests, costs only what it uses.
/// Returns how many workers it spawned.
pub async fn run_closed_loop(wiring: Wiring, plan: ClosedLoop, grace: Duration) -> u64 {
    let start = Instant::now();
    let seg = plan.segment;
    let shape = plan.workers.map_level(|level| seg.share_level(level));
    let workers = plan.workers.peak().ceil().max(1.0) as u64;
    let most = (shape.peak().ceil().max(0.0) as u64).min(plan.requests.map_or(u64::MAX, |r| seg.turns_below(r, workers)));
    let crew = Arc::new(Crew {
        deadline: earliest(plan.duration, shape.end()).map(|d| start + d),
        next: AtomicU64::new(0),
        requests: plan.requests,
        segment: seg,
        workers,
        shape,
        start,
        wiring,
    });
    let mut workers = JoinSet::new();
    let mut spawned = 0u64;
    loop {
        let level = (crew.shape.at(start.elapsed()).ceil().max(0.0) as u64).min(most);
        for worker in spawned..level {
            workers.spawn(crew.clone().work(u32::try_from(worker).unwrap_or(u32::MAX)));
        }
        spawned = spawned.max(level);
        if spawned >= most || crew.over() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(RAMP_POLL) => {}
            _ = crew.wiring.stop.wait() => {}
        }
        while workers.try_join_next().is_some() {}
    }
    let stop = crew.wiring.stop.clone();
    drop(crew);
    finish(workers, &stop, grace).await;
    spawned
}

/// What the workers of one closed loop share.
struct Crew {
    wiring: Wiring,
    /// The number of the whole run's next request, this segment's or not.
    next: AtomicU64,
    requests: Option<u64>,
    segment: segment::Segment,
    /// The whole run's most workers, whose turns the segments share.
    workers: u64,
    shape: LoadShape,
    start: Instant,
    deadline: Option<Instant>,
}

impl Crew {
    /// The number of this segment's next request in the whole run.
    fn next_turn(&self) -> u64 {
        loop {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            if self.segment.owns_turn(n, self.workers) || self.requests.is_some_and(|max| n >= max) {
                return n;
            }
        }
    }

    /// Stopped, or past the deadline.
    fn over(&self) -> bool {
        self.wiring.stop.is_stopped() || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Worker number `worker`: sends one request after another until the loop is over.
    async fn work(self: Arc<Self>, worker: u32) {
        while !self.over() {
            // On a ramp, worker i sends only while the level is above i; a worker
            // ramped down finishes its request first, as k6's ramping VUs do.
            if self.shape.at(self.start.elapsed()) < f64::from(worker) + 1.0 {
                tokio::select! {
                    _ = tokio::time::sleep(RAMP_POLL) => {}
                    _ = self.wiring.stop.wait() => {}
                }
                continue;
            }
            let n = self.next_turn();
            if self.requests.is_some_and(|max| n >= max) || !self.wiring.send(n, Instant::now(), None).await {
                break;
            }
        }
    }
}

/// How often an idle worker of a concurrency ramp looks at the level again; small
/// against any stage a person writes, large enough to cost nothing.
const RAMP_POLL: Duration = Duration::from_millis(10);

/// The earlier of two optional ends.
fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Waits for every task; after a stop, requests still running when `grace` ends (or
/// at a cut) are cut, and recorded as such.
async fn finish(mut tasks: JoinSet<()>, stop: &Stop, grace: Duration) {
    tokio::select! {
        _ = async { while tasks.join_next().await.is_some() {} } => return,
        _ = async {
            stop.wait().await;
            tokio::select! {
                _ = tokio::time::sleep(grace) => {}
                _ = stop.wait_cut() => {}
            }
        } => stop.cut(),
    }
    // A cut request reports at once; a task that still has not ended is aborted.
    let drained = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(CUT_DRAIN, drained).await.is_err() {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

/// How long cut tasks get to report before they are aborted.
const CUT_DRAIN: Duration = Duration::from_secs(2);

/// An open loop: requests are sent when due, at `rate` per second, whether or not
/// earlier ones have finished (k6's arrival-rate executors).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenLoop {
    /// Requests per second, constant or ramping.
    pub rate: LoadShape,
    /// Exponential gaps (Poisson arrivals) instead of a fixed schedule.
    pub poisson: bool,
    /// Seed of the Poisson gaps.
    pub seed: u64,
    /// A request due while this many are in flight is dropped, not delayed.
    pub max_in_flight: u32,
    /// Stop after scheduling this many requests (sent or dropped).
    pub requests: Option<u64>,
    /// Stop scheduling after this long.
    pub duration: Option<Duration>,
    /// Replay: request `n` is due at record `n`'s time divided by the speed, instead of
    /// following `rate`.
    pub arrivals: Option<(Arc<Trace>, f64)>,
    /// This worker's share of a split run: the arrivals `n` it owns of the whole schedule.
    pub segment: segment::Segment,
}

/// A level over time: the arrival rate of an open loop, or the workers of a closed one.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadShape {
    /// The same level throughout.
    Constant(f64),
    /// From `start`, linearly to each stage's target over that stage's duration (k6's
    /// ramping executors); the load ends with the last stage.
    Ramp {
        /// Level at the beginning.
        start: f64,
        /// (duration, target level at its end).
        stages: Vec<(Duration, f64)>,
    },
}

impl LoadShape {
    /// The highest level the shape reaches.
    pub fn peak(&self) -> f64 {
        match self {
            LoadShape::Constant(level) => *level,
            LoadShape::Ramp { start, stages } => stages.iter().map(|s| s.1).fold(*start, f64::max),
        }
    }

    /// The level at `elapsed` into the load.
    pub fn at(&self, elapsed: Duration) -> f64 {
        match self {
            LoadShape::Constant(r) => *r,
            LoadShape::Ramp { start, stages } => {
                let (mut from, mut t) = (*start, elapsed);
                for &(length, to) in stages {
                    if t < length {
                        return from + (to - from) * (t.as_secs_f64() / length.as_secs_f64());
                    }
                    t -= length;
                    from = to;
                }
                from
            }
        }
    }

    /// The same shape with every level passed through `f` (a worker's share of it).
    pub fn map_level(&self, f: impl Fn(f64) -> f64) -> LoadShape {
        match self {
            LoadShape::Constant(level) => LoadShape::Constant(f(*level)),
            LoadShape::Ramp { start, stages } => LoadShape::Ramp { start: f(*start), stages: stages.iter().map(|(d, l)| (*d, f(*l))).collect() },
        }
    }

    /// When a ramp ends; a constant rate has no end of its own.
    pub fn end(&self) -> Option<Duration> {
        match self {
            LoadShape::Constant(_) => None,
            LoadShape::Ramp { stages, .. } => Some(stages.iter().map(|(d, _)| *d).sum()),
        }
    }

    /// The cumulative number of arrivals by `elapsed`: the integral of the rate, the
    /// inverse of [`LoadShape::time_of`].
    pub fn count_at(&self, elapsed: Duration) -> f64 {
        match self {
            LoadShape::Constant(r) => r * elapsed.as_secs_f64(),
            LoadShape::Ramp { start, stages } => {
                let (mut from, mut t, mut count) = (*start, elapsed, 0.0);
                for &(length, to) in stages {
                    if t < length {
                        let level = from + (to - from) * (t.as_secs_f64() / length.as_secs_f64());
                        return count + (from + level) / 2.0 * t.as_secs_f64();
                    }
                    count += (from + to) / 2.0 * length.as_secs_f64();
                    t -= length;
                    from = to;
                }
                count
            }
        }
    }

    /// When the cumulative number of arrivals, the integral of the rate, reaches `count`;
    /// None when it never does. Scheduling the n-th arrival at the time the integral
    /// reaches n follows a ramp exactly, even from zero, where stepping by 1/rate(now)
    /// would leap over it.
    pub fn time_of(&self, count: f64) -> Option<Duration> {
        match self {
            LoadShape::Constant(r) => (*r > 0.0).then(|| Duration::from_secs_f64(count / r)),
            LoadShape::Ramp { start, stages } => {
                let (mut from, mut elapsed, mut left) = (*start, Duration::ZERO, count);
                if left <= 0.0 {
                    return Some(Duration::ZERO);
                }
                for &(length, to) in stages {
                    let l = length.as_secs_f64();
                    let area = (from + to) / 2.0 * l;
                    if left <= area {
                        // Within the stage: from·τ + k·τ²/2 = left, with k the slope.
                        let k = (to - from) / l;
                        let tau = if k.abs() < 1e-12 {
                            left / from
                        } else {
                            (-from + (from * from + 2.0 * k * left).max(0.0).sqrt()) / k
                        };
                        let tau = if tau.is_finite() { tau.clamp(0.0, l) } else { 0.0 };
                        return Some(elapsed + Duration::from_secs_f64(tau));
                    }
                    left -= area;
                    elapsed += length;
                    from = to;
                }
                None
            }
        }
    }
}

impl OpenLoop {
    /// The generator of this loop's arrival gaps: one stream of the scenario's seed, so the
    /// same seed gives the same schedule.
    fn arrival_rng(&self) -> Rng {
        Rng::derive(self.seed, 0x6f70_656e)
    }

    /// How far the next arrival is in count space: 1 on a fixed schedule, exponential
    /// with mean 1 for Poisson arrivals (time-rescaled, so they follow a ramp too).
    fn step(&self, rng: &mut Rng) -> f64 {
        if self.poisson {
            // Inverse transform: -ln(1 - U) is exponential with mean 1.
            -(1.0 - rng.next_f64()).ln()
        } else {
            1.0
        }
    }
}

/// Runs the open loop. Latencies are measured from each request's due time, so a server
/// (or client) that falls behind shows in them instead of being hidden by a late send;
/// the send lag itself is recorded on each outcome. Dropped requests are counted in
/// `dropped`. Returns when every request has ended.
pub async fn run_open_loop(wiring: Wiring, plan: OpenLoop, grace: Duration, dropped: Arc<AtomicU64>) {
    let start = Instant::now();
    let deadline = earliest(plan.duration, plan.rate.end()).map(|d| start + d);
    let slots = Arc::new(tokio::sync::Semaphore::new(plan.max_in_flight as usize));
    let mut rng = plan.arrival_rng();
    let mut tasks = JoinSet::new();
    let mut count = 0.0;
    for n in 0u64.. {
        if plan.requests.is_some_and(|max| n >= max) {
            break;
        }
        // The first arrival is at count 0 (time 0); each later one a step further.
        let offset = match &plan.arrivals {
            Some((trace, speed)) => usize::try_from(n).ok().and_then(|i| trace.records.get(i)).map(|r| r.at.div_f64(*speed)),
            None => plan.rate.time_of(count),
        };
        let Some(offset) = offset else { break };
        let due = start + offset;
        count += plan.step(&mut rng);
        if deadline.is_some_and(|d| due >= d) {
            break;
        }
        // Every worker walks the whole schedule, so the rate's randomness is drawn alike.
        if !plan.segment.owns(n) {
            continue;
        }
        // A loop that fell behind (a rate the client cannot reach) stops at the
        // deadline by the clock, and counts the slots it never reached as dropped without
        // walking them.
        if let Some(d) = deadline.filter(|d| Instant::now() >= *d) {
            let left = match &plan.arrivals {
                Some((trace, speed)) => {
                    trace.records.iter().skip(usize::try_from(n).unwrap_or(usize::MAX)).filter(|r| start + r.at.div_f64(*speed) < d).count() as u64
                }
                None => (plan.rate.count_at(d - start) - count + 1.0).max(0.0).ceil() as u64,
            };
            let left = plan.segment.owned_in(n, n + plan.requests.map_or(left, |max| left.min(max - n)));
            dropped.fetch_add(left, Ordering::Relaxed);
            wiring.live.dropped(left);
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(due) => {}
            _ = wiring.stop.wait() => break,
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            dropped.fetch_add(1, Ordering::Relaxed);
            wiring.live.dropped(1);
            continue;
        };
        let wiring = wiring.clone();
        tasks.spawn(async move {
            wiring.send(n, due, Some(due.elapsed())).await;
            drop(slot);
        });
        // Reap finished tasks so the set holds only those in flight.
        while tasks.try_join_next().is_some() {}
    }
    let stop = wiring.stop.clone();
    drop(wiring);
    finish(tasks, &stop, grace).await;
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
            input_tokens: 1,
            plan: None,
            dataset: None,
            session: None,
        }
    }

    #[tokio::test]
    async fn a_huge_concurrency_for_few_requests_spawns_only_the_workers_it_uses() {
        // Nothing listens on the port: each request ends at once as a connect error.
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let target = crate::client::Target {
            base_url: format!("http://127.0.0.1:{port}"),
            auth: crate::client::AuthStyle::XApiKey,
            api_key: crate::client::ApiKey::new("k"),
            anthropic_version: None,
            headers: Vec::new(),
            net: Default::default(),
        };
        let client = Client::new(&target, crate::client::Timeouts::default()).expect("client");
        let requests: Arc<[PreparedRequest]> = Arc::from(vec![req(1)]);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let picker = Picker::new(&requests, 1);
        let wiring = Wiring::new(client, requests, picker, Arc::default(), tx, Arc::default(), 1);
        let plan = ClosedLoop { workers: LoadShape::Constant(100_000.0), requests: Some(10), duration: None, segment: Default::default() };
        let spawned = run_closed_loop(wiring, plan, Duration::ZERO).await;
        assert_eq!(spawned, 10, "one worker per request to send, not one per level");
        let mut ended = 0;
        while rx.recv().await.is_some() {
            ended += 1;
        }
        assert_eq!(ended, 10);
    }

    #[test]
    fn poisson_gaps_average_the_rate_and_repeat() {
        let plan = OpenLoop { rate: LoadShape::Constant(200.0), poisson: true, seed: 3, max_in_flight: 1, requests: None, arrivals: None, duration: None, segment: Default::default() };
        // The executor's own stream of the seed, as `run_open_loop` draws it.
        let arrivals = |seed| {
            let mut rng = OpenLoop { seed, ..plan.clone() }.arrival_rng();
            let mut count = 0.0;
            (0..20_000)
                .map(|_| {
                    count += plan.step(&mut rng);
                    plan.rate.time_of(count).expect("constant rate").as_secs_f64()
                })
                .collect::<Vec<_>>()
        };
        let a = arrivals(3);
        let mean_gap = a[a.len() - 1] / a.len() as f64;
        assert!((mean_gap - 0.005).abs() < 0.0002, "mean gap {mean_gap}");
        assert_eq!(a, arrivals(3));
        assert_ne!(a, arrivals(4));
        let fixed = OpenLoop { poisson: false, ..plan };
        assert_eq!(fixed.rate.time_of(fixed.step(&mut Rng::new(1))), Some(Duration::from_millis(5)));
    }

    #[test]
    fn ramp_interpolates_between_stage_targets() {
        let s = Duration::from_secs;
        let ramp = LoadShape::Ramp { start: 0.0, stages: vec![(s(10), 100.0), (s(10), 100.0), (s(5), 50.0)] };
        assert_eq!(ramp.at(s(0)), 0.0);
        assert_eq!(ramp.at(s(5)), 50.0);
        assert_eq!(ramp.at(s(15)), 100.0);
        assert_eq!(ramp.at(Duration::from_millis(22_500)), 75.0);
        assert_eq!(ramp.at(s(60)), 50.0);
        assert_eq!(ramp.end(), Some(s(25)));
        // The integral: 500 arrivals in the first stage, 1000 in the second, 375 in the third.
        assert_eq!(ramp.time_of(500.0), Some(s(10)));
        assert_eq!(ramp.time_of(125.0), Some(s(5)));
        assert_eq!(ramp.time_of(1500.0), Some(s(20)));
        assert!(ramp.time_of(1876.0).is_none());
        let idle_first = LoadShape::Ramp { start: 0.0, stages: vec![(s(1), 0.0), (s(1), 100.0)] };
        assert_eq!(idle_first.time_of(0.0), Some(Duration::ZERO));
        assert_eq!(idle_first.time_of(50.0), Some(s(2)));
    }

    #[test]
    fn count_at_inverts_time_of() {
        let shapes = [LoadShape::Constant(250.0), LoadShape::Ramp { start: 0.0, stages: vec![(Duration::from_secs(2), 100.0), (Duration::from_secs(3), 100.0), (Duration::from_secs(1), 10.0)] }];
        for shape in shapes {
            for count in [0.0, 1.0, 37.5, 100.0, 350.0, 404.0] {
                let t = shape.time_of(count).expect("reached");
                assert!((shape.count_at(t) - count).abs() < 1e-6, "{shape:?} {count}: {}", shape.count_at(t));
            }
        }
    }

    #[test]
    fn peak_is_the_highest_level() {
        let s = Duration::from_secs;
        assert_eq!(LoadShape::Constant(4.0).peak(), 4.0);
        assert_eq!(LoadShape::Ramp { start: 2.0, stages: vec![(s(1), 8.0), (s(1), 0.0)] }.peak(), 8.0);
        assert_eq!(LoadShape::Ramp { start: 3.0, stages: vec![(s(1), 1.0)] }.peak(), 3.0);
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
