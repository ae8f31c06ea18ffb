//! Retries end to end: the SDK's policy against a mock that answers a known share of
//! requests 529 with `retry-after-ms`, every attempt recorded, and the counts, the
//! first-attempt and effective latencies adding up exactly.

mod common;

use serde_json::Value;

#[test]
fn sdk_retries_of_overloaded_answers_add_up_and_wait_what_the_server_asked() {
    let scenario = "name: rt\nseed: 5\ntarget: {mock: {ttft: 10ms, tokens_per_s: 5000, jitter: 0, output_tokens: [8, 16], overload: {share: 0.3, retry_after: 50ms}}}\nmodel: claude-sonnet-4-5\nretry: sdk\nrequests:\n  - {stream: true, max_tokens: 16, prompt: hi}\nload: {concurrency: 4, requests: 100, warmup: 4}\nrecords: true\n";
    // The warm-up opens the connections first: a cold process's first requests run tens of
    // milliseconds late, past the bound on each request's time beyond its waits below.
    let dir = common::run_ok_dir("retries-sdk", scenario);
    let r = relaybench::report::read(&dir.join(relaybench::report::REPORT_JSON)).expect("report");
    let x = r.retries.clone().expect("a retries section");
    // The budget counts requests; the target was sent every attempt.
    assert_eq!(x.requests, 100);
    assert_eq!(x.attempts, r.totals.requests);
    assert_eq!(x.attempts, x.requests + x.by_cause.values().sum::<u64>());
    assert_eq!(x.by_cause.keys().collect::<Vec<_>>(), ["529"], "only the overload was retried");
    assert!(x.retried > 10, "a share of 0.3 retried only {} of 100", x.retried);
    // Every 529 was retried but on a request's third attempt (the SDK's two retries).
    let refused = r.totals.by_status.get("529").copied().unwrap_or(0);
    assert_eq!(refused, x.by_cause["529"] + x.failed);
    assert_eq!(r.totals.by_outcome["ok"], x.requests - x.failed);
    assert_eq!(x.succeeded_after_retry, x.retried - x.failed);
    // Each request's first attempt and its whole, once each; every attempt's own e2e.
    assert_eq!(r.metrics["e2e_first_attempt"].count, x.requests);
    assert_eq!(r.metrics["e2e_effective"].count, x.requests);
    assert_eq!(r.metrics["e2e"].count, x.attempts);
    // A line per attempt; a request's last attempt waited 50 ms (retry-after-ms) before
    // each of its retries, and no more than a retry's worth beyond the attempts themselves.
    let text = std::fs::read_to_string(dir.join("requests.jsonl")).expect("records");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("record")).collect();
    assert_eq!(lines.len() as u64, x.attempts);
    let last: Vec<&Value> = lines.iter().filter(|l| l["retried_for"].is_null()).collect();
    assert_eq!(last.len() as u64, x.requests);
    for l in &last {
        let (attempt, effective, e2e) = (l["attempt"].as_u64().expect("attempt"), l["effective_ms"].as_f64().expect("effective"), l["e2e_ms"].as_f64().expect("e2e"));
        let waits = 50.0 * (attempt - 1) as f64;
        assert!(effective >= waits + e2e, "attempt {attempt}: {effective} ms, less than {waits} ms of waits and its own {e2e} ms");
        assert!(effective <= waits + attempt as f64 * 40.0 + 20.0, "attempt {attempt}: {effective} ms is far past its waits");
    }
    assert!(lines.iter().filter(|l| !l["retried_for"].is_null()).all(|l| l["status"] == 529 && l["retried_for"] == "529"));
}

#[test]
fn without_a_policy_nothing_is_retried_and_no_section_is_written() {
    let scenario = "name: nort\nseed: 5\ntarget: {mock: {ttft: 5ms, jitter: 0, output_tokens: [8, 16], overload: {share: 0.3, retry_after: 50ms}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {max_tokens: 16, prompt: hi}\nload: {concurrency: 2, requests: 40}\n";
    let r = common::run_ok("retries-off", scenario);
    assert_eq!(r.retries, None);
    assert_eq!(r.totals.requests, 40);
    assert!(r.totals.by_status.get("529").copied().unwrap_or(0) > 3, "{:?}", r.totals.by_status);
    assert_eq!(r.metrics["e2e_effective"].count, 0);
}
