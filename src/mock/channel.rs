//! The mock dressed as another channel behind a relay (PROTOCOL.md §9): Amazon Bedrock,
//! Google Vertex AI, a Claude subscription, a disguise that copies the API's forgeable
//! fingerprints only, or a relay that routes some answers to Bedrock. Each carries the
//! fingerprints captures of real relays show, so the channel verdict can be shown right
//! on every kind of answer, and the gateway headers of a LiteLLM proxy in front.

use super::reply::{base58, Block, Reply};
use crate::rng::Rng;

/// The channel the mock's answers look like they came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MockChannel {
    /// The API itself.
    #[default]
    Anthropic,
    /// Amazon Bedrock: `msg_bdrk_` ids, `tooluse_` tool ids, `x-amzn-requestid`, no
    /// `service_tier`, `inference_geo` or `cache_creation`.
    Bedrock,
    /// Google Vertex AI: `msg_vrtx_` ids, `claude#` signatures, no `service_tier`,
    /// `inference_geo` or `cache_creation`.
    Vertex,
    /// A Claude subscription: the API's answers with `anthropic-ratelimit-unified-*`.
    Subscription,
    /// The API's id shapes and `service_tier`, without `inference_geo`,
    /// `cache_creation` or rate-limit headers.
    Disguised,
    /// One answer in three through Bedrock, the rest as the API.
    Mixed,
}

impl MockChannel {
    /// Every channel, in the order the docs list them.
    pub const ALL: [MockChannel; 6] =
        [MockChannel::Anthropic, MockChannel::Bedrock, MockChannel::Vertex, MockChannel::Subscription, MockChannel::Disguised, MockChannel::Mixed];

    /// The name in scenarios and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            MockChannel::Anthropic => "anthropic",
            MockChannel::Bedrock => "bedrock",
            MockChannel::Vertex => "vertex",
            MockChannel::Subscription => "subscription",
            MockChannel::Disguised => "disguised",
            MockChannel::Mixed => "mixed",
        }
    }

    /// The channel named `id`.
    pub fn parse(id: &str) -> Result<MockChannel, String> {
        MockChannel::ALL.into_iter().find(|c| c.id() == id).ok_or_else(|| {
            let names: Vec<&str> = MockChannel::ALL.iter().map(|c| c.id()).collect();
            format!("unknown channel {id:?}; one of: {}", names.join(", "))
        })
    }
}

/// The `usage` fields the cloud platforms and disguises leave out.
const CLOUD_DROPS: &[&str] = &["service_tier", "inference_geo", "cache_creation"];
const DISGUISE_DROPS: &[&str] = &["inference_geo", "cache_creation"];

/// Dresses `reply` as `channel` would send it, and adds its headers to `headers`.
/// Returns whether rate-limit headers must be left out of the answer.
pub fn dress(channel: MockChannel, rng: &mut Rng, reply: &mut Reply, headers: &mut Vec<(String, String)>) -> bool {
    let channel = match channel {
        MockChannel::Mixed if rng.next_f64() < 1.0 / 3.0 => MockChannel::Bedrock,
        MockChannel::Mixed => MockChannel::Anthropic,
        other => other,
    };
    let rest = |id: &str| id.strip_prefix("msg_").unwrap_or(id).to_owned();
    match channel {
        MockChannel::Anthropic | MockChannel::Mixed => false,
        MockChannel::Bedrock => {
            reply.id = format!("msg_bdrk_{}", rest(&reply.id));
            reply.dropped_usage = CLOUD_DROPS;
            for block in &mut reply.blocks {
                if let Block::ToolUse { id, .. } = block {
                    *id = format!("tooluse_{}", id.strip_prefix("toolu_").unwrap_or(id));
                }
            }
            headers.push(("x-amzn-requestid".to_owned(), base58(rng, 32)));
            true
        }
        MockChannel::Vertex => {
            reply.id = format!("msg_vrtx_{}", rest(&reply.id));
            reply.dropped_usage = CLOUD_DROPS;
            for block in &mut reply.blocks {
                if let Block::Thinking { signature, .. } = block {
                    *signature = format!("claude#{signature}");
                }
            }
            true
        }
        MockChannel::Subscription => {
            headers.push(("anthropic-ratelimit-unified-5h-status".to_owned(), "allowed".to_owned()));
            headers.push(("anthropic-ratelimit-unified-5h-utilization".to_owned(), format!("{:.2}", rng.next_f64() * 0.5)));
            false
        }
        MockChannel::Disguised => {
            reply.dropped_usage = DISGUISE_DROPS;
            true
        }
    }
}

/// Relay software the mock can play in front of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockGateway {
    /// LiteLLM 1.108's proxy, as it was seen in front of the mock.
    LiteLlm,
}

impl MockGateway {
    /// Every gateway.
    pub const ALL: [MockGateway; 1] = [MockGateway::LiteLlm];

    /// The name in scenarios and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            MockGateway::LiteLlm => "litellm",
        }
    }

    /// The gateway named `id`.
    pub fn parse(id: &str) -> Result<MockGateway, String> {
        MockGateway::ALL.into_iter().find(|g| g.id() == id).ok_or_else(|| format!("unknown gateway {id:?}; one of: litellm"))
    }
}

/// What LiteLLM does to an answer's headers: its own `x-litellm-*`; the upstream's
/// rate-limit headers renamed under `llm_provider-` on streams and dropped, with the
/// upstream's `request-id`, on whole answers.
pub fn gateway_headers(rng: &mut Rng, headers: &mut Vec<(String, String)>, stream: bool) {
    for (name, value) in std::mem::take(headers) {
        let limit = name.starts_with(crate::protocol::HEADER_RATELIMIT_PREFIX);
        match (limit, stream) {
            (true, true) => headers.push((format!("llm_provider-{name}"), value)),
            (true, false) => {}
            (false, _) => headers.push((name, value)),
        }
    }
    headers.push(("x-litellm-call-id".to_owned(), base58(rng, 24)));
    headers.push(("x-litellm-version".to_owned(), "1.108.0".to_owned()));
}

/// What LiteLLM does to an error body: the upstream's `request_id` dropped and its
/// message wrapped in the gateway's own words.
pub fn gateway_error(body: &mut serde_json::Value) {
    if let Some(map) = body.as_object_mut() {
        map.remove("request_id");
    }
    if let Some(message) = body.pointer_mut("/error/message") {
        let upstream = message.as_str().unwrap_or_default();
        *message = serde_json::Value::String(format!("litellm.APIError: AnthropicException - {upstream}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_parses_back_and_a_typo_names_them() {
        for c in MockChannel::ALL {
            assert_eq!(MockChannel::parse(c.id()), Ok(c));
        }
        assert!(MockChannel::parse("bedrok").is_err_and(|e| e.contains("bedrock, vertex")));
    }

    #[test]
    fn litellm_renames_the_upstream_limits_on_streams_and_drops_them_otherwise() {
        let upstream = vec![("anthropic-ratelimit-requests-limit".to_owned(), "50".to_owned()), ("retry-after".to_owned(), "1".to_owned())];
        let mut streamed = upstream.clone();
        gateway_headers(&mut Rng::new(1), &mut streamed, true);
        assert_eq!(streamed[0].0, "llm_provider-anthropic-ratelimit-requests-limit");
        assert_eq!(streamed[1].0, "retry-after");
        assert!(streamed.iter().any(|(n, _)| n == "x-litellm-call-id"));
        let mut whole = upstream;
        gateway_headers(&mut Rng::new(1), &mut whole, false);
        assert!(!whole.iter().any(|(n, _)| n.contains("ratelimit")), "{whole:?}");
        let mut error = crate::protocol::error_body("authentication_error", "invalid x-api-key", "req_1");
        gateway_error(&mut error);
        assert_eq!(error.get("request_id"), None);
        assert_eq!(error["error"]["message"], "litellm.APIError: AnthropicException - invalid x-api-key");
    }
}
