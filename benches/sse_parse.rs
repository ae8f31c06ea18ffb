//! SSE parsing throughput: relaybench's parser against `sse-stream`, `eventsource-stream`
//! and the physical floor of visiting every newline with `memchr`, on the same ~10 MB
//! Anthropic-style stream cut into 1–4 KiB chunks as a network delivers it.
//!
//! Run: `cargo bench --bench sse_parse`, then `python3 benches/ratios.py` for the ratios.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use relaybench::rng::Rng;
use relaybench::sse::Parser;

mod support;

const TARGET_BYTES: usize = 10 << 20;

/// A realistic stream: mostly text deltas, some thinking and tool-input deltas, pings.
fn anthropic_stream(line_end: &str) -> (Vec<u8>, usize) {
    let words = ["the", " relay", " streams", " tokens", " over", " a", " steady", " link", ",", " and", " latency", " stays", " low", "."];
    let mut rng = Rng::new(7);
    let mut out = String::with_capacity(TARGET_BYTES + 4096);
    let mut events = 0usize;
    let push = |out: &mut String, name: &str, data: &str| {
        out.push_str("event: ");
        out.push_str(name);
        out.push_str(line_end);
        out.push_str("data: ");
        out.push_str(data);
        out.push_str(line_end);
        out.push_str(line_end);
    };
    push(&mut out, "message_start", r#"{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#);
    events += 1;
    while out.len() < TARGET_BYTES {
        let roll = rng.range(0, 99);
        let data = if roll < 2 {
            r#"{"type": "ping"}"#.to_owned()
        } else if roll < 8 {
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}"#.to_owned()
        } else if roll < 14 {
            let w = words[rng.range(0, words.len() as u64 - 1) as usize];
            format!(r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"thinking_delta","thinking":"Let me think{w}"}}}}"#)
        } else {
            let n = rng.range(1, 4) as usize;
            let text: String = (0..n).map(|_| words[rng.range(0, words.len() as u64 - 1) as usize]).collect();
            format!(r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{text}"}}}}"#)
        };
        let name = if roll < 2 { "ping" } else { "content_block_delta" };
        push(&mut out, name, &data);
        events += 1;
    }
    push(&mut out, "message_stop", r#"{"type":"message_stop"}"#);
    events += 1;
    (out.into_bytes(), events)
}

#[inline(never)]
fn relaybench_parse(chunks: &[Bytes]) -> usize {
    let mut parser = Parser::new();
    let mut events = 0usize;
    let mut data = 0usize;
    for chunk in chunks {
        parser.feed(chunk, |ev| {
            if let Ok(ev) = ev {
                events += 1;
                data += ev.data.len() + ev.name.len();
            }
        });
    }
    black_box(data);
    events
}

fn sse_stream_parse(chunks: &[Bytes]) -> usize {
    let source = futures::stream::iter(chunks.iter().cloned().map(Ok::<_, std::io::Error>));
    let mut stream = sse_stream::SseStream::from_bytes_stream(source);
    futures::executor::block_on(async {
        let mut events = 0usize;
        while let Some(ev) = stream.next().await {
            if let Ok(ev) = ev {
                events += 1;
                black_box(ev.data.as_ref().map(String::len));
            }
        }
        events
    })
}

fn eventsource_stream_parse(chunks: &[Bytes]) -> usize {
    let source = futures::stream::iter(chunks.iter().cloned().map(Ok::<_, std::io::Error>));
    let mut stream = source.eventsource();
    futures::executor::block_on(async {
        let mut events = 0usize;
        while let Some(ev) = stream.next().await {
            if let Ok(ev) = ev {
                events += 1;
                black_box(ev.data.len());
            }
        }
        events
    })
}

/// Visits every newline position; `count()` would take a faster path that is no floor
/// for a parser, which must stop at each line.
#[inline(never)]
fn memchr_floor(chunks: &[Bytes]) -> usize {
    let mut acc = 0usize;
    for chunk in chunks {
        for pos in memchr::memchr_iter(b'\n', chunk) {
            acc = acc.wrapping_add(pos);
        }
    }
    black_box(acc)
}

fn bench(c: &mut Criterion) {
    // Under callgrind (benches/sse_instructions.sh) each parser runs once, so that its
    // instruction count is one pass over the stream.
    if let Ok(ending) = std::env::var("RELAYBENCH_SSE_ONCE") {
        let line_end = if ending == "crlf" { "\r\n" } else { "\n" };
        let chunks = support::network_chunks(&anthropic_stream(line_end).0, 11);
        black_box(relaybench_parse(&chunks));
        black_box(memchr_floor(&chunks));
        return;
    }
    for (label, line_end) in [("lf", "\n"), ("crlf", "\r\n")] {
        let (bytes, events) = anthropic_stream(line_end);
        let chunks = support::network_chunks(&bytes, 11);
        // Every parser must see every event, or its speed means nothing.
        assert_eq!(relaybench_parse(&chunks), events);
        assert_eq!(sse_stream_parse(&chunks), events);
        assert_eq!(eventsource_stream_parse(&chunks), events);

        for (unit, throughput) in [("bytes", Throughput::Bytes(bytes.len() as u64)), ("events", Throughput::Elements(events as u64))] {
            let mut group = c.benchmark_group(format!("sse_{unit}_{label}"));
            group.throughput(throughput);
            group.sample_size(30);
            group.measurement_time(std::time::Duration::from_secs(4));
            group.bench_with_input(BenchmarkId::from_parameter("relaybench"), &chunks, |b, ch| b.iter(|| relaybench_parse(ch)));
            group.bench_with_input(BenchmarkId::from_parameter("sse-stream"), &chunks, |b, ch| b.iter(|| sse_stream_parse(ch)));
            group.bench_with_input(BenchmarkId::from_parameter("eventsource-stream"), &chunks, |b, ch| b.iter(|| eventsource_stream_parse(ch)));
            // With CRLF ends the floor still visits one LF a line: what a parser must at least do.
            group.bench_with_input(BenchmarkId::from_parameter("memchr-newline-floor"), &chunks, |b, ch| b.iter(|| memchr_floor(ch)));
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
