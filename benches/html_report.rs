//! Rendering the HTML report of a one-hour run: a real report from a short run against
//! the embedded mock, grown to an hour (3,600 per-second entries, a million values in
//! every histogram, three phases), then rendered. The page is drawn from histograms and
//! per-second buckets, so its time and size do not grow with the requests.
//! Run: `cargo bench --bench html_report`.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use relaybench::metrics::new_histogram;
use relaybench::report::{encode_histogram, Report, SecondInfo};

/// A short real run's report.
fn short_run() -> Report {
    let scenario = "name: hour\nseed: 1\ntarget: {mock: {ttft: 1ms, tokens_per_s: 100000, jitter: 0}}\nmodel: claude-sonnet-4-5\n\
                    requests:\n  - {name: s, stream: true, max_tokens: 32, prompt: hi}\n  - {name: m, max_tokens: 32, prompt: hi}\n\
                    phases:\n  - {name: warm, load: {concurrency: 2, requests: 50}}\n  - {name: steady, load: {concurrency: 4, requests: 200}}\n  - {name: peak, load: {concurrency: 8, requests: 200}}\n";
    let parsed = relaybench::scenario::parse(scenario, Path::new("hour.yaml")).expect("scenario");
    let out = std::env::temp_dir().join("relaybench-html-bench");
    let options = relaybench::run::RunOptions { out: Some(out.clone()), handle_signals: false, quiet: true, capture: None, records: None, sets: Vec::new(), metrics_listen: None, metrics_linger: None, ..Default::default() };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let done = runtime.block_on(relaybench::run::run(&parsed, Path::new("hour.yaml"), &options)).expect("run");
    let report = done.report().clone();
    let _ = std::fs::remove_dir_all(out);
    report
}

/// The report grown to an hour: 3,600 seconds, a million values per histogram.
fn one_hour(mut r: Report) -> Report {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut h = new_histogram();
    for _ in 0..1_000_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // 1 ms to about 30 s, log-uniform: every bucket range of a real tail.
        let us = (((seed % 10_000) as f64 / 10_000.0 * 10.3f64).exp() * 1000.0) as u64;
        h.record(us).expect("in range");
    }
    let encoded = encode_histogram(&h);
    for summary in r.metrics.values_mut().chain(r.templates.iter_mut().flat_map(|t| t.metrics.values_mut())) {
        summary.histogram = encoded.clone();
        summary.count = h.len();
    }
    r.time_series = (0..3600u64)
        .map(|second| SecondInfo {
            second,
            started: 300 + second % 17,
            finished: 300 + second % 13,
            in_flight: 64 + second % 7,
            errors: second % 5,
            errors_by_kind: [("http_error".to_owned(), second % 5)].into(),
            output_tokens: 9000 + second % 101,
            ttft_p50_ms: Some(80.0 + (second % 23) as f64),
            ttft_p95_ms: Some(180.0 + (second % 29) as f64),
            ttft_histogram: None,
            throttled: 0,
            remaining_min: Default::default(),
        })
        .collect();
    for (i, phase) in r.phases.iter_mut().enumerate() {
        phase.start_s = i as f64 * 1200.0;
        phase.figures.duration_s = 1200.0;
    }
    r.duration_s = 3600.0;
    r
}

fn bench(c: &mut Criterion) {
    let report = one_hour(short_run());
    let page = relaybench::report::html::render(&report);
    println!("one-hour report: report.json {:.2} MB, report.html {:.2} MB", serde_json::to_vec(&report).expect("json").len() as f64 / 1e6, page.len() as f64 / 1e6);
    let json = serde_json::to_vec(&report).expect("json");
    let mut group = c.benchmark_group("html_report");
    group.sample_size(10);
    // The reference: reading the report.json back, which `relaybench report` does first.
    group.bench_function("read_report_json", |b| b.iter(|| black_box(serde_json::from_slice::<Report>(black_box(&json)).expect("reads"))));
    group.bench_function("render_one_hour", |b| b.iter(|| black_box(relaybench::report::html::render(black_box(&report)))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
