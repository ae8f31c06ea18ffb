//! The gate: each threshold judged against a report, the verdict that (with the
//! conformance findings) sets the exit code.

use super::model::{Report, ThresholdResult};
use crate::features::Status;
use crate::thresholds::{Stat, Subject, Threshold};

/// The observed value in `report`, or None when there is nothing to judge (an empty
/// histogram), which fails the threshold.
fn observe(threshold: &Threshold, report: &Report) -> Option<f64> {
    let t = &report.totals;
    Some(match threshold.subject {
        Subject::Stat(metric, stat) => {
            let s = report.metrics.get(metric.id())?;
            if s.count == 0 && stat != Stat::Count {
                return None;
            }
            match stat {
                Stat::Min => s.min,
                Stat::Mean => s.mean,
                Stat::P50 => s.p50,
                Stat::P90 => s.p90,
                Stat::P95 => s.p95,
                Stat::P99 => s.p99,
                Stat::Max => s.max,
                Stat::Count => s.count as f64,
            }
        }
        Subject::ErrorRate => t.error_rate,
        Subject::Dropped => t.dropped as f64,
        Subject::Requests => t.requests as f64,
        Subject::RequestsPerS => report.throughput.requests_per_s,
        Subject::OutputTokensPerS => report.throughput.output_tokens_per_s,
        Subject::Violations => report.conformance.violations as f64,
        Subject::Warnings => report.conformance.warnings as f64,
        Subject::ProbesFailed => report.probes.iter().filter(|p| !p.passed).count() as f64,
        Subject::FeaturesFailed => report.features.iter().filter(|f| f.status == Status::Fail).count() as f64,
        Subject::Goodput => report.goodput.as_ref()?.ratio,
        Subject::GoodputPerS => report.goodput.as_ref()?.per_s,
    })
}

/// Judges the threshold against `report`.
pub fn evaluate(threshold: &Threshold, report: &Report) -> ThresholdResult {
    let observed = observe(threshold, report);
    ThresholdResult {
        expression: threshold.text.clone(),
        observed,
        passed: observed.is_some_and(|v| threshold.op.holds(v, threshold.value)),
    }
}

/// Appended to the text of a threshold the scenario did not give (the default gate).
pub const DEFAULT_MARK: &str = " (default)";

/// Judges again on `report` the thresholds `results` were judged on, read back from their
/// expressions: `merge` judges a split run's thresholds once, on the sum.
pub fn rejudge(results: &[ThresholdResult], report: &Report) -> Result<Vec<ThresholdResult>, String> {
    results
        .iter()
        .map(|r| {
            let (text, default) = match r.expression.strip_suffix(DEFAULT_MARK) {
                Some(text) => (text, true),
                None => (r.expression.as_str(), false),
            };
            let mut t = crate::thresholds::parse(text).map_err(|e| format!("threshold {:?}: {e}", r.expression))?;
            if default {
                t.text.push_str(DEFAULT_MARK);
            }
            Ok(evaluate(&t, report))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::collect::Collected;
    use crate::report::{build, RunInfo};
    use crate::thresholds::parse;

    #[test]
    fn a_threshold_on_nothing_measured_fails_and_a_met_one_passes() {
        let report = build(RunInfo::example(), &Collected::default(), &[], &[]);
        let met = evaluate(&parse("requests == 0").expect("valid"), &report);
        assert_eq!((met.observed, met.passed), (Some(0.0), true));
        let empty = evaluate(&parse("ttft.p95 < 1s").expect("valid"), &report);
        assert_eq!((empty.observed, empty.passed), (None, false));
        assert!(!evaluate(&parse("requests > 0").expect("valid"), &report).passed);
    }
}
