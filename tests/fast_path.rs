//! The typed fast paths against the full check (a JSON tree and the JSON Schema):
//! generated and mutated `content_block_delta` events, in streams whose blocks and state
//! vary, must give the same findings either way (`RELAYBENCH_FAST_PATH_EVENTS` sets how
//! many deltas, default one million); so must generated and mutated Messages, in all a
//! run takes from them.

use relaybench::conformance::fast::{plain_message, Plain};
use relaybench::conformance::message::{read_full, read_message};
use relaybench::conformance::stream::{Read, StreamChecker};
use relaybench::conformance::usage::UsageCounts;
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
        assert_eq!(a.take_summary(0), b.take_summary(0), "stream {streams}: the summaries disagree");
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

/// `fields` in an order of their own (a relay's serializer, or a sorted tree's).
fn shuffled(rng: &mut Rng, mut fields: Vec<String>) -> String {
    for i in (1..fields.len()).rev() {
        fields.swap(i, pick(rng, i + 1));
    }
    fields.join(",")
}

/// Each optional field of `choices` present two times in three, with one of its values.
fn some_of(rng: &mut Rng, choices: &[(&str, &[&str])]) -> Vec<String> {
    let mut fields = Vec::new();
    for (field, values) in choices {
        if rng.range(0, 2) != 0 {
            fields.push(format!(r#""{field}":{}"#, one(rng, values)));
        }
    }
    fields
}

/// One event's data in a plain shape the API or a relay sends, keys in any order, or
/// (unless `clean`) mutated: generic breakage of any event, or a change of one field.
fn other_event(rng: &mut Rng, kind: &str, index: usize, start_output: u64, clean: bool) -> String {
    let (fields, mutations): (Vec<String>, &[(&str, &str)]) = match kind {
        "message_start" => {
            let input = if clean { rng.range(1, 5000) } else { [0, 3, 5000][pick(rng, 3)] };
            let mut usage = vec![format!(r#""input_tokens":{input}"#), format!(r#""output_tokens":{start_output}"#)];
            usage.extend(some_of(rng, &[
                ("cache_creation_input_tokens", &["0", "12", "null"]),
                ("cache_read_input_tokens", &["0", "7", "null"]),
                ("cache_creation", &[r#"{"ephemeral_1h_input_tokens":3,"ephemeral_5m_input_tokens":0}"#, r#"{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0}"#, "null"]),
                ("inference_geo", &[r#""global""#, r#""us""#, "null"]),
            ]));
            // The API always sends a service tier; a relay may not, or send another.
            if clean || rng.range(0, 2) == 0 {
                usage.push(format!(r#""service_tier":{}"#, if clean { r#""standard""# } else { one(rng, &[r#""standard""#, r#""prio\"rity""#, "null"]) }));
            }
            let mut message = vec![
                // A first-party id and model in a clean stream; a reseller's in another.
                format!(r#""id":"{}""#, if clean { "msg_01XFDUDYJgAACzvnptvVoYEL" } else { one(rng, &["msg_01XFDUDYJgAACzvnptvVoYEL", "msg_bdrk_01Abc", "chatcmpl-1"]) }),
                r#""type":"message""#.to_owned(),
                r#""role":"assistant""#.to_owned(),
                r#""content":[]"#.to_owned(),
                format!(r#""model":"{}""#, if clean { "claude-sonnet-4-5" } else { one(rng, &["claude-sonnet-4-5", "kiro-claude", "caf\\u00e9"]) }),
                format!(r#""usage":{{{}}}"#, shuffled(rng, usage)),
            ];
            message.extend(some_of(rng, &[("stop_reason", &["null"]), ("stop_sequence", &["null"])]));
            let mutations: &[(&str, &str)] = &[
                (r#""role":"#, r#""container":null,"role":"#),
                (r#""content":[]"#, r#""content":[{"type":"text","text":"done"}],"stop_reason":"end_turn""#),
                (r#""content":[]"#, r#""content":[{"type":"text","text":"not yet"}]"#),
                (r#""type":"message""#, r#""type":"msg""#),
                (r#""role":"assistant""#, r#""role":"user""#),
                (r#""input_tokens":"#, r#""input_tokens":-"#),
                (r#""output_tokens":"#, r#""output_tokens":"1","x":"#),
                (r#""input_tokens":"#, r#""iterations":[],"input_tokens":"#),
                (r#""input_tokens":"#, r#""iterations":null,"input_tokens":"#),
                (r#""id":"#, r#""id":"msg_dup","id":"#),
                (r#""model":"#, r#""model":null,"m":"#),
                (r#""usage":{"#, r#""u":{"#),
                (r#""input_tokens":"#, r#""input_tokens":1e3,"y":"#),
                (r#""input_tokens":"#, r#""input_tokens":2.0,"y":"#),
                (r#""ephemeral_5m_input_tokens":0"#, r#""ephemeral_5m_input_tokens":0,"x":1"#),
                (r#""usage":{"#, r#""usage":{"server_tool_use":{"web_search_requests":1},"#),
                (r#""content":[]"#, r#""content":{}"#),
                (r#""content":[]"#, r#""content":[],"stop_reason":5"#),
                (r#""type":"message""#, r####""type":"message","stop_sequence":"###""####),
            ];
            (vec![r#""type":"message_start""#.to_owned(), format!(r#""message":{{{}}}"#, shuffled(rng, message))], mutations)
        }
        "content_block_start" => {
            let text = if clean { "" } else { one(rng, &["", "Hi", "  ", "a\\nb"]) };
            let block = shuffled(rng, vec![r#""type":"text""#.to_owned(), format!(r#""text":"{text}""#)]);
            let mutations: &[(&str, &str)] = &[
                (r#""index":"#, r#""index":-"#),
                (r#""index":"#, r#""index":"0","i":"#),
                (r#""index":"#, r#""i":"#),
                (r#""text":"#, r#""citations":null,"text":"#),
                (r#""text":"#, r#""citations":[],"text":"#),
                (r#""text":""#, r#""text":null,"t":""#),
                (r#""type":"text""#, r#""type":"tool_use","id":"toolu_01","name":"f","input":{}"#),
                (r#""type":"text""#, r#""type":"thinking","thinking":"","signature":"""#),
                (r#""type":"text""#, r#""type":"brand_new""#),
                (r#""content_block":{"#, r#""content_block":{"x":1,"#),
            ];
            let fields = vec![r#""type":"content_block_start""#.to_owned(), format!(r#""index":{index}"#), format!(r#""content_block":{{{block}}}"#)];
            (fields, mutations)
        }
        "content_block_stop" => {
            let mutations: &[(&str, &str)] = &[(r#""index":"#, r#""index":-"#), (r#""index":"#, r#""index":"0","i":"#), (r#""index":"#, r#""i":"#), (r#""index":"#, r#""index":1.5,"i":"#)];
            (vec![r#""type":"content_block_stop""#.to_owned(), format!(r#""index":{index}"#)], mutations)
        }
        "message_delta" => {
            let (reason, sequence) = if clean {
                [("\"end_turn\"", "null"), ("\"max_tokens\"", "null"), ("\"stop_sequence\"", "\"###\"")][pick(rng, 3)]
            } else {
                let reason = one(rng, &["\"end_turn\"", "\"stop_sequence\"", "\"tool_use\"", "\"pause_turn\"", "\"refusal\"", "\"length\"", "null"]);
                (reason, one(rng, &["null", "\"###\"", r#""a\"b""#, "\"caf\\u00e9\""]))
            };
            let mut delta = vec![format!(r#""stop_reason":{reason}"#), format!(r#""stop_sequence":{sequence}"#)];
            delta.extend(some_of(rng, &[("stop_details", &["null", r#"{"type":"refusal","recommended_model":"x"}"#])]));
            let output = if clean { start_output + rng.range(0, 60) } else { rng.range(0, 64) };
            let mut usage = vec![format!(r#""output_tokens":{output}"#)];
            let optional: &[(&str, &[&str])] = if clean {
                &[("server_tool_use", &[r#"{"web_search_requests":1}"#]), ("cache_creation", &[r#"{"ephemeral_1h_input_tokens":3,"ephemeral_5m_input_tokens":0}"#])]
            } else {
                &[
                    ("input_tokens", &["0", "5000", "null"]),
                    ("cache_creation_input_tokens", &["0", "12", "null"]),
                    ("cache_read_input_tokens", &["0", "7", "null"]),
                    ("cache_creation", &[r#"{"ephemeral_1h_input_tokens":3,"ephemeral_5m_input_tokens":0}"#, "null"]),
                    ("server_tool_use", &[r#"{"web_search_requests":1}"#, "null"]),
                    ("output_tokens_details", &[r#"{"reasoning_tokens":2}"#]),
                ]
            };
            usage.extend(some_of(rng, optional));
            let mutations: &[(&str, &str)] = &[
                (r#""output_tokens":"#, r#""output_tokens":-"#),
                (r#""output_tokens":"#, r#""output_tokens":"9","o":"#),
                (r#""output_tokens":"#, r#""o":"#),
                (r#""output_tokens":"#, r#""iterations":[{"type":"message"}],"output_tokens":"#),
                (r#""output_tokens":"#, r#""iterations":null,"output_tokens":"#),
                (r#""stop_reason":"#, r#""container":null,"stop_reason":"#),
                (r#""stop_reason":"#, r#""stop_reason":7,"r":"#),
                (r#""stop_sequence":"#, r#""stop_sequence":["x"],"s":"#),
                (r#""stop_reason":"#, r#""r":"#),
                (r#""stop_sequence":"#, r#""s":"#),
                (r#""usage":{"#, r#""u":{"#),
                (r#""delta":{"#, r#""delta":[{"#),
                (r#""delta":{"#, r#""context_management":null,"delta":{"#),
                (r#""output_tokens":"#, r#""output_tokens":1,"output_tokens":"#),
            ];
            let fields = vec![r#""type":"message_delta""#.to_owned(), format!(r#""delta":{{{}}}"#, shuffled(rng, delta)), format!(r#""usage":{{{}}}"#, shuffled(rng, usage))];
            (fields, mutations)
        }
        // ping, message_stop
        _ => (vec![format!(r#""type":"{kind}""#)], &[(r#""type":"#, r#""extra":1,"type":"#), (r#""type":"#, r#""type":5,"type":"#)]),
    };
    let plain = format!("{{{}}}", shuffled(rng, fields));
    if clean {
        return plain;
    }
    let (from, to) = mutations[pick(rng, mutations.len())];
    match rng.range(0, 24) {
        0 => format!("{plain} x"),
        1 => plain[..plain.len() / 2].to_owned(),
        2 => one(rng, &["[]", "null", "\"message_stop\"", "[DONE]", "{}"]).to_owned(),
        3 => plain.replacen('{', r#"{"extra":1,"#, 1),
        4 => plain.replacen('{', r#"{"type":"ping","#, 1),
        5 => plain.replacen(&format!(r#""type":"{kind}""#), &format!(r#""type":"{}""#, one(rng, &OTHER_EVENTS)), 1),
        6 => plain.replace("\":", "\": ").replace(',', ", "),
        7 => format!(" {plain}\t"),
        8..=16 => plain.replacen(from, to, 1),
        _ => plain,
    }
}

const OTHER_EVENTS: [&str; 6] = ["message_start", "content_block_start", "content_block_stop", "message_delta", "message_stop", "ping"];

/// What a client takes from an event: its usage counters and (of a message_delta) its
/// stop reason, from the typed read or from the tree.
fn taken(read: &Read<'_>, name: &str, data: &str) -> Option<(Option<UsageCounts>, Option<String>)> {
    let from_tree = || {
        let v: Value = serde_json::from_str(data).expect("read typed, so JSON");
        match name {
            "message_start" => (v.pointer("/message/usage").map(UsageCounts::from_value), None),
            _ => (v.get("usage").map(UsageCounts::from_value), v.pointer("/delta/stop_reason").and_then(Value::as_str).map(str::to_owned)),
        }
    };
    match read {
        Read::Plain(Plain::MessageStart(m)) => Some(((Some(m.usage.counts()), None), from_tree())),
        Read::Plain(Plain::MessageDelta(d)) => Some(((Some(d.usage.counts()), d.stop_reason.as_deref().map(str::to_owned)), from_tree())),
        _ => None,
    }
    .map(|(typed, tree)| {
        assert_eq!(typed, tree, "{name}: the client takes another usage or stop reason from {data}");
        typed
    })
}

/// A stream checked both ways at once: `fast` as the client does, `full` always the full way.
struct Both {
    fast: StreamChecker,
    full: StreamChecker,
    clean: bool,
    start_output: u64,
    /// Events other than deltas sent, and those the fast path read.
    events: u64,
    plain: u64,
}

impl Both {
    /// Sends a generated `kind` event addressing block `index`.
    fn send(&mut self, rng: &mut Rng, kind: &str, index: usize) {
        let data = other_event(rng, kind, index, self.start_output, self.clean);
        // Now and then (not in a clean stream) the name is another event's, or none.
        let name = match rng.range(0, 30) {
            0 if !self.clean => one(rng, &OTHER_EVENTS),
            1 if !self.clean => "",
            _ => kind,
        };
        let read = self.fast.raw_event(name, &data);
        taken(&read, name, &data);
        let fast = matches!(read, Read::Plain(_));
        assert!(!self.clean || fast, "a plain {kind} off the fast path: {data}");
        self.plain += u64::from(fast);
        self.events += 1;
        self.full.event(name, &data, serde_json::from_str::<Value>(&data).ok().as_ref());
    }

    fn delta(&mut self, data: &str) {
        self.fast.raw_event("content_block_delta", data);
        self.full.event("content_block_delta", data, serde_json::from_str::<Value>(data).ok().as_ref());
    }
}

#[test]
fn the_other_events_of_a_stream_read_the_same_by_the_fast_path_and_the_full_way() {
    let mut rng = Rng::new(20261207);
    let (mut events, mut plain, mut streams, mut with_findings) = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..20_000 {
        let clean = rng.range(0, 2) == 0;
        let mut s = Both { fast: StreamChecker::new(), full: StreamChecker::new(), clean, start_output: rng.range(0, 3), events: 0, plain: 0 };
        let want_text = rng.range(0, 2) == 0;
        s.fast.want_text(want_text);
        s.full.want_text(want_text);
        let maybe = |rng: &mut Rng, odds: u64| !clean && rng.range(0, odds) == 0;
        if !maybe(&mut rng, 15) {
            s.send(&mut rng, "message_start", 0);
        }
        if maybe(&mut rng, 15) {
            s.send(&mut rng, "message_start", 0);
        }
        let blocks = rng.range(1, 3) as usize;
        for i in 0..blocks {
            if rng.range(0, 4) == 0 {
                s.send(&mut rng, "ping", 0);
            }
            let at = if maybe(&mut rng, 15) { i + 1 } else { i };
            s.send(&mut rng, "content_block_start", at);
            for _ in 0..rng.range(0, 3) {
                s.delta(&format!(r#"{{"type":"content_block_delta","index":{i},"delta":{{"type":"text_delta","text":"{}"}}}}"#, TEXTS[pick(&mut rng, 4)]));
            }
            if !maybe(&mut rng, 15) {
                let at = if maybe(&mut rng, 15) { i + 1 } else { i };
                s.send(&mut rng, "content_block_stop", at);
            }
        }
        for _ in 0..if clean { 1 } else { [0, 1, 1, 1, 2][pick(&mut rng, 5)] } {
            s.send(&mut rng, "message_delta", 0);
        }
        if !maybe(&mut rng, 15) {
            s.send(&mut rng, "message_stop", 0);
        }
        if maybe(&mut rng, 10) {
            let kind = one(&mut rng, &OTHER_EVENTS);
            s.send(&mut rng, kind, 0);
        }
        let (fa, fb) = (findings(&mut s.fast), findings(&mut s.full));
        assert_eq!(fa, fb, "stream {streams}: the two paths disagree");
        assert_eq!(s.fast.take_summary(0), s.full.take_summary(0), "stream {streams}: the summaries disagree");
        assert_eq!(s.fast.take_fingerprint(), s.full.take_fingerprint(), "stream {streams}: the fingerprints disagree");
        assert!(!clean || fa.is_empty(), "stream {streams}: a clean stream has findings: {fa:?}");
        with_findings += u64::from(!fa.is_empty());
        events += s.events;
        plain += s.plain;
        streams += 1;
    }
    assert!(plain > events / 2 && plain < events * 9 / 10, "fast path taken for {plain} of {events} events");
    assert!(with_findings > streams / 4 && with_findings < streams * 3 / 4, "{with_findings} of {streams} streams had findings");
    eprintln!("{events} events in {streams} streams: {plain} by the fast path, {with_findings} streams with findings");
}
