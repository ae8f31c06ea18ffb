//! The fingerprints of one response that tell which channel served it (PROTOCOL.md §9):
//! id shapes, the model as returned, the usage fields the API always sends, the thinking
//! signature, and the headers only some channels and relay programs send. Each is read
//! into a fixed vocabulary ([`Shape`]) so a run can count them, with the raw value kept
//! as an example for a person to check.

use std::borrow::Cow;

use serde_json::Value;

use crate::headers::HeaderFields;
use crate::protocol::HEADER_RATELIMIT_PREFIX;

/// What is looked at. The ids are report fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    /// The message's `id`.
    MessageId,
    /// A `tool_use` block's `id`.
    ToolId,
    /// `model` as the response names it.
    Model,
    /// `usage.service_tier`.
    ServiceTier,
    /// `usage.inference_geo`.
    InferenceGeo,
    /// The `usage.cache_creation` object.
    CacheCreation,
    /// A thinking block's `signature`.
    ThinkingSignature,
    /// The `anthropic-ratelimit-*` headers.
    RateLimitHeaders,
    /// `anthropic-ratelimit-unified-*`: the limits of a Claude subscription.
    SubscriptionHeaders,
    /// Headers of a cloud platform (`x-amzn-*`).
    CloudHeaders,
    /// Headers of a known relay or gateway program.
    Gateway,
}

impl Signal {
    /// Stable id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Signal::MessageId => "message_id",
            Signal::ToolId => "tool_id",
            Signal::Model => "model",
            Signal::ServiceTier => "usage.service_tier",
            Signal::InferenceGeo => "usage.inference_geo",
            Signal::CacheCreation => "usage.cache_creation",
            Signal::ThinkingSignature => "thinking.signature",
            Signal::RateLimitHeaders => "ratelimit_headers",
            Signal::SubscriptionHeaders => "subscription_headers",
            Signal::CloudHeaders => "cloud_headers",
            Signal::Gateway => "gateway",
        }
    }
}

/// What a signal looked like. The ids are report fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shape {
    /// `msg_` and base62, the API's.
    MsgBase62,
    /// `msg_bdrk_…`, Amazon Bedrock's.
    MsgBedrock,
    /// `msg_vrtx_…`, Google Vertex AI's.
    MsgVertex,
    /// `req_vrtx_…`, Vertex AI's request id in the message's place.
    ReqVertex,
    /// `msg_` and a UUID.
    MsgUuid,
    /// `msg_msg_…`: a prefix added twice by a relay rewriting ids.
    MsgTwice,
    /// A bare UUID.
    Uuid,
    /// `toolu_…` (or the server tools' `srvtoolu_…`, `mcptoolu_…`), the API's.
    Toolu,
    /// `tooluse_…`, Bedrock's and Vertex's.
    Tooluse,
    /// `tool_N`, Vertex AI's.
    ToolN,
    /// `claude-…`.
    Claude,
    /// `anthropic.claude-…`, a Bedrock model id.
    BedrockModel,
    /// `kiro-…`, an IDE channel's model id.
    KiroModel,
    /// The field is there.
    Present,
    /// The field is not there.
    Absent,
    /// A signature of 200 bytes or more, as the API signs.
    LongSignature,
    /// A shorter one: truncated on the way.
    ShortSignature,
    /// An empty signature, or none: the relay interfered.
    EmptySignature,
    /// `claude#…`, Vertex AI's.
    HashSignature,
    /// `anthropic-ratelimit-*` as the API names them.
    AnthropicHeaders,
    /// The same headers under another prefix (`llm_provider-anthropic-ratelimit-…`).
    RenamedHeaders,
    /// OpenAI's `x-ratelimit-*` instead.
    OpenAiHeaders,
    /// `x-amzn-*`.
    AmazonHeaders,
    /// LiteLLM (`x-litellm-*`, `llm_provider-*`).
    LiteLlm,
    /// Portkey (`x-portkey-*`).
    Portkey,
    /// Helicone (`helicone-*`).
    Helicone,
    /// Cloudflare AI Gateway (`cf-aig-*`).
    CloudflareAiGateway,
    /// None of the known shapes.
    Other,
}

impl Shape {
    /// Stable id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Shape::MsgBase62 => "msg_base62",
            Shape::MsgBedrock => "msg_bdrk",
            Shape::MsgVertex => "msg_vrtx",
            Shape::ReqVertex => "req_vrtx",
            Shape::MsgUuid => "msg_uuid",
            Shape::MsgTwice => "msg_msg",
            Shape::Uuid => "uuid",
            Shape::Toolu => "toolu",
            Shape::Tooluse => "tooluse",
            Shape::ToolN => "tool_n",
            Shape::Claude => "claude",
            Shape::BedrockModel => "anthropic.",
            Shape::KiroModel => "kiro-",
            Shape::Present => "present",
            Shape::Absent => "absent",
            Shape::LongSignature => "long",
            Shape::ShortSignature => "short",
            Shape::EmptySignature => "empty",
            Shape::HashSignature => "claude#",
            Shape::AnthropicHeaders => "anthropic",
            Shape::RenamedHeaders => "renamed",
            Shape::OpenAiHeaders => "x-ratelimit",
            Shape::AmazonHeaders => "x-amzn",
            Shape::LiteLlm => "litellm",
            Shape::Portkey => "portkey",
            Shape::Helicone => "helicone",
            Shape::CloudflareAiGateway => "cloudflare-ai-gateway",
            Shape::Other => "other",
        }
    }
}

/// Header name prefixes of relay and gateway programs, from their own documentation.
const GATEWAY_PREFIXES: [(&str, Shape); 5] = [
    ("x-litellm-", Shape::LiteLlm),
    ("llm_provider-", Shape::LiteLlm),
    ("x-portkey-", Shape::Portkey),
    ("helicone-", Shape::Helicone),
    ("cf-aig-", Shape::CloudflareAiGateway),
];

/// A rate-limit header under another program's prefix
/// (`llm_provider-anthropic-ratelimit-…`): the API's counters, renamed on the way.
pub fn renamed_limit_header(headers: &impl HeaderFields) -> Option<&str> {
    headers.fields().map(|(name, _)| name).find(|n| renamed_limit(n))
}

/// True for a rate-limit header name under another program's prefix.
fn renamed_limit(name: &str) -> bool {
    !name.starts_with(HEADER_RATELIMIT_PREFIX) && name.contains(HEADER_RATELIMIT_PREFIX)
}

/// The `usage` fields whose presence tells channels apart, with their signals, in the
/// order they are noted.
pub const USAGE_SIGNALS: [(Signal, &str); 3] =
    [(Signal::ServiceTier, "service_tier"), (Signal::InferenceGeo, "inference_geo"), (Signal::CacheCreation, "cache_creation")];

/// The fields of [`USAGE_SIGNALS`] in `usage`, each as JSON text, or `None` when it is
/// absent or null.
pub fn usage_signals(usage: &Value) -> [Option<String>; 3] {
    USAGE_SIGNALS.map(|(_, field)| usage.get(field).filter(|v| !v.is_null()).map(Value::to_string))
}

/// `s` as a JSON string, as `serde_json` writes it, for the fast path that has no tree;
/// most values need no escape.
pub fn json_string(s: &str) -> String {
    if s.contains(['"', '\\']) || s.contains(char::is_control) {
        return Value::String(s.to_owned()).to_string();
    }
    // Sized once: `format!` would start from four bytes and grow.
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    quoted.push_str(s);
    quoted.push('"');
    quoted
}

/// Where `example` is cut: after [`EXAMPLE_CHARS`] characters.
fn example_end(example: &str) -> usize {
    example.char_indices().nth(EXAMPLE_CHARS).map_or(example.len(), |(i, _)| i)
}

/// How long an example value may be in a report.
const EXAMPLE_CHARS: usize = 64;
/// The API's signatures are long base64; one shorter than this was cut on the way.
const LONG_SIGNATURE: usize = 200;

/// One signal of one response: its shape, and the value it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// What was looked at.
    pub signal: Signal,
    /// What it looked like.
    pub shape: Shape,
    /// The value, shortened: what a person checks.
    pub example: String,
}

/// Everything one response says about the channel behind it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fingerprint {
    /// The model the request named (the key a run's evidence is kept under), when known.
    pub requested: Option<String>,
    /// The response was a stream.
    pub stream: bool,
    /// Every signal it carried, at most one of each, but for headers.
    pub observed: Vec<Observed>,
}

impl Fingerprint {
    /// The body's signals: `id`, `model`, the [`usage_signals`] (of a Message, or of a
    /// stream's `message_start`), and the tool ids and thinking signatures seen.
    pub fn from_parts<'a>(
        message_id: Option<impl Into<Cow<'a, str>>>,
        model: Option<&str>,
        usage_signals: Option<[Option<String>; 3]>,
        tool_ids: impl IntoIterator<Item = &'a str>,
        signatures: impl IntoIterator<Item = &'a str>,
    ) -> Fingerprint {
        // Room for every body signal and the head's usual ones, so the list grows once.
        let mut fp = Fingerprint { observed: Vec::with_capacity(12), ..Fingerprint::default() };
        if let Some(id) = message_id {
            let id: Cow<'_, str> = id.into();
            let shape = message_id_shape(&id);
            fp.note_owned(Signal::MessageId, shape, id.into_owned());
        }
        if let Some(model) = model {
            fp.note(Signal::Model, model_shape(model), model);
        }
        if let Some(tool) = tool_ids.into_iter().next() {
            fp.note(Signal::ToolId, tool_id_shape(tool), tool);
        }
        if let Some(signature) = signatures.into_iter().next() {
            fp.note(Signal::ThinkingSignature, signature_shape(signature), signature);
        }
        if let Some(signals) = usage_signals {
            fp.note_usage(signals);
        }
        fp
    }

    /// The usage signals: each field of [`USAGE_SIGNALS`] as JSON text, or `None` when it
    /// is absent or null.
    pub fn note_usage(&mut self, fields: [Option<String>; 3]) {
        for ((signal, _), text) in USAGE_SIGNALS.into_iter().zip(fields) {
            match text {
                Some(text) => self.note_owned(signal, Shape::Present, text),
                None => self.note(signal, Shape::Absent, ""),
            }
        }
    }

    /// A non-streamed Message's signals.
    pub fn from_message(message: &Value) -> Fingerprint {
        let content = message.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        fn text<'a>(block: &'a Value, field: &str) -> Option<&'a str> {
            block.get(field).and_then(Value::as_str)
        }
        let tools = content.iter().filter(|b| text(b, "type").unwrap_or_default().ends_with("tool_use")).filter_map(|b| text(b, "id"));
        let signatures = content.iter().filter(|b| text(b, "type") == Some("thinking")).map(|b| text(b, "signature").unwrap_or_default());
        let field = |name: &str| message.get(name).and_then(Value::as_str);
        Fingerprint::from_parts(field("id"), field("model"), message.get("usage").map(usage_signals), tools, signatures)
    }

    /// Adds the response head's signals.
    pub fn add_headers(&mut self, headers: &impl HeaderFields) {
        // One pass over the head, keeping the first name of each kind; a name may be of
        // several kinds.
        fn keep<'a>(slot: &mut Option<&'a str>, name: &'a str, hit: bool) {
            if hit && slot.is_none() {
                *slot = Some(name);
            }
        }
        let (mut ratelimit, mut renamed, mut openai, mut unified, mut amazon) = (None, None, None, None, None);
        let mut gateways: Vec<(Shape, &str)> = Vec::new();
        for (n, _) in headers.fields() {
            if let Some((_, shape)) = GATEWAY_PREFIXES.iter().find(|(prefix, _)| n.starts_with(prefix)) {
                if !gateways.iter().any(|(seen, _)| seen == shape) {
                    gateways.push((*shape, n));
                }
            }
            // The API sends a dozen of its own: each name is searched once.
            if n.starts_with(HEADER_RATELIMIT_PREFIX) {
                let subscription = n.contains("-unified-");
                keep(&mut ratelimit, n, !subscription);
                keep(&mut unified, n, subscription);
            } else {
                keep(&mut renamed, n, renamed_limit(n));
            }
            keep(&mut openai, n, n.starts_with("x-ratelimit-"));
            keep(&mut amazon, n, n.starts_with("x-amzn-"));
        }
        match (ratelimit, renamed, openai) {
            (Some(n), _, _) => self.note(Signal::RateLimitHeaders, Shape::AnthropicHeaders, n),
            (None, Some(n), _) => self.note(Signal::RateLimitHeaders, Shape::RenamedHeaders, n),
            (None, None, Some(n)) => self.note(Signal::RateLimitHeaders, Shape::OpenAiHeaders, n),
            (None, None, None) => self.note(Signal::RateLimitHeaders, Shape::Absent, ""),
        }
        if let Some(n) = unified {
            self.note(Signal::SubscriptionHeaders, Shape::Present, n);
        }
        if let Some(n) = amazon {
            self.note_owned(Signal::CloudHeaders, Shape::AmazonHeaders, format!("{n}: {}", headers.text(n).unwrap_or_default()));
        }
        for (shape, n) in gateways {
            self.note(Signal::Gateway, shape, n);
        }
    }

    /// The shape of `signal`, when the response carried it.
    pub fn shape(&self, signal: Signal) -> Option<Shape> {
        self.observed.iter().find(|o| o.signal == signal).map(|o| o.shape)
    }

    fn note(&mut self, signal: Signal, shape: Shape, example: &str) {
        self.observed.push(Observed { signal, shape, example: example[..example_end(example)].to_owned() });
    }

    fn note_owned(&mut self, signal: Signal, shape: Shape, mut example: String) {
        example.truncate(example_end(&example));
        self.observed.push(Observed { signal, shape, example });
    }

    /// What differs from the first-party API in the body, in words (the `identity.backend`
    /// finding); empty when nothing does.
    pub fn differences(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for o in &self.observed {
            let what = match (o.signal, o.shape) {
                (Signal::MessageId, Shape::MsgBedrock) => "Amazon Bedrock",
                (Signal::MessageId, Shape::MsgVertex | Shape::ReqVertex) => "Google Vertex AI",
                (Signal::MessageId, Shape::MsgBase62) | (Signal::ToolId, Shape::Toolu) => continue,
                (Signal::MessageId, _) => "not msg_…",
                (Signal::ToolId, _) => "not toolu_…",
                (Signal::ServiceTier, Shape::Absent) => {
                    seen.push("usage.service_tier missing".to_owned());
                    continue;
                }
                _ => continue,
            };
            let name = if o.signal == Signal::MessageId { "message id" } else { "tool call id" };
            seen.push(format!("{name} {:?}: {what}", crate::text::excerpt(o.example.as_bytes())));
        }
        seen
    }
}

fn is_uuid(s: &str) -> bool {
    s.split('-').map(str::len).eq([8, 4, 4, 4, 12]) && s.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
}

fn message_id_shape(id: &str) -> Shape {
    if let Some(rest) = id.strip_prefix("msg_") {
        return match rest {
            _ if rest.starts_with("bdrk_") => Shape::MsgBedrock,
            _ if rest.starts_with("vrtx_") => Shape::MsgVertex,
            _ if rest.starts_with("msg_") => Shape::MsgTwice,
            _ if is_uuid(rest) => Shape::MsgUuid,
            _ if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => Shape::MsgBase62,
            _ => Shape::Other,
        };
    }
    match id {
        _ if id.starts_with("req_vrtx_") => Shape::ReqVertex,
        _ if is_uuid(id) => Shape::Uuid,
        _ => Shape::Other,
    }
}

fn tool_id_shape(id: &str) -> Shape {
    match id {
        _ if ["toolu_", "srvtoolu_", "mcptoolu_"].iter().any(|p| id.starts_with(p)) => Shape::Toolu,
        _ if id.starts_with("tooluse_") => Shape::Tooluse,
        _ if id.strip_prefix("tool_").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) => Shape::ToolN,
        _ => Shape::Other,
    }
}

fn model_shape(model: &str) -> Shape {
    match model {
        _ if model.starts_with("claude-") => Shape::Claude,
        _ if model.starts_with("anthropic.") || model.contains(".anthropic.claude") => Shape::BedrockModel,
        _ if model.starts_with("kiro-") => Shape::KiroModel,
        _ => Shape::Other,
    }
}

fn signature_shape(signature: &str) -> Shape {
    match signature {
        "" => Shape::EmptySignature,
        _ if signature.starts_with("claude#") => Shape::HashSignature,
        _ if signature.len() >= LONG_SIGNATURE => Shape::LongSignature,
        _ => Shape::ShortSignature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::Headers;
    use http::HeaderMap;
    use serde_json::json;

    #[test]
    fn examples_are_cut_to_their_length_on_a_character_boundary() {
        let long = "é".repeat(EXAMPLE_CHARS + 5);
        let mut fp = Fingerprint::default();
        fp.note(Signal::MessageId, Shape::Present, &long);
        fp.note_owned(Signal::Model, Shape::Present, long.clone());
        fp.note(Signal::InferenceGeo, Shape::Present, "short");
        let examples: Vec<&str> = fp.observed.iter().map(|o| o.example.as_str()).collect();
        let cut = "é".repeat(EXAMPLE_CHARS);
        assert_eq!(examples, [cut.as_str(), cut.as_str(), "short"]);
    }

    fn shapes(fp: &Fingerprint) -> Vec<(&'static str, &'static str)> {
        fp.observed.iter().map(|o| (o.signal.id(), o.shape.id())).collect()
    }

    #[test]
    fn the_api_shapes_read_as_the_api() {
        let sig = "E".repeat(300);
        let message = json!({"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "thinking", "thinking": "", "signature": sig}, {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9"}],
            "usage": {"input_tokens": 3, "output_tokens": 1, "service_tier": "standard", "inference_geo": "us", "cache_creation": {"ephemeral_5m_input_tokens": 0}}});
        let fp = Fingerprint::from_message(&message);
        assert_eq!(
            shapes(&fp),
            [
                ("message_id", "msg_base62"),
                ("model", "claude"),
                ("tool_id", "toolu"),
                ("thinking.signature", "long"),
                ("usage.service_tier", "present"),
                ("usage.inference_geo", "present"),
                ("usage.cache_creation", "present")
            ]
        );
        assert!(fp.differences().is_empty());
    }

    #[test]
    fn cloud_and_relay_shapes_are_named() {
        assert_eq!(message_id_shape("msg_bdrk_01Abc"), Shape::MsgBedrock);
        assert_eq!(message_id_shape("msg_vrtx_01Abc"), Shape::MsgVertex);
        assert_eq!(message_id_shape("req_vrtx_01Abc"), Shape::ReqVertex);
        assert_eq!(message_id_shape("msg_msg_01Abc"), Shape::MsgTwice);
        assert_eq!(message_id_shape("msg_0b6f5c1e-29d8-4c63-9f3e-3a8d2f0c1b7a"), Shape::MsgUuid);
        assert_eq!(message_id_shape("0b6f5c1e-29d8-4c63-9f3e-3a8d2f0c1b7a"), Shape::Uuid);
        assert_eq!(message_id_shape("chatcmpl-123"), Shape::Other);
        assert_eq!(tool_id_shape("tooluse_Xyz"), Shape::Tooluse);
        assert_eq!(tool_id_shape("tool_0"), Shape::ToolN);
        assert_eq!(tool_id_shape("tool_x"), Shape::Other);
        assert_eq!(model_shape("anthropic.claude-sonnet-4-5-20250929-v1:0"), Shape::BedrockModel);
        assert_eq!(model_shape("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), Shape::BedrockModel);
        assert_eq!(model_shape("kiro-claude-sonnet"), Shape::KiroModel);
        assert_eq!(signature_shape("claude#abc"), Shape::HashSignature);
        assert_eq!(signature_shape("EqQBCgIYAhIM"), Shape::ShortSignature);
        let relay = Fingerprint::from_parts(Some("msg_bdrk_01Abc"), None, Some(usage_signals(&json!({"input_tokens": 3}))), ["tooluse_Xyz"], []);
        let words = relay.differences();
        assert_eq!(words.len(), 3, "{words:?}");
        assert!(words[0].contains("Bedrock") && words[1].contains("tooluse_Xyz") && words[2].contains("service_tier"));
    }

    #[test]
    fn headers_name_the_limits_the_cloud_and_the_gateway() {
        let mut headers = HeaderMap::new();
        for (k, v) in [("llm_provider-anthropic-ratelimit-requests-limit", "50"), ("x-litellm-call-id", "abc"), ("x-amzn-requestid", "r-1")] {
            headers.insert(http::HeaderName::from_static(k), http::HeaderValue::from_static(v));
        }
        let mut fp = Fingerprint::default();
        fp.add_headers(&headers);
        assert_eq!(fp.shape(Signal::RateLimitHeaders), Some(Shape::RenamedHeaders));
        assert_eq!(fp.shape(Signal::CloudHeaders), Some(Shape::AmazonHeaders));
        assert_eq!(fp.shape(Signal::Gateway), Some(Shape::LiteLlm));
        assert_eq!(fp.observed.iter().filter(|o| o.signal == Signal::Gateway).count(), 1, "one entry per program");
        let mut renamed_only = Fingerprint::default();
        renamed_only.add_headers(&Headers::from_iter([("llm_provider-anthropic-ratelimit-requests-limit", "50"), ("x-amzn-requestid", "r-1")]));
        assert_eq!(renamed_only.shape(Signal::RateLimitHeaders), Some(Shape::RenamedHeaders));
        assert_eq!(renamed_only.shape(Signal::Gateway), Some(Shape::LiteLlm), "the renaming program's prefix names it too");
        assert_eq!(renamed_only.observed.iter().find(|o| o.signal == Signal::CloudHeaders).map(|o| o.example.as_str()), Some("x-amzn-requestid: r-1"));
        let mut both = Fingerprint::default();
        both.add_headers(&Headers::from_iter([("x-amzn-anthropic-ratelimit-requests-limit", "50")]));
        assert_eq!((both.shape(Signal::RateLimitHeaders), both.shape(Signal::CloudHeaders)), (Some(Shape::RenamedHeaders), Some(Shape::AmazonHeaders)), "a name of two kinds counts for both");
        let mut plain = Fingerprint::default();
        plain.add_headers(&HeaderMap::new());
        assert_eq!(plain.shape(Signal::RateLimitHeaders), Some(Shape::Absent));
        assert_eq!(plain.shape(Signal::Gateway), None);
    }
}
