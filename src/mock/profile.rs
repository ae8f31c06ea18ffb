//! Relay profiles: the mock as each provider document describes its relay, deviations
//! included, so those deviations can be seen as findings without a key or a network.
//! Each profile holds only what its document states (`shared/seeds/`).

use super::MockConfig;
use crate::conformance::Rule;

/// One relay as its document describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayProfile {
    /// Name used by `--profile` and `profile:`.
    pub id: &'static str,
    /// The provider document it comes from.
    pub source: &'static str,
    /// What it reproduces, in one line.
    pub summary: &'static str,
    /// The conformance rule its documented behaviour breaks, if any.
    pub quirk: Option<Rule>,
    /// Model ids it serves beyond the official ones.
    pub extra_models: &'static [&'static str],
    /// Body fields it accepts that the official API rejects.
    pub extra_fields: &'static [&'static str],
}

/// Every profile.
pub const PROFILES: [RelayProfile; 4] = [
    RelayProfile {
        id: "dimilinks",
        source: "000_b0c62fcc83ab92c7.txt",
        summary: "errors as {\"error\":{message,type,code}} (its OpenAPI ErrorResponse); `-thinking` model variants",
        quirk: Some(Rule::EnvelopeShape),
        extra_models: &["claude-opus-4-7-thinking", "claude-sonnet-4-6-thinking", "claude-haiku-4-5-20251001-thinking"],
        extra_fields: &[],
    },
    RelayProfile {
        id: "onedim",
        source: "001_458605c6893be71b.txt",
        summary: "no protocol deviation documented",
        quirk: None,
        extra_models: &[],
        extra_fields: &[],
    },
    RelayProfile {
        id: "relay-002",
        source: "002_7a8cafb29e7330b9.txt",
        summary: "the non-standard model id claude-haiku-3-5-20241022",
        quirk: None,
        extra_models: &["claude-haiku-3-5-20241022", "claude-opus-4-5-20251101", "claude-opus-4-20250514", "claude-sonnet-4-20250514"],
        extra_fields: &[],
    },
    RelayProfile {
        id: "mandao",
        source: "003_e7f90f24f5dddbe6.txt",
        summary: "accepts the non-standard `web_search_options` body field",
        quirk: None,
        extra_models: &[],
        extra_fields: &["web_search_options"],
    },
];

/// The profile named `id`.
pub fn parse(id: &str) -> Result<RelayProfile, String> {
    PROFILES.iter().copied().find(|p| p.id == id).ok_or_else(|| {
        let names: Vec<&str> = PROFILES.iter().map(|p| p.id).collect();
        format!("unknown relay profile {id:?}; profiles: {}", names.join(", "))
    })
}

impl RelayProfile {
    /// Applies the profile to a mock configuration.
    pub fn apply(&self, config: &mut MockConfig) {
        if self.quirk.is_some() {
            config.quirk = self.quirk;
        }
        config.models.extend(self.extra_models.iter().map(|m| (*m).to_owned()));
        config.extra_fields.extend(self.extra_fields.iter().map(|f| (*f).to_owned()));
    }
}
