//! Names and tables of the Messages API that more than one module needs: the mock speaks
//! them, the client and the checker read them. Sources are cited in `shared/PROTOCOL.md`.

/// The only `anthropic-version` the Messages API has published.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Path of the endpoint under test.
pub const MESSAGES_PATH: &str = "/v1/messages";
/// The Models API: the list, and one model under it by id.
pub const MODELS_PATH: &str = "/v1/models";
/// Path of the token-counting endpoint: a request's input tokens, without running it.
pub const COUNT_TOKENS_PATH: &str = "/v1/messages/count_tokens";

/// Request header carrying the API version.
pub const HEADER_VERSION: &str = "anthropic-version";
/// Header that turns on beta features, comma-separated.
pub const HEADER_BETA: &str = "anthropic-beta";
/// The context-management beta: it allows a request's `context_management` field, and
/// the response then reports `context_management.applied_edits`.
pub const BETA_CONTEXT_MANAGEMENT: &str = "context-management-2025-06-27";
/// Request header for key authentication.
pub const HEADER_API_KEY: &str = "x-api-key";

/// How the key is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStyle {
    /// `x-api-key: KEY`, the official API's header.
    XApiKey,
    /// `Authorization: Bearer KEY`, what most relays document.
    Bearer,
}
/// Response header naming the request for support tickets.
pub const HEADER_REQUEST_ID: &str = "request-id";
/// Prefix of the rate-limit headers: `anthropic-ratelimit-{requests,tokens,input-tokens,
/// output-tokens}-{limit,remaining,reset}` (DOC-RL).
pub const HEADER_RATELIMIT_PREFIX: &str = "anthropic-ratelimit-";
/// Seconds to wait before retrying, on 429 and 529 (DOC-RL).
pub const HEADER_RETRY_AFTER: &str = "retry-after";
/// Milliseconds to wait before retrying; the SDKs read it before `retry-after`.
pub const HEADER_RETRY_AFTER_MS: &str = "retry-after-ms";
/// `true` or `false`: whether the SDKs retry, before their status rules.
pub const HEADER_SHOULD_RETRY: &str = "x-should-retry";

/// Content type of a streamed response, as the API sends it.
pub const CONTENT_TYPE_SSE: &str = "text/event-stream; charset=utf-8";
/// Content type of JSON bodies.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// Stream event names (`event:` field, equal to `data.type`).
pub mod event {
    /// First event: the message with empty content.
    pub const MESSAGE_START: &str = "message_start";
    /// A content block begins.
    pub const CONTENT_BLOCK_START: &str = "content_block_start";
    /// A piece of a content block.
    pub const CONTENT_BLOCK_DELTA: &str = "content_block_delta";
    /// A content block ends.
    pub const CONTENT_BLOCK_STOP: &str = "content_block_stop";
    /// Stop reason and cumulative usage.
    pub const MESSAGE_DELTA: &str = "message_delta";
    /// Last event of a successful stream.
    pub const MESSAGE_STOP: &str = "message_stop";
    /// Keep-alive, anywhere.
    pub const PING: &str = "ping";
    /// An error after the 200 status line; ends the stream.
    pub const ERROR: &str = "error";
}

/// Delta types that carry generated content, so their arrival times define TTFT and ITL.
pub const CONTENT_DELTA_TYPES: [&str; 3] = ["text_delta", "thinking_delta", "input_json_delta"];

/// `stop_reason` values the API defines.
pub const STOP_REASONS: [&str; 7] = [
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
];

/// HTTP status and the `error.type` the API pairs with it (DOC-ERR table).
pub const ERROR_TYPES: [(u16, &str); 10] = [
    (400, "invalid_request_error"),
    (401, "authentication_error"),
    (402, "billing_error"),
    (403, "permission_error"),
    (404, "not_found_error"),
    (413, "request_too_large"),
    (429, "rate_limit_error"),
    (500, "api_error"),
    (504, "timeout_error"),
    (529, "overloaded_error"),
];

/// The `error.type` the API uses for `status`; other 4xx map to `invalid_request_error`.
pub fn error_type_for_status(status: u16) -> Option<&'static str> {
    ERROR_TYPES
        .iter()
        .find(|(s, _)| *s == status)
        .map(|(_, t)| *t)
        .or_else(|| (400..500).contains(&status).then_some("invalid_request_error"))
}

/// The error envelope body the API sends, with a request id.
pub fn error_body(error_type: &str, message: &str, request_id: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_maps_to_documented_error_type() {
        assert_eq!(error_type_for_status(401), Some("authentication_error"));
        assert_eq!(error_type_for_status(529), Some("overloaded_error"));
        assert_eq!(error_type_for_status(418), Some("invalid_request_error"));
        assert_eq!(error_type_for_status(502), None);
    }
}
