//! Which channel served the answers, end to end: the mock dressed as each channel gets
//! that verdict with its deciding signals, the clean mock is `anthropic` with no
//! identity finding, mixed routing is named with its counts, a gateway in front is named,
//! and a verdict on a handful of answers says it is weak.

mod common;

use relaybench::report::authenticity::ModelChannel;
use relaybench::report::Report;

fn scenario(mock: &str, requests: u32) -> String {
    format!(
        "name: channel\nseed: 3\ntarget: {{mock: {{ttft: 5ms, tokens_per_s: 5000, jitter: 0, output_tokens: [8, 16]{mock}}}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 32, prompt: hi}}\n  - {{stream: false, max_tokens: 32, prompt: hello}}\n  - {{stream: true, max_tokens: 2048, prompt: think, thinking: {{type: enabled, budget_tokens: 1024}}}}\nload: {{concurrency: 4, requests: {requests}}}\n"
    )
}

fn verdict(r: &Report) -> ModelChannel {
    let a = r.authenticity.as_ref().expect("an authenticity section");
    assert_eq!(a.models.len(), 1, "{a:?}");
    a.models[0].clone()
}

fn run(name: &str, mock: &str, requests: u32) -> Report {
    common::run_ok(name, &scenario(mock, requests))
}

#[test]
fn the_clean_mock_is_anthropic_with_no_identity_finding() {
    let r = run("channel-clean", "", 30);
    let m = verdict(&r);
    assert_eq!((m.channel.as_str(), m.confidence.as_str(), m.responses), ("anthropic", "strong", 30), "{m:?}");
    assert!(m.mixed.is_empty());
    assert!(!r.conformance.rules.keys().any(|id| id.starts_with("identity.")), "{:?}", r.conformance.rules.keys());
    let geo = m.signals.iter().find(|s| s.signal == "usage.inference_geo").expect("inference_geo counted");
    assert_eq!((geo.shape.as_str(), geo.count), ("present", 30));
}

#[test]
fn each_channel_costume_gets_its_verdict_and_its_deciding_signal() {
    for (channel, expected, confidence, deciding) in [
        ("bedrock", "bedrock", "proof", "message_id msg_bdrk"),
        ("vertex", "vertex", "proof", "message_id msg_vrtx"),
        ("subscription", "subscription", "proof", "subscription_headers present"),
        ("disguised", "disguised", "strong", "missing fields the API always sends: usage.inference_geo, usage.cache_creation"),
    ] {
        let r = run(&format!("channel-{channel}"), &format!(", channel: {channel}"), 24);
        let m = verdict(&r);
        assert_eq!((m.channel.as_str(), m.confidence.as_str()), (expected, confidence), "{channel}: {m:?}");
        assert!(m.reasons.iter().any(|r| r.contains(deciding)), "{channel}: {:?}", m.reasons);
        assert!(m.mixed.is_empty(), "{channel}: {m:?}");
    }
}

#[test]
fn mixed_routing_is_named_with_the_count_of_each_channel() {
    let r = run("channel-mixed", ", channel: mixed", 30);
    let m = verdict(&r);
    let (api, bedrock) = (m.mixed.get("anthropic").copied().unwrap_or(0), m.mixed.get("bedrock").copied().unwrap_or(0));
    assert!(api > 0 && bedrock > 0 && api + bedrock == 30, "{m:?}");
    assert!(m.reasons[0].starts_with("mixed routing"), "{:?}", m.reasons);
}

#[test]
fn a_gateway_in_front_is_named_and_a_handful_of_answers_is_weak_evidence() {
    let r = run("channel-litellm", ", gateway: litellm", 4);
    let a = r.authenticity.clone().expect("section");
    assert_eq!(a.gateways, ["litellm"]);
    let m = verdict(&r);
    assert_eq!(m.confidence, "weak", "{m:?}");
    assert!(m.reasons.iter().any(|r| r.contains("seen on 4 responses only")), "{:?}", m.reasons);
    // Its renamed rate-limit headers are not the API's, and on streams a finding.
    assert!(m.signals.iter().any(|s| s.signal == "ratelimit_headers" && s.shape == "renamed"), "{:?}", m.signals);
    let streamed = r.templates.iter().filter(|t| t.stream).map(|t| t.requests).sum::<u64>();
    assert_eq!(r.conformance.rules.get("limits.headers-renamed").map(|f| f.count), Some(streamed), "{:?}", r.conformance.rules.keys());
}

#[test]
fn the_model_scan_gives_every_listed_model_a_verdict_and_says_what_it_cost_at_most() {
    let scenario = scenario("", 6) + "authenticity: all\n";
    let r = common::run_ok("channel-scan", &scenario);
    let a = r.authenticity.clone().expect("section");
    let scan = a.scan.clone().expect("the scan is in the report");
    assert_eq!(scan.source, "GET /v1/models");
    assert!(scan.models.len() >= 3 && scan.scanned == scan.models.len() as u64, "{scan:?}");
    assert!(scan.bound.starts_with(&format!("{} requests", 4 * scan.models.len())), "{}", scan.bound);
    for model in &scan.models {
        let m = a.models.iter().find(|m| &m.model == model).unwrap_or_else(|| panic!("no verdict for {model}: {a:?}"));
        assert_eq!(m.channel, "anthropic", "{m:?}");
        let row = r.features.iter().find(|f| f.name == format!("scan:{model}")).expect("a scan row");
        assert_eq!(row.status, relaybench::features::Status::Pass, "{row:?}");
    }
    // The load's model has its load answers and its scan answers.
    let loaded = a.models.iter().find(|m| m.model == "claude-sonnet-4-5").expect("load model");
    assert_eq!(loaded.responses, 6 + 4);
    assert!(r.conformance.rules.is_empty(), "{:?}", r.conformance.rules.keys());
}

#[test]
fn a_named_scan_reaches_models_the_load_never_requests() {
    let scenario = scenario(", channel: bedrock", 2) + "authenticity: [claude-opus-4-7]\n";
    let r = common::run_ok("channel-scan-named", &scenario);
    let a = r.authenticity.expect("section");
    assert_eq!(a.scan.as_ref().map(|s| s.source.as_str()), Some("the scenario"));
    let opus = a.models.iter().find(|m| m.model == "claude-opus-4-7").expect("scanned model");
    assert_eq!((opus.channel.as_str(), opus.confidence.as_str(), opus.responses), ("bedrock", "proof", 4), "{opus:?}");
}

#[test]
fn a_scan_spelled_wrong_is_refused_with_its_line() {
    let dir = common::temp_dir("scan-typo");
    let file = common::write_file(&dir, "s.yaml", &(scenario("", 2) + "authenticity: every\n"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["run", file.to_str().expect("utf8")]).output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("s.yaml:10:15: authenticity: write") && err.contains("write `all` or a list of model ids"), "{err}");
}
