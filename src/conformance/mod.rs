//! Conformance checking: what a provider sends, held against the protocol facts of
//! `shared/PROTOCOL.md`. Checks run on every live response and on captured bodies
//! (`relaybench check`), through the same code.

pub mod envelope;
pub mod message;
pub mod request;
pub mod rules;
pub mod stream;

pub use rules::{Rule, Severity, RULES};

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
            message: message.into(),
            excerpt: crate::client::excerpt(bytes),
        }
    }
}

/// True when any finding is an error, which fails the conformance gate.
pub fn has_violation(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.rule.severity() == Severity::Error)
}

/// What a captured body is, for offline checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// A raw SSE body, bytes exactly as received.
    Stream,
    /// A 2xx non-streaming Message body.
    Message,
    /// An error body that came with this HTTP status.
    Error(u16),
}

/// Checks a whole captured body with the same code live runs use.
pub fn check_capture(kind: Capture, body: &[u8]) -> Vec<Finding> {
    match kind {
        Capture::Stream => {
            let mut parser = crate::sse::Parser::new();
            let mut checker = stream::StreamChecker::new();
            parser.feed(body, |ev| match ev {
                Ok(ev) => {
                    let data: Option<serde_json::Value> = serde_json::from_str(ev.data).ok();
                    checker.event(ev.name, ev.data, data.as_ref());
                }
                Err(e) => checker.framing_error(&e),
            });
            parser.finish();
            checker.finish();
            checker.take_findings()
        }
        Capture::Message => message::check_message(body),
        Capture::Error(status) => envelope::check_error_body(status, body),
    }
}
