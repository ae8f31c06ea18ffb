//! `relaybench merge` of 100 worker reports of a one-hour run: each report a real
//! segment's report from a short run against the embedded mock, grown to an hour (3,600
//! seconds, each with its TTFT histogram; 10,800 requests in every metric's histogram, a
//! worker's share of 300 requests/s). Prints, in one run:
//! - reading the 100 report.json files, the reference, and adding them (`report::merge`);
//! - the whole command (read, merge, write report.json, summary.md, report.html, JUnit)
//!   in its own process, for 10 and for 100 reports, with its peak resident memory
//!   against the bytes of the reports it read.
//!
//! Run: `cargo bench --bench merge`.

// criterion is not used here: one merge of 100 files is the figure, taken 3 times.
#![allow(missing_docs)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use relaybench::load::segment::Segment;
use relaybench::metrics::{new_histogram, second_histogram};
use relaybench::report::{encode_histogram, encode_second_histogram, Report, SecondInfo};

const WORKERS: u32 = 100;
const SECONDS: u64 = 3600;
/// A worker's requests per second: 300 requests/s split 100 ways.
const PER_SECOND: u64 = 3;

/// A short real run's report, as worker 0 of 100 writes it.
fn segment_report(dir: &Path) -> Report {
    let scenario = "name: hour\nseed: 1\ntarget: {mock: {ttft: 1ms, tokens_per_s: 100000, jitter: 0}}\nmodel: claude-sonnet-4-5\n\
                    requests:\n  - {name: s, stream: true, max_tokens: 32, prompt: hi}\n  - {name: m, max_tokens: 32, prompt: hi}\n\
                    load: {executor: constant-rate, rate: 2000, requests: 2000}\n";
    let parsed = relaybench::scenario::parse(scenario, Path::new("hour.yaml")).expect("scenario");
    let options = relaybench::run::RunOptions {
        out: Some(dir.join("short")),
        handle_signals: false,
        quiet: true,
        segment: Segment { index: 0, count: WORKERS },
        ..Default::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let done = runtime.block_on(relaybench::run::run(&parsed, Path::new("hour.yaml"), &options)).expect("run");
    done.report().clone()
}

/// xorshift: the values of each worker differ, as real workers' do.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// A latency in µs, 1 ms to about 30 s, log-uniform: every bucket range of a real tail.
fn latency(seed: &mut u64) -> u64 {
    (((next(seed) % 10_000) as f64 / 10_000.0 * 10.3f64).exp() * 1000.0) as u64
}

/// Worker `index`'s report of the hour.
fn worker(base: &Report, index: u32) -> Report {
    let mut r = base.clone();
    let mut seed = 0x2545_f491_4f6c_dd1d ^ (u64::from(index + 1) * 0x9e37_79b9);
    let mut h = new_histogram();
    (0..SECONDS * PER_SECOND).for_each(|_| h.record(latency(&mut seed)).expect("in range"));
    let encoded = encode_histogram(&h);
    for summary in r.metrics.values_mut().chain(r.templates.iter_mut().flat_map(|t| t.metrics.values_mut())) {
        summary.histogram.clone_from(&encoded);
        summary.count = h.len();
    }
    r.time_series = (0..SECONDS)
        .map(|second| {
            let mut ttft = second_histogram();
            (0..PER_SECOND).for_each(|_| ttft.record(latency(&mut seed)).expect("grows"));
            SecondInfo {
                second,
                started: PER_SECOND,
                finished: PER_SECOND,
                in_flight: 2,
                errors: 0,
                errors_by_kind: Default::default(),
                output_tokens: PER_SECOND * 300,
                ttft_p50_ms: Some(ttft.value_at_quantile(0.5) as f64 / 1000.0),
                ttft_p95_ms: Some(ttft.value_at_quantile(0.95) as f64 / 1000.0),
                ttft_histogram: Some(encode_second_histogram(&ttft)),
                throttled: 0,
                remaining_min: Default::default(),
            }
        })
        .collect();
    r.totals.requests = SECONDS * PER_SECOND;
    r.duration_s = SECONDS as f64;
    r.segment = Some(Segment { index, count: WORKERS });
    r
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = std::env::temp_dir().join(format!("relaybench-merge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let base = segment_report(&dir);
    let mut files: Vec<PathBuf> = Vec::new();
    let mut bytes = 0u64;
    for i in 0..WORKERS {
        let folder = dir.join(format!("w{i:03}"));
        std::fs::create_dir_all(&folder).expect("folder");
        let json = serde_json::to_vec(&worker(&base, i)).expect("json");
        bytes += json.len() as u64;
        let file = folder.join("report.json");
        std::fs::write(&file, json).expect("write");
        files.push(file);
    }
    println!("{WORKERS} worker reports of a one-hour run: {:.1} MB of report.json, {:.2} MB each", bytes as f64 / 1e6, bytes as f64 / 1e6 / f64::from(WORKERS));
    let (mut read, mut added) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        let parts: Vec<Report> = files.iter().map(|f| relaybench::report::read(f).expect("report")).collect();
        read.push(t.elapsed());
        let t = Instant::now();
        let merged = relaybench::report::merge::merge(parts).expect("merge");
        added.push(t.elapsed());
        assert_eq!(merged.totals.requests, u64::from(WORKERS) * SECONDS * PER_SECOND);
    }
    let (read, added) = (median(read), median(added));
    println!("read 100 reports (reference): {:>8.1} ms", read.as_secs_f64() * 1e3);
    println!("merge them (report::merge):    {:>8.1} ms  = {:.2}x reading them", added.as_secs_f64() * 1e3, added.as_secs_f64() / read.as_secs_f64());
    for n in [10usize, 100] {
        let inputs: Vec<&str> = files[..n].iter().map(|f| f.to_str().expect("utf8")).collect();
        let size: u64 = files[..n].iter().map(|f| f.metadata().map_or(0, |m| m.len())).sum();
        let out = dir.join(format!("merged-{n}"));
        let mut args = vec!["merge"];
        args.extend(&inputs);
        args.extend(["--out", out.to_str().expect("utf8")]);
        let (took, peak, _) = support::peak_of(&args);
        match peak {
            Some(kib) => println!(
                "relaybench merge of {n:>3} reports: {:>7.2} s, peak {:>6.1} MiB = {:.2}x the {:.1} MB read",
                took.as_secs_f64(),
                kib as f64 / 1024.0,
                kib as f64 * 1024.0 / size as f64,
                size as f64 / 1e6
            ),
            None => println!("peak resident memory is read from /proc: Linux only"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
