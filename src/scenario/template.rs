//! Request templates: one kind of request in the mix, and the body it sends.

use std::fmt;
use std::num::NonZeroU32;

use bytes::Bytes;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::visit::{Checked, Validate};

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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// `max_tokens`.
    pub max_tokens: u64,
    /// Shorthand for one user message.
    #[serde(default)]
    pub prompt: Option<String>,
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

fn default_weight() -> NonZeroU32 {
    NonZeroU32::MIN
}

impl Validate for RequestTemplate {
    fn validate(&self) -> Result<(), String> {
        if self.prompt.is_some() == self.messages.is_some() {
            return Err("a request template needs exactly one of `prompt` or `messages`".into());
        }
        Ok(())
    }
}

impl RequestTemplate {
    /// The request body this template sends, for the scenario's default `model`.
    pub fn body(&self, default_model: &str) -> Value {
        let mut body = Map::new();
        let model = self.model.as_deref().unwrap_or(default_model);
        body.insert("model".into(), model.into());
        body.insert("max_tokens".into(), self.max_tokens.into());
        let messages = match (&self.messages, &self.prompt) {
            (Some(m), _) => m.clone(),
            (None, Some(p)) => serde_json::json!([{"role": "user", "content": p}]),
            (None, None) => Value::Array(Vec::new()),
        };
        body.insert("messages".into(), messages);
        let optional = [
            ("system", self.system.clone()),
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

/// A prepared template: its name, weight and serialized body.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// Report name.
    pub name: String,
    /// Relative share.
    pub weight: NonZeroU32,
    /// Whether it streams.
    pub stream: bool,
    /// Body bytes, built once.
    pub body: Bytes,
    /// What the body asks for, for the request-aware checks (tool schemas compiled once).
    pub facts: std::sync::Arc<crate::conformance::request::RequestFacts>,
}
