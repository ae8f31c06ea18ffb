//! The sweep section: each step's figures and SLO verdict, and the highest rate within
//! the SLO, the answer
//! capacity planning wants.

use super::gate::evaluate;
use super::model::{Figures, Report, Step, SweepReport, ThresholdResult};
use super::phase::FIGURE_COLUMNS;
use crate::thresholds::Threshold;

/// A step's figures and SLO verdict, from a report built over that step alone; `cut`
/// when the run stopped during it.
pub fn step(rate: f64, r: &Report, slo: &[Threshold], cut: bool) -> Step {
    let slo: Vec<ThresholdResult> = slo.iter().map(|t| evaluate(t, r)).collect();
    Step { rate, figures: Figures::of(r), slo_passed: slo.iter().all(|t| t.passed), slo, cut, skipped: None }
}

/// Share of the offered rate below which a step is saturated: the target completes fewer
/// than half the requests offered, and a higher rate would only queue more.
pub const SATURATED_SHARE: f64 = 0.5;

/// Why a step offered `rate` for `duration_s` is saturated, when it is: it completed
/// fewer than [`SATURATED_SHARE`] of the requests offered, or fewer than half of those it
/// completed were ok.
pub fn saturated(rate: f64, completed: u64, ok: u64, duration_s: f64) -> Option<String> {
    if duration_s <= 0.0 || completed == 0 {
        return None;
    }
    let achieved = completed as f64 / duration_s;
    if achieved < SATURATED_SHARE * rate {
        return Some(format!("the {rate} req/s step completed {achieved:.1} req/s, under half of it"));
    }
    if (ok as f64) < 0.5 * completed as f64 {
        return Some(format!("the {rate} req/s step failed {} of {completed} requests", completed - ok));
    }
    None
}

impl SweepReport {
    /// Steps with the highest rate within the SLO: the last rate of the unbroken run of passing steps,
    /// taken in increasing rate; a step the run was cut during is no evidence either way.
    pub fn new(steps: Vec<Step>) -> SweepReport {
        let mut by_rate: Vec<&Step> = steps.iter().filter(|s| !s.cut && s.skipped.is_none()).collect();
        by_rate.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        let max_rate_within_slo = by_rate.iter().take_while(|s| s.slo_passed).last().map(|s| s.rate);
        SweepReport { steps, max_rate_within_slo }
    }
}

/// The sweep table as text rows (header first), shared by both summaries. A sweep that
/// met 429s gets their count per step, so where throttling starts can be read off.
pub fn rows(sweep: &SweepReport) -> Vec<Vec<String>> {
    let throttled = sweep.steps.iter().any(|s| s.figures.rate_limited > 0);
    let limited = throttled.then_some("429");
    let header = ["rate"].into_iter().chain(FIGURE_COLUMNS).chain(limited).chain(["slo"]);
    let mut rows = vec![header.map(str::to_owned).collect()];
    for s in &sweep.steps {
        let verdict = match (s.cut, s.slo_passed) {
            _ if s.skipped.is_some() => "skipped",
            (true, _) => "cut",
            (false, true) => "pass",
            (false, false) => "FAIL",
        };
        let limited = throttled.then(|| s.figures.rate_limited.to_string());
        rows.push([format!("{:.1}", s.rate)].into_iter().chain(s.figures.cells()).chain(limited).chain([verdict.to_owned()]).collect());
    }
    rows
}

/// The sentence naming the highest rate within the SLO.
pub fn max_rate_line(sweep: &SweepReport) -> String {
    match sweep.max_rate_within_slo {
        Some(rate) => format!("max rate within SLO: {rate:.1} req/s (the highest rate that met the SLO, with every lower step)"),
        None => "max rate within SLO: none (no step met the SLO)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rate: f64, passed: bool) -> Step {
        let figures = Figures {
            duration_s: 1.0,
            requests: 1,
            dropped: 0,
            requests_per_s: rate,
            output_tokens_per_s: 0.0,
            error_rate: 0.0,
            ttft_p50: 0.0,
            ttft_p95: 0.0,
            itl_p99: 0.0,
            e2e_p95: 0.0,
            rate_limited: 0,
            sums: None,
        };
        Step { rate, figures, slo: Vec::new(), slo_passed: passed, cut: false, skipped: None }
    }

    #[test]
    fn a_cut_step_does_not_move_the_max_rate() {
        let cut = |mut s: Step| {
            s.cut = true;
            s
        };
        // A passing step cut short is not a pass, and a failing one not a failure.
        assert_eq!(SweepReport::new(vec![at(10.0, true), cut(at(20.0, true))]).max_rate_within_slo, Some(10.0));
        assert_eq!(SweepReport::new(vec![at(10.0, true), cut(at(20.0, false)), at(30.0, true)]).max_rate_within_slo, Some(30.0));
        assert_eq!(rows(&SweepReport::new(vec![cut(at(20.0, true))]))[1].last().map(String::as_str), Some("cut"));
    }

    #[test]
    fn the_max_rate_is_the_top_of_the_unbroken_passing_run() {
        let s = SweepReport::new(vec![at(10.0, true), at(20.0, true), at(40.0, false), at(80.0, true)]);
        assert_eq!(s.max_rate_within_slo, Some(20.0));
        assert_eq!(SweepReport::new(vec![at(10.0, false), at(20.0, true)]).max_rate_within_slo, None);
        assert_eq!(SweepReport::new(vec![at(20.0, true), at(10.0, true)]).max_rate_within_slo, Some(20.0));
    }
}
