//! A run split across N workers (`run --segment I/N`) sends together exactly what one
//! process sends: for each executor, the workers' requests (read back from their
//! `requests.jsonl`) hold every arrival number once, with the template and turn one process
//! gives it, and, for the open loops, due at the time one process gives it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_relaybench");
const TEMPLATES: &str = "requests:\n  - {name: a, max_tokens: 8, prompt: hi, weight: 3}\n  - {name: b, stream: true, max_tokens: 8, prompt: ho}\n  - {name: c, max_tokens: 8, prompt: hu, weight: 2}\n";

/// (arrival, turn) → (template, start in seconds from the run's start).
type Sent = BTreeMap<(u64, u64), (String, f64)>;

/// Runs `scenario` (a segment of it, or whole) into its own folder under `dir`, and
/// returns the lines of its requests.jsonl.
fn records(dir: &Path, scenario: &Path, segment: Option<&str>, tag: &str) -> Vec<serde_json::Value> {
    let out = dir.join(format!("{tag}-{}", segment.unwrap_or("whole").replace('/', "-")));
    let mut cmd = Command::new(BIN);
    cmd.args(["run", scenario.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q", "--records"]);
    if let Some(s) = segment {
        cmd.args(["--segment", s]);
    }
    let o = cmd.output().expect("run");
    assert_eq!(o.status.code(), Some(0), "{segment:?}: {}", String::from_utf8_lossy(&o.stderr));
    let (_, text) = common::files_under(&out).into_iter().find(|(p, _)| p.ends_with("requests.jsonl")).expect("requests.jsonl");
    text.lines().map(|line| serde_json::from_str(line).expect("json line")).collect()
}

fn run(dir: &Path, scenario: &Path, segment: Option<&str>) -> Sent {
    let mut sent = Sent::new();
    for v in records(dir, scenario, segment, "out") {
        let key = (v["arrival"].as_u64().expect("arrival"), v["turn"].as_u64().unwrap_or(0));
        let value = (v["template"].as_str().expect("template").to_owned(), v["start_s"].as_f64().expect("start"));
        assert!(sent.insert(key, value).is_none(), "{segment:?} sent {key:?} twice");
    }
    sent
}

/// Runs `load` whole and split 2, 3 and 7 ways; `timed` (an open loop) compares due times
/// and the owner of each arrival too.
fn splits_add_up(name: &str, load: &str, timed: bool, files: &[(&str, &str)]) {
    let dir = common::temp_dir(&format!("segments-{name}"));
    for (file, text) in files {
        common::write_file(&dir, file, text);
    }
    let text = format!("name: {name}\nseed: 9\ntarget: {{mock: {{ttft: 1ms, tokens_per_s: 50000, jitter: 0, output_tokens: [4, 8]}}}}\nmodel: claude-sonnet-4-5\n{TEMPLATES}load: {load}\n");
    let scenario = common::write_file(&dir, "s.yaml", &text);
    let whole = run(&dir, &scenario, None);
    assert!(whole.len() >= 20, "{name}: {} requests", whole.len());
    for n in [1u32, 2, 3, 7] {
        let mut together = Sent::new();
        for i in 0..n {
            for (key, value) in run(&dir, &scenario, Some(&format!("{i}/{n}"))) {
                if timed {
                    assert_eq!(key.0 % u64::from(n), u64::from(i), "{name}: worker {i}/{n} sent arrival {}", key.0);
                }
                assert!(together.insert(key, value).is_none(), "{name}: {key:?} sent by two workers of {n}");
            }
        }
        assert_eq!(together.keys().collect::<Vec<_>>(), whole.keys().collect::<Vec<_>>(), "{name}: {n} workers sent other requests");
        for (key, (template, at)) in &together {
            let (whole_template, whole_at) = &whole[key];
            assert_eq!(template, whole_template, "{name}: arrival {key:?} over {n} workers");
            if timed {
                assert!((at - whole_at).abs() < 0.015, "{name}: arrival {key:?} due at {at:.4} s over {n} workers, {whole_at:.4} s in one");
            }
        }
    }
}

#[test]
fn open_loops_split_into_the_same_schedule() {
    splits_add_up("constant", "{executor: constant-rate, rate: 40, requests: 24}", true, &[]);
    splits_add_up("poisson", "{executor: poisson, rate: 40, requests: 24}", true, &[]);
    splits_add_up("stages", "{executor: stages, stages: [{duration: 1s, target: 60}]}", true, &[]);
}

#[test]
fn a_trace_replay_splits_into_the_same_schedule() {
    let lines: Vec<String> = (0..24u64).map(|i| format!("{{\"timestamp\": {}, \"input_length\": {}, \"output_length\": 4}}", (i * 7) % 24 * 25, 20 + i)).collect();
    let trace = lines.join("\n") + "\n";
    let templates = "requests:\n  - {max_tokens: 8, prompt_tokens: 1}\n";
    let dir = common::temp_dir("segments-trace");
    common::write_file(&dir, "t.jsonl", &trace);
    let text = format!("name: trace\nseed: 9\ntarget: {{mock: {{ttft: 1ms, tokens_per_s: 50000, jitter: 0}}}}\nmodel: claude-sonnet-4-5\n{templates}load: {{executor: trace, trace: t.jsonl}}\n");
    let scenario = common::write_file(&dir, "s.yaml", &text);
    let whole = run(&dir, &scenario, None);
    assert_eq!(whole.len(), 24);
    for n in [2u32, 3, 7] {
        let mut together = Sent::new();
        for i in 0..n {
            together.extend(run(&dir, &scenario, Some(&format!("{i}/{n}"))));
        }
        assert_eq!(together.len(), 24, "{n} workers");
        for (key, (_, at)) in &together {
            assert!((at - whole[key].1).abs() < 0.015, "trace arrival {key:?} over {n} workers at {at:.4}, {:.4} in one", whole[key].1);
        }
    }
}

#[test]
fn closed_loops_and_sessions_split_the_budget_and_the_picks() {
    splits_add_up("closed", "{concurrency: 5, requests: 23}", false, &[]);
    let sessions = "{concurrency: 3, requests: 21}";
    let dir_text = format!("name: sessions\nseed: 9\ntarget: {{mock: {{ttft: 1ms, tokens_per_s: 50000, jitter: 0, output_tokens: [4, 8]}}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{name: talk, max_tokens: 8, prompt: hi, session: {{turns: 2}}}}\n  - {{name: once, max_tokens: 8, prompt: ho}}\nload: {sessions}\n");
    let dir = common::temp_dir("segments-sessions");
    let scenario = common::write_file(&dir, "s.yaml", &dir_text);
    let whole = run(&dir, &scenario, None);
    let mut together = Sent::new();
    for i in 0..3 {
        together.extend(run(&dir, &scenario, Some(&format!("{i}/3"))));
    }
    let picks = |s: &Sent| s.iter().map(|(k, (t, _))| (*k, t.clone())).collect::<Vec<_>>();
    assert_eq!(picks(&together), picks(&whole), "every conversation and turn, by the same template");
    assert!(whole.keys().any(|k| k.1 == 2), "some conversation had a second turn");
}

/// Every (arrival, template) a run sent, with how often: a sweep numbers each step's
/// arrivals from 0.
fn picks(dir: &Path, scenario: &Path, segment: Option<&str>) -> BTreeMap<(u64, String), u32> {
    let mut seen = BTreeMap::new();
    for v in records(dir, scenario, segment, "picks") {
        *seen.entry((v["arrival"].as_u64().expect("arrival"), v["template"].as_str().expect("template").to_owned())).or_default() += 1;
    }
    seen
}

#[test]
fn a_sweep_splits_each_step_into_the_same_arrivals() {
    let dir = common::temp_dir("segments-sweep");
    let text = format!("name: sweep\nseed: 9\ntarget: {{mock: {{ttft: 1ms, tokens_per_s: 50000, jitter: 0, output_tokens: [4, 8]}}}}\nmodel: claude-sonnet-4-5\n{TEMPLATES}load: {{executor: sweep, rates: [20, 40], step_duration: 500ms}}\n");
    let scenario = common::write_file(&dir, "s.yaml", &text);
    let whole = picks(&dir, &scenario, None);
    assert_eq!(whole.values().sum::<u32>(), 30, "10 and 20 arrivals in the two steps");
    let mut together: BTreeMap<(u64, String), u32> = BTreeMap::new();
    for i in 0..3 {
        for (key, n) in picks(&dir, &scenario, Some(&format!("{i}/3"))) {
            *together.entry(key).or_default() += n;
        }
    }
    assert_eq!(together, whole, "every step's arrivals, once each, with one process's templates");
}
