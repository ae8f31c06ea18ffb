//! The lines and tables the terminal and Markdown renderers share, so both say the same.

use super::model::{MetricSummary, Report, RuleReport, ThresholdResult};
use crate::conformance::Rule;
use crate::features::Status;
use crate::metrics::Metric;
use crate::outcome::OutcomeKind;

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

/// Column headers of the metric table both renderers print.
pub const METRIC_COLUMNS: [&str; 8] = ["metric", "unit", "count", "p50", "p90", "p95", "p99", "max"];

/// The metric table's rows, in [`Metric::ALL`] order, values formatted for reading.
pub fn metric_rows(report: &Report) -> Vec<[String; 8]> {
    // A metric with no sample (send lag in a closed loop, TTFT without streams) is left
    // out rather than printed as a row of dashes; report.json keeps every metric.
    Metric::ALL
        .iter()
        .filter_map(|m| report.metrics.get(m.id()).map(|s| (m.id(), s)))
        .filter(|(_, s)| s.count > 0)
        .map(|(id, s)| {
            let f = |v: f64| if s.count == 0 { "-".to_owned() } else { format!("{v:.1}") };
            [id.to_owned(), s.unit.clone(), s.count.to_string(), f(s.p50), f(s.p90), f(s.p95), f(s.p99), f(s.max)]
        })
        .collect()
}

/// The per-template table as text rows (header first): requests, the latencies that
/// differ most between kinds of request, and input tokens requested against reported.
pub fn template_rows(report: &Report) -> Vec<Vec<String>> {
    let header = ["template", "stream", "requests", "ttft p50", "ttft p95", "tpot p50", "e2e p50", "e2e p95", "input req", "input rep"];
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    for t in &report.templates {
        rows.push(breakdown_row(&t.name, if t.stream { "yes" } else { "no" }, t.requests, &t.metrics, [t.input_tokens_requested, t.input_tokens_reported]));
    }
    // With both kinds in the run, each kind's figures apart: the whole run's mix them.
    if report.by_stream.len() > 1 {
        for (name, stream) in [("(all streamed)", "streamed"), ("(all not streamed)", "not_streamed")] {
            let m = &report.by_stream[stream];
            rows.push(breakdown_row(name, if stream == "streamed" { "yes" } else { "no" }, m.requests, &m.metrics, [None, None]));
        }
    }
    rows
}

/// The per-turn table of conversations as text rows (header first): the figures that grow
/// with the history.
pub fn turn_rows(report: &Report) -> Vec<Vec<String>> {
    let header = ["turn", "", "requests", "ttft p50", "ttft p95", "tpot p50", "e2e p50", "e2e p95", "input req", "input rep"];
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    for t in &report.turns {
        rows.push(breakdown_row(&t.turn.to_string(), "", t.requests, &t.metrics, [t.input_tokens_requested, t.input_tokens_reported]));
    }
    rows
}

/// One row of a breakdown table: its name and kind, requests, latencies, input tokens.
fn breakdown_row(name: &str, kind: &str, requests: u64, metrics: &std::collections::BTreeMap<String, MetricSummary>, input: [Option<f64>; 2]) -> Vec<String> {
    let stat = |id: &str, pick: fn(&MetricSummary) -> f64| metrics.get(id).filter(|s| s.count > 0).map_or("-".to_owned(), |s| format!("{:.1}", pick(s)));
    let tokens = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
    vec![
        name.to_owned(),
        kind.to_owned(),
        requests.to_string(),
        stat("ttft", |s| s.p50),
        stat("ttft", |s| s.p95),
        stat("tpot", |s| s.p50),
        stat("e2e", |s| s.p50),
        stat("e2e", |s| s.p95),
        tokens(input[0]),
        tokens(input[1]),
    ]
}

/// One line per template whose usage shows prompt-cache activity.
pub fn cache_lines(report: &Report) -> Vec<String> {
    report
        .templates
        .iter()
        .filter_map(|t| {
            let c = t.cache.as_ref()?;
            let ttft = |s: &Option<MetricSummary>| s.as_ref().map_or("-".to_owned(), |s| format!("{:.1} ms", s.p50));
            Some(format!(
                "prompt cache {}: {:.1}% of input read ({} hits, {} writes), ttft p50 {} on a hit, {} on a miss",
                t.name,
                c.hit_ratio * 100.0,
                c.hits,
                c.writes,
                ttft(&c.ttft_hit),
                ttft(&c.ttft_miss)
            ))
        })
        .collect()
}

/// The goodput line, or None when the scenario gives no goodput SLO.
pub fn goodput_line(report: &Report) -> Option<String> {
    let g = report.goodput.as_ref()?;
    let bounds: Vec<String> = [("ttft", g.ttft_ms), ("tpot", g.tpot_ms), ("e2e", g.e2e_ms)]
        .iter()
        .filter_map(|(name, ms)| ms.map(|ms| format!("{name} ≤ {ms} ms")))
        .collect();
    Some(format!(
        "goodput {:.2}% ({} of {} requests met {}), {:.1} req/s",
        g.ratio * 100.0,
        g.requests,
        report.totals.requests,
        bounds.join(", "),
        g.per_s
    ))
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
pub fn all_thresholds(r: &Report) -> impl Iterator<Item = (Option<&str>, &ThresholdResult)> {
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
