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

/// The embedded mock on loopback with a first token `ttft_ms` away, accepting the key the
/// workers read from KEY_VAR; the runtime it runs on comes with it.
fn mock(ttft_ms: u64) -> (tokio::runtime::Runtime, MockServer) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut config = MockConfig::new("k");
    config.latency.ttft = std::time::Duration::from_millis(ttft_ms);
    let mock = runtime.block_on(MockServer::start_local(config)).expect("mock");
    (runtime, mock)
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
    let (_runtime, mock) = mock(4);
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
    let info = m.merge.as_ref().expect("merge info");
    // Every stream's TTFT is in its second's histogram: no sample is dropped, and each
    // merged second is the exact sum of the workers' seconds that fell in it (the workers
    // ran one after the other here: each is shifted by how much later it began).
    let second_count = |text: &Option<String>| text.as_deref().map_or(0, |t| relaybench::report::decode_histogram(t).expect("second histogram").len());
    assert_eq!(m.time_series.iter().map(|s| second_count(&s.ttft_histogram)).sum::<u64>(), ttft.len() as u64);
    for s in &m.time_series {
        let mut theirs = 0;
        for (p, w) in parts.iter().zip(&info.workers) {
            let shift = w.start_offset_s.round() as u64;
            theirs += p.time_series.iter().filter(|x| x.second + shift == s.second).map(|x| second_count(&x.ttft_histogram)).sum::<u64>();
        }
        assert_eq!(second_count(&s.ttft_histogram), theirs, "second {}", s.second);
        assert_eq!(s.ttft_p50_ms.is_some(), theirs > 0, "second {}", s.second);
    }
    assert_eq!((info.segments, info.merged.clone(), info.missing.len()), (3, vec![0, 1, 2], 0));
    assert!(!m.partial);
    // The workers, each with its own figures and its clock against the mock's.
    let requests: Vec<u64> = info.workers.iter().map(|w| w.requests).collect();
    assert_eq!(requests, parts.iter().map(|p| p.totals.requests).collect::<Vec<_>>());
    for w in &info.workers {
        assert!(w.send_lag_p99_ms.is_some(), "an open loop's send lag: {w:?}");
        let (offset, uncertainty) = (w.clock_offset_ms.expect("the mock sends Date"), w.clock_uncertainty_ms.expect("bounds"));
        // One machine: the mock's clock is this one, so the bounds hold zero.
        assert!(offset.abs() <= uncertainty + 1.0 && uncertainty < 1000.0, "{w:?}");
    }
    let summary = std::fs::read_to_string(merged_dir.join("summary.md")).expect("summary");
    assert!(summary.contains("## Workers") && summary.contains("Merged from segments 0, 1, 2 of 3"), "{summary}");
    let html = std::fs::read_to_string(merged_dir.join("report.html")).expect("html");
    assert!(html.contains("Send lag by worker") && html.contains("Requests per second by worker"));

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

#[test]
fn a_split_sweep_is_judged_again_step_by_step_on_the_sum() {
    let (_runtime, mock) = mock(2);
    let dir = common::temp_dir("merge-sweep");
    // Each worker sends half of every phase: on its own no worker meets `requests == 12`
    // nor the SLO's `requests >= 15`; on the sum, both hold.
    let scenario = format!(
        "name: split-sweep\nseed: 6\ntarget: {{base_url: \"{}\", api_key_env: {KEY_VAR}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 8, prompt: hi}}\ngoodput: {{ttft: 5s}}\n\
         phases:\n  - {{name: warm, load: {{executor: constant-rate, rate: 40, requests: 12}}, thresholds: [requests == 12]}}\n  - {{name: climb, load: {{executor: sweep, rates: [20, 40], step_duration: 1s, slo: [requests >= 15]}}}}\n\
         thresholds: [goodput > 0.99]\n",
        mock.base_url()
    );
    let file = common::write_file(&dir, "s.yaml", &scenario);
    let at = relaybench::conformance::limits::format_rfc3339(relaybench::conformance::limits::unix_now() + 2.0);
    let children: Vec<_> = (0..2)
        .map(|i| {
            let out = dir.join(format!("w{i}"));
            Command::new(BIN)
                .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q", "--segment", &format!("{i}/2"), "--start-at", &at])
                .env(KEY_VAR, "k")
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("worker")
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().expect("worker ends");
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let parts: Vec<Report> = (0..2).map(|i| common::only_report(&dir.join(format!("w{i}")))).collect();
    for p in &parts {
        assert!(!p.phases[0].thresholds[0].passed, "a worker's half of the warm phase: {:?}", p.phases[0].thresholds);
        assert_eq!(p.phases[1].sweep.as_ref().expect("sweep").max_rate_within_slo, None, "a worker's half of each step misses the SLO");
    }
    let out = dir.join("merged");
    let o = merge(&[dir.join("w0").as_path(), dir.join("w1").as_path()], &out);
    assert_eq!(o.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let m = relaybench::report::read(&out.join("report.json")).expect("merged");
    assert_eq!(m.phases.len(), 2);
    let warm = &m.phases[0];
    assert_eq!(warm.figures.requests, 12);
    assert!(warm.thresholds[0].passed, "{:?}", warm.thresholds);
    let sweep = m.phases[1].sweep.as_ref().expect("merged sweep");
    for (k, step) in sweep.steps.iter().enumerate() {
        let theirs: u64 = parts.iter().map(|p| p.phases[1].sweep.as_ref().expect("sweep").steps[k].figures.requests).sum();
        assert_eq!(step.figures.requests, theirs, "step {k}");
        assert!(step.slo_passed, "step {k}: {:?}", step.slo);
    }
    assert_eq!(sweep.max_rate_within_slo, Some(40.0));
    // Goodput: each worker's met requests added, its share and the threshold judged on them.
    let goodput = m.goodput.as_ref().expect("goodput");
    assert_eq!(goodput.requests, parts.iter().map(|p| p.goodput.as_ref().expect("goodput").requests).sum::<u64>());
    assert!((goodput.ratio - goodput.requests as f64 / m.totals.requests as f64).abs() < 1e-12);
    assert!(m.thresholds.iter().any(|t| t.expression == "goodput > 0.99" && t.passed), "{:?}", m.thresholds);
    // The default gate, which the scenario did not write, is judged again too.
    assert!(m.thresholds.iter().any(|t| t.expression == "error_rate < 100% (default)" && t.passed), "{:?}", m.thresholds);
    assert!(!m.merge.as_ref().expect("merge").left_out.contains(&"phases".to_owned()));
    // The sums a segment keeps for the merge are not carried further.
    assert!(m.phases.iter().all(|p| p.figures.sums.is_none()));
    drop(mock);
}

#[test]
fn conversations_split_across_workers_merge_turn_by_turn() {
    let dir = common::temp_dir("merge-turns");
    let text = "name: chats\nseed: 8\ntarget: {mock: {ttft: 2ms, tokens_per_s: 20000, jitter: 0, output_tokens: [8, 16]}}\nmodel: claude-sonnet-4-5\n\
                requests:\n  - {name: chat, stream: true, max_tokens: 32, prompt_tokens: 50, session: {turns: 3, think_time: 1ms}}\n\
                load: {concurrency: 3, requests: 6}\n";
    let file = common::write_file(&dir, "s.yaml", text);
    let parts: Vec<Report> = (0..2).map(|i| worker(&file, &dir.join(format!("w{i}")), &format!("{i}/2"))).collect();
    let out = dir.join("merged");
    let o = merge(&[dir.join("w0").as_path(), dir.join("w1").as_path()], &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let m = relaybench::report::read(&out.join("report.json")).expect("merged");
    assert_eq!(m.turns.len(), 3, "{:?}", m.turns);
    for t in &m.turns {
        let theirs: Vec<_> = parts.iter().flat_map(|p| p.turns.iter().filter(|x| x.turn == t.turn)).collect();
        assert_eq!(t.requests, theirs.iter().map(|x| x.requests).sum::<u64>(), "turn {}", t.turn);
        assert_eq!(t.metrics["ttft"].count, theirs.iter().map(|x| x.metrics["ttft"].count).sum::<u64>(), "turn {}", t.turn);
        // Every request of a turn was ok with usage: the merged mean is the requests' mean.
        let total: f64 = theirs.iter().map(|x| x.input_tokens_reported.expect("usage") * x.requests as f64).sum();
        let mean = t.input_tokens_reported.expect("merged mean");
        assert!((mean - total / t.requests as f64).abs() < 1e-9, "turn {}: {mean}", t.turn);
    }
    assert_eq!(m.turns.iter().map(|t| t.requests).sum::<u64>(), m.totals.requests);
    assert!(!m.merge.expect("merge").left_out.contains(&"turns".to_owned()));
}
