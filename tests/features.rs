//! The feature suite against the mock: every case passes on the clean mock, a broken
//! behaviour fails the case that exercises it, and a provider's documented limits read as
//! unsupported or failed, as its document implies.

use std::collections::BTreeMap;
use std::time::Duration;

use relaybench::client::{ApiKey, AuthStyle, Target, Timeouts};
use relaybench::conformance::Rule;
use relaybench::features::{self, Status};
use relaybench::load::Stop;
use relaybench::mock::{MockConfig, MockServer};
use relaybench::provider::{self, Provider};

/// The mock at `base_url` as a target, with key `k` sent as `auth`.
fn target(base_url: &str, auth: AuthStyle) -> Target {
    Target {
        base_url: base_url.to_owned(),
        auth,
        api_key: ApiKey::new("k"),
        anthropic_version: Some("2023-06-01".into()),
        headers: Vec::new(),
        net: Default::default(),
    }
}

async fn statuses(quirk: Option<Rule>, provider: Option<&'static Provider>) -> BTreeMap<String, Status> {
    let mut config = MockConfig::new("k");
    config.latency.ttft = Duration::from_millis(1);
    config.latency.tokens_per_s = 20_000.0;
    if let Some(p) = provider {
        relaybench::mock::profile::apply(p, &mut config);
    }
    config.quirk = quirk.or(config.quirk);
    let server = MockServer::start_local(config).await.expect("mock");
    let target = target(&server.base_url(), provider.map_or(AuthStyle::XApiKey, |p| p.auth));
    let results = features::run(&target, Timeouts::default(), "claude-sonnet-4-5", provider, &features::all(), &Stop::default()).await.expect("client");
    assert_eq!(results.len(), features::all().len());
    results.into_iter().map(|r| (r.name, r.status)).collect()
}

fn not_passed(s: &BTreeMap<String, Status>) -> BTreeMap<&str, Status> {
    s.iter().filter(|(_, st)| **st != Status::Pass).map(|(n, st)| (n.as_str(), *st)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_mock_passes_every_case_it_can_be_asked() {
    let s = statuses(None, None).await;
    // Without a catalog entry there is no -thinking variant and no model list to try.
    let expected = BTreeMap::from([("listed-models", Status::Unsupported), ("thinking-model", Status::Unsupported)]);
    assert_eq!(not_passed(&s), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_behaviour_fails_the_case_that_exercises_it() {
    // (behaviour broken, the case it must fail, a case it does not touch)
    for (quirk, broken, untouched) in [
        (Rule::RequestToolUseMismatch, "tools-any", "text"),
        (Rule::RequestStopSequenceUnknown, "stop-sequences", "tools-any"),
        (Rule::MessageShape, "text", "stream"),
        (Rule::ThinkingSignatureMissing, "thinking-tool-round-trip", "text"),
        (Rule::InputTokensZero, "count-tokens", "tools-any"),
    ] {
        let s = statuses(Some(quirk), provider::find("anthropic").ok()).await;
        assert_eq!((s[broken], s[untouched]), (Status::Fail, Status::Pass), "{}: {:?}", quirk.id(), not_passed(&s));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_replays_cached_answers_fails_response_cache() {
    for (quirk, expected) in [(None, Status::Pass), (Some(Rule::IdentityResponseCache), Status::Fail)] {
        let mut config = MockConfig::new("k");
        config.latency.ttft = Duration::from_millis(60);
        config.latency.tokens_per_s = 5_000.0;
        config.quirk = quirk;
        let server = MockServer::start_local(config).await.expect("mock");
        let target = target(&server.base_url(), AuthStyle::XApiKey);
        let names = ["response-cache".to_owned()];
        let r = features::run(&target, Timeouts::default(), "claude-sonnet-4-5", None, &names, &Stop::default()).await.expect("client");
        assert_eq!(r[0].status, expected, "{quirk:?}: {}", r[0].detail);
        assert_eq!(r[0].findings.iter().any(|f| f.rule == Rule::IdentityResponseCache), quirk.is_some(), "{:?}", r[0].findings);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_limits_read_as_the_documents_imply() {
    let reference = statuses(None, provider::find("anthropic").ok()).await;
    assert_eq!(not_passed(&reference), BTreeMap::from([("thinking-model", Status::Unsupported)]));
    // Mandao: images base64 only, anthropic-version optional.
    let mandao = statuses(None, provider::find("mandao").ok()).await;
    assert_eq!(not_passed(&mandao), BTreeMap::from([("image-url", Status::Unsupported), ("missing-version", Status::Fail), ("thinking-model", Status::Unsupported)]));
    // DimiLinks: -thinking variants served; anthropic-version optional.
    let dimilinks = statuses(None, provider::find("dimilinks").ok()).await;
    assert_eq!(dimilinks["thinking-model"], Status::Pass);
    assert_eq!(dimilinks["missing-version"], Status::Fail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_model_the_provider_does_not_serve_fails_listed_models() {
    // The plain mock serves the official ids only, not DimiLinks' -thinking variants.
    let server = MockServer::start_local(MockConfig::new("k")).await.expect("mock");
    let target = target(&server.base_url(), AuthStyle::Bearer);
    let dimilinks = provider::find("dimilinks").ok();
    let names = ["listed-models".to_owned()];
    let r = features::run(&target, Timeouts::default(), "claude-sonnet-4-5", dimilinks, &names, &Stop::default()).await.expect("client");
    assert_eq!(r[0].status, Status::Fail);
    assert!(r[0].detail.contains("claude-opus-4-7-thinking: refused: 404 not_found_error"), "{}", r[0].detail);
    assert!(!r[0].detail.contains("claude-opus-4-7:"), "served ids are not listed: {}", r[0].detail);
}
