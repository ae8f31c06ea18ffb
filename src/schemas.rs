//! JSON Schemas derived from the OpenAPI documents in `schemas/openapi/`, and the
//! validators built from them.
//!
//! Each component of a document becomes a standalone draft 2020-12 schema with the
//! components it references under `$defs`. The derived files under `schemas/<source>/`
//! are committed so they can be read and diffed; `relaybench schemas --write` rewrites
//! them and a test fails when they drift from their OpenAPI source.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The OpenAPI documents schemas are derived from: (folder name, document text).
pub const SOURCES: [(&str, &str); 2] = [
    ("anthropic", include_str!("../schemas/openapi/anthropic.yaml")),
    ("dimilinks", include_str!("../schemas/openapi/dimilinks.yaml")),
];

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";
const COMPONENT_REF: &str = "#/components/schemas/";

/// Every component of `openapi` as a standalone schema, by component name.
pub fn derive(openapi: &Value) -> Result<BTreeMap<String, Value>, String> {
    let components = openapi
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .ok_or("the document has no components/schemas")?;
    let mut out = BTreeMap::new();
    for (name, schema) in components {
        let mut needed = BTreeSet::new();
        collect_refs(schema, components, &mut needed)?;
        needed.remove(name);
        let mut standalone = Map::new();
        standalone.insert("$schema".into(), DRAFT.into());
        standalone.insert("$id".into(), format!("{name}.schema.json").into());
        standalone.insert("title".into(), name.clone().into());
        if let Value::Object(fields) = rewrite_refs(schema) {
            standalone.extend(fields);
        }
        if !needed.is_empty() {
            let defs: Map<String, Value> = needed.iter().map(|n| (n.clone(), rewrite_refs(&components[n]))).collect();
            standalone.insert("$defs".into(), Value::Object(defs));
        }
        out.insert(name.clone(), Value::Object(standalone));
    }
    Ok(out)
}

/// Adds to `needed` every component `schema` references, transitively.
fn collect_refs(schema: &Value, components: &Map<String, Value>, needed: &mut BTreeSet<String>) -> Result<(), String> {
    match schema {
        Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(Value::as_str) {
                let name = target
                    .strip_prefix(COMPONENT_REF)
                    .ok_or_else(|| format!("unsupported $ref {target:?}"))?;
                let component = components.get(name).ok_or_else(|| format!("$ref to missing component {name:?}"))?;
                if needed.insert(name.to_owned()) {
                    collect_refs(component, components, needed)?;
                }
            }
            map.values().try_for_each(|v| collect_refs(v, components, needed))
        }
        Value::Array(items) => items.iter().try_for_each(|v| collect_refs(v, components, needed)),
        _ => Ok(()),
    }
}

/// `#/components/schemas/X` becomes `#/$defs/X`.
fn rewrite_refs(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match (k.as_str(), v.as_str()) {
                    ("$ref", Some(target)) => (k.clone(), target.replacen(COMPONENT_REF, "#/$defs/", 1).into()),
                    _ => (k.clone(), rewrite_refs(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(rewrite_refs).collect()),
        other => other.clone(),
    }
}

/// The derived files, as (path relative to the repository, content).
pub fn derived_files() -> Result<Vec<(PathBuf, String)>, String> {
    let mut files = Vec::new();
    for (source, text) in SOURCES {
        let openapi = crate::yaml::to_json(text).map_err(|e| format!("schemas/openapi/{source}.yaml: {e}"))?;
        for (name, schema) in derive(&openapi)? {
            let text = serde_json::to_string_pretty(&schema).map_err(|e| e.to_string())? + "\n";
            files.push((PathBuf::from("schemas").join(source).join(format!("{name}.schema.json")), text));
        }
    }
    Ok(files)
}

/// Compiled validators for the official protocol, built once per process.
pub struct Validators {
    events: BTreeMap<&'static str, jsonschema::Validator>,
    /// The non-streaming Message.
    pub message: jsonschema::Validator,
}

/// Stream event type → the component its data must match. `error` events are judged by
/// the envelope rules instead, so a bad envelope is one finding, not two.
const EVENT_SCHEMAS: [(&str, &str); 7] = [
    ("message_start", "MessageStartEvent"),
    ("content_block_start", "ContentBlockStartEvent"),
    ("content_block_delta", "ContentBlockDeltaEvent"),
    ("content_block_stop", "ContentBlockStopEvent"),
    ("message_delta", "MessageDeltaEvent"),
    ("message_stop", "MessageStopEvent"),
    ("ping", "PingEvent"),
];

impl Validators {
    fn build() -> Result<Validators, String> {
        let (_, text) = SOURCES[0];
        let schemas = derive(&crate::yaml::to_json(text)?)?;
        let compile = |name: &str| {
            let schema = schemas.get(name).ok_or_else(|| format!("no component {name}"))?;
            jsonschema::validator_for(schema).map_err(|e| format!("{name}: {e}"))
        };
        let mut events = BTreeMap::new();
        for (event, component) in EVENT_SCHEMAS {
            events.insert(event, compile(component)?);
        }
        Ok(Validators { events, message: compile("Message")? })
    }

    /// The validator for a stream event's data by its `type`, when that type is known.
    pub fn event(&self, name: &str) -> Option<&jsonschema::Validator> {
        self.events.get(name)
    }
}

/// The process's validators. The documents are compiled into the binary and checked by
/// tests, so failing to build them is a bug, not an input error.
pub fn validators() -> &'static Validators {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    VALIDATORS.get_or_init(|| match Validators::build() {
        Ok(v) => v,
        Err(e) => panic!("built-in schemas do not compile: {e}"),
    })
}

/// The first validation error of `instance`, as `path: message`, once `is_valid` said no.
pub fn first_error(validator: &jsonschema::Validator, instance: &Value) -> String {
    validator
        .iter_errors(instance)
        .next()
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() { "(root)".to_owned() } else { path };
            format!("{path}: {e}")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refs_become_defs_transitively() {
        let openapi = json!({"components": {"schemas": {
            "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"type": "array", "items": {"$ref": "#/components/schemas/C"}},
            "C": {"type": "string"},
        }}});
        let out = derive(&openapi).expect("derives");
        let a = &out["A"];
        assert_eq!(a["properties"]["b"]["$ref"], "#/$defs/B");
        assert_eq!(a["$defs"]["B"]["items"]["$ref"], "#/$defs/C");
        assert_eq!(a["$defs"]["C"]["type"], "string");
        assert!(out["C"].get("$defs").is_none());
        let broken = json!({"components": {"schemas": {"A": {"$ref": "#/components/schemas/Z"}}}});
        assert!(derive(&broken).is_err());
    }

    #[test]
    fn validators_accept_the_protocol_and_reject_a_broken_event() {
        let v = validators();
        let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}});
        let check = v.event("content_block_delta").expect("known");
        assert!(check.is_valid(&delta));
        let broken = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": 7}});
        assert!(!check.is_valid(&broken));
        assert!(first_error(check, &broken).starts_with("/delta/text: "));
        // Growth is allowed: unknown delta types and extra fields pass.
        let novel = json!({"type": "content_block_delta", "index": 0, "extra": 1, "delta": {"type": "sparkle_delta"}});
        assert!(check.is_valid(&novel));
    }
}
