//! `relaybench merge`: three worker processes split one run against one mock; their
//! reports add up to exactly the sum of the parts, the merged percentiles are those of
//! every request's own figure (read from the workers' requests.jsonl), and the thresholds
//! are judged once, on the sum. Incomplete or mixed sets are refused or marked partial.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use relaybench::mock::{MockConfig, MockServer};
use relaybench::report::Report;

const BIN: &str = env!("CARGO_BIN_EXE_relaybench");
const KEY_VAR: &str = "RELAYBENCH_TEST_MERGE_KEY";

fn run(cmd: &mut Command) -> Output {
    cmd.env(KEY_VAR, "k").output().expect("relaybench")
}

fn worker(scenario: &Path, out: &Path, segment: &str) -> Report {
    let o = run(Command::new(BIN).args(["run", scenario.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q", "--records", "--segment", segment]));
    // Each worker's thresholds speak of the whole run: not judged on its part.
    assert_eq!(o.status.code(), Some(0), "{segment}: {}", String::from_utf8_lossy(&o.stderr));
    common::only_report(out)
}

fn merge(parts: &[&Path], out: &Path) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("merge").args(parts).args(["--out", out.to_str().expect("utf8")]);
    run(&mut cmd)
}

fn folder(out: &Path) -> PathBuf {
    std::fs::read_dir(out).expect("out").flatten().map(|e| e.path()).find(|p| p.is_dir()).expect("report folder")
}

/// The exact `q` quantile of `values` (nearest rank), to hold the merged histogram to.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1]
}

#[test]
fn three_workers_merge_into_exact_sums_and_one_verdict() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut config = MockConfig::new("k");
    config.latency.ttft = std::time::Duration::from_millis(4);
    let mock = runtime.block_on(MockServer::start_local(config)).expect("mock");
    let dir = common::temp_dir("merge");
    let scenario = format!(
        "name: merged\nseed: 4\ntarget: {{base_url: \"{}\", api_key_env: {KEY_VAR}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\n  - {{max_tokens: 16, prompt: ho}}\nload: {{executor: constant-rate, rate: 60, requests: 45}}\nthresholds: [requests == 45, ttft.p99 < 5s]\n",
        mock.base_url()
    );
    let file = common::write_file(&dir, "s.yaml", &scenario);
    let outs: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("w{i}"))).collect();
    let parts: Vec<Report> = outs.iter().enumerate().map(|(i, out)| worker(&file, out, &format!("{i}/3"))).collect();
    assert!(parts.iter().all(|p| !p.thresholds[0].passed), "requests == 45 fails on each third");
    let folders: Vec<PathBuf> = outs.iter().map(|o| folder(o)).collect();
    let merged_dir = dir.join("merged");
    let o = merge(&folders.iter().map(PathBuf::as_path).collect::<Vec<_>>(), &merged_dir);
    assert_eq!(o.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let m = relaybench::report::read(&merged_dir.join("report.json")).expect("merged report");

    let sum = |f: fn(&Report) -> u64| parts.iter().map(f).sum::<u64>();
    assert_eq!(m.totals.requests, 45);
    assert_eq!(m.totals.requests, sum(|r| r.totals.requests));
    assert_eq!(m.throughput.output_tokens, sum(|r| r.throughput.output_tokens));
    assert_eq!(m.throughput.input_tokens, sum(|r| r.throughput.input_tokens));
    for (id, metric) in &m.metrics {
        assert_eq!(metric.count, parts.iter().map(|r| r.metrics.get(id).map_or(0, |x| x.count)).sum::<u64>(), "{id}");
    }
    // Every request's own TTFT and e2e, from the workers' records.
    let mut ttft = Vec::new();
    let mut e2e = Vec::new();
    for out in &outs {
        let (_, text) = common::files_under(out).into_iter().find(|(p, _)| p.ends_with("requests.jsonl")).expect("records");
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            ttft.extend(v["ttft_ms"].as_f64());
            e2e.push(v["e2e_ms"].as_f64().expect("e2e"));
        }
    }
    assert_eq!(ttft.len() as u64, m.metrics["ttft"].count);
    for (values, id) in [(&mut ttft, "ttft"), (&mut e2e, "e2e")] {
        for (q, got) in [(0.5, m.metrics[id].p50), (0.9, m.metrics[id].p90), (0.99, m.metrics[id].p99)] {
            let exact = quantile(values, q);
            // Three significant figures, and the records' rounding to the microsecond.
            assert!((got - exact).abs() <= exact * 0.001 + 0.002, "{id} p{}: merged {got}, samples {exact}", q * 100.0);
        }
    }
    // The thresholds, judged once on the sum, hold; JUnit says so.
    assert!(m.thresholds.iter().all(|t| t.passed), "{:?}", m.thresholds);
    let junit = std::fs::read_to_string(merged_dir.join("junit.xml")).expect("junit");
    assert!(junit.contains("requests == 45") && !junit.contains("<failure"), "{junit}");
    let info = m.merge.expect("merge info");
    assert_eq!((info.segments, info.merged, info.missing.len()), (3, vec![0, 1, 2], 0));
    assert!(!m.partial);

    // One segment short: merged, marked partial, and no gate passes.
    let short = dir.join("short");
    let o = merge(&[folders[0].as_path(), folders[2].as_path()], &short);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("segments 1/3 are missing"), "{}", String::from_utf8_lossy(&o.stderr));
    let partial = relaybench::report::read(&short.join("report.json")).expect("partial report");
    assert!(partial.partial && partial.totals.requests == parts[0].totals.requests + parts[2].totals.requests);

    // A segment twice, or another run's report: refused.
    let o = merge(&[folders[0].as_path(), folders[0].as_path(), folders[1].as_path()], &dir.join("twice"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("segment 0/3 is given twice"));
    let other = common::write_file(&dir, "other.yaml", &scenario.replace("seed: 4", "seed: 5"));
    let other_out = dir.join("other");
    worker(&other, &other_out, "1/3");
    let o = merge(&[folders[0].as_path(), folder(&other_out).as_path()], &dir.join("mixed"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot merge with"), "{}", String::from_utf8_lossy(&o.stderr));
    drop(mock);
}

#[test]
fn a_comparison_split_across_workers_merges_per_target() {
    let dir = common::temp_dir("merge-compare");
    let mock = "{ttft: 2ms, tokens_per_s: 20000, jitter: 0, output_tokens: [4, 8]}";
    let text = format!("name: pair\nseed: 3\ntargets:\n  - {{name: a, mock: {mock}}}\n  - {{name: b, mock: {mock}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{max_tokens: 8, prompt: hi}}\nload: {{concurrency: 2, requests: 14}}\n");
    let file = common::write_file(&dir, "s.yaml", &text);
    let workers = dir.join("workers");
    for i in 0..2 {
        let o = run(Command::new(BIN).args(["run", file.to_str().expect("utf8"), "--out", workers.join(format!("w{i}")).to_str().expect("utf8"), "-q", "--segment", &format!("{i}/2")]));
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let out = dir.join("merged");
    let o = merge(&[workers.as_path()], &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for target in ["a", "b"] {
        let r = relaybench::report::read(&out.join(target).join("report.json")).expect("a target's merged report");
        assert_eq!((r.target.name.as_str(), r.totals.requests), (target, 14));
    }
    assert!(out.join("comparison.json").is_file(), "the comparison of the merged targets");
}
