//! Prompts and conversations read from a file: JSONL of Anthropic-shaped records
//! (`{"system"?: ..., "messages": [...]}`, one a line), or the ShareGPT JSON layout every
//! peer tool accepts (`[{"conversations": [{"from": "human"|"gpt"|"system", "value": ...}]}]`).
//!
//! Files are streamed, never loaded whole: the scenario loader reads one through once to
//! check every record (a mistake names the file, line and column) and count those that
//! pass the filter, and a run reads it again as it sends, so a 1 GB dataset costs the
//! memory of one record.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::ScenarioError;
use super::size::MAX_INPUT_TOKENS;
use crate::rng::Rng;

/// Longest JSONL line read.
const MAX_LINE: usize = 16 << 20;

/// The layout of a dataset file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSONL, one `{system?, messages}` record a line.
    Anthropic,
    /// A JSON array of `{conversations: [{from, value}]}`.
    Sharegpt,
}

/// A template's dataset, as the scenario gives it.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// The file, relative to the scenario's folder.
    pub file: PathBuf,
    /// Its layout; by default `.json` files are ShareGPT and the rest JSONL.
    #[serde(default)]
    pub format: Option<Format>,
    /// Keep only records of at least this many input tokens (by relaybench's rule).
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_INPUT_TOKENS))]
    pub min_tokens: Option<u64>,
    /// Keep only records of at most this many.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_INPUT_TOKENS))]
    pub max_tokens: Option<u64>,
    /// Keep each record with this probability, drawn from the scenario's seed.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1))]
    pub sample: Option<f64>,
    /// Send each kept record once, then end the run, instead of cycling through them.
    #[serde(default)]
    pub once: bool,
    /// The file found from the scenario's folder, the records that pass, and the seed that
    /// sampled them, set when the scenario is loaded.
    #[serde(skip)]
    pub resolved: Option<(PathBuf, u64, u64)>,
}

impl DatasetSpec {
    /// The layout of its file.
    pub fn format(&self) -> Format {
        self.format.unwrap_or(if self.file.extension().is_some_and(|e| e == "json") { Format::Sharegpt } else { Format::Anthropic })
    }

    /// Checks the numbers that do not need the file.
    pub fn check(&self) -> Result<(), String> {
        let in_range = |n: Option<u64>| n.is_none_or(|n| (1..=MAX_INPUT_TOKENS).contains(&n));
        if !in_range(self.min_tokens) || !in_range(self.max_tokens) {
            return Err(format!("dataset min_tokens and max_tokens must be from 1 to {MAX_INPUT_TOKENS}"));
        }
        if let (Some(lo), Some(hi)) = (self.min_tokens, self.max_tokens) {
            if lo > hi {
                return Err(format!("dataset min_tokens {lo} is above max_tokens {hi}"));
            }
        }
        if self.sample.is_some_and(|p| !(p > 0.0 && p <= 1.0)) {
            return Err("dataset sample is a share above 0, at most 1".into());
        }
        Ok(())
    }

    /// Whether the record numbered `index` (0-based, in file order) with `tokens` input
    /// tokens is kept, for the run seeded `seed`.
    pub fn keeps(&self, seed: u64, index: u64, tokens: u64) -> bool {
        self.min_tokens.is_none_or(|m| tokens >= m)
            && self.max_tokens.is_none_or(|m| tokens <= m)
            && self.sample.is_none_or(|p| Rng::derive(seed ^ 0x0000_0DA7_A5E7, index).next_f64() < p)
    }
}

/// One record, ready to go into a request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `system`, when the record has one.
    pub system: Option<Value>,
    /// `messages`, ending with a user turn.
    pub messages: Value,
    /// Its input tokens by relaybench's rule.
    pub tokens: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnthropicLine {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    system: Option<Value>,
    messages: Vec<Value>,
}

#[derive(Deserialize)]
struct ShareGptRecord {
    conversations: Vec<ShareGptTurn>,
}

#[derive(Deserialize)]
struct ShareGptTurn {
    from: String,
    value: String,
}

impl Record {
    fn new(system: Option<Value>, messages: Vec<Value>) -> Result<Record, String> {
        for (i, m) in messages.iter().enumerate() {
            let role = m.get("role").and_then(Value::as_str);
            if !matches!(role, Some("user" | "assistant")) {
                return Err(format!("messages[{i}]: role must be user or assistant"));
            }
            if !matches!(m.get("content"), Some(Value::String(_) | Value::Array(_))) {
                return Err(format!("messages[{i}]: content must be a string or a list of blocks"));
            }
        }
        match messages.last().and_then(|m| m.get("role")).and_then(Value::as_str) {
            Some("user") => {}
            Some(_) => return Err("the last message must be the user's, for the model to answer".into()),
            None => return Err("a record needs at least one message".into()),
        }
        if system.as_ref().is_some_and(|s| !matches!(s, Value::String(_) | Value::Array(_))) {
            return Err("system must be a string or a list of blocks".into());
        }
        let mut body = Map::new();
        if let Some(s) = &system {
            body.insert("system".into(), s.clone());
        }
        body.insert("messages".into(), Value::Array(messages));
        let tokens = crate::synth::request_tokens(&body);
        let messages = body.remove("messages").unwrap_or_default();
        Ok(Record { system, messages, tokens })
    }

    /// A ShareGPT conversation: `human` turns as the user's, `gpt` as the assistant's,
    /// `system` as the system prompt; the turns after the last human one (the recorded
    /// answer) are left for the model to give.
    fn from_sharegpt(r: ShareGptRecord) -> Result<Record, String> {
        let mut system = Vec::new();
        let mut messages = Vec::new();
        for (i, turn) in r.conversations.into_iter().enumerate() {
            match turn.from.as_str() {
                "system" => system.push(turn.value),
                "human" | "user" => messages.push(json!({"role": "user", "content": turn.value})),
                "gpt" | "assistant" | "chatgpt" | "bard" => messages.push(json!({"role": "assistant", "content": turn.value})),
                other => return Err(format!("conversations[{i}]: unknown speaker {other:?} (human, gpt or system)")),
            }
        }
        while messages.last().is_some_and(|m| m["role"] == "assistant") {
            messages.pop();
        }
        Record::new((!system.is_empty()).then(|| Value::String(system.join("\n"))), messages)
    }
}

/// Calls `each` with every record of `file` in order, with its line; stops early when
/// `each` breaks. A malformed record is an error naming the file, line and column.
pub fn for_each(file: &Path, format: Format, mut each: impl FnMut(usize, Record) -> ControlFlow<()>) -> Result<(), ScenarioError> {
    let error = |line: Option<usize>, column: Option<usize>, message: String| ScenarioError { file: file.to_owned(), line, column, message };
    match format {
        Format::Anthropic => super::jsonl::for_each(file, MAX_LINE, "dataset", |number, line: AnthropicLine| {
            let _ = line.id;
            let record = Record::new(line.system, line.messages).map_err(|m| error(Some(number), None, m))?;
            Ok(each(number, record))
        }),
        Format::Sharegpt => {
            // One element at a time through a sequence visitor: a whole array is never held.
            struct Each<'a, F>(&'a mut F, &'a mut Option<String>, &'a mut usize);
            impl<'de, F: FnMut(usize, Record) -> ControlFlow<()>> Visitor<'de> for Each<'_, F> {
                type Value = ();
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON array of {conversations: [{from, value}]}")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                    while let Some(r) = seq.next_element::<ShareGptRecord>()? {
                        *self.2 += 1;
                        match Record::from_sharegpt(r) {
                            Ok(record) => {
                                if (self.0)(*self.2, record).is_break() {
                                    // Skip the rest without building it.
                                    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                                    return Ok(());
                                }
                            }
                            Err(m) => {
                                *self.1 = Some(m);
                                return Err(serde::de::Error::custom("record"));
                            }
                        }
                    }
                    Ok(())
                }
            }
            let (mut bad, mut count) = (None, 0usize);
            let handle = std::fs::File::open(file).map_err(|e| error(None, None, format!("cannot read dataset: {e}")))?;
            let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(handle));
            let result = (&mut de).deserialize_seq(Each(&mut each, &mut bad, &mut count));
            match (result, bad) {
                (Ok(()), _) => Ok(()),
                (Err(e), Some(m)) => Err(error(Some(e.line()), None, format!("conversation {count}: {m}"))),
                (Err(e), None) => Err(error(Some(e.line()), Some(e.column()), format!("not a ShareGPT array: {}", super::jsonl::without_position(&e)))),
            }
        }
    }
}

/// Reads the dataset through once: checks every record and counts those `spec` keeps.
pub fn count_kept(file: &Path, spec: &DatasetSpec, seed: u64) -> Result<u64, ScenarioError> {
    let (mut index, mut kept) = (0u64, 0u64);
    for_each(file, spec.format(), |_, r| {
        kept += u64::from(spec.keeps(seed, index, r.tokens));
        index += 1;
        ControlFlow::Continue(())
    })?;
    if kept == 0 {
        return Err(ScenarioError { file: file.to_owned(), line: None, column: None, message: "no record passes the dataset's filter".into() });
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("relaybench-dataset-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let file = dir.join(name);
        std::fs::write(&file, text).expect("write");
        file
    }

    fn all(file: &Path, format: Format) -> Result<Vec<(usize, Record)>, ScenarioError> {
        let mut out = Vec::new();
        for_each(file, format, |n, r| {
            out.push((n, r));
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    #[test]
    fn both_layouts_read_into_requests_that_end_with_the_user() {
        let jsonl = write("a.jsonl", "{\"system\": \"Be brief.\", \"messages\": [{\"role\": \"user\", \"content\": \"one two three\"}]}\n\n{\"id\": 7, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"and now\"}]}]}\n");
        let records = all(&jsonl, Format::Anthropic).expect("reads");
        assert_eq!(records.iter().map(|(n, r)| (*n, r.tokens)).collect::<Vec<_>>(), [(1, 5), (3, 4)]);
        assert_eq!(records[0].1.system, Some(json!("Be brief.")));
        let sharegpt = write("s.json", r#"[{"id": "x", "conversations": [{"from": "system", "value": "Be kind."}, {"from": "human", "value": "What is rust"}, {"from": "gpt", "value": "A language."}]},
            {"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}, {"from": "human", "value": "c d"}, {"from": "gpt", "value": "e"}]}]"#);
        let records = all(&sharegpt, Format::Sharegpt).expect("reads");
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].1.messages, json!([{"role": "user", "content": "What is rust"}]), "the recorded answer is left out");
        assert_eq!(records[0].1.system, Some(json!("Be kind.")));
        assert_eq!(records[1].1.messages.as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn a_malformed_record_is_named_with_its_line() {
        let cases = [
            ("b1.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"ok\"}]}\n{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}\n", Format::Anthropic, 2, "last message must be the user's"),
            ("b2.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"ok\"}]}\nnot json\n", Format::Anthropic, 2, "not a dataset record"),
            ("b3.jsonl", "{\"mesages\": []}\n", Format::Anthropic, 1, "unknown field `mesages`"),
            ("b4.json", "[{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}]},\n {\"conversations\": [{\"from\": \"robot\", \"value\": \"a\"}]}]", Format::Sharegpt, 2, "unknown speaker"),
            // The line is where the parser stood when the record was judged: its end, or past it.
            ("b5.json", "[{\"conversations\": []},\n", Format::Sharegpt, 2, "conversation 1: a record needs at least one message"),
            ("b6.json", "{\"conversations\": []}", Format::Sharegpt, 1, "not a ShareGPT array"),
        ];
        for (name, text, format, line, message) in cases {
            let e = all(&write(name, text), format).expect_err(name);
            assert_eq!(e.line, Some(line), "{name}: {e}");
            assert!(e.message.contains(message), "{name}: {e}");
        }
    }

    #[test]
    fn the_filter_and_the_sample_choose_records_by_the_seed() {
        let lines: String = (1..=200).map(|n| format!("{{\"messages\": [{{\"role\": \"user\", \"content\": \"{}\"}}]}}\n", "w ".repeat(n))).collect();
        let file = write("f.jsonl", &lines);
        let mut spec = DatasetSpec { file: file.clone(), format: None, min_tokens: Some(51), max_tokens: Some(150), sample: None, once: false, resolved: None };
        assert_eq!(count_kept(&file, &spec, 1).expect("counts"), 100);
        spec.sample = Some(0.5);
        let (a, b) = (count_kept(&file, &spec, 1).expect("counts"), count_kept(&file, &spec, 2).expect("counts"));
        assert!((30..=70).contains(&a) && (30..=70).contains(&b), "{a} {b}");
        assert_eq!(count_kept(&file, &spec, 1).expect("counts"), a, "the same seed keeps the same records");
        spec.min_tokens = Some(1000);
        assert!(count_kept(&file, &spec, 1).expect_err("none").message.contains("no record passes"));
        assert!(DatasetSpec { sample: Some(0.0), ..spec.clone() }.check().is_err());
        assert!(DatasetSpec { min_tokens: Some(9), max_tokens: Some(3), ..spec }.check().is_err());
    }
}
