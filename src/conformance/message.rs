//! The non-streaming Message body (PROTOCOL.md §1), checked against the Message schema
//! derived from `schemas/openapi/anthropic.yaml`, and what a run takes from it.
//!
//! A Message of the plain shape (text blocks, the usual usage fields) is read by the
//! typed fast path without a JSON tree or the schema ([`super::fast::plain_message`]);
//! any other goes the full way. Both give the same [`MessageRead`].

use serde_json::Value;

use super::fast::{plain_message, PlainMessage};
use super::finding::Finding;
use super::fingerprint::Fingerprint;
use super::request::{push_text, ResponseSummary};
use super::rules::Rule;
use super::usage::UsageCounts;

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
    fn kind(block: &Value) -> &str {
        block.get("type").and_then(Value::as_str).unwrap_or_default()
    }
    for block in content.iter().filter(|b| !super::stream::known_block(kind(b))) {
        findings.push(Finding::new(Rule::UnknownBlock, None, format!("unknown content block type {:?}", kind(block)), body));
    }
    let fingerprint = Fingerprint::from_message(v);
    identity(&fingerprint, &mut findings);
    (findings, Some(fingerprint))
}

/// The `identity.backend` finding, when the body's fingerprint differs from the API's.
fn identity(fingerprint: &Fingerprint, findings: &mut Vec<Finding>) {
    let seen = fingerprint.differences();
    if !seen.is_empty() {
        findings.push(Finding::new(Rule::IdentityBackend, None, seen.join("; "), b""));
    }
}

/// Everything a run takes from a 2xx Message body.
#[derive(Debug, Default, PartialEq)]
pub struct MessageRead {
    /// Its findings (not the request-aware ones: those need the request).
    pub findings: Vec<Finding>,
    /// The channel's signs in the body, when it was JSON.
    pub fingerprint: Option<Fingerprint>,
    /// The summary the request-aware checks judge, when it was JSON.
    pub summary: Option<ResponseSummary>,
    /// The usage counters, when it had a `usage`.
    pub usage: Option<UsageCounts>,
    /// The text blocks' text, up to the cap asked for.
    pub reply: String,
    /// Why it is not JSON, when it is not.
    pub not_json: Option<String>,
}

/// Reads a 2xx Message body: the fast path when it is plain, the full way otherwise.
/// `reply_cap` bounds the text kept in [`MessageRead::reply`] (0 keeps none).
pub fn read_message(body: &[u8], reply_cap: usize) -> MessageRead {
    match plain_message(body) {
        Some(m) => read_plain(&m, reply_cap),
        None => read_full(body, reply_cap),
    }
}

/// [`read_message`] always the full way: a JSON tree, checked against the schema.
pub fn read_full(body: &[u8], reply_cap: usize) -> MessageRead {
    let parsed = serde_json::from_slice::<Value>(body);
    let (findings, fingerprint) = check_message_parsed(parsed.as_ref().ok(), body);
    let mut read = MessageRead { findings, fingerprint, ..MessageRead::default() };
    match parsed {
        Ok(message) => {
            read.summary = Some(ResponseSummary::from_message(&message));
            read.usage = message.get("usage").map(UsageCounts::from_value);
            for block in message.get("content").and_then(Value::as_array).into_iter().flatten() {
                if block.get("type").and_then(Value::as_str) == Some("text") {
                    crate::text::push_capped(&mut read.reply, block.get("text").and_then(Value::as_str).unwrap_or_default(), reply_cap);
                }
            }
        }
        Err(e) => read.not_json = Some(e.to_string()),
    }
    read
}

/// A plain Message: valid by construction, so its one possible finding is the channel's.
fn read_plain(m: &PlainMessage<'_>, reply_cap: usize) -> MessageRead {
    let u = &m.usage;
    let fingerprint = Fingerprint::from_parts(Some(&*m.id), Some(&m.model), Some(u.signals()), [], []);
    let mut findings = Vec::new();
    identity(&fingerprint, &mut findings);
    let mut summary = ResponseSummary {
        model: Some(m.model.to_string()),
        stop_reason: Some(m.stop_reason.to_string()),
        stop_sequence: m.stop_sequence.as_deref().map(str::to_owned),
        output_tokens: Some(u.output_tokens),
        blocks: m.content.iter().map(|_| "text".to_owned()).collect(),
        has_text: m.content.iter().any(|b| !b.text.trim().is_empty()),
        cache_usage: Some(u.cache_creation_input_tokens.is_some() && u.cache_read_input_tokens.is_some()),
        ..ResponseSummary::default()
    };
    let mut reply = String::new();
    for block in &m.content {
        push_text(&mut summary.text, &block.text);
        crate::text::push_capped(&mut reply, &block.text, reply_cap);
    }
    MessageRead {
        findings,
        fingerprint: Some(fingerprint),
        summary: Some(summary),
        usage: Some(u.counts()),
        reply,
        not_json: None,
    }
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
