//! Conformance checking cost: events checked per second, end to end (SSE framing, the
//! typed fast path for plain deltas, JSON parse and schema validation for the rest, the
//! stream state machine), against framing plus a JSON tree of every event without the
//! checker.
//!
//! Run: `cargo bench --bench conformance`.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
