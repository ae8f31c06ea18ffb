//! What each fuzz target does with one input. Shared by the libFuzzer targets
//! (`fuzz/fuzz_targets/`) and by `tests/fuzz_corpus.rs`, which replays the committed
//! corpora on stable Rust. Every function must return normally on any input: a panic, an
//! overflow or a broken invariant asserted here is a bug.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use relaybench::conformance::capture::check_stream_chunks;
use relaybench::conformance::{check_capture, check_capture_counted, Capture, Finding};
use relaybench::sse::parse_chunks;

/// A finding's message and excerpt are cut to a fixed size (so a hostile body cannot make
/// a huge report); the bound leaves room for the cut mark.
fn assert_small(findings: &[Finding]) {
    for f in findings {
        assert!(f.message.len() <= relaybench::text::MAX_MESSAGE + 8, "message of {} bytes", f.message.len());
        assert!(f.excerpt.len() <= relaybench::text::MAX_MESSAGE + 8, "excerpt of {} bytes", f.excerpt.len());
    }
}

/// The chunk size the first byte picks (1 to 17 bytes), and the rest of the input.
fn split_input(data: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, body) = data.split_first()?;
    Some((usize::from(first % 17) + 1, body))
}

/// The SSE parser gives the same events and errors whether a body arrives whole or in
/// chunks of any size.
pub fn sse_split(data: &[u8]) {
    let Some((step, body)) = split_input(data) else { return };
    let whole = parse_chunks([body]);
    let split = parse_chunks(body.chunks(step));
    assert_eq!(whole, split, "fed in chunks of {step} bytes");
}

/// Findings by rule, all counted (kept and not kept).
fn counts(findings: &[Finding], unkept: &[(relaybench::conformance::Rule, u64)]) -> BTreeMap<&'static str, u64> {
    let mut by_rule = BTreeMap::new();
    for f in findings {
        *by_rule.entry(f.rule.id()).or_default() += 1;
    }
    for (rule, n) in unkept {
        *by_rule.entry(rule.id()).or_default() += n;
    }
    by_rule
}

/// The stream checker takes any event sequence, keeps its findings small, and judges a
/// body fed in chunks (as a live run does) exactly as the whole body (as `check` does).
pub fn stream_checker(data: &[u8]) {
    let Some((step, body)) = split_input(data) else { return };
    let (findings, unkept) = check_capture_counted(Capture::Stream, body);
    assert_small(&findings);
    let (live, live_unkept) = check_stream_chunks(body.chunks(step));
    assert_eq!(counts(&findings, &unkept), counts(&live, &live_unkept), "fed in chunks of {step} bytes");
}

/// A `content_block_delta`'s data checked by the typed fast path (when it takes it) and
/// by the full check (a JSON tree and the schema) gives the same findings, on a stream
/// with a text, a tool and a thinking block started.
pub fn fast_delta(data: &[u8]) {
    use relaybench::conformance::stream::StreamChecker;
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (mut fast, mut full) = (StreamChecker::new(), StreamChecker::new());
    let mut both = |name: &str, data: &str| {
        fast.raw_event(name, data);
        let value: Option<serde_json::Value> = serde_json::from_str(data).ok();
        full.event(name, data, value.as_ref());
    };
    both("message_start", r#"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}"#);
    for (i, block) in [r#"{"type":"text","text":""}"#, r#"{"type":"tool_use","id":"toolu_01","name":"f","input":{}}"#, r#"{"type":"thinking","thinking":"","signature":""}"#].iter().enumerate() {
        both("content_block_start", &format!(r#"{{"type":"content_block_start","index":{i},"content_block":{block}}}"#));
    }
    both("content_block_delta", text);
    fast.finish();
    full.finish();
    assert_eq!(fast.findings(), full.findings(), "the fast path and the full check disagree on {text:?}");
    assert_eq!(fast.take_summary(0), full.take_summary(0));
}

/// The HTTP/1.1 chunked decoder reads the same body, or fails at the same byte, however
/// its input is cut in two (the first byte says where), and never gives back more bytes
/// than it was given.
pub fn chunked(data: &[u8]) {
    use relaybench::client::chunked::Chunked;
    let Some((&cut, body)) = data.split_first() else { return };
    let decode = |pieces: &[&[u8]]| {
        let mut decoder = Chunked::default();
        let (mut out, mut used) = (Vec::new(), 0);
        for piece in pieces {
            match decoder.decode(piece, |d| out.extend_from_slice(d)) {
                Ok(n) if n < piece.len() => return (out, used + n, Ok(decoder.done())),
                Ok(n) => used += n,
                Err(e) => return (out, used, Err(e)),
            }
        }
        (out, used, Ok(decoder.done()))
    };
    let at = usize::from(cut) * body.len() / 255;
    let whole = decode(&[body]);
    let split = decode(&[&body[..at], &body[at..]]);
    assert_eq!(whole.0, split.0, "the data differs when cut at {at}");
    assert_eq!(whole.2, split.2, "the outcome differs when cut at {at}");
    if whole.2.is_ok() {
        assert_eq!(whole.1, split.1, "the body ends elsewhere when cut at {at}");
    }
    assert!(whole.0.len() <= body.len());
    if whole.2 == Ok(true) {
        assert!(whole.1 <= body.len());
    }
}

/// The Message checker and the error-envelope checker take any body, and a Message reads
/// the same by the typed fast path as the full way.
pub fn message_checker(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else { return };
    assert_small(&check_capture(Capture::Message, body));
    // The typed fast path reads what the full way reads, or leaves the body to it.
    let cap = usize::from(first) * 16;
    let (fast, full) = (relaybench::conformance::message::read_message(body, cap), relaybench::conformance::message::read_full(body, cap));
    assert_eq!(fast, full, "the fast path and the full way disagree");
    let status = [400, 401, 403, 404, 413, 429, 500, 502, 529, 200][usize::from(first % 10)];
    assert_small(&check_capture(Capture::Error(status), body));
}

/// A scenario file either loads or is refused with an error; a loaded one can be planned.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // A folder that does not exist, so relative paths in the scenario lead nowhere.
    let path = Path::new("/nonexistent-relaybench-fuzz/fuzz.yaml");
    match relaybench::scenario::parse(text, path) {
        Ok(s) => {
            let _ = s.phases();
            let _ = s.targets();
            let _ = s.probes("claude-sonnet-4-5");
        }
        Err(e) => {
            assert!(!e.message.is_empty());
            let _ = e.to_string();
        }
    }
}

/// A threshold expression either parses or is refused; a parsed one can be judged.
pub fn thresholds(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(t) = relaybench::thresholds::parse(text) {
        assert!(t.value.is_finite(), "{text:?} parsed to the bound {}", t.value);
        let _ = t.op.holds(t.value, t.value);
        let _ = t.op.holds(f64::NAN, t.value);
    }
}

/// A saved report either decodes or is refused; a decoded one renders in every format,
/// each to a whole document.
pub fn report(data: &[u8]) {
    if let Ok(r) = serde_json::from_slice::<relaybench::report::Report>(data) {
        let markdown = relaybench::report::markdown::render(&r);
        assert!(markdown.starts_with('#'), "Markdown without its heading: {:?}", markdown.get(..80));
        let junit = relaybench::report::junit::render(&r);
        assert!(junit.starts_with("<?xml") && junit.trim_end().ends_with("</testsuites>"), "JUnit cut: {:?}", junit.get(..80));
        let terminal = relaybench::report::terminal::render(&r);
        assert!(terminal.contains(&r.scenario.name), "the terminal summary does not name its scenario");
        let html = relaybench::report::html::render(&r);
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"), "HTML cut: {:?}", html.get(..80));
        // Framed for a log, it reads back as one report.
        let framed = relaybench::report::frame::frame(&r);
        let back = relaybench::report::frame::read_frames(&framed, "fuzz").expect("a report's own frame reads back");
        assert_eq!(back.len(), 1, "one frame, one report");
        // A segment's report merges with another segment of the same run, or is refused
        // with a reason: never a panic.
        if let Some(s) = r.segment {
            let count = s.count.max(2);
            let mut other = r.clone();
            other.segment = Some(relaybench::load::segment::Segment { index: (s.index + 1) % count, count });
            let mut first = r.clone();
            first.segment = Some(relaybench::load::segment::Segment { index: s.index % count, count });
            if let Ok(merged) = relaybench::report::merge::merge(vec![first, other]) {
                assert!(merged.segment.is_none() && merged.merge.is_some(), "a merged report is no segment's");
                let _ = relaybench::report::html::render(&merged);
            }
        }
    }
}

/// Any text read as a log of framed reports: reports, or an error naming a line.
pub fn frame(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = relaybench::report::frame::read_frames(text, "log") {
            assert!(e.starts_with("log:"), "an error that names no line: {e}");
        }
    }
}
