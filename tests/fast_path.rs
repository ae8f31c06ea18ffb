//! The typed fast paths against the full check (a JSON tree and the JSON Schema):
//! generated and mutated `content_block_delta` events, in streams whose blocks and state
//! vary, must give the same findings either way (`RELAYBENCH_FAST_PATH_EVENTS` sets how
//! many deltas, default one million); so must generated and mutated Messages, in all a
//! run takes from them.

use relaybench::conformance::fast::plain_message;
use relaybench::conformance::message::{read_full, read_message};
use relaybench::conformance::stream::{Read, StreamChecker};
use relaybench::rng::Rng;
use serde_json::Value;

const BLOCKS: [&str; 4] = [
    r#"{"type":"text","text":""}"#,
    r#"{"type":"tool_use","id":"toolu_01","name":"f","input":{}}"#,
    r#"{"type":"thinking","thinking":"","signature":""}"#,
    r#"{"type":"server_tool_use","id":"srvtoolu_01","name":"web_search","input":{}}"#,
];

const TEXTS: [&str; 8] = ["Hello", " world", "", "a\\nb", "\\u00e9t\\u00e9", "{\\\"city\\\":", "\\\"Paris\\\"}", "  "];

/// Uniform in `0..n`.
fn pick(rng: &mut Rng, n: usize) -> usize {
    rng.range(0, n as u64 - 1) as usize
}

/// One delta event's data: plain, or mutated in one of the ways relays and the fuzzer
/// produce (fields added, removed, retyped, renamed; indexes out of range or not
/// integers; unknown delta types; JSON that is not an object or not JSON).
fn delta(rng: &mut Rng, blocks: usize, clean: bool) -> String {
    let kinds = [("text_delta", "text"), ("input_json_delta", "partial_json"), ("thinking_delta", "thinking"), ("signature_delta", "signature")];
    let (kind, field) = kinds[pick(rng, kinds.len())];
    let text = TEXTS[pick(rng, TEXTS.len())];
    // An index one past the blocks now and then, except in a clean stream.
    let index = rng.range(0, blocks as u64 - u64::from(clean));
    if clean {
        return format!(r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"text_delta","text":"{text}"}}}}"#);
    }
    let plain = format!(r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"{kind}","{field}":"{text}"}}}}"#);
    match rng.range(0, 39) {
        0 => plain.replacen("\"index\":", "\"extra\":1,\"index\":", 1),
        1 => plain.replacen(&format!("\"{field}\":"), &format!("\"other\":2,\"{field}\":"), 1),
        2 => plain.replacen(&format!("\"{kind}\""), "\"citations_delta\"", 1),
        3 => plain.replacen(&format!("\"{kind}\""), "\"brand_new_delta\"", 1),
        4 => plain.replacen(&format!("\"index\":{index}"), &format!("\"index\":{index}.0"), 1),
        5 => plain.replacen(&format!("\"index\":{index}"), "\"index\":-1", 1),
        6 => plain.replacen(&format!("\"index\":{index}"), "\"index\":\"0\"", 1),
        7 => plain.replacen(&format!("\"{text}\""), "null", 1),
        8 => plain.replacen(&format!("\"{text}\""), "42", 1),
        9 => plain.replacen(&format!("\"{field}\""), "\"text2\"", 1),
        10 => plain.replacen("\"content_block_delta\"", "\"content_block_stop\"", 1),
        11 => plain.replacen(",\"delta\":", ",\"index\":0,\"delta\":", 1),
        12 => plain.replacen("\"index\":", "\"idx\":", 1),
        13 => plain[..plain.len() - 1].to_owned(),
        14 => format!("{plain} x"),
        15 => "[DONE]".to_owned(),
        16 => format!(r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"citations_delta","citation":{{"type":"char_location"}}}}}}"#),
        17 => plain.replacen(&format!(",\"{field}\":\"{text}\""), "", 1),
        // Near misses of the API's exact bytes, which the byte comparison must leave alone.
        18 => plain.replacen(&format!("\"index\":{index}"), &format!("\"index\":0{index}"), 1),
        19 => plain.replacen(&format!("\"index\":{index}"), "\"index\":99999999999999999999", 1),
        20 => plain.replacen(&format!("\"{text}\""), &format!("\"{text}\\\"\""), 1),
        21 => plain.replacen(&format!("\"{text}\""), &format!("\"{text}\t\""), 1),
        22 => plain.replace("\":", "\": "),
        23 => format!("{plain} "),
        _ => plain,
    }
}

fn findings(checker: &mut StreamChecker) -> Vec<String> {
    checker.finish();
    let mut all: Vec<String> = checker.findings().iter().map(|f| format!("{:?} {:?} {} | {}", f.rule, f.event_index, f.message, f.excerpt)).collect();
    all.extend(checker.take_unkept().into_iter().map(|(rule, n)| format!("{rule:?} x{n} more")));
    all
}

/// Feeds one event to both checkers: `fast` as the client does, `full` always the full way.
/// Counts the events `raw_event` itself read by the fast path.
fn feed(fast: &mut StreamChecker, full: &mut StreamChecker, name: &str, data: &str, used_fast: &mut u64) {
    if let Read::Delta(_) = fast.raw_event(name, data) {
        *used_fast += 1;
    }
    let value: Option<Value> = serde_json::from_str(data).ok();
    full.event(name, data, value.as_ref());
}

#[test]
fn the_fast_path_finds_what_the_schema_and_the_full_check_find() {
    let total: u64 = std::env::var("RELAYBENCH_FAST_PATH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    // Two halves side by side, each from its own seed.
    let counts: Vec<[u64; 4]> = std::thread::scope(|s| {
        let halves: Vec<_> = (0..2u64).map(|half| s.spawn(move || compare(20261202 + half, total / 2))).collect();
        halves.into_iter().map(|h| h.join().expect("half")).collect()
    });
    let [deltas, used_fast, streams, with_findings] = counts.iter().fold([0; 4], |acc, c| [acc[0] + c[0], acc[1] + c[1], acc[2] + c[2], acc[3] + c[3]]);
    assert!(deltas >= total - 1, "{deltas} of {total}");
    // Both kinds of event were exercised, and streams that break rules as well as clean ones.
    assert!(used_fast > deltas / 2 && used_fast < deltas, "fast path taken for {used_fast} of {deltas}");
    assert!(with_findings > streams / 4 && with_findings < streams, "{with_findings} of {streams} streams had findings");
    eprintln!("{deltas} deltas in {streams} streams: {used_fast} by the fast path, {with_findings} streams with findings");
}

/// Compares the two paths over `total` generated deltas: deltas, fast ones, streams, and
/// streams with findings.
fn compare(seed: u64, total: u64) -> [u64; 4] {
    let mut rng = Rng::new(seed);
    let (mut deltas, mut used_fast, mut streams, mut with_findings) = (0u64, 0u64, 0u64, 0u64);
    while deltas < total {
        let (mut a, mut b) = (StreamChecker::new(), StreamChecker::new());
        let want_text = rng.range(0, 2) == 0;
        a.want_text(want_text);
        b.want_text(want_text);
        let mut both = |name: &str, data: &str| feed(&mut a, &mut b, name, data, &mut used_fast);
        // A third of the streams are clean text streams, which must give no finding.
        let clean = rng.range(0, 2) == 0;
        if clean || rng.range(0, 20) != 0 {
            both("message_start", r#"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1,"service_tier":"standard"}}}"#);
        }
        let blocks = rng.range(1, 4) as usize;
        for i in 0..blocks {
            let block = if clean { BLOCKS[0] } else { BLOCKS[pick(&mut rng, BLOCKS.len())] };
            both("content_block_start", &format!(r#"{{"type":"content_block_start","index":{i},"content_block":{block}}}"#));
        }
        if !clean && rng.range(0, 25) == 0 {
            both("content_block_stop", r#"{"type":"content_block_stop","index":0}"#);
        }
        if !clean && rng.range(0, 25) == 0 {
            both("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}"#);
        }
        for _ in 0..rng.range(1, 60) {
            let data = delta(&mut rng, blocks, clean);
            // Now and then the name disagrees or is missing: never the fast path's.
            let name = match rng.range(0, 40) {
                0 if !clean => "",
                1 if !clean => "content_block_stop",
                _ => "content_block_delta",
            };
            both(name, &data);
            deltas += 1;
        }
        for i in 0..blocks {
            both("content_block_stop", &format!(r#"{{"type":"content_block_stop","index":{i}}}"#));
        }
        both("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}"#);
        both("message_stop", r#"{"type":"message_stop"}"#);
        let (fa, fb) = (findings(&mut a), findings(&mut b));
        assert_eq!(fa, fb, "stream {streams}: the two paths disagree");
        assert_eq!(a.summary(0), b.summary(0), "stream {streams}: the summaries disagree");
        assert!(!clean || fa.is_empty(), "stream {streams}: a clean stream has findings: {fa:?}");
        with_findings += u64::from(!fa.is_empty());
        streams += 1;
    }
    [deltas, used_fast, streams, with_findings]
}

/// One of `choices`, uniformly.
fn one<'a>(rng: &mut Rng, choices: &[&'a str]) -> &'a str {
    choices[pick(rng, choices.len())]
}

/// A Message as a first-party channel or a relay may send it: plain in its fields'
/// values and presence, then, unless `clean`, mutated in one of the ways that take it off
/// the fast path or near it.
fn message(rng: &mut Rng, clean: bool) -> String {
    let id = one(rng, &["msg_01XFDUDYJgAACzvnptvVoYEL", "msg_bdrk_01Abc", "msg_0b6f5c1e-29d8-4c63-9f3e-3a8d2f0c1b7a", "chatcmpl-1", ""]);
    let model = one(rng, &["claude-sonnet-4-5", "anthropic.claude-sonnet-4-5-20250929-v1:0", "kiro-claude", "gpt-4o"]);
    let texts: Vec<String> = (0..rng.range(0, 3)).map(|_| format!(r#"{{"type":"text","text":"{}"}}"#, TEXTS[pick(rng, TEXTS.len())])).collect();
    let stop_reason = one(rng, &["end_turn", "max_tokens", "stop_sequence", "refusal"]);
    let stop_sequence = one(rng, &["null", "\"###\"", r#""a\"b""#]);
    let mut usage = vec![format!(r#""input_tokens":{}"#, rng.range(0, 5000)), format!(r#""output_tokens":{}"#, rng.range(0, 64))];
    for (field, values) in [
        ("cache_creation_input_tokens", &["0", "12", "null"][..]),
        ("cache_read_input_tokens", &["0", "7", "null"]),
        ("cache_creation", &[r#"{"ephemeral_1h_input_tokens":3,"ephemeral_5m_input_tokens":0}"#, "null"]),
        ("service_tier", &[r#""standard""#, r#""prio\"rity""#, r#""caf\u00e9""#, "null"]),
        ("inference_geo", &[r#""global""#, r#""us""#, "null"]),
    ] {
        if rng.range(0, 3) != 0 {
            usage.push(format!(r#""{field}":{}"#, one(rng, values)));
        }
    }
    let plain = format!(
        r#"{{"content":[{}],"id":"{id}","model":"{model}","role":"assistant","stop_reason":"{stop_reason}","stop_sequence":{stop_sequence},"type":"message","usage":{{{}}}}}"#,
        texts.join(","),
        usage.join(",")
    );
    if clean {
        return plain;
    }
    match rng.range(0, 29) {
        0 => plain.replacen(r#""id":"#, r#""container":null,"id":"#, 1),
        1 => plain.replacen(r#""content":["#, r#""content":[{"type":"tool_use","id":"toolu_01","name":"f","input":{}},"#, 1),
        2 => plain.replacen(r#""content":["#, r#""content":[{"type":"thinking","thinking":"","signature":"sig"},"#, 1),
        3 => plain.replacen(r#""content":["#, r#""content":[{"type":"text","text":"a","citations":null},"#, 1),
        4 => plain.replacen(r#""content":["#, r#""content":[{"type":"brand_new","x":1},"#, 1),
        5 => plain.replacen(r#""type":"message""#, r#""type":"msg""#, 1),
        6 => plain.replacen(r#""role":"assistant""#, r#""role":"user""#, 1),
        7 => plain.replacen(r#""input_tokens":"#, r#""input_tokens":-"#, 1),
        8 => plain.replacen(r#""output_tokens":"#, r#""output_tokens":1.5,"x":"#, 1),
        9 => plain.replacen(&format!(r#""stop_sequence":{stop_sequence},"#), "", 1),
        10 => plain.replacen(&format!(r#""{stop_reason}""#), "null", 1),
        11 => plain.replacen(r#""id":"#, r#""id":"msg_dup","id":"#, 1),
        12 => format!("{plain} x"),
        13 => plain[..plain.len() / 2].to_owned(),
        14 => plain.replacen(r#""usage":{"#, r#""usage":{"server_tool_use":{"web_search_requests":1},"#, 1),
        15 => plain.replacen(r#""usage":{"#, r#""usage":{"service_tier":5,"#, 1).replacen(r#","service_tier":"#, r#","x_tier":"#, 1),
        16 => plain.replacen(r#""ephemeral_5m_input_tokens":0"#, r#""ephemeral_5m_input_tokens":0,"x":1"#, 1),
        17 => plain.replacen(r#""content":["#, r#""content":{"a":["#, 1).replacen(r#"],"id""#, r#"]},"id""#, 1),
        18 => plain.replacen(&format!(r#","usage":{{{}}}"#, usage.join(",")), "", 1),
        19 => plain.replacen(r#""model":"#, r#""model":7,"m":"#, 1),
        20 => "[]".to_owned(),
        21 => plain.replace("\":", "\": "),
        22 => plain.replacen(r#""input_tokens":"#, r#""input_tokens":1e3,"y":"#, 1),
        23 => plain.replacen(r#""content":["#, r#""content":[{"text":"b","type":"text"},"#, 1),
        24 => plain.replacen(r#""content":["#, r#""content":[{"type":"brand_new","text":"b"},"#, 1),
        // The same fields in another order: the fingerprint writes the object as a tree would.
        25 => plain.replacen(r#"{"ephemeral_1h_input_tokens":3,"ephemeral_5m_input_tokens":0}"#, r#"{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":3}"#, 1),
        _ => plain,
    }
}

#[test]
fn a_plain_message_reads_the_same_by_the_fast_path_and_the_full_way() {
    let mut rng = Rng::new(20261206);
    let (mut total, mut fast, mut with_findings) = (0, 0, 0);
    for i in 0..20_000 {
        let clean = rng.range(0, 2) == 0;
        let body = message(&mut rng, clean);
        let cap = [0, 5, 1 << 20][pick(&mut rng, 3)];
        let (a, b) = (read_message(body.as_bytes(), cap), read_full(body.as_bytes(), cap));
        assert_eq!(a, b, "message {i}: the two paths disagree on {body}");
        assert!(!clean || plain_message(body.as_bytes()).is_some(), "message {i}: a plain Message off the fast path: {body}");
        total += 1;
        fast += u64::from(plain_message(body.as_bytes()).is_some());
        with_findings += u64::from(!a.findings.is_empty());
    }
    assert!(fast > total / 2 && fast < total, "fast path taken for {fast} of {total}");
    assert!(with_findings > total / 10 && with_findings < total, "{with_findings} of {total} with findings");
}
