//! Memory per concurrent stream: N streams held open at once (a first token 4 s away, so
//! every stream sits idle on its connection), measured as peak resident memory above the
//! baseline, divided by N, and as the slope between two N (what one more stream costs,
//! without what a run holds at any size). Two set-ups: the client alone, against `relaybench mock` in its
//! own process (what a user's load generator costs), and both ends in one process (the
//! embedded mock, as `relaybench run` uses it by default).
//! When oha (`cargo install oha --locked`) and GNU time are there, oha holds the same N
//! streams against the same mock process, as the plain load tool's figure beside ours.
//! A third set-up holds the streams over https (HTTP/1.1 through the same reader, against
//! `relaybench mock --tls`): what TLS adds to an idle stream, as a ratio to plain HTTP's. A
//! fourth holds them over HTTP/2 on the same TLS mock, which takes 200 streams a connection,
//! so relaybench opens a connection for each 200.
//! Run: `cargo bench --bench stream_memory`.

// criterion is not used here: one run's peak is the figure.
#![allow(missing_docs)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

const KEY_ENV: &str = "RELAYBENCH_MEMORY_BENCH_KEY";
const KEY: &str = "relaybench-bench-key";
const MOCK: &str = "{ttft: 4s, tokens_per_s: 1000, jitter: 0, output_tokens: [8, 8]}";

/// Peak resident memory of this process so far, in KiB (Linux).
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()
}

fn measure(runtime: &tokio::runtime::Runtime, label: &str, target: &str, streams: usize) {
    let scenario = format!(
        "name: memory\nseed: 1\ntarget: {target}\n\
         model: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\n\
         load: {{concurrency: {streams}, requests: {streams}, timeout: 30s}}\n"
    );
    let parsed = relaybench::scenario::parse(&scenario, Path::new("memory.yaml")).expect("scenario");
    let out = std::env::temp_dir().join("relaybench-memory-bench");
    let options = relaybench::run::RunOptions { out: Some(out), handle_signals: false, quiet: true, capture: None, records: None, sets: Vec::new(), metrics_listen: None, metrics_linger: None, ..Default::default() };
    let before = peak_kib();
    let done = runtime.block_on(relaybench::run::run(&parsed, Path::new("memory.yaml"), &options)).expect("run");
    let (Some(before), Some(after)) = (before, peak_kib()) else {
        println!("peak resident memory is read from /proc/self/status: Linux only");
        return;
    };
    let r = done.report();
    let tool = match (target.contains("https://"), target.contains("http2")) {
        (true, true) => "relaybench-h2",
        (true, false) => "relaybench-tls",
        _ => "relaybench",
    };
    println!("{PEAK_LINE} {tool} {streams} {after}");
    println!(
        "{label}: {streams} streams at once ({} ok): peak {} MiB, {:.1} KiB per stream above the {} MiB before",
        r.totals.by_outcome.get("ok").copied().unwrap_or(0),
        after >> 10,
        after.saturating_sub(before) as f64 / streams as f64,
        before >> 10
    );
}

/// Peak resident memory of an oha run, in KiB, from GNU time; `None` when either is missing.
fn oha_peak_kib(base_url: &str, streams: usize) -> Option<u64> {
    let home = std::env::var("HOME").unwrap_or_default();
    let oha = ["oha".to_owned(), format!("{home}/.cargo/bin/oha")].into_iter().find(|o| Command::new(o).arg("--version").output().is_ok())?;
    let body = r#"{"model":"claude-sonnet-4-5","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let n = streams.to_string();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "maxrss %M", &oha, "--no-tui", "-n", &n, "-c", &n, "-m", "POST", "-H", &format!("x-api-key: {KEY}")])
        .args(["-H", "anthropic-version: 2023-06-01", "-H", "content-type: application/json", "-d", body, &format!("{base_url}/v1/messages")])
        .stdout(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stderr).lines().find_map(|l| l.strip_prefix("maxrss ")?.trim().parse().ok())
}

/// oha's peak with `streams` in flight, above its own peak for a single request.
fn oha(base_url: &str, streams: usize) {
    match (oha_peak_kib(base_url, 1), oha_peak_kib(base_url, streams)) {
        (Some(idle), Some(peak)) => {
            println!("{PEAK_LINE} oha {streams} {peak}");
            println!(
                "oha (same mock): {streams} streams at once: peak {} MiB, {:.1} KiB per stream above its {} MiB for one request",
                peak >> 10,
                peak.saturating_sub(idle) as f64 / streams as f64,
                idle >> 10
            )
        }
        _ => println!("oha or GNU time not found: no peer figure (cargo install oha --locked)"),
    }
}

/// Each case runs in a fresh process of this bench, so that its peak is its own.
const CASE_ENV: &str = "RELAYBENCH_MEMORY_CASE";
/// How a case hands its peak (tool, streams, KiB) to the parent.
const PEAK_LINE: &str = "#peak";

/// The memory one more idle stream costs: the slope of the peak between the two stream
/// counts a tool ran, which leaves out what a run holds whatever its size (histograms,
/// the runtime, the binary).
fn print_slopes(peaks: &[(String, u64, u64)]) {
    let mut slopes = Vec::new();
    for tool in ["relaybench", "relaybench-tls", "relaybench-h2", "oha"] {
        let mut runs: Vec<(u64, u64)> = peaks.iter().filter(|p| p.0 == tool).map(|p| (p.1, p.2)).collect();
        runs.sort_unstable();
        if let (Some(&(n1, p1)), Some(&(n2, p2))) = (runs.first(), runs.last()) {
            if n2 > n1 {
                let slope = p2.saturating_sub(p1) as f64 / (n2 - n1) as f64;
                println!("{tool}: each stream past {n1} costs {slope:.1} KiB ({n1} to {n2} streams)");
                slopes.push((tool, slope));
            }
        }
    }
    let slope = |name| slopes.iter().find(|s| s.0 == name).map(|s| s.1);
    if let Some(plain) = slope("relaybench").filter(|p| *p > 0.0) {
        for (tool, what) in [("relaybench-tls", "an idle https stream"), ("relaybench-h2", "an idle HTTP/2 stream")] {
            if let Some(s) = slope(tool) {
                println!("{what} costs {:.2}x an idle plain-HTTP one", s / plain);
            }
        }
    }
}

fn main() {
    if let Ok(case) = std::env::var(CASE_ENV) {
        let (set_up, streams) = case.split_once(':').expect("case");
        let streams: usize = streams.parse().expect("streams");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        if set_up == "tls" || set_up == "h2" {
            std::env::set_var(KEY_ENV, KEY);
            let certs = std::env::temp_dir().join(format!("relaybench-memory-tls-{}", std::process::id()));
            let (mut mock, base_url, ca) = support::start_tls_mock(KEY, &["--ttft", "4s", "--tokens-per-s", "1000", "--jitter", "0"], None, &certs);
            let (alpn, label) = match set_up {
                "h2" => ("http2", "client alone over HTTP/2 (TLS mock in its own process)"),
                _ => ("http1", "client alone over https (HTTP/1.1, TLS mock in its own process)"),
            };
            let relay = format!("{{base_url: \"{base_url}\", auth: x-api-key, api_key_env: {KEY_ENV}, tls: {{ca_file: \"{}\", alpn: {alpn}}}}}", ca.display());
            measure(&runtime, label, &relay, streams);
            let _ = mock.kill();
            let _ = mock.wait();
            let _ = std::fs::remove_dir_all(certs);
        } else if set_up == "client" {
            std::env::set_var(KEY_ENV, KEY);
            let (mut mock, base_url) = support::start_mock(KEY, &["--ttft", "4s", "--tokens-per-s", "1000", "--jitter", "0"], None);
            let relay = format!("{{base_url: \"{base_url}\", auth: x-api-key, api_key_env: {KEY_ENV}}}");
            measure(&runtime, "client alone (mock in its own process)", &relay, streams);
            oha(&base_url, streams);
            let _ = mock.kill();
            let _ = mock.wait();
        } else {
            measure(&runtime, "client and mock in one process", &format!("{{mock: {MOCK}}}"), streams);
        }
        return;
    }
    let mut peaks = Vec::new();
    for case in ["client:1000", "client:10000", "tls:1000", "tls:10000", "h2:1000", "h2:10000", "both:1000", "both:4000"] {
        let out = Command::new(std::env::current_exe().expect("bench path")).env(CASE_ENV, case).stderr(Stdio::inherit()).output().expect("case");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            match line.strip_prefix(PEAK_LINE).map(|l| l.split_whitespace().collect::<Vec<_>>()) {
                Some(f) if !case.starts_with("both") && f.len() == 3 => {
                    peaks.push((f[0].to_owned(), f[1].parse().unwrap_or(0), f[2].parse().unwrap_or(0)));
                }
                Some(_) => {}
                None => println!("{line}"),
            }
        }
        assert!(out.status.success(), "case {case} failed");
    }
    print_slopes(&peaks);
}
