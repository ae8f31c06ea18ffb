//! Load specs: how requests are scheduled, how many, for how long, and the limits of
//! each request.

use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;

use super::visit::{threshold_list, Validate};
use super::duration::HumanDuration;

/// How requests are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Executor {
    /// Closed loop: `concurrency` workers, each sending its next request when the last ends.
    #[default]
    Concurrency,
    /// Open loop: `rate` requests per second on a fixed schedule.
    ConstantRate,
    /// Open loop: `rate` requests per second on average, exponential gaps from the seed.
    Poisson,
    /// A linear ramp through `stages`: of the arrival rate (open loop, k6's ramping
    /// arrival rate) or, with `ramp: concurrency`, of the workers (closed loop, k6's
    /// ramping VUs).
    Stages,
    /// Open-loop steps at increasing rates, each held for `step_duration` and judged by
    /// `slo`; the report names the highest rate that met it (max rate within SLO).
    Sweep,
    /// Open loop: each request of a JSONL trace at its timestamp (divided by `speed`),
    /// with the trace's input and output sizes.
    Trace,
}

impl Ramp {
    /// Id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Ramp::Rate => "rate",
            Ramp::Concurrency => "concurrency",
        }
    }
}

impl Executor {
    /// Id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Executor::Concurrency => "concurrency",
            Executor::ConstantRate => "constant-rate",
            Executor::Poisson => "poisson",
            Executor::Sweep => "sweep",
            Executor::Stages => "stages",
            Executor::Trace => "trace",
        }
    }
}

/// How much load, for how long.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// How requests are scheduled.
    #[serde(default)]
    pub executor: Executor,
    /// Requests in flight at once (closed loop).
    #[serde(default)]
    #[schemars(range(max = MOST_WORKERS))]
    pub concurrency: Option<NonZeroU32>,
    /// Requests per second (open loop).
    #[serde(default)]
    #[schemars(range(min = *RATES.start(), max = *RATES.end()))]
    pub rate: Option<f64>,
    /// Open loop: a request due while this many are in flight is dropped (counted, not sent).
    #[serde(default = "default_max_in_flight")]
    #[schemars(range(max = 10 * MOST_WORKERS))]
    pub max_in_flight: NonZeroU32,
    /// Stop after this many requests.
    #[serde(default)]
    pub requests: Option<u64>,
    /// Requests sent before the load and not counted, at its concurrency (or
    /// `max_in_flight`), so the load starts on open connections.
    #[serde(default)]
    #[schemars(range(max = MOST_WORKERS))]
    pub warmup: Option<u64>,
    /// Stop starting requests after this long.
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub duration: Option<HumanDuration>,
    /// Limit of one request, from start to the end of its body.
    #[serde(default = "default_timeout")]
    #[schemars(with = "super::schema_values::Duration")]
    pub timeout: HumanDuration,
    /// `false`: every request opens a new connection (TCP, and TLS on https) and closes it
    /// after its response, as a client that keeps none open does (oha's
    /// `--disable-keepalive`, k6's `noConnectionReuse`).
    #[serde(default = "yes")]
    pub keep_alive: bool,
    /// Limit on connection set-up.
    #[serde(default = "default_connect_timeout")]
    #[schemars(with = "super::schema_values::Duration")]
    pub connect_timeout: HumanDuration,
    /// Limit from sending to the response head.
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub ttfb_timeout: Option<HumanDuration>,
    /// Longest silence allowed between two pieces of a stream.
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub idle_timeout: Option<HumanDuration>,
    /// Stages: what ramps, the arrival rate (default) or the number of workers.
    #[serde(default)]
    pub ramp: Ramp,
    /// Stages: the rate (or workers) at the beginning of the ramp.
    #[serde(default)]
    pub start: Option<f64>,
    /// Stages: `{duration, target}` each; the rate (or workers) moves linearly to
    /// `target` over `duration`.
    #[serde(default)]
    #[schemars(length(max = MOST_STEPS))]
    pub stages: Option<Vec<StageSpec>>,
    /// Sweep: the rates to hold, in order.
    #[serde(default)]
    #[schemars(length(min = 1, max = MOST_STEPS), inner(range(min = *RATES.start(), max = *RATES.end())))]
    pub rates: Option<Vec<f64>>,
    /// Sweep: instead of `rates`, go up to this rate…
    #[serde(default)]
    #[schemars(range(min = *RATES.start(), max = *RATES.end()))]
    pub up_to: Option<f64>,
    /// …in this many equal steps.
    #[serde(default)]
    #[schemars(range(max = MOST_STEPS))]
    pub steps: Option<NonZeroU32>,
    /// Sweep: stop climbing once a step is saturated (it completed under half the rate
    /// offered, or failed more than half its requests): the steps above are skipped.
    #[serde(default = "yes")]
    pub stop_when_saturated: bool,
    /// Sweep: how long each rate is held.
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub step_duration: Option<HumanDuration>,
    /// Trace: the JSONL file, relative to the scenario's folder.
    #[serde(default)]
    pub trace: Option<std::path::PathBuf>,
    /// Trace: how much faster than recorded to replay (2 halves every gap).
    #[serde(default)]
    #[schemars(range(min = 0.01, max = 1000))]
    pub speed: Option<f64>,
    /// Trace: tokens of one hash block.
    #[serde(default)]
    #[schemars(range(max = 65_536))]
    pub block_tokens: Option<NonZeroU32>,
    /// Trace: the requests read from `trace` when the scenario was loaded.
    #[serde(skip)]
    pub replay: Option<std::sync::Arc<super::trace::Trace>>,
    /// Sweep: the thresholds each step must meet to count toward the max rate within SLO.
    #[serde(default, deserialize_with = "threshold_list")]
    #[schemars(with = "Vec<super::schema_values::Threshold>")]
    pub slo: Vec<crate::thresholds::Threshold>,
}

/// The per-request SLO of goodput: a request counts as good when it succeeded and each
/// bound it can be held to holds (a Message has no TTFT or TPOT, so only `e2e` judges
/// it), as vLLM's and AIPerf's goodput count requests.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoodputSpec {
    /// Longest time to first token.
    #[serde(default, deserialize_with = "slo_bound")]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub ttft: Option<HumanDuration>,
    /// Longest time per output token.
    #[serde(default, deserialize_with = "slo_bound")]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub tpot: Option<HumanDuration>,
    /// Longest end-to-end time.
    #[serde(default, deserialize_with = "slo_bound")]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub e2e: Option<HumanDuration>,
}

impl Validate for GoodputSpec {
    fn validate(&self) -> Result<(), String> {
        if self.ttft.is_none() && self.tpot.is_none() && self.e2e.is_none() {
            return Err("goodput needs at least one of `ttft`, `tpot`, `e2e`".into());
        }
        Ok(())
    }
}

impl GoodputSpec {
    /// Whether `o` met the SLO.
    pub fn met(&self, o: &crate::outcome::Outcome) -> bool {
        let within = |bound: Option<HumanDuration>, value: Option<Duration>| match (bound, value) {
            (Some(b), Some(v)) => v <= b.0,
            _ => true,
        };
        o.kind == crate::outcome::OutcomeKind::Ok
            && within(self.ttft, o.ttft)
            && within(self.tpot, o.tpot())
            && within(self.e2e, o.status.map(|_| o.e2e))
    }
}

/// An SLO bound: above zero, at most an hour.
fn slo_bound<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<HumanDuration>, D::Error> {
    let b = HumanDuration::deserialize(d)?;
    if b.0.is_zero() || b.0 > Duration::from_secs(3600) {
        return Err(serde::de::Error::custom("an SLO bound must be above 0 and at most 1h"));
    }
    Ok(Some(b))
}

/// What a `stages` ramp moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Ramp {
    /// Requests per second (open loop).
    #[default]
    Rate,
    /// Requests in flight (closed loop).
    Concurrency,
}

/// One stage of a ramp.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// How long the stage lasts.
    #[schemars(with = "super::schema_values::Duration")]
    pub duration: HumanDuration,
    /// Requests per second (or workers) at its end.
    pub target: f64,
}

impl LoadSpec {
    /// The request limits of this load.
    pub fn timeouts(&self) -> crate::client::Timeouts {
        crate::client::Timeouts {
            connect: self.connect_timeout.0,
            ttfb: self.ttfb_timeout.map(|t| t.0),
            idle: self.idle_timeout.map(|t| t.0),
            total: self.timeout.0,
        }
    }

    /// How long the load lasts at most and how many requests it schedules at most, where
    /// the scenario bounds them; for progress.
    pub fn planned(&self) -> (Option<Duration>, Option<u64>) {
        let stages = self.stages.iter().flatten().map(|s| s.duration.0).sum::<Duration>();
        let duration = self.duration.map(|d| d.0);
        match self.executor {
            Executor::Sweep => (self.step_duration.map(|d| d.0 * self.sweep_rates().len() as u32), None),
            Executor::Stages => (Some(duration.map_or(stages, |d| d.min(stages))), self.requests),
            Executor::Trace => {
                let records = self.replay.as_ref().map(|t| (t.records.len() as u64, t.records.last().map_or(Duration::ZERO, |r| r.at)));
                let (count, span) = records.unwrap_or_default();
                let span = span.div_f64(self.speed.unwrap_or(1.0));
                (Some(duration.map_or(span, |d| d.min(span))), Some(self.requests.map_or(count, |r| r.min(count))))
            }
            _ => (duration, self.requests),
        }
    }

    /// The sweep's rates, from `rates` or from `up_to` in `steps`.
    pub fn sweep_rates(&self) -> Vec<f64> {
        match (&self.rates, self.up_to, self.steps) {
            (Some(rates), _, _) => rates.clone(),
            (None, Some(top), Some(k)) => (1..=k.get()).map(|i| top * f64::from(i) / f64::from(k.get())).collect(),
            _ => Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_max_in_flight() -> NonZeroU32 {
    NonZeroU32::new(1000).unwrap_or(NonZeroU32::MIN)
}

/// Requests per second a load may ask for: below, one request would take over 15 minutes
/// to come due; above, no single machine sends them.
const RATES: std::ops::RangeInclusive<f64> = 0.001..=1_000_000.0;
/// Most workers, or requests in flight, a load may ask for.
const MOST_WORKERS: u32 = 100_000;
/// Most steps or stages a load may have.
const MOST_STEPS: usize = 1000;

impl LoadSpec {
    /// Every number within a range a run can honour without overflowing its clocks.
    fn check_ranges(&self) -> Result<(), String> {
        let rate_ok = |r: f64| RATES.contains(&r);
        if self.rate.is_some_and(|r| !rate_ok(r)) {
            return Err("rate must be from 0.001 to 1000000 requests per second".into());
        }
        if self.rates.iter().flatten().chain(&self.up_to).any(|r| !rate_ok(*r)) {
            return Err("sweep rates must be from 0.001 to 1000000 requests per second".into());
        }
        if self.steps.is_some_and(|s| s.get() as usize > MOST_STEPS) || self.rates.as_ref().is_some_and(|r| r.len() > MOST_STEPS) {
            return Err(format!("a sweep has at most {MOST_STEPS} steps"));
        }
        if self.concurrency.is_some_and(|c| c.get() > MOST_WORKERS) {
            return Err(format!("concurrency must be at most {MOST_WORKERS}"));
        }
        if self.warmup.is_some_and(|w| w > u64::from(MOST_WORKERS)) {
            return Err(format!("warmup must be at most {MOST_WORKERS} requests"));
        }
        if self.max_in_flight.get() > 10 * MOST_WORKERS {
            return Err(format!("max_in_flight must be at most {}", 10 * MOST_WORKERS));
        }
        let stages = self.stages.iter().flatten();
        if self.stages.as_ref().is_some_and(|s| s.len() > MOST_STEPS) {
            return Err(format!("a ramp has at most {MOST_STEPS} stages"));
        }
        let level_max = match self.ramp {
            Ramp::Rate => *RATES.end(),
            Ramp::Concurrency => f64::from(MOST_WORKERS),
        };
        if stages.clone().map(|s| s.target).chain(self.start).any(|l| l > level_max) {
            return Err(format!("stage targets and start must be at most {level_max}"));
        }
        let stage_time: Duration = stages.map(|s| s.duration.0).sum();
        let sweep_time = self.step_duration.map_or(Duration::ZERO, |d| d.0.saturating_mul(self.sweep_rates().len() as u32));
        if stage_time.max(sweep_time) > super::duration::LONGEST {
            return Err("a load lasts at most 30 days, stages or sweep steps added up".into());
        }
        Ok(())
    }
}

impl Validate for LoadSpec {
    fn validate(&self) -> Result<(), String> {
        self.check_ranges()?;
        let traced = self.trace.is_some() || self.speed.is_some() || self.block_tokens.is_some();
        if self.executor == Executor::Trace {
            if self.trace.is_none() {
                return Err("the trace executor needs `trace: FILE.jsonl`".into());
            }
            if self.speed.is_some_and(|s| !(0.01..=1000.0).contains(&s)) {
                return Err("speed must be from 0.01 to 1000".into());
            }
            if self.block_tokens.is_some_and(|b| b.get() > 65_536) {
                return Err("block_tokens must be at most 65536".into());
            }
            if self.concurrency.is_some() || self.rate.is_some() || self.stages.is_some() || self.rates.is_some() || self.up_to.is_some() {
                return Err("the trace executor takes `trace`, `speed`, `block_tokens`, `max_in_flight`, `requests` and `duration`".into());
            }
            return Ok(());
        }
        if traced {
            return Err("`trace`, `speed` and `block_tokens` belong to the trace executor".into());
        }
        if self.executor == Executor::Sweep {
            let rates = self.sweep_rates();
            if rates.is_empty() {
                return Err("the sweep executor needs `rates: [...]`, or `up_to` with `steps`".into());
            }
            if rates.iter().any(|r| !r.is_finite() || *r <= 0.0) {
                return Err("sweep rates must be above 0".into());
            }
            if self.step_duration.is_none() {
                return Err("the sweep executor needs `step_duration`".into());
            }
            if self.concurrency.is_some() || self.rate.is_some() {
                return Err("the sweep executor takes `rates` (or `up_to` and `steps`), not `concurrency` or `rate`".into());
            }
            return Ok(());
        }
        if self.executor == Executor::Stages {
            let Some(stages) = self.stages.as_ref().filter(|s| !s.is_empty()) else {
                return Err("the stages executor needs `stages: [{duration, target}, ...]`".into());
            };
            let valid = |r: f64| r.is_finite() && r >= 0.0 && (self.ramp == Ramp::Rate || r.fract() == 0.0);
            if stages.iter().any(|s| s.duration.0.is_zero() || !valid(s.target)) || !self.start.is_none_or(valid) {
                return Err(match self.ramp {
                    Ramp::Rate => "stage durations must be above 0 and rates 0 or more",
                    Ramp::Concurrency => "stage durations must be above 0 and worker counts whole numbers, 0 or more",
                }
                .into());
            }
            if self.concurrency.is_some() || self.rate.is_some() {
                return Err("the stages executor takes `stages` (and `start`), not `concurrency` or `rate`".into());
            }
            if self.ramp == Ramp::Concurrency && stages.iter().all(|s| s.target < 1.0) && self.start.is_none_or(|s| s < 1.0) {
                return Err("a concurrency ramp needs at least one stage with a target of 1 or more".into());
            }
            return Ok(());
        }
        if self.stages.is_some() || self.start.is_some() || self.ramp != Ramp::Rate {
            return Err("`stages`, `ramp` and `start` belong to the stages executor".into());
        }
        if self.rates.is_some() || self.up_to.is_some() || self.step_duration.is_some() || !self.slo.is_empty() {
            return Err("`rates`, `up_to`, `steps`, `step_duration` and `slo` belong to the sweep executor".into());
        }
        if self.requests.is_none() && self.duration.is_none() {
            return Err("load needs `requests` (a count), `duration`, or both, so the run stops by itself".into());
        }
        if self.requests == Some(0) {
            return Err("load.requests must be at least 1".into());
        }
        match (self.executor, self.concurrency, self.rate) {
            (Executor::Concurrency, None, _) => Err("the concurrency executor needs `concurrency`".into()),
            (Executor::Concurrency, Some(_), Some(_)) => {
                Err("`rate` is for the open-loop executors (constant-rate, poisson); the concurrency executor takes `concurrency`".into())
            }
            (Executor::Concurrency, Some(_), None) => Ok(()),
            (_, Some(_), _) => Err(format!(
                "the {} executor takes `rate` and `max_in_flight`, not `concurrency`",
                self.executor.id()
            )),
            (_, None, Some(r)) if r.is_finite() && r > 0.0 => Ok(()),
            (_, None, _) => Err(format!("the {} executor needs `rate` (requests per second, above 0)", self.executor.id())),
        }
    }
}

fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(120))
}

fn default_connect_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}
