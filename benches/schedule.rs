//! Schedule accuracy of the open loop: 500 requests/s for 10 s against a fast embedded
//! mock on loopback; prints the achieved send rate against the target and the send-lag
//! percentiles. Run: `cargo bench --bench schedule`.

// criterion is not used here: one long run, measured once, is the figure.
#![allow(missing_docs)]

use std::path::Path;

fn main() {
    let rate = 500.0;
    let scenario = format!(
        "name: schedule\nseed: 1\ntarget: {{mock: {{ttft: 1ms, tokens_per_s: 50000, jitter: 0, output_tokens: [4, 8]}}}}\n\
         model: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\n\
         load: {{executor: constant-rate, rate: {rate}, duration: 10s, max_in_flight: 2000}}\n"
    );
    let parsed = relaybench::scenario::parse(&scenario, Path::new("schedule.yaml")).expect("scenario");
    let out = std::env::temp_dir().join("relaybench-schedule-bench");
    let options = relaybench::run::RunOptions { out: Some(out), handle_signals: false, quiet: true, capture: None, records: None, sets: Vec::new(), metrics_listen: None, metrics_linger: None, ..Default::default() };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let done = runtime.block_on(relaybench::run::run(&parsed, Path::new("schedule.yaml"), &options)).expect("run");
    let r = done.report();
    let achieved = r.throughput.send_rate.expect("open loop send rate");
    let lag = &r.metrics["send_lag"];
    println!("target {rate:.1} req/s for 10 s: sent {} (dropped {})", r.totals.requests, r.totals.dropped);
    println!("achieved send rate {achieved:.2} req/s = {:.2}% of target", achieved / rate * 100.0);
    println!("send lag p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms", lag.p50, lag.p99, lag.max);
}
