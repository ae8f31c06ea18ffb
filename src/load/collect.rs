//! The collector: the one owner of a run's measurements. It folds outcomes into the
//! recorder, keeps the first failures as examples, and decides when a run cannot go on.

use tokio::sync::mpsc;

use crate::conformance::limits::{Dimension, LimitSummary, LimitTracker};
use crate::conformance::series::SeriesChecks;
use crate::conformance::fingerprint::Signal;
use crate::conformance::{Finding, Rule};
use crate::metrics::Recorder;
use std::collections::{BTreeMap, BTreeSet};
use crate::outcome::{Outcome, OutcomeKind};
use super::capture::{CaptureFile, Captures};
use crate::scenario::GoodputSpec;
use crate::stop::Stop;

/// Failures kept verbatim for the report.
pub const MAX_EXAMPLES: usize = 20;

/// Findings kept verbatim per rule.
pub const MAX_FINDING_EXAMPLES: usize = 3;

/// After this many requests that all failed to connect or to authenticate, and none
/// that did better, the run stops: more of the same would only repeat the failure.
pub const FATAL_STREAK: u64 = 5;

/// Where a loop's responses go besides the measurements: capture files and per-request
/// records, both the target's, and the phase they are from.
#[derive(Debug, Clone)]
pub struct Sinks {
    /// The target's capture files.
    pub captures: std::sync::Arc<Captures>,
    /// The target's `requests.jsonl`, when the run writes one.
    pub records: Option<std::sync::Arc<super::records::Records>>,
    /// The phase's name, for the records.
    pub phase: String,
    /// The run's live metrics, when served, and the target's name in them.
    pub exporter: Option<(std::sync::Arc<super::exporter::Exporter>, String)>,
}

/// A finding kept for the report, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingExample {
    /// Completion order of its request (0 for a finding over several requests).
    pub request: u64,
    /// Template index.
    pub template: usize,
    /// The finding.
    pub finding: Finding,
    /// The capture file of its response, when it was captured.
    pub capture: Option<String>,
    /// When its request ended, seconds after the load began (None after the load).
    pub at_s: Option<f64>,
}

/// A failure kept for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Order in which it completed (1-based).
    pub request: u64,
    /// The outcome, with its detail.
    pub outcome: Outcome,
    /// Its capture file, when it was captured.
    pub capture: Option<String>,
    /// When it ended, seconds after the load began.
    pub at_s: f64,
}

/// Why a run could not proceed (exit code 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// Every request failed to connect.
    Unreachable(String),
    /// Every request was refused by the server's authentication.
    AuthRejected(String),
    /// relaybench itself failed (a task panicked): what was collected cannot be trusted.
    Internal(String),
}

/// One second of the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    /// Requests whose start fell in this second.
    pub started: u64,
    /// Requests that ended in this second.
    pub finished: u64,
    /// Of those, not ok.
    pub errors: u64,
    /// The same by outcome id.
    pub errors_by_kind: BTreeMap<&'static str, u64>,
    /// Output tokens reported by requests that ended in this second.
    pub output_tokens: u64,
    /// TTFT of the streams that ended in this second, microseconds, as they came while
    /// they are few (see [`SAMPLES_BEFORE_HISTOGRAM`]).
    ttft_us: Vec<u64>,
    /// The same once they were many. Every stream counts either way, and the report
    /// holds a histogram, so that split workers' seconds add exactly.
    ttft: Option<hdrhistogram::Histogram<u64>>,
    /// Responses whose head (status 429) arrived in this second.
    pub throttled: u64,
    /// The lowest rate-limit `remaining` of the heads that arrived in this second, by
    /// dimension id.
    pub remaining_min: BTreeMap<&'static str, u64>,
}

/// TTFT samples a second keeps as they came before it moves them into a histogram: the
/// histogram costs about 14 KiB from its first value, 256 samples 2 KiB, and most seconds
/// of a long run hold fewer streams.
const SAMPLES_BEFORE_HISTOGRAM: usize = 256;

impl Bucket {
    fn add_ttft(&mut self, us: u64) {
        if self.ttft.is_none() && self.ttft_us.len() < SAMPLES_BEFORE_HISTOGRAM {
            return self.ttft_us.push(us);
        }
        // An auto-resizing histogram takes any value: the record cannot fail.
        let _ = self.spilled().record(us);
    }

    /// The histogram, the samples moved into it.
    fn spilled(&mut self) -> &mut hdrhistogram::Histogram<u64> {
        let h = self.ttft.get_or_insert_with(crate::metrics::second_histogram);
        for us in self.ttft_us.drain(..) {
            let _ = h.record(us);
        }
        h
    }

    /// The TTFT of the streams that ended in this second, as a histogram (none without).
    pub fn ttft_histogram(&self) -> Option<hdrhistogram::Histogram<u64>> {
        let mut h = self.ttft.clone().unwrap_or_else(crate::metrics::second_histogram);
        for &us in &self.ttft_us {
            let _ = h.record(us);
        }
        (!h.is_empty()).then_some(h)
    }

    fn merge(&mut self, other: &Bucket) {
        self.started += other.started;
        self.finished += other.finished;
        self.errors += other.errors;
        for (kind, n) in &other.errors_by_kind {
            *self.errors_by_kind.entry(kind).or_default() += n;
        }
        self.output_tokens += other.output_tokens;
        for &us in &other.ttft_us {
            self.add_ttft(us);
        }
        if let Some(theirs) = &other.ttft {
            // Both sides use `second_histogram`, which grows as needed: the add cannot fail.
            let _ = self.spilled().add(theirs);
        }
        self.throttled += other.throttled;
        for (d, v) in &other.remaining_min {
            self.note_remaining(d, *v);
        }
    }

    fn note_remaining(&mut self, dimension: &'static str, remaining: u64) {
        let min = self.remaining_min.entry(dimension).or_insert(remaining);
        *min = (*min).min(remaining);
    }
}

/// What one template's requests measured.
#[derive(Debug, Clone)]
pub struct TemplateStats {
    /// Its requests' histograms and counters.
    pub recorder: Recorder,
    /// Ok responses that reported input usage, whose requested count is known.
    pub input_pairs: u64,
    /// Over those: input tokens requested by relaybench's rule…
    pub input_requested: u64,
    /// …and the total input tokens the provider reported (input plus cache).
    pub input_reported: u64,
    /// The prompt cache, from the usage of ok responses.
    pub cache: CacheStats,
}

/// What the provider's prompt cache did, from the usage of ok responses.
#[derive(Debug, Clone)]
pub struct CacheStats {
    /// Total input tokens reported (input plus cache creation plus cache reads).
    pub input_total: u64,
    /// `cache_read_input_tokens` summed.
    pub read: u64,
    /// `cache_creation_input_tokens` summed.
    pub written: u64,
    /// Responses that read from the cache.
    pub hits: u64,
    /// Responses that wrote to it without reading.
    pub writes: u64,
    /// TTFT of streams that read from the cache…
    pub ttft_hit: hdrhistogram::Histogram<u64>,
    /// …and of those that did not.
    pub ttft_miss: hdrhistogram::Histogram<u64>,
}

impl Default for CacheStats {
    fn default() -> Self {
        let grow = crate::metrics::compact_histogram;
        CacheStats { input_total: 0, read: 0, written: 0, hits: 0, writes: 0, ttft_hit: grow(), ttft_miss: grow() }
    }
}

impl CacheStats {
    fn record(&mut self, o: &Outcome) {
        if o.kind != OutcomeKind::Ok {
            return;
        }
        let (read, written) = (o.cache_read_tokens.unwrap_or(0), o.cache_creation_tokens.unwrap_or(0));
        self.input_total += o.input_total.unwrap_or(0);
        self.read += read;
        self.written += written;
        self.hits += u64::from(read > 0);
        self.writes += u64::from(read == 0 && written > 0);
        if let Some(ttft) = o.ttft {
            let h = if read > 0 { &mut self.ttft_hit } else { &mut self.ttft_miss };
            let _ = h.record(ttft.as_micros().min(u128::from(u64::MAX)) as u64);
        }
    }

    fn merge(&mut self, other: &CacheStats) {
        self.input_total += other.input_total;
        self.read += other.read;
        self.written += other.written;
        self.hits += other.hits;
        self.writes += other.writes;
        let _ = self.ttft_hit.add(&other.ttft_hit);
        let _ = self.ttft_miss.add(&other.ttft_miss);
    }
}

impl Default for TemplateStats {
    fn default() -> Self {
        TemplateStats { recorder: Recorder::compact(), input_pairs: 0, input_requested: 0, input_reported: 0, cache: CacheStats::default() }
    }
}

impl TemplateStats {
    fn record(&mut self, o: &Outcome) {
        self.recorder.record(o);
        self.cache.record(o);
        if let (OutcomeKind::Ok, Some(requested), Some(reported)) = (o.kind, o.requested_input_tokens, o.input_total) {
            self.input_pairs += 1;
            self.input_requested += requested;
            self.input_reported += reported;
        }
    }

    fn merge(&mut self, other: &TemplateStats) {
        self.recorder.merge(&other.recorder);
        self.cache.merge(&other.cache);
        self.input_pairs += other.input_pairs;
        self.input_requested += other.input_requested;
        self.input_reported += other.input_reported;
    }
}

/// Everything a run collected.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// Histograms and counters.
    pub recorder: Recorder,
    /// Completed requests per template.
    pub per_template: Vec<u64>,
    /// Each template's own measurements.
    pub templates: Vec<TemplateStats>,
    /// Each turn's measurements, for conversations: `turns[t - 1]` for turn `t`.
    pub turns: Vec<TemplateStats>,
    /// Non-streamed requests' measurements apart from streamed ones', indexed by
    /// `stream as usize`: a Message's TTFB is its whole answer, a stream's only its head.
    pub by_stream: [TemplateStats; 2],
    /// Total input tokens (input plus cache) of each template's first ok response: the
    /// provider's count for that prompt, compared across providers.
    pub input_tokens: Vec<Option<u64>>,
    /// The first failures.
    pub examples: Vec<Example>,
    /// The first findings of each rule, with the request (completion order) they came
    /// from, its template, and its capture file when it was captured.
    pub finding_examples: BTreeMap<Rule, Vec<FindingExample>>,
    /// Capture files: name and bytes.
    pub captures: Vec<CaptureFile>,
    /// Set when no request got past connection or authentication.
    pub blocker: Option<Blocker>,
    /// Per-second buckets, by seconds since the run began.
    pub time_series: BTreeMap<u64, Bucket>,
    /// Open loop: the first and last moments a request was actually sent.
    pub sends: Option<(tokio::time::Instant, tokio::time::Instant)>,
    /// Open loop: requests with a send time.
    pub sent: u64,
    /// Requests that met the goodput SLO, when the scenario gives one.
    pub goodput_met: Option<u64>,
    /// What the rate-limit headers said, and the 429s.
    pub limits: LimitSummary,
    /// When the first 429's head arrived, seconds since the run began.
    pub first_throttled_s: Option<f64>,
    /// What the answers showed of the channel behind the target, by model.
    pub channels: crate::conformance::channel::Evidence,
    /// The target's clock against this machine's, from its responses' `Date`.
    pub clock: super::clock::ClockTracker,
}

impl Collected {
    /// Open loop: requests actually sent per second, between the first and last send.
    pub fn send_rate(&self) -> Option<f64> {
        let (first, last) = self.sends?;
        let span = last.duration_since(first).as_secs_f64();
        (self.sent > 1 && span > 0.0).then(|| (self.sent - 1) as f64 / span)
    }
}

impl Collected {
    /// Adds another phase's collection (a sweep step) to this one; histograms merge
    /// exactly, examples stay capped.
    pub fn merge(&mut self, other: Collected) {
        self.recorder.merge(&other.recorder);
        if self.per_template.len() < other.per_template.len() {
            self.per_template.resize(other.per_template.len(), 0);
        }
        for (mine, theirs) in self.per_template.iter_mut().zip(&other.per_template) {
            *mine += theirs;
        }
        if self.templates.len() < other.templates.len() {
            self.templates.resize_with(other.templates.len(), TemplateStats::default);
        }
        for (mine, theirs) in self.templates.iter_mut().zip(&other.templates) {
            mine.merge(theirs);
        }
        for (mine, theirs) in self.by_stream.iter_mut().zip(&other.by_stream) {
            mine.merge(theirs);
        }
        if self.turns.len() < other.turns.len() {
            self.turns.resize_with(other.turns.len(), TemplateStats::default);
        }
        for (mine, theirs) in self.turns.iter_mut().zip(&other.turns) {
            mine.merge(theirs);
        }
        if self.input_tokens.len() < other.input_tokens.len() {
            self.input_tokens.resize(other.input_tokens.len(), None);
        }
        for (mine, theirs) in self.input_tokens.iter_mut().zip(&other.input_tokens) {
            *mine = mine.or(*theirs);
        }
        let room = MAX_EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
        for (rule, kept) in other.finding_examples {
            let mine = self.finding_examples.entry(rule).or_default();
            let room = MAX_FINDING_EXAMPLES.saturating_sub(mine.len());
            mine.extend(kept.into_iter().take(room));
        }
        self.captures.extend(other.captures);
        self.limits.merge(&other.limits);
        self.channels.merge(&other.channels);
        self.clock.merge(&other.clock);
        self.first_throttled_s = match (self.first_throttled_s, other.first_throttled_s) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if self.blocker.is_none() {
            self.blocker = other.blocker;
        }
        for (second, bucket) in &other.time_series {
            self.time_series.entry(*second).or_default().merge(bucket);
        }
        self.sent += other.sent;
        self.goodput_met = match (self.goodput_met, other.goodput_met) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.sends = match (self.sends, other.sends) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        };
    }
}

fn is_fatal(o: &Outcome) -> bool {
    matches!(o.kind, OutcomeKind::ConnectError | OutcomeKind::ConnectTimeout) || matches!(o.status, Some(401 | 403))
}

/// Stops a run that cannot proceed. Workers record each outcome here before starting
/// their next request, so the stop comes after at most [`FATAL_STREAK`] such outcomes plus
/// the requests already in flight, however fast failures arrive (the collector, which
/// drains a channel, may lag far behind a refused port).
#[derive(Debug, Default)]
pub struct FailFast {
    fatal: std::sync::atomic::AtomicU64,
    passed: std::sync::atomic::AtomicU64,
}

impl FailFast {
    /// Records one outcome; asks `stop` to stop once the streak is reached.
    pub fn record(&self, o: &Outcome, stop: &Stop) {
        use std::sync::atomic::Ordering::SeqCst;
        if !is_fatal(o) {
            self.passed.fetch_add(1, SeqCst);
        } else if self.fatal.fetch_add(1, SeqCst) + 1 >= FATAL_STREAK && self.passed.load(SeqCst) == 0 {
            stop.stop();
        }
    }
}

fn blocker_for(o: &Outcome) -> Blocker {
    let detail = o.detail.clone().unwrap_or_default();
    if matches!(o.kind, OutcomeKind::ConnectError | OutcomeKind::ConnectTimeout) {
        Blocker::Unreachable(detail)
    } else {
        Blocker::AuthRejected(detail)
    }
}

/// Distinct input totals kept per template; more than a few means the count is unstable
/// anyway, and the cap keeps memory bounded on long runs.
const MAX_INPUT_TOTALS: usize = 8;

/// Templates whose bodies are the same but for `stream`, so their input usage must agree:
/// pairs of (streamed template, non-streamed template).
pub fn stream_twins(requests: &[crate::scenario::PreparedRequest]) -> Vec<(usize, usize)> {
    let shape = |r: &crate::scenario::PreparedRequest| {
        let mut v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.remove("stream");
        }
        v
    };
    let mut twins = Vec::new();
    // A generated prompt differs in size from request to request: no pair to compare.
    let fixed = |r: &crate::scenario::PreparedRequest| !r.plan.as_ref().is_some_and(|p| p.input_varies());
    for (i, a) in requests.iter().enumerate().filter(|(_, r)| r.stream && fixed(r)) {
        for (j, b) in requests.iter().enumerate().filter(|(_, r)| !r.stream && fixed(r)) {
            if shape(a) == shape(b) {
                twins.push((i, j));
            }
        }
    }
    twins
}

/// Findings for twin templates whose input totals differ.
fn compare_twins(twins: &[(usize, usize)], totals: &[BTreeSet<u64>], names: &[String]) -> Vec<(usize, Finding)> {
    twins
        .iter()
        .filter(|(s, n)| !totals[*s].is_empty() && !totals[*n].is_empty() && totals[*s] != totals[*n])
        .map(|&(s, n)| {
            let message = format!(
                "{} (streamed) reports input {:?}, {} (not streamed) reports {:?}",
                names[s], totals[s], names[n], totals[n]
            );
            (s, Finding::new(Rule::RequestUsageStreamMismatch, None, message, b""))
        })
        .collect()
}

/// What the series rules find on one more outcome: its rate-limit headers against the
/// other mode's, and a complete stream's head against its first token.
fn series_findings(series: &mut SeriesChecks, o: &Outcome) -> Vec<Finding> {
    let mut found = Vec::new();
    let limit_headers = o.fingerprint.as_ref().and_then(|fp| fp.observed.iter().find(|x| x.signal == Signal::RateLimitHeaders));
    if let Some(seen) = limit_headers {
        found.extend(series.observe_limits(o.stream, seen.shape, &seen.example));
    }
    if let (true, OutcomeKind::Ok, Some(ttfb), Some(ttft)) = (o.stream, o.kind, o.ttfb, o.ttft) {
        found.extend(series.observe_head(ttfb, ttft));
    }
    found
}

/// Collects outcomes until every sender is gone. `names` are the template names, `twins`
/// the pairs whose usage must agree (see [`stream_twins`]), and `run_start` the origin of
/// the time series.
pub async fn collect(
    names: Vec<String>,
    twins: Vec<(usize, usize)>,
    goodput: Option<GoodputSpec>,
    run_start: tokio::time::Instant,
    sinks: Sinks,
    mut outcomes: mpsc::UnboundedReceiver<Box<Outcome>>,
) -> Collected {
    let templates = names.len();
    let mut c = Collected {
        per_template: vec![0; templates],
        templates: (0..templates).map(|_| TemplateStats::default()).collect(),
        input_tokens: vec![None; templates],
        goodput_met: goodput.map(|_| 0),
        ..Collected::default()
    };
    let mut input_totals = vec![BTreeSet::new(); templates];
    let mut fatal = 0u64;
    let mut passed = 0u64;
    let mut limits = LimitTracker::new();
    let mut series = SeriesChecks::default();
    while let Some(mut o) = outcomes.recv().await {
        // Rate-limit findings first: they decide what is captured, as any finding does.
        let found = limits.observe(o.status, o.limits.as_deref(), o.input_tokens.unwrap_or(0), o.output_tokens.unwrap_or(0));
        o.findings.extend(found);
        o.findings.extend(series_findings(&mut series, &o));
        if let (Some(start), Some(ttfb)) = (o.start, o.ttfb) {
            let head = (start + ttfb).saturating_duration_since(run_start);
            let bucket = c.time_series.entry(head.as_secs()).or_default();
            if o.status == Some(429) {
                bucket.throttled += 1;
                let at = head.as_secs_f64();
                c.first_throttled_s = Some(c.first_throttled_s.map_or(at, |f| f.min(at)));
            }
            for d in Dimension::ALL {
                if let Some(rem) = o.limits.as_ref().and_then(|l| l.reading(d)).and_then(|r| r.remaining) {
                    bucket.note_remaining(d.id(), rem);
                }
            }
        }
        let capture = sinks.captures.take(&mut o).map(|(name, raw)| {
            c.captures.push((name.clone(), raw));
            name
        });
        // Its timings are the modes' added at the end: every outcome has one mode.
        c.recorder.record_counts(&o);
        if let Some(date) = &o.server_date {
            c.clock.observe(date);
        }
        if let Some(fp) = &o.fingerprint {
            c.channels.observe(fp, capture.as_deref());
        }
        if let Some((exporter, target)) = &sinks.exporter {
            exporter.record(target, &o);
        }
        if let Some(records) = &sinks.records {
            let template = names.get(o.template).map_or("", String::as_str);
            records.write(&super::records::line(&o, c.recorder.requests, &sinks.phase, template, run_start, capture.as_deref()));
        }
        if let (Some(slo), Some(met)) = (&goodput, c.goodput_met.as_mut()) {
            *met += u64::from(slo.met(&o));
        }
        let second_of = |t: tokio::time::Instant| t.saturating_duration_since(run_start).as_secs();
        let ended = tokio::time::Instant::now();
        let at_s = ended.saturating_duration_since(run_start).as_secs_f64();
        let finished = c.time_series.entry(second_of(ended)).or_default();
        finished.finished += 1;
        if o.kind != OutcomeKind::Ok {
            finished.errors += 1;
            *finished.errors_by_kind.entry(o.kind.id()).or_default() += 1;
        }
        finished.output_tokens += o.output_tokens.unwrap_or(0);
        if let Some(ttft) = o.ttft {
            finished.add_ttft(ttft.as_micros() as u64);
        }
        if let Some(start) = o.start {
            c.time_series.entry(second_of(start)).or_default().started += 1;
            if let Some(lag) = o.send_lag {
                let sent = start + lag;
                c.sent += 1;
                c.sends = Some(match c.sends {
                    None => (sent, sent),
                    Some((a, b)) => (a.min(sent), b.max(sent)),
                });
            }
        }
        if let Some(n) = c.per_template.get_mut(o.template) {
            *n += 1;
        }
        if let Some(stats) = c.templates.get_mut(o.template) {
            stats.record(&o);
        }
        c.by_stream[usize::from(o.stream)].record(&o);
        if let Some(turn) = o.turn.map(|t| t as usize).filter(|t| (1..=crate::scenario::MAX_TURNS as usize).contains(t)) {
            if c.turns.len() < turn {
                c.turns.resize_with(turn, TemplateStats::default);
            }
            c.turns[turn - 1].record(&o);
        }
        if let (Some(total), Some(first), OutcomeKind::Ok) = (o.input_total, c.input_tokens.get_mut(o.template), o.kind) {
            first.get_or_insert(total);
        }
        if let (Some(total), Some(seen)) = (o.input_total, input_totals.get_mut(o.template)) {
            if o.kind == OutcomeKind::Ok && seen.len() < MAX_INPUT_TOTALS {
                seen.insert(total);
            }
        }
        if is_fatal(&o) {
            fatal += 1;
        } else {
            passed += 1;
        }
        if passed == 0 && fatal >= FATAL_STREAK && c.blocker.is_none() {
            c.blocker = Some(blocker_for(&o));
        }
        for f in &o.findings {
            let kept = c.finding_examples.entry(f.rule).or_default();
            if kept.len() < MAX_FINDING_EXAMPLES {
                kept.push(FindingExample { request: c.recorder.requests, template: o.template, finding: f.clone(), capture: capture.clone(), at_s: Some(at_s) });
            }
        }
        if o.kind != OutcomeKind::Ok && c.examples.len() < MAX_EXAMPLES {
            c.examples.push(Example { request: c.recorder.requests, outcome: *o, capture, at_s });
        }
    }
    for mode in &c.by_stream {
        c.recorder.add_histograms(&mode.recorder);
    }
    c.limits = limits.summary().clone();
    for (template, finding) in compare_twins(&twins, &input_totals, &names) {
        *c.recorder.findings.entry(finding.rule.id().to_owned()).or_default() += 1;
        c.finding_examples.entry(finding.rule).or_default().push(FindingExample { request: 0, template, finding, capture: None, at_s: None });
    }
    // A short run may end before the streak: it is still blocked if nothing got through.
    if c.blocker.is_none() && passed == 0 && fatal > 0 {
        c.blocker = c.examples.first().map(|e| blocker_for(&e.outcome));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_runs_timings_are_its_modes_added_up() {
        use std::time::Duration;
        let (send, receive) = mpsc::unbounded_channel();
        let mut alone = Recorder::default();
        for i in 0..200u64 {
            let mut o = Outcome::new((i % 2) as usize, i % 3 != 0);
            o.status = Some(if i % 7 == 0 { 529 } else { 200 });
            o.kind = if i % 7 == 0 { OutcomeKind::HttpError } else { OutcomeKind::Ok };
            o.ttfb = Some(Duration::from_micros(100 + i * 13));
            o.ttft = Some(Duration::from_micros(300 + i * 17));
            o.itl = vec![(Duration::ZERO, 5), (Duration::from_micros(40 + i), 3)];
            o.output_tokens = Some(9);
            o.content_deltas = 9;
            o.decode = Some(Duration::from_micros(900 + i));
            // Past a full-range histogram's bounds (2^40 µs): saturated either way.
            o.e2e = Duration::from_micros(if i == 5 { 1 << 41 } else { 2_000 + i * 31 });
            alone.record(&o);
            send.send(Box::new(o)).expect("open");
        }
        drop(send);
        let sinks = Sinks { captures: std::sync::Arc::new(Captures::new(crate::scenario::CaptureMode::None)), records: None, phase: "p".into(), exporter: None };
        let c = collect(vec!["a".into(), "b".into()], Vec::new(), None, tokio::time::Instant::now(), sinks, receive).await;
        assert_eq!(c.recorder.requests, 200);
        for m in crate::metrics::Metric::ALL {
            let (ours, theirs) = (c.recorder.histogram(m), alone.histogram(m));
            assert_eq!(ours.len(), theirs.len(), "{}", m.id());
            let values = |h: &hdrhistogram::Histogram<u64>| h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect::<Vec<_>>();
            assert_eq!(values(ours), values(theirs), "{}", m.id());
        }
        assert!(c.recorder.histogram(crate::metrics::Metric::E2e).max() >= 1 << 40);
    }

    #[test]
    fn a_second_counts_every_stream_whether_kept_as_samples_or_spilled() {
        let values: Vec<u64> = (0..600u64).map(|i| 1_000 + i * 37).collect();
        let mut whole = Bucket::default();
        values.iter().for_each(|&v| whole.add_ttft(v));
        // A phase's few samples merged into another's many, and the other way round.
        let (mut few, mut many) = (Bucket::default(), Bucket::default());
        values[..40].iter().for_each(|&v| few.add_ttft(v));
        values[40..].iter().for_each(|&v| many.add_ttft(v));
        let (mut a, mut b) = (few.clone(), many.clone());
        a.merge(&many);
        b.merge(&few);
        let expected = whole.ttft_histogram().expect("values");
        assert_eq!(expected.len(), 600);
        assert_eq!(a.ttft_histogram(), Some(expected.clone()));
        assert_eq!(b.ttft_histogram(), Some(expected));
        assert!(few.ttft.is_none() && many.ttft.is_some(), "40 samples stay as they came; 560 are spilled");
        assert_eq!(Bucket::default().ttft_histogram(), None);
    }

    #[test]
    fn twins_with_different_input_totals_are_flagged() {
        let names = vec!["s".to_owned(), "n".to_owned()];
        let same = [BTreeSet::from([40]), BTreeSet::from([40])];
        assert!(compare_twins(&[(0, 1)], &same, &names).is_empty());
        let differ = [BTreeSet::from([40]), BTreeSet::from([0])];
        let found = compare_twins(&[(0, 1)], &differ, &names);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.rule, Rule::RequestUsageStreamMismatch);
        let missing = [BTreeSet::from([40]), BTreeSet::new()];
        assert!(compare_twins(&[(0, 1)], &missing, &names).is_empty());
    }
}
