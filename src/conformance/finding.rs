//! A finding: one broken (or noteworthy) rule in one response, with where and what.

use super::rules::{Rule, Severity};

/// One broken (or noteworthy) rule in one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// 0-based index of the SSE event, for stream findings.
    pub event_index: Option<usize>,
    /// What was wrong, specifically.
    pub message: String,
    /// The start of the offending bytes.
    pub excerpt: String,
}

impl Finding {
    /// A finding with an excerpt of `bytes`.
    pub fn new(rule: Rule, event_index: Option<usize>, message: impl Into<String>, bytes: &[u8]) -> Self {
        Finding {
            rule,
            event_index,
            message: crate::text::cut(message.into()),
            excerpt: crate::text::excerpt(bytes),
        }
    }
}

/// True when any finding is an error, which fails the conformance gate.
pub fn has_violation(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.rule.severity() == Severity::Error)
}
