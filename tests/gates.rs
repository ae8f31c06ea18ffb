//! Thresholds decide the exit code, and the JUnit XML a CI system reads is well formed
//! and agrees with the report.

mod common;

use std::process::Command;


const BIN: &str = env!("CARGO_BIN_EXE_relaybench");

/// Runs `scenario` in a fresh folder named after `name`; returns the output and the
/// folder the report went to.
fn run_in(name: &str, scenario: &str) -> (std::process::Output, std::path::PathBuf) {
    let dir = common::temp_dir(name);
    let file = common::write_file(&dir, "s.yaml", scenario);
    let out = dir.join("out");
    let o = Command::new(BIN)
        .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")])
        .output()
        .expect("run");
    (o, out)
}

#[test]
fn a_failed_threshold_exits_1_and_junit_says_which() {
    let scenario = "name: gate\ntarget: {mock: {ttft: 20ms, tokens_per_s: 2000}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {stream: true, max_tokens: 32, prompt: hi}\nload: {concurrency: 2, requests: 10}\nthresholds:\n  - error_rate < 1%\n  - ttft.p50 < 1ms\n  - send_lag.p99 < 1s\n";
    let (o, out) = run_in("gates", scenario);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("thresholds 1/3 passed"), "{stdout}");
    assert!(stdout.contains("ttft.p50 < 1ms (observed"), "{stdout}");
    assert!(stdout.contains("send_lag.p99 < 1s (no data)"), "a closed loop has no send lag: {stdout}");
    let r = common::only_report(&out);
    let verdicts: Vec<bool> = r.thresholds.iter().map(|t| t.passed).collect();
    assert_eq!(verdicts, [true, false, false]);
    assert!(r.thresholds[1].observed.expect("observed") >= 20.0);

    let xml = std::fs::read_to_string(common::only_report_dir(&out).join(relaybench::report::JUNIT_XML)).expect("junit.xml");
    let (cases, failures, declared_tests, declared_failures) = common::junit_counts(&xml);
    assert_eq!(cases, 3 + relaybench::conformance::RULES.len(), "one case per threshold and per rule");
    assert_eq!((failures, declared_tests, declared_failures), (2, cases, 2));
    assert!(xml.contains("name=\"ttft.p50 &lt; 1ms\""), "{xml}");
}

#[test]
fn bad_threshold_is_a_scenario_error_before_anything_is_sent() {
    let dir = common::temp_dir("gates-bad");
    let scenario = "name: gate\ntarget: {base_url: \"http://127.0.0.1:9\", api_key_env: RB_TEST_KEY}\nmodel: m\nrequests:\n  - {max_tokens: 8, prompt: hi}\nload: {concurrency: 1, requests: 1}\nthresholds:\n  - ttft.p95 < 800ms\n  - latency.p95 < 1s\n";
    let file = common::write_file(&dir, "bad.yaml", scenario);
    let o = Command::new(BIN).args(["run", file.to_str().expect("utf8")]).env("RB_TEST_KEY", "k").output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.yaml:9:5: ") && err.contains("unknown threshold metric \"latency.p95\""), "{err}");
}

#[test]
fn the_ci_gate_scenario_passes_against_the_mock() {
    let out = common::temp_dir("ci-gate");
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ci-gate.yaml");
    let o = Command::new(BIN)
        .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let report_dir = common::only_report_dir(&out);
    let xml = std::fs::read_to_string(report_dir.join("junit.xml")).expect("junit.xml");
    assert_eq!(common::junit_counts(&xml).1, 0, "no failures");
}

#[test]
#[should_panic(expected = "inside")]
fn the_junit_structure_check_rejects_a_case_outside_a_suite() {
    common::junit_counts(r#"<testsuites><testcase name="x" classname="c"/></testsuites>"#);
}

#[test]
#[should_panic(expected = "lacks tests")]
fn the_junit_structure_check_rejects_a_suite_without_its_count() {
    common::junit_counts(r#"<testsuites><testsuite name="s"></testsuite></testsuites>"#);
}

#[test]
fn phases_run_in_order_and_each_threshold_judges_its_own_phase() {
    // The same bound passes on the fast phase and fails on the slow one: each phase is
    // judged on its own requests, not on the run's mix.
    let scenario = "name: phased\ntarget: {mock: {ttft: 5ms, tokens_per_s: 5000, jitter: 0, capacity: 1}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {stream: true, max_tokens: 16, prompt: hi}\nphases:\n  - name: calm\n    load: {concurrency: 1, requests: 6}\n    thresholds: [ttft.p95 < 100ms, requests == 6]\n  - name: crowded\n    load: {executor: constant-rate, rate: 200, requests: 40}\n    thresholds: [ttft.p95 < 100ms]\nthresholds: [requests == 46]\n";
    let (o, out) = run_in("gates-phases", scenario);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("failed: crowded: ttft.p95 < 100ms (observed"), "{stdout}");
    let r = common::only_report(&out);
    let names: Vec<&str> = r.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["calm", "crowded"]);
    assert_eq!((r.phases[0].figures.requests, r.phases[1].figures.requests, r.totals.requests), (6, 40, 46));
    assert!(r.phases[1].start_s >= r.phases[0].figures.duration_s * 0.99, "{:?}", r.phases);
    assert_eq!((r.phases[0].load.executor.as_str(), r.phases[1].load.rate), ("concurrency", Some(200.0)));
    let verdicts = |p: usize| r.phases[p].thresholds.iter().map(|t| t.passed).collect::<Vec<_>>();
    // 40 requests due in 0.2 s at a mock serving one at a time queue far past 100 ms.
    assert_eq!((verdicts(0), verdicts(1)), (vec![true, true], vec![false]));
    assert!(r.thresholds[0].passed, "the scenario's threshold sees the whole run");

    let xml = std::fs::read_to_string(common::only_report_dir(&out).join(relaybench::report::JUNIT_XML)).expect("junit.xml");
    let (cases, failures, _, _) = common::junit_counts(&xml);
    // Four thresholds and the default gate (no error_rate threshold given), every rule.
    assert_eq!((cases, failures), (5 + relaybench::conformance::RULES.len(), 1));
    assert!(xml.contains("name=\"crowded: ttft.p95 &lt; 100ms\""), "{xml}");
    let summary = std::fs::read_to_string(common::only_report_dir(&out).join(relaybench::report::SUMMARY_MD)).expect("summary.md");
    assert!(summary.contains("## Phases") && summary.contains("| crowded | constant-rate 200 req/s"), "{summary}");
}
