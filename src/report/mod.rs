//! The report: the canonical JSON record of a run, and the files it is written to.
//!
//! Histograms are stored whole (HdrHistogram V2 + DEFLATE, base64), so reports from
//! several runs or machines merge exactly; the percentiles beside them are for reading.

pub mod comparison;
pub mod junit;
pub mod markdown;
pub mod phase;
pub mod regression;
pub mod sweep;
pub mod terminal;
pub mod timefmt;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::conformance::{Rule, Severity};
use crate::load::collect::Collected;
use crate::metrics::{Metric, Recorder, Unit};
use crate::outcome::OutcomeKind;
use crate::features::{FeatureResult, Status};
use crate::probes::ProbeResult;

/// Identifies the report format; bumped on incompatible changes.
pub const REPORT_FORMAT: &str = "relaybench.report/1";
/// File name of the canonical report inside a report folder.
pub const REPORT_JSON: &str = "report.json";
/// File name of the Markdown summary.
pub const SUMMARY_MD: &str = "summary.md";
/// File name of the JUnit XML for CI systems.
pub const JUNIT_XML: &str = "junit.xml";

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
    /// Counts.
    pub totals: Totals,
    /// Run-level rates.
    pub throughput: Throughput,
    /// Distributions by metric id.
    pub metrics: BTreeMap<String, MetricSummary>,
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
    pub thresholds: Vec<crate::thresholds::ThresholdResult>,
    /// Each load of the scenario in run order, with its own figures and thresholds.
    pub phases: Vec<phase::PhaseReport>,
    /// One entry per second of the run, so a ramp or a stall can be seen over time.
    pub time_series: Vec<SecondInfo>,
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
    /// Of those, not ok.
    pub errors: u64,
    /// Output tokens of the requests that ended.
    pub output_tokens: u64,
    /// Median TTFT of the streams that ended, ms.
    pub ttft_p50_ms: Option<f64>,
    /// True when the median came from the first samples only (a busy second).
    pub ttft_sampled: bool,
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

/// The features line, or None when no case ran: counts, and the names that did not pass.
pub fn features_summary(report: &Report) -> Option<String> {
    if report.features.is_empty() {
        return None;
    }
    let named = |status: Status| report.features.iter().filter(|f| f.status == status).map(|f| f.name.as_str()).collect::<Vec<_>>();
    let (failed, unsupported) = (named(Status::Fail), named(Status::Unsupported));
    let list = |names: &[&str]| if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) };
    Some(format!(
        "features {} pass, {} fail{}, {} unsupported{}",
        named(Status::Pass).len(),
        failed.len(),
        list(&failed),
        unsupported.len(),
        list(&unsupported)
    ))
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
}

/// The conformance section for findings counted by rule id, with examples.
pub fn conformance(counts: &BTreeMap<String, u64>, examples: &[(Rule, Vec<FindingInfo>)]) -> Conformance {
    let mut rules = BTreeMap::new();
    let (mut violations, mut warnings, mut infos) = (0, 0, 0);
    for (id, &count) in counts {
        let Some(rule) = Rule::from_id(id) else { continue };
        match rule.severity() {
            Severity::Error => violations += count,
            Severity::Warn => warnings += count,
            Severity::Info => infos += count,
        }
        let kept = examples.iter().find(|(r, _)| *r == rule).map(|(_, e)| e.clone()).unwrap_or_default();
        rules.insert(
            id.clone(),
            RuleReport {
                severity: rule.severity().id().to_owned(),
                text: rule.info().text.to_owned(),
                count,
                examples: kept,
            },
        );
    }
    Conformance {
        verdict: if violations == 0 { "pass" } else { "fail" }.to_owned(),
        violations,
        warnings,
        infos,
        rules,
    }
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
    /// Prices used for `cost_usd`.
    pub prices: Option<PricesInfo>,
}

/// Prices, US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PricesInfo {
    /// Per million input tokens.
    pub input_per_mtok: f64,
    /// Per million output tokens.
    pub output_per_mtok: f64,
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
}

impl LoadInfo {
    /// The load in words, e.g. `constant-rate 50 req/s (at most 1000 in flight)`.
    pub fn describe(&self) -> String {
        let cap = self.max_in_flight.map(|m| format!(" (at most {m} in flight)")).unwrap_or_default();
        let list = |values: &[f64]| values.iter().map(|v| format!("{v}")).collect::<Vec<_>>().join("→");
        match (self.concurrency, self.rate, self.ramp.as_deref()) {
            (Some(c), _, _) => format!("{} {c} in flight", self.executor),
            (None, Some(rate), _) => format!("{} {rate} req/s{cap}", self.executor),
            (None, None, Some("concurrency")) => format!("{} {} in flight", self.executor, list(&self.levels)),
            (None, None, Some(_)) => format!("{} {} req/s{cap}", self.executor, list(&self.levels)),
            (None, None, None) if !self.rates.is_empty() => format!("{} {} req/s{cap}", self.executor, list(&self.rates)),
            (None, None, None) => self.executor.clone(),
        }
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

/// Reads a histogram back from a report.
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(HistogramError::Decode)
}

fn summarize(metric: Metric, h: &Histogram<u64>) -> MetricSummary {
    let (unit, scale) = match metric.unit() {
        Unit::Micros => ("ms", 1e-3),
        Unit::MilliTokensPerS => ("tokens_per_s", 1e-3),
    };
    let q = |q: f64| if h.is_empty() { 0.0 } else { h.value_at_quantile(q) as f64 * scale };
    MetricSummary {
        definition: metric.definition().to_owned(),
        unit: unit.to_owned(),
        count: h.len(),
        min: if h.is_empty() { 0.0 } else { h.min() as f64 * scale },
        mean: if h.is_empty() { 0.0 } else { h.mean() * scale },
        p50: q(0.50),
        p90: q(0.90),
        p95: q(0.95),
        p99: q(0.99),
        max: if h.is_empty() { 0.0 } else { h.max() as f64 * scale },
        histogram_unit: metric.unit().id().to_owned(),
        histogram: encode_histogram(h),
    }
}

fn time_series(collected: &Collected) -> Vec<SecondInfo> {
    let Some(&last) = collected.time_series.keys().last() else {
        return Vec::new();
    };
    (0..=last)
        .map(|second| {
            let b = collected.time_series.get(&second).cloned().unwrap_or_default();
            let mut ttft = b.ttft_us.clone();
            ttft.sort_unstable();
            SecondInfo {
                second,
                started: b.started,
                finished: b.finished,
                errors: b.errors,
                output_tokens: b.output_tokens,
                ttft_p50_ms: (!ttft.is_empty()).then(|| ttft[ttft.len() / 2] as f64 / 1000.0),
                ttft_sampled: b.ttft_unsampled > 0,
            }
        })
        .collect()
}

/// The findings of requests sent once before the load (probes, feature cases), each
/// with the label its examples carry.
fn one_off_findings<'a>(probes: &'a [ProbeResult], features: &'a [FeatureResult]) -> Vec<(String, &'a [crate::conformance::Finding])> {
    let probes = probes.iter().map(|p| (format!("probe:{}", p.probe.name), p.findings.as_slice()));
    probes.chain(features.iter().map(|f| (format!("feature:{}", f.name), f.findings.as_slice()))).collect()
}

/// Findings per rule id over the load, the probes and the feature cases.
fn finding_counts(r: &Recorder, one_off: &[(String, &[crate::conformance::Finding])]) -> BTreeMap<String, u64> {
    let mut counts = r.findings.clone();
    for f in one_off.iter().flat_map(|(_, findings)| findings.iter()) {
        *counts.entry(f.rule.id().to_owned()).or_default() += 1;
    }
    counts
}

/// The first findings of each rule: the one-off requests' first (they ran first), then
/// the load's.
fn finding_examples(
    collected: &Collected,
    one_off: &[(String, &[crate::conformance::Finding])],
    template_name: &dyn Fn(usize) -> String,
) -> Vec<(Rule, Vec<FindingInfo>)> {
    let info = |request: u64, template: String, f: &crate::conformance::Finding| FindingInfo {
        request,
        template,
        event_index: f.event_index,
        message: f.message.clone(),
        excerpt: f.excerpt.clone(),
    };
    let mut by_rule: BTreeMap<Rule, Vec<FindingInfo>> = BTreeMap::new();
    for (label, findings) in one_off {
        for f in *findings {
            by_rule.entry(f.rule).or_default().push(info(0, label.clone(), f));
        }
    }
    for (rule, kept) in &collected.finding_examples {
        let list = by_rule.entry(*rule).or_default();
        list.extend(kept.iter().map(|(request, template, f)| info(*request, template_name(*template), f)));
    }
    by_rule
        .into_iter()
        .map(|(rule, mut list)| {
            list.truncate(crate::load::collect::MAX_FINDING_EXAMPLES);
            (rule, list)
        })
        .collect()
}

/// Everything about a run the report needs besides the collected data.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Scenario identity.
    pub scenario: ScenarioInfo,
    /// Target identity.
    pub target: TargetInfo,
    /// Template names, weights, stream flags.
    pub templates: Vec<(String, u32, bool)>,
    /// Start, RFC 3339.
    pub started_at: String,
    /// Wall-clock seconds.
    pub duration_s: f64,
    /// Interrupted.
    pub partial: bool,
    /// Why it stopped early.
    pub stopped_early: Option<String>,
    /// Requests dropped by the open loop's cap.
    pub dropped: u64,
}

/// Builds the report of a run.
pub fn build(info: RunInfo, collected: &Collected, probes: &[ProbeResult], features: &[FeatureResult]) -> Report {
    let one_off = one_off_findings(probes, features);
    let r: &Recorder = &collected.recorder;
    let mut by_outcome: BTreeMap<String, u64> = OutcomeKind::ALL.iter().map(|k| (k.id().to_owned(), 0)).collect();
    for (k, v) in &r.outcomes {
        *by_outcome.entry(k.clone()).or_default() += v;
    }
    let ok = r.count(OutcomeKind::Ok);
    let per_s = |n: u64| if info.duration_s > 0.0 { n as f64 / info.duration_s } else { 0.0 };
    let template_name = |i: usize| info.templates.get(i).map(|t| t.0.clone()).unwrap_or_default();
    Report {
        format: REPORT_FORMAT.to_owned(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        totals: Totals {
            requests: r.requests,
            streamed: r.streamed,
            by_outcome,
            by_status: r.statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            by_error_type: r.error_types.clone(),
            dropped: info.dropped,
            error_rate: if r.requests == 0 { 0.0 } else { (r.requests - ok) as f64 / r.requests as f64 },
        },
        throughput: Throughput {
            requests_per_s: per_s(r.requests),
            output_tokens_per_s: per_s(r.output_tokens),
            output_tokens: r.output_tokens,
            input_tokens: r.input_tokens,
            content_deltas: r.content_deltas,
            send_rate: collected.send_rate(),
            cost_usd: info.target.prices.map(|p| {
                (r.input_tokens as f64 * p.input_per_mtok + r.output_tokens as f64 * p.output_per_mtok) / 1e6
            }),
        },
        metrics: Metric::ALL
            .iter()
            .map(|&m| (m.id().to_owned(), summarize(m, r.histogram(m))))
            .collect(),
        templates: info
            .templates
            .iter()
            .enumerate()
            .map(|(i, (name, weight, stream))| TemplateInfo {
                name: name.clone(),
                weight: *weight,
                stream: *stream,
                requests: collected.per_template.get(i).copied().unwrap_or(0),
                input_tokens: collected.input_tokens.get(i).copied().flatten(),
            })
            .collect(),
        examples: collected
            .examples
            .iter()
            .map(|e| ExampleInfo {
                request: e.request,
                template: template_name(e.outcome.template),
                outcome: e.outcome.kind.id().to_owned(),
                status: e.outcome.status,
                error_type: e.outcome.error_type.clone(),
                detail: e.outcome.detail.clone(),
            })
            .collect(),
        conformance: conformance(&finding_counts(r, &one_off), &finding_examples(collected, &one_off, &template_name)),
        features: features
            .iter()
            .map(|f| FeatureInfo {
                name: f.name.clone(),
                text: f.text.to_owned(),
                status: f.status,
                detail: f.detail.clone(),
                rules: f.findings.iter().map(|x| x.rule.id().to_owned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect(),
            })
            .collect(),
        thresholds: Vec::new(),
        phases: Vec::new(),
        time_series: time_series(collected),
        probes: probes
            .iter()
            .map(|p| ProbeInfo {
                name: p.probe.name.clone(),
                expected_status: p.probe.expect_status,
                expected_error_type: p.probe.expect_error_type.clone(),
                status: p.status,
                error_type: p.error_type.clone(),
                passed: p.passed,
            })
            .collect(),
        scenario: info.scenario,
        target: info.target,
        started_at: info.started_at,
        duration_s: info.duration_s,
        partial: info.partial,
        stopped_early: info.stopped_early,
    }
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a
/// part: write a temporary file beside it, flush it to disk, then rename over.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("report");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates a new folder `<out>/<name>-<stamp>`, adding `-2`, `-3`… if it exists.
pub fn create_report_dir(out: &Path, name: &str, stamp: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    for n in 1u32.. {
        let dir = if n == 1 { out.join(format!("{name}-{stamp}")) } else { out.join(format!("{name}-{stamp}-{n}")) };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("u32 range exhausted creating report folders")
}

/// Writes `report.json` and `summary.md` into `dir`, each atomically.
pub fn write(report: &Report, dir: &Path) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    write_atomic(&dir.join(REPORT_JSON), &json)?;
    write_atomic(&dir.join(SUMMARY_MD), markdown::render(report).as_bytes())?;
    write_atomic(&dir.join(JUNIT_XML), junit::render(report).as_bytes())
}

/// Reads a report file.
pub fn read(path: &Path) -> Result<Report, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: not a relaybench report: {e}", path.display()))
}


/// Column headers of the metric table both renderers print.
pub const METRIC_COLUMNS: [&str; 8] = ["metric", "unit", "count", "p50", "p90", "p95", "p99", "max"];

/// The metric table's rows, in [`Metric::ALL`] order, values formatted for reading.
pub fn metric_rows(report: &Report) -> Vec<[String; 8]> {
    Metric::ALL
        .iter()
        .filter_map(|m| report.metrics.get(m.id()).map(|s| (m.id(), s)))
        .map(|(id, s)| {
            let f = |v: f64| if s.count == 0 { "-".to_owned() } else { format!("{v:.1}") };
            [id.to_owned(), s.unit.clone(), s.count.to_string(), f(s.p50), f(s.p90), f(s.p95), f(s.p99), f(s.max)]
        })
        .collect()
}

/// Outcome counts that are not zero, in report order, `ok` always first, then the open
/// loop's dropped requests when there were any.
pub fn outcome_counts(report: &Report) -> Vec<(&'static str, u64)> {
    let mut counts: Vec<(&'static str, u64)> = OutcomeKind::ALL
        .iter()
        .map(|k| (k.id(), report.totals.by_outcome.get(k.id()).copied().unwrap_or(0)))
        .filter(|(id, n)| *n > 0 || *id == OutcomeKind::Ok.id())
        .collect();
    if report.totals.dropped > 0 {
        counts.push(("dropped", report.totals.dropped));
    }
    counts
}

/// One line per rule that fired: `severity id count`, errors first.
pub fn conformance_lines(report: &Report) -> Vec<String> {
    let mut rules: Vec<(&String, &RuleReport)> = report.conformance.rules.iter().collect();
    rules.sort_by_key(|(id, r)| (Rule::from_id(id).map(Rule::severity), std::cmp::Reverse(r.count)));
    rules
        .into_iter()
        .map(|(id, r)| {
            let example = r.examples.first().map(|e| format!(" — e.g. {}", e.message)).unwrap_or_default();
            format!("{} {} ×{}{example}", r.severity, id, r.count)
        })
        .collect()
}

/// The run's load in words: its one phase, or each phase by name.
pub fn load_line(r: &Report) -> String {
    match r.phases.as_slice() {
        [only] => only.load.describe(),
        phases => phases.iter().map(|p| format!("{}: {}", p.name, p.load.describe())).collect::<Vec<_>>().join("; "),
    }
}

/// Every threshold of the run: the scenario's (no phase name), then each phase's.
pub fn all_thresholds(r: &Report) -> impl Iterator<Item = (Option<&str>, &crate::thresholds::ThresholdResult)> {
    let run = r.thresholds.iter().map(|t| (None, t));
    run.chain(r.phases.iter().flat_map(|p| p.thresholds.iter().map(move |t| (Some(p.name.as_str()), t))))
}

/// The probes line, or None when no probe ran.
pub fn probes_summary(report: &Report) -> Option<String> {
    if report.probes.is_empty() {
        return None;
    }
    let passed = report.probes.iter().filter(|p| p.passed).count();
    let failed: Vec<String> = report
        .probes
        .iter()
        .filter(|p| !p.passed)
        .map(|p| {
            let got = match (p.status, &p.error_type) {
                (Some(s), Some(t)) => format!("{s} {t}"),
                (Some(s), None) => s.to_string(),
                (None, _) => "no response".into(),
            };
            format!("{} (expected {} {}, got {got})", p.name, p.expected_status, p.expected_error_type)
        })
        .collect();
    let tail = if failed.is_empty() { String::new() } else { format!("; failed: {}", failed.join(", ")) };
    Some(format!("probes {passed}/{} passed{tail}", report.probes.len()))
}

/// The thresholds line (the scenario's and every phase's), or None when there are none.
pub fn thresholds_summary(report: &Report) -> Option<String> {
    let all: Vec<_> = all_thresholds(report).collect();
    if all.is_empty() {
        return None;
    }
    let passed = all.iter().filter(|(_, t)| t.passed).count();
    let failed: Vec<String> = all
        .iter()
        .filter(|(_, t)| !t.passed)
        .map(|(phase, t)| {
            let phase = phase.map(|p| format!("{p}: ")).unwrap_or_default();
            match t.observed {
                Some(v) => format!("{phase}{} (observed {v:.3})", t.expression),
                None => format!("{phase}{} (no data)", t.expression),
            }
        })
        .collect();
    let tail = if failed.is_empty() { String::new() } else { format!("; failed: {}", failed.join(", ")) };
    Some(format!("thresholds {passed}/{} passed{tail}", all.len()))
}

/// The probes, features and thresholds lines, those that apply, in that order.
pub fn gate_lines(report: &Report) -> Vec<String> {
    [probes_summary(report), features_summary(report), thresholds_summary(report)].into_iter().flatten().collect()
}

/// The verdict line.
pub fn conformance_summary(report: &Report) -> String {
    let c = &report.conformance;
    format!("conformance {}: {} violations, {} warnings, {} info", c.verdict.to_uppercase(), c.violations, c.warnings, c.infos)
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

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = std::env::temp_dir().join(format!("relaybench-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("r.json");
        write_atomic(&path, b"first").expect("write");
        write_atomic(&path, b"second").expect("rewrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        let leftovers = std::fs::read_dir(&dir).expect("list").count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
