//! Memory per concurrent stream: N streams held open at once against the embedded mock
//! (a first token 4 s away, so every stream sits idle on its connection), measured as
//! the process's peak resident memory above its baseline, divided by N. The mock runs in
//! the same process, so each stream's figure holds both ends of its connection.
//! Run: `cargo bench --bench stream_memory`.

// criterion is not used here: one run's peak is the figure.
#![allow(missing_docs)]

use std::path::Path;

/// Peak resident memory of this process so far, in KiB (Linux).
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for streams in [1000, 4000] {
        let scenario = format!(
            "name: memory\nseed: 1\ntarget: {{mock: {{ttft: 4s, tokens_per_s: 1000, jitter: 0, output_tokens: [8, 8]}}}}\n\
             model: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\n\
             load: {{concurrency: {streams}, requests: {streams}, timeout: 30s}}\n"
        );
        let parsed = relaybench::scenario::parse(&scenario, Path::new("memory.yaml")).expect("scenario");
        let out = std::env::temp_dir().join("relaybench-memory-bench");
        let options = relaybench::run::RunOptions { out: Some(out), handle_signals: false, quiet: true, capture: None, records: None, sets: Vec::new(), metrics_listen: None, metrics_linger: None };
        let before = peak_kib();
        let done = runtime.block_on(relaybench::run::run(&parsed, Path::new("memory.yaml"), &options)).expect("run");
        let (Some(before), Some(after)) = (before, peak_kib()) else {
            println!("peak resident memory is read from /proc/self/status: Linux only");
            return;
        };
        let r = done.report();
        println!(
            "{streams} streams at once ({} ok): peak {} MiB, {:.1} KiB per stream above the {} MiB before",
            r.totals.by_outcome["ok"],
            after >> 10,
            after.saturating_sub(before) as f64 / streams as f64,
            before >> 10
        );
    }
}
