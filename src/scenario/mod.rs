//! Scenario files: the YAML a user writes, checked once into a validated [`Scenario`].
//!
//! Every check happens while deserializing, so serde_yaml attaches the line and column of
//! the offending node to each message, type errors, unknown keys and semantic rules alike.
//! All YAML parsing stays behind [`load`] so the YAML crate can be swapped in one place.

pub mod duration;
pub mod target;

use std::fmt;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

pub use duration::HumanDuration;
pub use target::{HttpTarget, MockSpec, StallSpec, TargetKind, TargetSpec};

/// A scenario that parsed and passed every check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name; names the report folder.
    #[serde(deserialize_with = "report_name")]
    pub name: String,
    /// Free text for the report.
    #[serde(default)]
    pub description: Option<String>,
    /// Seed of every random choice (template picks, mock output and jitter).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Where requests go. Give this or `targets`.
    #[serde(default)]
    target: Option<TargetSpec>,
    /// Several targets, each sent the same workload at the same time, compared in one
    /// report.
    #[serde(default)]
    targets: Vec<TargetSpec>,
    /// Model id sent when a template names none.
    pub model: String,
    /// Request templates, picked by weight.
    #[serde(deserialize_with = "non_empty_templates")]
    pub requests: Vec<RequestTemplate>,
    /// How much load, for how long: one phase. Give this or `phases`.
    #[serde(default, deserialize_with = "some_validated")]
    load: Option<LoadSpec>,
    /// Several loads run one after another, each reported and judged on its own.
    #[serde(default)]
    phases: Vec<PhaseSpec>,
    /// Folder the report folder is created in.
    #[serde(default = "default_output")]
    pub output: PathBuf,
    /// Negative probes, sent once each before the load.
    #[serde(default)]
    pub probes: Vec<ProbeSpec>,
    /// Feature cases sent once each before the load: `all`, or a list of names.
    #[serde(default, deserialize_with = "feature_list")]
    pub features: Vec<String>,
    /// Pass/fail expressions over the report, e.g. `ttft.p95 < 800ms`.
    #[serde(default, deserialize_with = "threshold_list")]
    pub thresholds: Vec<crate::thresholds::Threshold>,
}

/// One phase of a scenario: a load with its own name and thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    /// Name in the report.
    #[serde(deserialize_with = "report_name")]
    pub name: String,
    /// The load.
    #[serde(deserialize_with = "validated")]
    pub load: LoadSpec,
    /// Thresholds judged on this phase alone.
    #[serde(default, deserialize_with = "threshold_list")]
    pub thresholds: Vec<crate::thresholds::Threshold>,
}

/// Name of the single phase of a scenario that gives `load:`.
pub const SINGLE_PHASE: &str = "load";

impl Validate for Scenario {
    fn validate(&self) -> Result<(), String> {
        match (&self.target, self.targets.is_empty()) {
            (Some(_), false) => return Err("give `target:` (one) or `targets:` (several, compared), not both".into()),
            (None, true) => return Err("missing field `target` (or `targets:`, a list of targets to compare)".into()),
            _ => {}
        }
        for (i, t) in self.targets.iter().enumerate() {
            if self.targets[..i].iter().any(|u| u.name == t.name) {
                return Err(format!("targets[{i}]: the name `{}` is used twice; give each target a distinct `name:`", t.name));
            }
        }
        match (&self.load, self.phases.is_empty()) {
            (Some(_), false) => return Err("give `load:` (one phase) or `phases:` (several), not both".into()),
            (None, true) => return Err("missing field `load` (or `phases:`, a list of {name, load, thresholds})".into()),
            _ => {}
        }
        for (i, phase) in self.phases.iter().enumerate() {
            if self.phases[..i].iter().any(|p| p.name == phase.name) {
                return Err(format!("phases[{i}]: the name `{}` is used twice; phases are reported by name", phase.name));
            }
        }
        Ok(())
    }
}

/// Thresholds, each parsed inside its own visitor so a mistake points at its line.
fn threshold_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<crate::thresholds::Threshold>, D::Error> {
    struct One(crate::thresholds::Threshold);
    impl<'de> Deserialize<'de> for One {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            parse_str(d, "a threshold such as `ttft.p95 < 800ms`", crate::thresholds::parse).map(One)
        }
    }
    Ok(Vec::<One>::deserialize(d)?.into_iter().map(|o| o.0).collect())
}

/// `all`, or a list of feature case names, each checked where it is written.
fn feature_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Name(String);
    impl<'de> Deserialize<'de> for Name {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            string_where(d, |name| {
                crate::features::is_feature(name).then_some(()).ok_or("unknown feature case; `relaybench features` lists them")
            })
            .map(Name)
        }
    }
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("`all` or a list of feature case names")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            match v {
                "all" => Ok(crate::features::all()),
                _ => Err(E::custom(format!("features: write `all` or a list of names, not {v:?}"))),
            }
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut names = Vec::new();
            while let Some(Name(n)) = seq.next_element()? {
                names.push(n);
            }
            Ok(names)
        }
    }
    d.deserialize_any(V)
}

/// A negative probe as written: a built-in name, or a custom request with its expectation.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeSpec {
    /// One of [`crate::probes::BUILTIN`].
    Builtin(String),
    /// A custom probe.
    Custom(CustomProbe),
}

/// A probe the scenario defines.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomProbe {
    /// Name in the report.
    pub name: String,
    /// The request body, sent as is.
    pub body: Value,
    /// Send it with a deliberately wrong key.
    #[serde(default)]
    pub wrong_key: bool,
    /// What the protocol requires back.
    pub expect: ProbeExpectation,
}

/// The status and error type a probe must get.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeExpectation {
    /// HTTP status.
    pub status: u16,
    /// `error.type`.
    pub error_type: String,
}

impl<'de> Deserialize<'de> for ProbeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProbeSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a built-in probe name or a map with name, body and expect")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ProbeSpec, E> {
                if crate::probes::BUILTIN.contains(&v) {
                    Ok(ProbeSpec::Builtin(v.to_owned()))
                } else {
                    Err(E::custom(format!("unknown probe {v:?}; built-in probes: {}", crate::probes::BUILTIN.join(", "))))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ProbeSpec, A::Error> {
                CustomProbe::deserialize(de::value::MapAccessDeserializer::new(map)).map(ProbeSpec::Custom)
            }
        }
        d.deserialize_any(V)
    }
}

fn default_seed() -> u64 {
    1
}

fn default_output() -> PathBuf {
    PathBuf::from("reports")
}

fn report_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    string_where(d, |name| {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        ok.then_some(()).ok_or(
            "name must be 1-64 characters of letters, digits, '-', '_' or '.' (it names the report folder)",
        )
    })
}

/// Deserializes a string and checks it with `check` inside the visitor.
fn string_where<'de, D: Deserializer<'de>>(
    d: D,
    check: fn(&str) -> Result<(), &'static str>,
) -> Result<String, D::Error> {
    parse_str(d, "a string", |v| check(v).map(|()| v.to_owned()).map_err(str::to_owned))
}

/// Deserializes a string into a value with `parse`, inside the string's own visitor, so
/// an error carries the position of the string itself rather than of the map around it.
/// `expecting` says what was wanted when the value is not a string at all.
fn parse_str<'de, D, T, F>(d: D, expecting: &'static str, parse: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    struct V<F>(&'static str, F);
    impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for V<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.1)(v).map_err(E::custom)
        }
    }
    d.deserialize_str(V(expecting, parse))
}

/// A map-shaped value with rules that span several of its fields.
trait Validate {
    fn validate(&self) -> Result<(), String>;
}

/// Deserializes a map into `T` and applies `T::validate` inside the map's own visitor,
/// so a rule's error points at the map (and field errors still point at the field).
fn validated<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Validate,
{
    d.deserialize_map(ValidatedVisitor(std::marker::PhantomData))
}

struct ValidatedVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de> + Validate> Visitor<'de> for ValidatedVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let value = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
        value.validate().map_err(de::Error::custom)?;
        Ok(value)
    }
}

fn some_validated<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Validate,
{
    validated(d).map(Some)
}

/// One validated template, for use as a sequence element.
struct CheckedTemplate(RequestTemplate);

impl<'de> Deserialize<'de> for CheckedTemplate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated(d).map(CheckedTemplate)
    }
}

fn non_empty_templates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RequestTemplate>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<RequestTemplate>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of request templates")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut list = Vec::new();
            while let Some(CheckedTemplate(t)) = seq.next_element()? {
                list.push(t);
            }
            if list.is_empty() {
                return Err(de::Error::custom("requests needs at least one request template"));
            }
            Ok(list)
        }
    }
    d.deserialize_seq(V)
}

/// One kind of request in the mix.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTemplate {
    /// Name in the report; defaults to `request-N`.
    #[serde(default)]
    pub name: Option<String>,
    /// Relative share of requests.
    #[serde(default = "default_weight")]
    pub weight: NonZeroU32,
    /// Ask for a stream.
    #[serde(default)]
    pub stream: bool,
    /// Overrides the scenario's model.
    #[serde(default)]
    pub model: Option<String>,
    /// `max_tokens`.
    pub max_tokens: u64,
    /// Shorthand for one user message.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Full `messages` array, passed through.
    #[serde(default)]
    pub messages: Option<Value>,
    /// `system`, string or block array.
    #[serde(default)]
    pub system: Option<Value>,
    /// `temperature`.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// `top_p`.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// `top_k`.
    #[serde(default)]
    pub top_k: Option<u64>,
    /// `stop_sequences`.
    #[serde(default)]
    pub stop_sequences: Option<Vec<String>>,
    /// `tools`, passed through.
    #[serde(default)]
    pub tools: Option<Value>,
    /// `tool_choice`, passed through.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    /// `thinking`, passed through.
    #[serde(default)]
    pub thinking: Option<Value>,
    /// `metadata`, passed through.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Any other body fields, merged in as they are.
    #[serde(default)]
    pub extra: Map<String, Value>,
}

fn default_weight() -> NonZeroU32 {
    NonZeroU32::MIN
}

impl Validate for RequestTemplate {
    fn validate(&self) -> Result<(), String> {
        if self.prompt.is_some() == self.messages.is_some() {
            return Err("a request template needs exactly one of `prompt` or `messages`".into());
        }
        Ok(())
    }
}

impl RequestTemplate {
    /// The request body this template sends, for the scenario's default `model`.
    pub fn body(&self, default_model: &str) -> Value {
        let mut body = Map::new();
        let model = self.model.as_deref().unwrap_or(default_model);
        body.insert("model".into(), model.into());
        body.insert("max_tokens".into(), self.max_tokens.into());
        let messages = match (&self.messages, &self.prompt) {
            (Some(m), _) => m.clone(),
            (None, Some(p)) => serde_json::json!([{"role": "user", "content": p}]),
            (None, None) => Value::Array(Vec::new()),
        };
        body.insert("messages".into(), messages);
        let optional = [
            ("system", self.system.clone()),
            ("temperature", self.temperature.map(Value::from)),
            ("top_p", self.top_p.map(Value::from)),
            ("top_k", self.top_k.map(Value::from)),
            ("stop_sequences", self.stop_sequences.clone().map(Value::from)),
            ("tools", self.tools.clone()),
            ("tool_choice", self.tool_choice.clone()),
            ("thinking", self.thinking.clone()),
            ("metadata", self.metadata.clone()),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                body.insert(key.into(), v);
            }
        }
        if self.stream {
            body.insert("stream".into(), true.into());
        }
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }
}

/// How requests are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
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
    /// `slo`; the report names the highest rate that met it (the goodput).
    Sweep,
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
        }
    }
}

/// How much load, for how long.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// How requests are scheduled.
    #[serde(default)]
    pub executor: Executor,
    /// Requests in flight at once (closed loop).
    #[serde(default)]
    pub concurrency: Option<NonZeroU32>,
    /// Requests per second (open loop).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Open loop: a request due while this many are in flight is dropped (counted, not sent).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: NonZeroU32,
    /// Stop after this many requests.
    #[serde(default)]
    pub requests: Option<u64>,
    /// Stop starting requests after this long.
    #[serde(default)]
    pub duration: Option<HumanDuration>,
    /// Limit of one request, from start to the end of its body.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Limit on connection set-up.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: HumanDuration,
    /// Limit from sending to the response head.
    #[serde(default)]
    pub ttfb_timeout: Option<HumanDuration>,
    /// Longest silence allowed between two pieces of a stream.
    #[serde(default)]
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
    pub stages: Option<Vec<StageSpec>>,
    /// Sweep: the rates to hold, in order.
    #[serde(default)]
    pub rates: Option<Vec<f64>>,
    /// Sweep: instead of `rates`, go up to this rate…
    #[serde(default)]
    pub up_to: Option<f64>,
    /// …in this many equal steps.
    #[serde(default)]
    pub steps: Option<NonZeroU32>,
    /// Sweep: how long each rate is held.
    #[serde(default)]
    pub step_duration: Option<HumanDuration>,
    /// Sweep: the thresholds each step must meet to count toward the goodput.
    #[serde(default, deserialize_with = "threshold_list")]
    pub slo: Vec<crate::thresholds::Threshold>,
}

/// What a `stages` ramp moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ramp {
    /// Requests per second (open loop).
    #[default]
    Rate,
    /// Requests in flight (closed loop).
    Concurrency,
}

/// One stage of a ramp.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// How long the stage lasts.
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

fn default_max_in_flight() -> NonZeroU32 {
    NonZeroU32::new(1000).unwrap_or(NonZeroU32::MIN)
}

impl Validate for LoadSpec {
    fn validate(&self) -> Result<(), String> {
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

/// A prepared template: its name, weight and serialized body.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// Report name.
    pub name: String,
    /// Relative share.
    pub weight: NonZeroU32,
    /// Whether it streams.
    pub stream: bool,
    /// Body bytes, built once.
    pub body: Bytes,
    /// What the body asks for, for the request-aware checks (tool schemas compiled once).
    pub facts: std::sync::Arc<crate::conformance::request::RequestFacts>,
}

impl Scenario {
    /// The phases in run order; a scenario with `load:` has one, named [`SINGLE_PHASE`].
    pub fn phases(&self) -> Vec<PhaseSpec> {
        match &self.load {
            Some(load) => vec![PhaseSpec { name: SINGLE_PHASE.to_owned(), load: load.clone(), thresholds: Vec::new() }],
            None => self.phases.clone(),
        }
    }

    /// The targets in the order given; a scenario with `target:` has one.
    pub fn targets(&self) -> Vec<TargetSpec> {
        match &self.target {
            Some(t) => vec![t.clone()],
            None => self.targets.clone(),
        }
    }

    /// The probes, resolved (built-ins use `model`).
    pub fn probes(&self, model: &str) -> Vec<crate::probes::Probe> {
        self.probes
            .iter()
            .filter_map(|p| match p {
                ProbeSpec::Builtin(name) => crate::probes::builtin(name, model),
                ProbeSpec::Custom(c) => Some(crate::probes::Probe {
                    name: c.name.clone(),
                    body: c.body.clone(),
                    wrong_key: c.wrong_key,
                    expect_status: c.expect.status,
                    expect_error_type: c.expect.error_type.clone(),
                }),
            })
            .collect()
    }

    /// Templates with their bodies serialized once, so the hot loop only clones `Bytes`;
    /// `model` goes to templates that name none.
    pub fn prepared_requests(&self, model: &str) -> Vec<PreparedRequest> {
        self.requests
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let body = t.body(model);
                PreparedRequest {
                    name: t.name.clone().unwrap_or_else(|| format!("request-{}", i + 1)),
                    weight: t.weight,
                    stream: t.stream,
                    facts: std::sync::Arc::new(crate::conformance::request::RequestFacts::from_body(&body)),
                    body: Bytes::from(body.to_string()),
                }
            })
            .collect()
    }
}

/// A scenario file that could not be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong, naming the field.
    pub message: String,
}

impl ScenarioError {
    fn render(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}: {}", self.file.display(), self.message),
            _ => format!("{}: {}", self.file.display(), self.message),
        }
    }
}

/// Parses YAML text into a JSON value. All YAML reading goes through this module, so the
/// YAML crate can be replaced in one place.
pub fn yaml_to_json(text: &str) -> Result<Value, String> {
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_owned(),
        line: None,
        column: None,
        message: format!("cannot read scenario: {e}"),
    })?;
    parse(&text, path)
}

/// Parses scenario text; `path` is used in messages only.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let scenario: Scenario = validated(serde_yaml::Deserializer::from_str(text)).map_err(|e: serde_yaml::Error| {
        let location = e.location();
        // serde_yaml ends its message with " at line L column C"; the prefix says it.
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) if location.is_some() => message[..at].to_owned(),
            _ => message,
        };
        ScenarioError {
            file: path.to_owned(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            message,
        }
    })?;
    Ok(scenario)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
name: smoke
target: mock
model: claude-sonnet-4-5
requests:
  - name: short
    stream: true
    max_tokens: 64
    prompt: hello
load:
  concurrency: 4
  requests: 10
";

    fn err(text: &str) -> ScenarioError {
        parse(text, Path::new("s.yaml")).expect_err("scenario must be rejected")
    }

    #[test]
    fn good_scenario_builds_the_documented_body() {
        let s = parse(GOOD, Path::new("s.yaml")).expect("valid");
        assert_eq!(s.targets(), [TargetSpec::mock()]);
        let body = s.requests[0].body(&s.model);
        assert_eq!(
            body,
            serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true,
                "messages": [{"role": "user", "content": "hello"}]})
        );
    }

    #[test]
    fn typo_names_file_line_column_and_field() {
        let e = err(&GOOD.replace("max_tokens: 64", "max_token: 64"));
        assert_eq!((e.line, e.column), (Some(7), Some(5)), "{e}");
        assert!(e.to_string().starts_with("s.yaml:7:5: requests[0]: "), "{e}");
        assert!(e.message.contains("unknown field `max_token`"), "{e}");
    }

    #[test]
    fn type_error_points_at_the_value() {
        let e = err(&GOOD.replace("concurrency: 4", "concurrency: four"));
        assert_eq!(e.line, Some(10), "{e}");
        assert!(e.message.contains("concurrency"), "{e}");
        let e = err(&GOOD.replace("concurrency: 4", "concurrency: 0"));
        assert_eq!(e.line, Some(10), "{e}");
    }

    #[test]
    fn rules_spanning_fields_point_at_their_map() {
        let e = err(&GOOD.replace("    prompt: hello\n", ""));
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("exactly one of `prompt` or `messages`"), "{e}");
        let e = err(&GOOD.replace("  requests: 10\n", ""));
        assert_eq!(e.line, Some(10), "{e}");
        assert!(e.message.contains("stops by itself"), "{e}");
    }

    #[test]
    fn open_loop_executors_take_a_rate_not_a_concurrency() {
        let open = GOOD.replace("  concurrency: 4\n", "  executor: poisson\n  rate: 50\n");
        let s = parse(&open, Path::new("s.yaml")).expect("valid");
        let load = &s.phases()[0].load;
        assert_eq!((load.executor, load.rate), (Executor::Poisson, Some(50.0)));
        let e = err(&GOOD.replace("  concurrency: 4\n", "  executor: constant-rate\n"));
        assert!(e.message.contains("needs `rate`"), "{e}");
        assert_eq!(e.line, Some(10), "{e}");
        let e = err(&GOOD.replace("  concurrency: 4\n", "  executor: poisson\n  concurrency: 4\n  rate: 5\n"));
        assert!(e.message.contains("not `concurrency`"), "{e}");
        let e = err(&GOOD.replace("  concurrency: 4\n", "  executor: sometimes\n"));
        assert_eq!(e.line, Some(10), "{e}");
    }

    #[test]
    fn thresholds_parse_and_a_bad_one_names_its_line() {
        let text = format!("{GOOD}thresholds:\n  - ttft.p95 < 800ms\n  - error_rate < 1%\n");
        assert_eq!(parse(&text, Path::new("s.yaml")).expect("valid").thresholds.len(), 2);
        let e = err(&format!("{GOOD}thresholds:\n  - ttft.p95 < 800ms\n  - tfft.p95 < 1s\n"));
        assert_eq!(e.line, Some(14), "{e}");
        assert!(e.message.contains("unknown threshold metric"), "{e}");
    }

    #[test]
    fn stages_take_a_list_of_duration_and_target() {
        let ramp = GOOD.replace("  concurrency: 4\n  requests: 10\n", "  executor: stages\n  stages:\n    - {duration: 5s, target: 50}\n    - {duration: 5s, target: 0}\n");
        let s = parse(&ramp, Path::new("s.yaml")).expect("valid");
        assert_eq!(s.phases()[0].load.stages.as_ref().map(Vec::len), Some(2));
        let e = err(&GOOD.replace("  concurrency: 4\n  requests: 10\n", "  executor: stages\n"));
        assert!(e.message.contains("needs `stages: ["), "{e}");
        let workers = ramp.replace("executor: stages\n", "executor: stages\n  ramp: concurrency\n");
        assert_eq!(parse(&workers, Path::new("s.yaml")).expect("valid").phases()[0].load.ramp, Ramp::Concurrency);
        let e = err(&workers.replace("target: 50", "target: 2.5"));
        assert!(e.message.contains("whole numbers"), "{e}");
        let e = err(&GOOD.replace("  requests: 10\n", "  requests: 10\n  ramp: concurrency\n"));
        assert!(e.message.contains("belong to the stages executor"), "{e}");
    }

    #[test]
    fn sweep_takes_rates_or_up_to_in_steps() {
        let sweep = GOOD.replace("  concurrency: 4\n  requests: 10\n", "  executor: sweep\n  up_to: 80\n  steps: 4\n  step_duration: 2s\n  slo: [ttft.p95 < 500ms]\n");
        let s = parse(&sweep, Path::new("s.yaml")).expect("valid");
        let load = &s.phases()[0].load;
        assert_eq!(load.sweep_rates(), [20.0, 40.0, 60.0, 80.0]);
        assert_eq!(load.slo.len(), 1);
        let e = err(&GOOD.replace("  concurrency: 4\n  requests: 10\n", "  executor: sweep\n  rates: [5, 10]\n"));
        assert!(e.message.contains("step_duration"), "{e}");
        let e = err(&GOOD.replace("  requests: 10\n", "  requests: 10\n  slo: [ttft.p95 < 1s]\n"));
        assert!(e.message.contains("belong to the sweep"), "{e}");
    }

    #[test]
    fn phases_run_in_order_with_their_own_thresholds() {
        let phases = "phases:\n  - name: warm-up\n    load: {concurrency: 2, requests: 4}\n  - name: steady\n    load: {executor: constant-rate, rate: 5, duration: 1s}\n    thresholds: [ttft.p95 < 1s]\n";
        let text = GOOD.replace("load:\n  concurrency: 4\n  requests: 10\n", phases);
        let s = parse(&text, Path::new("s.yaml")).expect("valid");
        let names: Vec<String> = s.phases().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["warm-up", "steady"]);
        assert_eq!(s.phases()[1].thresholds.len(), 1);
        assert_eq!(parse(GOOD, Path::new("s.yaml")).expect("valid").phases()[0].name, SINGLE_PHASE);
        // Each phase's load is checked where it is written.
        let e = err(&text.replace("rate: 5, ", ""));
        assert_eq!(e.line, Some(13), "{e}");
        assert!(e.message.contains("needs `rate`"), "{e}");
        let e = err(&text.replace("name: steady", "name: warm-up"));
        assert!(e.message.contains("used twice"), "{e}");
        let e = err(&format!("{text}load: {{concurrency: 1, requests: 1}}\n"));
        assert!(e.message.contains("not both"), "{e}");
        let e = err(&GOOD.replace("load:\n  concurrency: 4\n  requests: 10\n", ""));
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.message.contains("missing field `load`"), "{e}");
    }

    #[test]
    fn probes_are_builtin_names_or_custom_maps() {
        let text = format!("{GOOD}probes:\n  - wrong-key\n  - name: empty\n    body: {{model: m, max_tokens: 8, messages: []}}\n    expect: {{status: 400, error_type: invalid_request_error}}\n");
        let s = parse(&text, Path::new("s.yaml")).expect("valid");
        let probes = s.probes(&s.model);
        assert_eq!(probes.len(), 2);
        assert!(probes[0].wrong_key);
        assert_eq!(probes[1].expect_status, 400);
        let e = err(&format!("{GOOD}probes:\n  - wrong-kye\n"));
        assert_eq!(e.line, Some(13), "{e}");
        assert!(e.message.contains("missing-max-tokens"), "{e}");
    }

    #[test]
    fn key_pasted_as_env_name_is_rejected_without_echo() {
        let text = GOOD.replace(
            "target: mock",
            "target:\n  base_url: https://relay.example\n  auth: bearer\n  api_key_env: sk-ant-SECRET123",
        );
        let e = err(&text);
        assert_eq!(e.line, Some(5), "{e}");
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }

    #[test]
    fn http_target_needs_its_env_var_and_reads_defaults() {
        let text = GOOD.replace("target: mock", "target:\n  base_url: https://relay.example");
        assert!(err(&text).message.contains("api_key_env is required"));
        let text = GOOD.replace(
            "target: mock",
            "target:\n  base_url: https://relay.example\n  auth: bearer\n  api_key_env: RELAY_KEY\n  anthropic_version: null",
        );
        let s = parse(&text, Path::new("s.yaml")).expect("valid");
        let TargetKind::Http(t) = s.targets().remove(0).kind else { panic!("http target") };
        assert_eq!(t.auth, crate::client::AuthStyle::Bearer);
        assert_eq!(t.anthropic_version, None);
        let e = err(&GOOD.replace("target: mock", "target:\n  mock:\n    ttft: soon"));
        assert_eq!(e.line, Some(4), "{e}");
        let e = err(&GOOD.replace("target: mock", "target:\n  mock:\n    quirk: stream.nope"));
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("stream.stop-reason-null"), "{e}");
    }
}
