//! A report framed for a log: `run --emit-report` prints each report between two marker
//! lines, gzipped and in base64 lines, so a cluster without a shared volume still hands
//! its workers' reports over: `kubectl logs` collects them and `merge --from-logs` reads
//! them back. A log line may carry a prefix (`kubectl logs --prefix` writes
//! `[pod/name/container] `) and other pods' lines may come between a frame's lines: a frame
//! is the lines with the prefix of its first line. A frame cut short or altered is an
//! error naming where it began, never a silently smaller merge.

use std::io::{Read, Write};

use base64::Engine;

use super::Report;

/// The first line of a frame, followed by ` segment=I/N target=NAME bytes=B`.
pub const BEGIN: &str = "relaybench-report-begin";
/// The last line of a frame.
pub const END: &str = "relaybench-report-end";
/// Base64 characters per line: short enough for any log pipeline.
const LINE: usize = 120;
/// The largest report a frame may hold, uncompressed (a one-hour run's is about 1 MB).
const MAX_REPORT_BYTES: u64 = 256 << 20;

/// `r` as a frame, ending with a newline.
pub fn frame(r: &Report) -> String {
    let json = serde_json::to_vec(r).unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(&json);
    let packed = gz.finish().unwrap_or_default();
    let text = base64::engine::general_purpose::STANDARD.encode(packed);
    let segment = r.segment.map_or("-".to_owned(), |s| s.to_string());
    let mut out = format!("{BEGIN} segment={segment} target={} bytes={}\n", r.target.name, json.len());
    for chunk in text.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// A frame being read: where it began, its prefix, its size and its base64 so far.
struct Open {
    line: usize,
    prefix: String,
    bytes: u64,
    text: String,
}

/// Every report framed in `log` (named `source` in errors), in the order they end.
pub fn read_frames(log: &str, source: &str) -> Result<Vec<Report>, String> {
    let mut open: Vec<Open> = Vec::new();
    let mut reports = Vec::new();
    for (n, line) in log.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if let Some(at) = line.find(BEGIN) {
            let prefix = &line[..at];
            if let Some(i) = open.iter().position(|o| o.prefix == prefix) {
                return Err(format!("{source}:{}: the report framed from line {} ends without {END}", n + 1, open[i].line));
            }
            let bytes = line[at..].split_whitespace().find_map(|w| w.strip_prefix("bytes=")).and_then(|b| b.parse::<u64>().ok());
            let bytes = bytes.filter(|b| *b <= MAX_REPORT_BYTES).ok_or_else(|| format!("{source}:{}: {BEGIN} without a sane bytes=", n + 1))?;
            open.push(Open { line: n + 1, prefix: prefix.to_owned(), bytes, text: String::new() });
            continue;
        }
        // The longest prefix that fits: one pod's name may begin another's.
        let fits = open.iter().enumerate().filter(|(_, o)| line.starts_with(&o.prefix));
        let Some((i, _)) = fits.max_by_key(|(_, o)| o.prefix.len()) else { continue };
        let rest = &line[open[i].prefix.len()..];
        if rest == END {
            let done = open.remove(i);
            reports.push(unpack(&done, source)?);
        } else if rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=') {
            open[i].text.push_str(rest);
        } else if !open[i].prefix.is_empty() {
            // Another line of the same pod, not ours: the run printed it after the report.
            continue;
        } else {
            return Err(format!("{source}:{}: a line inside the report framed from line {} is not base64", n + 1, open[i].line));
        }
    }
    if let Some(o) = open.first() {
        return Err(format!("{source}:{}: the report framed there ends without {END} (the log was cut short?)", o.line));
    }
    Ok(reports)
}

/// The report in one complete frame.
fn unpack(frame: &Open, source: &str) -> Result<Report, String> {
    let at = format!("{source}:{}", frame.line);
    let packed = base64::engine::general_purpose::STANDARD.decode(&frame.text).map_err(|e| format!("{at}: the framed report is not base64: {e}"))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(packed.as_slice())
        .take(MAX_REPORT_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("{at}: the framed report does not unpack: {e}"))?;
    if json.len() as u64 != frame.bytes {
        return Err(format!("{at}: the framed report holds {} bytes, its frame says {}", json.len(), frame.bytes));
    }
    serde_json::from_slice(&json).map_err(|e| format!("{at}: the framed report is not a report: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::collect::Collected;
    use crate::load::segment::Segment;
    use crate::report::{build, RunInfo};

    fn report(index: u32) -> Report {
        let mut r = build(RunInfo::example(), &Collected::default(), &[], &[]);
        r.segment = Some(Segment { index, count: 2 });
        r
    }

    #[test]
    fn frames_read_back_through_prefixes_and_interleaved_pods() {
        let (a, b) = (report(0), report(1));
        let prefixed = |prefix: &str, text: &str| text.lines().map(|l| format!("{prefix}{l}\n")).collect::<Vec<_>>();
        let (fa, fb) = (prefixed("[pod/w-0/relaybench] ", &frame(&a)), prefixed("[pod/w-1/relaybench] ", &frame(&b)));
        // The two pods' lines alternate, with other output around them.
        let mut log = String::from("[pod/w-0/relaybench] report: /reports/w0/report.json\n");
        for i in 0..fa.len().max(fb.len()) {
            log.extend(fa.get(i).cloned());
            log.extend(fb.get(i).cloned());
        }
        log.push_str("[pod/w-1/relaybench] relaybench: done\n");
        let back = read_frames(&log, "logs").expect("frames");
        let segments: Vec<u32> = back.iter().filter_map(|r| r.segment.map(|s| s.index)).collect();
        assert_eq!(segments.len(), 2);
        assert!(back.contains(&a) && back.contains(&b));
        // No prefix at all: what `kubectl logs` of one pod prints.
        assert_eq!(read_frames(&frame(&a), "one").expect("frame"), vec![a]);
    }

    #[test]
    fn a_cut_or_altered_frame_is_an_error_naming_its_line() {
        let text = frame(&report(0));
        let lines: Vec<&str> = text.lines().collect();
        let cut = lines[..lines.len() - 1].join("\n");
        let err = read_frames(&format!("before\n{cut}"), "pod.log").expect_err("no end");
        assert!(err.starts_with("pod.log:2:") && err.contains("ends without"), "{err}");
        let short = [&lines[..2], &lines[lines.len() - 1..]].concat().join("\n");
        let err = read_frames(&short, "pod.log").expect_err("a line lost");
        assert!(err.contains("pod.log:1"), "{err}");
        let lied = text.replacen("bytes=", "bytes=1", 1);
        assert!(read_frames(&lied, "pod.log").expect_err("size").contains("its frame says"));
        assert!(read_frames("relaybench-report-begin segment=0/2\n", "x").expect_err("no size").contains("bytes="));
    }
}
