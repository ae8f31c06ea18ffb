//! What the mock answers: a deterministic plan of content blocks derived from the request
//! and a seed, shared by the streaming and the non-streaming writer so both tell the same
//! story about the same request.

use serde_json::{json, Map, Value};

use crate::rng::{hash_bytes, Rng};

/// Words the mock writes. Public so a scenario can pick a stop sequence that will occur.
pub const VOCABULARY: [&str; 32] = [
    "the", "relay", "streams", "tokens", "over", "a", "steady", "connection", "while", "each",
    "event", "arrives", "in", "order", "and", "latency", "stays", "low", "under", "load", "so",
    "every", "client", "sees", "the", "same", "protocol", "from", "start", "to", "finish", "today",
];

/// One content block with its pieces; each piece is one delta and counts as one token.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Extended thinking, followed by its signature.
    Thinking {
        /// `thinking_delta` texts.
        pieces: Vec<String>,
        /// Opaque signature sent in one `signature_delta`.
        signature: String,
    },
    /// Plain text.
    Text {
        /// `text_delta` texts.
        pieces: Vec<String>,
    },
    /// A tool call whose input is streamed as JSON fragments.
    ToolUse {
        /// `toolu_…` id.
        id: String,
        /// Name of a tool offered in the request.
        name: String,
        /// The complete input object.
        input: Value,
        /// `input_json_delta` fragments; concatenated they are `input` serialized.
        pieces: Vec<String>,
    },
}

impl Block {
    /// Number of deltas (tokens) this block carries.
    pub fn token_count(&self) -> usize {
        match self {
            Block::Thinking { pieces, .. }
            | Block::Text { pieces }
            | Block::ToolUse { pieces, .. } => pieces.len(),
        }
    }
}

/// The whole answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// `msg_…` id.
    pub id: String,
    /// Model echoed from the request.
    pub model: String,
    /// Content in order.
    pub blocks: Vec<Block>,
    /// Why generation stopped.
    pub stop_reason: &'static str,
    /// The stop sequence that ended the text, when that is why.
    pub stop_sequence: Option<String>,
    /// Input tokens not read from or written to the prompt cache.
    pub input_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
    /// Whether the cache write was for an hour rather than five minutes.
    pub cache_write_1h: bool,
    /// `usage` fields left out, as a channel other than the API leaves them out.
    pub dropped_usage: &'static [&'static str],
}

impl Reply {
    /// Moves the first `tokens` of the input to the prompt cache: read when `hit`, else
    /// written, for an hour when `one_hour`.
    pub fn use_cache(&mut self, tokens: u64, hit: bool, one_hour: bool) {
        self.cache_write_1h = one_hour;
        let tokens = tokens.min(self.input_tokens);
        self.input_tokens -= tokens;
        if hit {
            self.cache_read_input_tokens = tokens;
        } else {
            self.cache_creation_input_tokens = tokens;
        }
    }

    /// Tokens generated across all blocks.
    pub fn output_tokens(&self) -> u64 {
        self.blocks.iter().map(|b| b.token_count() as u64).sum()
    }

    /// The non-streaming `Message` body.
    pub fn message_json(&self) -> Value {
        let content: Vec<Value> = self.blocks.iter().map(final_block_json).collect();
        json!({
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": self.stop_reason,
            "stop_sequence": self.stop_sequence,
            "usage": self.usage_json(self.output_tokens()),
        })
    }

    /// `usage` with the given output count (the stream reports a small count at start).
    pub fn usage_json(&self, output_tokens: u64) -> Value {
        let mut usage = json!({
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": if self.cache_write_1h { 0 } else { self.cache_creation_input_tokens },
                "ephemeral_1h_input_tokens": if self.cache_write_1h { self.cache_creation_input_tokens } else { 0 },
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
            "inference_geo": "global",
        });
        if let Some(fields) = usage.as_object_mut() {
            for name in self.dropped_usage {
                fields.remove(*name);
            }
        }
        usage
    }
}

fn final_block_json(block: &Block) -> Value {
    match block {
        Block::Thinking { pieces, signature } => {
            json!({"type": "thinking", "thinking": pieces.concat(), "signature": signature})
        }
        Block::Text { pieces } => json!({"type": "text", "text": pieces.concat()}),
        Block::ToolUse { id, name, input, .. } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
    }
}

/// The block as `content_block_start` announces it, before any delta.
pub fn initial_block_json(block: &Block) -> Value {
    match block {
        Block::Thinking { .. } => json!({"type": "thinking", "thinking": "", "signature": ""}),
        Block::Text { .. } => json!({"type": "text", "text": ""}),
        Block::ToolUse { id, name, .. } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": {}})
        }
    }
}

/// Bounds of the length the mock would write if `max_tokens` did not stop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLength {
    /// Shortest natural answer, in tokens.
    pub min: u32,
    /// Longest natural answer, in tokens.
    pub max: u32,
}

/// The key a reply is drawn from: the request's content, not its bytes, so a relay that
/// re-encodes the JSON (another key order, other whitespace) gets the same answer and a
/// comparison through it stays like for like. `Map` keeps keys sorted, so its
/// serialization is canonical.
pub fn content_key(body: &Map<String, Value>) -> u64 {
    hash_bytes(&serde_json::to_vec(body).unwrap_or_default())
}

/// Plans the reply to a validated request body. Content depends only on `seed` and the
/// request's [`content_key`], so the same request always gets the same answer.
pub fn plan(body: &Map<String, Value>, key: u64, seed: u64, length: OutputLength, id: String) -> Reply {
    let mut rng = Rng::derive(seed, key);
    let max_tokens = body.get("max_tokens").and_then(Value::as_u64).unwrap_or(0);
    let mut budget = max_tokens;
    let mut blocks = Vec::new();
    let mut stop_reason = "end_turn";
    let mut stop_sequence = None;

    if thinking_enabled(body) {
        let want = rng.range(8, 24);
        let take = want.min(budget);
        budget -= take;
        blocks.push(Block::Thinking {
            pieces: words(&mut rng, take as usize),
            // As long as the API's (PROTOCOL.md §9): a short one is the mark of a cut signature.
            signature: base58(&mut rng, SIGNATURE_CHARS),
        });
        if take < want {
            stop_reason = "max_tokens";
        }
    }

    let tool = if stop_reason == "end_turn" { chosen_tool(body) } else { None };
    if stop_reason == "end_turn" {
        let natural = rng.range(u64::from(length.min), u64::from(length.max.max(length.min)));
        let natural = if tool.is_some() { natural.min(12) } else { natural };
        let take = natural.min(budget);
        let mut pieces = words(&mut rng, take as usize);
        budget -= take;
        if take < natural {
            stop_reason = "max_tokens";
        }
        if let Some(seq) = cut_at_stop_sequence(&mut pieces, body) {
            stop_reason = "stop_sequence";
            stop_sequence = Some(seq);
        }
        if !pieces.is_empty() || blocks.is_empty() {
            blocks.push(Block::Text { pieces });
        }
    }

    if let (Some(tool), "end_turn") = (tool, stop_reason) {
        let input = example_input(tool.get("input_schema"));
        let pieces = json_pieces(&input.to_string());
        if pieces.len() as u64 <= budget {
            blocks.push(Block::ToolUse {
                id: format!("toolu_{}", base58(&mut rng, 24)),
                name: tool.get("name").and_then(Value::as_str).unwrap_or("tool").to_owned(),
                input,
                pieces,
            });
            stop_reason = "tool_use";
        } else {
            stop_reason = "max_tokens";
        }
    }

    Reply {
        id,
        model: body.get("model").and_then(Value::as_str).unwrap_or_default().to_owned(),
        blocks,
        stop_reason,
        stop_sequence,
        input_tokens: crate::synth::request_tokens(body),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        cache_write_1h: false,
        dropped_usage: &[],
    }
}

fn thinking_enabled(body: &Map<String, Value>) -> bool {
    body.get("thinking")
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t == "enabled" || t == "adaptive")
}

/// The tool the mock calls: the named one for `tool_choice: tool`, else the first offered,
/// unless `tool_choice` is `none` or the conversation already ends with a tool result.
fn chosen_tool(body: &Map<String, Value>) -> Option<&Map<String, Value>> {
    let tools = body.get("tools")?.as_array()?;
    let choice = body.get("tool_choice");
    let choice_type = choice.and_then(|c| c.get("type")).and_then(Value::as_str).unwrap_or("auto");
    if choice_type == "none" || last_turn_is_tool_result(body) {
        return None;
    }
    let named = choice.and_then(|c| c.get("name")).and_then(Value::as_str);
    tools
        .iter()
        .filter_map(Value::as_object)
        .find(|t| match (choice_type, named) {
            ("tool", Some(name)) => t.get("name").and_then(Value::as_str) == Some(name),
            _ => t.contains_key("input_schema"),
        })
}

fn last_turn_is_tool_result(body: &Map<String, Value>) -> bool {
    let last = body.get("messages").and_then(Value::as_array).and_then(|m| m.last());
    let blocks = last.and_then(|m| m.get("content")).and_then(Value::as_array);
    blocks.is_some_and(|b| {
        b.iter().any(|blk| blk.get("type").and_then(Value::as_str) == Some("tool_result"))
    })
}

fn words(rng: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let w = VOCABULARY[rng.range(0, VOCABULARY.len() as u64 - 1) as usize];
            if i == 0 {
                capitalize(w)
            } else {
                format!(" {w}")
            }
        })
        .collect()
}

fn capitalize(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Ends the text before the first requested stop sequence it contains, as the API does
/// (the sequence itself is not part of the output).
fn cut_at_stop_sequence(pieces: &mut Vec<String>, body: &Map<String, Value>) -> Option<String> {
    let seqs = body.get("stop_sequences")?.as_array()?;
    let text = pieces.concat();
    let (at, seq) = seqs
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s).map(|at| (at, s)))
        .min_by_key(|(at, _)| *at)?;
    let mut kept = 0;
    let mut out = Vec::new();
    for piece in pieces.drain(..) {
        if kept + piece.len() <= at {
            kept += piece.len();
            out.push(piece);
        } else {
            let partial = &piece[..at - kept];
            if !partial.is_empty() {
                out.push(partial.to_owned());
            }
            break;
        }
    }
    *pieces = out;
    Some(seq.to_owned())
}

/// A value satisfying the required properties of a tool's `input_schema`.
fn example_input(schema: Option<&Value>) -> Value {
    let mut input = Map::new();
    let props = schema.and_then(|s| s.get("properties")).and_then(Value::as_object);
    let required = schema.and_then(|s| s.get("required")).and_then(Value::as_array);
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        let ty = props
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("string");
        let value = match ty {
            "number" => json!(1.5),
            "integer" => json!(1),
            "boolean" => json!(true),
            "array" => json!([]),
            "object" => json!({}),
            _ => json!("Paris"),
        };
        input.insert(name.to_owned(), value);
    }
    Value::Object(input)
}

/// Splits serialized JSON into fragments the way the API does: an empty first fragment,
/// then pieces of a few characters, cut only at character boundaries.
fn json_pieces(json: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut current = String::new();
    for ch in json.chars() {
        current.push(ch);
        if current.len() >= 6 {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Characters of the mock's thinking signatures.
const SIGNATURE_CHARS: usize = 240;

/// `n` base58 characters, the alphabet of the API's ids.
pub fn base58(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| BASE58[rng.range(0, BASE58.len() as u64 - 1) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEN: OutputLength = OutputLength { min: 20, max: 40 };

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().expect("object").clone()
    }

    fn plan_for(v: Value) -> Reply {
        let body = body(v);
        plan(&body, content_key(&body), 7, LEN, "msg_test".into())
    }

    #[test]
    fn the_answer_follows_the_content_not_the_encoding() {
        let compact = br#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello there"}]}"#;
        let reencoded = b"{ \"messages\": [ {\"content\": \"hello there\", \"role\": \"user\"} ],\n  \"max_tokens\": 64, \"model\": \"claude-sonnet-4-5\" }";
        let key = |raw: &[u8]| content_key(&serde_json::from_slice(raw).expect("json"));
        assert_eq!(key(compact), key(reencoded));
        let other = br#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello there!"}]}"#;
        assert_ne!(key(compact), key(other));
    }

    #[test]
    fn same_request_same_reply() {
        let req = json!({"model": "m", "max_tokens": 100, "messages": []});
        assert_eq!(plan_for(req.clone()), plan_for(req));
    }

    #[test]
    fn input_tokens_depend_on_the_prompt_only() {
        let a = plan_for(json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "hello"}]}));
        let b = plan_for(json!({"model": "m", "max_tokens": 7, "stream": true, "temperature": 0.5,
            "messages": [{"role": "user", "content": "hello"}]}));
        assert_eq!(a.input_tokens, b.input_tokens);
        let c = plan_for(json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "a much longer prompt than that"}]}));
        assert!(c.input_tokens > a.input_tokens);
    }

    #[test]
    fn max_tokens_truncates_and_says_so() {
        let r = plan_for(json!({"model": "m", "max_tokens": 5, "messages": []}));
        assert_eq!(r.output_tokens(), 5);
        assert_eq!(r.stop_reason, "max_tokens");
        let r = plan_for(json!({"model": "m", "max_tokens": 1000, "messages": []}));
        assert!((20..=40).contains(&r.output_tokens()));
        assert_eq!(r.stop_reason, "end_turn");
    }

    #[test]
    fn stop_sequence_cuts_text_before_it() {
        let r = plan_for(json!({"model": "m", "max_tokens": 1000, "messages": [], "stop_sequences": [" the"]}));
        let Block::Text { pieces } = &r.blocks[0] else { panic!("text block") };
        assert_eq!(r.stop_reason, "stop_sequence");
        assert_eq!(r.stop_sequence.as_deref(), Some(" the"));
        assert!(!pieces.concat().contains(" the"));
    }

    #[test]
    fn offered_tool_is_called_with_a_valid_object() {
        let r = plan_for(json!({
            "model": "m", "max_tokens": 1000, "messages": [],
            "tools": [{"name": "get_weather", "input_schema": {"type": "object",
                "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
        }));
        assert_eq!(r.stop_reason, "tool_use");
        let Some(Block::ToolUse { name, input, pieces, .. }) = r.blocks.last() else {
            panic!("tool block last")
        };
        assert_eq!(name, "get_weather");
        assert_eq!(pieces[0], "");
        let joined: Value = serde_json::from_str(&pieces.concat()).expect("fragments form JSON");
        assert_eq!(&joined, input);
        assert_eq!(input["city"], "Paris");
    }

    #[test]
    fn thinking_comes_first_when_enabled() {
        let r = plan_for(json!({"model": "m", "max_tokens": 3000, "messages": [],
            "thinking": {"type": "enabled", "budget_tokens": 1024}}));
        assert!(matches!(r.blocks[0], Block::Thinking { .. }));
        assert!(matches!(r.blocks[1], Block::Text { .. }));
    }
}
