//! The typed fast paths: what nearly every response is made of, read into borrowed
//! fields without a JSON tree and without the JSON Schema.
//!
//! A stream is nearly all `content_block_delta` events. The fast path accepts only the
//! plain shape — exactly `type`, a non-negative integer `index` and a `delta` of a known
//! type with exactly its one string field — which the schema always accepts; anything
//! else (an unknown field, an unknown delta type, a float index, a duplicate key, bad
//! JSON) returns `None`, and the caller checks the event the full way, so the schema stays
//! the authority and the findings are the same (`tests/fast_path.rs` compares both paths
//! over generated and mutated events).
//!
//! A non-streamed answer is nearly always a Message of text blocks. [`plain_message`]
//! accepts exactly the Message schema's fields with text blocks and the usage fields the
//! API sends, each of a type the schema accepts; anything else goes the full way
//! (`tests/fast_path.rs` compares both over generated and mutated Messages).
//!
//! The other events of a text stream (`ping`, `message_start` with no content yet, a text
//! block's start, a block's stop, `message_delta`, `message_stop`) are few per stream but
//! each cost a JSON tree and the schema; [`plain_event`] reads them typed, on the same
//! terms: only shapes the schema accepts and whose every field the stream checker reads is
//! typed, and anything else goes the full way (`tests/fast_path.rs` compares these too).

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::fingerprint::json_string;
use super::usage::UsageCounts;
use crate::protocol::event;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    index: u64,
    #[serde(borrow)]
    delta: WireDelta<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "string")]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "string")]
    partial_json: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "string")]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "string")]
    signature: Option<Cow<'a, str>>,
}

/// A present string field, borrowed from the data unless it holds escapes (serde only
/// borrows a `Cow` that is the field itself, not one inside an `Option`); `null` or any
/// other type is an error, which sends the event down the full path.
fn string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(Some(Text::deserialize(d)?.0))
}

/// A JSON string, borrowed where it holds no escape (what [`string`] and [`nullable`]
/// read through).
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// A plain `content_block_delta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta<'a> {
    /// The block it addresses.
    pub index: u64,
    /// `text_delta`, `input_json_delta`, `thinking_delta` or `signature_delta`.
    pub kind: &'static str,
    /// Its one field's value: the text, the JSON fragment, the thinking or the signature.
    pub value: Cow<'a, str>,
}

/// `data` as a plain `content_block_delta`, or `None` when it is anything else.
pub fn content_block_delta(data: &str) -> Option<Delta<'_>> {
    if let Some(delta) = api_text_delta(data) {
        return Some(delta);
    }
    let wire: Wire<'_> = serde_json::from_str(data).ok()?;
    if wire.kind != event::CONTENT_BLOCK_DELTA {
        return None;
    }
    let d = wire.delta;
    let (kind, value) = match (d.kind.as_ref(), d.text, d.partial_json, d.thinking, d.signature) {
        ("text_delta", Some(v), None, None, None) => ("text_delta", v),
        ("input_json_delta", None, Some(v), None, None) => ("input_json_delta", v),
        ("thinking_delta", None, None, Some(v), None) => ("thinking_delta", v),
        ("signature_delta", None, None, None, Some(v)) => ("signature_delta", v),
        _ => return None,
    };
    Some(Delta { index: wire.index, kind, value })
}

/// A text delta in the exact bytes the API sends, read by comparing bytes: the compact
/// layout with the keys in the API's order, an index without a leading zero, and a text
/// with no escape, no quote and no control character, which is then its own value. Nearly
/// every delta of a stream is one, and this costs a fraction of a deserializer; anything
/// else, even the same event spaced or ordered otherwise, goes to the deserializer.
fn api_text_delta(data: &str) -> Option<Delta<'_>> {
    const HEAD: &[u8; 38] = br#"{"type":"content_block_delta","index":"#;
    const MIDDLE: &[u8; 38] = br#","delta":{"type":"text_delta","text":""#;
    const TAIL: &[u8; 3] = br#""}}"#;
    let rest = after(data, HEAD)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits > 1 && rest.starts_with('0')) {
        return None;
    }
    let index = rest[..digits].parse().ok()?;
    let text = before(after(&rest[digits..], MIDDLE)?, TAIL)?;
    if text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        return None;
    }
    Some(Delta { index, kind: "text_delta", value: Cow::Borrowed(text) })
}

/// `s` after `prefix`, compared by [`same`].
fn after<'a, const N: usize>(s: &'a str, prefix: &[u8; N]) -> Option<&'a str> {
    let head: &[u8; N] = s.as_bytes().get(..N)?.try_into().ok()?;
    same(head, prefix).then(|| s.get(N..)).flatten()
}

/// `s` before `suffix`, compared by [`same`].
fn before<'a, const N: usize>(s: &'a str, suffix: &[u8; N]) -> Option<&'a str> {
    let cut = s.len().checked_sub(N)?;
    let tail: &[u8; N] = s.as_bytes().get(cut..)?.try_into().ok()?;
    same(tail, suffix).then(|| s.get(..cut)).flatten()
}

/// Whether `a` and `b` are equal. Past 16 bytes, compared 16 at a time (the last 16
/// overlapping), which the compiler makes a few wide loads: comparing the slices called
/// `bcmp`, and the two calls of every delta were 1.2% of a stream's instructions.
fn same<const N: usize>(a: &[u8; N], b: &[u8; N]) -> bool {
    if N <= 16 {
        return a == b;
    }
    let word = |x: &[u8; N], at: usize| x[at..at + 16].try_into().map_or(0, u128::from_ne_bytes);
    (0..N).step_by(16).map(|at| at.min(N - 16)).all(|at| word(a, at) == word(b, at))
}

/// A Message of text blocks, as the API sends one: every field the Message schema
/// requires, of the types it accepts, and no other field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlainMessage<'a> {
    /// `id`.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    role: Cow<'a, str>,
    /// The text blocks' texts, in order.
    #[serde(borrow)]
    pub content: Vec<TextBlock<'a>>,
    /// `model`.
    #[serde(borrow)]
    pub model: Cow<'a, str>,
    /// `stop_reason`.
    #[serde(borrow)]
    pub stop_reason: Cow<'a, str>,
    /// `stop_sequence`: required, a string or null.
    #[serde(borrow, deserialize_with = "nullable")]
    pub stop_sequence: Option<Cow<'a, str>>,
    /// `usage`.
    #[serde(borrow)]
    pub usage: PlainUsage<'a>,
}

/// A text block with no citations.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBlock<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    /// `text`.
    #[serde(borrow)]
    pub text: Cow<'a, str>,
}

/// `usage` with the fields the API sends on a Message (a null counter reads as absent, as
/// the full way reads it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlainUsage<'a> {
    /// `input_tokens`.
    pub input_tokens: u64,
    /// `output_tokens`.
    pub output_tokens: u64,
    /// `cache_creation_input_tokens`.
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    /// `cache_read_input_tokens`.
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    /// `cache_creation`, by lifetime.
    #[serde(default)]
    pub cache_creation: Option<CacheCreation>,
    /// `service_tier`.
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub service_tier: Option<Cow<'a, str>>,
    /// `inference_geo`.
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub inference_geo: Option<Cow<'a, str>>,
}

/// `usage.cache_creation`: the cache writes by lifetime.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheCreation {
    /// `ephemeral_1h_input_tokens`.
    pub ephemeral_1h_input_tokens: u64,
    /// `ephemeral_5m_input_tokens`.
    pub ephemeral_5m_input_tokens: u64,
}

impl CacheCreation {
    /// The object as `serde_json` writes it from a tree (keys in order, no spaces).
    pub fn json(&self) -> String {
        use std::fmt::Write;
        // Sized once for the usual counts: `format!` would grow it several times.
        let mut json = String::with_capacity(96);
        let _ = write!(json, r#"{{"ephemeral_1h_input_tokens":{},"ephemeral_5m_input_tokens":{}}}"#, self.ephemeral_1h_input_tokens, self.ephemeral_5m_input_tokens);
        json
    }
}

/// A string or null, borrowed where it holds no escape; any other type is an error.
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(Option::<Text<'de>>::deserialize(d)?.map(|t| t.0))
}

/// The counters of a usage read typed, as [`UsageCounts::from_value`] reads them from a
/// tree: `input` is absent where a `message_delta` leaves it out.
fn typed_counts(input: Option<u64>, output: u64, cache_read: Option<u64>, cache_creation: Option<u64>, by_lifetime: Option<&CacheCreation>) -> UsageCounts {
    UsageCounts { input, output: Some(output), cache_read, cache_creation, cache_creation_1h: by_lifetime.map(|c| c.ephemeral_1h_input_tokens) }
}

impl PlainUsage<'_> {
    /// The token counters.
    pub fn counts(&self) -> UsageCounts {
        typed_counts(Some(self.input_tokens), self.output_tokens, self.cache_read_input_tokens, self.cache_creation_input_tokens, self.cache_creation.as_ref())
    }

    /// The channel's usage signals, as [`super::fingerprint::usage_signals`] reads them
    /// from a tree.
    pub fn signals(&self) -> [Option<String>; 3] {
        // In the order of USAGE_SIGNALS.
        [self.service_tier.as_deref().map(json_string), self.inference_geo.as_deref().map(json_string), self.cache_creation.as_ref().map(CacheCreation::json)]
    }
}

/// `body` as a [`PlainMessage`], or `None` when it is anything else.
pub fn plain_message(body: &[u8]) -> Option<PlainMessage<'_>> {
    let m: PlainMessage<'_> = serde_json::from_slice(body).ok()?;
    let plain = m.kind == "message" && m.role == "assistant" && m.content.iter().all(|b| b.kind == "text");
    plain.then_some(m)
}

/// An event of a text stream other than a delta, read typed by [`plain_event`].
#[derive(Debug)]
pub enum Plain<'a> {
    /// `ping`.
    Ping,
    /// `message_start` of a message with no content yet.
    MessageStart(StartMessage<'a>),
    /// `content_block_start` of a text block.
    TextBlockStart {
        /// The block's index.
        index: u64,
        /// Its starting text (empty, from the API).
        text: Cow<'a, str>,
    },
    /// `content_block_stop`.
    BlockStop {
        /// The block's index.
        index: u64,
    },
    /// `message_delta`.
    MessageDelta(MessageDelta<'a>),
    /// `message_stop`.
    MessageStop,
}

impl Plain<'_> {
    /// The event's name, which its data's `type` matched.
    pub fn name(&self) -> &'static str {
        match self {
            Plain::Ping => event::PING,
            Plain::MessageStart(_) => event::MESSAGE_START,
            Plain::TextBlockStart { .. } => event::CONTENT_BLOCK_START,
            Plain::BlockStop { .. } => event::CONTENT_BLOCK_STOP,
            Plain::MessageDelta(_) => event::MESSAGE_DELTA,
            Plain::MessageStop => event::MESSAGE_STOP,
        }
    }
}

/// An event of no field but its `type`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeOnly<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

/// `content_block_stop`'s data.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBlockStop<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    index: u64,
}

/// `content_block_start`'s data, of a text block.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBlockStart<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    index: u64,
    #[serde(borrow)]
    content_block: TextBlock<'a>,
}

/// `message_start`'s data.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMessageStart<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    message: StartMessage<'a>,
}

/// The message of a `message_start`, before its content: the fields the schema requires,
/// of the types it accepts, with the usage a Message has.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartMessage<'a> {
    /// `id`.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    role: Cow<'a, str>,
    /// Must be empty: a complete `message_start` goes the full way.
    content: Vec<IgnoredAny>,
    /// `model`.
    #[serde(borrow)]
    pub model: Cow<'a, str>,
    // Null until the message ends; the checker reads them only with content.
    #[serde(borrow, default, deserialize_with = "nullable", rename = "stop_reason")]
    _stop_reason: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "nullable", rename = "stop_sequence")]
    _stop_sequence: Option<Cow<'a, str>>,
    /// `usage`.
    #[serde(borrow)]
    pub usage: PlainUsage<'a>,
}

/// `message_delta`'s data.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMessageDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    delta: StopDelta<'a>,
    usage: DeltaUsage,
}

/// A `message_delta`: how the message stopped, and its final usage.
#[derive(Debug)]
pub struct MessageDelta<'a> {
    /// `delta.stop_reason` (null or absent: `None`).
    pub stop_reason: Option<Cow<'a, str>>,
    /// `delta.stop_sequence` (null or absent: `None`).
    pub stop_sequence: Option<Cow<'a, str>>,
    /// `usage`.
    pub usage: DeltaUsage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopDelta<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    stop_sequence: Option<Cow<'a, str>>,
    /// Newer fields no check reads (PROTOCOL.md §7), of any value.
    #[serde(default, rename = "stop_details")]
    _stop_details: IgnoredAny,
}

/// `message_delta.usage` with the fields the API sends there: `output_tokens` required,
/// the input counters when they apply (a null counter reads as absent, as the full way
/// reads it); not `iterations`, which changes what the checker accepts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaUsage {
    output_tokens: u64,
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
    /// Counters no check reads, of any value.
    #[serde(default, rename = "server_tool_use")]
    _server_tool_use: IgnoredAny,
    #[serde(default, rename = "output_tokens_details")]
    _output_tokens_details: IgnoredAny,
}

impl DeltaUsage {
    /// The token counters.
    pub fn counts(&self) -> UsageCounts {
        typed_counts(self.input_tokens, self.output_tokens, self.cache_read_input_tokens, self.cache_creation_input_tokens, self.cache_creation.as_ref())
    }
}

/// `data` of an event named `name` as a [`Plain`] event whose `type` is that name, or
/// `None` when it is anything else.
pub fn plain_event<'a>(name: &str, data: &'a str) -> Option<Plain<'a>> {
    match name {
        event::PING | event::MESSAGE_STOP => {
            let wire: TypeOnly<'_> = serde_json::from_str(data).ok()?;
            (wire.kind == name).then_some(if name == event::PING { Plain::Ping } else { Plain::MessageStop })
        }
        event::CONTENT_BLOCK_STOP => {
            let wire: WireBlockStop<'_> = serde_json::from_str(data).ok()?;
            (wire.kind == name).then_some(Plain::BlockStop { index: wire.index })
        }
        event::CONTENT_BLOCK_START => {
            let wire: WireBlockStart<'a> = serde_json::from_str(data).ok()?;
            let text = wire.kind == name && wire.content_block.kind == "text";
            text.then_some(Plain::TextBlockStart { index: wire.index, text: wire.content_block.text })
        }
        event::MESSAGE_START => {
            let wire: WireMessageStart<'a> = serde_json::from_str(data).ok()?;
            let m = wire.message;
            let plain = wire.kind == name && m.kind == "message" && m.role == "assistant" && m.content.is_empty();
            plain.then_some(Plain::MessageStart(m))
        }
        event::MESSAGE_DELTA => {
            let wire: WireMessageDelta<'a> = serde_json::from_str(data).ok()?;
            let d = wire.delta;
            (wire.kind == name).then_some(Plain::MessageDelta(MessageDelta { stop_reason: d.stop_reason, stop_sequence: d.stop_sequence, usage: wire.usage }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_or_suffix_differing_in_any_one_byte_is_not_it() {
        const LONG: &[u8; 38] = br#"{"type":"content_block_delta","index":"#;
        const SHORT: &[u8; 3] = br#""}}"#;
        let text = format!("{}0{}", std::str::from_utf8(LONG).expect("ascii"), std::str::from_utf8(SHORT).expect("ascii"));
        assert_eq!(after(&text, LONG), Some("0\"}}"));
        assert_eq!(before(&text, SHORT), Some(&text[..39]));
        for at in 0..LONG.len() {
            let mut changed = text.clone().into_bytes();
            changed[at] ^= 0x01;
            let changed = String::from_utf8(changed).expect("ascii");
            assert_eq!(after(&changed, LONG), None, "byte {at} differs");
        }
        for at in text.len() - SHORT.len()..text.len() {
            let mut changed = text.clone().into_bytes();
            changed[at] ^= 0x01;
            assert_eq!(before(&String::from_utf8(changed).expect("ascii"), SHORT), None, "byte {at} differs");
        }
        assert_eq!(after(&text[..37], LONG), None, "shorter than the prefix");
        assert_eq!(before("}", SHORT), None, "shorter than the suffix");
    }

    #[test]
    fn the_plain_shape_is_read_and_everything_else_is_left_to_the_full_check() {
        let d = content_block_delta(r#"{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Hi"}}"#).expect("plain");
        assert_eq!((d.index, d.kind, d.value.as_ref()), (2, "text_delta", "Hi"));
        assert!(matches!(d.value, Cow::Borrowed(_)), "no copy of unescaped text");
        let escaped = content_block_delta(r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\nb"}}"#).expect("plain");
        assert_eq!(escaped.value, "a\nb");
        // The API's own bytes take the byte comparison; the same event otherwise laid out
        // takes the deserializer; both read the same.
        let api = api_text_delta(r#"{"type":"content_block_delta","index":12,"delta":{"type":"text_delta","text":"Hi there"}}"#).expect("api bytes");
        assert_eq!((api.index, api.kind, api.value.as_ref()), (12, "text_delta", "Hi there"));
        for laid_out in [
            r#"{"delta":{"text":"Hi there","type":"text_delta"},"index":12,"type":"content_block_delta"}"#,
            r#"{"type": "content_block_delta", "index": 12, "delta": {"type": "text_delta", "text": "Hi there"}}"#,
        ] {
            assert_eq!(api_text_delta(laid_out), None);
            assert_eq!(content_block_delta(laid_out), Some(api.clone()), "{laid_out}");
        }
        for not_plain in [
            r#"{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":99999999999999999999,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"b"}}"#,
            "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\tb\"}}",
        ] {
            assert_eq!(api_text_delta(not_plain), None, "{not_plain}");
            assert_eq!(content_block_delta(not_plain), None, "{not_plain}");
        }
        let escaped = r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\nb"}}"#;
        assert_eq!(api_text_delta(escaped), None, "an escape is left to the deserializer, which decodes it");
        for other in [
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"},"extra":1}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","citation":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"new_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":1.0,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":null}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","partial_json":"a"}}"#,
            r#"{"type":"content_block_delta","type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_stop","index":0,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}} x"#,
        ] {
            assert_eq!(content_block_delta(other), None, "{other}");
        }
    }
}
