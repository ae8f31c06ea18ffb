//! Offline checking of captured bodies (`relaybench check`), through the same checkers
//! live runs use.

use super::envelope::check_error_body;
use super::finding::Finding;
use super::message::check_message;
use super::rules::Rule;
use super::stream::StreamChecker;

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

/// Checks a whole captured body with the same code live runs use; a stream's findings
/// are the first few of each rule (see [`check_capture_counted`] for the rest's counts).
pub fn check_capture(kind: Capture, body: &[u8]) -> Vec<Finding> {
    check_capture_counted(kind, body).0
}

/// [`check_capture`], with the counts of the findings not kept, by rule.
pub fn check_capture_counted(kind: Capture, body: &[u8]) -> (Vec<Finding>, Vec<(Rule, u64)>) {
    match kind {
        Capture::Stream => check_stream_chunks([body]),
        Capture::Message => (check_message(body), Vec::new()),
        Capture::Error(status) => (check_error_body(status, body), Vec::new()),
    }
}

/// Checks a stream body that arrives in `chunks` (one, for a capture): its kept findings
/// and the counts of those not kept, by rule.
pub fn check_stream_chunks<'c>(chunks: impl IntoIterator<Item = &'c [u8]>) -> (Vec<Finding>, Vec<(Rule, u64)>) {
    let mut parser = crate::sse::Parser::new();
    let mut checker = StreamChecker::new();
    for chunk in chunks {
        parser.feed(chunk, |ev| match ev {
            Ok(ev) => {
                checker.raw_event(ev.name, ev.data);
            }
            Err(e) => checker.framing_error(&e),
        });
    }
    parser.finish();
    checker.finish();
    (checker.take_findings(), checker.take_unkept())
}
