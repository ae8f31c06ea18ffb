//! How fast request bodies with generated prompts are built, so building never limits a
//! run: a template of 32k generated tokens built per request, against copying a body of
//! the same size (the floor: any per-request body costs at least that) and against
//! serializing it as a JSON tree, in the same run. Run: `cargo bench --bench synth`.

#![allow(missing_docs)]

use std::path::Path;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let yaml = "name: synth\ntarget: mock\nmodel: claude-sonnet-4-5\nrequests:\n  - {stream: true, max_tokens: {distribution: uniform, min: 64, max: 512}, prompt_tokens: 32768}\nload: {concurrency: 1, requests: 1}\n";
    let scenario = relaybench::scenario::parse(yaml, Path::new("synth.yaml")).expect("scenario");
    let prepared = scenario.prepared_requests("claude-sonnet-4-5").remove(0);
    let sample = prepared.build(1, 0, None).body;
    let tree: serde_json::Value = serde_json::from_slice(&sample).expect("json");
    let mut group = c.benchmark_group("body_32k_tokens");
    group.throughput(Throughput::Elements(1));
    let mut n = 0u64;
    group.bench_function("relaybench build (generated prompt)", |b| {
        b.iter(|| {
            n += 1;
            prepared.build(1, n, None).body
        })
    });
    group.bench_function("copy of a body of that size (floor)", |b| b.iter(|| Bytes::copy_from_slice(&sample)));
    group.bench_function("serde_json::to_vec of that body as a tree", |b| b.iter(|| serde_json::to_vec(&tree).expect("serializes")));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
