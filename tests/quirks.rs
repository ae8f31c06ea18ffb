//! The conformance matrix: for every error-severity rule, the mock with the quirk that
//! breaks it makes that rule fire, and only it, both live and through the offline check
//! of a captured body; the clean mock makes none fire.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use relaybench::conformance::request::RequestFacts;
use relaybench::conformance::{check_capture, Capture, Rule};
use relaybench::mock::{quirk, MockConfig, MockServer};
use relaybench::probes;
use tokio::time::Instant;

const TOOLS: &str = r#""tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]"#;

fn stream_body() -> String {
    format!(r#"{{"model":"claude-sonnet-4-5","max_tokens":512,"stream":true,"messages":[{{"role":"user","content":"weather?"}}],{TOOLS}}}"#)
}
const MESSAGE_BODY: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":64,"stop_sequences":["STOP"],"messages":[{"role":"user","content":"hi"}]}"#;
const THINKING_BODY: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":2048,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"think"}]}"#;
const ERROR_BODY: &str = r#"{"model":"no-such-model","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#;

async fn mock(quirk: Option<Rule>) -> MockServer {
    let mut config = MockConfig::new("k");
    config.latency.ttft = Duration::from_millis(1);
    config.latency.tokens_per_s = 20_000.0;
    config.quirk = quirk;
    MockServer::start_local(config).await.expect("mock")
}

/// Rule ids found live over a stream with a tool call, a thinking stream, a Message and a
/// 404, each held against its request, and over every built-in negative probe.
async fn live_findings(server: &MockServer) -> BTreeSet<&'static str> {
    let client = common::client(&server.base_url(), "k", Duration::from_secs(20));
    let mut found = BTreeSet::new();
    let requests = [
        (stream_body(), true),
        (THINKING_BODY.to_owned(), true),
        (MESSAGE_BODY.to_owned(), false),
        (ERROR_BODY.to_owned(), false),
    ];
    for (body, stream) in requests {
        let facts = RequestFacts::from_body(&serde_json::from_str(&body).expect("json"));
        let o = client.execute(Bytes::from(body), 0, stream, Some(&facts), Instant::now()).await;
        found.extend(o.findings.iter().map(|f| f.rule.id()));
    }
    let clients = common::probe_clients(&server.base_url());
    let probes: Vec<_> = probes::BUILTIN.iter().map(|n| probes::builtin(n, "claude-sonnet-4-5").expect("builtin")).collect();
    for result in probes::run(&clients, &probes).await {
        found.extend(result.findings.iter().map(|f| f.rule.id()));
    }
    found
}

/// Rule ids found offline on the captured body the rule concerns.
async fn offline_findings(server: &MockServer, rule: Rule) -> Option<BTreeSet<&'static str>> {
    let (kind, body) = match rule.id().split('.').next() {
        // Timing is not in a captured body.
        _ if rule == Rule::BufferedStream => return None,
        // The overload is flattened on a request the mock would have served.
        _ if rule == Rule::EnvelopeOverloadedFlattened => (Capture::Error(502), MESSAGE_BODY.to_owned()),
        _ if rule == Rule::ThinkingSignatureMissing => (Capture::Stream, THINKING_BODY.to_owned()),
        Some("stream") => (Capture::Stream, stream_body()),
        Some("message") => (Capture::Message, MESSAGE_BODY.to_owned()),
        Some("envelope") => (Capture::Error(404), ERROR_BODY.to_owned()),
        // Headers are not in a captured body, nor is the request a response answers, nor
        // a probe's expectation.
        _ => return None,
    };
    let (_, captured) = common::capture(&server.base_url(), &body).await;
    Some(check_capture(kind, &captured).iter().map(|f| f.rule.id()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_mock_breaks_no_rule() {
    let server = mock(None).await;
    assert_eq!(live_findings(&server).await, BTreeSet::new());
    for kind in ["stream.x", "message.x", "envelope.x"] {
        let rule = match kind {
            "stream.x" => Rule::StopReasonNull,
            "message.x" => Rule::MessageShape,
            _ => Rule::EnvelopeShape,
        };
        assert_eq!(offline_findings(&server, rule).await, Some(BTreeSet::new()), "{kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_quirk_fires_its_rule_and_only_it() {
    // What must have a quirk, from the rule table and PROTOCOL.md §8, not from the mock's
    // own list: every error rule, and the relay faults that are warnings.
    let warned_faults = [Rule::ErrorInsteadOfStatus, Rule::BufferedStream, Rule::RequestEmptyEndTurn, Rule::EnvelopeRequestIdMissing];
    let must_fire: Vec<Rule> = relaybench::conformance::RULES
        .iter()
        .filter(|r| r.severity == relaybench::conformance::Severity::Error)
        .map(|r| r.rule)
        .chain(warned_faults)
        .collect();
    assert!(must_fire.len() >= 40, "{} rules", must_fire.len());
    let mut offline = 0;
    for &rule in &must_fire {
        assert_eq!(quirk::parse(rule.id()), Ok(rule), "the mock has no quirk for {}", rule.id());
        let server = mock(Some(rule)).await;
        let expected = BTreeSet::from([rule.id()]);
        assert_eq!(live_findings(&server).await, expected, "live, quirk {}", rule.id());
        if let Some(found) = offline_findings(&server, rule).await {
            assert_eq!(found, expected, "offline, quirk {}", rule.id());
            offline += 1;
        }
    }
    // Most faults are in the bytes, and come back from a capture too.
    assert!(offline * 3 > must_fire.len() * 2, "only {offline} of {} checked offline", must_fire.len());
    // The mock commits nothing else, but the fault only a repeated request shows
    // (tests/features.rs judges it) and those only a series of responses shows (frozen
    // rate-limit headers, tests/limits.rs; dropped ones and a held head, tests/series.rs).
    let others: Vec<Rule> = quirk::available().filter(|r| !must_fire.contains(r)).collect();
    // A tokenizer is judged against a reference target's counts (tests/tokenizer.rs).
    assert_eq!(others, [Rule::IdentityResponseCache, Rule::LimitsStaticHeaders, Rule::LimitsHeadersDropped, Rule::StreamHeadHeld, Rule::IdentityTokenizer]);
}

#[test]
fn unknown_quirk_names_the_available_ones() {
    let err = quirk::parse("stream.nope").expect_err("unknown");
    assert!(err.contains("stream.stop-reason-null"), "{err}");
    assert!(quirk::parse("header.request-id-missing").is_err(), "warn rules have no quirk");
}
