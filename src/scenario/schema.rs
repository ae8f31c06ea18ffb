//! The JSON Schema of scenario files, derived from the types the parser fills
//! (`schemars` reads their serde attributes and doc comments), so an editor checks a file
//! while it is written with the same fields, defaults and ranges the loader enforces.
//!
//! The loader stays the judge: rules that span fields (a template gives exactly one prompt
//! source, a load's executor takes its own fields) are also written here where JSON Schema
//! can say them, but a file the schema admits can still be refused with a file:line message.
//! Values the parser reads through its own functions (durations, token sizes, thresholds,
//! names checked against a list) get their schema from the marker types below, each built
//! from the same constants and lists the parser checks against.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Value};

use super::duration::LONGEST;
use super::size::{MAX_INPUT_TOKENS, MAX_OUTPUT_TOKENS};
use super::Scenario;

/// The address editors are pointed at by each example scenario's first line.
pub const SCHEMA_PATH: &str = "schemas/scenario.schema.json";

/// The scenario schema as JSON, pretty-printed with a final newline: the bytes of
/// [`SCHEMA_PATH`].
pub fn scenario_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&scenario_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The scenario schema.
pub fn scenario_schema() -> Value {
    let mut schema = schemars::schema_for!(Scenario).to_value();
    plain_descriptions(&mut schema);
    if let Some(root) = schema.as_object_mut() {
        root.insert("title".into(), "relaybench scenario".into());
        // One of each pair, as `Scenario::validate` requires.
        root.insert(
            "allOf".into(),
            json!([
                {"oneOf": [{"required": ["target"]}, {"required": ["targets"]}]},
                {"oneOf": [{"required": ["load"]}, {"required": ["phases"]}]}
            ]),
        );
    }
    schema
}

/// Descriptions come from doc comments: joined into one line each, with intra-doc links
/// (`[`crate::synth`]`) written as the plain name an editor's tooltip can show.
fn plain_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(text) if key == "description" => *text = plain(text),
                    other => plain_descriptions(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(plain_descriptions),
        _ => {}
    }
}

fn plain(text: &str) -> String {
    let mut out = text.split('\n').map(str::trim).collect::<Vec<_>>().join(" ");
    while let Some(start) = out.find("[`") {
        let Some(len) = out[start..].find("`]") else { break };
        let path = &out[start + 2..start + len];
        let name = path.rsplit("::").next().unwrap_or(path).to_owned();
        out.replace_range(start..start + len + 2, &format!("`{name}`"));
    }
    out
}

/// A request template gives exactly one source of its prompt (`RequestTemplate::validate`).
pub(super) fn one_prompt_source(schema: &mut Schema) {
    let sources = ["prompt", "messages", "prompt_tokens", "dataset"].map(|f| json!({"required": [f]}));
    schema.insert("oneOf".into(), Value::Array(sources.to_vec()));
}

/// Defines a marker type whose schema is a named definition built by `$build`.
macro_rules! marker {
    ($(#[$doc:meta])* $name:ident, $title:literal, $build:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                $title.into()
            }
            fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                let build: fn(&mut SchemaGenerator) -> Value = $build;
                Schema::try_from(build(generator)).unwrap_or_default()
            }
        }
    };
}

marker!(
    /// `250ms`, `2s`, `1.5s`, `3m`, `1h`, `90us`, or a number of seconds ([`super::duration::parse`]).
    Duration,
    "Duration",
    |_| json!({
        "description": "A duration: a number with a unit (us, ms, s, m, h), such as 250ms, 2s or 1m, or a bare number of seconds; at most 30 days.",
        "anyOf": [
            {"type": "string", "pattern": "^\\s*[0-9]*\\.?[0-9]+\\s*(us|µs|ms|s|m|h)?\\s*$"},
            {"type": "number", "minimum": 0, "maximum": LONGEST.as_secs()}
        ]
    })
);

marker!(
    /// A name that also names a report folder (`visit::report_name`).
    ReportName,
    "ReportName",
    |_| json!({
        "description": "1-64 characters of letters, digits, '-', '_' or '.': it names a report folder.",
        "type": "string",
        "pattern": "^[A-Za-z0-9._-]{1,64}$"
    })
);

marker!(
    /// A threshold expression ([`crate::thresholds::parse`]).
    Threshold,
    "Threshold",
    |_| json!({
        "description": "A pass/fail expression over the report: METRIC.STAT OP VALUE (such as `ttft.p95 < 800ms`) or a run-level figure (such as `error_rate < 1%`).",
        "type": "string",
        "pattern": crate::thresholds::pattern()
    })
);

marker!(
    /// `all` or feature case names ([`crate::features::all`]).
    FeatureList,
    "FeatureList",
    |_| json!({
        "description": "`all`, or a list of feature case names (`relaybench features` lists them).",
        "anyOf": [
            {"const": "all"},
            {"type": "array", "items": {"enum": crate::features::all()}}
        ]
    })
);

marker!(
    /// A catalog id ([`crate::provider::CATALOG`]).
    ProviderId,
    "ProviderId",
    |_| json!({
        "description": "A provider of the built-in catalog (`relaybench providers` lists them).",
        "enum": crate::provider::CATALOG.iter().map(|p| p.id).collect::<Vec<_>>()
    })
);

marker!(
    /// A rule the mock can break on purpose ([`crate::mock::quirk::available`]).
    Quirk,
    "Quirk",
    |_| json!({
        "description": "A conformance rule id the mock breaks on purpose.",
        "enum": crate::mock::quirk::available().map(|r| r.id()).collect::<Vec<_>>()
    })
);

marker!(
    /// The name of an environment variable, never the key (`target::env_var_name`).
    EnvVarName,
    "EnvVarName",
    |_| json!({
        "description": "The NAME of the environment variable that holds the key, never the key itself.",
        "type": "string",
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"
    })
);

marker!(
    /// A built-in negative probe, or one the scenario defines ([`super::ProbeSpec`]).
    Probe,
    "Probe",
    |g| {
        let custom = g.subschema_for::<super::CustomProbe>();
        json!({
            "description": "A built-in probe name, or a custom probe with its request body and the status and error type it must get.",
            "anyOf": [{"enum": crate::probes::BUILTIN}, custom]
        })
    }
);

marker!(
    /// Per-request records ([`super::RecordsMode`]).
    Records,
    "Records",
    |_| json!({
        "description": "Write requests.jsonl: true, false, or a format (jsonl, gzip).",
        "anyOf": [{"type": "boolean"}, {"enum": ["off", "jsonl", "gzip", "true", "false"]}]
    })
);

marker!(
    /// The distribution names [`super::size`] reads.
    DistributionName,
    "DistributionName",
    |_| json!({"enum": ["uniform", "normal", "lognormal", "empirical"]})
);

/// A token count within `1..=limit`, or a distribution of them.
fn size(generator: &mut SchemaGenerator, what: &str, limit: u64) -> Value {
    let distribution = generator.subschema_for::<super::size::Written>();
    json!({
        "description": format!("{what}: a token count from 1 to {limit}, or a distribution drawn per request."),
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": limit},
            distribution
        ]
    })
}

marker!(
    /// `prompt_tokens` ([`super::size::input_size`]).
    InputSize,
    "InputSize",
    |g| size(g, "Input tokens", MAX_INPUT_TOKENS)
);

marker!(
    /// `max_tokens` ([`super::size::output_size`]).
    OutputSize,
    "OutputSize",
    |g| size(g, "Output tokens", MAX_OUTPUT_TOKENS)
);

impl JsonSchema for super::TargetSpec {
    fn schema_name() -> Cow<'static, str> {
        "Target".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let provider = generator.subschema_for::<ProviderId>();
        let fields = generator.subschema_for::<super::target::TargetFields>();
        json_schema!({
            "description": "`mock`, a catalog provider id, or a map with `mock:`, `provider:` or `base_url:`.",
            "anyOf": [{"const": "mock"}, provider, fields]
        })
    }
}

impl JsonSchema for super::ProbeSpec {
    fn schema_name() -> Cow<'static, str> {
        Probe::schema_name()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        Probe::json_schema(generator)
    }
}

/// The scenario reference page, generated from [`scenario_schema`].
pub fn reference_markdown() -> String {
    super::reference::render(&scenario_schema())
}
