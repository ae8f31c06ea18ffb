//! Workloads shaped like real traffic, run against the embedded mock: prompts sized in
//! tokens whose time to first token follows the mock's prefill model, input tokens
//! requested against reported, per-template figures, drawn `max_tokens`.

mod common;

use std::process::Command;

#[test]
fn ttft_rises_with_generated_input_as_the_prefill_model_says_and_counts_agree() {
    // 50us per input token: 1k tokens add 51 ms, 8k add 410 ms.
    let scenario = "name: sizes\nseed: 3\ntarget: {mock: {ttft: 20ms, prefill_per_token: 50us, tokens_per_s: 1000, jitter: 0}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {name: small, stream: true, max_tokens: 16, prompt_tokens: 1024}\n  - {name: large, stream: true, max_tokens: 16, prompt_tokens: 8192}\n  - {name: whole, stream: false, max_tokens: 16, prompt_tokens: {distribution: uniform, min: 100, max: 3000}}\nload: {concurrency: 4, requests: 36}\n";
    let r = common::run_ok("workload-sizes", scenario);
    assert_eq!(r.totals.requests, 36);
    assert_eq!(r.conformance.violations, 0);
    let template = |name: &str| r.templates.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("template {name}"));
    for (name, tokens) in [("small", 1024.0), ("large", 8192.0)] {
        let t = template(name);
        assert!(t.requests > 0, "{name} ran");
        // On the mock the token rule is shared: requested and reported agree exactly.
        assert_eq!((t.input_tokens_requested, t.input_tokens_reported), (Some(tokens), Some(tokens)), "{name}");
        let ttft = t.metrics.get("ttft").expect("per-template ttft");
        let floor = 20.0 + 0.05 * tokens;
        assert!(ttft.p50 >= floor && ttft.p50 < floor * 1.5 + 150.0, "{name}: ttft p50 {} against a prefill model of {floor} ms", ttft.p50);
        assert!(t.metrics.get("tpot").is_some_and(|s| s.count == t.requests), "{name}: tpot for every stream");
    }
    assert!(template("large").metrics["ttft"].p50 > template("small").metrics["ttft"].p50 + 200.0);
    let whole = template("whole");
    assert_eq!(whole.input_tokens_requested, whole.input_tokens_reported, "drawn sizes agree request by request");
    assert!(!whole.metrics.contains_key("ttft"), "a Message has no TTFT, and its template shows none");
    assert!(r.throughput.input_tokens_per_s > 0.0);
    assert_eq!(r.metrics["tpot"].count, template("small").requests + template("large").requests);
    // The mock sends one token per delta, so each ITL gap is one token's.
    let per_delta = &r.metrics["tokens_per_delta"];
    assert_eq!((per_delta.min, per_delta.max, per_delta.count), (1.0, 1.0, r.metrics["tpot"].count));
}

#[test]
fn a_drawn_max_tokens_is_held_request_by_request() {
    // The mock would write 50 to 60 tokens, so every reply stops at its own max_tokens;
    // were a request held to another request's bound, request.max-tokens would fire.
    let scenario = "name: drawn\nseed: 5\ntarget: {mock: {ttft: 5ms, tokens_per_s: 5000, jitter: 0, output_tokens: [50, 60]}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {stream: true, prompt: Tell me a story., max_tokens: {distribution: uniform, min: 4, max: 12}}\n  - {stream: false, prompt: Tell me a story., unique: true, max_tokens: {distribution: empirical, values: [{value: 5, weight: 1}, {value: 9, weight: 1}]}}\nload: {concurrency: 4, requests: 60}\n";
    let r = common::run_ok("workload-drawn", scenario);
    assert_eq!(r.totals.by_outcome["ok"], 60);
    assert_eq!((r.conformance.violations, r.conformance.warnings), (0, 0), "{:?}", r.conformance.rules);
    let per_request = r.throughput.output_tokens as f64 / 60.0;
    assert!((4.0..=12.0).contains(&per_request), "{per_request} output tokens per request");
    assert!(r.metrics["output_tokens_per_s"].count > 0);
}

#[test]
fn a_bad_distribution_is_a_scenario_error_with_its_line() {
    let dir = common::temp_dir("workload-bad");
    let file = common::write_file(
        &dir,
        "s.yaml",
        "name: bad\ntarget: mock\nmodel: m\nrequests:\n  - stream: true\n    max_tokens: 16\n    prompt_tokens: {distribution: normal, mean: 500, min: 10, max: 900}\nload: {concurrency: 1, requests: 1}\n",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["validate", file.to_str().expect("utf8")]).output().expect("validate");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("s.yaml:7:") && stderr.contains("the normal distribution needs `stddev`"), "{stderr}");
}

#[test]
fn goodput_counts_the_requests_that_met_every_bound_they_can_be_held_to() {
    // Fast streams start in about 71 ms, slow ones in about 430 ms; a Message has no TTFT
    // and is judged on e2e alone. With no jitter every request lands on its side.
    let scenario = "name: goodput\nseed: 2\ntarget: {mock: {ttft: 20ms, prefill_per_token: 50us, tokens_per_s: 2000, jitter: 0}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {name: fast, stream: true, max_tokens: 8, prompt_tokens: 1024}\n  - {name: slow, stream: true, max_tokens: 8, prompt_tokens: 8192}\n  - {name: message, stream: false, max_tokens: 8, prompt_tokens: 100}\nload: {concurrency: 4, requests: 30}\ngoodput: {ttft: 250ms, e2e: 2s}\nthresholds: [goodput > 10%, goodput_per_s > 0]\n";
    let r = common::run_ok("workload-goodput", scenario);
    let count = |name: &str| r.templates.iter().find(|t| t.name == name).map_or(0, |t| t.requests);
    let g = r.goodput.as_ref().expect("goodput in the report");
    assert!(count("slow") > 0 && count("fast") > 0 && count("message") > 0);
    assert_eq!(g.requests, count("fast") + count("message"));
    assert_eq!((g.ttft_ms, g.tpot_ms, g.e2e_ms), (Some(250.0), None, Some(2000.0)));
    assert!((g.ratio - g.requests as f64 / 30.0).abs() < 1e-9);
    assert!(r.thresholds.iter().all(|t| t.passed), "{:?}", r.thresholds);
    // Streams and Messages apart: a Message's head waits for its whole answer (25 ms at
    // least here), a stream's does not wait for the first token (20 ms at least).
    let (streamed, whole) = (&r.by_stream["streamed"], &r.by_stream["not_streamed"]);
    assert_eq!((streamed.requests, whole.requests), (count("fast") + count("slow"), count("message")));
    assert!(whole.metrics["ttfb"].min >= 25.0 && streamed.metrics["ttfb"].p50 < 20.0, "{:?} {:?}", whole.metrics["ttfb"], streamed.metrics["ttfb"]);
    assert!(!whole.metrics.contains_key("ttft") && streamed.metrics["ttft"].count == streamed.requests);

    // A goodput threshold without the SLO it counts is a scenario mistake.
    let dir = common::temp_dir("workload-goodput-bad");
    let file = common::write_file(&dir, "s.yaml", &scenario.replace("goodput: {ttft: 250ms, e2e: 2s}\n", ""));
    let o = Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["validate", file.to_str().expect("utf8")]).output().expect("validate");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the threshold `goodput > 10%` needs `goodput:"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_prompt_cache_workload_reports_the_hits_the_mock_produced() {
    // Prefixes of 2000 tokens: always shared, never shared, shared half the time. With a
    // prefill of 50us a token, a miss waits 100 ms more for its first token than a hit.
    let scenario = "name: cache\nseed: 4\ntarget: {mock: {ttft: 20ms, prefill_per_token: 50us, tokens_per_s: 2000, jitter: 0}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {name: always, stream: true, max_tokens: 8, prompt_tokens: 100, shared_prefix: {tokens: 2000, reuse: 1}}\n  - {name: never, stream: true, max_tokens: 8, prompt_tokens: 100, shared_prefix: {tokens: 2000, reuse: 0}}\n  - {name: half, stream: false, max_tokens: 8, prompt: Say hello., shared_prefix: {tokens: 2000, reuse: 0.5}}\nload: {concurrency: 4, requests: 90}\n";
    let r = common::run_ok("workload-cache", scenario);
    assert_eq!((r.totals.by_outcome["ok"], r.conformance.violations, r.conformance.warnings), (90, 0, 0), "{:?}", r.conformance.rules);
    let template = |name: &str| r.templates.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name}"));
    let cache = |name: &str| template(name).cache.clone().unwrap_or_else(|| panic!("{name} shows cache activity"));

    // Always shared: written once (however many first requests race), read by every other.
    let (k, c) = (template("always").requests, cache("always"));
    assert!(k > 2);
    assert_eq!((c.writes, c.hits, c.written_tokens, c.read_tokens), (1, k - 1, 2000, (k - 1) * 2000));
    assert_eq!(c.hit_ratio, ((k - 1) * 2000) as f64 / (k * 2100) as f64, "exactly what the mock's usage said");
    let (hit, miss) = (c.ttft_hit.expect("hits").p50, c.ttft_miss.expect("a miss").p50);
    assert!(hit < 80.0 && miss >= 120.0, "ttft p50 on a hit {hit} ms, on a miss {miss} ms");

    // Never shared: every request writes its own prefix, none reads.
    let (k, c) = (template("never").requests, cache("never"));
    assert_eq!((c.writes, c.hits, c.read_tokens, c.written_tokens, c.hit_ratio), (k, 0, 0, k * 2000, 0.0));

    // Shared half the time: each request either wrote or read the whole prefix.
    let (k, c) = (template("half").requests, cache("half"));
    assert_eq!((c.hits + c.writes, c.read_tokens, c.written_tokens), (k, c.hits * 2000, c.writes * 2000));
    assert!(c.hits > 0 && c.writes > 1, "{c:?}");
    // `Say hello.` is two tokens more than the prefix.
    assert_eq!(c.hit_ratio, (c.hits * 2000) as f64 / (k * 2002) as f64);
    assert_eq!(template("half").input_tokens_requested, template("half").input_tokens_reported);
}

#[test]
fn a_trace_replays_at_its_timestamps_with_its_sizes() {
    let dir = common::temp_dir("workload-trace");
    // 30 requests over 1.45 s, out of order in the file; sizes 300 to 1170 tokens.
    let records: Vec<(u64, u64, u64)> = (0..30u64).map(|i| ((i * 37) % 30 * 50, 300 + i * 30, 4 + i % 5)).collect();
    let lines: Vec<String> = records
        .iter()
        .map(|(t, input, output)| format!("{{\"timestamp\": {t}, \"input_length\": {input}, \"output_length\": {output}, \"hash_ids\": [1, {t}]}}"))
        .collect();
    common::write_file(&dir, "t.jsonl", &(lines.join("\n") + "\n"));
    let scenario = "name: trace\nseed: 6\ntarget: {mock: {ttft: 5ms, tokens_per_s: 5000, jitter: 0, output_tokens: [50, 60]}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {stream: true, prompt_tokens: 1, max_tokens: 1}\nload: {executor: trace, trace: t.jsonl, block_tokens: 256}\n";
    let file = common::write_file(&dir, "s.yaml", scenario);
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"]).output().expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = common::only_report(&out);
    assert_eq!((r.totals.requests, r.totals.by_outcome["ok"], r.totals.dropped), (30, 30, 0));
    assert_eq!(r.metrics["send_lag"].count, 30);
    assert!(r.metrics["send_lag"].p99 < 100.0, "each request sent when due: {:?}", r.metrics["send_lag"]);
    assert!(r.duration_s >= 1.45, "the last request is due 1.45 s in: {}", r.duration_s);
    // Every record's input, exactly, by the shared token rule; every reply cut at its own
    // output length (the mock would write 50 or more).
    let t = &r.templates[0];
    let mean_input = records.iter().map(|r| r.1).sum::<u64>() as f64 / 30.0;
    assert_eq!((t.input_tokens_requested, t.input_tokens_reported), (Some(mean_input), Some(mean_input)));
    assert_eq!(r.throughput.output_tokens, records.iter().map(|r| r.2).sum::<u64>());
    assert_eq!(r.conformance.violations, 0);

    // A bad record stops the run before anything is sent, naming the trace's line.
    common::write_file(&dir, "t.jsonl", "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 5}\n{\"timestamp\": 5, \"input_length\": 10}\n");
    let o = Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["validate", file.to_str().expect("utf8")]).output().expect("validate");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("t.jsonl:2:") || stderr.contains("t.jsonl: line 2"), "{stderr}");
    assert!(stderr.contains("missing field `output_length`"), "{stderr}");
}

#[test]
fn datasets_are_sent_record_by_record_once_or_cycled() {
    let dir = common::temp_dir("workload-dataset");
    // Twelve records of 1 to 12 words (and a two-word system prompt on every third).
    let lines: Vec<String> = (1..=12)
        .map(|n| {
            let system = if n % 3 == 0 { "\"system\": \"Be brief.\", " } else { "" };
            format!("{{{system}\"messages\": [{{\"role\": \"user\", \"content\": \"{}\"}}]}}", vec!["word"; n].join(" "))
        })
        .collect();
    common::write_file(&dir, "p.jsonl", &(lines.join("\n") + "\n"));
    common::write_file(
        &dir,
        "c.json",
        r#"[{"conversations": [{"from": "human", "value": "one two"}, {"from": "gpt", "value": "recorded answer"}]},
            {"conversations": [{"from": "system", "value": "Be kind."}, {"from": "human", "value": "a b c"}, {"from": "gpt", "value": "x"}, {"from": "human", "value": "d"}]}]"#,
    );
    let tokens: Vec<u64> = (1..=12).map(|n| n + if n % 3 == 0 { 2 } else { 0 }).collect();
    let run = |name: &str, scenario: &str| {
        let file = common::write_file(&dir, &format!("{name}.yaml"), scenario);
        let out = dir.join(name);
        let o = Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"]).output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        common::only_report(&out)
    };
    let head = "seed: 8\ntarget: {mock: {ttft: 2ms, tokens_per_s: 5000, jitter: 0}}\nmodel: claude-sonnet-4-5\n";

    // Once: every record is sent once, then the run ends, whatever `requests` says.
    let r = run("once", &format!("name: once\n{head}requests:\n  - {{stream: true, max_tokens: 8, dataset: {{file: p.jsonl, once: true}}}}\nload: {{concurrency: 3, requests: 100}}\n"));
    assert_eq!((r.totals.requests, r.totals.by_outcome["ok"]), (12, 12));
    let mean = tokens.iter().sum::<u64>() as f64 / 12.0;
    assert_eq!((r.templates[0].input_tokens_requested, r.templates[0].input_tokens_reported), (Some(mean), Some(mean)));

    // Cycled ShareGPT: the conversations again and again, each without its recorded answer
    // (2 tokens, then 2 + 3 + 1 + 1 for the second with its system prompt), five times each.
    let r = run("cycle", &format!("name: cycle\n{head}requests:\n  - {{stream: false, max_tokens: 8, dataset: {{file: c.json}}}}\nload: {{concurrency: 1, requests: 10}}\n"));
    assert_eq!(r.totals.requests, 10);
    assert_eq!(r.templates[0].input_tokens_reported, Some((2.0 + 7.0) / 2.0));
    assert_eq!(r.conformance.violations, 0);

    // A filter that keeps nothing, and a bad record, are scenario errors before sending.
    let validate = |scenario: &str| {
        let file = common::write_file(&dir, "bad.yaml", scenario);
        let o = Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["validate", file.to_str().expect("utf8")]).output().expect("validate");
        assert_eq!(o.status.code(), Some(2));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = validate(&format!("name: bad\n{head}requests:\n  - {{max_tokens: 8, dataset: {{file: p.jsonl, min_tokens: 100}}}}\nload: {{concurrency: 1, requests: 1}}\n"));
    assert!(e.contains("p.jsonl: no record passes the dataset's filter"), "{e}");
    common::write_file(&dir, "p.jsonl", &(lines[..3].join("\n") + "\n{\"messages\": []}\n"));
    let e = validate(&format!("name: bad\n{head}requests:\n  - {{max_tokens: 8, dataset: {{file: p.jsonl}}}}\nload: {{concurrency: 1, requests: 1}}\n"));
    assert!(e.contains("p.jsonl:4: a record needs at least one message"), "{e}");
}

/// A Message whose text is `text`, for a recording server to send to every request.
fn message_with(text: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"{text}"}}],"stop_reason":"end_turn","stop_sequence":null,"usage":{{"input_tokens":3,"output_tokens":4}}}}"#
    );
    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_turns_of_a_session_carry_the_earlier_turns_and_replies() {
    let (base, seen) = common::recording_server(message_with("Reply number one.")).await;
    let dir = common::temp_dir("workload-session-record");
    let scenario = format!("name: talk\nseed: 1\ntarget: {{base_url: \"{base}\", api_key_env: RELAYBENCH_TEST_SESSION_KEY}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{max_tokens: 16, prompt_tokens: 12, session: {{turns: 3, think_time: 50ms}}}}\nload: {{concurrency: 1, requests: 1}}\n");
    let file = common::write_file(&dir, "s.yaml", &scenario);
    let out = dir.join("out");
    let o = common::run_with_key(&file, &out, "RELAYBENCH_TEST_SESSION_KEY", "k").await;
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let bodies: Vec<serde_json::Value> = seen
        .lock()
        .expect("lock")
        .iter()
        .map(|raw| {
            let raw = String::from_utf8_lossy(raw).into_owned();
            serde_json::from_str(raw.split_once("\r\n\r\n").expect("body").1).expect("JSON body")
        })
        .collect();
    assert_eq!(bodies.len(), 3, "one session of three turns");
    let messages = |i: usize| bodies[i]["messages"].as_array().cloned().expect("messages");
    let (one, two, three) = (messages(0), messages(1), messages(2));
    assert_eq!((one.len(), two.len(), three.len()), (1, 3, 5));
    // Each turn sends the history as it was, the reply it got, and a new user message.
    assert_eq!(two[0], one[0]);
    assert_eq!(two[1], serde_json::json!({"role": "assistant", "content": "Reply number one."}));
    assert_eq!(&three[..3], &two[..]);
    assert_eq!(three[3], two[1]);
    assert!(one[0] != two[2] && two[2] != three[4] && three[4]["role"] == "user", "every turn asks something new");
    let r = common::only_report(&out);
    assert_eq!(r.turns.iter().map(|t| (t.turn, t.requests)).collect::<Vec<_>>(), [(1, 1), (2, 1), (3, 1)]);
    // By relaybench's rule: 12 words a turn, and the three-word reply after each.
    let requested: Vec<Option<f64>> = r.turns.iter().map(|t| t.input_tokens_requested).collect();
    assert_eq!(requested, [Some(12.0), Some(27.0), Some(42.0)]);
}

#[test]
fn ttft_grows_turn_by_turn_as_the_history_grows() {
    let scenario = "name: sessions\nseed: 12\ntarget: {mock: {ttft: 10ms, prefill_per_token: 100us, tokens_per_s: 4000, jitter: 0, output_tokens: [100, 100]}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {stream: true, max_tokens: 100, prompt_tokens: 300, session: {turns: 3, think_time: 20ms}}\nload: {concurrency: 3, requests: 6}\n";
    let r = common::run_ok("workload-sessions", scenario);
    assert_eq!((r.totals.requests, r.totals.by_outcome["ok"]), (18, 18), "six sessions of three turns");
    assert_eq!(r.turns.len(), 3);
    for t in &r.turns {
        assert_eq!(t.requests, 6);
        assert_eq!(t.input_tokens_requested, t.input_tokens_reported, "turn {}", t.turn);
    }
    let ttft = |i: usize| r.turns[i].metrics["ttft"].p50;
    // 300, then 700, then 1100 input tokens: 40, 80 and 120 ms of prefill.
    assert!(ttft(0) >= 40.0 && ttft(1) >= 80.0 && ttft(2) >= 120.0, "{} {} {}", ttft(0), ttft(1), ttft(2));
    assert!(ttft(0) < ttft(1) && ttft(1) < ttft(2));
    assert_eq!(r.turns[1].input_tokens_requested, Some(700.0));
}

#[test]
fn calibration_fits_the_targets_tokens_per_generated_word() {
    // The mock counts by the generator's own rule: one token a word, nothing more.
    let scenario = "name: calibrate\ntarget: mock\nmodel: claude-sonnet-4-5\ncalibrate: true\nrequests:\n  - {max_tokens: 8, prompt_tokens: 50}\nload: {concurrency: 1, requests: 2}\n";
    let r = common::run_ok("workload-calibrate", scenario);
    let c = r.calibration.as_ref().expect("calibration in the report");
    assert_eq!(c.error, None);
    assert_eq!(c.points, relaybench::calibrate::SIZES.iter().map(|&w| (w, w)).collect::<Vec<_>>());
    assert_eq!((c.tokens_per_word, c.overhead_tokens), (Some(1.0), Some(0.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_without_count_tokens_says_so_and_the_run_goes_on() {
    // A server that answers every path with a Message: count_tokens gets no count.
    let (base, seen) = common::recording_server(message_with("hello")).await;
    let dir = common::temp_dir("workload-calibrate-none");
    let scenario = format!("name: nocount\ntarget: {{base_url: \"{base}\", api_key_env: RELAYBENCH_TEST_CAL_KEY}}\nmodel: claude-sonnet-4-5\ncalibrate: true\nrequests:\n  - {{max_tokens: 8, prompt: hi}}\nload: {{concurrency: 1, requests: 2}}\n");
    let file = common::write_file(&dir, "s.yaml", &scenario);
    let out = dir.join("out");
    let o = common::run_with_key(&file, &out, "RELAYBENCH_TEST_CAL_KEY", "k").await;
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("calibration: count_tokens failed (HTTP 200:"), "{}", String::from_utf8_lossy(&o.stdout));
    let r = common::only_report(&out);
    let c = r.calibration.expect("calibration");
    assert!(c.error.is_some() && c.points.is_empty() && c.tokens_per_word.is_none());
    assert_eq!(r.totals.requests, 2, "the load ran");
    let paths: Vec<String> = seen.lock().expect("lock").iter().map(|raw| String::from_utf8_lossy(raw).lines().next().unwrap_or_default().to_owned()).collect();
    assert_eq!(paths[0], "POST /v1/messages/count_tokens HTTP/1.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_up_is_sent_first_and_neither_counted_nor_timed() {
    let message = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1,"service_tier":"standard"}}"#;
    let response = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{message}", message.len());
    let dir = common::temp_dir("workload-warmup");
    let scenario = |base: &str| format!("name: warm\ntarget: {{base_url: \"{base}\", api_key_env: RELAYBENCH_TEST_WARM_KEY}}\nmodel: m\nrequests:\n  - {{max_tokens: 8, prompt: hi}}\nload: {{concurrency: 1, requests: 3, warmup: 5}}\n");
    // Counted: five warm-up requests reach the server, three are reported.
    let (base, seen) = common::recording_server(response.clone().into_bytes()).await;
    let file = common::write_file(&dir, "count.yaml", &scenario(&base));
    let o = common::run_with_key(&file, &dir.join("count"), "RELAYBENCH_TEST_WARM_KEY", "k").await;
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(seen.lock().expect("lock").len(), 8);
    let r = common::only_report(&dir.join("count"));
    assert_eq!((r.totals.requests, r.phases[0].load.warmup), (3, Some(5)));
    // The server closes each connection, so every counted request opened its own.
    assert_eq!(r.metrics["connect"].count, 3);
    // Timed: a server that takes about 100 ms an answer; the warm-up's 0.5 s is not the run's.
    let slow = common::bad_server(common::Script::Drip(response.into_bytes(), std::time::Duration::from_millis(1))).await;
    let file = common::write_file(&dir, "time.yaml", &scenario(&slow));
    let o = common::run_with_key(&file, &dir.join("time"), "RELAYBENCH_TEST_WARM_KEY", "k").await;
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = common::only_report(&dir.join("time"));
    let answer = r.metrics["e2e"].p50 / 1000.0;
    assert!(r.duration_s < answer * 4.5, "the run took {} s for 3 answers of {answer} s: the warm-up was timed", r.duration_s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_is_timed_once_and_a_warm_up_keeps_the_connects_out_of_the_run() {
    let dir = common::temp_dir("workload-connect");
    let scenario = |warmup: &str| format!("name: c\ntarget: {{mock: {{ttft: 2ms, tokens_per_s: 5000}}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 8, prompt: hi}}\nload: {{concurrency: 6, requests: 60{warmup}}}\n");
    for (name, warmup, connects) in [("cold", "", 6u64), ("warm", ", warmup: 12", 0)] {
        let file = common::write_file(&dir, &format!("{name}.yaml"), &scenario(warmup));
        let out = dir.join(name);
        let o = Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"]).output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let r = common::only_report(&out);
        // Each connection is timed once, by the request that waited for it: six workers
        // open six, not one per request (a worker puts its connection back before it
        // sends again, so six in flight never need a seventh); after a warm-up the run
        // opens none.
        let n = r.metrics["connect"].count;
        assert_eq!(n, connects, "{name}: {n} connects");
        assert_eq!(r.metrics["tls"].count, 0, "plain http has no handshake");
    }
}

#[test]
fn records_hold_a_line_per_request_that_adds_up_to_the_report() {
    let dir = common::temp_dir("workload-records");
    let scenario = "name: rec\ntarget: {mock: {ttft: 5ms, tokens_per_s: 5000, jitter: 0}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {name: s, stream: true, max_tokens: 16, prompt: hi}\n  - {name: m, max_tokens: 16, prompt: hello}\nphases:\n  - {name: calm, load: {concurrency: 1, requests: 5}}\n  - {name: busy, load: {concurrency: 4, requests: 20}}\n";
    let file = common::write_file(&dir, "s.yaml", scenario);
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q", "--records"]).output().expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let report_dir = common::only_report_dir(&out);
    let r = common::only_report(&out);
    let text = std::fs::read_to_string(report_dir.join("requests.jsonl")).expect("requests.jsonl");
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len() as u64, r.totals.requests);
    let count = |key: &str, value: &str| lines.iter().filter(|l| l[key] == value).count();
    assert_eq!((count("phase", "calm"), count("phase", "busy")), (5, 20));
    assert_eq!(count("outcome", "ok") as u64, r.totals.by_outcome["ok"]);
    assert_eq!(count("template", "s") + count("template", "m"), 25);
    let streamed = lines.iter().find(|l| l["stream"] == true).expect("a streamed request");
    assert!(streamed["ttft_ms"].as_f64().is_some_and(|t| t >= 5.0), "{streamed}");
    // Every timing a line holds is a value its histogram counted, and the lines' median is
    // the histogram's (to its three significant figures).
    for (key, metric) in [("ttfb_ms", "ttfb"), ("ttft_ms", "ttft"), ("e2e_ms", "e2e"), ("tpot_ms", "tpot")] {
        let mut values: Vec<f64> = lines.iter().filter_map(|l| l[key].as_f64()).collect();
        assert_eq!(values.len() as u64, r.metrics[metric].count, "{key}: one value per sample of {metric}");
        values.sort_by(f64::total_cmp);
        let median = values[(values.len() - 1) / 2];
        let p50 = r.metrics[metric].p50;
        assert!((median - p50).abs() <= p50 * 0.002 + 0.002, "{key}: lines' median {median} vs the histogram's p50 {p50}");
    }
    assert!(std::fs::read_dir(&out).expect("out").flatten().all(|e| !e.file_name().to_string_lossy().starts_with(".relaybench-records")), "no staging file left");
    // Compressed when asked: the same number of lines, in gzip.
    let zipped = dir.join("zipped");
    let o = Command::new(env!("CARGO_BIN_EXE_relaybench")).args(["run", file.to_str().expect("utf8"), "--out", zipped.to_str().expect("utf8"), "-q", "--records=gzip"]).output().expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let gz = std::fs::File::open(common::only_report_dir(&zipped).join("requests.jsonl.gz")).expect("requests.jsonl.gz");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text).expect("gzip");
    assert_eq!(text.lines().filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()).count(), 25);
}
