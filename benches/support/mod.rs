//! Shared by the benches: cutting a body into chunks as a network delivers it, the spread
//! of timings a bench prints, `relaybench mock` in its own process, reading a packet
//! capture, and the peak memory of a relaybench command. Each bench uses part of it.

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

/// [`start_mock`] serving https (`relaybench mock --tls`), its CA written to `cert_dir`;
/// returns the base URL and the CA file a client trusts.
pub fn start_tls_mock(key: &str, args: &[&str], core: Option<u32>, cert_dir: &std::path::Path) -> (std::process::Child, String, std::path::PathBuf) {
    let dir = cert_dir.display().to_string();
    let all: Vec<&str> = ["--tls", "--cert-dir", dir.as_str()].into_iter().chain(args.iter().copied()).collect();
    let (child, url) = start_mock(key, &all, core);
    let ca = cert_dir.join(relaybench::mock::tls::CA_FILE);
    (child, url.replacen("http://", "https://", 1), ca)
}

/// `relaybench mock --port P` followed by `args`, in its own process accepting `key`, pinned
/// to core `core` when taskset is there; returns once it listens, with its base URL.
pub fn start_mock(key: &str, args: &[&str], core: Option<u32>) -> (std::process::Child, String) {
    use std::process::{Command, Stdio};
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port().to_string();
    let bin = env!("CARGO_BIN_EXE_relaybench");
    let spawn = |cmd: &mut Command| cmd.args(["mock", "--port", &port]).args(args).env("RELAYBENCH_MOCK_KEY", key).stderr(Stdio::null()).spawn();
    let pinned = core.and_then(|c| spawn(Command::new("taskset").args(["-c", &c.to_string(), bin])).ok());
    let child = pinned.map_or_else(|| spawn(&mut Command::new(bin)), Ok).expect("mock");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().expect("port"))).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (child, format!("http://127.0.0.1:{port}"))
}

/// `p50 … ms, p90 … ms, p99 … ms, max … ms` of `values` (milliseconds), which it sorts.
pub fn spread_ms(values: &mut [f64]) -> String {
    if values.is_empty() {
        return "no values".to_owned();
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    format!("p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms", at(0.5), at(0.9), at(0.99), at(1.0))
}

/// From a pcap capture of HTTP/1.1 traffic to `server_port` (Ethernet or Linux cooked
/// link, IPv4 or IPv6, TCP): for each request, named by its body's `"user_id":"…"`, the
/// time in ns since the epoch of the first server segment on its connection that carries a
/// `content_block_delta`. A connection answers one request at a time, so the first such
/// segment after a request's own is its first token.
pub fn pcap_first_deltas(pcap: &[u8], server_port: u16) -> std::collections::HashMap<String, u128> {
    let mut found = std::collections::HashMap::new();
    let Some(header) = pcap.get(..24) else { return found };
    let word = |b: &[u8], at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&b[at..at + 4]);
        u32::from_le_bytes(w)
    };
    let magic = word(header, 0);
    let nanos = match magic {
        0xa1b2_3c4d => true,
        0xa1b2_c3d4 => false,
        _ => return found, // not a little-endian pcap: no figure rather than a wrong one
    };
    let link_header = match word(header, 20) {
        1 => 14,
        113 => 16,
        _ => return found,
    };
    let mut pending: std::collections::HashMap<u16, String> = std::collections::HashMap::new();
    let mut at = 24;
    while let Some(record) = pcap.get(at..at + 16) {
        let (sec, frac, len) = (word(record, 0) as u128, word(record, 4) as u128, word(record, 8) as usize);
        let Some(frame) = pcap.get(at + 16..at + 16 + len) else { break };
        at += 16 + len;
        let ns = sec * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
        let Some((src, dst, payload)) = tcp_payload(frame.get(link_header..).unwrap_or_default()) else { continue };
        let text = String::from_utf8_lossy(payload);
        if dst == server_port {
            if let Some(rest) = text.split_once("\"user_id\":\"").map(|(_, r)| r) {
                if let Some((id, _)) = rest.split_once('"') {
                    pending.insert(src, id.to_owned());
                }
            }
        } else if src == server_port && text.contains("content_block_delta") {
            if let Some(id) = pending.remove(&dst) {
                found.insert(id, ns);
            }
        }
    }
    found
}

/// (source port, destination port, payload) of an IPv4 or IPv6 TCP packet.
fn tcp_payload(ip: &[u8]) -> Option<(u16, u16, &[u8])> {
    let (tcp, end) = match ip.first()? >> 4 {
        4 if *ip.get(9)? == 6 => {
            let start = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            (start, total.min(ip.len()))
        }
        6 if *ip.get(6)? == 6 => (40, (40 + usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]))).min(ip.len())),
        _ => return None,
    };
    let segment = ip.get(tcp..end)?;
    let data = usize::from(segment.get(12)? >> 4) * 4;
    let port = |i: usize| Some(u16::from_be_bytes([*segment.get(i)?, *segment.get(i + 1)?]));
    Some((port(0)?, port(2)?, segment.get(data..)?))
}

/// Runs the relaybench binary with `args` (its stdout dropped) and samples its peak
/// resident memory (VmHWM, Linux; None elsewhere) until it exits: how long it took, the
/// peak in KiB, and how it exited.
pub fn peak_of(args: &[&str]) -> (std::time::Duration, Option<u64>, std::process::ExitStatus) {
    let started = std::time::Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_relaybench")).args(args).stdout(std::process::Stdio::null()).spawn().expect("spawn");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = None;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let hwm = text.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak = hwm.or(peak);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return (started.elapsed(), peak, status);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
