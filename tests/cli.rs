//! The `relaybench` binary as a user runs it: exit codes, messages, and the report.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use relaybench::metrics::Metric;
use relaybench::mock::{MockConfig, MockServer};
use relaybench::report::{self, decode_histogram, Report};

const BIN: &str = env!("CARGO_BIN_EXE_relaybench");

fn scenario(target: &str, load: &str) -> String {
    format!(
        "name: t\ntarget: {target}\nmodel: claude-sonnet-4-5\nrequests:\n  - name: s\n    stream: true\n    max_tokens: 24\n    prompt: hi\n  - name: m\n    max_tokens: 24\n    prompt: hi\nload:\n{load}\n"
    )
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run relaybench")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}


#[test]
fn run_against_mock_writes_a_report_that_round_trips() {
    let dir = common::temp_dir("cli-ok");
    let out = dir.join("out");
    let file = common::write_file(&dir, "s.yaml", &scenario("{mock: {ttft: 5ms, tokens_per_s: 2000}}", "  concurrency: 4\n  requests: 40"));
    let o = run(&["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("report: "));
    let r = common::only_report(&out);
    assert_eq!(r.totals.requests, 40);
    assert_eq!(r.totals.by_outcome["ok"], 40);
    assert_eq!(r.templates.iter().map(|t| t.requests).sum::<u64>(), 40);
    assert!(!r.partial);
    // The JSON round-trips to the same report, and each histogram decodes to its count.
    let again: Report = serde_json::from_str(&serde_json::to_string(&r).expect("serialize")).expect("parse");
    assert_eq!(again, r);
    for m in Metric::ALL {
        let s = &r.metrics[m.id()];
        let h = decode_histogram(&s.histogram).expect("histogram decodes");
        assert_eq!(h.len(), s.count, "{}", m.id());
    }
    assert_eq!(r.metrics["e2e"].count, 40);
    assert_eq!(r.metrics["ttft"].count, r.totals.streamed);
    let md = common::only_report_dir(&out).join(report::SUMMARY_MD);
    assert!(std::fs::read_to_string(md).expect("summary").contains("| ttft | ms |"));
}

#[test]
fn scenario_typo_exits_2_naming_file_line_and_field() {
    let dir = common::temp_dir("cli-typo");
    let bad = scenario("mock", "  concurrency: 2\n  requests: 4").replace("max_tokens: 24\n    prompt", "max_tokns: 24\n    prompt");
    let file = common::write_file(&dir, "typo.yaml", &bad);
    let o = run(&["run", file.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("typo.yaml:7:5:"), "{err}");
    assert!(err.contains("unknown field `max_tokns`"), "{err}");
    assert_eq!(err.lines().count(), 1, "one clear message: {err}");
    let o = run(&["validate", file.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn unreachable_target_exits_3_with_one_message() {
    let dir = common::temp_dir("cli-unreachable");
    let target = format!("{{base_url: \"http://127.0.0.1:{}\", api_key_env: RB_TEST_KEY}}", common::closed_port());
    let file = common::write_file(&dir, "s.yaml", &scenario(&target, "  concurrency: 2\n  requests: 50"));
    let out = dir.join("out");
    let o = run(&["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"], &[("RB_TEST_KEY", "k")]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("target unreachable"), "{}", text(&o));
    // It stopped early instead of failing 50 times: after the streak of fatal outcomes
    // plus at most the other worker's request in flight. It still left a report.
    let r = common::only_report(&out);
    let bound = relaybench::load::collect::FATAL_STREAK + 1;
    assert!(r.totals.requests <= bound, "{} requests, bound {bound}", r.totals.requests);
    assert_eq!(r.totals.by_outcome["connect_error"], r.totals.requests);
}

#[test]
fn missing_key_variable_exits_2_naming_it() {
    let dir = common::temp_dir("cli-nokey");
    let file = common::write_file(&dir, "s.yaml", &scenario("{base_url: \"http://127.0.0.1:9\", api_key_env: RB_SURELY_UNSET_VAR}", "  concurrency: 1\n  requests: 1"));
    let o = run(&["run", file.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("RB_SURELY_UNSET_VAR"));
}

#[test]
fn wrong_key_exits_3_and_never_prints_the_key() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mock = runtime.block_on(MockServer::start_local(MockConfig::new("the-right-key"))).expect("mock");
    let dir = common::temp_dir("cli-wrongkey");
    let target = format!("{{base_url: \"{}\", auth: bearer, api_key_env: RB_TEST_KEY}}", mock.base_url());
    let file = common::write_file(&dir, "s.yaml", &scenario(&target, "  concurrency: 2\n  requests: 20"));
    let out = dir.join("out");
    let secret = "sk-wrong-SECRET-value";
    let o = run(&["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")], &[("RB_TEST_KEY", secret)]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("authentication refused"), "{}", text(&o));
    assert!(!text(&o).contains("SECRET"), "key leaked to output");
    for entry in std::fs::read_dir(&out).expect("out") {
        for file in std::fs::read_dir(entry.expect("dir").path()).expect("report dir") {
            let content = std::fs::read_to_string(file.expect("file").path()).expect("read");
            assert!(!content.contains("SECRET"), "key leaked to a report file");
        }
    }
    drop(mock);
}

#[cfg(unix)]
#[test]
fn sigint_mid_run_leaves_a_valid_partial_report() {
    let dir = common::temp_dir("cli-sigint");
    let out = dir.join("out");
    let file = common::write_file(&dir, "s.yaml", &scenario("{mock: {ttft: 20ms, tokens_per_s: 100}}", "  concurrency: 4\n  duration: 60s"));
    let (o, rest, _) = common::interrupt_after(&file, &out, &[Duration::from_millis(500)]);
    assert_eq!(o.status.code(), Some(130), "{}{rest}", text(&o));
    assert!(rest.contains("interrupted"), "{rest}");
    let r = common::only_report(&out);
    assert!(r.partial);
    assert!(r.totals.requests > 0, "requests finished before the signal are reported");
    assert_eq!(r.stopped_early.as_deref(), Some("interrupted by signal"));
    // CI reads the interruption as a failure, not as a green run of what happened to finish.
    let xml = std::fs::read_to_string(common::only_report_dir(&out).join(relaybench::report::JUNIT_XML)).expect("junit.xml");
    assert!(xml.contains("name=\"run completed\"") && xml.contains("interrupted by signal"), "{xml}");
    assert!(common::junit_counts(&xml).1 >= 1, "{xml}");
}

#[cfg(unix)]
#[test]
fn sigint_during_the_feature_suite_stops_it_and_reports_the_cases_run() {
    let dir = common::temp_dir("cli-sigint-features");
    let out = dir.join("out");
    // Each case takes about a second here: the suite alone would run for half a minute.
    let slow = scenario("{mock: {ttft: 300ms, tokens_per_s: 100, jitter: 0}}", "  concurrency: 1\n  requests: 5");
    let file = common::write_file(&dir, "s.yaml", &format!("{slow}features: all\n"));
    let (o, rest, stopped_after) = common::interrupt_after(&file, &out, &[Duration::from_millis(1500)]);
    // The case in flight is dropped at the signal; the other cases are not sent.
    assert!(stopped_after < Duration::from_secs(10), "stopped after {stopped_after:?}");
    assert_eq!(o.status.code(), Some(130), "{}{rest}", text(&o));
    let r = common::only_report(&out);
    assert!(r.partial);
    let all = relaybench::features::all().len();
    assert!((1..all).contains(&r.features.len()), "{} of {all} cases reported", r.features.len());
    assert_eq!(r.totals.requests, 0, "no load after the interrupt");
}

#[test]
fn shipped_scenarios_validate_and_smoke_runs_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for entry in std::fs::read_dir(&dir).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let o = run(&["validate", path.to_str().expect("utf8")], &[]);
            assert_eq!(o.status.code(), Some(0), "{}: {}", path.display(), text(&o));
            assert!(String::from_utf8_lossy(&o.stdout).contains(": ok (") && text(&o).contains("; targets: "), "{}", text(&o));
        }
    }
    let out = common::temp_dir("cli-smoke");
    let smoke = dir.join("smoke.yaml");
    let o = run(&["run", smoke.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = common::only_report(&out);
    assert_eq!(r.totals.requests, 400);
    assert_eq!(r.totals.by_outcome["ok"], 400, "{:?}", r.examples);
    let c = &r.conformance;
    assert_eq!((c.violations, c.warnings, c.infos), (0, 0, 0), "{:?}", c.rules);
    assert!(r.probes.iter().all(|p| p.passed), "{:?}", r.probes);
}

#[test]
fn progress_lines_go_to_stderr_unless_quiet() {
    let dir = common::temp_dir("cli-progress");
    let file = common::write_file(&dir, "s.yaml", &scenario("{mock: {ttft: 5ms, tokens_per_s: 2000}}", "  concurrency: 1\n  duration: 7s"));
    let out = dir.join("out");
    let o = run(&["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    // Not a terminal: a plain line every five seconds, never on stdout.
    let line = stderr.lines().find(|l| l.contains("[   5s] done ")).unwrap_or_else(|| panic!("no progress line: {stderr}"));
    // 5 s (and a few ms) of a planned 7 s: the bar shows 71% or 72%.
    assert!(line.starts_with("[##############......]  7"), "{line}");
    assert!(line.contains("in flight") && line.contains("req/s") && line.contains("ttft p50"), "{line}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("] done "), "progress stays off stdout");
    let quiet = run(&["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"], &[]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("] done "), "quiet prints no progress");
}

#[cfg(unix)]
#[test]
fn sigint_during_probes_stops_them_at_once() {
    // A server that accepts connections and never answers: each probe would wait its
    // whole two-minute timeout.
    let addr = common::silent_server();
    let dir = common::temp_dir("cli-sigint-probes");
    let out = dir.join("out");
    let target = format!("{{base_url: \"http://{addr}\", api_key_env: RELAYBENCH_TEST_PROBE_KEY}}");
    let yaml = format!("{}probes: [missing-max-tokens, wrong-key, unknown-model]\n", scenario(&target, "  concurrency: 1\n  requests: 1"));
    let file = common::write_file(&dir, "s.yaml", &yaml);
    std::env::set_var("RELAYBENCH_TEST_PROBE_KEY", "k");
    let (o, rest, stopped_after) = common::interrupt_after(&file, &out, &[Duration::from_millis(800)]);
    assert!(stopped_after < Duration::from_secs(10), "stopped after {stopped_after:?}");
    assert_eq!(o.status.code(), Some(130), "{}{rest}", text(&o));
    let r = common::only_report(&out);
    assert!(r.partial && r.probes.is_empty(), "no probe was answered: {:?}", r.probes);
    assert_eq!(r.totals.requests, 0, "no load after the interrupt");
}

#[test]
fn set_overrides_a_scenario_field_and_a_mistake_names_it() {
    let dir = common::temp_dir("cli-set");
    let file = common::write_file(&dir, "s.yaml", &scenario("{mock: {ttft: 5ms, tokens_per_s: 5000}}", "  concurrency: 1\n  requests: 3"));
    let out = dir.join("out");
    let o = run(&["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q", "--set", "load.requests=7", "--set", "load.concurrency=2"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = common::only_report(&out);
    assert_eq!((r.totals.requests, r.phases[0].load.concurrency), (7, Some(2)));
    // A misspelt field is refused as the YAML would be, naming the override.
    let o = run(&["validate", file.to_str().expect("utf8"), "--set", "load.concurency=64"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("unknown field `concurency`") && text(&o).contains("--set load.concurency=64"), "{}", text(&o));
    let o = run(&["validate", file.to_str().expect("utf8"), "--set", "load.requests"], &[]);
    assert!(o.status.code() == Some(2) && text(&o).contains("PATH=VALUE"), "{}", text(&o));
}

#[test]
fn quick_runs_an_ad_hoc_load_and_prints_a_scenario_that_validates() {
    let dir = common::temp_dir("cli-quick");
    let out = dir.join("out");
    let o = run(&["quick", "mock", "--duration", "1s", "--concurrency", "2", "--stream", "--prompt-tokens", "64", "--out", out.to_str().expect("utf8"), "-q"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = common::only_report(&out);
    assert!(r.totals.requests > 0 && r.totals.streamed == r.totals.requests, "{:?}", r.totals);
    assert_eq!(r.phases[0].load.concurrency, Some(2));
    // What it ran can be saved and grown: the printed scenario validates as a file.
    let printed = run(&["quick", "mock", "--rate", "5", "--duration", "3s", "--print-scenario"], &[]);
    let file = common::write_file(&dir, "saved.yaml", &String::from_utf8_lossy(&printed.stdout));
    let o = run(&["validate", file.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A bad value gets the scenario's own message.
    let o = run(&["quick", "mock", "--rate", "0"], &[]);
    assert!(o.status.code() == Some(2) && text(&o).contains("rate must be from 0.001"), "{}", text(&o));
}

#[test]
fn quick_without_keep_alive_opens_a_connection_per_request_and_says_so() {
    let dir = common::temp_dir("cli-no-keep-alive");
    for (fresh, args) in [(false, &[][..]), (true, &["--no-keep-alive"][..])] {
        let out = dir.join(format!("out-{fresh}"));
        let mut all = vec!["quick", "mock", "--duration", "1s", "--concurrency", "2", "--max-tokens", "8", "--out", out.to_str().expect("utf8")];
        all.extend_from_slice(args);
        let o = run(&all, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let r = common::only_report(&out);
        let opened = r.connections.as_ref().map(|c| c.opened);
        assert!(r.totals.requests > 2, "{:?}", r.totals);
        match fresh {
            true => {
                assert_eq!(opened, Some(r.totals.requests), "{:?}", r.connections);
                assert_eq!(r.phases[0].load.keep_alive, Some(false));
                assert!(text(&o).contains("2 in flight, a new connection per request"), "{}", text(&o));
            }
            false => {
                assert_eq!(opened, Some(2), "{:?}", r.connections);
                assert_eq!(r.phases[0].load.keep_alive, None);
            }
        }
    }
    let printed = run(&["quick", "mock", "--no-keep-alive", "--print-scenario"], &[]);
    assert!(String::from_utf8_lossy(&printed.stdout).contains("keep_alive: false"), "{}", text(&printed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_logs_each_streams_first_token_send_time_by_user_id() {
    use relaybench::client::{ApiKey, AuthStyle, Client, Target, Timeouts};
    let dir = common::temp_dir("cli-send-log");
    let log = dir.join("sent.tsv");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut mock = Command::new(BIN)
        .args(["mock", "--port", &port.to_string(), "--ttft", "30ms", "--send-log", log.to_str().expect("utf8")])
        .env("RELAYBENCH_MOCK_KEY", "k")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mock");
    let target = Target { base_url: format!("http://127.0.0.1:{port}"), auth: AuthStyle::XApiKey, api_key: ApiKey::new("k"), anthropic_version: Some("2023-06-01".into()), headers: Vec::new(), net: Default::default() };
    let client = Client::new(&target, Timeouts::default()).expect("client");
    let mut firsts = Vec::new();
    for (n, stream) in [(1, true), (2, true), (3, false)] {
        let body = || format!(r#"{{"model":"claude-sonnet-4-5","max_tokens":8,"stream":{stream},"metadata":{{"user_id":"u{n}"}},"messages":[{{"role":"user","content":"hi"}}]}}"#);
        let mut o = client.execute(body().into(), 0, stream, None, tokio::time::Instant::now()).await;
        for _ in 0..50 {
            if o.kind == relaybench::outcome::OutcomeKind::Ok {
                break;
            }
            // The mock may still be starting.
            tokio::time::sleep(Duration::from_millis(50)).await;
            o = client.execute(body().into(), 0, stream, None, tokio::time::Instant::now()).await;
        }
        assert_eq!(o.kind, relaybench::outcome::OutcomeKind::Ok, "{:?}", o.detail);
        firsts.push(std::time::SystemTime::now());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = mock.kill();
    let _ = mock.wait();
    let text = std::fs::read_to_string(&log).expect("the log");
    let keys: Vec<&str> = text.lines().filter_map(|l| l.split_once('\t').map(|(k, _)| k)).collect();
    // Streams only, each once; a Message has no first token to time.
    assert_eq!(keys.iter().filter(|k| **k == "u1").count(), 1, "{text}");
    assert_eq!(keys.iter().filter(|k| **k == "u2").count(), 1, "{text}");
    assert!(!keys.contains(&"u3"), "{text}");
    let line: Vec<u128> = text.lines().find(|l| l.starts_with("u2\t")).expect("u2").split('\t').skip(1).map(|v| v.parse().expect("nanoseconds")).collect();
    let [sent, due] = line[..] else { panic!("two times after the key: {text}") };
    let done = firsts[1].duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    assert!(sent <= done && done - sent < 5_000_000_000, "sent {sent} vs answered {done}");
    // Due 30 ms after the request arrived; sent on time, so within a few ms of it, never
    // before.
    assert!(sent >= due && sent - due < 20_000_000, "sent {sent} vs due {due}");
}
