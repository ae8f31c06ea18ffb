//! Request templates: one kind of request in the mix, and the body it sends.

use std::fmt;
use std::num::NonZeroU32;

use bytes::Bytes;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::dataset::{DatasetSpec, Record};
use super::size::{input_size, output_size, Size};
use super::visit::{Checked, Validate};
use crate::conformance::request::RequestFacts;
use crate::rng::Rng;

/// A non-empty list of templates, each validated where it stands.
pub(super) fn non_empty_templates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RequestTemplate>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<RequestTemplate>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of request templates")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut list = Vec::new();
            while let Some(Checked(t)) = seq.next_element()? {
                list.push(t);
            }
            if list.is_empty() {
                return Err(de::Error::custom("requests needs at least one request template"));
            }
            Ok(list)
        }
    }
    d.deserialize_seq(V)
}

/// One kind of request in the mix.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = one_prompt_source)]
pub struct RequestTemplate {
    /// Name in the report; defaults to `request-N`.
    #[serde(default)]
    pub name: Option<String>,
    /// Relative share of requests.
    #[serde(default = "default_weight")]
    pub weight: NonZeroU32,
    /// Ask for a stream.
    #[serde(default)]
    pub stream: bool,
    /// Overrides the scenario's model.
    #[serde(default)]
    pub model: Option<String>,
    /// `max_tokens`: a number, or a distribution drawn per request.
    #[serde(deserialize_with = "output_size")]
    #[schemars(with = "super::size::OutputSize")]
    pub max_tokens: Size,
    /// Shorthand for one user message.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Instead of `prompt`: one user message generated to this many tokens (a number or
    /// a distribution), different for every request (see [`crate::synth`]).
    #[serde(default, deserialize_with = "input_size")]
    #[schemars(with = "Option<super::size::InputSize>")]
    pub prompt_tokens: Option<Size>,
    /// Begin `prompt` with a word unique to each request, so no response cache can
    /// answer it (generated prompts always are).
    #[serde(default)]
    pub unique: bool,
    /// Instead of `prompt`: records read from a file, one a request (see
    /// [`super::dataset`]).
    #[serde(default, deserialize_with = "dataset")]
    pub dataset: Option<DatasetSpec>,
    /// Run as a conversation of several turns: each turn sends the whole history plus the
    /// next user message, the reply actually received goes into the history, and the
    /// session waits `think_time` between turns.
    #[serde(default, deserialize_with = "session")]
    pub session: Option<SessionSpec>,
    /// A generated system prefix marked with `cache_control`, shared by a share of the
    /// requests (`reuse`) and unique to each of the others: a prompt-cache workload.
    #[serde(default, deserialize_with = "shared_prefix")]
    pub shared_prefix: Option<SharedPrefix>,
    /// Full `messages` array, passed through.
    #[serde(default)]
    pub messages: Option<Value>,
    /// `system`, string or block array.
    #[serde(default)]
    pub system: Option<Value>,
    /// `temperature`.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// `top_p`.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// `top_k`.
    #[serde(default)]
    pub top_k: Option<u64>,
    /// `stop_sequences`.
    #[serde(default)]
    pub stop_sequences: Option<Vec<String>>,
    /// `tools`, passed through.
    #[serde(default)]
    pub tools: Option<Value>,
    /// `tool_choice`, passed through.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    /// `thinking`, passed through.
    #[serde(default)]
    pub thinking: Option<Value>,
    /// `metadata`, passed through.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Any other body fields, merged in as they are.
    #[serde(default)]
    pub extra: Map<String, Value>,
}

/// A prompt-cache workload's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedPrefix {
    /// Its size in tokens.
    #[schemars(range(min = 1, max = super::size::MAX_INPUT_TOKENS))]
    pub tokens: u64,
    /// The share of requests that send the shared prefix (the others send one of their
    /// own, a certain miss), from 0 to 1.
    #[schemars(range(min = 0, max = 1))]
    pub reuse: f64,
}

/// A conversation's shape.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    /// Turns, each one request.
    #[schemars(range(min = 1, max = MAX_TURNS))]
    pub turns: u32,
    /// Pause between a reply and the next turn (at most 10m).
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub think_time: Option<super::duration::HumanDuration>,
}

/// Most turns one conversation may have.
pub const MAX_TURNS: u32 = 100;

fn session<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SessionSpec>, D::Error> {
    let s = SessionSpec::deserialize(d)?;
    if !(1..=MAX_TURNS).contains(&s.turns) {
        return Err(de::Error::custom(format!("session.turns must be from 1 to {MAX_TURNS}")));
    }
    if s.think_time.is_some_and(|t| t.0 > std::time::Duration::from_secs(600)) {
        return Err(de::Error::custom("session.think_time must be at most 10m"));
    }
    Ok(Some(s))
}

fn dataset<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DatasetSpec>, D::Error> {
    let spec = DatasetSpec::deserialize(d)?;
    spec.check().map_err(de::Error::custom)?;
    Ok(Some(spec))
}

fn shared_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SharedPrefix>, D::Error> {
    let p = SharedPrefix::deserialize(d)?;
    if !(1..=super::size::MAX_INPUT_TOKENS).contains(&p.tokens) {
        return Err(de::Error::custom(format!("shared_prefix.tokens must be from 1 to {}", super::size::MAX_INPUT_TOKENS)));
    }
    if !(0.0..=1.0).contains(&p.reuse) {
        return Err(de::Error::custom("shared_prefix.reuse is a share, from 0 to 1"));
    }
    Ok(Some(p))
}

/// A request template gives exactly one source of its prompt, in the scenario schema as in
/// [`RequestTemplate::validate`].
fn one_prompt_source(schema: &mut schemars::Schema) {
    let sources = ["prompt", "messages", "prompt_tokens", "dataset"].map(|f| serde_json::json!({"required": [f]}));
    schema.insert("oneOf".into(), Value::Array(sources.to_vec()));
}

fn default_weight() -> NonZeroU32 {
    NonZeroU32::MIN
}

impl Validate for RequestTemplate {
    fn validate(&self) -> Result<(), String> {
        let given = [self.prompt.is_some(), self.messages.is_some(), self.prompt_tokens.is_some(), self.dataset.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err("a request template needs exactly one of `prompt`, `messages`, `prompt_tokens` or `dataset`".into());
        }
        if self.session.is_some() && self.prompt.is_none() && self.prompt_tokens.is_none() {
            return Err("a session's user turns come from `prompt` or `prompt_tokens`".into());
        }
        if self.unique && self.prompt.is_none() {
            return Err("`unique: true` takes a `prompt` (generated prompts are always unique)".into());
        }
        Ok(())
    }
}

impl RequestTemplate {
    /// Whether `max_tokens` is set per request: drawn, or (with a generated prompt) given
    /// by a trace.
    fn sized_per_request(&self) -> bool {
        self.max_tokens.fixed().is_none() || self.prompt_tokens.is_some()
    }

    /// The request body this template sends, for the scenario's default `model`. What is
    /// drawn or generated per request stands as a hole (see [`BodyPlan`]).
    pub fn body(&self, default_model: &str) -> Value {
        let mut body = Map::new();
        let model = self.model.as_deref().unwrap_or(default_model);
        body.insert("model".into(), model.into());
        let max_tokens = match self.max_tokens.fixed() {
            Some(m) if !self.sized_per_request() => Value::from(m),
            _ => Value::from(MAX_TOKENS_HOLE),
        };
        body.insert("max_tokens".into(), max_tokens);
        let messages = match (&self.messages, &self.prompt, &self.prompt_tokens) {
            (Some(m), _, _) => m.clone(),
            (None, Some(p), _) if self.unique => serde_json::json!([{"role": "user", "content": format!("{UNIQUE_HOLE} {p}")}]),
            (None, Some(p), _) => serde_json::json!([{"role": "user", "content": p}]),
            (None, None, Some(_)) => serde_json::json!([{"role": "user", "content": PROMPT_HOLE}]),
            (None, None, None) => Value::Array(Vec::new()),
        };
        body.insert("messages".into(), messages);
        // The cache prefix comes first: the API caches tools, then system, then messages.
        let system = match (self.shared_prefix, &self.system) {
            (None, system) => system.clone(),
            (Some(_), system) => {
                let prefix = serde_json::json!({"type": "text", "text": PREFIX_HOLE, "cache_control": {"type": "ephemeral"}});
                let rest = match system {
                    None => Vec::new(),
                    Some(Value::Array(blocks)) => blocks.clone(),
                    Some(text) => vec![serde_json::json!({"type": "text", "text": text})],
                };
                Some(Value::Array(std::iter::once(prefix).chain(rest).collect()))
            }
        };
        let optional = [
            ("system", system),
            ("temperature", self.temperature.map(Value::from)),
            ("top_p", self.top_p.map(Value::from)),
            ("top_k", self.top_k.map(Value::from)),
            ("stop_sequences", self.stop_sequences.clone().map(Value::from)),
            ("tools", self.tools.clone()),
            ("tool_choice", self.tool_choice.clone()),
            ("thinking", self.thinking.clone()),
            ("metadata", self.metadata.clone()),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                body.insert(key.into(), v);
            }
        }
        if self.stream {
            body.insert("stream".into(), true.into());
        }
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }
}

/// Holes in a template's body, filled per request. Each is one word of text, so the
/// token rule counts it once, and starts with a control character no prompt holds.
const PROMPT_HOLE: &str = "\u{1}relaybench:prompt\u{1}";
const UNIQUE_HOLE: &str = "\u{1}relaybench:unique\u{1}";
const MAX_TOKENS_HOLE: &str = "\u{1}relaybench:max-tokens\u{1}";
const PREFIX_HOLE: &str = "\u{1}relaybench:prefix\u{1}";

/// A piece of a body with holes.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// Bytes sent as they are.
    Bytes(Bytes),
    /// A generated prompt of a drawn size.
    Prompt(Size),
    /// The request's unique word.
    Unique,
    /// A drawn `max_tokens`.
    MaxTokens(Size),
    /// A cache prefix: the shared text for a `reuse` share of requests, else one of the
    /// request's own of the same size.
    Prefix {
        /// The shared text.
        shared: Bytes,
        /// Its tokens.
        tokens: u64,
        /// The share of requests that send it.
        reuse: f64,
    },
}

/// How a template's body is made for each request: serialized once, split at its holes,
/// so a request costs one buffer and the generated text, never a JSON tree.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyPlan {
    pieces: Vec<Piece>,
    /// Input tokens of everything but the generated prompt, by [`crate::synth`]'s rule.
    base_input_tokens: u64,
}

/// The sizes of a traced request.
#[derive(Debug, Clone, Copy)]
pub struct Traced<'a> {
    /// Input tokens.
    pub input: u64,
    /// `max_tokens`.
    pub output: u64,
    /// Its hash ids: one block of the prompt each.
    pub hash_ids: &'a [u64],
    /// Tokens of one block.
    pub block_tokens: u64,
}

/// One request's body, with what it asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The body bytes.
    pub body: Bytes,
    /// Input tokens it holds by [`crate::synth`]'s rule: the count a provider reports
    /// when its tokenizer agrees with that rule (the embedded mock's does).
    pub input_tokens: u64,
    /// The `max_tokens` drawn for it, when the template draws one.
    pub max_tokens: Option<u64>,
}

impl Built {
    /// This body changed by `edit` (as a JSON map), its input tokens counted again; its
    /// `max_tokens` stays.
    fn edited(self, edit: impl FnOnce(&mut Map<String, Value>)) -> Built {
        let mut body: Map<String, Value> = serde_json::from_slice(&self.body).unwrap_or_default();
        edit(&mut body);
        let input_tokens = crate::synth::request_tokens(&body);
        Built { body: Bytes::from(Value::Object(body).to_string()), input_tokens, max_tokens: self.max_tokens }
    }
}

impl BodyPlan {
    /// The plan of a body whose holes are those of [`RequestTemplate::body`]; None when it
    /// has none (the body is the same for every request).
    fn new(body: &Value, template: &RequestTemplate, seed: u64) -> Option<BodyPlan> {
        let text = body.to_string();
        let escaped = |hole: &str| serde_json::to_string(hole).unwrap_or_default();
        let (prompt, unique, max, prefix) = (escaped(PROMPT_HOLE), escaped(UNIQUE_HOLE), escaped(MAX_TOKENS_HOLE), escaped(PREFIX_HOLE));
        // One shared prefix per template and seed: runs with the same seed share it.
        let shared = |p: SharedPrefix| Piece::Prefix {
            shared: Bytes::from(crate::synth::prompt(seed ^ crate::rng::hash_bytes(text.as_bytes()), u64::MAX, p.tokens)),
            tokens: p.tokens,
            reuse: p.reuse,
        };
        // Inside a string only the hole's own characters go; `max_tokens` takes the quotes.
        let holes: [(&str, Option<Piece>); 4] = [
            (&prompt[1..prompt.len() - 1], template.prompt_tokens.clone().map(Piece::Prompt)),
            (&unique[1..unique.len() - 1], template.unique.then_some(Piece::Unique)),
            (max.as_str(), template.sized_per_request().then(|| Piece::MaxTokens(template.max_tokens.clone()))),
            (&prefix[1..prefix.len() - 1], template.shared_prefix.map(shared)),
        ];
        let mut pieces = Vec::new();
        let mut rest = text.as_str();
        loop {
            let next = holes.iter().filter_map(|(h, p)| Some((rest.find(*h)?, h.len(), p.clone()?))).min_by_key(|(at, _, _)| *at);
            let Some((at, len, piece)) = next else { break };
            pieces.push(Piece::Bytes(Bytes::copy_from_slice(&rest.as_bytes()[..at])));
            pieces.push(piece);
            rest = &rest[at + len..];
        }
        if pieces.is_empty() {
            return None;
        }
        pieces.push(Piece::Bytes(Bytes::copy_from_slice(rest.as_bytes())));
        // Each hole counted as one word; a prompt and a prefix are replaced by their own.
        let counted = body.as_object().map_or(1, crate::synth::request_tokens);
        let base_input_tokens = counted - u64::from(template.prompt_tokens.is_some()) - u64::from(template.shared_prefix.is_some());
        Some(BodyPlan { pieces, base_input_tokens })
    }

    /// The body of request `n` of a loop seeded `seed`: the same pair always gives the
    /// same body, and two requests never share a generated prompt or a unique word.
    pub fn build(&self, seed: u64, n: u64) -> Built {
        self.build_sized(seed, n, None)
    }

    /// [`BodyPlan::build`], with the prompt and `max_tokens` of a traced request instead
    /// of drawn ones.
    pub fn build_sized(&self, seed: u64, n: u64, traced: Option<Traced<'_>>) -> Built {
        let mut rng = Rng::derive(seed ^ 0x00B0_D1E5, n);
        let mut out = Vec::new();
        let mut input_tokens = self.base_input_tokens;
        let mut max_tokens = None;
        for piece in &self.pieces {
            match piece {
                Piece::Bytes(b) => out.extend_from_slice(b),
                Piece::Prompt(size) => {
                    let tokens = match &traced {
                        Some(t) => {
                            crate::synth::write_hashed_prompt(&mut out, seed, n, t.hash_ids, t.block_tokens, t.input);
                            t.input
                        }
                        None => {
                            let tokens = size.draw(&mut rng);
                            crate::synth::write_prompt(&mut out, seed, n, tokens);
                            tokens
                        }
                    };
                    input_tokens += tokens;
                }
                Piece::Unique => out.extend_from_slice(crate::synth::unique_word(seed, n).as_bytes()),
                Piece::MaxTokens(size) => {
                    let m = traced.as_ref().map_or_else(|| size.draw(&mut rng), |t| t.output);
                    out.extend_from_slice(m.to_string().as_bytes());
                    max_tokens = Some(m);
                }
                Piece::Prefix { shared, tokens, reuse } => {
                    if rng.next_f64() < *reuse {
                        out.extend_from_slice(shared);
                    } else {
                        crate::synth::write_prompt(&mut out, seed ^ 0x0000_00CA_C4E0, n, *tokens);
                    }
                    input_tokens += tokens;
                }
            }
        }
        Built { body: Bytes::from(out), input_tokens, max_tokens }
    }

    /// Whether the input differs in size between requests.
    pub fn input_varies(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Prompt(_)))
    }
}

/// A prepared template: its name, weight and serialized body.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// Report name.
    pub name: String,
    /// Relative share.
    pub weight: NonZeroU32,
    /// Whether it streams.
    pub stream: bool,
    /// Body bytes, built once: what every request sends when `plan` is None, else the
    /// body with its holes (for reading its shape, never sent).
    pub body: Bytes,
    /// What the body asks for, for the request-aware checks (tool schemas compiled once).
    pub facts: std::sync::Arc<RequestFacts>,
    /// Input tokens of `body` by [`crate::synth`]'s rule.
    pub input_tokens: u64,
    /// How each request's body is made, when it is not always `body`.
    pub plan: Option<std::sync::Arc<BodyPlan>>,
    /// The template's dataset: each request takes the next record's `system` and
    /// `messages` in place of the body's.
    pub dataset: Option<std::sync::Arc<DatasetSpec>>,
    /// The template's conversation shape, when it runs as sessions.
    pub session: Option<SessionSpec>,
}

impl PreparedRequest {
    /// Prepares `template` for `model`: the body serialized once, its facts, its plan
    /// (`seed` picks the shared cache prefix, if any).
    pub fn new(template: &RequestTemplate, name: String, model: &str, seed: u64) -> PreparedRequest {
        let body = template.body(model);
        PreparedRequest {
            name,
            weight: template.weight,
            stream: template.stream,
            facts: std::sync::Arc::new(RequestFacts::from_body(&body)),
            input_tokens: body.as_object().map_or(1, crate::synth::request_tokens),
            plan: BodyPlan::new(&body, template, seed).map(std::sync::Arc::new),
            dataset: template.dataset.clone().map(std::sync::Arc::new),
            session: template.session,
            body: Bytes::from(body.to_string()),
        }
    }

    /// The body of a request that sends `record`: the template's body with the record's
    /// `system` (when it has one) and `messages`. Its `max_tokens` is drawn like any.
    pub fn build_from(&self, record: &Record, seed: u64, n: u64) -> Built {
        self.build(seed, n, None).edited(|body| {
            body.insert("messages".into(), record.messages.clone());
            if let Some(system) = &record.system {
                body.insert("system".into(), system.clone());
            }
        })
    }

    /// The body of turn `turn` (1-based) of conversation `n`: `history` (the earlier turns
    /// and replies) and this turn's user message, which is appended to `history`.
    pub fn build_turn(&self, seed: u64, n: u64, turn: u32, history: &mut Vec<Value>) -> Built {
        self.build(seed, n.wrapping_mul(u64::from(MAX_TURNS)).wrapping_add(u64::from(turn)), None).edited(|body| {
            let user = body.get("messages").and_then(Value::as_array).and_then(|m| m.last()).cloned().unwrap_or_default();
            history.push(user);
            body.insert("messages".into(), Value::Array(history.clone()));
        })
    }

    /// The body of request `n` of a loop seeded `seed`, with what it asked for; a traced
    /// request's sizes replace the drawn ones.
    pub fn build(&self, seed: u64, n: u64, traced: Option<Traced<'_>>) -> Built {
        match &self.plan {
            Some(plan) => plan.build_sized(seed, n, traced),
            None => Built { body: self.body.clone(), input_tokens: self.input_tokens, max_tokens: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(yaml: &str) -> PreparedRequest {
        let Checked(t) = crate::yaml::from_str::<Checked<RequestTemplate>>(yaml).unwrap_or_else(|e| panic!("{yaml}: {}", e.message));
        PreparedRequest::new(&t, "t".into(), "claude-sonnet-4-5", 1)
    }

    #[test]
    fn a_generated_body_holds_the_tokens_it_counts_and_differs_per_request() {
        let p = prepared("{stream: true, system: Be brief today., max_tokens: {distribution: uniform, min: 4, max: 12}, prompt_tokens: {distribution: normal, mean: 300, stddev: 50, min: 100, max: 500}}");
        let mut bodies = std::collections::BTreeSet::new();
        for n in 0..200 {
            let built = p.build(11, n, None);
            let body: Value = serde_json::from_slice(&built.body).expect("valid JSON");
            let map = body.as_object().expect("object");
            // What relaybench says it asked for is what the shared rule counts in the body.
            assert_eq!(built.input_tokens, crate::synth::request_tokens(map), "request {n}");
            assert!((100 + 3..=500 + 3).contains(&built.input_tokens));
            assert_eq!(body["max_tokens"].as_u64(), built.max_tokens);
            assert!((4..=12).contains(&built.max_tokens.expect("drawn")));
            assert_eq!(body["stream"], Value::Bool(true));
            assert_eq!(p.build(11, n, None), built, "the same seed and request give the same body");
            bodies.insert(built.body);
        }
        assert_eq!(bodies.len(), 200, "every request differs");
        assert_ne!(p.build(12, 0, None).body, p.build(11, 0, None).body, "another seed, other prompts");
    }

    #[test]
    fn a_unique_literal_prompt_differs_per_request_and_a_plain_one_does_not() {
        let unique = prepared("{max_tokens: 16, prompt: Say hello., unique: true}");
        let (a, b) = (unique.build(1, 0, None), unique.build(1, 1, None));
        assert_ne!(a.body, b.body);
        let body: Value = serde_json::from_slice(&a.body).expect("valid JSON");
        let text = body["messages"][0]["content"].as_str().expect("text");
        assert!(text.starts_with('r') && text.ends_with(" Say hello."), "{text}");
        assert_eq!((a.input_tokens, a.max_tokens), (3, None));
        let plain = prepared("{max_tokens: 16, prompt: Say hello.}");
        assert!(plain.plan.is_none());
        assert_eq!(plain.build(1, 0, None).body, plain.build(1, 1, None).body);
        assert_eq!(plain.build(1, 0, None).input_tokens, 2);
    }

    #[test]
    fn a_shared_prefix_is_the_same_for_reusing_requests_and_counted_with_the_body() {
        let p = prepared("{max_tokens: 8, system: Be brief., prompt: Hi there., shared_prefix: {tokens: 500, reuse: 0.5}}");
        let mut prefixes = std::collections::BTreeMap::new();
        for n in 0..100 {
            let built = p.build(3, n, None);
            let body: Value = serde_json::from_slice(&built.body).expect("valid JSON");
            assert_eq!(built.input_tokens, crate::synth::request_tokens(body.as_object().expect("object")));
            assert_eq!(built.input_tokens, 500 + 2 + 2);
            assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
            assert_eq!(body["system"][1]["text"], "Be brief.");
            *prefixes.entry(body["system"][0]["text"].as_str().expect("text").to_owned()).or_insert(0) += 1;
        }
        let shared = prefixes.values().copied().max().unwrap_or(0);
        assert!((30..=70).contains(&shared), "about half reuse one prefix: {shared}");
        assert_eq!(prefixes.len(), 100 - shared + 1, "every other request has its own");
    }

    #[test]
    fn template_mistakes_are_named() {
        let err = |yaml: &str| crate::yaml::from_str::<Checked<RequestTemplate>>(yaml).err().map(|e| e.message).unwrap_or_default();
        assert!(err("{max_tokens: 8, prompt: hi, prompt_tokens: 100}").contains("exactly one of"));
        assert!(err("{max_tokens: 8, messages: [], unique: true}").contains("`unique: true` takes a `prompt`"));
        assert!(err("{max_tokens: 8, prompt_tokens: 2000000}").contains("from 1 to 1000000"));
        assert!(err("{max_tokens: 8, prompt: hi, shared_prefix: {tokens: 10, reuse: 1.5}}").contains("reuse is a share"));
        assert!(err("{max_tokens: 8, prompt: hi, shared_prefix: {tokens: 0, reuse: 1}}").contains("shared_prefix.tokens must be"));
    }
}
