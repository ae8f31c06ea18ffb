//! Per-request records: `requests.jsonl`, one JSON line per request with its template,
//! phase, times, tokens, outcome and finding ids — the file users load into pandas or
//! DuckDB. Written as the run goes, through a buffer, so memory stays flat however long
//! the run; moved into the report folder at the end. Gzip-compressed when asked
//! (`records: gzip`): a long run's records are mostly repeated keys.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::outcome::Outcome;
use crate::scenario::RecordsMode;

/// File name of the records inside a target's report folder.
pub const REQUESTS_JSONL: &str = "requests.jsonl";
/// File name of the compressed records.
pub const REQUESTS_JSONL_GZ: &str = "requests.jsonl.gz";

/// Where the lines go: the file, through a buffer, compressed or not.
#[derive(Debug)]
enum Sink {
    Plain(std::io::BufWriter<std::fs::File>),
    Gzip(flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>),
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(bytes),
            Sink::Gzip(w) => w.write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

/// An open records file.
#[derive(Debug)]
pub struct Records {
    path: PathBuf,
    /// The writer, or the first error that stopped it.
    out: Mutex<Result<Sink, String>>,
}

impl Records {
    /// Creates the file at `path` (a staging place; see [`Records::finish`]), written as
    /// `mode` says (anything but `Off`).
    pub fn create(path: &Path, mode: RecordsMode) -> std::io::Result<Records> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let sink = match mode {
            RecordsMode::Gzip => Sink::Gzip(flate2::write::GzEncoder::new(file, flate2::Compression::fast())),
            RecordsMode::Off | RecordsMode::Jsonl => Sink::Plain(file),
        };
        Ok(Records { path: path.to_owned(), out: Mutex::new(Ok(sink)) })
    }

    /// Appends one line; after a write error, the rest are dropped and the error kept.
    pub fn write(&self, line: &Value) {
        let mut out = self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Ok(writer) = out.as_mut() {
            let written = serde_json::to_writer(&mut *writer, line).map_err(std::io::Error::other).and_then(|()| writer.write_all(b"\n"));
            if let Err(e) = written {
                *out = Err(e.to_string());
            }
        }
    }

    /// Flushes the file (ends the gzip stream) and moves it to `dir/requests.jsonl` (or
    /// `.jsonl.gz`).
    pub fn finish(&self, dir: &Path) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let name = match out.as_mut() {
            Ok(Sink::Plain(writer)) => {
                writer.flush()?;
                REQUESTS_JSONL
            }
            Ok(Sink::Gzip(writer)) => {
                writer.try_finish()?;
                writer.get_mut().flush()?;
                REQUESTS_JSONL_GZ
            }
            Err(e) => return Err(std::io::Error::other(format!("writing {}: {e}", self.path.display()))),
        };
        std::fs::rename(&self.path, dir.join(name))
    }
}

/// The record of request `n` (completion order) of `phase`.
pub fn line(o: &Outcome, n: u64, phase: &str, template: &str, run_start: Instant, capture: Option<&str>) -> Value {
    let ms = |d: std::time::Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    json!({
        "request": n,
        "arrival": o.arrival,
        "phase": phase,
        "template": template,
        "turn": o.turn,
        "stream": o.stream,
        "start_s": o.start.map(|s| s.saturating_duration_since(run_start).as_secs_f64()),
        "send_lag_ms": o.send_lag.map(ms),
        "dns_ms": o.dns.map(ms),
        "connect_ms": o.connect.map(ms),
        "proxy_ms": o.proxy.map(ms),
        "tls_ms": o.tls.map(ms),
        "tls_resumed": o.tls.map(|_| o.tls_resumed),
        "http2": o.h2,
        "ttfb_ms": o.ttfb.map(ms),
        "ttft_ms": o.ttft.map(ms),
        "e2e_ms": ms(o.e2e),
        "tpot_ms": o.tpot().map(ms),
        "input_tokens": o.input_tokens,
        "output_tokens": o.output_tokens,
        "outcome": o.kind.id(),
        "status": o.status,
        "error_type": o.error_type,
        "findings": o.findings.iter().map(|f| f.rule.id()).collect::<Vec<_>>(),
        "capture": capture.map(super::capture::cited),
        "attempt": o.attempt,
        "retried_for": o.retried_for,
        "effective_ms": o.effective.map(ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_lines_of_json_moved_into_the_report_folder() {
        let dir = std::env::temp_dir().join(format!("relaybench-records-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let records = Records::create(&dir.join(".staging.jsonl"), RecordsMode::Jsonl).expect("create");
        let mut o = Outcome::new(0, true);
        o.ttft = Some(std::time::Duration::from_micros(12_345));
        o.status = Some(200);
        for n in 1..=3 {
            records.write(&line(&o, n, "load", "t", Instant::now(), None));
        }
        records.finish(&dir).expect("finish");
        let text = std::fs::read_to_string(dir.join(REQUESTS_JSONL)).expect("moved");
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!((lines[2]["request"].as_u64(), lines[0]["ttft_ms"].as_f64(), lines[0]["outcome"].as_str()), (Some(3), Some(12.345), Some("ok")));
        assert!(!dir.join(".staging.jsonl").exists());
        let zipped = Records::create(&dir.join(".staging.gz"), RecordsMode::Gzip).expect("create");
        for n in 1..=3 {
            zipped.write(&line(&o, n, "load", "t", Instant::now(), None));
        }
        zipped.finish(&dir).expect("finish");
        let mut unzipped = String::new();
        let file = std::fs::File::open(dir.join(REQUESTS_JSONL_GZ)).expect("moved");
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(file), &mut unzipped).expect("gzip");
        assert_eq!(unzipped, text, "the same lines, compressed");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
