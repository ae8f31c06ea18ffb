//! Where requests go: the embedded mock (plain, or impersonating a catalog provider), a
//! catalog provider by id with any field overridden, or any endpoint spelled out.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::duration::HumanDuration;
use super::visit::{parse_str, report_name, string_where, Validate, ValidatedVisitor};
use crate::client::{ApiKey, Client, Target, Timeouts};
use crate::protocol::{AuthStyle, ANTHROPIC_VERSION};
use super::net_spec::{NetSpec, ProxySpec, TlsSpec};
use super::prices_spec::PriceSpec;
use crate::client::host::host_of;
use crate::client::proxy::ProxyChoice;
use crate::mock::channel::{MockChannel, MockGateway};
use crate::provider::Provider;

/// One target of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    /// Name in reports: `name:`, else the provider id, else `mock` or `http`.
    pub name: String,
    /// The catalog entry it was built from, if any.
    pub provider: Option<&'static Provider>,
    /// Model sent to this target when a template names none (ids differ between relays).
    pub model: Option<String>,
    /// Prices for the cost of the run (overrides the catalog's).
    pub prices: Option<PriceSpec>,
    /// The target whose token counts the others are held against (`reference: true`;
    /// by default the catalog's official API).
    pub reference: bool,
    /// Mock or endpoint.
    pub kind: TargetKind,
}

/// The embedded mock or a real endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetKind {
    /// Start the embedded mock on an ephemeral loopback port.
    Mock(MockSpec),
    /// An HTTP endpoint speaking the Messages API.
    Http(HttpTarget),
}

impl TargetSpec {
    /// The default mock, as `target: mock` gives.
    pub fn mock() -> TargetSpec {
        TargetSpec { name: "mock".into(), provider: None, model: None, prices: None, reference: false, kind: TargetKind::Mock(MockSpec::default()) }
    }
}

/// Knobs of the embedded mock, when a scenario targets it.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MockSpec {
    /// Delay to the first token (default 120 ms, or the impersonated provider's).
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub ttft: Option<HumanDuration>,
    /// Tokens per second after the first (default 200, or the impersonated provider's).
    #[serde(default)]
    #[schemars(range(min = 0.01, max = 1_000_000))]
    pub tokens_per_s: Option<f64>,
    /// Delays are stretched by a random factor in `[1, 1 + jitter]`.
    #[serde(default = "default_mock_jitter")]
    #[schemars(range(min = 0, max = 10))]
    pub jitter: f64,
    /// Added to the delay to the first token for each input token (each word of the
    /// prompt, see [`crate::synth`]), at most 10ms: longer prompts wait longer.
    #[serde(default, deserialize_with = "prefill")]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub prefill_per_token: Option<HumanDuration>,
    /// Natural answer length range `[min, max]` in tokens, before `max_tokens` applies.
    #[serde(default = "default_mock_length")]
    #[schemars(inner(range(max = 128_000)))]
    pub output_tokens: [u32; 2],
    /// Talk HTTP/2 to the mock instead of HTTP/1.1 (h2c, or by ALPN with `tls`).
    #[serde(default)]
    pub http2: bool,
    /// Serve https, with a CA and a certificate for localhost made at start (the CA is
    /// written to the temporary folder as `mock-ca.pem` and trusted by this target).
    #[serde(default)]
    pub tls: bool,
    /// Break this conformance rule on purpose (an error rule id).
    #[serde(default, deserialize_with = "quirk_name")]
    #[schemars(with = "Option<super::schema_values::Quirk>")]
    pub quirk: Option<crate::conformance::Rule>,
    /// At most this many responses in progress; the rest queue.
    #[serde(default)]
    #[schemars(range(max = 100_000))]
    pub capacity: Option<NonZeroU32>,
    /// A fixed pause in service: `{after: 2s, for: 500ms}`.
    #[serde(default)]
    pub stall: Option<StallSpec>,
    /// Rate limits per minute, metered as the API meters them, with its headers and
    /// honest 429s: `{requests_per_minute, input_tokens_per_minute,
    /// output_tokens_per_minute}`, any of them. Without it the headers still come, with
    /// limits of 100 million a minute, as the API sends them on every answer.
    #[serde(default)]
    pub rate_limit: Option<RateLimitSpec>,
    /// Answer a share of requests 529 `overloaded_error` with `retry-after-ms` and
    /// `x-should-retry: true`: `{share: 0.2, retry_after: 50ms}`.
    #[serde(default)]
    pub overload: Option<OverloadSpec>,
    /// Impersonate this catalog provider (`relaybench providers` lists them).
    #[serde(default, deserialize_with = "provider_id")]
    #[schemars(with = "Option<super::schema_values::ProviderId>")]
    pub profile: Option<&'static Provider>,
    /// Dress the answers as another channel sends them (PROTOCOL.md §9): `bedrock`,
    /// `vertex`, `subscription`, `disguised`, or `mixed` (one in three through Bedrock).
    #[serde(default, deserialize_with = "channel_name")]
    #[schemars(with = "Option<super::schema_values::MockChannel>")]
    pub channel: Option<MockChannel>,
    /// Play relay software in front of the mock (`litellm`): its headers, its renamed
    /// rate-limit headers, its error bodies, and the head held back to the first token.
    #[serde(default, deserialize_with = "gateway_name")]
    #[schemars(with = "Option<super::schema_values::MockGateway>")]
    pub gateway: Option<MockGateway>,
}

impl MockSpec {
    /// Every number within a range the mock can serve without overflowing its clocks.
    fn check(&self) -> Result<(), String> {
        if self.tokens_per_s.is_some_and(|t| !(0.01..=1e6).contains(&t)) {
            return Err("mock.tokens_per_s must be from 0.01 to 1000000".into());
        }
        if !(0.0..=10.0).contains(&self.jitter) {
            return Err("mock.jitter must be from 0 to 10".into());
        }
        let [short, long] = self.output_tokens;
        if short > long || long > 128_000 {
            return Err("mock.output_tokens is [min, max] with min <= max <= 128000".into());
        }
        if self.capacity.is_some_and(|c| c.get() > 100_000) {
            return Err("mock.capacity must be at most 100000".into());
        }
        if let Some(o) = self.overload {
            if !(0.0..=1.0).contains(&o.share) || o.retry_after.0 > Duration::from_secs(60) {
                return Err("mock.overload.share is from 0 to 1, and retry_after at most 60s".into());
            }
        }
        if let Some(r) = self.rate_limit {
            let limits = [r.requests_per_minute, r.input_tokens_per_minute, r.output_tokens_per_minute];
            if limits.iter().all(Option::is_none) {
                return Err("mock.rate_limit needs requests_per_minute, input_tokens_per_minute or output_tokens_per_minute".into());
            }
            if limits.iter().flatten().any(|l| !(1..=MOST_PER_MINUTE).contains(l)) {
                return Err(format!("mock.rate_limit values must be from 1 to {MOST_PER_MINUTE} a minute"));
            }
        }
        Ok(())
    }
}

/// Rate limits of the mock, per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// Requests per minute.
    #[serde(default)]
    #[schemars(range(min = 1, max = MOST_PER_MINUTE))]
    pub requests_per_minute: Option<u64>,
    /// Input tokens per minute.
    #[serde(default)]
    #[schemars(range(min = 1, max = MOST_PER_MINUTE))]
    pub input_tokens_per_minute: Option<u64>,
    /// Output tokens per minute.
    #[serde(default)]
    #[schemars(range(min = 1, max = MOST_PER_MINUTE))]
    pub output_tokens_per_minute: Option<u64>,
}

/// A share of requests the mock answers as overloaded.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverloadSpec {
    /// The share of requests, from 0 to 1, drawn per request from the seed.
    #[schemars(range(min = 0, max = 1))]
    pub share: f64,
    /// The wait each answer asks for (at most 60s).
    #[schemars(with = "super::schema_values::Duration")]
    pub retry_after: HumanDuration,
}

/// The largest rate limit the mock meters, per minute: far past any real tier.
const MOST_PER_MINUTE: u64 = 1_000_000_000;

/// Default delay to the first token of the plain mock.
pub const MOCK_TTFT: Duration = Duration::from_millis(120);
/// Default tokens per second of the plain mock.
pub const MOCK_TOKENS_PER_S: f64 = 200.0;

/// A per-token prefill cost: 10ms a token would already make a 32k prompt wait five
/// minutes, so more is a mistake.
fn prefill<'de, D: Deserializer<'de>>(d: D) -> Result<Option<HumanDuration>, D::Error> {
    let p = HumanDuration::deserialize(d)?;
    if p.0 > Duration::from_millis(10) {
        return Err(serde::de::Error::custom("prefill_per_token must be at most 10ms"));
    }
    Ok(Some(p))
}

/// A catalog id, checked inside the visitor so a wrong one points at itself.
fn provider_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'static Provider>, D::Error> {
    parse_str(d, "a provider id such as dimilinks", crate::provider::find).map(Some)
}

/// A pause in the mock's service.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StallSpec {
    /// When it begins, from the mock's start.
    #[schemars(with = "super::schema_values::Duration")]
    pub after: HumanDuration,
    /// How long it lasts.
    #[serde(rename = "for")]
    #[schemars(with = "super::schema_values::Duration")]
    pub length: HumanDuration,
}

/// A channel name, checked inside the visitor so a wrong one points at itself.
fn channel_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MockChannel>, D::Error> {
    parse_str(d, "a channel such as bedrock", MockChannel::parse).map(Some)
}

/// A gateway name, checked inside the visitor so a wrong one points at itself.
fn gateway_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MockGateway>, D::Error> {
    parse_str(d, "a gateway such as litellm", MockGateway::parse).map(Some)
}

/// A quirk name, checked inside the visitor so a wrong name points at itself.
fn quirk_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<crate::conformance::Rule>, D::Error> {
    parse_str(d, "an error rule id such as stream.stop-reason-null", crate::mock::quirk::parse).map(Some)
}

impl Default for MockSpec {
    fn default() -> Self {
        MockSpec {
            ttft: None,
            tokens_per_s: None,
            jitter: default_mock_jitter(),
            prefill_per_token: None,
            output_tokens: default_mock_length(),
            http2: false,
            tls: false,
            quirk: None,
            capacity: None,
            stall: None,
            rate_limit: None,
            overload: None,
            profile: None,
            channel: None,
            gateway: None,
        }
    }
}

fn default_mock_jitter() -> f64 {
    0.25
}
fn default_mock_length() -> [u32; 2] {
    [32, 192]
}

/// A real endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpTarget {
    /// Base URL; `/v1/messages` is appended.
    pub base_url: String,
    /// `x-api-key` or `bearer`.
    pub auth: AuthStyle,
    /// Name of the environment variable holding the key (never the key itself).
    pub api_key_env: String,
    /// `anthropic-version` to send; `null` in YAML sends none.
    pub anthropic_version: Option<String>,
    /// Extra headers on every request.
    pub headers: BTreeMap<String, String>,
    /// How connections are made: TLS, HTTP version, address, proxy.
    pub net: NetSpec,
}

/// Auth styles as written in YAML.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
enum AuthSpec {
    #[serde(rename = "x-api-key")]
    XApiKey,
    #[serde(rename = "bearer")]
    Bearer,
}

impl From<AuthSpec> for AuthStyle {
    fn from(a: AuthSpec) -> AuthStyle {
        match a {
            AuthSpec::XApiKey => AuthStyle::XApiKey,
            AuthSpec::Bearer => AuthStyle::Bearer,
        }
    }
}

/// A target as a map: the embedded mock, a catalog provider with any field overridden,
/// or any endpoint spelled out. Which combination is valid is checked after.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TargetMap")]
struct TargetFields {
    /// Name in reports; defaults to the provider id, else `mock` or `http`.
    #[serde(default, deserialize_with = "report_name_opt")]
    #[schemars(with = "Option<super::schema_values::ReportName>")]
    name: Option<String>,
    /// A catalog provider: its URL, auth, key variable and prices, any of them overridden
    /// here; with `mock:`, the mock impersonates it.
    #[serde(default, deserialize_with = "provider_id")]
    #[schemars(with = "Option<super::schema_values::ProviderId>")]
    provider: Option<&'static Provider>,
    /// The embedded mock on an ephemeral loopback port (`mock:` alone: its defaults).
    #[serde(default, deserialize_with = "mock_or_default")]
    mock: Option<MockSpec>,
    /// Base URL; `/v1/messages` is appended.
    #[serde(default)]
    base_url: Option<String>,
    /// How the key is sent: `x-api-key` or `bearer` (`Authorization: Bearer`).
    #[serde(default)]
    auth: Option<AuthSpec>,
    /// The NAME of the environment variable holding the key (required with `base_url`
    /// unless `provider` gives one).
    #[serde(default, deserialize_with = "env_var_name")]
    #[schemars(with = "Option<super::schema_values::EnvVarName>")]
    api_key_env: Option<String>,
    /// `anthropic-version` to send. Absent: the provider's (or the API's); `null`: none sent.
    #[serde(default, deserialize_with = "present")]
    anthropic_version: Option<Option<String>>,
    /// Extra headers on every request.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// HTTP/2 only: with prior knowledge on `http://`, by ALPN on https (as `tls.alpn: http2`).
    #[serde(default)]
    http2: bool,
    /// PEM certificates trusted besides the public roots (a private CA); the same as
    /// `tls.ca_file`.
    #[serde(default)]
    ca_file: Option<std::path::PathBuf>,
    /// TLS settings: `{ca_file, client_cert, client_key, server_name, insecure,
    /// min_version, alpn, resume}`.
    #[serde(default)]
    tls: Option<TlsSpec>,
    /// Connect to this `host[:port]` instead of the URL's, keeping the URL's host for SNI
    /// and Host (curl's `--resolve`): to pin one edge of a relay.
    #[serde(default)]
    connect_to: Option<String>,
    /// `env` (default: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), `none`, a
    /// proxy URL (`http://`, `https://`, `socks5://`, `socks5h://`), or `{url,
    /// credentials_env}`.
    #[serde(default)]
    proxy: Option<ProxySpec>,
    /// Model sent to this target when a template names none.
    #[serde(default)]
    model: Option<String>,
    /// What the target's tokens cost, per million: `{input_per_mtok, output_per_mtok}`
    /// (the cache's at the API's multiples unless given), or `{base: list, multiplier}`,
    /// in `currency` (default USD).
    #[serde(default)]
    prices: Option<super::prices_spec::PricesSpec>,
    /// Hold the other targets' token counts against this one's (see docs/authenticity.md);
    /// default: true for the catalog's official API, false otherwise.
    #[serde(default)]
    reference: Option<bool>,
}

impl Validate for TargetFields {
    fn validate(&self) -> Result<(), String> {
        if let Some(p) = &self.prices {
            p.spec()?;
        }
        let endpoint = self.base_url.is_some() || self.auth.is_some() || self.api_key_env.is_some() || !self.headers.is_empty() || self.ca_file.is_some();
        let network = self.tls.is_some() || self.connect_to.is_some() || self.proxy.is_some();
        if self.ca_file.is_some() && self.tls.as_ref().is_some_and(|t| t.ca_file.is_some()) {
            return Err("ca_file and tls.ca_file: give one".into());
        }
        match (&self.mock, self.provider) {
            (Some(_), _) if endpoint || network || self.anthropic_version.is_some() => {
                Err("`mock` takes no base_url, auth, api_key_env, anthropic_version, headers, ca_file, tls, connect_to or proxy (its own `tls: true` and `http2` set how it is reached)".into())
            }
            (Some(mock), _) => mock.check(),
            (None, Some(p)) if p.base_url.is_none() && self.base_url.is_none() => Err(format!(
                "provider {} documents no base URL; give `base_url` (the key is read from {})",
                p.id,
                self.api_key_env.as_deref().unwrap_or(p.key_env)
            )),
            (None, Some(p)) => self.net().check(self.base_url.as_deref().or(p.base_url).and_then(host_of).as_deref()),
            (None, None) => match (&self.base_url, &self.api_key_env) {
                (Some(url), Some(_)) => self.net().check(host_of(url).as_deref()),
                (Some(_), None) => Err("api_key_env is required with base_url (the NAME of the variable holding the key)".into()),
                (None, _) => Err("give `mock`, `provider` (a catalog id), or `base_url` with `api_key_env`".into()),
            },
        }
    }
}

/// Deserializes a field that is present, so `Some(None)` means an explicit `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn report_name_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    report_name(d).map(Some)
}

/// `mock:` with no value means the default mock.
fn mock_or_default<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MockSpec>, D::Error> {
    Ok(Some(Option::<MockSpec>::deserialize(d)?.unwrap_or_default()))
}

/// Rejects anything that is not a plausible variable name. The value is never echoed:
/// the usual mistake is pasting the key itself here.
fn env_var_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    string_where(d, |name| {
        let ok = name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        ok.then_some(()).ok_or(
            "api_key_env must be the NAME of an environment variable (e.g. ANTHROPIC_API_KEY), never the key itself",
        )
    })
    .map(Some)
}

impl HttpTarget {
    /// The client's settings for this target, with `key`; the proxy's credentials are
    /// read from the environment now.
    pub fn client_target(&self, key: ApiKey) -> Result<Target, String> {
        self.target_with(key, false)
    }

    fn target_with(&self, key: ApiKey, placeholder: bool) -> Result<Target, String> {
        Ok(Target {
            base_url: self.base_url.clone(),
            auth: self.auth,
            api_key: key,
            anthropic_version: self.anthropic_version.clone(),
            headers: self.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            net: self.net.options(ProxyChoice::FromEnv, placeholder)?,
        })
    }
}

impl TargetSpec {
    /// The spec, once the client would accept its URL, headers, TLS files and proxy:
    /// found with the scenario, not when the run starts.
    fn checked(self) -> Result<TargetSpec, String> {
        if let TargetKind::Http(http) = &self.kind {
            Client::new(&http.target_with(ApiKey::new("placeholder"), true)?, Timeouts::default()).map_err(|e| e.to_string())?;
        }
        Ok(self)
    }
}

impl TargetFields {
    /// The network settings, the older `ca_file` and `http2` folded in.
    fn net(&self) -> NetSpec {
        let mut tls = self.tls.clone().unwrap_or_default();
        tls.ca_file = tls.ca_file.or_else(|| self.ca_file.clone());
        NetSpec { tls, http2: self.http2, connect_to: self.connect_to.clone(), proxy: self.proxy.clone() }
    }

    /// The target these fields describe; `validate` admitted the combination.
    fn build(self) -> TargetSpec {
        let provider = self.provider;
        let (default_name, kind) = match self.mock {
            Some(mut mock) => {
                // `provider: X` with `mock:` impersonates X.
                mock.profile = mock.profile.or(provider);
                ("mock", TargetKind::Mock(mock))
            }
            None => {
                let net = self.net();
                let version = match (self.anthropic_version, provider) {
                    (Some(v), _) => v,
                    (None, Some(p)) => p.anthropic_version.map(str::to_owned),
                    (None, None) => Some(ANTHROPIC_VERSION.to_owned()),
                };
                let http = HttpTarget {
                    base_url: self.base_url.or_else(|| provider.and_then(|p| p.base_url.map(str::to_owned))).unwrap_or_default(),
                    auth: self.auth.map(AuthStyle::from).or(provider.map(|p| p.auth)).unwrap_or(AuthStyle::XApiKey),
                    api_key_env: self.api_key_env.or_else(|| provider.map(|p| p.key_env.to_owned())).unwrap_or_default(),
                    anthropic_version: version,
                    net,
                    headers: self.headers,
                };
                ("http", TargetKind::Http(http))
            }
        };
        TargetSpec {
            name: self.name.or_else(|| provider.map(|p| p.id.to_owned())).unwrap_or_else(|| default_name.to_owned()),
            provider,
            model: self.model,
            prices: self.prices.and_then(|p| p.spec().ok()).or(provider.and_then(|p| p.prices).map(PriceSpec::Given)),
            reference: self.reference.unwrap_or(provider.is_some_and(|p| p.id == crate::provider::REFERENCE)),
            kind,
        }
    }
}

impl schemars::JsonSchema for TargetSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Target".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let provider = generator.subschema_for::<super::schema_values::ProviderId>();
        let fields = generator.subschema_for::<TargetFields>();
        schemars::json_schema!({
            "description": "`mock`, a catalog provider id, or a map with `mock:`, `provider:` or `base_url:`.",
            "anyOf": [{"const": "mock"}, provider, fields]
        })
    }
}

impl<'de> Deserialize<'de> for TargetSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TargetSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`mock`, a provider id, or a map with `mock:`, `provider:` or `base_url:`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TargetSpec, E> {
                if v == "mock" {
                    return Ok(TargetSpec::mock());
                }
                let provider = crate::provider::find(v).map_err(|e| E::custom(format!("{e}, or `mock`")))?;
                let fields = TargetFields {
                    name: None,
                    provider: Some(provider),
                    mock: None,
                    base_url: None,
                    auth: None,
                    api_key_env: None,
                    anthropic_version: None,
                    headers: BTreeMap::new(),
                    http2: false,
                    ca_file: None,
                    tls: None,
                    connect_to: None,
                    proxy: None,
                    model: None,
                    prices: None,
                    reference: None,
                };
                fields.validate().map_err(E::custom)?;
                fields.build().checked().map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TargetSpec, A::Error> {
                let spec = ValidatedVisitor::<TargetFields>(std::marker::PhantomData).visit_map(map)?.build();
                spec.checked().map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(yaml: &str) -> Result<TargetSpec, String> {
        crate::yaml::from_str::<TargetSpec>(yaml).map_err(|e| e.message)
    }

    #[test]
    fn a_provider_id_fills_every_field_from_the_catalog() {
        let t = target("dimilinks").expect("catalog id");
        assert_eq!((t.name.as_str(), t.provider.map(|p| p.id)), ("dimilinks", Some("dimilinks")));
        let TargetKind::Http(http) = t.kind else { panic!("endpoint") };
        assert_eq!(http.base_url, "https://api-direct.dimilinks.com");
        assert_eq!((http.auth, http.api_key_env.as_str()), (AuthStyle::Bearer, "DIMILINKS_API_KEY"));
        assert_eq!(http.anthropic_version.as_deref(), Some(ANTHROPIC_VERSION));
    }

    #[test]
    fn any_catalog_field_can_be_overridden() {
        let t = target("{provider: mandao, name: mandao-bearer, auth: bearer, api_key_env: MY_KEY, anthropic_version: null, model: claude-opus-4-7, headers: {anthropic-beta: tools-2024-04-04}}").expect("valid");
        assert_eq!((t.name.as_str(), t.model.as_deref()), ("mandao-bearer", Some("claude-opus-4-7")));
        let TargetKind::Http(http) = t.kind else { panic!("endpoint") };
        assert_eq!((http.auth, http.api_key_env.as_str(), http.anthropic_version), (AuthStyle::Bearer, "MY_KEY", None));
        assert_eq!(http.base_url, "https://ai-api.mandao.com");
        assert_eq!(http.headers.get("anthropic-beta").map(String::as_str), Some("tools-2024-04-04"));
    }

    #[test]
    fn a_provider_without_a_host_needs_base_url() {
        let e = target("relay-002").expect_err("no base URL");
        assert!(e.contains("provider relay-002 documents no base URL") && e.contains("RELAY_002_API_KEY"), "{e}");
        let t = target("{provider: relay-002, base_url: \"http://127.0.0.1:9\"}").expect("valid");
        let TargetKind::Http(http) = t.kind else { panic!("endpoint") };
        assert_eq!((http.base_url.as_str(), http.auth), ("http://127.0.0.1:9", AuthStyle::Bearer));
        assert!(target("dimilnks").expect_err("unknown").contains("the catalog has: anthropic, dimilinks"));
    }

    #[test]
    fn a_provider_with_mock_is_impersonated() {
        let t = target("{provider: dimilinks, mock: {capacity: 4}}").expect("valid");
        let TargetKind::Mock(mock) = &t.kind else { panic!("mock") };
        assert_eq!(mock.profile.map(|p| p.id), Some("dimilinks"));
        assert_eq!(t.name, "dimilinks");
        assert!(target("{provider: dimilinks, mock: {}, base_url: \"http://127.0.0.1:9\"}").is_err());
    }
}
