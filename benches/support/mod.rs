//! Shared by the benches: cutting a body into chunks as a network delivers it, and the
//! spread of timings a bench prints. Each bench uses part of it.

#![allow(dead_code)]

use bytes::Bytes;
use relaybench::rng::Rng;

/// Cuts `bytes` into pieces of 1–4 KiB, sized from `seed`, as reads from a socket arrive.
pub fn network_chunks(bytes: &[u8], seed: u64) -> Vec<Bytes> {
    let mut rng = Rng::new(seed);
    let mut chunks = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let len = (rng.range(1024, 4096) as usize).min(bytes.len() - pos);
        chunks.push(Bytes::copy_from_slice(&bytes[pos..pos + len]));
        pos += len;
    }
    chunks
}

/// `p50 … ms, p90 … ms, p99 … ms, max … ms` of `values` (milliseconds), which it sorts.
pub fn spread_ms(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    format!("p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms", at(0.5), at(0.9), at(0.99), at(1.0))
}
