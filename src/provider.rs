//! The built-in provider catalog: every relay of the provider documents
//! (`shared/seeds/`, indexed in their README) and the official API as the reference.
//!
//! Each entry holds what its document states and nothing more, so a finding against a
//! relay can be traced to a line of its document. A scenario names an entry by id and may
//! override any field; the mock impersonates an entry (`mock::profile`) so comparisons
//! run on loopback with no key.

use std::fmt::Write;

use crate::conformance::Rule;
use crate::protocol::{AuthStyle, ANTHROPIC_VERSION};

/// The shape of the error bodies a provider documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorEnvelope {
    /// `{"type":"error","error":{"type","message"}}`, the API's.
    Anthropic,
    /// `{"error":{"message","type","code"}}`, the OpenAI-style shape some relays use.
    ErrorOnly,
}

impl ErrorEnvelope {
    /// The shape as JSON, for listings.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorEnvelope::Anthropic => r#"{"type":"error","error":{"type","message"}}"#,
            ErrorEnvelope::ErrorOnly => r#"{"error":{"message","type","code"}}"#,
        }
    }
}

/// Prices per million tokens, for the cost of a run, in one currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// Per million input tokens.
    pub input_per_mtok: f64,
    /// Per million output tokens (thinking tokens are output).
    pub output_per_mtok: f64,
    /// Per million input tokens written to the prompt cache for five minutes.
    pub cache_write_5m_per_mtok: f64,
    /// Per million input tokens written to the prompt cache for an hour.
    pub cache_write_1h_per_mtok: f64,
    /// Per million input tokens read from the prompt cache.
    pub cache_read_per_mtok: f64,
    /// ISO 4217 code of the currency, such as `USD` or `CNY`.
    pub currency: Currency,
}

/// An ISO 4217 currency code: three capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// US dollars, the list prices' currency.
    pub const USD: Currency = Currency(*b"USD");

    /// The currency with code `code`.
    pub fn parse(code: &str) -> Result<Currency, String> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Currency([*a, *b, *c])),
            _ => Err(format!("{code:?} is not a currency code (three capital letters, such as USD or CNY)")),
        }
    }

    /// The code.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

/// The cache's prices as multiples of the input price (PROTOCOL.md §10): writes for five
/// minutes 1.25x, for an hour 2x, reads 0.1x.
pub const CACHE_WRITE_5M: f64 = 1.25;
/// See [`CACHE_WRITE_5M`].
pub const CACHE_WRITE_1H: f64 = 2.0;
/// See [`CACHE_WRITE_5M`].
pub const CACHE_READ: f64 = 0.1;

impl Prices {
    /// Prices of `input` and `output` per million tokens in `currency`, the cache's at
    /// the API's multiples of the input price.
    pub fn new(input: f64, output: f64, currency: Currency) -> Prices {
        Prices {
            input_per_mtok: input,
            output_per_mtok: output,
            cache_write_5m_per_mtok: input * CACHE_WRITE_5M,
            cache_write_1h_per_mtok: input * CACHE_WRITE_1H,
            cache_read_per_mtok: input * CACHE_READ,
            currency,
        }
    }

    /// Every price times `factor` (a relay's ratio to a price list).
    pub fn scaled(self, factor: f64) -> Prices {
        Prices {
            input_per_mtok: self.input_per_mtok * factor,
            output_per_mtok: self.output_per_mtok * factor,
            cache_write_5m_per_mtok: self.cache_write_5m_per_mtok * factor,
            cache_write_1h_per_mtok: self.cache_write_1h_per_mtok * factor,
            cache_read_per_mtok: self.cache_read_per_mtok * factor,
            currency: self.currency,
        }
    }

    /// What `tokens` cost.
    pub fn cost(&self, tokens: &TokenUse) -> f64 {
        let five_minutes = tokens.cache_write.saturating_sub(tokens.cache_write_1h);
        (tokens.input as f64 * self.input_per_mtok
            + tokens.output as f64 * self.output_per_mtok
            + five_minutes as f64 * self.cache_write_5m_per_mtok
            + tokens.cache_write_1h as f64 * self.cache_write_1h_per_mtok
            + tokens.cache_read as f64 * self.cache_read_per_mtok)
            / 1e6
    }
}

/// Tokens as a bill counts them; reports carry it as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct TokenUse {
    /// `usage.input_tokens`: input neither read from nor written to the cache.
    pub input: u64,
    /// `usage.output_tokens`.
    pub output: u64,
    /// `usage.cache_creation_input_tokens`: input written to the cache.
    pub cache_write: u64,
    /// Of those, written for an hour.
    pub cache_write_1h: u64,
    /// `usage.cache_read_input_tokens`.
    pub cache_read: u64,
}

impl TokenUse {
    /// Adds `other`.
    pub fn add(&mut self, other: &TokenUse) {
        self.input += other.input;
        self.output += other.output;
        self.cache_write += other.cache_write;
        self.cache_write_1h += other.cache_write_1h;
        self.cache_read += other.cache_read;
    }
}

/// When [`LIST_PRICES`] were read, and from where.
pub const LIST_PRICES_READ: &str = "the official list prices read 2026-12 (PROTOCOL.md §10)";

/// The official list prices, US dollars per million input and output tokens, by model id
/// prefix (PROTOCOL.md §10). A model not listed has no list price: none is guessed.
pub const LIST_PRICES: [(&str, f64, f64); 8] = [
    ("claude-opus-4-8", 5.0, 25.0),
    ("claude-opus-4-7", 5.0, 25.0),
    ("claude-opus-4-6", 5.0, 25.0),
    ("claude-opus-4-5", 5.0, 25.0),
    ("claude-opus-4-1", 15.0, 75.0),
    ("claude-opus-4", 15.0, 75.0),
    ("claude-sonnet-4", 3.0, 15.0),
    ("claude-haiku-4-5", 1.0, 5.0),
];

/// The official list price of `model`, when it has one; the longest matching prefix wins.
pub fn list_prices(model: &str) -> Option<Prices> {
    LIST_PRICES
        .iter()
        .filter(|(prefix, _, _)| model == *prefix || model.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('-')))
        .max_by_key(|(prefix, _, _)| prefix.len())
        .map(|(_, input, output)| Prices::new(*input, *output, Currency::USD))
}

/// The mock's stand-in latency for an impersonated provider. Illustrative figures that
/// make the providers differ in a comparison on loopback; not measurements of anyone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MockLatency {
    /// Delay to the first token, ms.
    pub ttft_ms: u64,
    /// Tokens per second after it.
    pub tokens_per_s: f64,
}

/// One provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Provider {
    /// Id a scenario and the command line use.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// The provider document it comes from (a file of `shared/seeds/`), or the reference.
    pub source: &'static str,
    /// Base URL (`/v1/messages` is appended); None when the document names no host and
    /// the user supplies it.
    pub base_url: Option<&'static str>,
    /// The auth header its document shows.
    pub auth: AuthStyle,
    /// `anthropic-version` sent to it; its examples send the API's.
    pub anthropic_version: Option<&'static str>,
    /// Whether the provider requires `anthropic-version` (the API does; two documents
    /// say it is optional).
    pub version_required: bool,
    /// Environment variable holding its key.
    pub key_env: &'static str,
    /// Model ids its document lists, non-standard ones as documented.
    pub models: &'static [&'static str],
    /// Request body fields it documents beyond the official ones.
    pub extra_fields: &'static [&'static str],
    /// Whether it takes images by URL as well as base64.
    pub url_images: bool,
    /// Its documented error envelope.
    pub error_envelope: ErrorEnvelope,
    /// Prices, where documented (none of the documents gives any).
    pub prices: Option<Prices>,
    /// The conformance rule its documented behaviour breaks, reproduced by the mock.
    pub quirk: Option<Rule>,
    /// The mock's stand-in latency when impersonating it.
    pub mock_latency: MockLatency,
    /// What its document says that a user comparing providers should know.
    pub notes: &'static [&'static str],
}

/// The official API's current model ids, the reference every relay is checked against.
pub const OFFICIAL_MODELS: [&str; 8] = [
    "claude-opus-4-7",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5",
    "claude-haiku-4-5-20251001",
    "claude-opus-4-1-20250805",
];

/// The id of the reference entry.
pub const REFERENCE: &str = "anthropic";

/// OneDim at the host of its curl examples; the host of its SDK examples shares
/// everything else.
const ONEDIM: Provider = Provider {
    id: "onedim",
    name: "OneDim",
    source: "001_458605c6893be71b.txt",
    base_url: Some("https://api.onedim.ai"),
    auth: AuthStyle::Bearer,
    anthropic_version: Some(ANTHROPIC_VERSION),
    version_required: true,
    key_env: "ONEDIM_API_KEY",
    models: &["claude-opus-4-7"],
    extra_fields: &[],
    url_images: true,
    error_envelope: ErrorEnvelope::Anthropic,
    prices: None,
    quirk: None,
    mock_latency: MockLatency { ttft_ms: 120, tokens_per_s: 210.0 },
    notes: &[
        "curl examples use https://api.onedim.ai, SDK examples https://ezmodel.cloud: both are in the catalog",
        "usage documents cache_creation_input_tokens and cache_read_input_tokens",
        "images by URL or base64",
    ],
};

/// Every provider, the reference first.
pub const CATALOG: [Provider; 6] = [
    Provider {
        id: REFERENCE,
        name: "Anthropic (official API)",
        source: "reference (PROTOCOL.md)",
        base_url: Some("https://api.anthropic.com"),
        auth: AuthStyle::XApiKey,
        anthropic_version: Some(ANTHROPIC_VERSION),
        version_required: true,
        key_env: "ANTHROPIC_API_KEY",
        models: &OFFICIAL_MODELS,
        extra_fields: &[],
        url_images: true,
        error_envelope: ErrorEnvelope::Anthropic,
        prices: None,
        quirk: None,
        mock_latency: MockLatency { ttft_ms: 80, tokens_per_s: 260.0 },
        notes: &["the reference every relay claims to match"],
    },
    Provider {
        id: "dimilinks",
        name: "DimiLinks",
        source: "000_b0c62fcc83ab92c7.txt",
        base_url: Some("https://api-direct.dimilinks.com"),
        auth: AuthStyle::Bearer,
        anthropic_version: Some(ANTHROPIC_VERSION),
        version_required: false,
        key_env: "DIMILINKS_API_KEY",
        models: &[
            "claude-opus-4-7",
            "claude-sonnet-4-6",
            "claude-haiku-4-5-20251001",
            "claude-opus-4-7-thinking",
            "claude-sonnet-4-6-thinking",
            "claude-haiku-4-5-20251001-thinking",
        ],
        extra_fields: &[],
        url_images: true,
        error_envelope: ErrorEnvelope::ErrorOnly,
        prices: None,
        quirk: Some(Rule::EnvelopeShape),
        mock_latency: MockLatency { ttft_ms: 140, tokens_per_s: 180.0 },
        notes: &[
            "Anthropic-native host api-direct.dimilinks.com; the OpenAI-compatible API is dimilinks.com/v1",
            "anthropic-version is recommended but optional (served with the server's default)",
            "its OpenAPI ErrorResponse is {\"error\":{message,type,code}}, without \"type\":\"error\"",
            "`-thinking` model variants; its thinking example asks budget_tokens 8192 with max_tokens 4096",
        ],
    },
    ONEDIM,
    Provider {
        id: "onedim-ezmodel",
        name: "OneDim (ezmodel.cloud host)",
        base_url: Some("https://ezmodel.cloud"),
        mock_latency: MockLatency { ttft_ms: 170, tokens_per_s: 210.0 },
        ..ONEDIM
    },
    Provider {
        id: "relay-002",
        name: "unnamed relay of document 002",
        source: "002_7a8cafb29e7330b9.txt",
        base_url: None,
        auth: AuthStyle::Bearer,
        anthropic_version: Some(ANTHROPIC_VERSION),
        version_required: true,
        key_env: "RELAY_002_API_KEY",
        models: &[
            "claude-haiku-4-5-20251001",
            "claude-haiku-3-5-20241022",
            "claude-opus-4-6",
            "claude-opus-4-5-20251101",
            "claude-opus-4-1-20250805",
            "claude-opus-4-20250514",
            "claude-sonnet-4-6",
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-4-20250514",
        ],
        extra_fields: &[],
        url_images: true,
        error_envelope: ErrorEnvelope::Anthropic,
        prices: None,
        quirk: None,
        mock_latency: MockLatency { ttft_ms: 210, tokens_per_s: 150.0 },
        notes: &[
            "the document shows only the path /v1/messages: give base_url",
            "an `Authorization` header (the scheme is not shown; Bearer assumed, override with auth:)",
            "lists the non-standard model id claude-haiku-3-5-20241022",
            "documents newer body fields: cache_control, container, inference_geo, output_config, service_tier, thinking.display",
        ],
    },
    Provider {
        id: "mandao",
        name: "Mandao",
        source: "003_e7f90f24f5dddbe6.txt",
        base_url: Some("https://ai-api.mandao.com"),
        auth: AuthStyle::XApiKey,
        anthropic_version: Some(ANTHROPIC_VERSION),
        version_required: false,
        key_env: "MANDAO_API_KEY",
        models: &["claude-sonnet-4-5", "claude-opus-4-7", "claude-opus-4-6"],
        extra_fields: &["web_search_options"],
        url_images: false,
        error_envelope: ErrorEnvelope::Anthropic,
        prices: None,
        quirk: None,
        mock_latency: MockLatency { ttft_ms: 110, tokens_per_s: 230.0 },
        notes: &[
            "x-api-key (converted to Bearer) or Authorization: Bearer",
            "anthropic-version optional; anthropic-beta accepted",
            "accepts the non-standard web_search_options body field",
            "images base64 only",
        ],
    },
];

/// The entry named `id`.
pub fn find(id: &str) -> Result<&'static Provider, String> {
    CATALOG.iter().find(|p| p.id == id).ok_or_else(|| {
        let ids: Vec<&str> = CATALOG.iter().map(|p| p.id).collect();
        format!("unknown provider {id:?}; the catalog has: {}", ids.join(", "))
    })
}

fn auth_name(auth: AuthStyle) -> &'static str {
    match auth {
        AuthStyle::XApiKey => "x-api-key",
        AuthStyle::Bearer => "Authorization: Bearer",
    }
}

/// `relaybench providers`: one line per entry.
pub fn list() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<16} {:<34} {:<22} {:<18} base URL", "id", "name", "auth", "key variable");
    for p in &CATALOG {
        let _ = writeln!(
            out,
            "{:<16} {:<34} {:<22} {:<18} {}",
            p.id,
            p.name,
            auth_name(p.auth),
            p.key_env,
            p.base_url.unwrap_or("(give base_url)")
        );
    }
    out
}

/// `relaybench providers show ID`: every field of one entry.
pub fn show(p: &Provider) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} ({})", p.name, p.id);
    let _ = writeln!(out, "source:            {}", p.source);
    let _ = writeln!(out, "base URL:          {}", p.base_url.unwrap_or("none documented; give base_url in the scenario"));
    let _ = writeln!(out, "auth:              {}", auth_name(p.auth));
    let _ = writeln!(
        out,
        "anthropic-version: {} ({})",
        p.anthropic_version.unwrap_or("not sent"),
        if p.version_required { "required" } else { "optional" }
    );
    let _ = writeln!(out, "key variable:      {}", p.key_env);
    let _ = writeln!(out, "models:            {}", p.models.join(", "));
    let extra = if p.extra_fields.is_empty() { "none".to_owned() } else { p.extra_fields.join(", ") };
    let _ = writeln!(out, "extra body fields: {extra}");
    let _ = writeln!(out, "images:            {}", if p.url_images { "base64 and URL" } else { "base64 only" });
    let _ = writeln!(out, "error envelope:    {}", p.error_envelope.describe());
    let prices = p.prices.map_or("none documented (give prices: in the scenario)".to_owned(), |x| {
        format!("{} {}/M input, {}/M output", x.currency.code(), x.input_per_mtok, x.output_per_mtok)
    });
    let _ = writeln!(out, "prices:            {prices}");
    let _ = writeln!(
        out,
        "mock stand-in:     ttft {} ms, {} tokens/s{}",
        p.mock_latency.ttft_ms,
        p.mock_latency.tokens_per_s,
        p.quirk.map(|q| format!(", breaks {}", q.id())).unwrap_or_default()
    );
    for note in p.notes {
        let _ = writeln!(out, "note:              {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_found() {
        for (i, p) in CATALOG.iter().enumerate() {
            assert!(CATALOG[..i].iter().all(|q| q.id != p.id), "{} twice", p.id);
            assert_eq!(find(p.id).map(|f| f.id), Ok(p.id));
        }
        assert!(find("dimilink").expect_err("unknown").contains("dimilinks, onedim"));
    }

    #[test]
    fn the_error_only_envelope_is_the_one_its_quirk_breaks() {
        for p in &CATALOG {
            assert_eq!(p.error_envelope == ErrorEnvelope::ErrorOnly, p.quirk == Some(Rule::EnvelopeShape), "{}", p.id);
        }
    }
}
