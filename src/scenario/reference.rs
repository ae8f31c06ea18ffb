//! The scenario reference page (`docs/scenario-reference.md`), rendered from the
//! scenario schema so that every field's type, default and range on the page is the one
//! the loader enforces.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// The page for `schema`, the scenario schema as JSON.
pub(super) fn render(schema: &Value) -> String {
    let empty = Map::new();
    let defs = schema.get("$defs").and_then(Value::as_object).unwrap_or(&empty);
    let mut page = String::from(
        "# Scenario reference\n\n\
         Every field of a scenario file, with its type, default and range. This page is generated\n\
         from the scenario schema (`relaybench scenario-schema --markdown`), which is derived from\n\
         the types the loader reads; `tests/docs.rs` fails when it differs. The loader checks more\n\
         than a schema can say (rules across fields, files that must exist, a trace's records), and\n\
         names the file, line and column of any mistake; [Scenario files](scenarios.md) shows a\n\
         commented example and how to point an editor at the schema.\n\n\
         A field marked *required* must be given; the others take the default shown (— means\n\
         unset). Types in links are described further down.\n",
    );
    object_section(&mut page, "The scenario file", schema);
    for (name, def) in defs.iter().filter(|(_, d)| d.get("properties").is_some()) {
        object_section(&mut page, name, def);
    }
    page.push_str("\n## Values\n\nThe shapes that several fields share.\n");
    for (name, def) in defs.iter().filter(|(_, d)| d.get("properties").is_none()) {
        let _ = write!(page, "\n### {name}\n\n");
        if let Some(text) = def.get("description").and_then(Value::as_str) {
            let _ = writeln!(page, "{text}\n");
        }
        let _ = writeln!(page, "Accepts: {}.", accepted(def));
    }
    page
}

/// A heading, the object's description, and a row per field.
fn object_section(page: &mut String, name: &str, def: &Value) {
    let _ = write!(page, "\n## {name}\n\n");
    if let Some(text) = def.get("description").and_then(Value::as_str) {
        let _ = writeln!(page, "{text}\n");
    }
    for rule in ["oneOf", "allOf"].iter().filter_map(|k| def.get(*k)) {
        let _ = writeln!(page, "Exactly one of each: {}.\n", one_of_each(rule));
    }
    let required: Vec<&str> = def.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    page.push_str("| field | type | default | range | description |\n|---|---|---|---|---|\n");
    for (field, spec) in def.get("properties").and_then(Value::as_object).into_iter().flatten() {
        let default = match spec.get("default") {
            _ if required.contains(&field.as_str()) => "*required*".to_owned(),
            Some(Value::Null) | None => "—".to_owned(),
            Some(v) => format!("`{}`", plain_value(v)),
        };
        let description = spec.get("description").and_then(Value::as_str).unwrap_or("");
        let _ = writeln!(page, "| `{field}` | {} | {} | {} | {} |", cell(&kind(spec)), cell(&default), cell(&range(spec)), cell(description));
    }
}

/// `oneOf` lists of `{required: [field]}`, as `target` or `targets` (each group).
fn one_of_each(rule: &Value) -> String {
    let groups: Vec<&Value> = match rule.get("oneOf") {
        Some(_) => vec![rule],
        None => rule.as_array().map(|a| a.iter().collect()).unwrap_or_default(),
    };
    let names = |group: &Value| -> String {
        let fields = group.get("oneOf").and_then(Value::as_array).into_iter().flatten();
        let fields: Vec<String> = fields.filter_map(|r| r.pointer("/required/0").and_then(Value::as_str)).map(|f| format!("`{f}`")).collect();
        fields.join(", ")
    };
    groups.into_iter().map(names).collect::<Vec<_>>().join("; ")
}

/// The type of a field, in words, with links to the shapes it names.
fn kind(spec: &Value) -> String {
    if let Some(target) = spec.get("$ref").and_then(Value::as_str) {
        let name = target.rsplit('/').next().unwrap_or(target);
        return format!("[{name}](#{})", name.to_lowercase());
    }
    if let Some(v) = spec.get("const") {
        return format!("`{}`", plain_value(v));
    }
    if let Some(values) = spec.get("enum").and_then(Value::as_array) {
        return values.iter().map(|v| format!("`{}`", plain_value(v))).collect::<Vec<_>>().join(" or ");
    }
    if let Some(parts) = spec.get("anyOf").or_else(|| spec.get("oneOf")).and_then(Value::as_array) {
        let parts: Vec<String> = parts.iter().filter(|p| p.get("type") != Some(&Value::from("null"))).map(kind).collect();
        return parts.join(" or ");
    }
    let types: Vec<&str> = match spec.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => return "any JSON value".to_owned(),
    };
    let words: Vec<String> = types
        .into_iter()
        .map(|t| match t {
            "array" => format!("list of {}", spec.get("items").map_or_else(|| "values".to_owned(), kind)),
            "object" => match spec.get("additionalProperties") {
                Some(v @ Value::Object(_)) => format!("map of string to {}", kind(v)),
                _ => "map".to_owned(),
            },
            other => other.to_owned(),
        })
        .collect();
    words.join(" or ")
}

/// Bounds, lengths and patterns of a field or a shape.
fn range(spec: &Value) -> String {
    let number = |k: &str| spec.get(k).filter(|v| v.is_number()).map(ToString::to_string);
    let mut parts = Vec::new();
    match (number("minimum"), number("maximum")) {
        (Some(lo), Some(hi)) => parts.push(format!("{lo} to {hi}")),
        (Some(lo), None) if lo != "0" => parts.push(format!("at least {lo}")),
        (None, Some(hi)) => parts.push(format!("at most {hi}")),
        _ => {}
    }
    match (number("minItems"), number("maxItems")) {
        (Some(lo), Some(hi)) if lo == hi => parts.push(format!("{lo} items")),
        (Some(lo), Some(hi)) => parts.push(format!("{lo} to {hi} items")),
        (Some(lo), None) => parts.push(format!("at least {lo} item{}", if lo == "1" { "" } else { "s" })),
        (None, Some(hi)) => parts.push(format!("at most {hi} items")),
        _ => {}
    }
    if let Some(items) = spec.get("items").map(range).filter(|r| !r.is_empty()) {
        parts.push(format!("each {items}"));
    }
    if let Some(p) = spec.get("pattern").and_then(Value::as_str).filter(|p| p.len() <= 40) {
        parts.push(format!("`{p}`"));
    }
    parts.join("; ")
}

/// What a shared shape accepts: its kind, with the range of each alternative.
fn accepted(def: &Value) -> String {
    let alternatives: Vec<&Value> = match def.get("anyOf").and_then(Value::as_array) {
        Some(parts) => parts.iter().collect(),
        None => vec![def],
    };
    let described: Vec<String> = alternatives
        .into_iter()
        .map(|alt| match range(alt) {
            r if r.is_empty() => kind(alt),
            r => format!("{} ({r})", kind(alt)),
        })
        .collect();
    described.join("; or ")
}

/// A JSON value as a scenario writes it: strings without their quotes.
fn plain_value(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Text fit for a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
