//! Thresholds: k6-style pass/fail expressions over a run's report, such as
//! `ttft.p95 < 800ms`, `error_rate < 1%` or `conformance.violations == 0`, parsed into a
//! plain expression. An unknown name or a malformed expression is a scenario error, found
//! before anything is sent; judging one against a report is the report's gate
//! (`report::gate`), so the input model knows nothing of reports.

use crate::metrics::{Metric, Unit};

/// A statistic of a histogram metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Smallest value.
    Min,
    /// Mean.
    Mean,
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// Largest value.
    Max,
    /// Number of values.
    Count,
}

const STATS: [(&str, Stat); 8] = [
    ("min", Stat::Min),
    ("mean", Stat::Mean),
    ("p50", Stat::P50),
    ("p90", Stat::P90),
    ("p95", Stat::P95),
    ("p99", Stat::P99),
    ("max", Stat::Max),
    ("count", Stat::Count),
];

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A statistic of a histogram, in the report's unit (ms or tokens/s).
    Stat(Metric, Stat),
    /// Fraction of requests whose outcome is not ok.
    ErrorRate,
    /// Requests dropped by the open loop's cap.
    Dropped,
    /// Requests completed.
    Requests,
    /// Completed requests per second.
    RequestsPerS,
    /// Output tokens per second over the run.
    OutputTokensPerS,
    /// Error-severity conformance findings.
    Violations,
    /// Warn-severity conformance findings.
    Warnings,
    /// Negative probes that did not get what they should.
    ProbesFailed,
    /// Feature cases that failed (unsupported ones do not count).
    FeaturesFailed,
    /// Share of requests that met the goodput SLO.
    Goodput,
    /// Requests per second that met the goodput SLO.
    GoodputPerS,
}

impl Subject {
    /// Whether it measures goodput, which needs the scenario's `goodput:` SLO.
    pub fn is_goodput(self) -> bool {
        matches!(self, Subject::Goodput | Subject::GoodputPerS)
    }
}

/// Scalar names, for parsing and for the error message that lists them.
const SCALARS: [(&str, Subject); 11] = [
    ("error_rate", Subject::ErrorRate),
    ("dropped", Subject::Dropped),
    ("requests", Subject::Requests),
    ("requests_per_s", Subject::RequestsPerS),
    ("output_tokens_per_s", Subject::OutputTokensPerS),
    ("conformance.violations", Subject::Violations),
    ("conformance.warnings", Subject::Warnings),
    ("probes.failed", Subject::ProbesFailed),
    ("features.failed", Subject::FeaturesFailed),
    ("goodput", Subject::Goodput),
    ("goodput_per_s", Subject::GoodputPerS),
];

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// Whether `a OP b`.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression as written.
    pub text: String,
    /// What it measures.
    pub subject: Subject,
    /// How it compares.
    pub op: Op,
    /// The bound, in the subject's report unit (ms, tokens/s, a fraction, a count).
    pub value: f64,
    /// Stop the run as soon as it fails while the load goes (k6's `abortOnFail`).
    pub abort_on_fail: bool,
    /// With `abort_on_fail`: not judged before this long into the load.
    pub delay: Option<std::time::Duration>,
}

impl Threshold {
    /// Whether it can be judged while the run goes, from the requests ended so far: a
    /// metric, `error_rate`, `requests`, or the conformance counts (not what only the end
    /// of a run knows, as drops, probes, features and goodput).
    pub fn judged_live(&self) -> bool {
        matches!(self.subject, Subject::Stat(..) | Subject::ErrorRate | Subject::Requests | Subject::Violations | Subject::Warnings)
    }
}

/// Parses `name op value[unit]`.
pub fn parse(text: &str) -> Result<Threshold, String> {
    let ops = [("<=", Op::Le), (">=", Op::Ge), ("==", Op::Eq), ("!=", Op::Ne), ("<", Op::Lt), (">", Op::Gt)];
    let (at, symbol, op) = ops
        .iter()
        .filter_map(|(sym, op)| text.find(sym).map(|at| (at, *sym, *op)))
        .min_by_key(|(at, sym, _)| (*at, std::cmp::Reverse(sym.len())))
        .ok_or_else(|| format!("threshold {text:?} has no comparison (<, <=, >, >=, ==, !=)"))?;
    let name = text[..at].trim();
    let bound = text[at + symbol.len()..].trim();
    let subject = subject(name)?;
    let value = value(bound, subject).map_err(|e| format!("threshold {text:?}: {e}"))?;
    Ok(Threshold { text: text.trim().to_owned(), subject, op, value, abort_on_fail: false, delay: None })
}

fn subject(name: &str) -> Result<Subject, String> {
    if let Some((_, s)) = SCALARS.iter().find(|(n, _)| *n == name) {
        return Ok(*s);
    }
    if let Some((metric, stat)) = name.rsplit_once('.') {
        if let Some(m) = Metric::from_id(metric) {
            let stat = STATS
                .iter()
                .find(|(n, _)| *n == stat)
                .map(|(_, s)| *s)
                .ok_or_else(|| format!("unknown statistic {stat:?} of {metric} (use min, mean, p50, p90, p95, p99, max, count)"))?;
            return Ok(Subject::Stat(m, stat));
        }
    }
    let metrics: Vec<&str> = Metric::ALL.iter().map(|m| m.id()).collect();
    let scalars: Vec<&str> = SCALARS.iter().map(|(n, _)| *n).collect();
    Err(format!(
        "unknown threshold metric {name:?}: use METRIC.STAT with a metric of {} or one of {}",
        metrics.join(", "),
        scalars.join(", ")
    ))
}

/// A regular expression (ECMA 262, as JSON Schema uses) that matches the expressions
/// [`parse`] can accept, built from the same names, so an editor flags an unknown metric or
/// statistic while the file is written. It is looser than [`parse`] on the bound (units are
/// checked against the subject only by [`parse`]).
pub fn pattern() -> String {
    let metrics: Vec<&str> = Metric::ALL.iter().map(|m| m.id()).collect();
    let stats: Vec<&str> = STATS.iter().map(|(n, _)| *n).collect();
    let scalars: Vec<String> = SCALARS.iter().map(|(n, _)| n.replace('.', "\\.")).collect();
    format!(
        "^\\s*(?:(?:{})\\.(?:{})|{})\\s*(?:<=|>=|==|!=|<|>)\\s*-?[0-9.]+\\s*(?:us|µs|ms|s|%)?\\s*$",
        metrics.join("|"),
        stats.join("|"),
        scalars.join("|")
    )
}

/// The largest bound a threshold may name: far past any figure a run reports.
const MAX_BOUND: f64 = 1e15;

/// The bound in the subject's report unit; the unit written must suit the subject.
fn value(text: &str, subject: Subject) -> Result<f64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("{text:?} is not a number"))?;
    // Digits alone can still overflow to infinity, a bound nothing is ever judged against.
    if !number.is_finite() || number.abs() > MAX_BOUND {
        return Err(format!("{} is out of range (at most {MAX_BOUND:e} either way)", crate::text::cut(number.to_string())));
    }
    let latency = matches!(subject, Subject::Stat(m, s) if m.unit() == Unit::Micros && s != Stat::Count);
    match (unit.trim(), latency, subject) {
        ("", _, _) => Ok(number),
        ("us" | "µs", true, _) => Ok(number / 1000.0),
        ("ms", true, _) => Ok(number),
        ("s", true, _) => Ok(number * 1000.0),
        ("%", _, Subject::ErrorRate | Subject::Goodput) => Ok(number / 100.0),
        (u, _, _) => Err(format!("unit {u:?} does not fit this metric")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_that_overflows_is_refused() {
        // Found by the `thresholds` fuzz target: 300 digits parse to infinity.
        let e = parse(&format!("dropped < {}", "5".repeat(300))).expect_err("infinite bound");
        assert!(e.contains("out of range"), "{e}");
        assert!(parse("requests > 1e16").is_err() && parse("requests > 1000000").is_ok());
    }

    #[test]
    fn expressions_parse_with_units() {
        let t = parse("ttft.p95 < 800ms").expect("valid");
        assert_eq!((t.subject, t.op, t.value), (Subject::Stat(Metric::Ttft, Stat::P95), Op::Lt, 800.0));
        assert_eq!(parse("itl.p99<=0.12s").expect("valid").value, 120.0);
        assert_eq!(parse("error_rate < 1%").expect("valid").value, 0.01);
        assert_eq!(parse("output_tokens_per_s.p50 > 40").expect("valid").subject, Subject::Stat(Metric::OutputTokensPerS, Stat::P50));
        assert_eq!(parse("conformance.violations == 0").expect("valid").subject, Subject::Violations);
        assert_eq!(parse("dropped == 0").expect("valid").op, Op::Eq);
        let g = parse("goodput >= 95%").expect("valid");
        assert_eq!((g.subject, g.value, g.subject.is_goodput()), (Subject::Goodput, 0.95, true));
        assert!(parse("goodput_per_s > 10").expect("valid").subject.is_goodput());
    }

    #[test]
    fn mistakes_are_named() {
        assert!(parse("ttft.p97 < 1s").expect_err("stat").contains("unknown statistic"));
        assert!(parse("tfft.p95 < 1s").expect_err("metric").contains("unknown threshold metric"));
        assert!(parse("ttft.p95 800ms").expect_err("op").contains("no comparison"));
        assert!(parse("error_rate < 5ms").expect_err("unit").contains("does not fit"));
        assert!(parse("ttft.p95 < 5%").expect_err("unit").contains("does not fit"));
        assert!(parse("ttft.p95 < fast").expect_err("number").contains("not a number"));
    }

    #[test]
    fn comparisons_hold_as_written() {
        assert!(Op::Lt.holds(1.0, 2.0) && !Op::Lt.holds(2.0, 2.0));
        assert!(Op::Le.holds(2.0, 2.0) && Op::Ge.holds(2.0, 2.0));
        assert!(Op::Ne.holds(1.0, 2.0) && !Op::Eq.holds(1.0, 2.0));
    }
}
