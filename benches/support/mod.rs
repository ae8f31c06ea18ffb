//! Shared by the benches: cutting a body into chunks as a network delivers it.

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
