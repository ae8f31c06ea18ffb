//! Conformance checking cost: events checked per second, end to end (SSE framing, the
//! typed fast path for plain deltas, JSON parse and schema validation for the rest, the
//! stream state machine), against framing plus a JSON tree of every event without the
//! checker.
//!
//! A second group prices what authenticity adds to each response: reading its channel
//! fingerprints (body and headers) and the series rules, against checking one streamed
//! answer of 300 tokens; and checking the 64-token answer of the load benches.
//!
//! Run: `cargo bench --bench conformance`.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

use relaybench::conformance::fingerprint::{Fingerprint, Signal};
use relaybench::conformance::series::SeriesChecks;
use relaybench::conformance::stream::StreamChecker;
use relaybench::mock::reply::{content_key, plan, OutputLength};
use relaybench::mock::stream::{plan_events, write_event};
use relaybench::sse::Parser;
use serde_json::Value;

mod support;

/// A streamed answer from the mock's planner for `body`, `tokens` long, in network chunks.
fn mock_stream(body: serde_json::Value, tokens: u32, seed: u64) -> (Vec<Bytes>, usize) {
    let map = body.as_object().expect("object").clone();
    let reply = plan(&map, content_key(&map), seed, OutputLength { min: tokens, max: tokens }, "msg_bench".into());
    let mut bytes = Vec::new();
    let mut events = 0;
    for planned in plan_events(&reply, false) {
        write_event(&mut bytes, &planned);
        events += 1;
    }
    (support::network_chunks(&bytes, seed), events)
}

fn parse_only(streams: &[Vec<Bytes>]) -> usize {
    let mut events = 0;
    for chunks in streams {
        let mut parser = Parser::new();
        for chunk in chunks {
            parser.feed(chunk, |ev| {
                if let Ok(ev) = ev {
                    let v: Option<Value> = serde_json::from_str(ev.data).ok();
                    black_box(&v);
                    events += 1;
                }
            });
        }
    }
    events
}

fn checked(streams: &[Vec<Bytes>]) -> usize {
    let mut events = 0;
    for chunks in streams {
        let mut parser = Parser::new();
        let mut checker = StreamChecker::new();
        for chunk in chunks {
            parser.feed(chunk, |ev| {
                if let Ok(ev) = ev {
                    // As the client checks: plain deltas by the typed path, the rest in full.
                    checker.raw_event(ev.name, ev.data);
                    events += 1;
                }
            });
        }
        checker.finish();
        assert!(checker.findings().is_empty(), "the mock's stream is clean");
    }
    events
}

fn bench(c: &mut Criterion) {
    // With tool_choice any, the mock writes a short text block, then the tool call.
    let tool_body = serde_json::json!({
        "model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": true,
        "messages": [{"role": "user", "content": "weather in Paris?"}],
        "tools": [{"name": "get_weather", "input_schema": {"type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city", "unit"]}}],
        "tool_choice": {"type": "any"},
    });
    let text_body = serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": true,
        "messages": [{"role": "user", "content": "write at length"}]});
    let (tool, tool_events) = mock_stream(tool_body, 2000, 3);
    let (text, text_events) = mock_stream(text_body, 3000, 4);
    let streams = vec![tool, text];
    let events = tool_events + text_events;
    assert_eq!(checked(&streams), events);
    let mut group = c.benchmark_group("conformance_events");
    group.throughput(Throughput::Elements(events as u64));
    group.sample_size(30);
    group.bench_function("frame+json (reference)", |b| b.iter(|| parse_only(&streams)));
    group.bench_function("frame+json+schema+state machine", |b| b.iter(|| checked(&streams)));
    group.finish();

    let short_body = serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": true,
        "messages": [{"role": "user", "content": "a typical answer"}]});
    let one = vec![mock_stream(short_body.clone(), 300, 5).0];
    // The load benches' answer: its handful of events around the deltas weigh more.
    let short = vec![mock_stream(short_body.clone(), 64, 6).0];
    let mut whole = short_body;
    whole["stream"] = serde_json::json!(false);
    let map = whole.as_object().expect("object").clone();
    let message = plan(&map, content_key(&map), 5, OutputLength { min: 300, max: 300 }, "msg_01XFDUDYJgAACzvnptvVoYEL".into()).message_json();
    let mut headers = http::HeaderMap::new();
    for (name, value) in [("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy"), ("content-type", "application/json"), ("anthropic-ratelimit-requests-limit", "4000"), ("anthropic-ratelimit-requests-remaining", "3999"), ("anthropic-ratelimit-tokens-limit", "400000"), ("anthropic-ratelimit-tokens-remaining", "399000"), ("cf-ray", "8f0e1d2c3b4a5968-FRA")] {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
    let mut group = c.benchmark_group("per_response");
    group.throughput(Throughput::Elements(1));
    group.bench_function("check a 300-token stream (reference)", |b| b.iter(|| checked(&one)));
    group.bench_function("check a 64-token stream", |b| b.iter(|| checked(&short)));
    let mut series = SeriesChecks::default();
    group.bench_function("fingerprint body and headers + series rules", |b| {
        b.iter(|| {
            let mut fp = Fingerprint::from_message(black_box(&message));
            fp.add_headers(black_box(&headers));
            let seen = fp.observed.iter().find(|o| o.signal == Signal::RateLimitHeaders).map(|o| (o.shape, o.example.clone()));
            if let Some((shape, name)) = seen {
                black_box(series.observe_limits(false, shape, &name));
            }
            black_box(series.observe_head(Duration::from_micros(500), Duration::from_millis(41)));
            fp
        })
    });
    // The rate-limit fields of every answer, as the API sends them (reset times in RFC 3339).
    let mut limits: Vec<(String, String)> = vec![("request-id".into(), "req_011CSHoEeqs5C35K2UUqR7Fy".into()), ("content-type".into(), "application/json".into())];
    for dimension in ["requests", "tokens", "input-tokens", "output-tokens"] {
        for (part, value) in [("limit", "400000"), ("remaining", "399000"), ("reset", "2026-12-07T05:40:12Z")] {
            limits.push((format!("anthropic-ratelimit-{dimension}-{part}"), value.into()));
        }
    }
    let head: relaybench::headers::Headers = limits.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
    group.bench_function("read a head's rate limits", |b| b.iter(|| relaybench::conformance::limits::RateLimits::from_headers(black_box(&head), 1.0e9)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
