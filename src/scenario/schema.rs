//! The JSON Schema of scenario files, derived from the types the parser fills
//! (`schemars` reads their serde attributes and doc comments), so an editor checks a file
//! while it is written with the same fields, defaults and ranges the loader enforces.
//!
//! The loader stays the judge: rules that span fields (a template gives exactly one prompt
//! source, a load's executor takes its own fields) are also written here where JSON Schema
//! can say them, but a file the schema admits can still be refused with a file:line message.
//! Values the parser reads through its own functions (durations, token sizes, thresholds,
//! names checked against a list) get their schema from [`super::schema_values`] and the
//! files of their types, each built from the same constants and lists the parser checks
//! against.

use serde_json::{json, Value};

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


/// The scenario reference page, generated from [`scenario_schema`].
pub fn reference_markdown() -> String {
    super::reference::render(&scenario_schema())
}
