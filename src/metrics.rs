//! Metric definitions and the recorder that folds outcomes into HdrHistograms.
//!
//! Each metric is defined here once; the guide's metric table (`docs/metrics.md`) and the reports use these
//! ids and sentences. Histograms keep 3 significant figures and travel inside reports,
//! so results from several runs or machines merge without averaging percentiles.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::outcome::{Outcome, OutcomeKind};
use crate::provider::TokenUse;

/// A latency or rate distribution the recorder keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Time to the response head.
    Ttfb,
    /// Time to `message_start`.
    MessageStart,
    /// Time to the first content delta.
    Ttft,
    /// Gap between content deltas.
    Itl,
    /// Time per output token after the first.
    Tpot,
    /// End to end.
    E2e,
    /// Per-request generation speed.
    OutputTokensPerS,
    /// Output tokens each content delta carried, per stream.
    TokensPerDelta,
    /// Open loop: due time to send.
    SendLag,
    /// Opening the TCP connection a request used, when it opened one.
    Connect,
    /// The TLS handshake of that connection (https targets).
    Tls,
    /// With retries: the first attempt's end to end.
    E2eFirstAttempt,
    /// With retries: from the first attempt's start to the last attempt's end.
    E2eEffective,
    /// The DNS lookup of a new connection.
    Dns,
    /// The proxy's tunnel of a new connection.
    ProxyConnect,
}

/// Unit a histogram stores its values in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Microseconds.
    Micros,
    /// Thousandths of a token per second, so integer buckets keep three decimals.
    MilliTokensPerS,
    /// Thousandths of a token.
    MilliTokens,
}

impl Unit {
    /// Name used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Unit::Micros => "us",
            Unit::MilliTokensPerS => "milli_tokens_per_s",
            Unit::MilliTokens => "milli_tokens",
        }
    }

    /// The unit of the values summaries show, as reports name it, and the factor from
    /// stored integers to it.
    pub fn shown(self) -> (&'static str, f64) {
        match self {
            Unit::Micros => ("ms", 1e-3),
            Unit::MilliTokensPerS => ("tokens_per_s", 1e-3),
            Unit::MilliTokens => ("tokens", 1e-3),
        }
    }

    /// The shown unit as the guide's metric table writes it.
    pub fn label(self) -> &'static str {
        match self {
            Unit::Micros => "ms",
            Unit::MilliTokensPerS => "tokens/s",
            Unit::MilliTokens => "tokens",
        }
    }
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 15] = [
        Metric::Ttfb,
        Metric::MessageStart,
        Metric::Ttft,
        Metric::Itl,
        Metric::Tpot,
        Metric::E2e,
        Metric::OutputTokensPerS,
        Metric::TokensPerDelta,
        Metric::SendLag,
        Metric::Connect,
        Metric::Tls,
        Metric::E2eFirstAttempt,
        Metric::E2eEffective,
        Metric::Dns,
        Metric::ProxyConnect,
    ];

    /// Stable id used in reports and thresholds.
    pub fn id(self) -> &'static str {
        match self {
            Metric::Ttfb => "ttfb",
            Metric::MessageStart => "message_start",
            Metric::Ttft => "ttft",
            Metric::Itl => "itl",
            Metric::Tpot => "tpot",
            Metric::E2e => "e2e",
            Metric::OutputTokensPerS => "output_tokens_per_s",
            Metric::TokensPerDelta => "tokens_per_delta",
            Metric::SendLag => "send_lag",
            Metric::Connect => "connect",
            Metric::Tls => "tls",
            Metric::E2eFirstAttempt => "e2e_first_attempt",
            Metric::E2eEffective => "e2e_effective",
            Metric::Dns => "dns",
            Metric::ProxyConnect => "proxy_connect",
        }
    }

    /// One-sentence definition, quoted by the guide (`docs/metrics.md`).
    pub fn definition(self) -> &'static str {
        match self {
            Metric::Ttfb => "time from the request's start to the response status line and headers",
            Metric::MessageStart => "time from the request's start to the `message_start` event (streams)",
            Metric::Ttft => "time from the request's start to the first content delta — text, thinking or tool input, not `message_start` (streams)",
            Metric::Itl => "each gap between two consecutive content deltas of one stream; deltas that arrive in one read have a gap of 0",
            Metric::Tpot => "per stream, the time from the first content delta to the end of the response divided by `usage.output_tokens` minus one ((e2e − ttft) / (output_tokens − 1), as vLLM and AIPerf define it; streams reporting at least two output tokens)",
            Metric::E2e => "time from the request's start to the end of the response body, for every request that got a response",
            Metric::OutputTokensPerS => "per stream, `usage.output_tokens` minus one, divided by the time from the first to the last content delta (streams with at least two content deltas)",
            Metric::TokensPerDelta => "per stream, `usage.output_tokens` divided by the content deltas counted: above 1 when deltas carry several tokens, so each `itl` gap spans that many tokens (streams with at least one content delta)",
            Metric::SendLag => "open-loop executors: time from when a request was due to when it began to be sent; the latencies above are measured from the due time, so they include it",
            Metric::Connect => "time to open the TCP connection (to the target, or to its proxy), for the request that first used a new connection (k6's `http_req_connecting`); its `ttfb` and `ttft` include it, a `warmup:` keeps it out of the run",
            Metric::Tls => "time of the TLS handshake on a new connection, after `connect`, for the request that first used it (https targets; k6's `http_req_tls_handshaking`)",
            Metric::E2eFirstAttempt => "with `retry:`, the `e2e` of each request's first attempt, for every first attempt that got a response",
            Metric::Dns => "time to look up the target's (or its proxy's) name for a new connection, for the request that waited for it (k6's `http_req_looking_up`); none for an IP address, a `connect_to` address, or a name looked up in the last 5 minutes",
            Metric::ProxyConnect => "through a proxy, time from the TCP connection to the proxy to a ready tunnel (CONNECT, or the SOCKS5 handshake; TLS to an https proxy included), for the request that first used a new connection",
            Metric::E2eEffective => "with `retry:`, per request, from its first attempt's start (its due time in an open loop) to the end of its last attempt, the waits between them included: the latency a client library's user sees",
        }
    }

    /// Unit of the stored values.
    pub fn unit(self) -> Unit {
        match self {
            Metric::OutputTokensPerS => Unit::MilliTokensPerS,
            Metric::TokensPerDelta => Unit::MilliTokens,
            _ => Unit::Micros,
        }
    }

    /// The metric with id `id`.
    pub fn from_id(id: &str) -> Option<Metric> {
        Self::ALL.into_iter().find(|m| m.id() == id)
    }
}

/// An empty histogram with the bounds every metric uses: 1 to 2^40 (18 minutes in
/// microseconds, or a billion tokens per second), 3 significant figures.
pub fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, 1 << 40, 3).expect("valid histogram bounds")
}

/// An empty histogram that grows with what it holds (3 significant figures), for
/// breakdowns that most often hold little.
pub fn compact_histogram() -> Histogram<u64> {
    Histogram::new(3).unwrap_or_else(|_| new_histogram())
}

/// Adds `n` to the count of `key`. The key is copied only the first time it is seen:
/// every outcome bumps a few of these, in three recorders.
fn bump(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    match map.get_mut(key) {
        Some(c) => *c += n,
        None => {
            map.insert(key.to_owned(), n);
        }
    }
}

/// Adds `other` into `h`; values past a full-range histogram's bounds saturate, as
/// values recorded there one by one do.
fn add_saturating(h: &mut Histogram<u64>, other: &Histogram<u64>) {
    if h.add(other).is_err() {
        for v in other.iter_recorded() {
            h.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// Significant figures of the per-second histograms: 1% is finer than a second's median
/// moves, and keeps a second that saw a thousand streams a few hundred bytes in a report.
pub const SECOND_SIGFIG: u8 = 2;

/// An empty per-second histogram, growing with what it holds. Every report's seconds use
/// this one setting, so the seconds of split workers add exactly.
pub fn second_histogram() -> Histogram<u64> {
    Histogram::new(SECOND_SIGFIG).unwrap_or_else(|_| new_histogram())
}

/// Counters and histograms of a run; mergeable.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// One histogram per metric, indexed like [`Metric::ALL`].
    pub histograms: Vec<Histogram<u64>>,
    /// Requests by outcome kind id.
    pub outcomes: BTreeMap<String, u64>,
    /// Responses by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Errors by `error.type` (HTTP envelopes and stream `error` events).
    pub error_types: BTreeMap<String, u64>,
    /// Requests recorded.
    pub requests: u64,
    /// Of which streamed.
    pub streamed: u64,
    /// Connections opened: requests that waited for a new one.
    pub connections: u64,
    /// Responses that came over HTTP/2.
    pub http2: u64,
    /// TLS handshakes of new connections that resumed an earlier session.
    pub tls_resumed: u64,
    /// Sum of `usage.output_tokens` over requests that reported it.
    pub output_tokens: u64,
    /// Sum of `usage.input_tokens` over requests that reported it.
    pub input_tokens: u64,
    /// Content deltas counted over all streams.
    pub content_deltas: u64,
    /// Conformance findings by rule id.
    pub findings: BTreeMap<String, u64>,
    /// With retries: attempts and what became of the requests.
    pub retries: RetryCounts,
    /// Tokens as a bill counts them, over every request.
    pub tokens: TokenUse,
    /// Of those, the tokens of requests that did not end ok (a relay bills them).
    pub tokens_failed: TokenUse,
    /// Of those, the tokens of attempts that were retried.
    pub tokens_retried: TokenUse,
}

/// The tokens an outcome's usage reported, as a bill counts them.
pub fn token_use(o: &Outcome) -> TokenUse {
    TokenUse {
        input: o.input_tokens.unwrap_or(0),
        output: o.output_tokens.unwrap_or(0),
        cache_write: o.cache_creation_tokens.unwrap_or(0),
        cache_write_1h: o.cache_creation_1h_tokens.unwrap_or(0),
        cache_read: o.cache_read_tokens.unwrap_or(0),
    }
}

/// Attempts and requests when a retry policy is on; all zero when it is off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetryCounts {
    /// Requests: each one's last attempt.
    pub requests: u64,
    /// Attempts, retries included.
    pub attempts: u64,
    /// Requests that took more than one attempt.
    pub retried: u64,
    /// Of those, the ones whose last attempt succeeded.
    pub succeeded_after_retry: u64,
    /// Requests whose last attempt failed.
    pub failed: u64,
    /// Requests whose first attempt failed.
    pub first_attempt_failed: u64,
    /// Retries by cause (`429`, `529`, `5xx`, `connect`, …).
    pub by_cause: BTreeMap<String, u64>,
}

impl RetryCounts {
    fn record(&mut self, o: &Outcome) {
        let Some(attempt) = o.attempt else { return };
        self.attempts += 1;
        let ok = o.kind == OutcomeKind::Ok;
        if attempt == 1 && !ok {
            self.first_attempt_failed += 1;
        }
        match &o.retried_for {
            Some(cause) => bump(&mut self.by_cause, cause, 1),
            None => {
                self.requests += 1;
                self.failed += u64::from(!ok);
                if attempt > 1 {
                    self.retried += 1;
                    self.succeeded_after_retry += u64::from(ok);
                }
            }
        }
    }

    fn merge(&mut self, other: &RetryCounts) {
        self.requests += other.requests;
        self.attempts += other.attempts;
        self.retried += other.retried;
        self.succeeded_after_retry += other.succeeded_after_retry;
        self.failed += other.failed;
        self.first_attempt_failed += other.first_attempt_failed;
        for (k, v) in &other.by_cause {
            bump(&mut self.by_cause, k, *v);
        }
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::with(new_histogram)
    }
}

impl Recorder {
    /// An empty recorder whose histograms `histogram` makes.
    fn with(histogram: fn() -> Histogram<u64>) -> Recorder {
        Recorder {
            histograms: Metric::ALL.iter().map(|_| histogram()).collect(),
            outcomes: BTreeMap::new(),
            statuses: BTreeMap::new(),
            error_types: BTreeMap::new(),
            requests: 0,
            streamed: 0,
            connections: 0,
            http2: 0,
            tls_resumed: 0,
            output_tokens: 0,
            input_tokens: 0,
            content_deltas: 0,
            findings: BTreeMap::new(),
            retries: RetryCounts::default(),
            tokens: TokenUse::default(),
            tokens_failed: TokenUse::default(),
            tokens_retried: TokenUse::default(),
        }
    }
}

impl Recorder {
    /// A recorder whose histograms start empty and grow with what they hold, for the
    /// many small breakdowns (one per template) where a full-range histogram per metric
    /// would cost a quarter of a megabyte each before recording anything.
    pub fn compact() -> Recorder {
        Recorder::with(compact_histogram)
    }

    /// The histogram of `metric`.
    pub fn histogram(&self, metric: Metric) -> &Histogram<u64> {
        &self.histograms[metric as usize]
    }

    fn add(&mut self, metric: Metric, value: u64) {
        self.add_n(metric, value, 1);
    }

    /// [`Recorder::add`] of `n` equal values at once.
    fn add_n(&mut self, metric: Metric, value: u64, n: u64) {
        let h = &mut self.histograms[metric as usize];
        // A compact histogram grows to take the value; a full-range one saturates.
        if h.record_n(value, n).is_err() {
            h.saturating_record_n(value, n);
        }
    }

    /// Folds one outcome in.
    pub fn record(&mut self, o: &Outcome) {
        self.record_counts(o);
        self.record_histograms(o);
    }

    /// Folds one outcome's counters in, and not its timings: for a recorder whose
    /// histograms are the sum of finer ones, added at the end with
    /// [`Recorder::add_histograms`]. A full-range histogram spans a quarter of a megabyte,
    /// so each record in one is a cache miss; the collector's finer ones are compact.
    pub fn record_counts(&mut self, o: &Outcome) {
        self.requests += 1;
        self.streamed += u64::from(o.stream);
        self.connections += u64::from(o.connect.is_some());
        self.http2 += u64::from(o.h2);
        self.tls_resumed += u64::from(o.tls_resumed);
        bump(&mut self.outcomes, o.kind.id(), 1);
        if let Some(s) = o.status {
            *self.statuses.entry(s).or_default() += 1;
        }
        if let Some(t) = &o.error_type {
            bump(&mut self.error_types, t, 1);
        }
        self.output_tokens += o.output_tokens.unwrap_or(0);
        self.input_tokens += o.input_tokens.unwrap_or(0);
        self.content_deltas += o.content_deltas;
        for f in &o.findings {
            bump(&mut self.findings, f.rule.id(), 1);
        }
        for (rule, n) in &o.unkept_findings {
            bump(&mut self.findings, rule.id(), *n);
        }
        self.retries.record(o);
        let used = token_use(o);
        self.tokens.add(&used);
        if o.kind != OutcomeKind::Ok {
            self.tokens_failed.add(&used);
        }
        if o.retried_for.is_some() {
            self.tokens_retried.add(&used);
        }
    }

    fn record_histograms(&mut self, o: &Outcome) {
        let micros = |d: std::time::Duration| d.as_micros().min(u128::from(u64::MAX)) as u64;
        if let Some(d) = o.send_lag {
            self.add(Metric::SendLag, micros(d));
        }
        if let Some(d) = o.ttfb {
            self.add(Metric::Ttfb, micros(d));
        }
        if let Some(d) = o.connect {
            self.add(Metric::Connect, micros(d));
        }
        if let Some(d) = o.tls {
            self.add(Metric::Tls, micros(d));
        }
        if let Some(d) = o.dns {
            self.add(Metric::Dns, micros(d));
        }
        if let Some(d) = o.proxy {
            self.add(Metric::ProxyConnect, micros(d));
        }
        if let Some(d) = o.message_start {
            self.add(Metric::MessageStart, micros(d));
        }
        if let Some(d) = o.ttft {
            self.add(Metric::Ttft, micros(d));
        }
        for &(gap, n) in &o.itl {
            self.add_n(Metric::Itl, micros(gap), u64::from(n));
        }
        if let Some(rest) = &o.itl_rest {
            add_saturating(&mut self.histograms[Metric::Itl as usize], rest);
        }
        if o.status.is_some() {
            self.add(Metric::E2e, micros(o.e2e));
            if o.attempt == Some(1) {
                self.add(Metric::E2eFirstAttempt, micros(o.e2e));
            }
        }
        if let Some(d) = o.effective {
            self.add(Metric::E2eEffective, micros(d));
        }
        if let (Some(tokens), 1..) = (o.output_tokens, o.content_deltas) {
            self.add(Metric::TokensPerDelta, tokens * 1000 / o.content_deltas);
        }
        if let Some(d) = o.tpot() {
            self.add(Metric::Tpot, micros(d));
        }
        if let (Some(tokens), Some(decode)) = (o.output_tokens, o.decode) {
            if o.content_deltas >= 2 && tokens >= 2 && !decode.is_zero() {
                let rate = (tokens - 1) as f64 / decode.as_secs_f64();
                self.add(Metric::OutputTokensPerS, (rate * 1000.0).round() as u64);
            }
        }
    }

    /// Adds the histograms of `other` into `self`'s, and nothing else: a value past a
    /// full-range histogram's bounds saturates, as one recorded there does.
    pub fn add_histograms(&mut self, other: &Recorder) {
        for (mine, theirs) in self.histograms.iter_mut().zip(&other.histograms) {
            add_saturating(mine, theirs);
        }
    }

    /// Requests that ended as `kind`.
    pub fn count(&self, kind: OutcomeKind) -> u64 {
        self.outcomes.get(kind.id()).copied().unwrap_or(0)
    }

    /// Adds `other` into `self`; histograms merge exactly.
    pub fn merge(&mut self, other: &Recorder) {
        self.add_histograms(other);
        for (k, v) in &other.outcomes {
            bump(&mut self.outcomes, k, *v);
        }
        for (k, v) in &other.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
        for (k, v) in &other.error_types {
            bump(&mut self.error_types, k, *v);
        }
        for (k, v) in &other.findings {
            bump(&mut self.findings, k, *v);
        }
        self.requests += other.requests;
        self.streamed += other.streamed;
        self.connections += other.connections;
        self.http2 += other.http2;
        self.tls_resumed += other.tls_resumed;
        self.output_tokens += other.output_tokens;
        self.input_tokens += other.input_tokens;
        self.content_deltas += other.content_deltas;
        self.retries.merge(&other.retries);
        self.tokens.add(&other.tokens);
        self.tokens_failed.add(&other.tokens_failed);
        self.tokens_retried.add(&other.tokens_retried);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ids_round_trip_and_are_unique() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_id(m.id()), Some(m));
        }
        for k in OutcomeKind::ALL {
            assert_eq!(OutcomeKind::from_id(k.id()), Some(k));
        }
    }

    #[test]
    fn record_and_merge_add_up() {
        let mut o = Outcome::new(0, true);
        o.status = Some(200);
        o.ttft = Some(Duration::from_millis(100));
        o.itl = vec![(Duration::from_millis(5), 9)];
        o.e2e = Duration::from_millis(150);
        o.decode = Some(Duration::from_millis(45));
        o.output_tokens = Some(10);
        o.content_deltas = 10;
        let mut a = Recorder::default();
        a.record(&o);
        let mut b = Recorder::default();
        b.record(&o);
        a.merge(&b);
        assert_eq!(a.requests, 2);
        assert_eq!(a.histogram(Metric::Itl).len(), 18);
        assert_eq!(a.histogram(Metric::Ttft).len(), 2);
        // 9 tokens after the first, over 45 ms: 200 tokens/s.
        let rate = a.histogram(Metric::OutputTokensPerS).value_at_quantile(0.5) as f64 / 1000.0;
        assert!((rate - 200.0).abs() < 0.5, "{rate}");
        assert_eq!(a.count(OutcomeKind::Ok), 2);
    }

    #[test]
    fn every_gap_is_counted_whether_kept_in_runs_or_past_them() {
        let mut o = Outcome::new(0, true);
        for _ in 0..5 {
            o.push_itl(Duration::ZERO);
        }
        o.push_itl(Duration::from_micros(7));
        o.push_itl(Duration::from_micros(7));
        o.push_itl(Duration::ZERO);
        assert_eq!(o.itl, [(Duration::ZERO, 5), (Duration::from_micros(7), 2), (Duration::ZERO, 1)]);
        // Alternating gaps make a run of each: past the kept runs, gaps go to the histogram.
        let alternating = crate::outcome::MAX_ITL_KEPT + 1000;
        for i in 0..alternating {
            o.push_itl(Duration::from_micros(1 + (i % 2) as u64));
        }
        assert_eq!(o.itl.len(), crate::outcome::MAX_ITL_KEPT);
        let mut r = Recorder::default();
        r.record(&o);
        let h = r.histogram(Metric::Itl);
        assert_eq!(h.len(), 8 + alternating as u64);
        assert_eq!(h.count_at(0), 6);
        assert_eq!(h.count_at(7), 2);
    }
}
