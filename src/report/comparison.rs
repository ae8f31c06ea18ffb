//! The comparison: several targets that ran the same workload at the same time, side by
//! side — latency, throughput, errors, conformance findings per rule, feature results,
//! input-token accounting and cost — and a ranking.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::model::{Report, ScenarioInfo};
use crate::conformance::rules::{Class, Rule, Severity};
use crate::outcome::OutcomeKind;

/// Identifies the comparison format; bumped on incompatible changes.
pub const COMPARISON_FORMAT: &str = "relaybench.comparison/1";
pub use super::names::COMPARISON_JSON;
/// The latency metrics a regression is judged on, in display order.
pub const JUDGED_LATENCIES: [&str; 3] = ["ttft", "itl", "e2e"];
/// The latency metrics shown side by side: the judged ones, with the head and
/// `message_start` before them, where a relay holding the head back shows. Those two are
/// shown, not judged: on a fast target they are fractions of a millisecond, all noise.
pub const COMPARED_LATENCIES: [&str; 5] = ["ttfb", "message_start", JUDGED_LATENCIES[0], JUDGED_LATENCIES[1], JUDGED_LATENCIES[2]];

/// Several targets' results on one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// [`COMPARISON_FORMAT`].
    pub format: String,
    /// The scenario run.
    pub scenario: ScenarioInfo,
    /// Start of the run, RFC 3339 UTC.
    pub started_at: String,
    /// True when the run was interrupted.
    pub partial: bool,
    /// The target usage is compared against: the official API's, when one ran.
    pub reference: Option<String>,
    /// Target names: those that served before those that served nothing, conformant
    /// before not, each group by TTFT p95 (fastest first).
    pub ranking: Vec<String>,
    /// One column per target, in scenario order.
    pub targets: Vec<Column>,
}

/// Median, 95th and 99th percentile, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// One target's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Target name.
    pub name: String,
    /// Catalog provider id.
    pub provider: Option<String>,
    /// URL requests went to.
    pub url: String,
    /// Model sent.
    pub model: String,
    /// Its report, relative to the comparison.
    pub report: String,
    /// Requests completed.
    pub requests: u64,
    /// Fraction not ok.
    pub error_rate: f64,
    /// Requests by outcome, ok excluded, and by `error.type`, where any.
    pub errors: BTreeMap<String, u64>,
    /// Latency percentiles by metric id, for metrics with samples.
    pub latency: BTreeMap<String, Percentiles>,
    /// Median per-request output tokens per second (0 without samples).
    pub output_tokens_per_s_p50: f64,
    /// Completed requests per second.
    pub requests_per_s: f64,
    /// `pass` or `fail`.
    pub conformance: String,
    /// Error-severity findings.
    pub violations: u64,
    /// Warn-severity findings.
    pub warnings: u64,
    /// Findings per rule id.
    pub findings: BTreeMap<String, u64>,
    /// Probes passed, of those run.
    pub probes_passed: usize,
    /// Probes run.
    pub probes: usize,
    /// Thresholds failed (the scenario's and every phase's).
    pub thresholds_failed: usize,
    /// Input tokens reported per template (first ok response).
    pub input_tokens: BTreeMap<String, u64>,
    /// Mean relative deviation of those counts from the reference's, over the templates
    /// both report (0.05 = 5% more).
    pub input_tokens_vs_reference: Option<f64>,
    /// The same against the median of all targets.
    pub input_tokens_vs_median: Option<f64>,
    /// Cost of the run at the target's prices.
    pub cost_usd: Option<f64>,
    /// Billing honesty: what this target's reported usage per request costs at the
    /// reference's prices, against what the reference's own usage costs (0.12 = it bills
    /// 12% more for the same work).
    #[serde(default)]
    pub billed_vs_reference: Option<f64>,
    /// The channel verdict per model requested: `bedrock (proof)`.
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
    /// Feature case results by name.
    pub features: BTreeMap<String, crate::features::Status>,
}

impl Comparison {
    /// The comparison of `reports`, each with its folder name relative to the comparison.
    pub fn new(reports: &[(&Report, &str)]) -> Comparison {
        let first = reports[0].0;
        let reference = reports
            .iter()
            .find(|(r, _)| r.target.provider.as_deref() == Some(crate::provider::REFERENCE))
            .map(|(r, _)| r.target.name.clone());
        let mut targets: Vec<Column> = reports.iter().map(|(r, dir)| column(r, dir)).collect();
        let templates: BTreeSet<String> = targets.iter().flat_map(|c| c.input_tokens.keys().cloned()).collect();
        let medians: BTreeMap<String, f64> = templates
            .iter()
            .filter_map(|t| median(targets.iter().filter_map(|c| c.input_tokens.get(t).copied()).collect()).map(|m| (t.clone(), m)))
            .collect();
        let reference_counts: Option<BTreeMap<String, f64>> = reference.as_ref().and_then(|name| {
            targets.iter().find(|c| &c.name == name).map(|c| c.input_tokens.iter().map(|(k, v)| (k.clone(), *v as f64)).collect())
        });
        for c in &mut targets {
            c.input_tokens_vs_median = deviation(&c.input_tokens, &medians);
            c.input_tokens_vs_reference = reference_counts.as_ref().and_then(|r| deviation(&c.input_tokens, r));
        }
        // The same work billed at one price list: only the usage each target reported
        // differs.
        let per_request = |r: &Report, prices: &crate::provider::Prices| {
            let used = &r.cost.as_ref()?.tokens;
            (r.totals.requests > 0).then(|| prices.cost(used) / r.totals.requests as f64)
        };
        let reference_report = reference.as_ref().and_then(|name| reports.iter().find(|(r, _)| &r.target.name == name)).map(|(r, _)| *r);
        if let Some((rr, prices)) = reference_report.and_then(|r| Some((r, r.target.prices.as_ref()?.prices()))) {
            if let Some(base) = per_request(rr, &prices).filter(|b| *b > 0.0) {
                for (c, (r, _)) in targets.iter_mut().zip(reports) {
                    c.billed_vs_reference = per_request(r, &prices).map(|v| v / base - 1.0);
                }
            }
        }
        let mut ranking: Vec<&Column> = targets.iter().collect();
        // A target that served nothing has no TTFT and ranks last, whatever its findings.
        let key = |c: &Column| (c.error_rate >= 1.0 || c.requests == 0, c.violations > 0);
        let p95 = |c: &Column| c.latency.get("ttft").map_or(f64::INFINITY, |p| p.p95);
        ranking.sort_by(|a, b| key(a).cmp(&key(b)).then(p95(a).total_cmp(&p95(b))));
        Comparison {
            format: COMPARISON_FORMAT.to_owned(),
            scenario: first.scenario.clone(),
            started_at: first.started_at.clone(),
            partial: reports.iter().any(|(r, _)| r.partial),
            reference,
            ranking: ranking.into_iter().map(|c| c.name.clone()).collect(),
            targets,
        }
    }
}

/// The median of `values`; the mean of the middle two when their number is even.
fn median(mut values: Vec<u64>) -> Option<f64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2] as f64),
        _ => Some((values[n / 2 - 1] + values[n / 2]) as f64 / 2.0),
    }
}

/// Mean relative deviation of `counts` from `against` over the templates both have.
fn deviation(counts: &BTreeMap<String, u64>, against: &BTreeMap<String, f64>) -> Option<f64> {
    let ratios: Vec<f64> = counts
        .iter()
        .filter_map(|(t, &n)| against.get(t).filter(|&&r| r > 0.0).map(|r| (n as f64 - r) / r))
        .collect();
    (!ratios.is_empty()).then(|| ratios.iter().sum::<f64>() / ratios.len() as f64)
}

fn column(r: &Report, dir: &str) -> Column {
    let mut errors: BTreeMap<String, u64> = r
        .totals
        .by_outcome
        .iter()
        .filter(|(k, &n)| n > 0 && k.as_str() != OutcomeKind::Ok.id())
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    errors.extend(r.totals.by_error_type.iter().map(|(k, n)| (format!("error.type={k}"), *n)));
    Column {
        name: r.target.name.clone(),
        provider: r.target.provider.clone(),
        url: r.target.url.clone(),
        model: r.target.model.clone(),
        report: format!("{dir}/{}", super::names::REPORT_JSON),
        requests: r.totals.requests,
        error_rate: r.totals.error_rate,
        errors,
        latency: COMPARED_LATENCIES
            .iter()
            .filter_map(|id| r.metrics.get(*id).filter(|m| m.count > 0).map(|m| ((*id).to_owned(), Percentiles { p50: m.p50, p95: m.p95, p99: m.p99 })))
            .collect(),
        output_tokens_per_s_p50: r.metrics.get("output_tokens_per_s").map_or(0.0, |m| m.p50),
        requests_per_s: r.throughput.requests_per_s,
        conformance: r.conformance.verdict.clone(),
        violations: r.conformance.violations,
        warnings: r.conformance.warnings,
        findings: r.conformance.rules.iter().map(|(id, rule)| (id.clone(), rule.count)).collect(),
        probes_passed: r.probes.iter().filter(|p| p.passed).count(),
        probes: r.probes.len(),
        thresholds_failed: super::lines::all_thresholds(r).filter(|(_, t)| !t.passed).count(),
        input_tokens: r.templates.iter().filter_map(|t| t.input_tokens.map(|n| (t.name.clone(), n))).collect(),
        input_tokens_vs_reference: None,
        input_tokens_vs_median: None,
        cost_usd: r.cost.as_ref().and_then(|c| c.usd).or(r.throughput.cost_usd),
        billed_vs_reference: None,
        channels: r.authenticity.iter().flat_map(|a| &a.models).map(|m| (m.model.clone(), super::authenticity::short(m))).collect(),
        features: r.features.iter().map(|f| (f.name.clone(), f.status)).collect(),
    }
}

/// The side-by-side table: a row per figure, a column per target; header first.
pub fn rows(c: &Comparison) -> Vec<Vec<String>> {
    let mut rows = vec![std::iter::once(String::new()).chain(c.targets.iter().map(|t| t.name.clone())).collect::<Vec<_>>()];
    let mut row = |label: &str, cell: &dyn Fn(&Column) -> String| {
        rows.push(std::iter::once(label.to_owned()).chain(c.targets.iter().map(cell)).collect());
    };
    let ms = |v: f64| format!("{v:.1}");
    let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:+.1}%", v * 100.0));
    row("provider", &|t| t.provider.clone().unwrap_or_else(|| "-".into()));
    row("model", &|t| t.model.clone());
    row("requests", &|t| t.requests.to_string());
    row("error rate", &|t| format!("{:.2}%", t.error_rate * 100.0));
    row("errors by type", &|t| {
        if t.errors.is_empty() {
            "-".into()
        } else {
            t.errors.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
        }
    });
    for id in COMPARED_LATENCIES {
        for (stat, pick) in [("p50", 0), ("p95", 1), ("p99", 2)] {
            row(&format!("{id} {stat} ms"), &|t| {
                t.latency.get(id).map_or("-".into(), |p| ms([p.p50, p.p95, p.p99][pick]))
            });
        }
    }
    row("output tok/s p50", &|t| ms(t.output_tokens_per_s_p50));
    row("requests/s", &|t| ms(t.requests_per_s));
    row("channel", &|t| {
        let mut verdicts: Vec<&str> = t.channels.values().map(String::as_str).collect();
        verdicts.dedup();
        if verdicts.is_empty() {
            "-".into()
        } else {
            verdicts.join("; ")
        }
    });
    row("conformance", &|t| format!("{} ({} violations, {} warnings)", t.conformance.to_uppercase(), t.violations, t.warnings));
    row("probes passed", &|t| if t.probes == 0 { "-".into() } else { format!("{}/{}", t.probes_passed, t.probes) });
    row("thresholds failed", &|t| t.thresholds_failed.to_string());
    row("input tokens vs reference", &|t| pct(t.input_tokens_vs_reference));
    row("input tokens vs median", &|t| pct(t.input_tokens_vs_median));
    row("cost", &|t| t.cost_usd.map_or("-".into(), |v| format!("${v:.4}")));
    row("billed vs reference", &|t| pct(t.billed_vs_reference));
    rows
}

/// Findings per rule, a row per rule that fired anywhere; header first.
pub fn finding_rows(c: &Comparison) -> Vec<Vec<String>> {
    let rules: BTreeSet<&String> = c.targets.iter().flat_map(|t| t.findings.keys()).collect();
    let mut rows = vec![std::iter::once("rule".to_owned()).chain(c.targets.iter().map(|t| t.name.clone())).collect::<Vec<_>>()];
    for rule in rules {
        rows.push(std::iter::once(rule.clone()).chain(c.targets.iter().map(|t| t.findings.get(rule).map_or("-".into(), u64::to_string))).collect());
    }
    rows
}

/// Each target's findings grouped by the kind of fault (PROTOCOL.md §8), one line per
/// target: what a buyer reads first.
pub fn fault_lines(c: &Comparison) -> Vec<String> {
    c.targets
        .iter()
        .map(|t| {
            let mut by_class: BTreeMap<Class, Vec<String>> = BTreeMap::new();
            for (id, n) in &t.findings {
                if let Some(rule) = Rule::from_id(id) {
                    let info = if rule.severity() == Severity::Info { ", info" } else { "" };
                    by_class.entry(rule.class()).or_default().push(format!("{id} ×{n}{info}"));
                }
            }
            let classes: Vec<String> = by_class.iter().map(|(class, rules)| format!("{} ({})", class.id(), rules.join(", "))).collect();
            match classes.is_empty() {
                true => format!("{}: no fault found", t.name),
                false => format!("{}: {}", t.name, classes.join("; ")),
            }
        })
        .collect()
}

/// The feature matrix, a row per case in suite order; header first.
pub fn feature_rows(c: &Comparison) -> Vec<Vec<String>> {
    let mut rows = vec![std::iter::once("feature".to_owned()).chain(c.targets.iter().map(|t| t.name.clone())).collect::<Vec<_>>()];
    for name in crate::features::all() {
        if c.targets.iter().any(|t| t.features.contains_key(&name)) {
            let cell = |t: &Column| t.features.get(&name).map_or("-".to_owned(), |s| s.id().to_owned());
            rows.push(std::iter::once(name.clone()).chain(c.targets.iter().map(cell)).collect());
        }
    }
    rows
}

/// The ranking sentence.
pub fn ranking_line(c: &Comparison) -> String {
    format!("ranking (targets that served first, conformant first, then by ttft p95): {}", c.ranking.join(" > "))
}

/// The targets by what the same work cost, in US dollars per request, cheapest first;
/// `None` unless two targets or more have a cost in US dollars (given, or converted with
/// the scenario's `fx:`).
pub fn cost_line(c: &Comparison) -> Option<String> {
    let mut priced: Vec<(&str, f64)> = c.targets.iter().filter(|t| t.requests > 0).filter_map(|t| Some((t.name.as_str(), t.cost_usd? / t.requests as f64))).collect();
    if priced.len() < 2 {
        return None;
    }
    priced.sort_by(|a, b| a.1.total_cmp(&b.1));
    let ranked: Vec<String> = priced.iter().map(|(name, per)| format!("{name} ${per:.6}")).collect();
    Some(format!("by cost for the same work (US dollars per request): {}", ranked.join(" < ")))
}

/// The comparison as Markdown.
pub fn markdown(c: &Comparison) -> String {
    let mut md = String::new();
    let partial = if c.partial { " (partial: interrupted)" } else { "" };
    let _ = writeln!(md, "# relaybench comparison: {}{partial}\n", c.scenario.name);
    let _ = writeln!(md, "{} targets ran the same workload at the same time, started {}.\n", c.targets.len(), c.started_at);
    super::markdown::table(&mut md, &rows(c));
    let features = feature_rows(c);
    if features.len() > 1 {
        let _ = writeln!(md, "\n## Features\n");
        super::markdown::table(&mut md, &features);
    }
    let findings = finding_rows(c);
    if findings.len() > 1 {
        let _ = writeln!(md, "\n## Faults by kind\n");
        for line in fault_lines(c) {
            let _ = writeln!(md, "- {line}");
        }
        let _ = writeln!(md, "\n## Conformance findings per rule\n");
        super::markdown::table(&mut md, &findings);
    }
    let _ = writeln!(md, "\n{}", ranking_line(c));
    if let Some(line) = cost_line(c) {
        let _ = writeln!(md, "\n{line}");
    }
    let _ = writeln!(md, "\nEach target's full report: {}.", c.targets.iter().map(|t| format!("`{}`", t.report)).collect::<Vec<_>>().join(", "));
    md
}

/// The comparison as aligned text for the terminal.
pub fn terminal(c: &Comparison) -> String {
    let mut out = String::new();
    for block in [rows(c), feature_rows(c), finding_rows(c)] {
        if block.len() < 2 {
            continue;
        }
        let columns = block[0].len();
        let widths: Vec<usize> = (0..columns).map(|i| block.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
        for row in &block {
            let cells: Vec<String> = row.iter().zip(&widths).enumerate().map(|(i, (c, w))| if i == 0 { format!("{c:<w$}") } else { format!("{c:>w$}") }).collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
        let _ = writeln!(out);
    }
    if c.targets.iter().any(|t| !t.findings.is_empty()) {
        let _ = writeln!(out, "faults by kind:");
        for line in fault_lines(c) {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "{}", ranking_line(c));
    if let Some(line) = cost_line(c) {
        let _ = writeln!(out, "{line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![30, 10, 20]), Some(20.0));
        assert_eq!(median(vec![40, 10, 20, 30]), Some(25.0));
        assert_eq!(median(Vec::new()), None);
    }

    #[test]
    fn deviation_is_the_mean_relative_difference_over_shared_templates() {
        let counts: BTreeMap<String, u64> = [("a".to_owned(), 110), ("b".to_owned(), 90), ("c".to_owned(), 5)].into();
        let against: BTreeMap<String, f64> = [("a".to_owned(), 100.0), ("b".to_owned(), 100.0)].into();
        assert_eq!(deviation(&counts, &against), Some(0.0));
        let more: BTreeMap<String, u64> = [("a".to_owned(), 120)].into();
        assert!((deviation(&more, &against).expect("shared") - 0.2).abs() < 1e-12);
        assert_eq!(deviation(&BTreeMap::new(), &against), None);
    }
}
