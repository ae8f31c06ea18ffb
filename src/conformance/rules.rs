//! The rule table: every conformance rule's stable id, severity and one line of text.
//! Reports, the guide (`docs/conformance.md`) and `relaybench check` all read it from here.

/// How much a finding matters. Only errors fail the conformance gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Breaks what the protocol states or an official SDK enforces.
    Error,
    /// Observed or inferred behaviour only; worth knowing, not a violation.
    Warn,
    /// Allowed by the protocol's promise of growth (new event or delta types).
    Info,
}

impl Severity {
    /// Name used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warn => "warn",
            Severity::Info => "info",
        }
    }
}

/// The kinds of fault, as PROTOCOL.md §8 groups the faults of real relays, so a
/// comparison can say "errors: envelope; usage: zeroed in streams" at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)] // Each variant is named by its id.
pub enum Class {
    Usage,
    Structure,
    Streaming,
    Errors,
    Stop,
    Tools,
    Thinking,
    Headers,
    Identity,
    Limits,
    NewTypes,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 11] = [
        Class::Usage,
        Class::Structure,
        Class::Streaming,
        Class::Errors,
        Class::Stop,
        Class::Tools,
        Class::Thinking,
        Class::Headers,
        Class::Identity,
        Class::Limits,
        Class::NewTypes,
    ];

    /// Stable id, used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Class::Usage => "usage",
            Class::Structure => "structure",
            Class::Streaming => "streaming",
            Class::Errors => "errors",
            Class::Stop => "stop",
            Class::Tools => "tools",
            Class::Thinking => "thinking",
            Class::Headers => "headers",
            Class::Identity => "identity",
            Class::Limits => "limits",
            Class::NewTypes => "new types",
        }
    }
}

/// A conformance rule. The discriminant indexes [`RULES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)] // Each variant is documented by its row in RULES.
pub enum Rule {
    Framing,
    DataNotJson,
    SchemaEvent,
    EventUnnamed,
    EventNameMismatch,
    FirstEventNotMessageStart,
    DuplicateMessageStart,
    BlockIndexNotSequential,
    BlockEventBeforeStart,
    BlockEventAfterStop,
    DeltaTypeMismatch,
    ToolInputInvalid,
    BlockOpenAtMessageDelta,
    BlockOpenAtMaxTokens,
    ContentAfterMessageDelta,
    MessageDeltaUsageMissing,
    StopReasonNull,
    StopReasonUnknown,
    StopSequenceInconsistent,
    UsageDecreased,
    OutputTokensBelowStart,
    MissingMessageDelta,
    MissingMessageStop,
    EventAfterMessageStop,
    UnknownEvent,
    UnknownDelta,
    UnknownBlock,
    InputTokensZero,
    ThinkingSignatureMissing,
    OpenAiDone,
    ErrorInsteadOfStatus,
    BufferedStream,
    MessageShape,
    RequestMaxTokens,
    RequestStopSequenceUnknown,
    RequestToolUseMismatch,
    RequestToolInputSchema,
    RequestThinkingMissing,
    RequestModelMismatch,
    RequestModelNonStandard,
    RequestOutputTokenDrift,
    RequestUsageStreamMismatch,
    RequestStopSequenceIgnored,
    RequestEmptyEndTurn,
    ProbeUnexpectedResponse,
    EnvelopeNotJson,
    EnvelopeShape,
    EnvelopeStatusMismatch,
    EnvelopeOverloadedFlattened,
    ContentTypeWrong,
    RequestIdMissing,
    RetryAfterMissing,
    IdentityBackend,
    IdentityResponseCache,
    LimitsStaticHeaders,
    LimitsRemainingRose,
    LimitsThrottledWithRoom,
    LimitsResetInvalid,
    LimitsHeadersRenamed,
    LimitsHeadersDropped,
    StreamHeadHeld,
    EnvelopeRequestIdMissing,
    IdentityTokenizer,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// The rule.
    pub rule: Rule,
    /// The kind of fault, as PROTOCOL.md §8 groups relay faults.
    pub class: Class,
    /// Stable id, used in reports and by `relaybench check`.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What the rule requires, in one line.
    pub text: &'static str,
}

const fn row(rule: Rule, class: Class, id: &'static str, severity: Severity, text: &'static str) -> RuleInfo {
    RuleInfo { rule, class, id, severity, text }
}

use Class::{Errors, Headers, Identity, Limits, NewTypes, Stop, Streaming, Structure, Thinking, Tools, Usage};
use Severity::{Error, Info, Warn};

/// Every rule, in the order of [`Rule`]'s variants.
pub const RULES: [RuleInfo; 63] = [
    row(Rule::Framing, Structure, "stream.framing", Error, "the body frames as server-sent events: valid UTF-8, each event under the size limit"),
    row(Rule::DataNotJson, Structure, "stream.data-not-json", Error, "every event's data is one JSON object"),
    row(Rule::SchemaEvent, Structure, "stream.schema", Error, "each event's data matches the JSON Schema of its `type` (schemas/anthropic/*Event.schema.json)"),
    row(Rule::EventUnnamed, Structure, "stream.event-unnamed", Error, "every event carries an `event:` name (no data-only events since 2023-06-01)"),
    row(Rule::EventNameMismatch, Structure, "stream.event-name-mismatch", Error, "the `event:` name equals `data.type`"),
    row(Rule::FirstEventNotMessageStart, Structure, "stream.first-event-not-message-start", Error, "the first event other than `ping` is `message_start` (or `error`)"),
    row(Rule::DuplicateMessageStart, Structure, "stream.duplicate-message-start", Error, "`message_start` occurs exactly once"),
    row(Rule::BlockIndexNotSequential, Structure, "stream.block-index-not-sequential", Error, "`content_block_start` indices are 0, 1, 2… with no gap or repeat"),
    row(Rule::BlockEventBeforeStart, Structure, "stream.block-event-before-start", Error, "a delta or stop addresses a block that has started"),
    row(Rule::BlockEventAfterStop, Structure, "stream.block-event-after-stop", Error, "no delta or second stop after a block's `content_block_stop`"),
    row(Rule::DeltaTypeMismatch, Structure, "stream.delta-type-mismatch", Error, "a known delta type fits its block (text_delta→text, input_json_delta→tool_use…)"),
    row(Rule::ToolInputInvalid, Tools, "stream.tool-input-invalid", Error, "a tool block's concatenated `partial_json` parses to a JSON object at its stop"),
    row(Rule::BlockOpenAtMessageDelta, Structure, "stream.block-open-at-message-delta", Error, "every block is stopped before `message_delta`"),
    row(Rule::BlockOpenAtMaxTokens, Structure, "stream.block-open-at-max-tokens", Warn, "a block left open at `message_delta` when `stop_reason` is `max_tokens`"),
    row(Rule::ContentAfterMessageDelta, Structure, "stream.content-after-message-delta", Error, "no `content_block_*` event after `message_delta`"),
    row(Rule::MessageDeltaUsageMissing, Usage, "stream.message-delta-usage-missing", Error, "`message_delta` carries `usage.output_tokens` as an integer"),
    row(Rule::StopReasonNull, Stop, "stream.stop-reason-null", Error, "`message_delta.delta.stop_reason` is not null"),
    row(Rule::StopReasonUnknown, Stop, "stream.stop-reason-unknown", Warn, "`stop_reason` is one of the documented values"),
    row(Rule::StopSequenceInconsistent, Stop, "stream.stop-sequence-inconsistent", Error, "`stop_sequence` is a string exactly when `stop_reason` is `stop_sequence`"),
    row(Rule::UsageDecreased, Usage, "stream.usage-decreased", Error, "usage counters are cumulative: none decreases from one `message_delta` to the next or below `message_start`"),
    row(Rule::OutputTokensBelowStart, Usage, "stream.output-tokens-below-start", Warn, "final `output_tokens` below the count in `message_start`"),
    row(Rule::MissingMessageDelta, Usage, "stream.missing-message-delta", Error, "a stream has a `message_delta` before `message_stop`"),
    row(Rule::MissingMessageStop, Structure, "stream.missing-message-stop", Error, "a stream without an `error` event ends with `message_stop`"),
    row(Rule::EventAfterMessageStop, Structure, "stream.event-after-message-stop", Error, "nothing but `ping` follows `message_stop`"),
    row(Rule::UnknownEvent, NewTypes, "stream.unknown-event", Info, "an event type the protocol does not name (allowed: new types may be added)"),
    row(Rule::UnknownDelta, NewTypes, "stream.unknown-delta", Info, "a delta type the protocol does not name (allowed: new types may be added)"),
    row(Rule::UnknownBlock, NewTypes, "content.unknown-block", Info, "a content block type the protocol does not name (allowed: new types such as `compaction` appear in real traffic)"),
    row(Rule::InputTokensZero, Usage, "stream.input-tokens-zero", Error, "`message_start` reports input: `usage.input_tokens` of 0 with no cached input is a relay that did not count the prompt"),
    row(Rule::ThinkingSignatureMissing, Thinking, "stream.thinking-signature-missing", Error, "a `thinking` block carries a `signature_delta` before its stop (without it the next turn is refused)"),
    row(Rule::OpenAiDone, Structure, "stream.openai-done", Error, "no OpenAI-style `data: [DONE]` line: the stream ends with `message_stop`"),
    row(Rule::ErrorInsteadOfStatus, Errors, "stream.error-instead-of-status", Warn, "an error before `message_start` comes as an HTTP status, not as HTTP 200 and an `error` event"),
    row(Rule::BufferedStream, Streaming, "stream.buffered", Warn, "content is streamed as it is generated, not buffered and sent in one burst (TTFT and ITL of such a stream mean nothing)"),
    row(Rule::MessageShape, Structure, "message.shape", Error, "a non-streaming body matches the Message schema (schemas/anthropic/Message.schema.json): non-null `stop_reason`, typed content blocks and usage"),
    row(Rule::RequestMaxTokens, Usage, "request.max-tokens", Error, "output never exceeds `max_tokens`, and `stop_reason` is `max_tokens` only when output reached it"),
    row(Rule::RequestStopSequenceUnknown, Stop, "request.stop-sequence-unknown", Error, "a returned `stop_sequence` is one of the request's `stop_sequences`"),
    row(Rule::RequestToolUseMismatch, Tools, "request.tool-use-mismatch", Error, "a `tool_use` block comes back exactly when `stop_reason` is `tool_use`, and only if a tool could be called"),
    row(Rule::RequestToolInputSchema, Tools, "request.tool-input-schema", Error, "a tool call names an offered tool and its input validates against that tool's `input_schema`"),
    row(Rule::RequestThinkingMissing, Thinking, "request.thinking-missing", Error, "with thinking enabled, a thinking (or redacted_thinking) block comes back"),
    row(Rule::RequestModelMismatch, Identity, "request.model-mismatch", Warn, "the response's `model` is the requested one (or its dated id)"),
    row(Rule::RequestModelNonStandard, Identity, "request.model-nonstandard", Warn, "the response's `model` follows the API's naming: models before Claude 4 are `claude-3[-N]-FAMILY-…`, never `claude-FAMILY-3…`"),
    row(Rule::RequestOutputTokenDrift, Usage, "request.output-token-drift", Warn, "`usage.output_tokens` is not far below the number of content deltas counted"),
    row(Rule::RequestUsageStreamMismatch, Usage, "request.usage-stream-mismatch", Warn, "the same prompt reports the same total input tokens streamed and not streamed"),
    row(Rule::RequestStopSequenceIgnored, Stop, "request.stop-sequence-ignored", Error, "a requested stop sequence never appears in the text of a response that did not stop on it"),
    row(Rule::RequestEmptyEndTurn, Stop, "request.empty-end-turn", Warn, "`end_turn` comes with an answer: no text and no tool call is a refusal reported as `end_turn`"),
    row(Rule::ProbeUnexpectedResponse, Errors, "probe.unexpected-response", Error, "a negative probe gets the HTTP status the protocol requires (its `error.type` is judged by `envelope.status-mismatch`)"),
    row(Rule::EnvelopeNotJson, Errors, "envelope.not-json", Error, "an error response's body is JSON"),
    row(Rule::EnvelopeShape, Errors, "envelope.shape", Error, "an error body is `{\"type\":\"error\",\"error\":{\"type\":string,\"message\":string}}`"),
    row(Rule::EnvelopeStatusMismatch, Errors, "envelope.status-mismatch", Error, "`error.type` is the one the API pairs with the HTTP status"),
    row(Rule::EnvelopeOverloadedFlattened, Errors, "envelope.overloaded-flattened", Error, "an overloaded upstream is `overloaded_error` (HTTP 529), not a 5xx `api_error` that says so in words"),
    row(Rule::ContentTypeWrong, Headers, "header.content-type", Error, "streams are `text/event-stream`, other bodies `application/json`"),
    row(Rule::RequestIdMissing, Headers, "header.request-id-missing", Warn, "every response carries a `request-id` header"),
    row(Rule::RetryAfterMissing, Headers, "header.retry-after-missing", Warn, "429 and 529 responses carry `retry-after`"),
    row(Rule::IdentityBackend, Identity, "identity.backend", Info, "fingerprints of the backend behind a relay: ids other than `msg_…`/`toolu_…` (Bedrock, Vertex), `usage.service_tier` missing"),
    row(Rule::IdentityResponseCache, Identity, "identity.response-cache", Warn, "a repeated request is generated again, not answered from a relay's response cache (the same text with a far shorter TTFT; the feature case `response-cache`)"),
    row(Rule::LimitsStaticHeaders, Limits, "limits.static-headers", Warn, "`anthropic-ratelimit-*-remaining` counts the requests and tokens sent: it does not stay the same, with the same reset time, over more responses than the limit could refill"),
    row(Rule::LimitsRemainingRose, Limits, "limits.remaining-rose", Warn, "`remaining` rises no faster than its limit refills (the limit per minute, over the time between two responses) while the earlier reset time has not passed"),
    row(Rule::LimitsThrottledWithRoom, Limits, "limits.throttled-with-room", Warn, "a 429 comes when a limit is spent, not while its own (or the last second's) headers leave 10% or more of every limit"),
    row(Rule::LimitsResetInvalid, Limits, "limits.reset-invalid", Warn, "`anthropic-ratelimit-*-reset` is an RFC 3339 time, not before the response and at most the limits' one-minute window after it"),
    row(Rule::LimitsHeadersRenamed, Limits, "limits.headers-renamed", Warn, "rate-limit headers keep the API's names: a copy under a gateway's prefix (`llm_provider-anthropic-ratelimit-*`) with none of `anthropic-ratelimit-*` is invisible to the SDKs and to any client reading the API's"),
    row(Rule::LimitsHeadersDropped, Limits, "limits.headers-dropped", Warn, "rate-limit headers come on every successful answer: a target that sends them on streams but not on whole answers (or the reverse) has a program in front of the API that drops them"),
    row(Rule::StreamHeadHeld, Streaming, "stream.head-held", Warn, "a stream's head and `message_start` come before its first token: on 10 or more streams with a TTFT of 20 ms or more, every head arriving with the first token is a proxy holding it back (TTFB then measures the model, not the relay)"),
    row(Rule::EnvelopeRequestIdMissing, Errors, "envelope.request-id-missing", Warn, "an HTTP error body carries the API's top-level `request_id`: one without it was dropped by a relay or written by the relay itself, and leaves nothing to quote to support"),
    row(Rule::IdentityTokenizer, Identity, "identity.tokenizer", Warn, "fixed texts cost the input tokens a reference target (or saved reference) bills for the same model, and `count_tokens` agrees with the bill: other counts are another tokenizer behind the model's name, or a prompt added on the way"),
];

impl Rule {
    /// This rule's row.
    pub fn info(self) -> &'static RuleInfo {
        &RULES[self as usize]
    }

    /// Stable id.
    pub fn id(self) -> &'static str {
        self.info().id
    }

    /// Severity.
    pub fn severity(self) -> Severity {
        self.info().severity
    }

    /// The kind of fault.
    pub fn class(self) -> Class {
        self.info().class
    }

    /// The rule with id `id`.
    pub fn from_id(id: &str) -> Option<Rule> {
        RULES.iter().find(|r| r.id == id).map(|r| r.rule)
    }
}

/// The rule table as Markdown, as the guide shows it (`relaybench rules`).
pub fn markdown_table() -> String {
    let mut out = String::from("| id | severity | class | the rule |\n|---|---|---|---|\n");
    for r in RULES {
        out.push_str(&format!("| `{}` | {} | {} | {} |\n", r.id, r.severity.id(), r.class.id(), r.text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_follow_the_enum_and_ids_are_unique() {
        for (i, row) in RULES.iter().enumerate() {
            assert_eq!(row.rule as usize, i, "{} is out of place", row.id);
            assert_eq!(Rule::from_id(row.id), Some(row.rule));
        }
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
    }
}
