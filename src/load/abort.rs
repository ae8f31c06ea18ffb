//! Stop conditions checked while a run goes (`abort:`), so a run against a paid key stops
//! by itself when the target fails or the budget is spent: an error rate over a sliding
//! window, failures in a row, and a budget in tokens or money. Each worker records its
//! outcomes here as they end; the first condition that trips stops the target's load as
//! Ctrl-C does and names itself and the figure that tripped it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::outcome::{Outcome, OutcomeKind};
use crate::provider::Prices;
use crate::stop::Stop;

/// The conditions, as the scenario gives them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
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

#[derive(Debug)]
struct State {
    recent: VecDeque<(Instant, bool)>,
    failed_in_window: u64,
    streak: u64,
    tokens: (u64, u64),
    reason: Option<String>,
}

/// The conditions of one target, and what tripped them.
#[derive(Debug)]
pub struct Abort {
    rules: AbortRules,
    prices: Option<Prices>,
    started: Instant,
    state: Mutex<State>,
}

impl Abort {
    /// Conditions for a target priced at `prices` (the cost budget needs them), counted
    /// from now.
    pub fn new(rules: AbortRules, prices: Option<Prices>) -> Abort {
        let state = State { recent: VecDeque::new(), failed_in_window: 0, streak: 0, tokens: (0, 0), reason: None };
        Abort { rules, prices, started: Instant::now(), state: Mutex::new(state) }
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
        if s.reason.is_some() || now.duration_since(self.started) < self.rules.after {
            return;
        }
        let reason = self.tripped(&s);
        if let Some(reason) = reason {
            s.reason = Some(reason);
            stop.stop();
        }
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
