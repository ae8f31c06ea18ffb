//! The non-streaming Message body (PROTOCOL.md §1), checked against the Message schema
//! derived from `schemas/openapi/anthropic.yaml`.

use serde_json::Value;

use super::finding::Finding;
use super::rules::Rule;

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
    let validator = &crate::schemas::validators().message;
    if validator.is_valid(v) {
        return Vec::new();
    }
    vec![Finding::new(Rule::MessageShape, None, crate::schemas::first_error(validator, v), body)]
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
