//! Rate limits end to end: the mock's metered limits read back from every response, the
//! report's limits section, the 429s a sweep runs into, and the `limits` rules silent on
//! honest headers and firing on frozen ones.

mod common;

use relaybench::report::Report;

const LIMITED: &str = "{ttft: 10ms, tokens_per_s: 5000, jitter: 0, output_tokens: [8, 16], rate_limit: {requests_per_minute: 60, input_tokens_per_minute: 1000000, output_tokens_per_minute: 100000}}";

fn limit_rules(r: &Report) -> Vec<String> {
    r.conformance.rules.keys().filter(|id| id.starts_with("limits.")).cloned().collect()
}

#[test]
fn a_sweep_into_the_mock_limit_shows_remaining_falling_and_refilling_and_where_429s_start() {
    // 60 requests a minute is one a second. The warm-up spends the bucket, so the sweep
    // starts on an empty one: below a second's refill nothing is refused, above it the
    // excess is.
    let scenario = format!(
        "name: rl\nseed: 4\ntarget: {{mock: {LIMITED}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\nload: {{executor: sweep, rates: [0.5, 4], step_duration: 6s, warmup: 60}}\nthresholds: [error_rate < 100%]\n"
    );
    let r = common::run_ok("limits-sweep", &scenario);
    let limits = r.limits.clone().expect("a limits section");
    let requests = limits.dimensions.iter().find(|d| d.id == "requests").expect("the requests limit");
    assert_eq!((requests.limits.as_slice(), requests.remaining_min), (&[60][..], Some(0)), "{limits:?}");
    assert_eq!(requests.responses, r.totals.requests, "every response carried the headers");
    // The steps: the one under the refill rate is refused at most once (the request that
    // met the bucket the warm-up emptied), the one four times over it most of the time.
    let steps = r.phases[0].sweep.as_ref().expect("sweep").steps.clone();
    let refused: Vec<u64> = steps.iter().map(|s| s.figures.rate_limited).collect();
    assert!(refused[0] <= 1 && refused[1] >= 6, "429s per step: {refused:?}");
    assert_eq!(limits.throttled, refused.iter().sum::<u64>());
    assert_eq!(r.totals.by_status.get("429").copied(), Some(limits.throttled));
    let first = limits.first_throttled_s.expect("a first 429");
    assert!(first < r.duration_s, "{first}");
    assert!(limits.throttled_share > 0.0 && limits.throttled_share < 1.0, "{}", limits.throttled_share);
    // Over the seconds, the lowest remaining falls to 0 and climbs back while the rate is
    // under the refill.
    let remaining: Vec<u64> = r.time_series.iter().filter_map(|s| s.remaining_min.get("requests").copied()).collect();
    assert!(remaining.contains(&0), "{remaining:?}");
    assert!(remaining.windows(2).any(|w| w[1] > w[0]), "remaining never refilled: {remaining:?}");
    assert_eq!(r.time_series.iter().map(|s| s.throttled).sum::<u64>(), limits.throttled);
    // Honest headers break no limits rule; each 429 carried retry-after.
    assert_eq!(limit_rules(&r), Vec::<String>::new());
    assert!(!r.conformance.rules.contains_key("header.retry-after-missing"));
}

#[test]
fn frozen_headers_are_found_and_honest_ones_are_not() {
    let run = |name: &str, mock: &str| {
        let scenario = format!(
            "name: {name}\ntarget: {{mock: {mock}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{max_tokens: 16, prompt: hi}}\nload: {{concurrency: 2, requests: 24}}\n"
        );
        common::run_ok(name, &scenario)
    };
    let frozen = run("limits-frozen", "{ttft: 5ms, jitter: 0, output_tokens: [8, 16], quirk: limits.static-headers}");
    assert_eq!(frozen.conformance.rules.keys().cloned().collect::<Vec<_>>(), ["limits.static-headers"]);
    let example = &frozen.conformance.rules["limits.static-headers"].examples[0];
    assert!(example.message.contains("requests-remaining stayed 49 of 50"), "{}", example.message);
    // The same load against honest limits of the same size: nothing.
    let honest = run("limits-honest", "{ttft: 5ms, jitter: 0, output_tokens: [8, 16], rate_limit: {requests_per_minute: 50}}");
    assert_eq!(limit_rules(&honest), Vec::<String>::new());
    assert_eq!(honest.limits.expect("limits").dimensions[0].remaining_min, Some(26), "50 less 24, and no refill to speak of");
}
