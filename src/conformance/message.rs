//! The non-streaming Message body (PROTOCOL.md §1), checked by hand until the
//! OpenAPI-derived schemas take over the field-by-field part.

use serde_json::Value;

use super::{Finding, Rule};

/// Checks a 2xx non-streaming body.
pub fn check_message(body: &[u8]) -> Vec<Finding> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    check_message_parsed(parsed.as_ref(), body)
}

/// [`check_message`] for a body the caller already parsed (`None`: not JSON).
pub fn check_message_parsed(parsed: Option<&Value>, body: &[u8]) -> Vec<Finding> {
    let Some(v) = parsed else {
        return vec![Finding::new(Rule::MessageShape, None, "body is not JSON", body)];
    };
    let problem = if v.get("type").and_then(Value::as_str) != Some("message") {
        Some("`type` is not \"message\"")
    } else if v.get("role").and_then(Value::as_str) != Some("assistant") {
        Some("`role` is not \"assistant\"")
    } else if !v.get("content").is_some_and(Value::is_array) {
        Some("`content` is not an array")
    } else if !v.get("stop_reason").is_some_and(Value::is_string) {
        Some("`stop_reason` is not a string (it is never null in a non-streaming Message)")
    } else if !v.pointer("/usage/input_tokens").is_some_and(Value::is_u64)
        || !v.pointer("/usage/output_tokens").is_some_and(Value::is_u64)
    {
        Some("usage.input_tokens and usage.output_tokens are not both integers")
    } else {
        None
    };
    problem
        .map(|p| vec![Finding::new(Rule::MessageShape, None, p, body)])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_shape_fires_only_on_a_broken_message() {
        let good = br#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":4}}"#;
        assert!(check_message(good).is_empty());
        let null_stop = String::from_utf8_lossy(good).replace("\"end_turn\"", "null");
        assert_eq!(check_message(null_stop.as_bytes())[0].rule, Rule::MessageShape);
        assert_eq!(check_message(b"[]")[0].rule, Rule::MessageShape);
    }
}
