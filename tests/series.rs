//! The rules no single response breaks, end to end: rate-limit headers on streams but not
//! on whole answers, and a stream head held back until the first token. Each fires against
//! the mock that commits it (alone, or as the LiteLLM gateway does with the rest), and
//! stays silent against the clean mock under the same load.

mod common;

use relaybench::report::Report;

const MODEL: &str = "claude-sonnet-4-5";

fn run(name: &str, mock: &str, requests: &str, count: u32, probes: &str) -> Report {
    let scenario = format!(
        "name: {name}\nseed: 5\ntarget: {{mock: {{ttft: 30ms, tokens_per_s: 4000, jitter: 0, output_tokens: [8, 16]{mock}}}}}\nmodel: {MODEL}\nrequests:\n{requests}load: {{concurrency: 1, requests: {count}}}\n{probes}"
    );
    common::run_ok(name, &scenario)
}

const BOTH: &str = "  - {stream: true, max_tokens: 32, prompt: hi}\n  - {stream: false, max_tokens: 32, prompt: hello}\n";
const STREAMS: &str = "  - {stream: true, max_tokens: 32, prompt: hi}\n";

fn count(r: &Report, rule: &str) -> u64 {
    r.conformance.rules.get(rule).map_or(0, |f| f.count)
}

fn whole_answers(r: &Report) -> u64 {
    r.templates.iter().filter(|t| !t.stream).map(|t| t.requests).sum()
}

#[test]
fn rate_limit_headers_dropped_on_whole_answers_are_named() {
    let r = run("series-dropped", ", quirk: limits.headers-dropped", BOTH, 16, "");
    assert_eq!(r.conformance.rules.keys().cloned().collect::<Vec<_>>(), ["limits.headers-dropped"]);
    let (found, whole) = (count(&r, "limits.headers-dropped"), whole_answers(&r));
    // Whole answers before the first stream are named together, on that stream.
    assert!(found >= 1 && found <= whole, "{found} findings for {whole} whole answers");
    let example = &r.conformance.rules["limits.headers-dropped"].examples[0].message;
    assert!(example.contains("anthropic-ratelimit-"), "{example}");
}

#[test]
fn a_head_held_until_the_first_token_is_named_once() {
    let r = run("series-held", ", quirk: stream.head-held", STREAMS, 14, "");
    assert_eq!(r.conformance.rules.keys().cloned().collect::<Vec<_>>(), ["stream.head-held"]);
    assert_eq!(count(&r, "stream.head-held"), 1);
    let example = &r.conformance.rules["stream.head-held"].examples[0].message;
    assert!(example.contains("each of the 10 streams"), "{example}");
}

#[test]
fn the_clean_mock_under_the_same_load_breaks_neither() {
    let mixed = run("series-clean-mixed", "", BOTH, 16, "");
    let streams = run("series-clean-streams", "", STREAMS, 14, "");
    for r in [&mixed, &streams] {
        assert!(r.conformance.rules.is_empty(), "{:?}", r.conformance.rules.keys());
    }
}

#[test]
fn the_litellm_gateway_is_caught_on_all_three() {
    let r = run("series-litellm", ", gateway: litellm", BOTH, 24, "probes: [unknown-model]\n");
    for rule in ["limits.headers-dropped", "stream.head-held", "envelope.request-id-missing"] {
        assert!(count(&r, rule) >= 1, "{rule} did not fire: {:?}", r.conformance.rules.keys());
    }
    let dropped = &r.conformance.rules["envelope.request-id-missing"].examples[0].message;
    assert!(dropped.contains("HTTP 404"), "{dropped}");
}

#[test]
fn a_head_held_is_named_against_the_reference_target_of_the_run() {
    let mock = "ttft: 30ms, tokens_per_s: 4000, jitter: 0, output_tokens: [8, 16]";
    let scenario = format!(
        "name: held\nseed: 5\ntargets:\n  - {{name: official, reference: true, mock: {{{mock}}}}}\n  - {{name: direct, mock: {{{mock}}}}}\n  - {{name: gateway, mock: {{{mock}, gateway: litellm}}}}\nmodel: {MODEL}\nrequests:\n{STREAMS}load: {{concurrency: 1, requests: 12}}\n"
    );
    let (_, out) = common::run_expecting("series-held-reference", &scenario, &[], 0);
    let folder = std::fs::read_dir(&out).expect("out").flatten().map(|e| e.path()).find(|p| p.is_dir()).expect("report folder");
    let read = |t: &str| relaybench::report::read(&folder.join(t).join("report.json")).expect("report");
    let (direct, gateway) = (read("direct"), read("gateway"));
    assert!(!direct.conformance.rules.contains_key("stream.head-held"), "{:?}", direct.conformance.rules.keys());
    let held = &gateway.conformance.rules["stream.head-held"];
    assert_eq!(held.count, 2, "on every stream, and against the reference");
    let relative = held.examples.iter().find(|e| e.template == "comparison").expect("the comparison's finding");
    assert!(relative.message.contains("where the reference official sends it at"), "{}", relative.message);
    assert_eq!(gateway.conformance.warnings, gateway.conformance.rules.values().filter(|r| r.severity == "warn").map(|r| r.count).sum::<u64>());
}
