//! The token counters of a `usage` object (PROTOCOL.md §2.3), read the same way by the
//! Message, the stream checker and the client.

use serde_json::Value;

/// The token counters of a `usage` object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageCounts {
    /// `input_tokens`.
    pub input: Option<u64>,
    /// `output_tokens`.
    pub output: Option<u64>,
    /// `cache_read_input_tokens`.
    pub cache_read: Option<u64>,
    /// `cache_creation_input_tokens`.
    pub cache_creation: Option<u64>,
    /// `cache_creation.ephemeral_1h_input_tokens`: billed at another rate (PROTOCOL.md §10).
    pub cache_creation_1h: Option<u64>,
}

impl UsageCounts {
    /// The counters `usage` holds; one absent or not a non-negative integer is `None`.
    pub fn from_value(usage: &Value) -> UsageCounts {
        let field = |k: &str| usage.get(k).and_then(Value::as_u64);
        UsageCounts {
            input: field("input_tokens"),
            output: field("output_tokens"),
            cache_read: field("cache_read_input_tokens"),
            cache_creation: field("cache_creation_input_tokens"),
            cache_creation_1h: usage.get("cache_creation").and_then(|c| c.get("ephemeral_1h_input_tokens")).and_then(Value::as_u64),
        }
    }

    /// `input_tokens` + `cache_creation_input_tokens` + `cache_read_input_tokens`, when
    /// `input_tokens` is there.
    pub fn input_total(&self) -> Option<u64> {
        // Saturating: the counters are the server's, and may be anything up to u64::MAX.
        self.input.map(|n| n.saturating_add(self.cache_creation.unwrap_or(0)).saturating_add(self.cache_read.unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_total_saturates_on_a_server_s_huge_counters() {
        let usage = serde_json::json!({"input_tokens": u64::MAX, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 2});
        assert_eq!(UsageCounts::from_value(&usage).input_total(), Some(u64::MAX));
        assert_eq!(UsageCounts::from_value(&serde_json::json!({"input_tokens": 3, "cache_read_input_tokens": 5})).input_total(), Some(8));
        assert_eq!(UsageCounts::from_value(&serde_json::json!({"cache_read_input_tokens": 5})).input_total(), None);
    }
}
