//! The open-loop executors: latency measured from the due time (coordinated omission
//! corrected), dropped requests counted, and schedules that repeat.

mod common;

use relaybench::report::Report;

fn run(name: &str, scenario: &str) -> Report {
    common::run_ok(name, scenario)
}

fn scenario(mock: &str, load: &str) -> String {
    format!("name: t\nseed: 5\ntarget: {{mock: {{{mock}}}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\nload: {{{load}}}\n")
}

const STALLING: &str = "ttft: 5ms, tokens_per_s: 5000, jitter: 0, output_tokens: [4, 8], stall: {after: 300ms, for: 600ms}";

#[test]
fn open_loop_latency_includes_a_stall_that_closed_loop_hides() {
    let open = run("co-open", &scenario(STALLING, "executor: constant-rate, rate: 100, duration: 1500ms"));
    let closed = run("co-closed", &scenario(STALLING, "concurrency: 2, duration: 1500ms"));
    // Requests due during the 600 ms stall wait for its end; measured from their due time,
    // about a third of the open loop's requests show at least 150 ms.
    let open_p90 = open.metrics["ttfb"].p90;
    assert!(open_p90 >= 150.0, "open-loop ttfb p90 {open_p90} ms");
    assert_eq!(open.metrics["send_lag"].count, open.totals.requests, "each open-loop request has a send lag");
    // Two workers meet the stall once each; everything else runs at full speed.
    let closed_p90 = closed.metrics["ttfb"].p90;
    assert!(closed_p90 < 100.0, "closed-loop ttfb p90 {closed_p90} ms");
    assert_eq!(closed.metrics["send_lag"].count, 0);
    assert_eq!(open.phases[0].load.executor, "constant-rate");
    // The time series accounts for every request, and a fixed schedule starts about
    // 100 requests in its first second.
    let series = &open.time_series;
    assert_eq!(series.iter().map(|s| s.started).sum::<u64>(), open.totals.requests);
    assert_eq!(series.iter().map(|s| s.finished).sum::<u64>(), open.totals.requests);
    assert!((95..=101).contains(&series[0].started), "{:?}", series[0]);
}

#[test]
fn requests_due_at_the_in_flight_cap_are_dropped_and_counted() {
    let slow = "ttft: 200ms, tokens_per_s: 1000, jitter: 0, output_tokens: [4, 8], capacity: 1";
    let r = run("dropped", &scenario(slow, "executor: constant-rate, rate: 100, max_in_flight: 2, requests: 50"));
    assert!(r.totals.dropped > 0, "the cap was reached");
    assert_eq!(r.totals.requests + r.totals.dropped, 50, "every scheduled request is sent or dropped");
    assert_eq!(r.phases[0].load.max_in_flight, Some(2));
}

/// The due times of a run's requests, from its per-request records (`start_s`: when each
/// was due, from the run's start), sorted.
fn due_times(name: &str, scenario: &str) -> Vec<f64> {
    let dir = common::run_ok_dir(name, &format!("{scenario}records: true\n"));
    let records = std::fs::read_to_string(dir.join("requests.jsonl")).expect("requests.jsonl");
    let mut due: Vec<f64> = records
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("record")["start_s"].as_f64().expect("start_s"))
        .collect();
    due.sort_by(f64::total_cmp);
    due
}

/// The gaps between consecutive due times: the schedule without the moment it started.
fn gaps(due: &[f64]) -> Vec<f64> {
    due.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn poisson_schedules_repeat_with_the_seed() {
    let fast = "ttft: 1ms, tokens_per_s: 20000, jitter: 0, output_tokens: [4, 8]";
    let load = "executor: poisson, rate: 200, requests: 60";
    let a = due_times("poisson-a", &scenario(fast, load));
    let b = due_times("poisson-b", &scenario(fast, load));
    let other_seed = due_times("poisson-c", &scenario(fast, load).replace("seed: 5", "seed: 6"));
    assert_eq!((a.len(), b.len(), other_seed.len()), (60, 60, 60));
    // The same seed, the same arrivals: every gap equal to the microsecond (records round to
    // it), whatever the server did.
    for (i, (x, y)) in gaps(&a).iter().zip(gaps(&b)).enumerate() {
        assert!((x - y).abs() < 2e-6, "gap {i}: {x} s and {y} s under the same seed");
    }
    // Another seed, other arrivals: most gaps differ by more than rounding.
    let differ = gaps(&a).iter().zip(gaps(&other_seed)).filter(|(x, y)| (*x - *y).abs() > 1e-4).count();
    assert!(differ > 50, "only {differ} of 59 gaps changed with the seed");
    // Exponential gaps, not a fixed step: the spread of the gaps is near their mean (5 ms).
    let g = gaps(&a);
    let mean = g.iter().sum::<f64>() / g.len() as f64;
    let sd = (g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / g.len() as f64).sqrt();
    assert!(sd > mean / 2.0, "gaps mean {mean} s, sd {sd} s: not Poisson arrivals");
}

#[test]
fn sweep_finds_the_knee_within_one_step_of_the_mock_capacity() {
    // Capacity 4 responses at once, each 50 ms + 19 tokens at 1 ms: about 57 requests/s.
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/capacity-sweep.yaml");
    let text = std::fs::read_to_string(file).expect("scenario").replace("step_duration: 3s", "step_duration: 1500ms");
    let r = run("sweep", &text);
    let sweep = r.phases[0].sweep.clone().expect("sweep section");
    let rates: Vec<f64> = sweep.steps.iter().map(|s| s.rate).collect();
    assert_eq!(rates, [10.0, 20.0, 40.0, 80.0, 160.0]);
    // Below capacity TTFT stays near the configured 50 ms; past it, requests queue.
    assert!(sweep.steps[0].figures.ttft_p95 < 150.0, "{:?}", sweep.steps[0]);
    assert!(sweep.steps[4].figures.ttft_p95 > 300.0, "{:?}", sweep.steps[4]);
    // 57 requests/s lies between the 40 and 80 steps: the max rate within SLO is one of them.
    let max_rate = sweep.max_rate_within_slo.expect("some step met the SLO");
    assert!(max_rate == 40.0 || max_rate == 80.0, "max rate within SLO {max_rate}");
    assert_eq!(r.totals.requests, sweep.steps.iter().map(|s| s.figures.requests).sum::<u64>());
}

#[test]
fn a_500_per_second_schedule_is_kept_and_its_send_lag_reported() {
    // The precise figure (within 2% over 10 s) is `cargo bench --bench schedule`; this
    // test keeps generous bounds so a loaded machine cannot make it flaky.
    let fast = "ttft: 1ms, tokens_per_s: 50000, jitter: 0, output_tokens: [4, 8]";
    let r = run("schedule", &scenario(fast, "executor: constant-rate, rate: 500, duration: 2s, max_in_flight: 2000"));
    assert_eq!((r.totals.requests, r.totals.dropped), (1000, 0));
    let achieved = r.throughput.send_rate.expect("send rate");
    assert!((achieved - 500.0).abs() < 50.0, "achieved {achieved} req/s");
    assert_eq!(r.metrics["send_lag"].count, 1000);
    assert!(r.metrics["send_lag"].p99 < 100.0, "send lag p99 {}", r.metrics["send_lag"].p99);
}

#[test]
fn stages_ramp_the_arrival_rate_up_and_down() {
    // 0 → 100 req/s over 2 s, then back to 0 over 2 s: about 25, 75, 75, 25 requests due
    // in the four seconds. Buckets count due times, so machine load cannot move them.
    let fast = "ttft: 1ms, tokens_per_s: 50000, jitter: 0, output_tokens: [4, 8]";
    let r = run("stages", &scenario(fast, "executor: stages, stages: [{duration: 2s, target: 100}, {duration: 2s, target: 0}]"));
    let started: Vec<u64> = r.time_series.iter().map(|s| s.started).collect();
    assert!(started.len() >= 4, "{started:?}");
    for (second, expected) in [(0, 25), (1, 75), (2, 75), (3, 25)] {
        let got = started[second] as i64;
        assert!((got - expected).abs() <= 3, "second {second}: {got} started, expected about {expected} ({started:?})");
    }
    assert_eq!(r.phases[0].load.executor, "stages");
}

#[test]
fn a_concurrency_ramp_adds_workers_over_time() {
    // 0 → 8 workers over 2 s, then 8 for 1 s; each request takes at least 100 ms. In the
    // first second at most 3 workers are active (the i-th from i/4 s), so at most about
    // 17 requests start; in the third, 8 workers start far more.
    let slow = "ttft: 100ms, tokens_per_s: 5000, jitter: 0, output_tokens: [4, 8]";
    let load = "executor: stages, ramp: concurrency, stages: [{duration: 2s, target: 8}, {duration: 1s, target: 8}]";
    let r = run("ramp-workers", &scenario(slow, load));
    let started: Vec<u64> = r.time_series.iter().map(|s| s.started).collect();
    assert!(started.len() >= 3, "{started:?}");
    assert!((1..=20).contains(&started[0]), "first second {started:?}");
    assert!(started[2] >= 30 && started[2] > 2 * started[0], "third second {started:?}");
    assert_eq!(r.metrics["send_lag"].count, 0, "a closed loop has no schedule to lag");
    assert_eq!((r.phases[0].load.ramp.as_deref(), r.phases[0].load.max_in_flight), (Some("concurrency"), None));
    assert!(r.duration_s < 10.0, "the ramp ends the run: {}", r.duration_s);
}

#[test]
fn a_sweep_stops_climbing_past_a_saturated_step() {
    // Two responses at once of about 50 ms each: some 40 requests a second. At 100 a
    // second the step completes a fraction of what it is offered; the 200 step is skipped.
    let slow = "ttft: 40ms, tokens_per_s: 1000, jitter: 0, output_tokens: [8, 8], capacity: 2";
    let r = run("sweep-saturated", &scenario(slow, "executor: sweep, rates: [10, 100, 200], step_duration: 500ms, max_in_flight: 5000"));
    let steps = r.phases[0].sweep.clone().expect("sweep").steps;
    assert_eq!(steps.iter().map(|s| s.rate).collect::<Vec<_>>(), [10.0, 100.0, 200.0]);
    assert_eq!(steps[0].skipped, None);
    assert_eq!(steps[1].skipped, None, "the saturated step itself ran");
    let why = steps[2].skipped.clone().expect("the step past it was skipped");
    assert!(why.starts_with("the 100 req/s step completed"), "{why}");
    assert_eq!(steps[2].figures.requests, 0, "nothing was sent at 200 req/s");
    assert_eq!(r.totals.requests, steps[0].figures.requests + steps[1].figures.requests);
    // With the stop turned off, every step runs.
    let all = run("sweep-unstopped", &scenario(slow, "executor: sweep, rates: [10, 100, 200], step_duration: 500ms, max_in_flight: 5000, stop_when_saturated: false"));
    let steps = all.phases[0].sweep.clone().expect("sweep").steps;
    assert!(steps.iter().all(|s| s.skipped.is_none() && s.figures.requests > 0), "{steps:?}");
}
