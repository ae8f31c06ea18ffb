//! `abort:` stops a run by itself: each condition, run as a user runs it (the binary, a
//! child process), must stop a 30-second load soon after it trips, write a whole report
//! naming the condition and the figure, fail the JUnit gate, and exit 1.

mod common;

use std::time::{Duration, Instant};

/// Runs `abort` against a mock whose answers `mock` shapes; returns the report, the
/// wall time and junit.xml.
fn run(name: &str, mock: &str, abort: &str) -> (relaybench::report::Report, Duration, String) {
    let scenario = format!(
        "name: {name}\ntarget: {{mock: {mock}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{max_tokens: 16, prompt: hi}}\nload: {{concurrency: 2, duration: 30s}}\nabort: {abort}\n"
    );
    let started = Instant::now();
    // An abort fails the gate: exit 1.
    let (_, out) = common::run_expecting(name, &scenario, &["-q"], 1);
    let took = started.elapsed();
    let report_dir = common::only_report_dir(&out);
    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).expect("junit.xml");
    (common::only_report(&out), took, junit)
}

fn check(name: &str, r: &relaybench::report::Report, took: Duration, junit: &str, condition: &str) {
    let why = r.aborted.clone().unwrap_or_else(|| panic!("{name}: not aborted"));
    assert!(why.starts_with(condition), "{name}: {why}");
    assert_eq!(r.stopped_early.as_deref(), Some(why.as_str()));
    assert!(!r.partial, "{name}: an abort is not an interrupt");
    assert!(took < Duration::from_secs(15), "{name}: a 30 s load ran {took:?}");
    let (cases, failures, _, _) = common::junit_counts(junit);
    assert!(cases >= 1 && failures >= 1 && junit.contains(condition), "{name}: {junit}");
}

#[test]
fn failures_in_a_row_stop_the_run() {
    let (r, took, junit) = run("abort-streak", "{ttft: 5ms, jitter: 0, output_tokens: [8, 16], overload: {share: 1, retry_after: 10ms}}", "{consecutive_failures: 10}");
    check("streak", &r, took, &junit, "abort.consecutive_failures: 10 requests failed in a row");
    // Two workers: the streak trips on the tenth, and at most the other worker's request
    // in flight ends after it.
    assert!((10..=11).contains(&r.totals.requests), "{} requests", r.totals.requests);
}

#[test]
fn an_error_rate_over_its_window_stops_the_run() {
    let (r, took, junit) = run("abort-rate", "{ttft: 5ms, jitter: 0, output_tokens: [8, 16], overload: {share: 0.6, retry_after: 10ms}}", "{error_rate: 40%, window: 2s, min_requests: 30}");
    check("rate", &r, took, &junit, "abort.error_rate:");
    assert!(r.totals.requests >= 30, "the window needed 30 requests: {}", r.totals.requests);
}

#[test]
fn a_token_budget_stops_the_run() {
    let (r, took, junit) = run("abort-tokens", "{ttft: 5ms, jitter: 0, output_tokens: [100, 100]}", "{tokens: 5000}");
    check("tokens", &r, took, &junit, "abort.tokens:");
    let spent = r.throughput.input_tokens + r.throughput.output_tokens;
    // Each request reports about 101 tokens; two may end after the one that crossed 5000.
    assert!((5000..5000 + 3 * 110).contains(&spent), "{spent} tokens");
}

#[test]
fn a_cost_budget_stops_the_run_at_the_target_prices() {
    let scenario = "name: cost\ntarget: {provider: anthropic, mock: {ttft: 5ms, jitter: 0, output_tokens: [100, 100]}, prices: {input_per_mtok: 3, output_per_mtok: 15}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {max_tokens: 128, prompt: hi}\nload: {concurrency: 2, duration: 30s}\nabort: {cost: 0.03}\n";
    let (_, out) = common::run_expecting("abort-cost", scenario, &["-q"], 1);
    let r = common::only_report(&out);
    assert!(r.aborted.as_deref().is_some_and(|w| w.starts_with("abort.cost:")), "{:?}", r.aborted);
    // 100 output tokens cost 0.0015: twenty requests reach 0.03.
    let cost = r.throughput.cost_usd.expect("cost");
    assert!((0.03..0.03 + 3.0 * 0.0016).contains(&cost), "{cost}");
}

#[test]
fn a_threshold_with_abort_on_fail_stops_the_run_after_its_delay() {
    // A first token takes 50 ms: `ttft.p95 < 20ms` fails from the first stream, but is not
    // judged before its one-second delay.
    let scenario = "name: aof\ntarget: {mock: {ttft: 50ms, jitter: 0, output_tokens: [8, 16]}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {stream: true, max_tokens: 16, prompt: hi}\nload: {concurrency: 2, duration: 30s}\nthresholds:\n  - {threshold: ttft.p95 < 20ms, abort_on_fail: true, delay: 1s}\n  - ttft.p95 < 10s\n";
    let started = Instant::now();
    let (_, out) = common::run_expecting("abort-on-fail", scenario, &["-q"], 1);
    let took = started.elapsed();
    let r = common::only_report(&out);
    let why = r.aborted.clone().expect("aborted");
    assert!(why.starts_with("abort_on_fail: `ttft.p95 < 20ms` failed after 1."), "{why}");
    assert!(r.duration_s >= 1.0 && took < Duration::from_secs(15), "ran {} s", r.duration_s);
    // The threshold is still judged at the end, failed, and the other passed.
    let judged: Vec<(&str, bool)> = r.thresholds.iter().map(|t| (t.expression.as_str(), t.passed)).collect();
    assert!(judged.contains(&("ttft.p95 < 20ms", false)) && judged.contains(&("ttft.p95 < 10s", true)), "{judged:?}");
    // One that holds lets the load run its course.
    let holding = scenario.replace("duration: 30s", "duration: 2s").replace("ttft.p95 < 20ms, abort_on_fail", "ttft.p95 < 5s, abort_on_fail");
    let r = common::run_ok("abort-on-fail-held", &holding);
    assert_eq!(r.aborted, None);
    assert!(r.duration_s >= 2.0, "{}", r.duration_s);
}
