//! The non-streaming Message body (PROTOCOL.md §1), checked against the Message schema
//! derived from `schemas/openapi/anthropic.yaml`.

use serde_json::Value;

use super::finding::Finding;
use super::fingerprint::Fingerprint;
use super::rules::Rule;

/// Checks a 2xx non-streaming body.
pub fn check_message(body: &[u8]) -> Vec<Finding> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    check_message_parsed(parsed.as_ref(), body).0
}

/// [`check_message`] for a body the caller already parsed (`None`: not JSON), with the
/// fingerprint read of a Message that parsed (for the run's channel evidence), so a
/// run reads it once.
pub fn check_message_parsed(parsed: Option<&Value>, body: &[u8]) -> (Vec<Finding>, Option<Fingerprint>) {
    let Some(v) = parsed else {
        return (vec![Finding::new(Rule::MessageShape, None, "body is not JSON", body)], None);
    };
    let validator = &crate::schemas::validators().message;
    let mut findings = Vec::new();
    if !validator.is_valid(v) {
        findings.push(Finding::new(Rule::MessageShape, None, crate::schemas::first_error(validator, v), body));
    }
    let content = v.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let kind = |b: &Value| b.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    for block in content.iter().filter(|b| !super::stream::known_block(&kind(b))) {
        findings.push(Finding::new(Rule::UnknownBlock, None, format!("unknown content block type {:?}", kind(block)), body));
    }
    let fingerprint = Fingerprint::from_message(v);
    let seen = fingerprint.differences();
    if !seen.is_empty() {
        findings.push(Finding::new(Rule::IdentityBackend, None, seen.join("; "), b""));
    }
    (findings, Some(fingerprint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_shape_fires_only_on_a_broken_message() {
        let good = br#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":4,"service_tier":"standard"}}"#;
        assert!(check_message(good).is_empty());
        let null_stop = String::from_utf8_lossy(good).replace("\"end_turn\"", "null");
        assert_eq!(check_message(null_stop.as_bytes())[0].rule, Rule::MessageShape);
        assert_eq!(check_message(b"[]")[0].rule, Rule::MessageShape);
    }
}
