//! The stream state machine (PROTOCOL.md §2.3): event order, block bookkeeping, tool
//! input assembly, stop reasons and cumulative usage. It sees each event once, after the
//! client has parsed it, and keeps only per-block state, so checking costs little.

use serde_json::Value;

use super::envelope;
use super::fast::{Delta, MessageDelta, Plain, StartMessage};
use super::finding::Finding;
use super::rules::Rule;
use super::usage::UsageCounts;
use crate::protocol::{event, STOP_REASONS};

/// `v` at `path`, key by key. `Value::pointer` copies every key it unescapes, which on
/// the events of every stream showed in profiles.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(key))
}

/// An event's data as [`StreamChecker::raw_event`] read it.
// Returned and taken apart at once, never stored: boxing the large variant would only
// add an allocation per stream.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Read<'a> {
    /// A plain `content_block_delta`, read by the typed fast path.
    Delta(Delta<'a>),
    /// Another event of a text stream, read by the typed fast path.
    Plain(Plain<'a>),
    /// Anything else, parsed as JSON, or why it is not JSON.
    Json(Result<Value, serde_json::Error>),
}

/// Block types that call a tool, with an `id`, a `name` and JSON input.
const TOOL_BLOCKS: [&str; 3] = ["tool_use", "server_tool_use", "mcp_tool_use"];

/// Whether `usage` reports `iterations`: its counters then describe the last iteration
/// and may fall (PROTOCOL.md §7).
fn has_iterations(usage: &Value) -> bool {
    usage.get("iterations").is_some_and(|i| !i.is_null())
}

/// Whether a block of type `kind` calls a tool.
pub fn tool_block(kind: &str) -> bool {
    TOOL_BLOCKS.contains(&kind)
}

/// Block types the protocol names; others are reported as `info` by name.
pub fn known_block(block: &str) -> bool {
    matches!(block, "text" | "thinking" | "redacted_thinking") || tool_block(block) || block.ends_with("_tool_result")
}

/// Block types each known delta type may address; unknown block types accept anything.
fn delta_fits(delta: &str, block: &str) -> Option<bool> {
    // Comparisons with literals, which compile to a few loads, and the known-block test
    // only when the block is not the one expected: this runs for every delta of a stream.
    let fits = match delta {
        "text_delta" | "citations_delta" => block == "text",
        "input_json_delta" => tool_block(block),
        "thinking_delta" | "signature_delta" => block == "thinking",
        _ => return None,
    };
    Some(fits || !known_block(block))
}

struct Block {
    kind: String,
    stopped: bool,
    /// Concatenated `partial_json` of a tool block; `None` until the first fragment.
    json: Option<String>,
    tool: bool,
    /// A tool block's name and input (from its start, replaced by the assembled JSON).
    name: String,
    input: Value,
    /// A thinking block's signature arrived (in its start or a `signature_delta`).
    signed: bool,
}

impl Block {
    fn placeholder() -> Block {
        Block { kind: String::new(), stopped: true, json: None, tool: false, name: String::new(), input: Value::Null, signed: true }
    }
}

/// Checks one stream, event by event.
#[derive(Default)]
pub struct StreamChecker {
    index: usize,
    /// Some event other than ping has arrived (so the first-event rule fires once).
    started: bool,
    message_starts: usize,
    blocks: Vec<Block>,
    message_deltas: usize,
    stopped: bool,
    errored: bool,
    /// Usage as last reported, by counter name.
    usage: Vec<(&'static str, u64)>,
    start_output: Option<u64>,
    model: Option<String>,
    stop_reason: Option<String>,
    stop_sequence: Option<String>,
    /// `output_tokens` of the last message_delta: the final count (message_start's is an
    /// early estimate, so it does not stand in for a missing one).
    final_output: Option<u64>,
    /// `message_start` held the whole message (content and stop_reason): programmatic
    /// tool calling (PROTOCOL.md §7) sends no block events and no `message_delta`.
    complete_start: bool,
    /// Usage carried `iterations` (compaction, server-side iterations): the top-level
    /// counters then describe the last iteration and may fall (PROTOCOL.md §7).
    iterations: bool,
    /// Text of the text blocks, up to [`super::request::MAX_TEXT`], kept only when
    /// asked for (a request with stop sequences to hold it to).
    text: String,
    text_wanted: bool,
    /// Some text block held more than whitespace.
    has_text: bool,
    /// Backend fingerprints seen: message id, tool ids, usage, the first thinking
    /// block's signature (cut at [`SIGNATURE_KEPT`] bytes; "" when it had none).
    message_id: Option<String>,
    tool_ids: Vec<String>,
    /// The channel's signals in `message_start`'s usage.
    start_signals: Option<[Option<String>; 3]>,
    signature: Option<String>,
    /// The fingerprints, once the stream finished with a `message_start` in it.
    fingerprint: Option<super::fingerprint::Fingerprint>,
    findings: Vec<Finding>,
    /// Findings past [`MAX_KEPT_PER_RULE`] of their rule: counted, not kept.
    unkept: Vec<(Rule, u64)>,
}

/// Bytes of a signature kept: enough to tell a full one from a cut one.
const SIGNATURE_KEPT: usize = 256;

/// Findings of one rule kept per stream; the rest are counted only, so a server that
/// breaks a rule on every event cannot grow a stream's memory without bound.
pub const MAX_KEPT_PER_RULE: usize = 3;

impl StreamChecker {
    /// A checker for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&mut self, rule: Rule, message: impl Into<String>, raw: &str) {
        self.keep(Finding::new(rule, Some(self.index), message, raw.as_bytes()));
    }

    /// Keeps `f`, or only counts it when its rule has [`MAX_KEPT_PER_RULE`] already.
    fn keep(&mut self, f: Finding) {
        if self.findings.iter().filter(|k| k.rule == f.rule).count() < MAX_KEPT_PER_RULE {
            self.findings.push(f);
        } else if let Some((_, n)) = self.unkept.iter_mut().find(|(r, _)| *r == f.rule) {
            *n += 1;
        } else {
            self.unkept.push((f.rule, 1));
        }
    }

    /// Keeps the text of the stream's text blocks for the request-aware checks (up to
    /// [`super::request::MAX_TEXT`]); off by default, as only stop sequences need it.
    pub fn want_text(&mut self, wanted: bool) {
        self.text_wanted = wanted;
    }

    /// Records an event that did not frame (bad UTF-8, over the size limit).
    pub fn framing_error(&mut self, error: &crate::sse::Error) {
        self.find(Rule::Framing, error.to_string(), "");
        self.index += 1;
    }

    /// Checks one event: its `event:` name, its raw data, and the data parsed as JSON
    /// (`None` when it did not parse).
    pub fn event(&mut self, name: &str, raw: &str, data: Option<&Value>) {
        self.check_event(name, raw, data);
        self.index += 1;
    }

    fn check_event(&mut self, name: &str, raw: &str, data: Option<&Value>) {
        if name.is_empty() && raw.trim() == "[DONE]" {
            return self.find(Rule::OpenAiDone, "an OpenAI-style `data: [DONE]` line", raw);
        }
        let Some(data) = data.filter(|d| d.is_object()) else {
            return self.find(Rule::DataNotJson, format!("event {name:?}: data is not a JSON object"), raw);
        };
        let data_type = data.get("type").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            self.find(Rule::EventUnnamed, format!("event with data type {data_type:?} has no `event:` name"), raw);
        } else if name != data_type {
            self.find(Rule::EventNameMismatch, format!("`event: {name}` carries data of type {data_type:?}"), raw);
        }
        if let Some(validator) = crate::schemas::validators().event(data_type) {
            if !validator.is_valid(data) {
                let error = crate::schemas::first_error(validator, data);
                self.find(Rule::SchemaEvent, format!("{data_type}: {error}"), raw);
            }
        }
        // Dispatch on the name, as the SDKs do; fall back to the data type when unnamed.
        let kind = if name.is_empty() { data_type } else { name };
        if kind == event::PING {
            return;
        }
        self.in_order(kind, raw);
        match kind {
            event::MESSAGE_START => self.message_start(data, raw),
            event::CONTENT_BLOCK_START | event::CONTENT_BLOCK_DELTA | event::CONTENT_BLOCK_STOP => {
                match kind {
                    event::CONTENT_BLOCK_START => self.block_start(data, raw),
                    event::CONTENT_BLOCK_DELTA => {
                        let delta = data.get("delta");
                        let field = |name: &str| delta.and_then(|d| d.get(name)).and_then(Value::as_str);
                        let delta_type = delta.and_then(|d| d.get("type")).and_then(Value::as_str).unwrap_or_default();
                        let value = match delta_type {
                            "text_delta" => field("text"),
                            "input_json_delta" => field("partial_json"),
                            "signature_delta" => field("signature"),
                            _ => None,
                        };
                        self.block_delta(data.get("index").and_then(Value::as_u64), delta_type, value.unwrap_or_default(), raw)
                    }
                    _ => self.block_stop(data.get("index").and_then(Value::as_u64), raw),
                }
            }
            event::MESSAGE_DELTA => self.message_delta(data, raw),
            event::MESSAGE_STOP => self.message_stop(raw),
            event::ERROR => {
                if self.message_starts == 0 {
                    self.find(Rule::ErrorInsteadOfStatus, "an error event before message_start, after HTTP 200", raw);
                }
                self.errored = true;
                let index = self.index;
                for f in envelope::check_envelope(None, data, raw.as_bytes(), Some(index)) {
                    self.keep(f);
                }
            }
            other => self.find(Rule::UnknownEvent, format!("unknown event {other:?}"), raw),
        }
    }

    /// The checks of an event's place in the stream, for every event but `ping`.
    fn in_order(&mut self, kind: &str, raw: &str) {
        if self.stopped {
            self.find(Rule::EventAfterMessageStop, format!("{kind} after message_stop"), raw);
        }
        if !self.started && kind != event::MESSAGE_START && kind != event::ERROR {
            self.started = true; // report the missing start once
            self.find(Rule::FirstEventNotMessageStart, format!("first event is {kind}"), raw);
        }
        if self.message_deltas > 0 && matches!(kind, event::CONTENT_BLOCK_START | event::CONTENT_BLOCK_DELTA | event::CONTENT_BLOCK_STOP) {
            self.find(Rule::ContentAfterMessageDelta, format!("{kind} after message_delta"), raw);
        }
    }

    /// Checks one event from its name and raw data: a plain delta by the typed fast path,
    /// anything else parsed as JSON and checked in full. Returns what it read, so the
    /// caller (the client, timing the stream) reads nothing twice.
    pub fn raw_event<'a>(&mut self, name: &str, raw: &'a str) -> Read<'a> {
        if name == event::CONTENT_BLOCK_DELTA {
            if let Some(delta) = super::fast::content_block_delta(raw) {
                self.plain_delta(raw, &delta);
                return Read::Delta(delta);
            }
        } else if let Some(plain) = super::fast::plain_event(name, raw) {
            self.plain_event(raw, &plain);
            return Read::Plain(plain);
        }
        let parsed = serde_json::from_str(raw);
        self.event(name, raw, parsed.as_ref().ok());
        Read::Json(parsed)
    }

    /// Checks a `content_block_delta` named as such whose data the typed fast path read
    /// ([`super::fast`]): the same findings [`StreamChecker::event`] gives it, without
    /// a JSON tree or the schema (its plain shape always meets the schema).
    fn plain_delta(&mut self, raw: &str, delta: &Delta<'_>) {
        self.in_order(event::CONTENT_BLOCK_DELTA, raw);
        self.block_delta(Some(delta.index), delta.kind, &delta.value, raw);
        self.index += 1;
    }

    /// [`StreamChecker::plain_delta`] for the other events of a text stream, named as
    /// their `type` (which [`super::fast::plain_event`] requires).
    fn plain_event(&mut self, raw: &str, plain: &Plain<'_>) {
        // As for every event but ping in the full check.
        if !matches!(plain, Plain::Ping) {
            self.in_order(plain.name(), raw);
        }
        match plain {
            Plain::Ping => {}
            Plain::MessageStart(m) => self.plain_message_start(m, raw),
            Plain::TextBlockStart { index, text } => {
                self.start_index(Some(*index), raw);
                let block = self.text_block(text, false);
                self.place_block(Some(*index), block);
            }
            Plain::BlockStop { index } => self.block_stop(Some(*index), raw),
            Plain::MessageDelta(d) => self.plain_message_delta(d, raw),
            Plain::MessageStop => self.message_stop(raw),
        }
        self.index += 1;
    }

    /// Counts a `message_start`; false for a second one, which says nothing more.
    fn first_start(&mut self, raw: &str) -> bool {
        self.started = true;
        self.message_starts += 1;
        if self.message_starts > 1 {
            self.find(Rule::DuplicateMessageStart, "second message_start", raw);
        }
        self.message_starts == 1
    }

    /// The first `message_start`'s usage: its counters (and whether it had `iterations`),
    /// its channel signals, and whether the message came complete.
    fn start_usage(&mut self, counts: &UsageCounts, iterations: bool, signals: [Option<String>; 3], complete: bool, raw: &str) {
        self.update_usage(counts, iterations, raw);
        // A complete one ran its turn inside the container and genuinely reports zero
        // usage (PROTOCOL.md §7).
        if counts.input == Some(0) && counts.input_total() == Some(0) && !self.iterations && !complete {
            self.find(Rule::InputTokensZero, "message_start usage.input_tokens is 0, with no cached input", raw);
        }
        self.start_signals = Some(signals);
    }

    fn plain_message_start(&mut self, m: &StartMessage<'_>, raw: &str) {
        if !self.first_start(raw) {
            return;
        }
        self.start_usage(&m.usage.counts(), false, m.usage.signals(), false, raw);
        self.start_output = Some(m.usage.output_tokens);
        self.model = Some(m.model.to_string());
        self.message_id = Some(m.id.to_string());
    }

    fn message_start(&mut self, data: &Value, raw: &str) {
        if !self.first_start(raw) {
            return;
        }
        // A complete message_start (programmatic tool calling) already holds the answer.
        let content = at(data, &["message", "content"]).and_then(Value::as_array).filter(|c| !c.is_empty());
        let stop_reason = at(data, &["message", "stop_reason"]).and_then(Value::as_str);
        if let Some(usage) = at(data, &["message", "usage"]) {
            let complete = content.is_some() && stop_reason.is_some();
            self.start_usage(&UsageCounts::from_value(usage), has_iterations(usage), super::fingerprint::usage_signals(usage), complete, raw);
        }
        self.start_output = at(data, &["message", "usage", "output_tokens"]).and_then(Value::as_u64);
        self.model = at(data, &["message", "model"]).and_then(Value::as_str).map(str::to_owned);
        self.message_id = at(data, &["message", "id"]).and_then(Value::as_str).map(str::to_owned);
        if let (Some(content), Some(reason)) = (content, stop_reason) {
            self.complete_start = true;
            self.stop_reason = Some(reason.to_owned());
            self.stop_sequence = at(data, &["message", "stop_sequence"]).and_then(Value::as_str).map(str::to_owned);
            self.final_output = self.start_output;
            for block in content {
                let block = self.add_block(block, true, raw);
                self.blocks.push(block);
            }
        }
    }

    /// Records a block from a `content_block_start` (or a complete `message_start`).
    fn add_block(&mut self, block: &Value, stopped: bool, raw: &str) -> Block {
        let kind = block.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
        if !known_block(&kind) {
            self.find(Rule::UnknownBlock, format!("unknown content block type {kind:?}"), raw);
        }
        let tool = tool_block(&kind);
        if let Some(id) = block.get("id").and_then(Value::as_str).filter(|_| tool) {
            if self.tool_ids.len() < 4 {
                self.tool_ids.push(id.to_owned());
            }
        }
        if kind == "text" {
            return self.text_block(block.get("text").and_then(Value::as_str).unwrap_or_default(), stopped);
        }
        let name = block.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        let input = block.get("input").cloned().unwrap_or(Value::Null);
        let signed = block.get("signature").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
        Block { kind, stopped, json: None, tool, name, input, signed }
    }

    /// A text block starting with `text`.
    fn text_block(&mut self, text: &str, stopped: bool) -> Block {
        self.has_text |= !text.trim().is_empty();
        if self.text_wanted {
            self.push_text(text);
        }
        Block { kind: "text".to_owned(), stopped, json: None, tool: false, name: String::new(), input: Value::Null, signed: false }
    }

    fn push_text(&mut self, text: &str) {
        super::request::push_text(&mut self.text, text);
    }

    fn block_at(&mut self, index: Option<u64>, raw: &str) -> Option<usize> {
        let index = index.map(|i| i as usize);
        let Some(i) = index.filter(|&i| i < self.blocks.len()) else {
            self.find(Rule::BlockEventBeforeStart, format!("index {index:?} addresses no started block"), raw);
            return None;
        };
        if self.blocks[i].stopped {
            self.find(Rule::BlockEventAfterStop, format!("block {i} was already stopped"), raw);
            return None;
        }
        Some(i)
    }

    fn block_start(&mut self, data: &Value, raw: &str) {
        let index = data.get("index").and_then(Value::as_u64);
        self.start_index(index, raw);
        let block = self.add_block(data.get("content_block").unwrap_or(&Value::Null), false, raw);
        self.place_block(index, block);
    }

    /// Checks that a started block's `index` is the next one.
    fn start_index(&mut self, index: Option<u64>, raw: &str) {
        if index != Some(self.blocks.len() as u64) {
            self.find(
                Rule::BlockIndexNotSequential,
                format!("content_block_start index {index:?}, expected {}", self.blocks.len()),
                raw,
            );
        }
    }

    /// Puts a started block where its `index` says.
    fn place_block(&mut self, index: Option<u64>, block: Block) {
        // Put the block where it claims to be, so the events that address it later are
        // judged on their own and one wrong index yields one finding. A gap is filled
        // with stopped placeholders; a repeated index restarts that slot.
        let at = index.map_or(self.blocks.len(), |i| (i as usize).min(self.blocks.len() + 1024));
        while self.blocks.len() < at {
            self.blocks.push(Block::placeholder());
        }
        match self.blocks.get_mut(at) {
            Some(slot) => *slot = block,
            None => self.blocks.push(block),
        }
    }

    /// A delta of type `delta` at `index`; `value` is its text or JSON fragment (empty
    /// for other types: nothing else of a delta is kept).
    fn block_delta(&mut self, index: Option<u64>, delta: &str, value: &str, raw: &str) {
        let Some(i) = self.block_at(index, raw) else { return };
        match delta_fits(delta, &self.blocks[i].kind) {
            None => self.find(Rule::UnknownDelta, format!("unknown delta type {delta:?}"), raw),
            Some(false) => {
                let block = self.blocks[i].kind.clone();
                self.find(Rule::DeltaTypeMismatch, format!("{delta} on a {block} block"), raw);
            }
            Some(true) => {}
        }
        match delta {
            "text_delta" => {
                // Once some text was seen, no later delta can unsee it: the trim, a scan
                // of every character, is spared for every delta after.
                self.has_text = self.has_text || !value.trim().is_empty();
                if self.text_wanted {
                    self.push_text(value);
                }
            }
            "signature_delta" => {
                self.blocks[i].signed = true;
                if self.signature.is_none() {
                    let mut kept = String::new();
                    crate::text::push_capped(&mut kept, value, SIGNATURE_KEPT);
                    self.signature = Some(kept);
                }
            }
            _ => {}
        }
        if delta == "input_json_delta" && self.blocks[i].tool {
            self.blocks[i].json.get_or_insert_with(String::new).push_str(value);
        }
    }

    fn block_stop(&mut self, index: Option<u64>, raw: &str) {
        let Some(i) = self.block_at(index, raw) else { return };
        self.blocks[i].stopped = true;
        if self.blocks[i].kind == "thinking" && !self.blocks[i].signed {
            self.signature.get_or_insert_with(String::new);
            self.find(Rule::ThinkingSignatureMissing, format!("thinking block {i} stopped without a signature"), raw);
        }
        if let Some(json) = self.blocks[i].json.take() {
            let parsed: Result<Value, _> = serde_json::from_str(&json);
            // Unparsable input is unknown (Null): tool-input-invalid judges it, not the
            // request's input_schema.
            self.blocks[i].input = parsed.as_ref().cloned().unwrap_or(Value::Null);
            if !parsed.as_ref().is_ok_and(Value::is_object) {
                let message = format!("block {i}: tool input does not parse to a JSON object");
                self.keep(Finding::new(Rule::ToolInputInvalid, Some(self.index), message, json.as_bytes()));
            }
        }
    }

    fn message_delta(&mut self, data: &Value, raw: &str) {
        let sequence = at(data, &["delta", "stop_sequence"]);
        let reason = at(data, &["delta", "stop_reason"]).and_then(Value::as_str);
        self.stop(reason, sequence.and_then(Value::as_str), || sequence.unwrap_or(&Value::Null).to_string(), raw);
        match data.get("usage") {
            Some(usage) if usage.get("output_tokens").is_some_and(Value::is_u64) => {
                self.final_output = usage.get("output_tokens").and_then(Value::as_u64);
                self.update_usage(&UsageCounts::from_value(usage), has_iterations(usage), raw);
            }
            _ => self.find(Rule::MessageDeltaUsageMissing, "message_delta without integer usage.output_tokens", raw),
        }
    }

    fn plain_message_delta(&mut self, d: &MessageDelta<'_>, raw: &str) {
        let sequence = d.stop_sequence.as_deref();
        self.stop(d.stop_reason.as_deref(), sequence, || sequence.map_or_else(|| "null".to_owned(), super::fingerprint::json_string), raw);
        let counts = d.usage.counts();
        self.final_output = counts.output;
        self.update_usage(&counts, false, raw);
    }

    /// A `message_delta`'s stop: `sequence_json` is its `stop_sequence` as JSON text,
    /// for the finding that quotes it.
    fn stop(&mut self, reason: Option<&str>, sequence: Option<&str>, sequence_json: impl FnOnce() -> String, raw: &str) {
        self.message_deltas += 1;
        self.stop_reason = reason.map(str::to_owned);
        self.stop_sequence = sequence.map(str::to_owned);
        let open: Vec<usize> = (0..self.blocks.len()).filter(|&i| !self.blocks[i].stopped).collect();
        if !open.is_empty() {
            let rule = if reason == Some("max_tokens") { Rule::BlockOpenAtMaxTokens } else { Rule::BlockOpenAtMessageDelta };
            self.find(rule, format!("blocks {open:?} not stopped at message_delta"), raw);
        }
        match reason {
            None => self.find(Rule::StopReasonNull, "message_delta without a stop_reason", raw),
            Some(r) if !STOP_REASONS.contains(&r) => {
                self.find(Rule::StopReasonUnknown, format!("stop_reason {r:?} is not documented"), raw)
            }
            Some(_) => {}
        }
        if reason.is_some() && sequence.is_some() != (reason == Some("stop_sequence")) {
            self.find(Rule::StopSequenceInconsistent, format!("stop_reason {reason:?} with stop_sequence {}", sequence_json()), raw);
        }
    }

    fn message_stop(&mut self, raw: &str) {
        if self.message_deltas == 0 && !self.complete_start {
            self.find(Rule::MissingMessageDelta, "message_stop without a message_delta", raw);
        }
        self.stopped = true;
    }

    /// Records cumulative counters (those that must never decrease within a stream) and
    /// flags any that went down; `iterations`: the usage carried them.
    fn update_usage(&mut self, counts: &UsageCounts, iterations: bool, raw: &str) {
        self.iterations |= iterations;
        let cumulative = [
            ("input_tokens", counts.input),
            ("output_tokens", counts.output),
            ("cache_creation_input_tokens", counts.cache_creation),
            ("cache_read_input_tokens", counts.cache_read),
        ];
        for (name, now) in cumulative {
            let Some(now) = now else { continue };
            match self.usage.iter_mut().find(|(k, _)| *k == name) {
                Some((_, before)) => {
                    let was = *before;
                    *before = now;
                    if now < was && !self.iterations {
                        // output_tokens below message_start's small estimate is known SDK
                        // fixture behaviour (PROTOCOL.md §2.3.10): a warning only.
                        let from_start = name == "output_tokens" && self.start_output == Some(was) && self.message_deltas <= 1;
                        let rule = if from_start { Rule::OutputTokensBelowStart } else { Rule::UsageDecreased };
                        self.find(rule, format!("usage.{name} went from {was} to {now}"), raw);
                    }
                }
                None => self.usage.push((name, now)),
            }
        }
    }

    /// Ends the stream; `findings` then holds everything found.
    pub fn finish(&mut self) {
        if !self.stopped && !self.errored {
            let at = self.index;
            self.keep(Finding::new(Rule::MissingMessageStop, Some(at), "stream ended without message_stop", b""));
        }
        if self.message_starts > 0 {
            let fp = self.take_body_fingerprint();
            let seen = fp.differences();
            if !seen.is_empty() {
                self.keep(Finding::new(Rule::IdentityBackend, None, seen.join("; "), b""));
            }
            self.fingerprint = Some(fp);
        }
    }

    /// The fingerprints [`StreamChecker::finish`] read, when the stream had a `message_start`.
    pub fn take_fingerprint(&mut self) -> Option<super::fingerprint::Fingerprint> {
        self.fingerprint.take()
    }

    /// The backend fingerprints of the stream's body (PROTOCOL.md §9). The id and the
    /// usage signals are needed for nothing else, so they move rather than copy.
    fn take_body_fingerprint(&mut self) -> super::fingerprint::Fingerprint {
        let mut fp = super::fingerprint::Fingerprint::from_parts(
            self.message_id.take(),
            self.model.as_deref(),
            self.start_signals.take(),
            self.tool_ids.iter().map(String::as_str),
            self.signature.as_deref(),
        );
        fp.stream = true;
        fp
    }

    /// True when the stream ended with `message_stop` and no `error` event, so it can be
    /// held against its request.
    pub fn completed(&self) -> bool {
        self.stopped && !self.errored
    }

    /// What the stream said, for the request-aware checks. Called once the stream is
    /// over and [`StreamChecker::finish`] has run: what it holds moves out rather than
    /// being copied (the text, the model, each block's type).
    pub fn take_summary(&mut self, content_deltas: u64) -> super::request::ResponseSummary {
        // An input is known only once its block stopped and its JSON was assembled.
        let tool_inputs = (self.blocks.iter_mut())
            .filter(|b| b.kind == "tool_use")
            .map(|b| (std::mem::take(&mut b.name), if b.stopped { std::mem::take(&mut b.input) } else { Value::Null }))
            .collect();
        super::request::ResponseSummary {
            model: self.model.take(),
            stop_reason: self.stop_reason.take(),
            stop_sequence: self.stop_sequence.take(),
            output_tokens: self.final_output,
            blocks: self.blocks.iter_mut().filter(|b| !b.kind.is_empty()).map(|b| std::mem::take(&mut b.kind)).collect(),
            tool_inputs,
            content_deltas: Some(content_deltas),
            cache_usage: None,
            text: std::mem::take(&mut self.text),
            has_text: self.has_text,
        }
    }

    /// What was found so far.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Takes the findings out.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }

    /// Takes out the counts of findings not kept, by rule.
    pub fn take_unkept(&mut self) -> Vec<(Rule, u64)> {
        std::mem::take(&mut self.unkept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse;

    /// A clean stream in the API's exact order: text block, tool block, usage, stop.
    const CLEAN: &str = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"w\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":12}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    fn check(stream: &str) -> Vec<Rule> {
        let mut checker = StreamChecker::new();
        for ev in sse::parse_chunks([stream.as_bytes()]) {
            let ev = ev.expect("test streams frame cleanly");
            let data: Option<Value> = serde_json::from_str(&ev.data).ok();
            checker.event(&ev.name, &ev.data, data.as_ref());
        }
        checker.finish();
        let mut rules: Vec<Rule> = checker.findings().iter().map(|f| f.rule).collect();
        rules.dedup();
        rules
    }

    #[test]
    fn clean_stream_has_no_findings() {
        assert_eq!(check(CLEAN), []);
    }

    #[test]
    fn a_server_s_huge_input_counters_are_summed_without_overflow() {
        let huge = CLEAN.replacen(r#""input_tokens":10"#, &format!(r#""input_tokens":{},"cache_read_input_tokens":5"#, u64::MAX), 1);
        assert_ne!(huge, CLEAN);
        assert_eq!(check(&huge), []);
    }

    /// Each mutation of the clean stream breaks one rule: that rule, and only it, fires.
    #[test]
    fn each_rule_fires_on_the_stream_that_breaks_it() {
        let delta0 = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n";
        let stop0 = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
        let msg_stop = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let msg_delta = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":12}}\n\n";
        let start_line = CLEAN.split_inclusive("\n\n").next().expect("first event");
        let start0 = CLEAN.split_inclusive("\n\n").nth(1).expect("second event");
        let cases: Vec<(Rule, String)> = vec![
            (Rule::DataNotJson, CLEAN.replace("{\"type\": \"ping\"}", "not json")),
            (Rule::EventUnnamed, CLEAN.replace("event: ping\n", "")),
            (Rule::EventNameMismatch, CLEAN.replace(delta0, &delta0.replace("event: content_block_delta", "event: ping"))),
            (Rule::FirstEventNotMessageStart, CLEAN.replacen(start_line, "", 1)),
            (Rule::DuplicateMessageStart, format!("{start_line}{CLEAN}")),
            (Rule::BlockIndexNotSequential, CLEAN.replace("\"index\":1,\"content_block\"", "\"index\":2,\"content_block\"").replace("\"index\":1", "\"index\":2")),
            (Rule::BlockEventBeforeStart, CLEAN.replace(msg_delta, &format!("{}{msg_delta}", delta0.replace("\"index\":0", "\"index\":5")))),
            (Rule::BlockEventAfterStop, CLEAN.replacen(stop0, &format!("{stop0}{delta0}"), 1)),
            (Rule::DeltaTypeMismatch, CLEAN.replace("\"type\":\"text_delta\",\"text\":\"Hi\"", "\"type\":\"thinking_delta\",\"thinking\":\"Hi\"")),
            (Rule::ToolInputInvalid, CLEAN.replace("\\\"Paris\\\"}", "\\\"Par")),
            (Rule::BlockOpenAtMessageDelta, CLEAN.replacen(stop0, "", 1)),
            (Rule::BlockOpenAtMaxTokens, CLEAN.replacen(stop0, "", 1).replace("\"tool_use\",\"stop_sequence\"", "\"max_tokens\",\"stop_sequence\"")),
            (Rule::ContentAfterMessageDelta, CLEAN.replace(msg_stop, &format!("{}{}{msg_stop}", start0.replace("\"index\":0", "\"index\":2"), stop0.replace("\"index\":0", "\"index\":2")))),
            (Rule::MessageDeltaUsageMissing, CLEAN.replace(",\"usage\":{\"output_tokens\":12}", "")),
            (Rule::StopReasonNull, CLEAN.replace("\"stop_reason\":\"tool_use\"", "\"stop_reason\":null")),
            (Rule::StopReasonUnknown, CLEAN.replace("\"stop_reason\":\"tool_use\"", "\"stop_reason\":\"terminated\"")),
            (Rule::StopSequenceInconsistent, CLEAN.replace("\"stop_reason\":\"tool_use\",\"stop_sequence\":null", "\"stop_reason\":\"stop_sequence\",\"stop_sequence\":null")),
            (Rule::UsageDecreased, CLEAN.replace(msg_stop, &format!("{}{msg_stop}", msg_delta.replace("12", "11")))),
            (Rule::OutputTokensBelowStart, CLEAN.replace("\"output_tokens\":12", "\"output_tokens\":0")),
            (Rule::MissingMessageDelta, CLEAN.replace(msg_delta, "")),
            (Rule::MissingMessageStop, CLEAN.replace(msg_stop, "")),
            (Rule::EventAfterMessageStop, format!("{CLEAN}{msg_stop}")),
            (Rule::UnknownEvent, CLEAN.replace(msg_stop, &format!("event: citation_index\ndata: {{\"type\":\"citation_index\"}}\n\n{msg_stop}"))),
            (Rule::UnknownDelta, CLEAN.replace("\"type\":\"text_delta\",\"text\":\"Hi\"", "\"type\":\"sparkle_delta\",\"x\":1")),
            (Rule::UnknownBlock, CLEAN.replace("{\"type\":\"text\",\"text\":\"\"}", "{\"type\":\"compaction\",\"content\":\"\"}").replace("\"type\":\"text_delta\",\"text\":\"Hi\"", "\"type\":\"text_delta\",\"text\":\"\"")),
            (Rule::InputTokensZero, CLEAN.replace("\"input_tokens\":10", "\"input_tokens\":0")),
            (Rule::ThinkingSignatureMissing, CLEAN.replace("{\"type\":\"text\",\"text\":\"\"}", "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}").replace("\"type\":\"text_delta\",\"text\":\"Hi\"", "\"type\":\"thinking_delta\",\"thinking\":\"Hi\"")),
            (Rule::OpenAiDone, format!("{CLEAN}data: [DONE]\n\n")),
            (Rule::ErrorInsteadOfStatus, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".to_owned()),
            (Rule::IdentityBackend, CLEAN.replace("\"id\":\"msg_1\"", "\"id\":\"msg_bdrk_1\"")),
        ];
        for (rule, stream) in cases {
            assert_eq!(check(&stream), [rule], "{}", rule.id());
        }
    }

    #[test]
    fn error_event_ends_a_stream_validly() {
        let start_line = CLEAN.split_inclusive("\n\n").next().expect("first event");
        let stream = format!("{start_line}event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}}}\n\n");
        assert_eq!(check(&stream), []);
    }

    #[test]
    fn a_signed_thinking_block_passes() {
        let thinking = CLEAN
            .replace("{\"type\":\"text\",\"text\":\"\"}", "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}")
            .replace("\"type\":\"text_delta\",\"text\":\"Hi\"", "\"type\":\"thinking_delta\",\"thinking\":\"Hi\"");
        let signed = thinking.replacen(
            "event: content_block_stop",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM\"}}\n\nevent: content_block_stop",
            1,
        );
        assert_eq!(check(&signed), []);
    }

    #[test]
    fn usage_may_fall_when_iterations_are_reported() {
        // PROTOCOL.md §7: after compaction the final counters describe the last iteration.
        let msg_delta = "\"usage\":{\"output_tokens\":12}";
        let fell = CLEAN.replace(msg_delta, "\"usage\":{\"input_tokens\":4,\"output_tokens\":12}");
        assert_eq!(check(&fell), [Rule::UsageDecreased]);
        let iterations = CLEAN.replace(msg_delta, "\"usage\":{\"input_tokens\":4,\"output_tokens\":12,\"iterations\":[{\"type\":\"compaction\",\"input_tokens\":10,\"output_tokens\":5},{\"type\":\"message\",\"input_tokens\":4,\"output_tokens\":7}]}");
        assert_eq!(check(&iterations), []);
    }

    #[test]
    fn a_complete_message_start_may_go_straight_to_message_stop() {
        // PROTOCOL.md §7, programmatic tool calling.
        let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"w\",\"input\":{\"city\":\"Paris\"},\"caller\":{\"type\":\"code_execution_20250825\",\"tool_id\":\"srvtoolu_1\"}}],\"model\":\"m\",\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":30,\"service_tier\":\"standard\"}}}\n\n";
        let stop = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        assert_eq!(check(&format!("{start}{stop}")), []);
        // An ordinary empty message_start still needs its message_delta.
        let empty = CLEAN.split_inclusive("\n\n").next().expect("first event");
        assert_eq!(check(&format!("{empty}{stop}")), [Rule::MissingMessageDelta]);
    }

    #[test]
    fn interleaved_blocks_are_allowed() {
        // Block 1 starts while block 0 is open (the Go SDK's "interleaved content blocks").
        let stop0 = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
        let stop1 = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n";
        let stream = CLEAN.replacen(stop0, "", 1).replace(stop1, &format!("{stop1}{stop0}"));
        assert_eq!(check(&stream), []);
    }
}
