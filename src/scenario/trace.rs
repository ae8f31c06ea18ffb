//! Request traces to replay: JSONL in the Mooncake layout that AIPerf and GuideLLM
//! replay, one request a line: `{"timestamp": ms, "input_length": N, "output_length": M,
//! "hash_ids": [...]}` (`input_tokens` and `output_tokens` are accepted as the upstream
//! aliases). Each request is sent at its timestamp (divided by the scenario's `speed`)
//! through the open loop, so lateness shows as send lag; its prompt is made of one
//! generated block per hash id, so requests that share leading hash ids share a prefix, as
//! the traced ones did.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::size::{MAX_INPUT_TOKENS, MAX_OUTPUT_TOKENS};
use super::error::ScenarioError;

/// Longest line read; a longer one is an error, so a file without newlines cannot fill
/// memory.
const MAX_LINE: usize = 1 << 20;
/// Most requests one trace may hold (about 40 MB of records).
pub const MAX_RECORDS: usize = 2_000_000;
/// Most hash ids one record may list.
const MAX_HASH_IDS: usize = 4096;

/// One traced request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceRecord {
    /// When it arrived, from the trace's first request.
    pub at: Duration,
    /// Input tokens.
    pub input: u32,
    /// Output tokens, sent as `max_tokens`.
    pub output: u32,
    /// Its hash ids, `hash_ids[first..first + count]` of the trace.
    first: u32,
    count: u32,
}

/// A loaded trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The file, for messages.
    pub file: PathBuf,
    /// Requests in arrival order.
    pub records: Vec<TraceRecord>,
    hash_ids: Vec<u64>,
    /// Tokens of one hash block.
    pub block_tokens: u32,
}

impl Trace {
    /// The hash ids of `record`.
    pub fn hash_ids(&self, record: &TraceRecord) -> &[u64] {
        &self.hash_ids[record.first as usize..(record.first + record.count) as usize]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    timestamp: f64,
    #[serde(alias = "input_tokens")]
    input_length: u64,
    #[serde(alias = "output_tokens")]
    output_length: u64,
    #[serde(default)]
    hash_ids: Vec<u64>,
    #[serde(default)]
    session_id: Option<serde_json::Value>,
}

/// Reads a trace, line by line; a mistake names the file and line. Timestamps may come in
/// any order; they are sorted, and measured from the earliest.
pub fn load(file: &Path, block_tokens: u32) -> Result<Trace, ScenarioError> {
    let error = |line: Option<usize>, message: String| ScenarioError { file: file.to_owned(), line, column: None, message };
    let mut trace = Trace { file: file.to_owned(), records: Vec::new(), hash_ids: Vec::new(), block_tokens };
    let mut stamps = Vec::new();
    super::jsonl::for_each(file, MAX_LINE, "trace", |number, line: Line| {
        if trace.records.len() == MAX_RECORDS {
            return Err(error(Some(number), format!("more than {MAX_RECORDS} requests; split the trace")));
        }
        let _ = line.session_id;
        if !(line.timestamp.is_finite() && line.timestamp >= 0.0 && line.timestamp < 1e12) {
            return Err(error(Some(number), "timestamp must be milliseconds, 0 or more".into()));
        }
        if !(1..=MAX_INPUT_TOKENS).contains(&line.input_length) {
            return Err(error(Some(number), format!("input_length must be from 1 to {MAX_INPUT_TOKENS}")));
        }
        if !(1..=MAX_OUTPUT_TOKENS).contains(&line.output_length) {
            return Err(error(Some(number), format!("output_length must be from 1 to {MAX_OUTPUT_TOKENS}")));
        }
        if line.hash_ids.len() > MAX_HASH_IDS {
            return Err(error(Some(number), format!("more than {MAX_HASH_IDS} hash_ids")));
        }
        stamps.push(line.timestamp);
        trace.records.push(TraceRecord {
            at: Duration::ZERO,
            input: line.input_length as u32,
            output: line.output_length as u32,
            first: trace.hash_ids.len() as u32,
            count: line.hash_ids.len() as u32,
        });
        trace.hash_ids.extend(line.hash_ids);
        Ok(ControlFlow::Continue(()))
    })?;
    if trace.records.is_empty() {
        return Err(error(None, "the trace holds no request".into()));
    }
    let origin = stamps.iter().copied().fold(f64::INFINITY, f64::min);
    for (r, ms) in trace.records.iter_mut().zip(&stamps) {
        r.at = Duration::from_secs_f64((ms - origin) / 1e3);
    }
    trace.records.sort_by_key(|r| r.at);
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("relaybench-trace-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let file = dir.join("t.jsonl");
        std::fs::write(&file, text).expect("write");
        file
    }

    #[test]
    fn records_load_sorted_from_the_earliest_with_their_hash_ids() {
        let file = write("ok", "{\"timestamp\": 1500, \"input_length\": 700, \"output_length\": 20, \"hash_ids\": [1, 2]}\n\n{\"timestamp\": 1000, \"input_tokens\": 300, \"output_tokens\": 5, \"hash_ids\": [1]}\n");
        let t = load(&file, 512).expect("loads");
        assert_eq!(t.records.len(), 2);
        assert_eq!((t.records[0].at, t.records[0].input, t.records[0].output), (Duration::ZERO, 300, 5));
        assert_eq!((t.records[1].at, t.records[1].input), (Duration::from_millis(500), 700));
        assert_eq!((t.hash_ids(&t.records[0]), t.hash_ids(&t.records[1])), (&[1][..], &[1, 2][..]));
    }

    #[test]
    fn a_bad_line_is_named_with_its_number() {
        let cases = [
            ("{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 5}\n{\"timestamp\": 1, \"input_length\": 0, \"output_length\": 5}\n", 2, "input_length must be"),
            ("{\"timestamp\": 0, \"input_length\": 10}\n", 1, "missing field `output_length`"),
            ("not json\n", 1, "not a trace record"),
            ("{\"timestamp\": -4, \"input_length\": 1, \"output_length\": 1}\n", 1, "timestamp must be"),
            ("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"extra\": 3}\n", 1, "unknown field `extra`"),
        ];
        for (i, (text, line, message)) in cases.iter().enumerate() {
            let e = load(&write(&format!("bad{i}"), text), 512).expect_err(message);
            assert_eq!(e.line, Some(*line), "{e}");
            assert!(e.message.contains(message), "{e}");
        }
        assert!(load(&write("empty", "\n"), 512).expect_err("empty").message.contains("no request"));
        let long = format!("{}\n", " ".repeat(MAX_LINE + 10));
        assert!(load(&write("long", &long), 512).expect_err("long").message.contains("longer than"));
    }
}
