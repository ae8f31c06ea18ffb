//! The report model: the canonical JSON record of a run, as written and read back.
//!
//! Histograms are stored whole (HdrHistogram V2 + DEFLATE, base64), so reports from
//! several runs or machines merge exactly; the percentiles beside them are for reading.

use std::collections::BTreeMap;

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::features::Status;

/// Identifies the report format; bumped on incompatible changes.
pub const REPORT_FORMAT: &str = "relaybench.report/1";
/// The canonical record of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: String,
    /// relaybench version that wrote it.
    pub tool_version: String,
    /// The scenario run.
    pub scenario: ScenarioInfo,
    /// Where requests went.
    pub target: TargetInfo,
    /// Start of the run, RFC 3339 UTC.
    pub started_at: String,
    /// Wall-clock length of the run in seconds.
    pub duration_s: f64,
    /// True when the run was interrupted and the report holds only what was collected.
    pub partial: bool,
    /// Why the run stopped before its plan, if it did.
    pub stopped_early: Option<String>,
    /// The `abort:` condition that stopped it, with the figure that tripped it; the run
    /// then fails its gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
    /// Counts.
    pub totals: Totals,
    /// Run-level rates.
    pub throughput: Throughput,
    /// Goodput: requests that met the scenario's per-request SLO, when it gives one.
    #[serde(default)]
    pub goodput: Option<GoodputInfo>,
    /// The target's tokens per generated word, when the scenario asked to calibrate.
    #[serde(default)]
    pub calibration: Option<crate::calibrate::Calibration>,
    /// Which worker's share of a split run this is (`run --segment I/N`); absent for a
    /// whole run. `relaybench merge` adds the segments up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<crate::load::segment::Segment>,
    /// The segments this report was merged from (`relaybench merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeInfo>,
    /// Whether the load generator kept up during the load (absent in older reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<crate::load::saturation::ClientLoad>,
    /// The target's clock against the machine that ran the load, from the `Date` of its
    /// responses: what tells a split run's workers whose clock was off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<crate::load::clock::ClockInfo>,
    /// What the target's rate-limit headers said, and its 429s (absent when it sent
    /// neither).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<super::limits::LimitsInfo>,
    /// What the retry policy did (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<super::retries::RetriesInfo>,
    /// What the run cost, when the target's prices are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<super::cost::CostInfo>,
    /// The connections the run opened, and over which HTTP version they answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<super::network::ConnectionsInfo>,
    /// Which channel served each model, with the fingerprints behind the verdict
    /// (absent when no answer was fingerprinted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticity: Option<super::authenticity::AuthenticityInfo>,
    /// Distributions by metric id.
    pub metrics: BTreeMap<String, MetricSummary>,
    /// The same apart for `streamed` and `not_streamed` requests (those the run had).
    #[serde(default)]
    pub by_stream: BTreeMap<String, ModeInfo>,
    /// Conversations: each turn's figures, turn 1 first.
    #[serde(default)]
    pub turns: Vec<TurnInfo>,
    /// Templates and how many requests each got.
    pub templates: Vec<TemplateInfo>,
    /// The first failed requests, verbatim.
    pub examples: Vec<ExampleInfo>,
    /// Conformance findings and the verdict (load and probes together).
    pub conformance: Conformance,
    /// Negative probes and what they got.
    pub probes: Vec<ProbeInfo>,
    /// The feature suite's cases and how each ended.
    pub features: Vec<FeatureInfo>,
    /// The scenario's thresholds, judged on the whole run, and their verdicts.
    pub thresholds: Vec<ThresholdResult>,
    /// Each load of the scenario in run order, with its own figures and thresholds.
    pub phases: Vec<PhaseReport>,
    /// One entry per second of the run, so a ramp or a stall can be seen over time.
    pub time_series: Vec<SecondInfo>,
}

/// What a merged report says of its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeInfo {
    /// Segments of the split.
    pub segments: u32,
    /// The segment indexes merged.
    pub merged: Vec<u32>,
    /// Those missing: the report is then partial.
    pub missing: Vec<u32>,
    /// Sections of the parts not carried into the merged report, by name: what a sum
    /// cannot give exactly (each part's own rate-limit, connection and client figures).
    pub left_out: Vec<String>,
    /// Each merged segment's own figures, by segment index: where a slow pod shows.
    #[serde(default)]
    pub workers: Vec<WorkerInfo>,
}

/// One worker's figures, from its segment's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Its segment index.
    pub segment: u32,
    /// When it began its load, by its own clock (RFC 3339).
    pub started_at: String,
    /// How long after the earliest worker it began, in seconds (clocks aligned on the
    /// target's when every worker measured it).
    pub start_offset_s: f64,
    /// How long its load ran, in seconds.
    pub duration_s: f64,
    /// Requests it sent.
    pub requests: u64,
    /// Of those, not ok.
    pub errors: u64,
    /// Its requests per second.
    pub requests_per_s: f64,
    /// Its send lag (open loops): median, 99th percentile and worst, in ms.
    pub send_lag_p50_ms: Option<f64>,
    /// See `send_lag_p50_ms`.
    pub send_lag_p99_ms: Option<f64>,
    /// See `send_lag_p50_ms`.
    pub send_lag_max_ms: Option<f64>,
    /// Whether its load generator could not keep up.
    pub saturated: Option<bool>,
    /// The target's clock minus this worker's, in ms, with its uncertainty.
    pub clock_offset_ms: Option<f64>,
    /// See `clock_offset_ms`.
    pub clock_uncertainty_ms: Option<f64>,
}

/// One second of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondInfo {
    /// Seconds since the run began.
    pub second: u64,
    /// Requests started (sent, or due in an open loop).
    pub started: u64,
    /// Requests that ended.
    pub finished: u64,
    /// Requests in flight as the second ended: started so far less ended so far.
    #[serde(default)]
    pub in_flight: u64,
    /// Of those, not ok.
    pub errors: u64,
    /// The same by outcome id, those that occurred.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Output tokens of the requests that ended.
    pub output_tokens: u64,
    /// Median TTFT of the streams that ended, ms (within 1%).
    pub ttft_p50_ms: Option<f64>,
    /// Its 95th percentile, ms.
    #[serde(default)]
    pub ttft_p95_ms: Option<f64>,
    /// Those streams' TTFT histogram in µs (2 significant figures, serialized like the
    /// metrics'): what lets the seconds of split workers merge into exact percentiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_histogram: Option<String>,
    /// Responses with status 429 whose head arrived in this second.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub throttled: u64,
    /// The lowest rate-limit `remaining` reported in this second, by dimension.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remaining_min: BTreeMap<String, u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One negative probe's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// Probe name.
    pub name: String,
    /// Status the protocol requires.
    pub expected_status: u16,
    /// `error.type` the protocol requires.
    pub expected_error_type: String,
    /// Status received.
    pub status: Option<u16>,
    /// `error.type` received.
    pub error_type: Option<String>,
    /// Both matched.
    pub passed: bool,
}

/// One feature case's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureInfo {
    /// Case name.
    pub name: String,
    /// What it exercises.
    pub text: String,
    /// `pass`, `fail` or `unsupported`.
    pub status: Status,
    /// Why, in a line.
    pub detail: String,
    /// Rules that fired on its response.
    pub rules: Vec<String>,
}

/// Conformance results of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conformance {
    /// `pass` when no error-severity finding occurred, else `fail`.
    pub verdict: String,
    /// Error-severity findings.
    pub violations: u64,
    /// Warn-severity findings.
    pub warnings: u64,
    /// Info-severity findings.
    pub infos: u64,
    /// Every rule that fired, by id.
    pub rules: BTreeMap<String, RuleReport>,
}

/// One rule's findings in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleReport {
    /// `error`, `warn` or `info`.
    pub severity: String,
    /// What the rule requires.
    pub text: String,
    /// Findings.
    pub count: u64,
    /// The first few, verbatim.
    pub examples: Vec<FindingInfo>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingInfo {
    /// Completion order of the request.
    pub request: u64,
    /// Template name.
    pub template: String,
    /// SSE event index, for stream findings.
    pub event_index: Option<usize>,
    /// What was wrong.
    pub message: String,
    /// The start of the offending bytes.
    pub excerpt: String,
    /// The response's capture file, relative to the report folder, when it was
    /// captured: `relaybench check` on it reproduces the finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// When its request ended, seconds after the load began (none for probes and feature
    /// cases, sent before it): what orders a merged run's examples by time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_s: Option<f64>,
}

/// Scenario identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// `name:` of the scenario.
    pub name: String,
    /// Path it was loaded from.
    pub file: String,
    /// `description:`, if any.
    pub description: Option<String>,
    /// Seed used.
    pub seed: u64,
}

/// Target identity (never the key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Name in the scenario (the provider id for a catalog provider).
    pub name: String,
    /// Catalog provider id, when the target came from the catalog (or the mock
    /// impersonated it).
    pub provider: Option<String>,
    /// `mock` or `http`.
    pub kind: String,
    /// The URL requests went to.
    pub url: String,
    /// Model sent when a template names none.
    pub model: String,
    /// Whether HTTP/2 was forced.
    pub http2: bool,
    /// The proxy requests went through, by name (never its credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The address connected to instead of the URL's host (`connect_to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_to: Option<String>,
    /// TLS certificates were not checked (`tls.insecure`).
    #[serde(default)]
    pub tls_insecure: bool,
    /// Prices used for `cost_usd`.
    pub prices: Option<PricesInfo>,
}

/// Prices per million tokens, in `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricesInfo {
    /// Per million input tokens.
    pub input_per_mtok: f64,
    /// Per million output tokens.
    pub output_per_mtok: f64,
    /// Per million input tokens written to the cache for five minutes.
    #[serde(default)]
    pub cache_write_5m_per_mtok: f64,
    /// Per million input tokens written to the cache for an hour.
    #[serde(default)]
    pub cache_write_1h_per_mtok: f64,
    /// Per million input tokens read from the cache.
    #[serde(default)]
    pub cache_read_per_mtok: f64,
    /// ISO 4217 code.
    #[serde(default = "usd")]
    pub currency: String,
    /// Where they came from.
    #[serde(default)]
    pub source: String,
}

fn usd() -> String {
    "USD".to_owned()
}

impl PricesInfo {
    /// `p` as the report writes it, from `source`.
    pub fn new(p: &crate::provider::Prices, source: &str) -> PricesInfo {
        PricesInfo {
            input_per_mtok: p.input_per_mtok,
            output_per_mtok: p.output_per_mtok,
            cache_write_5m_per_mtok: p.cache_write_5m_per_mtok,
            cache_write_1h_per_mtok: p.cache_write_1h_per_mtok,
            cache_read_per_mtok: p.cache_read_per_mtok,
            currency: p.currency.code().to_owned(),
            source: source.to_owned(),
        }
    }

    /// The prices back, to compute with.
    pub fn prices(&self) -> crate::provider::Prices {
        crate::provider::Prices {
            input_per_mtok: self.input_per_mtok,
            output_per_mtok: self.output_per_mtok,
            cache_write_5m_per_mtok: self.cache_write_5m_per_mtok,
            cache_write_1h_per_mtok: self.cache_write_1h_per_mtok,
            cache_read_per_mtok: self.cache_read_per_mtok,
            currency: crate::provider::Currency::parse(&self.currency).unwrap_or(crate::provider::Currency::USD),
        }
    }
}

/// Load shape of a phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadInfo {
    /// Executor id.
    pub executor: String,
    /// Workers (closed loop).
    pub concurrency: Option<u32>,
    /// Requests per second (open loop).
    pub rate: Option<f64>,
    /// Stages: what ramps (`rate` or `concurrency`).
    pub ramp: Option<String>,
    /// Stages: the level at the start, then each stage's target.
    pub levels: Vec<f64>,
    /// Sweep: the rates held.
    pub rates: Vec<f64>,
    /// Cap on requests in flight (open loop).
    pub max_in_flight: Option<u32>,
    /// Planned request count.
    pub requests: Option<u64>,
    /// Planned duration in seconds.
    pub duration_s: Option<f64>,
    /// Requests sent before the load and not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<u64>,
    /// `false`: a new connection for every request (`load.keep_alive`); absent when
    /// connections were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<bool>,
}

impl LoadInfo {
    /// The load in words, e.g. `constant-rate 50 req/s (at most 1000 in flight)`, or
    /// `concurrency 8 in flight, a new connection per request`.
    pub fn describe(&self) -> String {
        let cap = self.max_in_flight.map(|m| format!(" (at most {m} in flight)")).unwrap_or_default();
        let list = |values: &[f64]| values.iter().map(|v| format!("{v}")).collect::<Vec<_>>().join("→");
        let fresh = if self.keep_alive == Some(false) { ", a new connection per request" } else { "" };
        let load = match (self.concurrency, self.rate, self.ramp.as_deref()) {
            (Some(c), _, _) => format!("{} {c} in flight", self.executor),
            (None, Some(rate), _) => format!("{} {rate} req/s{cap}", self.executor),
            (None, None, Some("concurrency")) => format!("{} {} in flight", self.executor, list(&self.levels)),
            (None, None, Some(_)) => format!("{} {} req/s{cap}", self.executor, list(&self.levels)),
            (None, None, None) if !self.rates.is_empty() => format!("{} {} req/s{cap}", self.executor, list(&self.rates)),
            (None, None, None) => self.executor.clone(),
        };
        load + fresh
    }
}

/// Counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Requests completed (any outcome).
    pub requests: u64,
    /// Of which streamed.
    pub streamed: u64,
    /// By outcome id; every id is present.
    pub by_outcome: BTreeMap<String, u64>,
    /// By HTTP status.
    pub by_status: BTreeMap<String, u64>,
    /// By `error.type`.
    pub by_error_type: BTreeMap<String, u64>,
    /// Open loop: requests due while `max_in_flight` were in flight, so not sent.
    pub dropped: u64,
    /// Fraction of requests whose outcome is not `ok`.
    pub error_rate: f64,
}

/// Run-level rates over the run's wall-clock time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Completed requests per second.
    pub requests_per_s: f64,
    /// `usage.output_tokens` summed, per second.
    pub output_tokens_per_s: f64,
    /// `usage.input_tokens` summed, per second.
    #[serde(default)]
    pub input_tokens_per_s: f64,
    /// `usage.output_tokens` summed.
    pub output_tokens: u64,
    /// `usage.input_tokens` summed.
    pub input_tokens: u64,
    /// Content deltas counted in streams.
    pub content_deltas: u64,
    /// Open loop: requests actually sent per second, from the first send to the last (the
    /// schedule's accuracy; compare with the target rate).
    pub send_rate: Option<f64>,
    /// What the run's tokens cost at the target's prices, US dollars; None without prices.
    pub cost_usd: Option<f64>,
}

/// One kind of request (streamed or not): how many, and their own metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeInfo {
    /// Requests of this kind.
    pub requests: u64,
    /// Their metrics (those they recorded), histograms included.
    pub metrics: BTreeMap<String, MetricSummary>,
}

/// One turn of the run's conversations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnInfo {
    /// The turn, 1-based.
    pub turn: u32,
    /// Requests of this turn.
    pub requests: u64,
    /// Mean input tokens by relaybench's rule, over ok responses that reported usage…
    pub input_tokens_requested: Option<f64>,
    /// …and what the provider reported for them: both grow with the history.
    pub input_tokens_reported: Option<f64>,
    /// Its metrics (those it recorded), histograms included.
    pub metrics: BTreeMap<String, MetricSummary>,
}

/// Goodput as vLLM and AIPerf define it: the requests that met every per-request bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoodputInfo {
    /// TTFT bound, ms.
    pub ttft_ms: Option<f64>,
    /// TPOT bound, ms.
    pub tpot_ms: Option<f64>,
    /// End-to-end bound, ms.
    pub e2e_ms: Option<f64>,
    /// Requests that met the SLO.
    pub requests: u64,
    /// Their share of all requests.
    pub ratio: f64,
    /// Their rate over the run's wall-clock time.
    pub per_s: f64,
}

/// One metric's distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    /// The metric's definition.
    pub definition: String,
    /// Unit of the summary values (`ms` or `tokens_per_s`).
    pub unit: String,
    /// Values recorded.
    pub count: u64,
    /// Smallest value.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
    /// Unit of the histogram's integer values.
    pub histogram_unit: String,
    /// The histogram, HdrHistogram V2 + DEFLATE, base64.
    pub histogram: String,
}

/// One template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateInfo {
    /// Name.
    pub name: String,
    /// Weight.
    pub weight: u32,
    /// Streams or not.
    pub stream: bool,
    /// Requests completed with it.
    pub requests: u64,
    /// Total input tokens (input plus cache) the provider reported for its first ok
    /// response: the same prompt's count, compared across providers.
    pub input_tokens: Option<u64>,
    /// Mean input tokens per request by relaybench's own rule (see `synth`), over the ok
    /// responses that reported usage…
    #[serde(default)]
    pub input_tokens_requested: Option<f64>,
    /// …and the mean total the provider reported for those same requests: their ratio is
    /// the provider's tokens per generated word.
    #[serde(default)]
    pub input_tokens_reported: Option<f64>,
    /// The template's own metrics (those it recorded), histograms included.
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricSummary>,
    /// What the provider's prompt cache did for it, when its usage shows cache activity.
    #[serde(default)]
    pub cache: Option<CacheInfo>,
}

/// A template's prompt-cache figures, from the usage of its ok responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheInfo {
    /// Share of input tokens read from the cache: `cache_read_input_tokens` over the
    /// total input (input plus cache creation plus cache reads).
    pub hit_ratio: f64,
    /// Input tokens read from the cache.
    pub read_tokens: u64,
    /// Input tokens written to it.
    pub written_tokens: u64,
    /// Responses that read from it.
    pub hits: u64,
    /// Responses that wrote to it without reading.
    pub writes: u64,
    /// TTFT of streams that read from it, and of those that did not.
    pub ttft_hit: Option<MetricSummary>,
    /// TTFT of streams that did not read from it.
    pub ttft_miss: Option<MetricSummary>,
}

/// One failed request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleInfo {
    /// Completion order.
    pub request: u64,
    /// Template name.
    pub template: String,
    /// Outcome id.
    pub outcome: String,
    /// HTTP status.
    pub status: Option<u16>,
    /// `error.type`.
    pub error_type: Option<String>,
    /// What happened.
    pub detail: Option<String>,
    /// The response's capture file, relative to the report folder, when it was captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// When it ended, seconds after the load began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_s: Option<f64>,
}

/// Why a histogram could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    /// Not base64.
    #[error("histogram is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// Not a V2 histogram.
    #[error("histogram does not decode: {0:?}")]
    Decode(hdrhistogram::serialization::DeserializeError),
}

/// Serializes a histogram for a report.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Writing into a Vec only fails on a histogram the serializer cannot represent,
    // which the fixed bounds of `metrics::new_histogram` rule out.
    let _ = V2DeflateSerializer::new().serialize(h, &mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Serializes a per-second histogram: plain V2, not deflated. A second holds a few values,
/// which deflate does not shrink, and inflating 3,600 of them per worker was most of the
/// time a merge took.
pub fn encode_second_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // As in `encode_histogram`: a Vec takes any histogram the serializer represents.
    let _ = V2Serializer::new().serialize(h, &mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads a histogram back from a report (either form).
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(HistogramError::Decode)
}

/// A threshold's verdict, as the report records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// The expression.
    pub expression: String,
    /// The value measured (ms for latencies, a fraction for error_rate), or null when
    /// there was nothing to measure.
    pub observed: Option<f64>,
    /// Whether it held.
    pub passed: bool,
}

/// The headline figures of a part of a run (a phase or a sweep step), from a report
/// built over that part alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// How long the part ran, seconds.
    pub duration_s: f64,
    /// Requests completed.
    pub requests: u64,
    /// Requests dropped at the in-flight cap.
    pub dropped: u64,
    /// Completed requests per second achieved.
    pub requests_per_s: f64,
    /// Output tokens per second.
    pub output_tokens_per_s: f64,
    /// Fraction of requests not ok.
    pub error_rate: f64,
    /// TTFT median, ms.
    pub ttft_p50: f64,
    /// TTFT 95th percentile, ms.
    pub ttft_p95: f64,
    /// Inter-token latency 99th percentile, ms.
    pub itl_p99: f64,
    /// End-to-end 95th percentile, ms.
    pub e2e_p95: f64,
    /// Responses with status 429.
    #[serde(default)]
    pub rate_limited: u64,
    /// The part's own sums, in a segment's report only: what lets `merge` add the
    /// workers' phases and steps exactly and judge their thresholds and SLO again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sums: Option<Box<PartSums>>,
}

/// What a report of one part of a run (a phase, a sweep step) adds up from: its counts,
/// tokens, goodput and metric histograms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartSums {
    /// Its counts.
    pub totals: Totals,
    /// Its tokens and rates.
    pub throughput: Throughput,
    /// Its goodput, when the scenario gives an SLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput: Option<GoodputInfo>,
    /// Its conformance violations and warnings, for its thresholds on them.
    pub violations: u64,
    /// See `violations`.
    pub warnings: u64,
    /// Its metrics, with their histograms.
    pub metrics: BTreeMap<String, MetricSummary>,
}

/// One phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// Name from the scenario (`load` for a scenario with one `load:`).
    pub name: String,
    /// Its load shape.
    pub load: LoadInfo,
    /// When it began, seconds after the run began (to find it in the time series).
    pub start_s: f64,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
    /// Its own thresholds, judged on this phase alone.
    pub thresholds: Vec<ThresholdResult>,
    /// Steps and the highest rate within the SLO, for the sweep executor.
    pub sweep: Option<SweepReport>,
}

/// One held rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Target rate, requests per second.
    pub rate: f64,
    /// The step's figures.
    #[serde(flatten)]
    pub figures: Figures,
    /// The SLO's thresholds on this step.
    pub slo: Vec<ThresholdResult>,
    /// Every SLO threshold held.
    pub slo_passed: bool,
    /// The run was stopped (interrupted, or its target lost) during this step: its
    /// figures are shown but not judged, so it cannot move the max rate within the SLO.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
    /// Not run, because a lower step was saturated: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// All steps and the highest rate within the SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// Steps in the order run.
    pub steps: Vec<Step>,
    /// The highest rate at which that step and every lower one met the SLO.
    #[serde(alias = "goodput_rate")]
    pub max_rate_within_slo: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::new_histogram;

    #[test]
    fn histogram_round_trips_exactly() {
        let mut h = new_histogram();
        for v in [1u64, 5, 250, 1_000, 123_456, 9_999_999] {
            h.record_n(v, v % 7 + 1).expect("in range");
        }
        let back = decode_histogram(&encode_histogram(&h)).expect("decodes");
        assert_eq!(back, h);
        assert!(decode_histogram("not base64!").is_err());
    }
}
