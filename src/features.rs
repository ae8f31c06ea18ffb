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
use crate::conformance::{Finding, Severity};
use crate::protocol::AuthStyle;
use crate::stop::Stop;
use crate::outcome::{Outcome, OutcomeKind};
use crate::provider::Provider;

/// Every case, in the order they run.
pub const FEATURES: [&str; 25] = [
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
    "thinking",
    "thinking-model",
    "listed-models",
    "image-base64",
    "image-url",
    "metadata",
    "prompt-caching",
    "max-tokens-truncation",
    "anthropic-beta",
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
}

fn served(_: &ResponseSummary) -> Result<(), String> {
    Ok(())
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
    let mut c = Case { text: "", body: Value::Null, stream: false, adjust: None, refused: None, check: served };
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
    let sender = Sender { target, timeouts, client: Client::new(target, timeouts)? };
    let mut results = Vec::with_capacity(names.len());
    for name in names {
        if stop.is_stopped() {
            break;
        }
        // An interrupt ends the suite at once, the case in flight unreported.
        if name == "listed-models" {
            tokio::select! {
                r = listed_models(&sender, provider) => results.push(r?),
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

/// Sends cases to one target: through its pooled client, or through a client of its
/// own for a case that changes the request settings.
struct Sender<'a> {
    target: &'a Target,
    timeouts: Timeouts,
    client: Client,
}

impl Sender<'_> {
    /// Sends one case.
    async fn send(&self, case: &Case) -> Result<Outcome, ClientError> {
        let adjusted = match case.adjust {
            Some(adjust) => {
                let mut target = self.target.clone();
                adjust(&mut target);
                Some(Client::new(&target, self.timeouts)?)
            }
            None => None,
        };
        let client = adjusted.as_ref().unwrap_or(&self.client);
        let facts = RequestFacts::from_body(&case.body);
        Ok(client.execute(Bytes::from(case.body.to_string()), 0, case.stream, Some(&facts), Instant::now()).await)
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

const THINKING_MODEL: &str = "the provider's `-thinking` model variant";
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
            Some(Ok(())) => (Status::Pass, format!("served: {}", got())),
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
    }
}
