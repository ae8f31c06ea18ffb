//! Synthetic prompts sized in tokens, and the token rule they are sized by.
//!
//! Claude's tokenizer is not public, so a prompt "of N tokens" can only be honest about
//! its own rule: here every whitespace-separated word counts one token. The generator
//! writes words from a vocabulary of short, common English words (each of which BPE
//! tokenizers, Claude's included, typically take as one token with its leading space),
//! and the embedded mock counts input with this same rule, so on the mock the requested
//! and the reported input tokens agree exactly; against a real provider the report shows
//! both, and their ratio is that provider's tokens per generated word.
//!
//! Every generated prompt begins with a word unique to its request (`r` and 16 hex
//! digits), so no relay can answer it from a response cache, and no two share a prefix a
//! prompt cache could reuse; the rest is a window of a fixed block of words, at a place
//! drawn from the seed.

use serde_json::{Map, Value};

use crate::rng::Rng;

/// Words the generator writes: short, common, lower-case, no punctuation, so none needs
/// escaping in JSON and each stays one token by any reasonable tokenizer.
pub const WORDS: [&str; 64] = [
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
    "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an",
    "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there",
    "been", "if", "more", "when", "will", "would", "who", "so", "no", "time", "world", "water",
    "light", "river", "stone", "green", "small", "house", "night", "road", "city", "bird",
    "tree", "sea", "day",
];

/// Tokens in `text` by this module's rule: its whitespace-separated words.
pub fn count_tokens(text: &str) -> u64 {
    text.split_ascii_whitespace().count() as u64
}

/// Input tokens of a request body by this module's rule: the words of every text in
/// `system` and `messages` (string content and the `text` of blocks), plus one token per
/// four bytes of the `tools` definitions; at least 1. Like the API's count it does not
/// change with `stream`, `max_tokens` or sampling fields.
pub fn request_tokens(body: &Map<String, Value>) -> u64 {
    let mut words = 0;
    if let Some(system) = body.get("system") {
        words += texts_tokens(system);
    }
    for message in body.get("messages").and_then(Value::as_array).into_iter().flatten() {
        if let Some(content) = message.get("content") {
            words += texts_tokens(content);
        }
    }
    let tools = body.get("tools").map_or(0, |t| t.to_string().len() as u64 / 4);
    (words + tools).max(1)
}

/// Words of a string, or of the `text` (and a nested `content`) of each block in an array.
fn texts_tokens(v: &Value) -> u64 {
    match v {
        Value::String(s) => count_tokens(s),
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| {
                let text = b.get("text").and_then(Value::as_str).map_or(0, count_tokens);
                text + b.get("content").map_or(0, texts_tokens)
            })
            .sum(),
        _ => 0,
    }
}

/// The word that makes request `n` of a run unique: `r` and 16 hex digits, one token.
pub fn unique_word(seed: u64, n: u64) -> String {
    format!("r{:016x}", Rng::derive(seed ^ 0x005E_ED0F_7E47, n).next_u64())
}

/// Words in the block every prompt is cut from.
const BLOCK_WORDS: usize = 1 << 16;

/// The block: [`WORDS`] drawn from a fixed seed, each with the space before it, and where
/// each word starts. Built once; prompts are windows of it, so building one costs about a
/// copy of its bytes.
fn block() -> &'static (Vec<u8>, Vec<u32>) {
    static BLOCK: std::sync::OnceLock<(Vec<u8>, Vec<u32>)> = std::sync::OnceLock::new();
    BLOCK.get_or_init(|| {
        let mut rng = Rng::new(0x5157_0C4B);
        let (mut text, mut starts) = (Vec::with_capacity(BLOCK_WORDS * 5), Vec::with_capacity(BLOCK_WORDS + 1));
        for _ in 0..BLOCK_WORDS {
            starts.push(text.len() as u32);
            text.push(b' ');
            text.extend_from_slice(WORDS[(rng.next_u64() % WORDS.len() as u64) as usize].as_bytes());
        }
        starts.push(text.len() as u32);
        (text, starts)
    })
}

/// Appends a prompt of exactly `tokens` tokens (by [`count_tokens`]) to `out`: the unique
/// word of request `n`, then `tokens - 1` words of the block from a place drawn with the
/// same seed (wrapping around for prompts longer than the block), so the same seed and
/// `n` give the same text and no two requests share a prefix.
pub fn write_prompt(out: &mut Vec<u8>, seed: u64, n: u64, tokens: u64) {
    if tokens == 0 {
        return;
    }
    out.extend_from_slice(unique_word(seed, n).as_bytes());
    write_window(out, Rng::derive(seed, n).next_u64(), tokens - 1);
}

/// Appends `words` words of the block, each after a space, from a place `draw` picks.
fn write_window(out: &mut Vec<u8>, draw: u64, words: u64) {
    let (text, starts) = block();
    let mut at = (draw % BLOCK_WORDS as u64) as usize;
    let mut left = words;
    while left > 0 {
        let take = (BLOCK_WORDS - at).min(usize::try_from(left).unwrap_or(usize::MAX));
        out.extend_from_slice(&text[starts[at] as usize..starts[at + take] as usize]);
        left -= take as u64;
        at = 0;
    }
}

/// Appends a prompt of exactly `tokens` tokens made the way a traced request's was: one
/// block of `block_tokens` words per hash id (the same id, the same words, so requests
/// that shared a prefix share it again), cut at `tokens`; past the last block, words of
/// request `n`'s own.
pub fn write_hashed_prompt(out: &mut Vec<u8>, seed: u64, n: u64, hash_ids: &[u64], block_tokens: u64, tokens: u64) {
    let mut left = tokens;
    for id in hash_ids {
        if left == 0 {
            return;
        }
        let take = block_tokens.min(left);
        write_window(out, Rng::derive(seed ^ 0x0000_0B10_C4ED, *id).next_u64(), take);
        left -= take;
    }
    if left > 0 {
        out.push(b' ');
        write_prompt(out, seed, n, left);
    }
}

/// [`write_prompt`] as a `String`.
pub fn prompt(seed: u64, n: u64, tokens: u64) -> String {
    let mut out = Vec::new();
    write_prompt(&mut out, seed, n, tokens);
    // Every byte written is ASCII.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_prompt_has_exactly_the_tokens_asked_for_and_differs_per_request() {
        for tokens in [0, 1, 2, 9, 10, 11, 1000, 32_768, 200_000] {
            assert_eq!(count_tokens(&prompt(7, 3, tokens)), tokens);
        }
        assert_eq!(prompt(7, 3, 500), prompt(7, 3, 500), "the same seed and request give the same text");
        assert_ne!(prompt(7, 3, 500), prompt(7, 4, 500), "two requests differ");
        assert_ne!(prompt(7, 3, 500), prompt(8, 3, 500), "two seeds differ");
        assert!(prompt(1, 1, 2000).bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '));
    }

    #[test]
    fn hashed_prompts_share_the_blocks_of_shared_ids_and_have_their_size() {
        let text = |ids: &[u64], tokens: u64, n: u64| {
            let mut out = Vec::new();
            write_hashed_prompt(&mut out, 5, n, ids, 16, tokens);
            String::from_utf8(out).expect("ascii")
        };
        for (ids, tokens) in [(&[1u64, 2][..], 20), (&[1, 2][..], 40), (&[][..], 7), (&[9][..], 3)] {
            assert_eq!(count_tokens(&text(ids, tokens, 0)), tokens);
        }
        let (a, b) = (text(&[1, 2, 3], 48, 0), text(&[1, 2, 4], 48, 1));
        let words = |s: &str| s.split_ascii_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(words(&a)[..32], words(&b)[..32], "the shared ids' blocks are the same");
        assert_ne!(words(&a)[32..], words(&b)[32..]);
    }

    #[test]
    fn the_request_rule_counts_system_messages_blocks_and_tools() {
        let body = json!({
            "system": [{"type": "text", "text": "You are brief."}],
            "messages": [
                {"role": "user", "content": "one two three"},
                {"role": "assistant", "content": [{"type": "text", "text": "four five"}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "six"}]}]}
            ],
            "max_tokens": 999, "stream": true
        });
        let map = body.as_object().expect("object");
        assert_eq!(request_tokens(map), 3 + 3 + 2 + 1);
        let mut with_tools = map.clone();
        with_tools.insert("tools".into(), json!([{"name": "abcd"}]));
        assert_eq!(request_tokens(&with_tools), 9 + (r#"[{"name":"abcd"}]"#.len() as u64 / 4));
        assert_eq!(request_tokens(&Map::new()), 1);
    }
}
