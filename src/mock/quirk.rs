//! Deliberate protocol faults. A quirk is named by the conformance rule it breaks, and
//! breaks that rule alone (`probe.unexpected-response` is broken in request validation,
//! which accepts an out-of-range temperature), so every error-severity rule, and the
//! warnings for the relay faults of PROTOCOL.md §8, can be shown firing against a live
//! server (and staying silent when the quirk is off).

use serde_json::{json, Value};

use super::reply::{plan, Block, OutputLength, Reply};
use super::stream::{Payload, Planned};
use crate::conformance::{Rule, Severity, RULES};
use crate::protocol::{event, CONTENT_TYPE_JSON, CONTENT_TYPE_SSE};

/// Warnings a quirk can commit: relay faults (PROTOCOL.md §8) that are not violations.
pub const WARN_QUIRKS: [Rule; 4] = [Rule::ErrorInsteadOfStatus, Rule::BufferedStream, Rule::RequestEmptyEndTurn, Rule::EnvelopeRequestIdMissing];
/// Faults only a repeated request shows (a feature case sends it twice), so no single
/// response carries their finding.
pub const REPEAT_QUIRKS: [Rule; 1] = [Rule::IdentityResponseCache];
/// Faults only a series of responses shows (made-up rate-limit headers, rate-limit headers
/// on streams only, a head held back on every stream), judged across a run rather than on
/// one response.
pub const SERIES_QUIRKS: [Rule; 3] = [Rule::LimitsStaticHeaders, Rule::LimitsHeadersDropped, Rule::StreamHeadHeld];

/// Faults only a comparison with a reference target shows (another tokenizer behind the
/// model's name).
pub const REFERENCE_QUIRKS: [Rule; 1] = [Rule::IdentityTokenizer];

/// Every rule a quirk can break: all error-severity rules, [`WARN_QUIRKS`],
/// [`REPEAT_QUIRKS`], [`SERIES_QUIRKS`] and [`REFERENCE_QUIRKS`].
pub fn available() -> impl Iterator<Item = Rule> {
    let named = |r: Rule| WARN_QUIRKS.contains(&r) || REPEAT_QUIRKS.contains(&r) || SERIES_QUIRKS.contains(&r) || REFERENCE_QUIRKS.contains(&r);
    RULES.iter().filter(move |r| r.severity == Severity::Error || named(r.rule)).map(|r| r.rule)
}

/// The latency of an answer a relay serves from its response cache: none.
pub const CACHED: super::latency::LatencyModel =
    super::latency::LatencyModel { ttft: std::time::Duration::ZERO, tokens_per_s: 1_000_000.0, jitter: 0.0, prefill_per_token: std::time::Duration::ZERO };

/// The quirk named `id` (a rule id).
pub fn parse(id: &str) -> Result<Rule, String> {
    match Rule::from_id(id) {
        Some(rule) if available().any(|r| r == rule) => Ok(rule),
        _ => {
            let names: Vec<&str> = available().map(Rule::id).collect();
            Err(format!("unknown quirk {id:?}; a quirk is one of these rule ids: {}", names.join(", ")))
        }
    }
}

/// What a buffering relay waits before it sends the whole answer at once: long enough
/// that the burst cannot pass for streaming.
pub const BUFFER_HOLD: std::time::Duration = std::time::Duration::from_millis(250);

/// The error event a relay sends with HTTP 200 instead of an error status.
fn overloaded_event() -> Planned {
    named(event::ERROR, json!({"type": event::ERROR, "error": {"type": "overloaded_error", "message": "Overloaded"}}))
}

/// The body of an overloaded upstream flattened into a 502, for
/// `envelope.overloaded-flattened`; the upstream's `request_id` is kept, so that rule
/// fires alone.
pub fn flattened_overload() -> Value {
    json!({"type": "error", "error": {"type": "api_error", "message": "Upstream overloaded, please try again later"}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
}

/// The reply a relay gives when it does not forward `stop_sequences`: planned without
/// them, with the first requested sequence then written into the text, and `end_turn`.
pub fn plan_ignoring_stop_sequences(body: &serde_json::Map<String, Value>, key: u64, seed: u64, length: OutputLength, id: String) -> Reply {
    let mut forwarded = body.clone();
    let sequence = forwarded.remove("stop_sequences").and_then(|s| s.as_array().and_then(|a| a.iter().find_map(Value::as_str).map(str::to_owned)));
    // One token is kept back for the sequence, so the answer stays within max_tokens.
    if let (Some(_), Some(max)) = (&sequence, forwarded.get("max_tokens").and_then(Value::as_u64)) {
        forwarded.insert("max_tokens".into(), json!(max.saturating_sub(1).max(1)));
    }
    let mut reply = plan(&forwarded, key, seed, length, id);
    if let Some(sequence) = sequence {
        if let Some(Block::Text { pieces }) = reply.blocks.iter_mut().rev().find(|b| matches!(b, Block::Text { .. })) {
            pieces.push(format!(" {sequence}"));
        }
    }
    reply
}

/// Whether the stream's final stop_reason is `end_turn`.
fn ends_turn(events: &[Planned]) -> bool {
    events.iter().any(|p| p.is(event::MESSAGE_DELTA) && p.json().and_then(|v| v.pointer("/delta/stop_reason")) == Some(&json!("end_turn")))
}

fn position(events: &[Planned], pred: impl Fn(&Planned) -> bool) -> Option<usize> {
    events.iter().position(pred)
}

fn delta_type(p: &Planned) -> Option<&str> {
    match &p.data {
        Payload::Json(v) => v.pointer("/delta/type").and_then(Value::as_str),
        Payload::Raw(_) => None,
    }
}

fn named(name: &str, data: Value) -> Planned {
    Planned { name: Some(name.to_owned()), data: Payload::Json(data), token: false }
}

/// Rewrites a stream's planned events to break `rule`.
pub fn apply_stream(rule: Rule, events: &mut Vec<Planned>) {
    let ping_at = position(events, |p| p.is(event::PING));
    let message_delta_at = position(events, |p| p.is(event::MESSAGE_DELTA));
    let first_text = position(events, |p| delta_type(p) == Some("text_delta"));
    let block_count = events.iter().filter(|p| p.is(event::CONTENT_BLOCK_START)).count();
    match rule {
        Rule::Framing => {
            if let Some(at) = ping_at {
                let bad = Planned { name: Some(event::PING.into()), data: Payload::Raw(b"{\"type\":\"ping\",\"note\":\"\xFF\xFE\"}".to_vec()), token: false };
                events.insert(at + 1, bad);
            }
        }
        Rule::DataNotJson => {
            if let Some(at) = ping_at {
                events.insert(at + 1, Planned { name: Some(event::PING.into()), data: Payload::Raw(b"keep-alive".to_vec()), token: false });
            }
        }
        Rule::SchemaEvent => {
            if let Some(delta) = first_text.and_then(|at| events[at].json_mut()).and_then(|v| v.get_mut("delta")) {
                delta["text"] = json!(42);
            }
        }
        Rule::EventUnnamed => {
            if let Some(at) = ping_at {
                events[at].name = None;
            }
        }
        Rule::EventNameMismatch => {
            if let Some(at) = first_text {
                events[at].name = Some(event::PING.into());
            }
        }
        Rule::FirstEventNotMessageStart => {
            events.retain(|p| !p.is(event::MESSAGE_START));
        }
        Rule::DuplicateMessageStart => {
            if let Some(first) = events.first().cloned() {
                events.insert(1, first);
            }
        }
        Rule::BlockIndexNotSequential => {
            for p in events.iter_mut() {
                if let Some(index) = p.json_mut().and_then(|v| v.get_mut("index")) {
                    *index = json!(index.as_u64().unwrap_or(0) + 1);
                }
            }
        }
        Rule::BlockEventBeforeStart => {
            if let Some(at) = message_delta_at {
                let stray = json!({"type": event::CONTENT_BLOCK_DELTA, "index": block_count + 98, "delta": {"type": "text_delta", "text": "stray"}});
                events.insert(at, named(event::CONTENT_BLOCK_DELTA, stray));
            }
        }
        Rule::BlockEventAfterStop => {
            if let Some(at) = position(events, |p| p.is(event::CONTENT_BLOCK_STOP)) {
                let again = events[at].clone();
                events.insert(at + 1, again);
            }
        }
        Rule::DeltaTypeMismatch => {
            if let Some(at) = first_text {
                if let Some(delta) = events[at].json_mut().and_then(|v| v.get_mut("delta")) {
                    let text = delta.get("text").cloned().unwrap_or(json!(""));
                    *delta = json!({"type": "thinking_delta", "thinking": text});
                }
            }
        }
        Rule::ToolInputInvalid => {
            // Drop the last input fragment, which closes the JSON object.
            if let Some(at) = events.iter().rposition(|p| delta_type(p) == Some("input_json_delta")) {
                events.remove(at);
            }
        }
        Rule::BlockOpenAtMessageDelta => {
            if let Some(at) = events.iter().rposition(|p| p.is(event::CONTENT_BLOCK_STOP)) {
                events.remove(at);
            }
        }
        Rule::ContentAfterMessageDelta => {
            if let Some(at) = message_delta_at {
                let index = block_count;
                events.insert(at + 1, named(event::CONTENT_BLOCK_STOP, json!({"type": event::CONTENT_BLOCK_STOP, "index": index})));
                events.insert(at + 1, named(event::CONTENT_BLOCK_START, json!({"type": event::CONTENT_BLOCK_START, "index": index, "content_block": {"type": "text", "text": ""}})));
            }
        }
        Rule::MessageDeltaUsageMissing => {
            if let Some(v) = message_delta_at.and_then(|at| events[at].json_mut()).and_then(Value::as_object_mut) {
                v.remove("usage");
            }
        }
        Rule::StopReasonNull => {
            if let Some(v) = message_delta_at.and_then(|at| events[at].json_mut()) {
                v["delta"]["stop_reason"] = Value::Null;
            }
        }
        Rule::StopSequenceInconsistent => {
            if let Some(v) = message_delta_at.and_then(|at| events[at].json_mut()) {
                let is_sequence = v["delta"]["stop_reason"] == "stop_sequence";
                v["delta"]["stop_sequence"] = if is_sequence { Value::Null } else { json!("###") };
            }
        }
        Rule::UsageDecreased => {
            // The relay bug that erases the real count in every SDK (PROTOCOL.md §2.3.10).
            if let Some(v) = message_delta_at.and_then(|at| events[at].json_mut()) {
                v["usage"]["input_tokens"] = json!(0);
            }
        }
        Rule::RequestMaxTokens => {
            if let Some(v) = message_delta_at.and_then(|at| events[at].json_mut()) {
                v["usage"]["output_tokens"] = json!(IMPOSSIBLE_OUTPUT);
            }
        }
        Rule::RequestStopSequenceUnknown => {
            let has_tool = events.iter().any(|p| p.json().and_then(|v| v.pointer("/content_block/type")) == Some(&json!("tool_use")));
            if let (false, Some(v)) = (has_tool, message_delta_at.and_then(|at| events[at].json_mut())) {
                v["delta"]["stop_reason"] = json!("stop_sequence");
                v["delta"]["stop_sequence"] = json!(UNREQUESTED_SEQUENCE);
            }
        }
        Rule::RequestToolUseMismatch => {
            if let Some(v) = message_delta_at.and_then(|at| events[at].json_mut()) {
                if v["delta"]["stop_reason"] == "tool_use" {
                    v["delta"]["stop_reason"] = json!("end_turn");
                }
            }
        }
        Rule::RequestToolInputSchema => {
            // An empty object: valid JSON, but it lacks every required property.
            let mut first = true;
            events.retain_mut(|p| {
                if delta_type(p) != Some("input_json_delta") {
                    return true;
                }
                let keep = std::mem::replace(&mut first, false);
                if let Some(delta) = p.json_mut().and_then(|v| v.get_mut("delta")) {
                    delta["partial_json"] = json!("{}");
                }
                keep
            });
        }
        Rule::RequestThinkingMissing => {
            let thinking = events.iter().find_map(|p| match &p.data {
                Payload::Json(v) if v.pointer("/content_block/type") == Some(&json!("thinking")) => v.get("index").and_then(Value::as_u64),
                _ => None,
            });
            if let Some(gone) = thinking {
                events.retain(|p| match &p.data {
                    Payload::Json(v) => v.get("index").and_then(Value::as_u64) != Some(gone),
                    Payload::Raw(_) => true,
                });
                for p in events.iter_mut() {
                    if let Some(index) = p.json_mut().and_then(|v| v.get_mut("index")) {
                        if let Some(i) = index.as_u64().filter(|&i| i > gone) {
                            *index = json!(i - 1);
                        }
                    }
                }
            }
        }
        Rule::InputTokensZero => {
            if let Some(usage) = events.first_mut().and_then(Planned::json_mut).and_then(|v| v.pointer_mut("/message/usage")) {
                usage["input_tokens"] = json!(0);
                usage["cache_creation_input_tokens"] = json!(0);
                usage["cache_read_input_tokens"] = json!(0);
            }
        }
        Rule::ThinkingSignatureMissing => events.retain(|p| delta_type(p) != Some("signature_delta")),
        Rule::OpenAiDone => events.push(Planned { name: None, data: Payload::Raw(b"[DONE]".to_vec()), token: false }),
        Rule::ErrorInsteadOfStatus => *events = vec![overloaded_event()],
        Rule::RequestEmptyEndTurn if ends_turn(events) => events.retain(|p| delta_type(p) != Some("text_delta")),
        Rule::MissingMessageDelta => events.retain(|p| !p.is(event::MESSAGE_DELTA)),
        Rule::MissingMessageStop => events.retain(|p| !p.is(event::MESSAGE_STOP)),
        Rule::EventAfterMessageStop => {
            if let Some(last) = events.last().cloned() {
                events.push(last);
            }
        }
        _ => {}
    }
}

/// Output count no request allows, for `request.max-tokens`.
const IMPOSSIBLE_OUTPUT: u64 = 1_000_000;
/// A stop sequence nobody asked for, for `request.stop-sequence-unknown`.
const UNREQUESTED_SEQUENCE: &str = "<unrequested>";

/// Rewrites a non-streaming Message body to break `rule`.
pub fn apply_message(rule: Rule, body: &mut Value) {
    let has_tool = body["content"].as_array().is_some_and(|c| c.iter().any(|b| b["type"] == "tool_use"));
    match rule {
        Rule::MessageShape => body["stop_reason"] = Value::Null,
        Rule::RequestMaxTokens => body["usage"]["output_tokens"] = json!(IMPOSSIBLE_OUTPUT),
        Rule::RequestStopSequenceUnknown if !has_tool => {
            body["stop_reason"] = json!("stop_sequence");
            body["stop_sequence"] = json!(UNREQUESTED_SEQUENCE);
        }
        Rule::RequestToolUseMismatch if has_tool => body["stop_reason"] = json!("end_turn"),
        Rule::RequestEmptyEndTurn if body["stop_reason"] == "end_turn" => body["content"] = json!([]),
        // The same relays drop the signature and under-count input without a stream too.
        Rule::ThinkingSignatureMissing => {
            for block in body["content"].as_array_mut().into_iter().flatten().filter(|b| b["type"] == "thinking") {
                if let Some(block) = block.as_object_mut() {
                    block.remove("signature");
                }
            }
        }
        Rule::InputTokensZero => body["usage"]["input_tokens"] = json!(0),
        _ => {}
    }
}

/// Rewrites an error response to break `rule`; returns the body and its content type.
pub fn apply_error(rule: Rule, status: u16, body: Value) -> (Vec<u8>, &'static str) {
    match rule {
        // A gateway page passed through under the JSON content type.
        Rule::EnvelopeNotJson => (format!("<html><body><h1>{status} Error</h1></body></html>").into_bytes(), CONTENT_TYPE_JSON),
        Rule::EnvelopeShape => {
            // The error shape the DimiLinks document specifies.
            let relay = json!({"error": {
                "message": body.pointer("/error/message").cloned().unwrap_or(json!("")),
                "type": body.pointer("/error/type").cloned().unwrap_or(json!("")),
                "code": status.to_string(),
            }});
            (relay.to_string().into_bytes(), CONTENT_TYPE_JSON)
        }
        Rule::EnvelopeStatusMismatch => {
            let mut body = body;
            body["error"]["type"] = json!(if status == 500 { "overloaded_error" } else { "api_error" });
            (body.to_string().into_bytes(), CONTENT_TYPE_JSON)
        }
        Rule::EnvelopeRequestIdMissing => {
            let mut body = body;
            if let Some(map) = body.as_object_mut() {
                map.remove("request_id");
            }
            (body.to_string().into_bytes(), CONTENT_TYPE_JSON)
        }
        _ => (body.to_string().into_bytes(), CONTENT_TYPE_JSON),
    }
}

/// Input tokens by another tokenizer than the mock's (`identity.tokenizer`): the mock's
/// count, plus one token per character outside ASCII, as a tokenizer that splits
/// Chinese, Japanese and emoji finer would bill them; ASCII text counts the same.
pub fn substitute_tokens(body: &serde_json::Map<String, Value>) -> u64 {
    let mut extra = 0;
    let mut texts = vec![body.get("system"), body.get("messages")];
    while let Some(v) = texts.pop() {
        match v {
            Some(Value::String(s)) => extra += s.chars().filter(|c| !c.is_ascii()).count() as u64,
            Some(Value::Array(items)) => texts.extend(items.iter().map(Some)),
            Some(Value::Object(map)) => texts.extend(["content", "text"].map(|k| map.get(k))),
            _ => {}
        }
    }
    crate::synth::request_tokens(body) + extra
}

/// Whether `quirk` drops the rate-limit headers of a whole (not streamed) answer.
pub fn drops_limit_headers(quirk: Option<Rule>, stream: bool) -> bool {
    quirk == Some(Rule::LimitsHeadersDropped) && !stream
}

/// The content type of a stream under `quirk`.
pub fn stream_content_type(quirk: Option<Rule>) -> &'static str {
    match quirk {
        Some(Rule::ContentTypeWrong) => CONTENT_TYPE_JSON,
        _ => CONTENT_TYPE_SSE,
    }
}
