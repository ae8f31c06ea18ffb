//! Comparing providers: the catalog compared on loopback (each mock impersonating one
//! provider), and two saved reports compared with regressions flagged.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Output};

use relaybench::features::Status;
use relaybench::report::comparison::{Comparison, COMPARISON_JSON};

const BIN: &str = env!("CARGO_BIN_EXE_relaybench");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run relaybench")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn compare_relays_shows_each_documented_deviation_and_none_on_the_reference() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/compare-relays.yaml");
    // Two seconds, not six, to stay quick; not one, so that a TTFT p95 is not just the
    // slowest of the first requests, which pay for the connections all targets open at once.
    let text_yaml = std::fs::read_to_string(file).expect("scenario").replace("duration: 6s", "duration: 2s");
    let dir = common::temp_dir("compare-relays");
    let scenario = common::write_file(&dir, "compare-relays.yaml", &text_yaml);
    let out = dir.join("out");
    let o = run(&["run", scenario.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"]);
    // DimiLinks' documented error envelope is a violation, so the gate fails.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let run_dir = common::only_report_dir(&out);
    let c: Comparison = serde_json::from_slice(&std::fs::read(run_dir.join(COMPARISON_JSON)).expect("comparison.json")).expect("parses");
    let names: Vec<&str> = c.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["anthropic", "dimilinks", "onedim", "onedim-ezmodel", "relay-002", "mandao"]);
    assert_eq!(c.reference.as_deref(), Some("anthropic"));
    let by_name: BTreeMap<&str, &relaybench::report::comparison::Column> = c.targets.iter().map(|t| (t.name.as_str(), t)).collect();
    let findings = |name: &str| by_name[name].findings.keys().map(String::as_str).collect::<Vec<_>>();
    let not_passed = |name: &str| {
        by_name[name].features.iter().filter(|(_, s)| **s != Status::Pass).map(|(f, s)| (f.as_str(), *s)).collect::<BTreeMap<_, _>>()
    };
    // The reference: no finding at all; only the -thinking variant it does not have.
    assert!(findings("anthropic").is_empty(), "{:?}", findings("anthropic"));
    assert_eq!(not_passed("anthropic"), BTreeMap::from([("thinking-model", Status::Unsupported)]));
    // Each document's deviations.
    assert_eq!(findings("dimilinks"), ["envelope.shape"]);
    assert_eq!(not_passed("dimilinks"), BTreeMap::from([("missing-version", Status::Fail)]));
    assert_eq!(findings("relay-002"), ["request.model-nonstandard"]);
    assert_eq!(not_passed("mandao")["image-url"], Status::Unsupported);
    assert_eq!(not_passed("mandao")["missing-version"], Status::Fail);
    assert!(findings("onedim").is_empty() && findings("onedim-ezmodel").is_empty() && findings("mandao").is_empty());
    for t in &c.targets {
        assert!(t.requests > 0, "{} got load", t.name);
        assert_eq!(t.error_rate, 0.0, "{}", t.name);
        assert!(run_dir.join(&t.report).is_file(), "{} has its own report", t.name);
        assert_eq!(t.input_tokens_vs_reference, Some(0.0), "{}: the mock counts the same prompt alike", t.name);
    }
    // The stand-in latencies differ, and the ranking puts conformant targets first.
    assert_eq!(c.ranking.first().map(String::as_str), Some("anthropic"));
    assert_eq!(c.ranking.last().map(String::as_str), Some("dimilinks"));
    // One JUnit file for the whole comparison: each target's suites, its failures counted.
    let xml = std::fs::read_to_string(run_dir.join(relaybench::report::JUNIT_XML)).expect("junit.xml");
    let (cases, failures, declared_tests, declared_failures) = common::junit_counts(&xml);
    // Each target's rules, probes and features, and the default gate (the scenario has no
    // error_rate threshold of its own).
    let per_target = relaybench::conformance::RULES.len() + relaybench::probes::BUILTIN.len() + relaybench::features::all().len() + 1;
    assert_eq!((cases, declared_tests), (6 * per_target, 6 * per_target));
    // dimilinks: envelope.shape and missing-version; mandao: missing-version.
    assert_eq!((failures, declared_failures), (3, 3), "{xml}");
    assert!(xml.contains("testsuite name=\"compare-relays.dimilinks.conformance\""), "{xml}");
    let summary = std::fs::read_to_string(run_dir.join(relaybench::report::SUMMARY_MD)).expect("summary.md");
    assert!(summary.contains("## Features") && summary.contains("| request.model-nonstandard | - | - | - | - | 1 | - |"), "{summary}");
}

#[test]
fn a_target_that_served_nothing_ranks_last_and_shows_no_latency() {
    let dir = common::temp_dir("compare-unreachable");
    let scenario = format!(
        "name: mixed\ntargets:\n  - {{provider: anthropic, mock: {{ttft: 5ms, tokens_per_s: 2000}}}}\n  - {{provider: mandao, base_url: \"http://127.0.0.1:{}\"}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\nload: {{concurrency: 2, requests: 30}}\n",
        common::closed_port()
    );
    let file = common::write_file(&dir, "s.yaml", &scenario);
    let out = dir.join("out");
    let o = Command::new(BIN)
        .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"])
        .env("MANDAO_API_KEY", "sk-test-mandao")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(3), "the unreachable target decides the exit: {}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("mandao: target unreachable"), "{}", text(&o));
    let c: Comparison = serde_json::from_slice(&std::fs::read(common::only_report_dir(&out).join(COMPARISON_JSON)).expect("comparison.json")).expect("parses");
    assert_eq!(c.ranking, ["anthropic", "mandao"]);
    assert_eq!(c.targets[0].requests, 30, "the reachable target ran its whole load");
    assert!(c.targets[1].latency.is_empty(), "{:?}", c.targets[1].latency);
    assert_eq!(c.targets[1].errors.get("connect_error").copied(), Some(c.targets[1].requests));
}

#[test]
fn compare_flags_a_slower_report_and_passes_an_equal_one() {
    let dir = common::temp_dir("compare-reports");
    // Warmed up: a cold process's first two requests run up to 20 ms late, and the p95 of
    // 20 requests is the second slowest.
    let scenario = |ttft: &str| {
        format!("name: c\nseed: 3\ntarget: {{mock: {{ttft: {ttft}, tokens_per_s: 400, jitter: 0, output_tokens: [16, 16]}}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 32, prompt: hi}}\nload: {{concurrency: 2, requests: 20, warmup: 2}}\n")
    };
    let report = |name: &str, ttft: &str| {
        let file = common::write_file(&dir, &format!("{name}.yaml"), &scenario(ttft));
        let out = dir.join(name);
        let o = run(&["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        common::only_report_dir(&out).join(relaybench::report::REPORT_JSON)
    };
    let fast = report("fast", "20ms");
    let slow = report("slow", "200ms");
    let o = run(&["compare", fast.to_str().expect("utf8"), slow.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().any(|l| l.starts_with("ttft.p50 ms") && l.ends_with("REGRESSION")), "{out}");
    // The other way round is an improvement, not a regression.
    let o = run(&["compare", slow.to_str().expect("utf8"), fast.to_str().expect("utf8"), "--tolerance", "5"]);
    assert!(!String::from_utf8_lossy(&o.stdout).lines().any(|l| l.starts_with("ttft") && l.ends_with("REGRESSION")), "{}", text(&o));
    // A second run of the same configuration, measured on its own: equal within a
    // tolerance that covers this machine's run-to-run noise (a 10x slower TTFT is far past it).
    let again = report("fast-again", "20ms");
    assert_ne!(std::fs::read(&fast).expect("report"), std::fs::read(&again).expect("report"), "two runs, two reports");
    let o = run(&["compare", fast.to_str().expect("utf8"), again.to_str().expect("utf8"), "--tolerance", "50"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no regression"));
    let o = run(&["compare", fast.to_str().expect("utf8"), slow.to_str().expect("utf8"), "--tolerance", "50"]);
    assert_eq!(o.status.code(), Some(1), "the same tolerance still flags the slow run: {}", text(&o));
    let o = run(&["compare", fast.to_str().expect("utf8"), "/nonexistent/report.json"]);
    assert_eq!(o.status.code(), Some(2));
}
