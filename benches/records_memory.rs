//! Memory with per-request records on, over a long run: the same closed loop against the
//! embedded mock (no delays) for 20,000 and then 80,000 requests, each in its own process
//! with `--records` (and one with `--records=gzip`), and once without records. Records are
//! streamed to disk, so the peak resident memory should not grow with the requests, and
//! should match the run without them.
//! Run: `cargo bench --bench records_memory`.

// criterion is not used here: one run's peak is the figure.
#![allow(missing_docs)]

mod support;

use std::path::Path;

fn main() {
    let dir = std::env::temp_dir().join(format!("relaybench-records-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let scenario = dir.join("records.yaml");
    std::fs::write(
        &scenario,
        "name: records\nseed: 1\ntarget: {mock: {ttft: 0ms, tokens_per_s: 1000000, jitter: 0, output_tokens: [8, 8]}}\n\
         model: claude-sonnet-4-5\nrequests:\n  - {stream: true, max_tokens: 16, prompt: hi}\n\
         load: {concurrency: 16, requests: 1000}\n",
    )
    .expect("scenario");
    let runs: [(&str, u64, Option<&str>); 4] = [("no records", 80_000, None), ("--records", 20_000, Some("--records")), ("--records", 80_000, Some("--records")), ("--records=gzip", 80_000, Some("--records=gzip"))];
    for (label, requests, flag) in runs {
        let out = dir.join(format!("out-{requests}-{}", label.replace(['-', '=', ' '], "")));
        let set = format!("load.requests={requests}");
        let mut args = vec!["run", scenario.to_str().expect("utf8"), "-q", "--out", out.to_str().expect("utf8"), "--set", &set];
        args.extend(flag);
        let (_, peak, status) = support::peak_of(&args);
        let size: u64 = walk(&out).iter().filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("requests.jsonl"))).map(|p| p.metadata().map_or(0, |m| m.len())).sum();
        match peak {
            Some(kib) => println!("{label:>15} {requests:>6} requests: peak {:.1} MiB, records {:.1} MiB on disk (exit {})", kib as f64 / 1024.0, size as f64 / 1048576.0, status.code().unwrap_or(-1)),
            None => println!("peak resident memory is read from /proc: Linux only"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
