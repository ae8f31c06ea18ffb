//! Conformance end to end: captured bodies through `relaybench check`, and findings from
//! a live run reaching the report and the exit code.

mod common;

use std::process::Command;

use relaybench::mock::{MockConfig, MockServer};

const BIN: &str = env!("CARGO_BIN_EXE_relaybench");

fn check(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(BIN).arg("check").args(args).output().expect("run check");
    (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_mock_bodies_pass_and_their_mutations_fail() {
    let mut config = MockConfig::new("k");
    config.latency.ttft = std::time::Duration::from_millis(1);
    config.latency.tokens_per_s = 10_000.0;
    let mock = MockServer::start_local(config).await.expect("mock");
    let dir = common::temp_dir("check");
    let tools = r#""tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]"#;
    let stream_body = format!(r#"{{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{{"role":"user","content":"hi"}}],{tools}}}"#);
    let (head, sse) = common::capture(&mock.base_url(), &stream_body).await;
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    let (_, message) = common::capture(&mock.base_url(), r#"{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#).await;
    let (head, error) = common::capture(&mock.base_url(), r#"{"model":"claude-sonnet-4-5","messages":[]}"#).await;
    assert!(head.starts_with("HTTP/1.0 400"), "{head}");

    let clean = common::write_file(&dir, "clean.sse", &String::from_utf8_lossy(&sse));
    let msg = common::write_file(&dir, "message.json", &String::from_utf8_lossy(&message));
    let err = common::write_file(&dir, "error.json", &String::from_utf8_lossy(&error));
    let (code, out) = check(&[clean.to_str().expect("utf8"), msg.to_str().expect("utf8")]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check(&["--status", "400", err.to_str().expect("utf8")]);
    assert_eq!(code, Some(0), "{out}");

    let text = String::from_utf8_lossy(&sse).into_owned();
    let stop = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    assert!(text.ends_with(stop), "capture ends with message_stop");
    let cut = common::write_file(&dir, "cut.sse", text.trim_end_matches(stop));
    let (code, out) = check(&[cut.to_str().expect("utf8")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("error stream.missing-message-stop"), "{out}");
    assert_eq!(out.lines().filter(|l| l.contains(" stream.")).count(), 1, "only that rule: {out}");

    let renamed = common::write_file(&dir, "renamed.sse", &text.replacen("event: content_block_stop", "event: content_block_end", 1));
    let (code, out) = check(&[renamed.to_str().expect("utf8")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("stream.event-name-mismatch"), "{out}");
}

#[test]
fn relay_error_envelope_is_flagged_offline() {
    let dir = common::temp_dir("check-envelope");
    // The error shape the DimiLinks document specifies.
    let file = common::write_file(&dir, "e.json", r#"{"error":{"message":"invalid key","type":"authentication_error","code":"invalid_api_key"}}"#);
    let (code, out) = check(&["--status", "401", file.to_str().expect("utf8")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("error envelope.shape"), "{out}");
    let (code, _) = check(&[dir.join("missing.sse").to_str().expect("utf8")]);
    assert_eq!(code, Some(2));
}

#[test]
fn live_run_reports_findings_and_exits_1() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // A complete, well-ordered stream whose stop_reason is null.
    let body = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null,\"stop_sequence\":null},\"usage\":{\"output_tokens\":1}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let response = [b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_1\r\nconnection: close\r\n\r\n".as_slice(), body.as_bytes()].concat();
    let url = runtime.block_on(common::bad_server(common::Script::Bytes(response)));
    let dir = common::temp_dir("check-live");
    let scenario = format!(
        "name: t\ntarget: {{base_url: \"{url}\", api_key_env: RB_TEST_KEY}}\nmodel: m\nrequests:\n  - stream: true\n    max_tokens: 8\n    prompt: hi\nload:\n  concurrency: 2\n  requests: 6\n"
    );
    let file = common::write_file(&dir, "s.yaml", &scenario);
    let out = dir.join("out");
    let o = Command::new(BIN)
        .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"])
        .env("RB_TEST_KEY", "k")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let r = common::only_report(&out);
    assert_eq!(r.totals.by_outcome["ok"], 6, "the responses themselves completed");
    assert_eq!(r.conformance.verdict, "fail");
    let rule = &r.conformance.rules["stream.stop-reason-null"];
    assert_eq!(rule.count, 6);
    assert_eq!(rule.severity, "error");
    assert!(!rule.examples.is_empty() && rule.examples[0].event_index == Some(4));
    assert_eq!(r.conformance.rules.len(), 1, "{:?}", r.conformance.rules.keys());
}

#[test]
fn probes_that_succeed_are_findings_naming_what_came_back() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // A relay that answers every request with the same 200 Message, however wrong.
    let message = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}"#;
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{message}",
        message.len()
    );
    let url = runtime.block_on(common::bad_server(common::Script::Bytes(response.into_bytes())));
    let dir = common::temp_dir("probes");
    let probes: String = relaybench::probes::BUILTIN.iter().map(|p| format!("  - {p}\n")).collect();
    let scenario = format!(
        "name: t\ntarget: {{base_url: \"{url}\", api_key_env: RB_TEST_KEY}}\nmodel: m\nrequests:\n  - max_tokens: 8\n    prompt: hi\nload:\n  concurrency: 1\n  requests: 2\nprobes:\n{probes}"
    );
    let file = common::write_file(&dir, "s.yaml", &scenario);
    let out = dir.join("out");
    let o = Command::new(BIN)
        .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")])
        .env("RB_TEST_KEY", "k")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    let all = relaybench::probes::BUILTIN.len();
    assert!(stdout.contains(&format!("probes 0/{all} passed")), "{stdout}");
    for line in ["wrong-key (expected 401 authentication_error, got 200)", "no-key (expected 401 authentication_error, got 200)", "body-not-json (expected 400 invalid_request_error, got 200)"] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    let r = common::only_report(&out);
    assert_eq!(r.totals.requests, 2, "probes are not load");
    assert_eq!(r.conformance.rules["probe.unexpected-response"].count, all as u64);
    assert!(r.conformance.rules["probe.unexpected-response"].examples[0].template.starts_with("probe:"));
}

#[test]
fn clean_mock_yields_no_finding_over_thousands_of_mixed_requests() {
    let scenario = r#"
name: thousands
seed: 9
target: {mock: {ttft: 1ms, tokens_per_s: 50000, output_tokens: [8, 64]}}
model: claude-sonnet-4-5
requests:
  - {name: text, stream: true, max_tokens: 128, prompt: hi}
  - {name: text-message, stream: false, max_tokens: 128, prompt: hi}
  - {name: truncated, stream: true, max_tokens: 4, prompt: go on}
  - {name: truncated-message, stream: false, max_tokens: 4, prompt: go on}
  - {name: stop-sequence, stream: true, max_tokens: 128, prompt: hi, stop_sequences: [" the"]}
  - {name: stop-sequence-message, stream: false, max_tokens: 128, prompt: hi, stop_sequences: [" the"]}
  - name: tool
    stream: true
    max_tokens: 256
    prompt: weather?
    tools: [{name: get_weather, input_schema: {type: object, properties: {city: {type: string}}, required: [city]}}]
  - name: tool-message
    stream: false
    max_tokens: 256
    prompt: weather?
    tools: [{name: get_weather, input_schema: {type: object, properties: {city: {type: string}}, required: [city]}}]
    tool_choice: {type: any}
  - name: tool-none
    stream: true
    max_tokens: 64
    prompt: weather?
    tools: [{name: get_weather, input_schema: {type: object}}]
    tool_choice: {type: none}
  - name: tool-result
    stream: true
    max_tokens: 64
    messages:
      - {role: user, content: weather?}
      - {role: assistant, content: [{type: tool_use, id: toolu_1, name: get_weather, input: {city: Paris}}]}
      - {role: user, content: [{type: tool_result, tool_use_id: toolu_1, content: "18C"}]}
    tools: [{name: get_weather, input_schema: {type: object}}]
  - {name: thinking, stream: true, max_tokens: 2048, prompt: think, thinking: {type: enabled, budget_tokens: 1024}}
  - {name: thinking-message, stream: false, max_tokens: 2048, prompt: think, thinking: {type: enabled, budget_tokens: 1024}}
  - {name: unknown-model, stream: true, max_tokens: 8, prompt: hi, model: no-such-model}
  - {name: bad-temperature, stream: false, max_tokens: 8, prompt: hi, temperature: 3}
load: {concurrency: 16, requests: 2000}
"#;
    let r = common::run_ok("thousands", scenario);
    assert_eq!(r.totals.requests, 2000);
    assert!(r.totals.by_outcome["http_error"] > 0, "the error templates ran");
    assert!(r.templates.iter().all(|t| t.requests > 0), "every shape ran");
    let c = &r.conformance;
    assert_eq!((c.violations, c.warnings, c.infos), (0, 0, 0), "{:?}", c.rules);
}

#[test]
fn real_api_shapes_pass_check_and_unknown_types_are_named() {
    // tests/fixtures/real-api/README.md says where each shape comes from.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-api");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let args = match name.as_str() {
            "README.md" => continue,
            "error-extra-keys.json" => vec!["--status", "529", path.to_str().expect("utf8")],
            _ => vec![path.to_str().expect("utf8")],
        };
        let (code, out) = check(&args);
        assert_eq!(code, Some(0), "{name}: {out}");
        assert!(!out.contains(" error ") && !out.contains(" warn "), "{name}: {out}");
        checked += 1;
    }
    assert_eq!(checked, 8);
    let (_, out) = check(&[dir.join("iterations-compaction.sse").to_str().expect("utf8")]);
    assert!(out.contains("info content.unknown-block") && out.contains("\"compaction\""), "{out}");
}
