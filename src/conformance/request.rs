//! Request-aware checks: a complete response held against what was asked for.
//!
//! The facts of a request are derived once per template (tool input schemas compiled
//! once), and the response is summarised the same way for streams and Messages, so one
//! function judges both.

use serde_json::Value;

use super::finding::Finding;
use super::rules::Rule;

/// What a request asked for, as far as the response can be held to it. Cheap to clone
/// (the compiled schemas are shared), so a request that draws its own `max_tokens` gets
/// its own copy.
#[derive(Clone)]
pub struct RequestFacts {
    /// Model requested.
    pub model: String,
    /// `max_tokens`.
    pub max_tokens: Option<u64>,
    /// `stop_sequences`.
    pub stop_sequences: Vec<String>,
    /// Tools offered, with each `input_schema` compiled (None when it does not compile).
    pub tools: std::sync::Arc<[(String, Option<jsonschema::Validator>)]>,
    /// `tool_choice` is `none`: tools are offered but may not be called.
    pub tools_forbidden: bool,
    /// Extended thinking was enabled.
    pub thinking: bool,
}

impl std::fmt::Debug for RequestFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestFacts")
            .field("model", &self.model)
            .field("max_tokens", &self.max_tokens)
            .field("tools", &self.tools.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl RequestFacts {
    /// The facts of a request body.
    pub fn from_body(body: &Value) -> RequestFacts {
        let tools = body
            .get("tools")
            .and_then(Value::as_array)
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| {
                        let name = t.get("name")?.as_str()?.to_owned();
                        let validator = t.get("input_schema").and_then(|s| jsonschema::validator_for(s).ok());
                        Some((name, validator))
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into();
        RequestFacts {
            model: body.get("model").and_then(Value::as_str).unwrap_or_default().to_owned(),
            max_tokens: body.get("max_tokens").and_then(Value::as_u64),
            stop_sequences: body
                .get("stop_sequences")
                .and_then(Value::as_array)
                .map(|s| s.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            tools,
            tools_forbidden: body.pointer("/tool_choice/type").and_then(Value::as_str) == Some("none"),
            thinking: matches!(body.pointer("/thinking/type").and_then(Value::as_str), Some("enabled" | "adaptive")),
        }
    }

    /// These facts for a request that asked for `max_tokens`.
    pub fn with_max_tokens(&self, max_tokens: u64) -> RequestFacts {
        RequestFacts { max_tokens: Some(max_tokens), ..self.clone() }
    }
}

/// Text kept per response for the stop-sequence check: enough for any answer that
/// could have been cut by one, bounded so a long stream costs nothing more.
pub const MAX_TEXT: usize = 64 << 10;

/// Appends `more` to `text`, up to [`MAX_TEXT`] bytes in all.
pub fn push_text(text: &mut String, more: &str) {
    crate::text::push_capped(text, more, MAX_TEXT);
}

/// What a complete response said, from a stream or a Message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseSummary {
    /// `model`.
    pub model: Option<String>,
    /// Final `stop_reason`.
    pub stop_reason: Option<String>,
    /// Final `stop_sequence`.
    pub stop_sequence: Option<String>,
    /// Final `usage.output_tokens`.
    pub output_tokens: Option<u64>,
    /// Block types, in order.
    pub blocks: Vec<String>,
    /// Tool calls: name and final input (Null when it could not be assembled).
    pub tool_inputs: Vec<(String, Value)>,
    /// Content deltas counted (streams only).
    pub content_deltas: Option<u64>,
    /// Whether usage carries both prompt-cache counters as integers (non-streaming
    /// responses; None for streams).
    pub cache_usage: Option<bool>,
    /// The text blocks' text, up to [`MAX_TEXT`] bytes (streams: only when the request
    /// has stop sequences).
    pub text: String,
    /// Some text block held more than whitespace.
    pub has_text: bool,
}

impl ResponseSummary {
    /// The summary of a non-streaming Message.
    pub fn from_message(v: &Value) -> ResponseSummary {
        let content = v.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let usage = |k: &str| v.get("usage").and_then(|u| u.get(k));
        ResponseSummary {
            model: v.get("model").and_then(Value::as_str).map(str::to_owned),
            stop_reason: v.get("stop_reason").and_then(Value::as_str).map(str::to_owned),
            stop_sequence: v.get("stop_sequence").and_then(Value::as_str).map(str::to_owned),
            output_tokens: usage("output_tokens").and_then(Value::as_u64),
            blocks: content
                .iter()
                .map(|b| b.get("type").and_then(Value::as_str).unwrap_or_default().to_owned())
                .collect(),
            tool_inputs: content
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
                .map(|b| {
                    let name = b.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                    (name, b.get("input").cloned().unwrap_or(Value::Null))
                })
                .collect(),
            content_deltas: None,
            text: {
                let mut text = String::new();
                for t in content.iter().filter(|b| b.get("type").and_then(Value::as_str) == Some("text")) {
                    push_text(&mut text, t.get("text").and_then(Value::as_str).unwrap_or_default());
                }
                text
            },
            has_text: content.iter().any(|b| b.get("type").and_then(Value::as_str) == Some("text") && b.get("text").and_then(Value::as_str).is_some_and(|t| !t.trim().is_empty())),
            cache_usage: Some(
                ["cache_creation_input_tokens", "cache_read_input_tokens"]
                    .iter()
                    .all(|k| usage(k).is_some_and(Value::is_u64)),
            ),
        }
    }
}

/// Whether `model` puts a version below 4 after the family (`claude-haiku-3-5-…`): the
/// API names those models version first (`claude-3-5-haiku-…`); family-first names
/// begin with Claude 4.
pub fn is_nonstandard_model(model: &str) -> bool {
    let mut parts = model.strip_prefix("claude-").unwrap_or_default().split('-');
    let family = parts.next().unwrap_or_default();
    let major = parts.next().and_then(|v| v.parse::<u32>().ok());
    matches!(family, "opus" | "sonnet" | "haiku") && major.is_some_and(|v| v < 4)
}

/// Judges a complete response against its request.
pub fn check(facts: &RequestFacts, r: &ResponseSummary) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut find = |rule: Rule, message: String| findings.push(Finding::new(rule, None, message, b""));
    let reason = r.stop_reason.as_deref();

    if let (Some(max), Some(out)) = (facts.max_tokens, r.output_tokens) {
        if out > max {
            find(Rule::RequestMaxTokens, format!("output_tokens {out} exceeds max_tokens {max}"));
        } else if reason == Some("max_tokens") && out < max {
            find(Rule::RequestMaxTokens, format!("stop_reason max_tokens after {out} of {max} tokens"));
        }
    }
    if let Some(seq) = &r.stop_sequence {
        if reason == Some("stop_sequence") && !facts.stop_sequences.contains(seq) {
            find(Rule::RequestStopSequenceUnknown, format!("stop_sequence {seq:?} was not requested"));
        }
    }
    let calls = r.blocks.iter().filter(|b| *b == "tool_use").count();
    // Without a stop_reason (its own finding) tool use cannot be judged against it.
    let judged = reason.is_some_and(|r| r != "max_tokens");
    if judged && (calls > 0) != (reason == Some("tool_use")) {
        find(Rule::RequestToolUseMismatch, format!("{calls} tool_use block(s) with stop_reason {reason:?}"));
    } else if calls > 0 && (facts.tools.is_empty() || facts.tools_forbidden) {
        find(Rule::RequestToolUseMismatch, format!("{calls} tool_use block(s) though no tool could be called"));
    }
    // A tool call cut short by max_tokens has a partial (or empty) input: not a schema
    // violation, as the tool-use rule above already knows (PROTOCOL.md §7).
    let cut_short = reason == Some("max_tokens");
    for (name, input) in r.tool_inputs.iter().filter(|(_, input)| !input.is_null() && !cut_short) {
        match facts.tools.iter().find(|(n, _)| n == name) {
            None if !facts.tools.is_empty() => find(Rule::RequestToolInputSchema, format!("tool {name:?} was not offered")),
            Some((_, Some(validator))) if !validator.is_valid(input) => {
                let error = crate::schemas::first_error(validator, input);
                find(Rule::RequestToolInputSchema, format!("input of {name:?} breaks its input_schema: {error}"));
            }
            _ => {}
        }
    }
    if reason != Some("stop_sequence") {
        if let Some(seq) = facts.stop_sequences.iter().find(|s| !s.is_empty() && r.text.contains(s.as_str())) {
            find(Rule::RequestStopSequenceIgnored, format!("stop sequence {seq:?} appears in the text, yet stop_reason is {reason:?}"));
        }
    }
    let answered = r.has_text || r.blocks.iter().any(|b| b != "text" && b != "thinking" && b != "redacted_thinking");
    if reason == Some("end_turn") && !answered {
        find(Rule::RequestEmptyEndTurn, "end_turn with no text and no tool call: a refusal reported as end_turn?".into());
    }
    if facts.thinking && !r.blocks.iter().any(|b| b == "thinking" || b == "redacted_thinking") {
        find(Rule::RequestThinkingMissing, "thinking was enabled but no thinking block came back".into());
    }
    if let Some(model) = &r.model {
        // The API answers an alias with its dated id (claude-sonnet-4-5 → …-20250929).
        let echoed = *model == facts.model || model.strip_prefix(facts.model.as_str()).is_some_and(|rest| rest.starts_with('-'));
        if !echoed && !facts.model.is_empty() {
            find(Rule::RequestModelMismatch, format!("asked for {:?}, answered as {model:?}", facts.model));
        }
        if is_nonstandard_model(model) {
            find(Rule::RequestModelNonStandard, format!("{model:?} is not an Anthropic model id: models before Claude 4 are named claude-3[-N]-FAMILY"));
        }
    }
    if let (Some(counted), Some(reported)) = (r.content_deltas, r.output_tokens) {
        // A delta carries at least one token (bar the empty first tool fragment), so more
        // deltas than reported tokens means the count is wrong.
        if counted > reported + (reported / 2).max(10) {
            find(Rule::RequestOutputTokenDrift, format!("{counted} content deltas but output_tokens {reported}"));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(facts: &RequestFacts, r: &ResponseSummary) -> Vec<Rule> {
        check(facts, r).iter().map(|f| f.rule).collect()
    }

    fn answer(model: &str, output: u64, deltas: u64) -> ResponseSummary {
        ResponseSummary {
            model: Some(model.into()),
            stop_reason: Some("end_turn".into()),
            output_tokens: Some(output),
            blocks: vec!["text".into()],
            content_deltas: Some(deltas),
            text: "An answer.".into(),
            has_text: true,
            ..ResponseSummary::default()
        }
    }

    #[test]
    fn model_alias_answered_with_its_dated_id_is_echoed() {
        let facts = RequestFacts::from_body(&json!({"model": "claude-sonnet-4-5", "max_tokens": 100}));
        assert!(rules(&facts, &answer("claude-sonnet-4-5", 10, 10)).is_empty());
        assert!(rules(&facts, &answer("claude-sonnet-4-5-20250929", 10, 10)).is_empty());
        assert_eq!(rules(&facts, &answer("claude-3-haiku", 10, 10)), [Rule::RequestModelMismatch]);
        assert_eq!(rules(&facts, &answer("claude-sonnet-4-50", 10, 10)), [Rule::RequestModelMismatch]);
    }

    #[test]
    fn family_first_names_below_claude_4_are_nonstandard() {
        for id in ["claude-haiku-3-5-20241022", "claude-sonnet-3-7", "claude-opus-3"] {
            assert!(is_nonstandard_model(id), "{id}");
            let facts = RequestFacts::from_body(&json!({"model": id, "max_tokens": 100}));
            assert_eq!(rules(&facts, &answer(id, 10, 10)), [Rule::RequestModelNonStandard], "{id}");
        }
        for id in ["claude-3-5-haiku-20241022", "claude-haiku-4-5-20251001", "claude-opus-4-7-thinking", "claude-sonnet-4-20250514", "claude-3-opus", "gpt-4"] {
            assert!(!is_nonstandard_model(id), "{id}");
        }
    }

    #[test]
    fn output_token_drift_warns_only_when_deltas_far_exceed_tokens() {
        let facts = RequestFacts::from_body(&json!({"model": "m", "max_tokens": 1000}));
        // Several tokens per delta is normal; fewer tokens than deltas is not.
        assert!(rules(&facts, &answer("m", 300, 40)).is_empty());
        assert!(rules(&facts, &answer("m", 100, 140)).is_empty());
        assert_eq!(rules(&facts, &answer("m", 100, 200)), [Rule::RequestOutputTokenDrift]);
    }

    #[test]
    fn a_stop_sequence_in_the_text_was_ignored() {
        let facts = RequestFacts::from_body(&json!({"model": "m", "max_tokens": 100, "stop_sequences": ["###"]}));
        let mut r = answer("m", 10, 10);
        assert!(rules(&facts, &r).is_empty());
        r.text = "Part one ### part two".into();
        assert_eq!(rules(&facts, &r), [Rule::RequestStopSequenceIgnored]);
        // Stopping on it is what the API does: the sequence is then not in the text.
        r.stop_reason = Some("stop_sequence".into());
        r.stop_sequence = Some("###".into());
        assert!(rules(&facts, &r).is_empty());
    }

    #[test]
    fn end_turn_without_an_answer_is_a_hidden_refusal() {
        let facts = RequestFacts::from_body(&json!({"model": "m", "max_tokens": 100}));
        let mut r = answer("m", 0, 0);
        (r.text, r.has_text) = ("  ".into(), false);
        assert_eq!(rules(&facts, &r), [Rule::RequestEmptyEndTurn]);
        // The API's own refusal says so.
        r.stop_reason = Some("refusal".into());
        r.blocks.clear();
        assert!(rules(&facts, &r).is_empty());
    }

    #[test]
    fn a_tool_call_cut_by_max_tokens_is_not_held_to_its_schema() {
        // PROTOCOL.md §7: a tool_use block cut short has a partial or empty input.
        let facts = RequestFacts::from_body(&json!({"model": "m", "max_tokens": 16, "tools": [{"name": "w",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]}));
        let r = ResponseSummary {
            model: Some("m".into()),
            stop_reason: Some("max_tokens".into()),
            output_tokens: Some(16),
            blocks: vec!["tool_use".into()],
            tool_inputs: vec![("w".into(), json!({}))],
            ..ResponseSummary::default()
        };
        assert!(rules(&facts, &r).is_empty());
    }

    #[test]
    fn tool_input_is_held_to_the_offered_schema() {
        let facts = RequestFacts::from_body(&json!({"model": "m", "max_tokens": 100, "tools": [{"name": "w",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]}));
        let mut r = answer("m", 10, 10);
        r.stop_reason = Some("tool_use".into());
        r.blocks.push("tool_use".into());
        r.tool_inputs = vec![("w".into(), json!({"city": "Paris"}))];
        assert!(rules(&facts, &r).is_empty());
        r.tool_inputs = vec![("w".into(), json!({"city": 5}))];
        assert_eq!(rules(&facts, &r), [Rule::RequestToolInputSchema]);
        r.tool_inputs = vec![("x".into(), json!({}))];
        assert_eq!(rules(&facts, &r), [Rule::RequestToolInputSchema]);
    }
}
