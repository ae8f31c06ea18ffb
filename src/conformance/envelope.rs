//! Error envelopes and response headers (PROTOCOL.md §3 and §4).

use serde_json::Value;

use super::finding::Finding;
use super::rules::Rule;
use crate::headers::HeaderFields;
use crate::protocol::{error_type_for_status, HEADER_RATELIMIT_PREFIX, HEADER_REQUEST_ID};

/// Checks a non-2xx body: JSON, envelope shape, and `error.type` against the status.
pub fn check_error_body(status: u16, body: &[u8]) -> Vec<Finding> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    check_error_parsed(status, parsed.as_ref(), body)
}

/// [`check_error_body`] for a body the caller already parsed (`None`: not JSON).
pub fn check_error_parsed(status: u16, parsed: Option<&Value>, body: &[u8]) -> Vec<Finding> {
    match parsed {
        Some(v) => {
            let mut findings = check_envelope(Some(status), v, body, None);
            // Judged on an envelope of the API's shape only: a body of another shape is
            // already a violation, and lacks the id for the same reason.
            let shaped = !findings.iter().any(|f| f.rule == Rule::EnvelopeShape);
            let id = v.get("request_id").and_then(Value::as_str).filter(|id| !id.is_empty());
            if shaped && id.is_none() {
                findings.push(Finding::new(Rule::EnvelopeRequestIdMissing, None, format!("HTTP {status} error body has no request_id"), body));
            }
            findings
        }
        None => vec![Finding::new(Rule::EnvelopeNotJson, None, format!("HTTP {status} body is not JSON"), body)],
    }
}

/// Checks an error envelope, from an HTTP error (`status`) or a stream `error` event
/// (`status` None, `event_index` set).
pub fn check_envelope(status: Option<u16>, v: &Value, raw: &[u8], event_index: Option<usize>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let top = v.get("type").and_then(Value::as_str);
    let error_type = v.pointer("/error/type").and_then(Value::as_str);
    let message = v.pointer("/error/message").and_then(Value::as_str);
    if top != Some("error") || error_type.is_none() || message.is_none() {
        let what = match (top, error_type, message) {
            (t, _, _) if t != Some("error") => "no top-level \"type\": \"error\"",
            (_, None, _) => "error.type is not a string",
            _ => "error.message is not a string",
        };
        findings.push(Finding::new(Rule::EnvelopeShape, event_index, what, raw));
    }
    // A relay that flattens the upstream's 529 into a 5xx api_error still says so in
    // words; clients that retry on overloaded_error then never see one.
    let overload_in_words = message.is_some_and(|m| m.to_ascii_lowercase().contains("overload"));
    if overload_in_words && error_type.is_some_and(|t| t != "overloaded_error") && status.is_none_or(|s| (500..600).contains(&s)) {
        let at = status.map_or("an error event".to_owned(), |s| format!("HTTP {s}"));
        findings.push(Finding::new(
            Rule::EnvelopeOverloadedFlattened,
            event_index,
            format!("{at} says the upstream is overloaded but carries error.type {:?}, not overloaded_error", error_type.unwrap_or_default()),
            raw,
        ));
    }
    if let (Some(status), Some(got)) = (status, error_type) {
        if let Some(expected) = error_type_for_status(status) {
            if got != expected {
                findings.push(Finding::new(
                    Rule::EnvelopeStatusMismatch,
                    None,
                    format!("HTTP {status} should carry error.type {expected:?}, got {got:?}"),
                    raw,
                ));
            }
        }
    }
    findings
}

/// Checks response headers: content type for the kind of body, `request-id`, and
/// `retry-after` on 429/529.
pub fn check_headers(status: u16, stream: bool, headers: &impl HeaderFields) -> Vec<Finding> {
    let mut findings = Vec::new();
    let content_type = headers.text(http::header::CONTENT_TYPE.as_str()).unwrap_or("");
    let success = (200..300).contains(&status);
    let expected = if success && stream { "text/event-stream" } else { "application/json" };
    if !content_type.get(..expected.len()).is_some_and(|start| start.eq_ignore_ascii_case(expected)) {
        let content_type = content_type.to_ascii_lowercase();
        findings.push(Finding::new(
            Rule::ContentTypeWrong,
            None,
            format!("HTTP {status}: content-type {content_type:?}, expected {expected}"),
            b"",
        ));
    }
    if !headers.has(HEADER_REQUEST_ID) {
        findings.push(Finding::new(Rule::RequestIdMissing, None, format!("HTTP {status} without request-id"), b""));
    }
    let own_names = headers.fields().any(|(n, _)| n.starts_with(HEADER_RATELIMIT_PREFIX));
    if let (Some(renamed), false) = (super::fingerprint::renamed_limit_header(headers), own_names) {
        findings.push(Finding::new(Rule::LimitsHeadersRenamed, None, format!("HTTP {status}: rate-limit header {renamed} and none named {HEADER_RATELIMIT_PREFIX}*"), b""));
    }
    if matches!(status, 429 | 529) && !headers.has(http::header::RETRY_AFTER.as_str()) {
        findings.push(Finding::new(Rule::RetryAfterMissing, None, format!("HTTP {status} without retry-after"), b""));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn rules(findings: &[Finding]) -> Vec<Rule> {
        findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn rate_limit_headers_under_a_gateway_s_prefix_are_named_and_the_api_s_are_not() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", http::HeaderValue::from_static("application/json"));
        headers.insert("request-id", http::HeaderValue::from_static("req_1"));
        assert!(check_headers(200, false, &headers).is_empty());
        headers.insert("anthropic-ratelimit-requests-remaining", http::HeaderValue::from_static("49"));
        assert!(check_headers(200, false, &headers).is_empty(), "the API's names");
        headers.insert("llm_provider-anthropic-ratelimit-requests-remaining", http::HeaderValue::from_static("49"));
        assert!(check_headers(200, false, &headers).is_empty(), "a copy beside the API's own does no harm");
        headers.remove("anthropic-ratelimit-requests-remaining");
        assert_eq!(rules(&check_headers(200, false, &headers)), [Rule::LimitsHeadersRenamed]);
    }

    #[test]
    fn an_overload_flattened_into_a_502_is_named() {
        let flattened = br#"{"type":"error","error":{"type":"api_error","message":"Upstream overloaded, please try again later"},"request_id":"req_1"}"#;
        assert_eq!(rules(&check_error_body(502, flattened)), [Rule::EnvelopeOverloadedFlattened]);
        let real = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#;
        assert!(check_error_body(529, real).is_empty());
        let internal = br#"{"type":"error","error":{"type":"api_error","message":"Internal server error"},"request_id":"req_1"}"#;
        assert!(check_error_body(500, internal).is_empty());
    }

    #[test]
    fn official_envelope_passes() {
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#;
        assert!(check_error_body(529, body).is_empty());
    }

    #[test]
    fn an_error_body_without_request_id_is_named_once_its_shape_is_right() {
        let wrapped = br#"{"type":"error","error":{"type":"invalid_request_error","message":"litellm.APIError: AnthropicException - max_tokens: Field required"}}"#;
        assert_eq!(rules(&check_error_body(400, wrapped)), [Rule::EnvelopeRequestIdMissing]);
        let null_id = br#"{"type":"error","error":{"type":"invalid_request_error","message":"x"},"request_id":null}"#;
        assert_eq!(rules(&check_error_body(400, null_id)), [Rule::EnvelopeRequestIdMissing]);
        let real = include_bytes!("../../tests/fixtures/real-api/error-extra-keys.json");
        assert!(check_error_body(529, real).is_empty(), "the API's own error body");
        let openai = br#"{"error":{"message":"bad key","type":"authentication_error"}}"#;
        assert_eq!(rules(&check_error_body(401, openai)), [Rule::EnvelopeShape], "a body of another shape is named once");
    }

    #[test]
    fn relay_envelope_without_top_level_type_is_flagged() {
        // The shape the DimiLinks document specifies.
        let body = br#"{"error":{"message":"bad key","type":"authentication_error","code":"invalid_api_key"}}"#;
        assert_eq!(rules(&check_error_body(401, body)), [Rule::EnvelopeShape]);
    }

    #[test]
    fn status_and_type_must_agree() {
        let body = br#"{"type":"error","error":{"type":"api_error","message":"x"},"request_id":"req_1"}"#;
        assert_eq!(rules(&check_error_body(429, body)), [Rule::EnvelopeStatusMismatch]);
        assert!(check_error_body(500, body).is_empty());
    }

    #[test]
    fn html_error_page_is_not_json() {
        assert_eq!(rules(&check_error_body(502, b"<h1>bad gateway</h1>")), [Rule::EnvelopeNotJson]);
    }

    #[test]
    fn headers_fire_only_when_missing_or_wrong() {
        let mut ok = HeaderMap::new();
        ok.insert("content-type", "text/event-stream; charset=utf-8".parse().expect("value"));
        ok.insert("request-id", "req_1".parse().expect("value"));
        assert!(check_headers(200, true, &ok).is_empty());
        assert_eq!(rules(&check_headers(200, false, &ok)), [Rule::ContentTypeWrong]);
        let mut limited = HeaderMap::new();
        limited.insert("content-type", "application/json".parse().expect("value"));
        assert_eq!(rules(&check_headers(429, false, &limited)), [Rule::RequestIdMissing, Rule::RetryAfterMissing]);
    }
}
