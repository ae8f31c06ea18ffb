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

/// The headers a LiteLLM proxy adds to every answer (its documentation's response
/// headers), with the upstream's rate-limit headers renamed under `llm_provider-`.
pub fn litellm_headers(rng: &mut Rng, headers: &mut Vec<(String, String)>) {
    for (name, value) in std::mem::take(headers) {
        if name.starts_with(crate::protocol::HEADER_RATELIMIT_PREFIX) {
            headers.push((format!("llm_provider-{name}"), value));
        } else {
            headers.push((name, value));
        }
    }
    headers.push(("x-litellm-call-id".to_owned(), base58(rng, 24)));
    headers.push(("x-litellm-version".to_owned(), "1.108.0".to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_parses_back_and_a_typo_names_them() {
        for c in MockChannel::ALL {
            assert_eq!(MockChannel::parse(c.id()), Ok(c));
        }
        assert!(MockChannel::parse("bedrok").unwrap_err().contains("bedrock, vertex"));
    }

    #[test]
    fn litellm_renames_the_upstream_limits() {
        let mut headers = vec![("anthropic-ratelimit-requests-limit".to_owned(), "50".to_owned()), ("request-id".to_owned(), "req_1".to_owned())];
        litellm_headers(&mut Rng::new(1), &mut headers);
        assert_eq!(headers[0].0, "llm_provider-anthropic-ratelimit-requests-limit");
        assert_eq!(headers[1].0, "request-id");
        assert!(headers.iter().any(|(n, _)| n == "x-litellm-call-id"));
    }
}
