//! Building a report from what the collector gathered, the probes and the feature cases.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::model::*;
use crate::conformance::{Finding, Rule, Severity};
use crate::features::FeatureResult;
use crate::load::collect::{CacheStats, Collected, TemplateStats};
use crate::metrics::{Metric, Recorder};
use crate::outcome::OutcomeKind;
use crate::probes::ProbeResult;
use crate::scenario::GoodputSpec;

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

/// Adds one finding judged after the run (across targets) to a report's conformance.
pub fn add_finding(c: &mut Conformance, rule: Rule, example: FindingInfo) {
    match rule.severity() {
        Severity::Error => c.violations += 1,
        Severity::Warn => c.warnings += 1,
        Severity::Info => c.infos += 1,
    }
    if c.violations > 0 {
        c.verdict = "fail".to_owned();
    }
    let entry = c.rules.entry(rule.id().to_owned()).or_insert_with(|| RuleReport {
        severity: rule.severity().id().to_owned(),
        text: rule.info().text.to_owned(),
        count: 0,
        examples: Vec::new(),
    });
    entry.count += 1;
    if entry.examples.len() < crate::load::collect::MAX_FINDING_EXAMPLES {
        entry.examples.push(example);
    }
}

/// Mean input tokens requested and reported over the ok responses that reported usage.
fn input_means(t: &TemplateStats) -> (Option<f64>, Option<f64>) {
    let mean = |sum: u64| (t.input_pairs > 0).then(|| sum as f64 / t.input_pairs as f64);
    (mean(t.input_requested), mean(t.input_reported))
}

/// A template's cache figures, None when its usage showed no cache activity.
fn cache_info(c: &CacheStats) -> Option<CacheInfo> {
    let ttft = |h: &Histogram<u64>| (!h.is_empty()).then(|| summarize(Metric::Ttft, h));
    (c.read + c.written > 0).then(|| CacheInfo {
        hit_ratio: if c.input_total == 0 { 0.0 } else { c.read as f64 / c.input_total as f64 },
        read_tokens: c.read,
        written_tokens: c.written,
        hits: c.hits,
        writes: c.writes,
        ttft_hit: ttft(&c.ttft_hit),
        ttft_miss: ttft(&c.ttft_miss),
    })
}

/// Every metric's summary, or (`all` false) only those that recorded something.
fn summaries(r: &Recorder, all: bool) -> BTreeMap<String, MetricSummary> {
    Metric::ALL
        .iter()
        .filter(|&&m| all || !r.histogram(m).is_empty())
        .map(|&m| (m.id().to_owned(), summarize(m, r.histogram(m))))
        .collect()
}

pub(crate) fn summarize(metric: Metric, h: &Histogram<u64>) -> MetricSummary {
    let (unit, scale) = metric.unit().shown();
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

/// A per-second TTFT quantile in ms, from its µs histogram.
pub(crate) fn second_quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn time_series(collected: &Collected) -> Vec<SecondInfo> {
    let Some(&last) = collected.time_series.keys().last() else {
        return Vec::new();
    };
    let (mut started, mut finished) = (0u64, 0u64);
    (0..=last)
        .map(|second| {
            let b = collected.time_series.get(&second).cloned().unwrap_or_default();
            let ttft = b.ttft_histogram();
            let ttft = ttft.as_ref();
            started += b.started;
            finished += b.finished;
            SecondInfo {
                second,
                started: b.started,
                finished: b.finished,
                in_flight: started.saturating_sub(finished),
                errors: b.errors,
                errors_by_kind: b.errors_by_kind.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect(),
                output_tokens: b.output_tokens,
                ttft_p50_ms: ttft.map(|h| second_quantile_ms(h, 0.50)),
                ttft_p95_ms: ttft.map(|h| second_quantile_ms(h, 0.95)),
                ttft_histogram: ttft.map(encode_second_histogram),
                throttled: b.throttled,
                remaining_min: b.remaining_min.iter().map(|(d, v)| ((*d).to_owned(), *v)).collect(),
            }
        })
        .collect()
}

/// The findings of requests sent once before the load (probes, feature cases), each
/// with the label its examples carry.
fn one_off_findings<'a>(probes: &'a [ProbeResult], features: &'a [FeatureResult]) -> Vec<(String, &'a [Finding])> {
    let probes = probes.iter().map(|p| (format!("probe:{}", p.probe.name), p.findings.as_slice()));
    probes.chain(features.iter().map(|f| (format!("feature:{}", f.name), f.findings.as_slice()))).collect()
}

/// Findings per rule id over the load, the probes and the feature cases.
fn finding_counts(r: &Recorder, one_off: &[(String, &[Finding])]) -> BTreeMap<String, u64> {
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
    one_off: &[(String, &[Finding])],
    template_name: &dyn Fn(usize) -> String,
) -> Vec<(Rule, Vec<FindingInfo>)> {
    let info = |request: u64, template: String, f: &Finding, capture: Option<&String>, at_s: Option<f64>| FindingInfo {
        request,
        template,
        event_index: f.event_index,
        message: f.message.clone(),
        excerpt: f.excerpt.clone(),
        capture: capture.map(|name| crate::load::capture::cited(name)),
        at_s,
    };
    let mut by_rule: BTreeMap<Rule, Vec<FindingInfo>> = BTreeMap::new();
    for (label, findings) in one_off {
        for f in *findings {
            by_rule.entry(f.rule).or_default().push(info(0, label.clone(), f, None, None));
        }
    }
    for (rule, kept) in &collected.finding_examples {
        let list = by_rule.entry(*rule).or_default();
        list.extend(kept.iter().map(|e| info(e.request, template_name(e.template), &e.finding, e.capture.as_ref(), e.at_s)));
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
    /// The per-request SLO of goodput, when the scenario gives one.
    pub goodput: Option<GoodputSpec>,
    /// US dollars per unit of the target's price currency (the scenario's `fx:`).
    pub usd_rate: Option<f64>,
}

#[cfg(test)]
impl RunInfo {
    /// A run of one mock target with nothing special, for tests of what is built on it.
    pub(crate) fn example() -> RunInfo {
        RunInfo {
            scenario: ScenarioInfo { name: "s".into(), file: "s.yaml".into(), description: None, seed: 1 },
            target: TargetInfo { name: "t".into(), provider: None, kind: "mock".into(), url: "http://127.0.0.1:1".into(), model: "m".into(), http2: false, proxy: None, connect_to: None, tls_insecure: false, prices: None },
            templates: Vec::new(),
            started_at: String::new(),
            duration_s: 1.0,
            partial: false,
            stopped_early: None,
            dropped: 0,
            goodput: None,
            usd_rate: None,
        }
    }
}

/// The fraction of requests that failed; requests the run itself cut are neither
/// failures nor successes.
pub(crate) fn error_rate(requests: u64, ok: u64, cancelled: u64) -> f64 {
    let judged = requests.saturating_sub(cancelled);
    if judged == 0 {
        0.0
    } else {
        judged.saturating_sub(ok) as f64 / judged as f64
    }
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
    let names: Vec<String> = info.templates.iter().map(|t| t.0.clone()).collect();
    let cost = super::cost::build(info.target.prices.as_ref().map(|p| (p.prices(), p.source.as_str())), collected, &names, info.usd_rate);
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
            error_rate: error_rate(r.requests, ok, r.count(OutcomeKind::Cancelled)),
        },
        throughput: Throughput {
            requests_per_s: per_s(r.requests),
            output_tokens_per_s: per_s(r.output_tokens),
            input_tokens_per_s: per_s(r.input_tokens),
            output_tokens: r.output_tokens,
            input_tokens: r.input_tokens,
            content_deltas: r.content_deltas,
            send_rate: collected.send_rate(),
            // The cost section's total, when it is in US dollars.
            cost_usd: cost.as_ref().filter(|c| c.currency == crate::provider::Currency::USD.code()).map(|c| c.total),
        },
        metrics: summaries(r, true),
        calibration: None,
        segment: None,
        merge: None,
        client: None,
        clock: collected.clock.info(),
        limits: super::limits::build(collected),
        retries: super::retries::build(&r.retries),
        connections: super::network::build(r),
        authenticity: super::authenticity::build(
            &collected.channels,
            super::authenticity::motion(&collected.limits, r.findings.get(Rule::LimitsStaticHeaders.id()).copied().unwrap_or(0)),
        ),
        cost,
        turns: collected
            .turns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.recorder.requests > 0)
            .map(|(i, t)| {
                let (requested, reported) = input_means(t);
                TurnInfo { turn: i as u32 + 1, requests: t.recorder.requests, input_tokens_requested: requested, input_tokens_reported: reported, metrics: summaries(&t.recorder, false) }
            })
            .collect(),
        by_stream: ["not_streamed", "streamed"]
            .iter()
            .zip(&collected.by_stream)
            .filter(|(_, s)| s.recorder.requests > 0)
            .map(|(name, s)| ((*name).to_owned(), ModeInfo { requests: s.recorder.requests, metrics: summaries(&s.recorder, false) }))
            .collect(),
        goodput: info.goodput.zip(collected.goodput_met).map(|(slo, met)| {
            let ms = |d: Option<crate::scenario::HumanDuration>| d.map(|d| d.0.as_secs_f64() * 1e3);
            GoodputInfo {
                ttft_ms: ms(slo.ttft),
                tpot_ms: ms(slo.tpot),
                e2e_ms: ms(slo.e2e),
                requests: met,
                ratio: if r.requests == 0 { 0.0 } else { met as f64 / r.requests as f64 },
                per_s: per_s(met),
            }
        }),
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
                input_tokens_requested: collected.templates.get(i).and_then(|t| input_means(t).0),
                input_tokens_reported: collected.templates.get(i).and_then(|t| input_means(t).1),
                metrics: collected.templates.get(i).map_or_else(BTreeMap::new, |t| summaries(&t.recorder, false)),
                cache: collected.templates.get(i).and_then(|t| cache_info(&t.cache)),
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
                capture: e.capture.as_deref().map(crate::load::capture::cited),
                at_s: Some(e.at_s),
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
        aborted: None,
    }
}
