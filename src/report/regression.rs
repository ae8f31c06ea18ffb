//! `relaybench compare A B`: two saved reports (the same provider over time, or two
//! providers on one scenario), figure by figure, with regressions of B against A flagged.

use std::fmt::Write;

use super::model::Report;
use crate::conformance::{Rule, Severity};

/// How much the error rate may rise before it counts as a regression: one percentage
/// point, fixed, since a relative tolerance means nothing against a baseline of zero.
pub const ERROR_RATE_SLACK: f64 = 0.01;

/// Which way a figure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Lower is better (latencies, error rate).
    Lower,
    /// Higher is better (throughput).
    Higher,
}

/// One compared figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What it is, e.g. `ttft.p95`.
    pub figure: String,
    /// Its value in A.
    pub a: f64,
    /// Its value in B.
    pub b: f64,
    /// Which way is better.
    pub better: Better,
    /// Worse beyond the tolerance.
    pub regressed: bool,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// Headline of A and B (scenario, target, start).
    pub a: String,
    /// Same for B.
    pub b: String,
    /// A note when the two reports did not run the same scenario.
    pub caution: Option<String>,
    /// Figures.
    pub rows: Vec<Row>,
    /// Error-severity rules that fire in B but not in A.
    pub new_rules: Vec<String>,
    /// Probes that passed in A and fail in B.
    pub failing_probes: Vec<String>,
}

impl Diff {
    /// How many regressions were found.
    pub fn regressions(&self) -> usize {
        self.rows.iter().filter(|r| r.regressed).count() + self.new_rules.len() + self.failing_probes.len()
    }
}

/// Compares B against A; `tolerance` is the allowed relative worsening (0.1 = 10%).
pub fn compare(a: &Report, b: &Report, tolerance: f64) -> Diff {
    let mut rows = Vec::new();
    for metric in super::comparison::JUDGED_LATENCIES {
        let (Some(ma), Some(mb)) = (a.metrics.get(metric), b.metrics.get(metric)) else { continue };
        if ma.count == 0 || mb.count == 0 {
            continue;
        }
        for (stat, va, vb) in [("p50", ma.p50, mb.p50), ("p95", ma.p95, mb.p95), ("p99", ma.p99, mb.p99)] {
            rows.push(judged(format!("{metric}.{stat} ms"), va, vb, Better::Lower, tolerance));
        }
    }
    if let (Some(ma), Some(mb)) = (a.metrics.get("output_tokens_per_s"), b.metrics.get("output_tokens_per_s")) {
        if ma.count > 0 && mb.count > 0 {
            rows.push(judged("output_tokens_per_s.p50".into(), ma.p50, mb.p50, Better::Higher, tolerance));
        }
    }
    rows.push(judged("requests_per_s".into(), a.throughput.requests_per_s, b.throughput.requests_per_s, Better::Higher, tolerance));
    let (ea, eb) = (a.totals.error_rate, b.totals.error_rate);
    rows.push(Row { figure: "error_rate".into(), a: ea, b: eb, better: Better::Lower, regressed: eb > ea + ERROR_RATE_SLACK });
    let new_rules = b
        .conformance
        .rules
        .keys()
        .filter(|id| Rule::from_id(id).is_some_and(|r| r.severity() == Severity::Error) && !a.conformance.rules.contains_key(*id))
        .cloned()
        .collect();
    let failing_probes = b
        .probes
        .iter()
        .filter(|p| !p.passed && a.probes.iter().any(|q| q.name == p.name && q.passed))
        .map(|p| p.name.clone())
        .collect();
    let headline = |r: &Report| format!("{} against {} ({}), started {}", r.scenario.name, r.target.name, r.target.url, r.started_at);
    let caution = (a.scenario.name != b.scenario.name)
        .then(|| format!("the reports ran different scenarios ({} and {}): figures may not be like for like", a.scenario.name, b.scenario.name));
    Diff { a: headline(a), b: headline(b), caution, rows, new_rules, failing_probes }
}

fn judged(figure: String, a: f64, b: f64, better: Better, tolerance: f64) -> Row {
    let regressed = match better {
        Better::Lower => b > a * (1.0 + tolerance),
        Better::Higher => b < a * (1.0 - tolerance),
    };
    Row { figure, a, b, better, regressed }
}

/// The comparison as aligned text.
pub fn render(d: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "A: {}\nB: {}", d.a, d.b);
    if let Some(c) = &d.caution {
        let _ = writeln!(out, "caution: {c}");
    }
    let _ = writeln!(out, "\n{:<26} {:>12} {:>12} {:>9}", "figure", "A", "B", "change");
    for r in &d.rows {
        let change = if r.a == 0.0 { "-".to_owned() } else { format!("{:+.1}%", (r.b - r.a) / r.a * 100.0) };
        let flag = if r.regressed { "  REGRESSION" } else { "" };
        let _ = writeln!(out, "{:<26} {:>12.3} {:>12.3} {:>9}{flag}", r.figure, r.a, r.b, change);
    }
    for id in &d.new_rules {
        let _ = writeln!(out, "REGRESSION: conformance rule {id} fires in B, not in A");
    }
    for name in &d.failing_probes {
        let _ = writeln!(out, "REGRESSION: probe {name} passed in A and fails in B");
    }
    let n = d.regressions();
    let _ = writeln!(out, "\n{}", if n == 0 { "no regression".to_owned() } else { format!("{n} regression(s)") });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_applies_in_the_direction_that_is_worse() {
        assert!(!judged("x".into(), 100.0, 109.0, Better::Lower, 0.1).regressed);
        assert!(judged("x".into(), 100.0, 111.0, Better::Lower, 0.1).regressed);
        assert!(!judged("x".into(), 100.0, 50.0, Better::Lower, 0.1).regressed);
        assert!(judged("x".into(), 100.0, 89.0, Better::Higher, 0.1).regressed);
        assert!(!judged("x".into(), 100.0, 150.0, Better::Higher, 0.1).regressed);
    }
}
