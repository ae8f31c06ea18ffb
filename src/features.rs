//! The feature suite: one named case per API feature the provider documents mention,
//! each sent once with its own check, so a provider's support reads as a matrix of
//! pass / fail / unsupported.
//!
//! A case passes when the provider serves it as the API does (2xx, no error-severity
//! finding, and its own check holds), is unsupported when the provider refuses it
//! cleanly (a 4xx with a well-formed error envelope), and fails otherwise. The one
//! negative case, a request without `anthropic-version`, passes when it is refused as
//! the API refuses it.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::client::{Client, ClientError, Target, Timeouts};
use crate::conformance::request::{RequestFacts, ResponseSummary};
use crate::conformance::fingerprint::Fingerprint;
use crate::conformance::{Finding, Severity};
use crate::protocol::AuthStyle;
use crate::stop::Stop;
use crate::outcome::{Outcome, OutcomeKind};
use crate::provider::Provider;

/// Every case, in the order they run.
pub const FEATURES: [&str; 30] = [
    "text",
    "stream",
    "system-string",
    "system-blocks",
    "multi-turn",
    "stop-sequences",
    "temperature",
    "top-p",
    "top-k",
    "tools-auto",
    "tools-any",
    "tools-named",
    "tools-none",
    "tool-result",
    "parallel-tool-results",
    "thinking",
    "thinking-tool-round-trip",
    "thinking-model",
    "listed-models",
    "image-base64",
    "image-url",
    "metadata",
    "prompt-caching",
    "max-tokens-truncation",
    "anthropic-beta",
    "anthropic-beta-effect",
    "count-tokens",
    "response-cache",
    "auth-x-api-key",
    "auth-bearer",
];

/// The negative case, kept apart so a scenario listing features by hand can see it.
pub const MISSING_VERSION: &str = "missing-version";

/// Whether `name` is a case.
pub fn is_feature(name: &str) -> bool {
    FEATURES.contains(&name) || name == MISSING_VERSION
}

/// Every case name, the negative one last.
pub fn all() -> Vec<String> {
    FEATURES.iter().copied().chain([MISSING_VERSION]).map(str::to_owned).collect()
}

/// What the case `name` exercises, for listings.
pub fn describe(name: &str) -> Option<&'static str> {
    match name {
        "listed-models" => Some(LISTED_MODELS),
        _ => case(name, "model", Some("model-thinking")).map(|c| c.text),
    }
}

/// `relaybench features`: every case and what it exercises.
pub fn listing() -> String {
    all().iter().map(|n| format!("{n:<24} {}\n", describe(n).unwrap_or_default())).collect()
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Served as the API serves it.
    Pass,
    /// Served wrongly, refused with a malformed error, or the request failed.
    Fail,
    /// Refused cleanly: the provider does not offer it.
    Unsupported,
}

impl Status {
    /// Id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unsupported => "unsupported",
        }
    }
}

/// One case's result.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureResult {
    /// Case name.
    pub name: String,
    /// What it exercises.
    pub text: &'static str,
    /// How it ended.
    pub status: Status,
    /// Why, in a line.
    pub detail: String,
    /// Findings on its response.
    pub findings: Vec<Finding>,
}

/// What a case checks on a served response.
type Check = fn(&ResponseSummary) -> Result<(), String>;
/// What a case checks on the served body itself.
type BodyCheck = fn(&Value) -> Result<(), String>;

/// One case ready to send.
struct Case {
    text: &'static str,
    body: Value,
    stream: bool,
    /// Changes to the target's request settings (auth style, version, headers), for
    /// the few cases that need them.
    adjust: Option<fn(&mut Target)>,
    /// None: must be served; Some: must be refused with this status and error type.
    refused: Option<(u16, &'static str)>,
    check: Check,
    /// A check of the served body itself, for what the summary does not hold.
    body_check: Option<BodyCheck>,
}

fn served(_: &ResponseSummary) -> Result<(), String> {
    Ok(())
}

impl Case {
    /// A plain case that must be served, to build others from.
    fn served() -> Case {
        Case { text: "", body: Value::Null, stream: false, adjust: None, refused: None, check: served, body_check: None }
    }
}

fn has_block(r: &ResponseSummary, kind: &str) -> Result<(), String> {
    if r.blocks.iter().any(|b| b == kind) {
        Ok(())
    } else {
        Err(format!("no {kind} block in the reply (blocks: {})", r.blocks.join(", ")))
    }
}

fn stop_reason_is(r: &ResponseSummary, want: &str) -> Result<(), String> {
    match r.stop_reason.as_deref() {
        Some(got) if got == want => Ok(()),
        got => Err(format!("stop_reason {got:?}, expected {want:?}")),
    }
}

/// A one-pixel PNG, the smallest image every provider must take.
const PNG_1PX: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
/// An image by URL; only the provider fetches it, never relaybench.
const IMAGE_URL: &str = "https://upload.wikimedia.org/wikipedia/commons/4/47/PNG_transparency_demonstration_1.png";

fn weather_tool() -> Value {
    json!({"name": "get_weather", "description": "Current weather in a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

/// The case `name` for `model`; `thinking_model` is the provider's `-thinking` variant.
fn case(name: &str, model: &str, thinking_model: Option<&str>) -> Option<Case> {
    let user = |text: &str| json!([{"role": "user", "content": text}]);
    let mut body = json!({"model": model, "max_tokens": 64, "messages": user("Say hello in five words.")});
    let mut c = Case::served();
    match name {
        "text" => c.text = "a plain text reply",
        "stream" => {
            c.text = "the same over SSE";
            c.stream = true;
            body["stream"] = json!(true);
        }
        "system-string" => {
            c.text = "`system` as a string";
            body["system"] = json!("You answer in English.");
        }
        "system-blocks" => {
            c.text = "`system` as an array of text blocks";
            body["system"] = json!([{"type": "text", "text": "You answer in English."}]);
        }
        "multi-turn" => {
            c.text = "a conversation of several turns";
            body["messages"] = json!([
                {"role": "user", "content": "My name is Ada."},
                {"role": "assistant", "content": "Nice to meet you, Ada."},
                {"role": "user", "content": "What is my name?"}]);
        }
        "stop-sequences" => {
            c.text = "`stop_sequences` ends the reply at the sequence";
            // A sequence every English sentence holds, so any faithful reply ends at it.
            body["messages"] = user("Write one sentence about the sea.");
            body["stop_sequences"] = json!(["e"]);
            c.check = |r| stop_reason_is(r, "stop_sequence");
        }
        "temperature" => {
            c.text = "`temperature`";
            body["temperature"] = json!(0.5);
        }
        "top-p" => {
            c.text = "`top_p`";
            body["top_p"] = json!(0.9);
        }
        "top-k" => {
            c.text = "`top_k`";
            body["top_k"] = json!(40);
        }
        "tools-auto" | "tools-any" | "tools-named" | "tools-none" => {
            body["messages"] = user("What is the weather in Paris?");
            body["tools"] = json!([weather_tool()]);
            let (text, choice, check): (&str, Value, Check) = match name {
                "tools-auto" => ("tools with `tool_choice: auto`", json!({"type": "auto"}), served),
                "tools-any" => ("`tool_choice: any` forces a tool call", json!({"type": "any"}), |r| {
                    has_block(r, "tool_use").and_then(|()| stop_reason_is(r, "tool_use"))
                }),
                "tools-named" => ("`tool_choice: tool` forces that tool", json!({"type": "tool", "name": "get_weather"}), |r| {
                    match r.tool_inputs.first() {
                        Some((name, _)) if name == "get_weather" => Ok(()),
                        other => Err(format!("expected a get_weather call, got {other:?}")),
                    }
                }),
                _ => ("`tool_choice: none` allows no tool call", json!({"type": "none"}), |r| {
                    if r.blocks.iter().any(|b| b == "tool_use") {
                        Err("a tool_use block despite tool_choice none".into())
                    } else {
                        Ok(())
                    }
                }),
            };
            c.text = text;
            body["tool_choice"] = choice;
            c.check = check;
        }
        "tool-result" => {
            c.text = "a `tool_result` round trip";
            body["tools"] = json!([weather_tool()]);
            body["messages"] = json!([
                {"role": "user", "content": "What is the weather in Paris?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01relaybench", "name": "get_weather", "input": {"city": "Paris"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01relaybench", "content": "18 degrees, clear"}]}]);
            c.check = |r| has_block(r, "text");
        }
        "parallel-tool-results" => {
            c.text = "two parallel tool calls answered by two `tool_result` blocks in one user turn";
            body["tools"] = json!([weather_tool()]);
            body["messages"] = json!([
                {"role": "user", "content": "What is the weather in Paris and in Rome?"},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_01relaybenchA", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_01relaybenchB", "name": "get_weather", "input": {"city": "Rome"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01relaybenchA", "content": "18 degrees, clear"},
                    {"type": "tool_result", "tool_use_id": "toolu_01relaybenchB", "content": "24 degrees, sunny"}]}]);
            c.check = |r| has_block(r, "text");
        }
        "thinking-tool-round-trip" => {
            c.text = THINKING_ROUND_TRIP;
            body = thinking_tool_turn(model);
        }
        "count-tokens" => {
            c.text = COUNT_TOKENS;
            body = counted_body(model);
        }
        "response-cache" => {
            c.text = RESPONSE_CACHE;
            c.stream = true;
            body = repeated_body(model);
        }
        "anthropic-beta-effect" => {
            c.text = "an `anthropic-beta` header that takes effect: the beta's field is answered, not only accepted";
            c.adjust = Some(|t| t.headers.push((crate::protocol::HEADER_BETA.into(), crate::protocol::BETA_CONTEXT_MANAGEMENT.into())));
            body["context_management"] = json!({"edits": [{"type": "clear_tool_uses_20250919"}]});
            c.body_check = Some(|v| match v.get("context_management") {
                Some(cm) if cm.get("applied_edits").is_some_and(Value::is_array) => Ok(()),
                _ => Err(format!("served without `context_management` in the response: the {} beta did not take effect", crate::protocol::BETA_CONTEXT_MANAGEMENT)),
            });
        }
        "thinking" | "thinking-model" => {
            c.text = if name == "thinking" { "extended thinking with a budget" } else { THINKING_MODEL };
            if name == "thinking-model" {
                body["model"] = json!(thinking_model?);
            }
            body["max_tokens"] = json!(2048);
            body["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
            c.check = |r| has_block(r, "thinking");
        }
        "image-base64" | "image-url" => {
            let source = if name == "image-base64" {
                c.text = "an image as base64";
                json!({"type": "base64", "media_type": "image/png", "data": PNG_1PX})
            } else {
                c.text = "an image by URL";
                json!({"type": "url", "url": IMAGE_URL})
            };
            body["messages"] = json!([{"role": "user", "content": [{"type": "image", "source": source}, {"type": "text", "text": "Describe this image in five words."}]}]);
        }
        "metadata" => {
            c.text = "`metadata.user_id`";
            body["metadata"] = json!({"user_id": "relaybench-feature-suite"});
        }
        "prompt-caching" => {
            c.text = "`cache_control`, and the cache counters in usage";
            body["system"] = json!([{"type": "text", "text": "You answer in English.", "cache_control": {"type": "ephemeral"}}]);
            c.check = |r| match r.cache_usage {
                Some(true) => Ok(()),
                _ => Err("usage lacks cache_creation_input_tokens or cache_read_input_tokens".into()),
            };
        }
        "max-tokens-truncation" => {
            c.text = "a reply cut at `max_tokens`";
            body["max_tokens"] = json!(5);
            body["messages"] = user("Explain in detail how server-sent events work.");
            c.check = |r| stop_reason_is(r, "max_tokens");
        }
        "anthropic-beta" => {
            c.text = "an `anthropic-beta` header";
            c.adjust = Some(|t| t.headers.push(("anthropic-beta".into(), "tools-2024-04-04".into())));
        }
        "auth-x-api-key" => {
            c.text = "the key as `x-api-key`";
            c.adjust = Some(|t| t.auth = AuthStyle::XApiKey);
        }
        "auth-bearer" => {
            c.text = "the key as `Authorization: Bearer`";
            c.adjust = Some(|t| t.auth = AuthStyle::Bearer);
        }
        MISSING_VERSION => {
            c.text = "no `anthropic-version` header: the API refuses it (400)";
            c.adjust = Some(|t| t.anthropic_version = None);
            c.refused = Some((400, "invalid_request_error"));
        }
        _ => return None,
    }
    c.body = body;
    Some(c)
}

/// The `-thinking` variant of `model` the provider lists, else its first `-thinking`
/// model; None when it lists none.
pub fn thinking_variant(provider: Option<&Provider>, model: &str) -> Option<&'static str> {
    let listed = provider?.models;
    let own = format!("{model}-thinking");
    listed.iter().find(|m| **m == own).or_else(|| listed.iter().find(|m| m.ends_with("-thinking"))).copied()
}

/// Sends each named case once, in order, to `target`; `provider` is its catalog entry
/// (for the `-thinking` variant and the listed models). A stop (an interrupt) ends the
/// suite between cases; the cases run so far are returned.
pub async fn run(target: &Target, timeouts: Timeouts, model: &str, provider: Option<&Provider>, names: &[String], stop: &Stop) -> Result<Vec<FeatureResult>, ClientError> {
    let sender = Sender { target, timeouts, client: Client::new(target, timeouts)?.with_capture(true), seen: None };
    let mut results = Vec::with_capacity(names.len());
    for name in names {
        if stop.is_stopped() {
            break;
        }
        // An interrupt ends the suite at once, the case in flight unreported.
        // The cases of several requests each.
        if SEVERAL_REQUESTS.contains(&name.as_str()) {
            let several = async {
                match name.as_str() {
                    "listed-models" => listed_models(&sender, provider).await,
                    "count-tokens" => count_tokens(&sender, model).await,
                    "response-cache" => response_cache(&sender, model).await,
                    _ => thinking_round_trip(&sender, model).await,
                }
            };
            tokio::select! {
                r = several => results.push(r?),
                _ = stop.wait() => break,
            }
            continue;
        }
        let Some(case) = case(name, model, thinking_variant(provider, model)) else {
            // Only thinking-model has no case: the provider lists no such variant.
            results.push(FeatureResult {
                name: name.clone(),
                text: THINKING_MODEL,
                status: Status::Unsupported,
                detail: "the provider's catalog entry lists no -thinking model".into(),
                findings: Vec::new(),
            });
            continue;
        };
        let outcome = tokio::select! {
            o = sender.send(&case) => o?,
            _ = stop.wait() => break,
        };
        let (status, detail) = judge(&case, &outcome);
        results.push(FeatureResult { name: name.clone(), text: case.text, status, detail, findings: outcome.findings });
    }
    Ok(results)
}

/// The cases the model scan sends each model (`authenticity:`): a streamed reply, a forced
/// tool call, and a tool called while thinking answered in a second turn, so every
/// fingerprint (ids of both kinds, a signature, headers of both kinds of answer) is seen.
pub const SCAN_CASES: [&str; 3] = ["stream", "tools-any", "thinking-tool-round-trip"];
/// Requests the scan sends one model: the round trip takes two.
pub const SCAN_REQUESTS: u64 = 4;
/// The most output tokens the scan can be billed per model: each case's `max_tokens`.
pub const SCAN_MAX_OUTPUT_TOKENS: u64 = 64 + 64 + 2 * 2048;
/// The most input tokens the scan sends per model, counted generously (the second turn of
/// the round trip carries the first turn's thinking back).
pub const SCAN_MAX_INPUT_TOKENS: u64 = 2 * 200 + 2 * 400 + 2048;

const SCANNED: &str = "the model scan: a streamed reply, a forced tool call, a thinking tool round trip";

/// One model's scan: its row (named `scan:MODEL`) and the fingerprints of its answers.
#[derive(Debug, Clone)]
pub struct Scanned {
    /// The cases' verdict together, with every finding on their answers.
    pub result: FeatureResult,
    /// What each answer said about its channel.
    pub fingerprints: Vec<Fingerprint>,
}

/// Sends [`SCAN_CASES`] to each of `models`, in order; ended at once by `stop`.
pub async fn scan(target: &Target, timeouts: Timeouts, models: &[String], stop: &Stop) -> Result<Vec<Scanned>, ClientError> {
    let sender = Sender { target, timeouts, client: Client::new(target, timeouts)?.with_capture(true), seen: Some(Default::default()) };
    let mut scanned = Vec::with_capacity(models.len());
    for model in models {
        let one = async {
            let mut parts = Vec::new();
            for name in &SCAN_CASES[..2] {
                let Some(case) = case(name, model, None) else { continue };
                let outcome = sender.send(&case).await?;
                let (status, detail) = judge(&case, &outcome);
                parts.push((name.to_string(), status, detail, outcome.findings));
            }
            let trip = thinking_round_trip(&sender, model).await?;
            parts.push((trip.name, trip.status, trip.detail, trip.findings));
            Ok::<_, ClientError>(parts)
        };
        let parts = tokio::select! {
            p = one => p?,
            _ = stop.wait() => break,
        };
        let status = parts.iter().map(|p| p.1).max_by_key(|s| match s {
            Status::Pass => 0,
            Status::Unsupported => 1,
            Status::Fail => 2,
        });
        let detail = parts.iter().map(|(name, status, detail, _)| format!("{name} {}: {detail}", status.id())).collect::<Vec<_>>().join("; ");
        let findings = parts.into_iter().flat_map(|p| p.3).collect();
        let fingerprints = sender.seen.as_ref().map(|seen| std::mem::take(&mut *seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner))).unwrap_or_default();
        let result = FeatureResult { name: format!("scan:{model}"), text: SCANNED, status: status.unwrap_or(Status::Fail), detail, findings };
        scanned.push(Scanned { result, fingerprints });
    }
    Ok(scanned)
}

/// Sends cases to one target: through its pooled client, or through a client of its
/// own for a case that changes the request settings.
struct Sender<'a> {
    target: &'a Target,
    timeouts: Timeouts,
    client: Client,
    /// The fingerprints of the answers so far, kept for the model scan only.
    seen: Option<std::sync::Mutex<Vec<Fingerprint>>>,
}

impl Sender<'_> {
    /// Sends one case.
    async fn send(&self, case: &Case) -> Result<Outcome, ClientError> {
        let adjusted = match case.adjust {
            Some(adjust) => {
                let mut target = self.target.clone();
                adjust(&mut target);
                Some(Client::new(&target, self.timeouts)?.with_capture(true))
            }
            None => None,
        };
        let client = adjusted.as_ref().unwrap_or(&self.client);
        let facts = RequestFacts::from_body(&case.body);
        let outcome = client.execute(Bytes::from(case.body.to_string()), 0, case.stream, Some(&facts), Instant::now()).await;
        if let (Some(seen), Some(fp)) = (&self.seen, &outcome.fingerprint) {
            seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((**fp).clone());
        }
        Ok(outcome)
    }

    /// Sends one case through the pooled client, keeping the reply's text.
    async fn send_keeping_reply(&self, case: &Case) -> Result<Outcome, ClientError> {
        let facts = RequestFacts::from_body(&case.body);
        Ok(self.client.execute_turn(Bytes::from(case.body.to_string()), 0, case.stream, Some(&facts), Instant::now()).await)
    }
}

/// Every model id the provider's document lists, one plain request each: passes when all
/// are served; the responses are held to every rule, so a non-standard id shows as a
/// finding.
async fn listed_models(sender: &Sender<'_>, provider: Option<&Provider>) -> Result<FeatureResult, ClientError> {
    let mut result = FeatureResult {
        name: "listed-models".into(),
        text: LISTED_MODELS,
        status: Status::Pass,
        detail: String::new(),
        findings: Vec::new(),
    };
    let Some(provider) = provider else {
        result.status = Status::Unsupported;
        result.detail = "no catalog entry, so no documented model list".into();
        return Ok(result);
    };
    let mut refused = Vec::new();
    for model in provider.models {
        let Some(case) = case("text", model, None) else { continue };
        let outcome = sender.send(&case).await?;
        let (status, detail) = judge(&case, &outcome);
        result.findings.extend(outcome.findings);
        // A model the document lists and the provider refuses, even cleanly, fails.
        if status != Status::Pass {
            refused.push(format!("{model}: {detail}"));
        }
    }
    result.status = if refused.is_empty() { Status::Pass } else { Status::Fail };
    result.detail = if refused.is_empty() {
        format!("all {} listed models served", provider.models.len())
    } else {
        format!("not served as listed: {}", refused.join("; "))
    };
    Ok(result)
}

/// `count-tokens`: the endpoint's count against the usage of the same request, with a
/// system prompt and a tool (which relays are known to leave out of the count).
async fn count_tokens(sender: &Sender<'_>, model: &str) -> Result<FeatureResult, ClientError> {
    let case = Case { text: COUNT_TOKENS, body: counted_body(model), ..Case::served() };
    let mut counted = case.body.clone();
    if let Some(fields) = counted.as_object_mut() {
        fields.remove("max_tokens");
    }
    let counted = sender.client.count_tokens(Bytes::from(counted.to_string())).await;
    let outcome = sender.send(&case).await?;
    let (status, detail) = match (counted, outcome.input_total) {
        (Err(why), _) if why.starts_with("HTTP 4") => (Status::Unsupported, format!("count_tokens refused: {why}")),
        (Err(why), _) => (Status::Fail, format!("count_tokens failed: {why}")),
        (Ok(_), _) if outcome.kind != OutcomeKind::Ok => judge(&case, &outcome),
        (Ok(n), Some(used)) if n == used => (Status::Pass, format!("count_tokens and usage agree: {n} input tokens")),
        (Ok(n), Some(used)) => (Status::Fail, format!("count_tokens says {n} input tokens, the same request's usage {used}")),
        (Ok(n), None) => (Status::Fail, format!("count_tokens says {n}; the response reports no input usage")),
    };
    Ok(FeatureResult { name: "count-tokens".into(), text: COUNT_TOKENS, status, detail, findings: outcome.findings })
}

/// `thinking-tool-round-trip`: a tool call made while thinking, answered in a second turn
/// that sends the assistant's content back as received, signed thinking block first. A
/// relay that drops the signature fails here, where the real API refuses the second turn.
async fn thinking_round_trip(sender: &Sender<'_>, model: &str) -> Result<FeatureResult, ClientError> {
    let mut result = FeatureResult { name: "thinking-tool-round-trip".into(), text: THINKING_ROUND_TRIP, status: Status::Fail, detail: String::new(), findings: Vec::new() };
    let first = Case { text: THINKING_ROUND_TRIP, body: thinking_tool_turn(model), check: |r| has_block(r, "thinking").and_then(|()| has_block(r, "tool_use")), ..Case::served() };
    let outcome = sender.send(&first).await?;
    let (status, detail) = judge(&first, &outcome);
    result.findings.extend(outcome.findings.iter().cloned());
    if status != Status::Pass {
        (result.status, result.detail) = (status, format!("turn 1: {detail}"));
        return Ok(result);
    }
    let served: Value = outcome.raw.as_ref().and_then(|raw| serde_json::from_slice(&raw.body).ok()).unwrap_or_default();
    let content = served.get("content").cloned().unwrap_or_default();
    let blocks = content.as_array().map(Vec::as_slice).unwrap_or_default();
    let signed = blocks.iter().any(|b| b["type"] == "thinking" && b["signature"].as_str().is_some_and(|s| !s.is_empty()));
    let Some(call) = blocks.iter().find(|b| b["type"] == "tool_use").and_then(|b| b["id"].as_str()) else {
        result.detail = "turn 1: no tool_use block to answer".into();
        return Ok(result);
    };
    if !signed {
        result.detail = "turn 1: the thinking block came back without a signature, which the API refuses when it is sent back".into();
        return Ok(result);
    }
    let mut body = thinking_tool_turn(model);
    body["messages"] = json!([
        body["messages"][0].clone(),
        {"role": "assistant", "content": content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call, "content": "18 degrees, clear"}]}]);
    let second = Case { text: THINKING_ROUND_TRIP, body, check: |r| has_block(r, "text"), ..Case::served() };
    let outcome = sender.send(&second).await?;
    let (status, detail) = judge(&second, &outcome);
    result.findings.extend(outcome.findings);
    (result.status, result.detail) = match status {
        Status::Pass => (Status::Pass, "served both turns, the signed thinking block sent back".into()),
        _ => (Status::Fail, format!("turn 2, the signed thinking block sent back: {detail}")),
    };
    Ok(result)
}

/// The cases that send more than one request.
const SEVERAL_REQUESTS: [&str; 4] = ["listed-models", "count-tokens", "thinking-tool-round-trip", "response-cache"];

const RESPONSE_CACHE: &str = "the same request sent again is generated again, not replayed from a relay's response cache";

/// A request sent twice by `response-cache`: streamed, so each answer's TTFT is its own.
fn repeated_body(model: &str) -> Value {
    json!({
        "model": model,
        "max_tokens": 64,
        "stream": true,
        "temperature": 0,
        "messages": [{"role": "user", "content": "Name the planets of the solar system in order."}],
    })
}

/// `response-cache`: a relay that replays a cached answer sends the same text again with
/// a first token far sooner than generation allows; the API generates it again. Three
/// requests: one unique (how long generation takes here, now), then one twice; only an
/// answer much faster than both earlier ones counts, so one slow request on a busy
/// machine cannot make a cache of it.
async fn response_cache(sender: &Sender<'_>, model: &str) -> Result<FeatureResult, ClientError> {
    let repeated = Case { text: RESPONSE_CACHE, body: repeated_body(model), stream: true, ..Case::served() };
    let mut unique = Case { text: RESPONSE_CACHE, body: repeated_body(model), stream: true, ..Case::served() };
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    unique.body["messages"][0]["content"] = json!(format!("Name the planets of the solar system in order. (request {nonce:x})"));
    let mut result = FeatureResult { name: "response-cache".into(), text: RESPONSE_CACHE, status: Status::Pass, detail: String::new(), findings: Vec::new() };
    let mut answers = Vec::new();
    for (n, case) in [&unique, &repeated, &repeated].into_iter().enumerate() {
        let outcome = sender.send_keeping_reply(case).await?;
        let (status, detail) = judge(case, &outcome);
        result.findings.extend(outcome.findings.iter().cloned());
        if status != Status::Pass {
            (result.status, result.detail) = (status, format!("request {}: {detail}", n + 1));
            return Ok(result);
        }
        answers.push((outcome.reply.unwrap_or_default(), outcome.ttft.unwrap_or_default()));
    }
    let generated = answers[0].1.min(answers[1].1);
    let (again, text_again) = (answers[2].1, &answers[2].0);
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    if *text_again == answers[1].0 && again * 4 < generated && generated.saturating_sub(again) >= std::time::Duration::from_millis(1) {
        let message = format!("the same text again with a first token after {:.1} ms, where generating took at least {:.1} ms: answered from a response cache", ms(again), ms(generated));
        result.findings.push(Finding::new(crate::conformance::Rule::IdentityResponseCache, None, message.clone(), b""));
        (result.status, result.detail) = (Status::Fail, message);
    } else {
        result.detail = format!("generated each time: first tokens after {:.1}, {:.1} and {:.1} ms", ms(answers[0].1), ms(answers[1].1), ms(again));
    }
    Ok(result)
}

const THINKING_MODEL: &str = "the provider's `-thinking` model variant";
const THINKING_ROUND_TRIP: &str = "thinking with a tool call, then the signed thinking block sent back with the tool result";
const COUNT_TOKENS: &str = "`POST /v1/messages/count_tokens` exists and agrees with the usage of the same request";

/// The first turn of the thinking round trip: thinking on, a tool offered.
fn thinking_tool_turn(model: &str) -> Value {
    json!({
        "model": model,
        "max_tokens": 2048,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [weather_tool()],
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
    })
}

/// A request whose input counts system, tools and messages alike.
fn counted_body(model: &str) -> Value {
    json!({
        "model": model,
        "max_tokens": 64,
        "system": "You answer in English, briefly.",
        "tools": [weather_tool()],
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
    })
}
const LISTED_MODELS: &str = "every model id the provider's document lists";

/// The case's verdict on what came back.
fn judge(case: &Case, o: &Outcome) -> (Status, String) {
    let errors: Vec<&str> = o.findings.iter().filter(|f| f.rule.severity() == Severity::Error).map(|f| f.rule.id()).collect();
    let got = || match (o.status, &o.error_type) {
        (Some(s), Some(t)) => format!("{s} {t}"),
        (Some(s), None) => s.to_string(),
        (None, _) => o.detail.clone().unwrap_or_else(|| o.kind.id().to_owned()),
    };
    if let Some((status, error_type)) = case.refused {
        return match o.status {
            Some(s) if s == status && o.error_type.as_deref() == Some(error_type) && errors.is_empty() => (Status::Pass, format!("refused: {}", got())),
            Some(200..=299) => (Status::Fail, format!("served; the API refuses it with {status} {error_type}")),
            _ if !errors.is_empty() => (Status::Fail, format!("{}: {}", got(), errors.join(", "))),
            _ => (Status::Fail, format!("expected {status} {error_type}, got {}", got())),
        };
    }
    match (o.kind, o.status) {
        (OutcomeKind::Ok, _) if !errors.is_empty() => (Status::Fail, format!("served, but {}", errors.join(", "))),
        (OutcomeKind::Ok, _) => match o.response.as_ref().map(case.check) {
            Some(Ok(())) => match (case.body_check, o.raw.as_ref().and_then(|raw| serde_json::from_slice::<Value>(&raw.body).ok())) {
                (Some(check), Some(body)) => match check(&body) {
                    Ok(()) => (Status::Pass, format!("served: {}", got())),
                    Err(why) => (Status::Fail, why),
                },
                (Some(_), None) => (Status::Fail, "the served body could not be read back".into()),
                (None, _) => (Status::Pass, format!("served: {}", got())),
            },
            Some(Err(why)) => (Status::Fail, why),
            None => (Status::Fail, "the response was incomplete".into()),
        },
        (_, Some(400..=499)) if errors.is_empty() => (Status::Unsupported, format!("refused: {}: {}", got(), o.detail.as_deref().unwrap_or(""))),
        _ if !errors.is_empty() => (Status::Fail, format!("{}: {}", got(), errors.join(", "))),
        _ => (Status::Fail, got()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_builds_a_body_the_mock_accepts_unless_it_must_be_refused() {
        let models = vec!["m".to_owned(), "m-thinking".to_owned()];
        for name in all().into_iter().filter(|n| n != "listed-models") {
            let c = case(&name, "m", Some("m-thinking")).unwrap_or_else(|| panic!("{name}"));
            assert!(!c.text.is_empty(), "{name}");
            let accepted = crate::conformance::validate::validate(c.body.to_string().as_bytes(), &models);
            assert!(accepted.is_ok(), "{name}: {:?}", accepted.err());
        }
        assert!(case("thinking-model", "m", None).is_none());
        assert!(case("nope", "m", None).is_none());
        assert!(is_feature(MISSING_VERSION) && !is_feature("nope"));
        assert!(all().iter().all(|n| describe(n).is_some()), "every case describes itself");
        // A beta header accepted but not forwarded leaves the beta's field unanswered.
        let beta = case("anthropic-beta-effect", "m", None).and_then(|c| c.body_check).expect("a body check");
        assert!(beta(&json!({"context_management": {"applied_edits": []}})).is_ok());
        assert!(beta(&json!({"content": []})).is_err());
    }
}
