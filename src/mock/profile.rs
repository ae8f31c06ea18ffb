//! The mock as a catalog provider: its models, its documented deviations (error envelope,
//! extra fields, optional `anthropic-version`, base64-only images) and a latency of its
//! own, so the differences its document implies show in a comparison on loopback.

use super::latency::LatencyModel;
use super::MockConfig;
use crate::provider::Provider;

/// The catalog entry named `id`, for `--profile` and `profile:`.
pub fn parse(id: &str) -> Result<&'static Provider, String> {
    crate::provider::find(id)
}

/// Makes `config` answer as `provider` documents it. The latency is the entry's
/// stand-in figure; a scenario may override it.
pub fn apply(provider: &Provider, config: &mut MockConfig) {
    if provider.quirk.is_some() {
        config.quirk = provider.quirk;
    }
    for model in provider.models {
        if !config.models.iter().any(|m| m == model) {
            config.models.push((*model).to_owned());
        }
    }
    config.extra_fields.extend(provider.extra_fields.iter().map(|f| (*f).to_owned()));
    config.version_required = provider.version_required;
    config.url_images = provider.url_images;
}

/// The entry's stand-in latency, jitter kept from `base`.
pub fn latency(provider: &Provider, base: LatencyModel) -> LatencyModel {
    LatencyModel {
        ttft: std::time::Duration::from_millis(provider.mock_latency.ttft_ms),
        tokens_per_s: provider.mock_latency.tokens_per_s,
        jitter: base.jitter,
        prefill_per_token: base.prefill_per_token,
    }
}
