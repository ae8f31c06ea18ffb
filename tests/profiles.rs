//! The mock impersonating each catalog provider reproduces what its document states,
//! and only that.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use relaybench::mock::profile;
use relaybench::provider::CATALOG;
use relaybench::mock::{MockConfig, MockServer};
use relaybench::probes;
use tokio::time::Instant;

async fn start(profile: Option<&str>) -> MockServer {
    let mut config = MockConfig::new("k");
    config.latency.ttft = Duration::from_millis(1);
    config.latency.tokens_per_s = 20_000.0;
    if let Some(name) = profile {
        profile::apply(profile::parse(name).expect("profile"), &mut config);
    }
    MockServer::start_local(config).await.expect("mock")
}

async fn status_of(server: &MockServer, body: serde_json::Value) -> Option<u16> {
    let client = common::client(&server.base_url(), "k", Duration::from_secs(10));
    client.execute(Bytes::from(body.to_string()), 0, false, None, Instant::now()).await.status
}

/// What each provider document states its error envelope to be, read from the documents
/// (`shared/seeds/`, indexed in their README), not from the catalog: the rule the probes'
/// error responses must break, if any.
const DOCUMENTED_ENVELOPE_DEVIATION: [(&str, Option<&str>); 6] = [
    // The reference.
    ("anthropic", None),
    // 000: its OpenAPI fragment's ErrorResponse is {"error":{"message","type","code"}},
    // with no top-level "type":"error".
    ("dimilinks", Some("envelope.shape")),
    // 001: documents no error envelope of its own; the Claude one is assumed.
    ("onedim", None),
    ("onedim-ezmodel", None),
    // 002: shows only the path and the request body; no envelope of its own.
    ("relay-002", None),
    // 003: documents the Claude envelope {"type":"error","error":{"type","message"}}.
    ("mandao", None),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_profile_shows_its_documented_deviation_and_nothing_else() {
    let ids: BTreeSet<&str> = CATALOG.iter().map(|p| p.id).collect();
    let documented: BTreeSet<&str> = DOCUMENTED_ENVELOPE_DEVIATION.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, documented, "every catalog entry is stated here from its document");
    for p in CATALOG {
        let server = start(Some(p.id)).await;
        let clients = common::probe_clients(&server.base_url());
        let all: Vec<_> = probes::BUILTIN.iter().map(|n| probes::builtin(n, "claude-sonnet-4-5").expect("probe")).collect();
        let mut found = BTreeSet::new();
        for r in probes::run(&clients, &all).await {
            found.extend(r.findings.iter().map(|f| f.rule.id()));
        }
        let stated = DOCUMENTED_ENVELOPE_DEVIATION.iter().find(|(id, _)| *id == p.id).and_then(|(_, rule)| *rule);
        let expected: BTreeSet<&str> = stated.into_iter().collect();
        assert_eq!(found, expected, "profile {}", p.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_extensions_are_accepted_only_by_their_profile() {
    let base = |model: &str| serde_json::json!({"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});
    let official = start(None).await;
    let mut web = base("claude-sonnet-4-5");
    web["web_search_options"] = serde_json::json!({});
    assert_eq!(status_of(&official, web.clone()).await, Some(400));
    assert_eq!(status_of(&start(Some("mandao")).await, web).await, Some(200));
    assert_eq!(status_of(&official, base("claude-haiku-3-5-20241022")).await, Some(404));
    assert_eq!(status_of(&start(Some("relay-002")).await, base("claude-haiku-3-5-20241022")).await, Some(200));
    assert_eq!(status_of(&official, base("claude-opus-4-7-thinking")).await, Some(404));
    assert_eq!(status_of(&start(Some("dimilinks")).await, base("claude-opus-4-7-thinking")).await, Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_version_and_base64_only_images_follow_the_documents() {
    let body = serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});
    let without_version = |server: &MockServer| {
        let target = relaybench::client::Target {
            base_url: server.base_url(),
            auth: relaybench::client::AuthStyle::Bearer,
            api_key: relaybench::client::ApiKey::new("k"),
            anthropic_version: None,
            headers: Vec::new(),
            net: Default::default(),
        };
        relaybench::client::Client::new(&target, relaybench::client::Timeouts::default()).expect("client")
    };
    for (id, expected) in [("anthropic", 400), ("dimilinks", 200), ("mandao", 200), ("onedim", 400)] {
        let server = start(Some(id)).await;
        let got = without_version(&server).execute(Bytes::from(body.to_string()), 0, false, None, Instant::now()).await.status;
        assert_eq!(got, Some(expected), "{id} without anthropic-version");
    }
    let image = |source: serde_json::Value| serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "image", "source": source}, {"type": "text", "text": "what is this?"}]}]});
    let url = image(serde_json::json!({"type": "url", "url": "https://example.invalid/cat.png"}));
    let base64 = image(serde_json::json!({"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}));
    let mandao = start(Some("mandao")).await;
    assert_eq!(status_of(&mandao, url.clone()).await, Some(400));
    assert_eq!(status_of(&mandao, base64).await, Some(200));
    assert_eq!(status_of(&start(Some("onedim")).await, url).await, Some(200));
}
