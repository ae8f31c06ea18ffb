//! Scenario files: the YAML a user writes, checked once into a validated [`Scenario`].
//!
//! Every check happens while deserializing, so the YAML parser attaches the line and column of
//! the offending node to each message, type errors, unknown keys and semantic rules alike.
//! The YAML itself is read through [`crate::yaml`], the one place the YAML crate is named.

mod visit;
pub mod abort_spec;
pub mod capture_mode;
pub mod prices_spec;
pub mod model_scan;
pub mod records_mode;
pub mod retry_spec;
pub mod dataset;
pub mod duration;
pub mod error;
mod jsonl;
mod reference;
pub mod schema;
mod schema_values;
pub mod load_spec;
pub mod net_spec;
pub mod size;
pub mod target;
pub mod template;
pub mod trace;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use visit::{report_name, some_validated, string_where, threshold_list, validated, Checked, Validate};
pub use capture_mode::CaptureMode;
pub use records_mode::RecordsMode;
pub use duration::HumanDuration;
pub use error::ScenarioError;
pub use load_spec::{Executor, GoodputSpec, LoadSpec, Ramp, StageSpec};
pub use target::{HttpTarget, MockSpec, StallSpec, TargetKind, TargetSpec};
pub use size::Size;
pub use model_scan::{ModelScan, MAX_SCAN_MODELS};
pub use template::{BodyPlan, Built, PreparedRequest, RequestTemplate, SessionSpec, SharedPrefix, Traced, MAX_TURNS};
use template::non_empty_templates;

/// A scenario that parsed and passed every check.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name; names the report folder.
    #[serde(deserialize_with = "report_name")]
    #[schemars(with = "schema_values::ReportName")]
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
    #[schemars(length(min = 1))]
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
    #[schemars(with = "schema_values::FeatureList")]
    pub features: Vec<String>,
    /// Pass/fail expressions over the report, e.g. `ttft.p95 < 800ms`.
    #[serde(default, deserialize_with = "threshold_list")]
    #[schemars(with = "Vec<schema_values::Threshold>")]
    pub thresholds: Vec<crate::thresholds::Threshold>,
    /// Before the load, send each model a target lists (`all`: from `GET /v1/models`, else
    /// the catalog) or each model named a few fixed requests, so every model gets a channel
    /// verdict (see docs/authenticity.md). The bound on requests and tokens is printed first.
    #[serde(default, deserialize_with = "model_scan::model_scan")]
    #[schemars(with = "Option<schema_values::ModelScan>")]
    pub authenticity: Option<ModelScan>,
    /// A file `relaybench fingerprint save` wrote: the token counts of a reference target,
    /// which every target's counts are held against when no target of the run is the
    /// reference (relative to this file).
    #[serde(default)]
    pub reference_file: Option<PathBuf>,
    /// The reference file, read when the scenario is loaded.
    #[serde(skip)]
    #[schemars(skip)]
    pub reference: Option<std::sync::Arc<crate::tokenizer::ReferenceFile>>,
    /// Before the load, fit each target's tokens per generated word with a few
    /// `count_tokens` requests (see [`crate::calibrate`]).
    #[serde(default)]
    pub calibrate: bool,
    /// The per-request SLO that counts a request toward goodput.
    #[serde(default, deserialize_with = "some_validated")]
    pub goodput: Option<GoodputSpec>,
    /// Which responses to keep as capture files in the report folder.
    #[serde(default)]
    pub capture: CaptureMode,
    /// Retry failed requests: `sdk` (the official SDK's policy: two retries of 408, 409,
    /// 429, 5xx, connection errors and timeouts, obeying `retry-after`), `none` (the
    /// default), or `{max, initial, max_delay, jitter, on, obey_headers}`.
    #[serde(default)]
    pub retry: retry_spec::RetrySpec,
    /// Stop the run by itself: `{error_rate, window, min_requests, consecutive_failures,
    /// tokens, cost, after}`, any of the conditions.
    #[serde(default, deserialize_with = "some_validated")]
    pub abort: Option<abort_spec::AbortSpec>,
    /// US dollars per unit of another currency, to compare costs billed in it, such as
    /// `{CNY: 0.14}`; never fetched, only given.
    #[serde(default)]
    pub fx: std::collections::BTreeMap<String, f64>,
    /// Write `requests.jsonl` (or `.jsonl.gz`), a line per request, into the report folder.
    #[serde(default)]
    #[schemars(with = "schema_values::Records")]
    pub records: RecordsMode,
}

/// One phase of a scenario: a load with its own name and thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    /// Name in the report.
    #[serde(deserialize_with = "report_name")]
    #[schemars(with = "schema_values::ReportName")]
    pub name: String,
    /// The load.
    #[serde(deserialize_with = "validated")]
    pub load: LoadSpec,
    /// Thresholds judged on this phase alone.
    #[serde(default, deserialize_with = "threshold_list")]
    #[schemars(with = "Vec<schema_values::Threshold>")]
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
        let references: Vec<&str> = self.targets.iter().filter(|t| t.reference).map(|t| t.name.as_str()).collect();
        if references.len() > 1 {
            return Err(format!("targets: {} are each the reference (`reference: true`, or the catalog's official API); give `reference: false` to all but one", references.join(", ")));
        }
        if self.reference_file.is_some() && self.authenticity.is_none() {
            return Err("reference_file: the token counts it holds are compared only with `authenticity:` set".into());
        }
        for (code, rate) in &self.fx {
            crate::provider::Currency::parse(code).map_err(|e| format!("fx: {e}"))?;
            if !(rate.is_finite() && *rate > 0.0 && *rate < 1e6) {
                return Err(format!("fx.{code} must be a rate above 0 (US dollars per unit)"));
            }
        }
        let traced = self.load.iter().chain(self.phases.iter().map(|p| &p.load)).any(|l| l.executor == Executor::Trace);
        if let Some(i) = self.requests.iter().position(|t| t.prompt_tokens.is_none()).filter(|_| traced) {
            return Err(format!("requests[{i}]: the trace executor sizes each prompt from the trace, so every template needs `prompt_tokens` (any size)"));
        }
        let phase_thresholds = self.phases.iter().flat_map(|p| p.thresholds.iter().chain(&p.load.slo));
        let slo = self.load.iter().flat_map(|l| &l.slo);
        if let Some(t) = self.thresholds.iter().chain(phase_thresholds).chain(slo).find(|t| t.subject.is_goodput()) {
            if self.goodput.is_none() {
                return Err(format!("the threshold `{}` needs `goodput: {{ttft, tpot, e2e}}`, the per-request SLO it counts", t.text));
            }
        }
        Ok(())
    }
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
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
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

impl schemars::JsonSchema for ProbeSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Probe".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let custom = generator.subschema_for::<CustomProbe>();
        schemars::json_schema!({
            "description": "A built-in probe name, or a custom probe with its request body and the status and error type it must get.",
            "anyOf": [{"enum": crate::probes::BUILTIN}, custom]
        })
    }
}

fn default_seed() -> u64 {
    1
}

fn default_output() -> PathBuf {
    PathBuf::from("reports")
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
                    body: c.body.to_string(),
                    key: if c.wrong_key { crate::probes::ProbeKey::Wrong } else { crate::probes::ProbeKey::Target },
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
            .map(|(i, t)| PreparedRequest::new(t, t.name.clone().unwrap_or_else(|| format!("request-{}", i + 1)), model, self.seed))
            .collect()
    }
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    // Refused before it is read: a scenario is a few kilobytes.
    if std::fs::metadata(path).is_ok_and(|m| m.len() > crate::yaml::MAX_BYTES as u64) {
        return Err(ScenarioError { file: path.to_owned(), line: None, column: None, message: format!("the file is larger than {} KiB", crate::yaml::MAX_BYTES >> 10) });
    }
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_owned(),
        line: None,
        column: None,
        message: format!("cannot read scenario: {e}"),
    })?;
    parse(&text, path)
}

/// [`load`], with command-line overrides (`--set load.concurrency=64`) applied to the
/// file's YAML first. A mistake an override made is reported against the override; the
/// file's own line numbers no longer hold once the YAML is rewritten, so a message then
/// names the field alone.
pub fn load_with(path: &Path, sets: &[String]) -> Result<Scenario, ScenarioError> {
    if sets.is_empty() {
        return load(path);
    }
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError { file: path.to_owned(), line: None, column: None, message: format!("cannot read scenario: {e}") })?;
    let plain = |message: String| ScenarioError { file: path.to_owned(), line: None, column: None, message };
    let rewritten = crate::yaml::with_sets(&text, sets).map_err(plain)?;
    parse(&rewritten, path).map_err(|e| plain(format!("{} (with --set {})", e.message, sets.join(" --set "))))
}

/// Parses scenario text; `path` names it in messages and is where files it names (a
/// trace) are found from.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let Checked(mut scenario) = crate::yaml::from_str::<Checked<Scenario>>(text).map_err(|e| ScenarioError {
        file: path.to_owned(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let folder = path.parent().unwrap_or(Path::new(""));
    for load in scenario.load.iter_mut().chain(scenario.phases.iter_mut().map(|p| &mut p.load)) {
        if let Some(file) = &load.trace {
            let block = load.block_tokens.map_or(512, |b| b.get());
            load.replay = Some(std::sync::Arc::new(trace::load(&folder.join(file), block)?));
        }
    }
    if let Some(file) = &scenario.reference_file {
        let file = folder.join(file);
        let read = crate::tokenizer::read_reference(&file).map_err(|message| ScenarioError { file: file.clone(), line: None, column: None, message })?;
        scenario.reference = Some(std::sync::Arc::new(read));
    }
    let seed = scenario.seed;
    for dataset in scenario.requests.iter_mut().filter_map(|t| t.dataset.as_mut()) {
        let file = folder.join(&dataset.file);
        let kept = dataset::count_kept(&file, dataset, seed)?;
        dataset.resolved = Some((file, kept, seed));
    }
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
        assert!(e.message.contains("exactly one of `prompt`, `messages`, `prompt_tokens` or `dataset`"), "{e}");
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
        assert_eq!(probes[0].key, crate::probes::ProbeKey::Wrong);
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
        assert_eq!(t.auth, crate::protocol::AuthStyle::Bearer);
        assert_eq!(t.anthropic_version, None);
        let e = err(&GOOD.replace("target: mock", "target:\n  mock:\n    ttft: soon"));
        assert_eq!(e.line, Some(4), "{e}");
        let e = err(&GOOD.replace("target: mock", "target:\n  mock:\n    quirk: stream.nope"));
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("stream.stop-reason-null"), "{e}");
    }
}
