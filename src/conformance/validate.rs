//! Request validation: what the API rejects (PROTOCOL.md §5), with the status and
//! `error.type` the API uses. The mock answers with it, and the probes and feature cases
//! are tested against it, so it lives with the other protocol rules rather than in the
//! server.

use serde_json::{Map, Value};

/// A rejection: HTTP status, `error.type` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// HTTP status.
    pub status: u16,
    /// `error.type` in the envelope.
    pub error_type: &'static str,
    /// Human message, naming the offending field first as the API does.
    pub message: String,
}

fn invalid(message: impl Into<String>) -> Rejection {
    Rejection {
        status: 400,
        error_type: "invalid_request_error",
        message: message.into(),
    }
}

/// Top-level body fields the API accepts; anything else is rejected like the API's
/// `additionalProperties: false`.
const KNOWN_FIELDS: [&str; 22] = [
    "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream",
    "temperature", "top_k", "top_p", "tools", "tool_choice", "thinking", "service_tier",
    "container", "mcp_servers", "context_management", "output_config", "inference_geo",
    "cache_control", "output_format", "speed",
];

/// Checks a request body and returns it as an object, or the rejection the API would send.
pub fn validate(raw: &[u8], models: &[String]) -> Result<Map<String, Value>, Rejection> {
    validate_with(raw, models, false, &[])
}

/// [`validate`], optionally letting sampling parameters out of range through, as a lax
/// relay does (the mock's quirk for `probe.unexpected-response`).
/// `extra_fields` are accepted beyond the official ones, as a relay's extensions are.
pub fn validate_with(
    raw: &[u8],
    models: &[String],
    lax_ranges: bool,
    extra_fields: &[String],
) -> Result<Map<String, Value>, Rejection> {
    let value: Value =
        serde_json::from_slice(raw).map_err(|e| invalid(format!("invalid JSON body: {e}")))?;
    let Value::Object(body) = value else {
        return Err(invalid("request body must be a JSON object"));
    };
    let known = |k: &String| KNOWN_FIELDS.contains(&k.as_str()) || extra_fields.contains(k);
    if let Some(extra) = body.keys().find(|k| !known(k)) {
        return Err(invalid(format!("{extra}: Extra inputs are not permitted")));
    }
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() && m.len() <= 256 => m,
        Some(_) => return Err(invalid("model: Input should be a valid string")),
        None => return Err(invalid("model: Field required")),
    };
    let max_tokens = match body.get("max_tokens") {
        Some(v) => v
            .as_u64()
            .ok_or_else(|| invalid("max_tokens: Input should be a valid integer >= 0"))?,
        None => return Err(invalid("max_tokens: Field required")),
    };
    check_messages(body.get("messages"))?;
    if !lax_ranges {
        check_range(&body, "temperature", 0.0, 1.0)?;
        check_range(&body, "top_p", 0.0, 1.0)?;
    }
    if let Some(v) = body.get("top_k") {
        v.as_u64()
            .ok_or_else(|| invalid("top_k: Input should be an integer >= 0"))?;
    }
    if let Some(v) = body.get("stop_sequences") {
        let ok = v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        if !ok {
            return Err(invalid("stop_sequences: Input should be a list of strings"));
        }
    }
    check_thinking(body.get("thinking"), max_tokens)?;
    check_tools(body.get("tools"))?;
    if !models.iter().any(|m| m == model) {
        return Err(Rejection {
            status: 404,
            error_type: "not_found_error",
            message: format!("model: {model}"),
        });
    }
    Ok(body)
}

fn check_messages(messages: Option<&Value>) -> Result<(), Rejection> {
    let Some(messages) = messages else {
        return Err(invalid("messages: Field required"));
    };
    let list = messages
        .as_array()
        .ok_or_else(|| invalid("messages: Input should be a valid list"))?;
    if list.is_empty() {
        return Err(invalid("messages: at least one message is required"));
    }
    for (i, m) in list.iter().enumerate() {
        match m.get("role").and_then(Value::as_str) {
            Some("user" | "assistant") => {}
            _ => return Err(invalid(format!("messages.{i}.role: Input should be 'user' or 'assistant'"))),
        }
        match m.get("content") {
            Some(Value::String(_)) => {}
            Some(Value::Array(blocks)) => {
                for (j, b) in blocks.iter().enumerate() {
                    if b.get("type").and_then(Value::as_str).is_none() {
                        return Err(invalid(format!("messages.{i}.content.{j}.type: Field required")));
                    }
                    if b.get("type").and_then(Value::as_str) == Some("text")
                        && b.get("text").and_then(Value::as_str).is_none_or(str::is_empty)
                    {
                        return Err(invalid(format!(
                            "messages.{i}.content.{j}: text content blocks must be non-empty"
                        )));
                    }
                    // A thinking block sent back must be the one received, signature and
                    // all: a relay that dropped it gets this 400 on the next turn.
                    let required = match b.get("type").and_then(Value::as_str) {
                        Some("thinking") => Some(("thinking", "signature")),
                        Some("redacted_thinking") => Some(("redacted_thinking", "data")),
                        _ => None,
                    };
                    if let Some((kind, field)) = required {
                        if b.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                            return Err(invalid(format!("messages.{i}.content.{j}.{kind}.{field}: Field required")));
                        }
                    }
                }
            }
            _ => return Err(invalid(format!("messages.{i}.content: Field required"))),
        }
    }
    Ok(())
}

/// Whether any message holds an image given by URL (`source.type: url`).
pub fn has_url_image(body: &Map<String, Value>) -> bool {
    let blocks = body.get("messages").and_then(Value::as_array).into_iter().flatten().filter_map(|m| m.get("content")?.as_array());
    blocks.flatten().any(|b| b.get("type").and_then(Value::as_str) == Some("image") && b.pointer("/source/type").and_then(Value::as_str) == Some("url"))
}

fn check_range(body: &Map<String, Value>, field: &str, lo: f64, hi: f64) -> Result<(), Rejection> {
    match body.get(field) {
        None => Ok(()),
        Some(v) => match v.as_f64() {
            Some(x) if (lo..=hi).contains(&x) => Ok(()),
            _ => Err(invalid(format!("{field}: Input should be between {lo} and {hi}"))),
        },
    }
}

fn check_thinking(thinking: Option<&Value>, max_tokens: u64) -> Result<(), Rejection> {
    let Some(t) = thinking else { return Ok(()) };
    match t.get("type").and_then(Value::as_str) {
        Some("enabled") => {
            let budget = t
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .ok_or_else(|| invalid("thinking.enabled.budget_tokens: Field required"))?;
            if budget < 1024 {
                return Err(invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"));
            }
            if budget >= max_tokens {
                return Err(invalid("`max_tokens` must be greater than `thinking.budget_tokens`"));
            }
            Ok(())
        }
        Some("disabled" | "adaptive") => Ok(()),
        _ => Err(invalid("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")),
    }
}

fn check_tools(tools: Option<&Value>) -> Result<(), Rejection> {
    let Some(tools) = tools else { return Ok(()) };
    let list = tools
        .as_array()
        .ok_or_else(|| invalid("tools: Input should be a valid list"))?;
    for (i, tool) in list.iter().enumerate() {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
        let valid_name = (1..=128).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_name {
            return Err(invalid(format!(
                "tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
            )));
        }
        // Server tools (web_search, …) carry a `type` and no input_schema.
        if tool.get("type").is_none() && tool.get("input_schema").is_none() {
            return Err(invalid(format!("tools.{i}.custom.input_schema: Field required")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<Map<String, Value>, Rejection> {
        validate(v.to_string().as_bytes(), &["claude-test".to_owned()])
    }

    fn base() -> Value {
        json!({"model": "claude-test", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut b = base();
        b[field] = value;
        b
    }

    #[test]
    fn valid_request_passes() {
        assert!(check(base()).is_ok());
    }

    #[test]
    fn each_documented_mistake_is_rejected_with_the_right_status() {
        let mut no_max = base();
        no_max.as_object_mut().expect("object").remove("max_tokens");
        let cases = [
            (no_max, 400, "max_tokens"),
            (with("temperature", json!(5)), 400, "temperature"),
            (with("model", json!("nope")), 404, "model"),
            (with("messages", json!([{"role": "system", "content": "x"}])), 400, "role"),
            (with("bogus", json!(1)), 400, "bogus"),
            (with("thinking", json!({"type": "enabled", "budget_tokens": 2048})), 400, "max_tokens"),
            (with("messages", json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm"}]}, {"role": "user", "content": "go on"}])), 400, "thinking.signature"),
            (with("messages", json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "redacted_thinking", "signature": "x"}]}, {"role": "user", "content": "go on"}])), 400, "redacted_thinking.data"),
            (with("tools", json!([{"name": "bad name!", "input_schema": {"type": "object"}}])), 400, "name"),
            (with("messages", json!([{"role": "user", "content": [{"type": "text", "text": ""}]}])), 400, "non-empty"),
        ];
        for (body, status, needle) in cases {
            let r = check(body.clone()).expect_err(&body.to_string());
            assert_eq!(r.status, status, "{body}");
            assert!(r.message.contains(needle), "{} lacks {needle}", r.message);
        }
        assert!(validate(b"{not json", &[]).is_err());
    }
}
