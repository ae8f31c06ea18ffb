//! The mock's prompt cache: the prefix of a request up to its last `cache_control`
//! breakpoint (tools, then system, then messages, as the API orders them) is written on
//! first use and read afterwards, and the usage says which, so a cache workload's hit
//! ratio and its faster first tokens can be checked end to end. Prefixes are counted with
//! the generator's token rule, like all of the mock's input.

use std::collections::HashSet;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::rng::hash_bytes;

/// Prefixes kept at most; past it the cache starts over, so memory stays bounded.
const MAX_ENTRIES: usize = 100_000;

/// The cacheable prefix of a request: its hash, its input tokens, and whether its last
/// breakpoint asks for an hour (`cache_control: {type: ephemeral, ttl: 1h}`) rather than
/// the default five minutes.
pub fn prefix(body: &Map<String, Value>) -> Option<(u64, u64, bool)> {
    let mut hash = 0u64;
    let mut tokens = 0u64;
    let mut breakpoint = None;
    let one_hour = |c: &Value| c.get("ttl").and_then(Value::as_str) == Some("1h");
    let mut take = |text: &str, counted: u64, marked: Option<&Value>| {
        hash = hash_bytes(&[hash.to_le_bytes().as_slice(), text.as_bytes()].concat());
        tokens += counted;
        if let Some(control) = marked {
            breakpoint = Some((hash, tokens, one_hour(control)));
        }
    };
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        let text = Value::Array(tools.clone()).to_string();
        let marked = tools.iter().rev().find_map(|t| t.get("cache_control"));
        take(&text, text.len() as u64 / 4, marked);
    }
    let blocks = |content: &Value, take: &mut dyn FnMut(&str, u64, Option<&Value>)| match content {
        Value::String(s) => take(s, crate::synth::count_tokens(s), None),
        Value::Array(items) => {
            for b in items {
                let text = b.get("text").and_then(Value::as_str).unwrap_or_default();
                take(text, crate::synth::count_tokens(text), b.get("cache_control"));
            }
        }
        _ => {}
    };
    if let Some(system) = body.get("system") {
        blocks(system, &mut take);
    }
    for message in body.get("messages").and_then(Value::as_array).into_iter().flatten() {
        if let Some(content) = message.get("content") {
            blocks(content, &mut take);
        }
    }
    breakpoint.filter(|(_, tokens, _)| *tokens > 0)
}

/// Prefixes the mock has seen.
#[derive(Debug, Default)]
pub struct PromptCache {
    seen: Mutex<HashSet<u64>>,
}

impl PromptCache {
    /// Whether `key` was cached already; it is from now on. Check and insert are one
    /// step, so concurrent first uses write the prefix once and read it after.
    pub fn hit(&self, key: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_ENTRIES {
            seen.clear();
        }
        !seen.insert(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_prefix_ends_at_the_last_breakpoint_and_counts_its_words() {
        let b = body(json!({
            "system": [{"type": "text", "text": "one two three", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "four"}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "five six", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "seven"}]}]
        }));
        let (key, tokens, one_hour) = prefix(&b).expect("a breakpoint");
        assert_eq!((tokens, one_hour), (6, false));
        let mut other = b.clone();
        other["messages"][0]["content"][1]["text"] = json!("eight nine");
        assert_eq!(prefix(&other), Some((key, 6, false)), "what follows the breakpoint is not part of it");
        // The last breakpoint's lifetime is the write's.
        other["messages"][0]["content"][0]["cache_control"] = json!({"type": "ephemeral", "ttl": "1h"});
        assert_eq!(prefix(&other).map(|p| p.2), Some(true));
        other["system"][1]["text"] = json!("changed");
        assert_ne!(prefix(&other).map(|p| p.0), Some(key), "what precedes it is");
        assert_eq!(prefix(&body(json!({"system": "no breakpoint", "messages": []}))), None);
    }

    #[test]
    fn a_prefix_is_written_once_then_read() {
        let cache = PromptCache::default();
        assert!(!cache.hit(7));
        assert!(cache.hit(7) && cache.hit(7));
        assert!(!cache.hit(8));
    }
}
