//! Stop conditions checked while a run goes (`abort:`, and thresholds with
//! `abort_on_fail`), so a run against a paid key stops by itself when the target fails or
//! the budget is spent: an error rate over a sliding window, failures in a row, a budget in
//! tokens or money, a threshold that fails. Each worker records its outcomes here as they
//! end; the first condition that trips stops the target's load as Ctrl-C does and names
//! itself and the figure that tripped it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::Recorder;
use crate::outcome::{Outcome, OutcomeKind};
use crate::provider::Prices;
use crate::stop::Stop;
use crate::thresholds::{Stat, Subject, Threshold};

/// How often the thresholds are judged at most: percentiles are not free at every request.
const JUDGE_EVERY: Duration = Duration::from_millis(100);

/// The conditions, as the scenario gives them; [`Default`] holds the defaults of what
/// it leaves out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbortRules {
    /// Stop when the share of failed requests over `window` passes this (0 to 1).
    pub error_rate: Option<f64>,
    /// The sliding window of `error_rate`.
    pub window: Duration,
    /// Requests the window must hold before its error rate counts.
    pub min_requests: u64,
    /// Stop after this many failed requests in a row.
    pub consecutive_failures: Option<u64>,
    /// Stop once the input and output tokens reported reach this.
    pub tokens: Option<u64>,
    /// Stop once the tokens reported cost this much at the target's prices.
    pub cost: Option<f64>,
    /// No condition trips before this long into the load.
    pub after: Duration,
}

impl Default for AbortRules {
    /// No condition; a window of 10 s that must hold 20 requests.
    fn default() -> AbortRules {
        AbortRules { error_rate: None, window: Duration::from_secs(10), min_requests: 20, consecutive_failures: None, tokens: None, cost: None, after: Duration::ZERO }
    }
}

#[derive(Debug)]
struct State {
    recent: VecDeque<(Instant, bool)>,
    failed_in_window: u64,
    streak: u64,
    tokens: (u64, u64),
    reason: Option<String>,
    /// What the thresholds are judged on, when some abort on failing.
    recorder: Option<Recorder>,
    judged_at: Option<Instant>,
}

/// The conditions of one target, and what tripped them.
#[derive(Debug)]
pub struct Abort {
    rules: AbortRules,
    prices: Option<Prices>,
    /// The thresholds with `abort_on_fail`.
    thresholds: Vec<Threshold>,
    started: Instant,
    state: Mutex<State>,
}

impl Abort {
    /// Conditions for a target priced at `prices` (the cost budget needs them), counted
    /// from now.
    pub fn new(rules: AbortRules, prices: Option<Prices>) -> Abort {
        Abort::with_thresholds(rules, prices, Vec::new())
    }

    /// [`Abort::new`], also judging `thresholds` (those with `abort_on_fail`) as the
    /// requests end.
    pub fn with_thresholds(rules: AbortRules, prices: Option<Prices>, thresholds: Vec<Threshold>) -> Abort {
        let thresholds: Vec<Threshold> = thresholds.into_iter().filter(|t| t.abort_on_fail).collect();
        let recorder = (!thresholds.is_empty()).then(Recorder::compact);
        let state = State { recent: VecDeque::new(), failed_in_window: 0, streak: 0, tokens: (0, 0), reason: None, recorder, judged_at: None };
        Abort { rules, prices, thresholds, started: Instant::now(), state: Mutex::new(state) }
    }

    /// What tripped, when something did.
    pub fn reason(&self) -> Option<String> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).reason.clone()
    }

    /// Counts one ended request (an attempt, with retries); stops `stop` when a condition
    /// trips.
    pub fn record(&self, o: &Outcome, stop: &Stop) {
        if o.kind == OutcomeKind::Cancelled {
            return;
        }
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let failed = o.kind != OutcomeKind::Ok;
        s.recent.push_back((now, failed));
        s.failed_in_window += u64::from(failed);
        while s.recent.front().is_some_and(|(at, _)| now.duration_since(*at) > self.rules.window) {
            if let Some((_, f)) = s.recent.pop_front() {
                s.failed_in_window -= u64::from(f);
            }
        }
        s.streak = if failed { s.streak + 1 } else { 0 };
        s.tokens.0 += o.input_tokens.unwrap_or(0) + o.cache_creation_tokens.unwrap_or(0) + o.cache_read_tokens.unwrap_or(0);
        s.tokens.1 += o.output_tokens.unwrap_or(0);
        if let Some(r) = s.recorder.as_mut() {
            r.record(o);
        }
        if s.reason.is_some() {
            return;
        }
        let reason = self.failed_threshold(&mut s, now);
        let reason = reason.or_else(|| (now.duration_since(self.started) >= self.rules.after).then(|| self.tripped(&s)).flatten());
        if let Some(reason) = reason {
            s.reason = Some(reason);
            stop.stop();
        }
    }

    /// The first threshold with `abort_on_fail` that fails, past its delay, judged at
    /// most every [`JUDGE_EVERY`].
    fn failed_threshold(&self, s: &mut State, now: Instant) -> Option<String> {
        let recorder = s.recorder.as_ref()?;
        if s.judged_at.is_some_and(|at| now.duration_since(at) < JUDGE_EVERY) {
            return None;
        }
        s.judged_at = Some(now);
        let elapsed = now.duration_since(self.started);
        self.thresholds.iter().filter(|t| t.delay.is_none_or(|d| elapsed >= d)).find_map(|t| {
            let observed = live_value(t, recorder)?;
            (!t.op.holds(observed, t.value)).then(|| format!("abort_on_fail: `{}` failed after {:.1} s (observed {observed:.3})", t.text, elapsed.as_secs_f64()))
        })
    }

    fn tripped(&self, s: &State) -> Option<String> {
        let r = &self.rules;
        let window = s.recent.len() as u64;
        if let Some(limit) = r.error_rate.filter(|_| window >= r.min_requests.max(1)) {
            let rate = s.failed_in_window as f64 / window as f64;
            if rate > limit {
                return Some(format!(
                    "abort.error_rate: {:.1}% of the {window} requests in the last {:?} failed (limit {:.1}%)",
                    rate * 100.0,
                    r.window,
                    limit * 100.0
                ));
            }
        }
        if let Some(limit) = r.consecutive_failures.filter(|l| s.streak >= *l) {
            return Some(format!("abort.consecutive_failures: {} requests failed in a row (limit {limit})", s.streak));
        }
        let (input, output) = s.tokens;
        if let Some(limit) = r.tokens.filter(|l| input + output >= *l) {
            return Some(format!("abort.tokens: {} tokens reported ({input} input, {output} output; budget {limit})", input + output));
        }
        if let (Some(limit), Some(p)) = (r.cost, self.prices) {
            let cost = (input as f64 * p.input_per_mtok + output as f64 * p.output_per_mtok) / 1e6;
            if cost >= limit {
                return Some(format!("abort.cost: the tokens reported cost {cost:.4} at the target's prices (budget {limit})"));
            }
        }
        None
    }
}

/// What `t` measures over the requests `r` recorded, in the unit of its bound; `None`
/// while there is nothing to judge.
fn live_value(t: &Threshold, r: &Recorder) -> Option<f64> {
    Some(match t.subject {
        Subject::Stat(metric, stat) => {
            let h = r.histogram(metric);
            if h.is_empty() {
                return None;
            }
            let scale = metric.unit().shown().1;
            let at = |q: f64| h.value_at_quantile(q) as f64 * scale;
            match stat {
                Stat::Min => h.min() as f64 * scale,
                Stat::Mean => h.mean() * scale,
                Stat::P50 => at(0.50),
                Stat::P90 => at(0.90),
                Stat::P95 => at(0.95),
                Stat::P99 => at(0.99),
                Stat::Max => h.max() as f64 * scale,
                Stat::Count => h.len() as f64,
            }
        }
        Subject::ErrorRate => {
            let judged = r.requests.saturating_sub(r.count(OutcomeKind::Cancelled));
            if judged == 0 {
                return None;
            }
            judged.saturating_sub(r.count(OutcomeKind::Ok)) as f64 / judged as f64
        }
        Subject::Requests => r.requests as f64,
        Subject::Violations | Subject::Warnings => {
            let severity = if t.subject == Subject::Violations { crate::conformance::Severity::Error } else { crate::conformance::Severity::Warn };
            r.findings.iter().filter(|(id, _)| crate::conformance::Rule::from_id(id).is_some_and(|rule| rule.severity() == severity)).map(|(_, n)| *n).sum::<u64>() as f64
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(ok: bool, tokens: u64) -> Outcome {
        let mut o = Outcome::new(0, false);
        if !ok {
            o.fail(OutcomeKind::HttpError, "HTTP 500");
        }
        o.input_tokens = Some(tokens);
        o.output_tokens = Some(tokens);
        o
    }

    fn rules() -> AbortRules {
        AbortRules { window: Duration::from_secs(10), min_requests: 5, ..AbortRules::default() }
    }

    #[test]
    fn each_condition_trips_at_its_limit_and_not_before() {
        let stop = Stop::default();
        let streak = Abort::new(AbortRules { consecutive_failures: Some(3), ..rules() }, None);
        for ok in [false, false, true, false, false] {
            streak.record(&ended(ok, 1), &stop);
        }
        assert!(!stop.is_stopped() && streak.reason().is_none(), "two in a row, twice");
        streak.record(&ended(false, 1), &stop);
        assert!(stop.is_stopped());
        assert!(streak.reason().expect("tripped").starts_with("abort.consecutive_failures: 3 requests failed in a row"));

        let stop = Stop::default();
        let rate = Abort::new(AbortRules { error_rate: Some(0.5), ..rules() }, None);
        for ok in [false, false, false, false] {
            rate.record(&ended(ok, 1), &stop);
        }
        assert!(!stop.is_stopped(), "fewer than min_requests in the window");
        rate.record(&ended(true, 1), &stop);
        assert!(rate.reason().expect("tripped").contains("80.0% of the 5 requests"));

        let stop = Stop::default();
        let prices = Prices::new(3.0, 15.0, crate::provider::Currency::USD);
        let budget = Abort::new(AbortRules { cost: Some(0.018), tokens: Some(10_000), ..rules() }, Some(prices));
        budget.record(&ended(true, 500), &stop);
        assert!(!stop.is_stopped(), "1000 tokens cost 0.009");
        budget.record(&ended(true, 500), &stop);
        assert!(budget.reason().expect("tripped").starts_with("abort.cost: the tokens reported cost 0.0180"));
    }

    #[test]
    fn nothing_trips_before_after() {
        let stop = Stop::default();
        let early = Abort::new(AbortRules { consecutive_failures: Some(1), after: Duration::from_secs(60), ..rules() }, None);
        early.record(&ended(false, 1), &stop);
        assert!(!stop.is_stopped() && early.reason().is_none());
    }
}
