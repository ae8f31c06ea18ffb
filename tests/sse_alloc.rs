//! The SSE parser's zero-copy claim, checked by counting allocations: once warm, events
//! that lie inside one chunk must not allocate at all. Its own test binary, because the
//! counting allocator is process-wide.

// A global allocator cannot be written without `unsafe`; this test binary is the only
// place the project allows it (the library itself forbids unsafe code).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use relaybench::sse::Parser;

struct Counting;

thread_local! {
    // Per thread, so tests running in parallel do not count each other's allocations.
    // A const-initialised Cell needs no allocation of its own.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn chunk(events: usize) -> Vec<u8> {
    let one = b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" tokens\"}}\n\n";
    one.repeat(events)
}

#[test]
fn events_inside_one_chunk_do_not_allocate() {
    let chunk = chunk(200);
    let mut parser = Parser::new();
    let mut bytes = 0usize;
    // Warm up once, then count.
    parser.feed(&chunk, |ev| bytes += ev.map(|e| e.data.len()).unwrap_or(0));
    let before = allocations();
    let mut events = 0usize;
    for _ in 0..100 {
        parser.feed(&chunk, |ev| {
            events += 1;
            bytes += ev.map(|e| e.data.len()).unwrap_or(0);
        });
    }
    let after = allocations();
    // Zero-copy, not just zero-allocation: every event's data points into the chunk.
    let range = chunk.as_ptr_range();
    let mut borrowed = 0usize;
    parser.feed(&chunk, |ev| {
        let data = ev.expect("valid event").data;
        borrowed += usize::from(range.contains(&data.as_ptr()));
    });
    assert_eq!(borrowed, 200, "events inside the chunk borrow it");
    assert_eq!(events, 20_000);
    assert!(bytes > 0);
    assert_eq!(after - before, 0, "allocations in steady state");
}

#[test]
fn events_straddling_chunks_reuse_the_parser_buffers() {
    // Cut every event in the middle: each must be assembled, but in buffers that stop
    // growing after the first few events.
    let whole = chunk(2000);
    let pieces: Vec<&[u8]> = whole.chunks(97).collect();
    let mut parser = Parser::new();
    for p in &pieces[..100] {
        parser.feed(p, |_| {});
    }
    let before = allocations();
    let mut events = 0usize;
    for p in &pieces[100..] {
        parser.feed(p, |ev| events += usize::from(ev.is_ok()));
    }
    let after = allocations();
    assert!(events > 1800);
    assert_eq!(after - before, 0, "allocations after warm-up");
}

#[test]
fn plain_deltas_are_checked_without_allocating() {
    use relaybench::conformance::stream::StreamChecker;
    let chunk = chunk(200);
    let mut parser = Parser::new();
    let mut checker = StreamChecker::new();
    checker.raw_event("message_start", r#"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}"#);
    checker.raw_event("content_block_start", r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#);
    // Warm up once, then count: parsing and checking every event of the chunk.
    parser.feed(&chunk, |ev| {
        let ev = ev.expect("valid event");
        checker.raw_event(ev.name, ev.data);
    });
    let before = allocations();
    for _ in 0..100 {
        parser.feed(&chunk, |ev| {
            let ev = ev.expect("valid event");
            checker.raw_event(ev.name, ev.data);
        });
    }
    let after = allocations();
    assert!(checker.findings().is_empty(), "{:?}", checker.findings());
    assert_eq!(after - before, 0, "allocations checking 20,000 plain deltas");
    // The control: a delta the fast path leaves to the full check builds a JSON tree.
    let before = allocations();
    checker.raw_event("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","new_field":1}}"#);
    assert!(allocations() > before, "the full path allocates");
}
