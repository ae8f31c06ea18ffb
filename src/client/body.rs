//! Reading a response body, whichever connection it comes from (hyper's, or the plain
//! HTTP/1.1 reader's): collecting a Message or an error body within a size limit, and
//! timing and checking a stream as it passes through the SSE parser.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::time::{timeout_at, Instant};

use super::h1;
use crate::conformance::envelope;
use crate::conformance::fast::Plain;
use crate::conformance::usage::UsageCounts;
use crate::conformance::request::{self, RequestFacts};
use crate::conformance::stream::{at, Read, StreamChecker};
use crate::outcome::{Outcome, OutcomeKind, MAX_REPLY};
use crate::protocol::{event, CONTENT_DELTA_TYPES};
use crate::sse;
use crate::text::excerpt;

/// Largest non-streaming body kept; beyond it the response counts as malformed, so a
/// server that never stops sending cannot exhaust memory.
pub const MAX_JSON_BODY: usize = 64 * 1024 * 1024;
/// Error bodies are short; more than this is cut.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// A response body as its bytes arrive.
pub trait BodyReader {
    /// Waits for the next bytes and hands them to `sink` with the moment they were read;
    /// `Ok(false)` at the end of the body, an error when it was cut.
    fn next(&mut self, sink: &mut (impl FnMut(&[u8], Instant) + Send)) -> impl std::future::Future<Output = Result<bool, String>> + Send;
}

impl BodyReader for hyper::body::Incoming {
    async fn next(&mut self, sink: &mut (impl FnMut(&[u8], Instant) + Send)) -> Result<bool, String> {
        loop {
            match self.frame().await {
                None => return Ok(false),
                Some(Err(e)) => return Err(error_chain(&e)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        sink(&data, Instant::now());
                        return Ok(true);
                    }
                }
            }
        }
    }
}

impl BodyReader for h2::RecvStream {
    async fn next(&mut self, sink: &mut (impl FnMut(&[u8], Instant) + Send)) -> Result<bool, String> {
        match self.data().await {
            None => Ok(false),
            Some(Err(e)) => Err(error_chain(&e)),
            Some(Ok(data)) => {
                let at = Instant::now();
                // Read, so the window opens again for the server (as hyper's body does).
                let _ = self.flow_control().release_capacity(data.len());
                sink(&data, at);
                Ok(true)
            }
        }
    }
}

impl BodyReader for h1::Body<'_> {
    async fn next(&mut self, sink: &mut (impl FnMut(&[u8], Instant) + Send)) -> Result<bool, String> {
        h1::Body::next(self, sink).await
    }
}

/// The error and its sources on one line; hyper's top-level message alone is too vague.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The body's next bytes through `sink`, or `None` when `until` came first. The time is
/// also checked before waiting: a server that floods the body keeps every read ready at
/// once, and a timer polled after a read that is always ready never fires.
async fn next_before(body: &mut impl BodyReader, until: Instant, sink: &mut (impl FnMut(&[u8], Instant) + Send)) -> Option<Result<bool, String>> {
    if Instant::now() >= until {
        return None;
    }
    timeout_at(until, body.next(sink)).await.ok()
}

/// The whole body, up to `limit` bytes.
pub async fn collect_limited(body: &mut impl BodyReader, limit: usize, deadline: Instant) -> Result<Bytes, (OutcomeKind, String)> {
    let mut bytes = Vec::new();
    let mut over = false;
    loop {
        let mut sink = |data: &[u8], _| {
            over |= bytes.len() + data.len() > limit;
            if !over {
                bytes.extend_from_slice(data);
            }
        };
        let step = next_before(body, deadline, &mut sink).await;
        if over {
            return Err((OutcomeKind::Malformed, format!("body larger than {limit} bytes")));
        }
        match step {
            None => return Err((OutcomeKind::Timeout, "body not complete before the time limit".into())),
            Some(Err(e)) => return Err((OutcomeKind::Truncated, format!("body cut short: {e}"))),
            Some(Ok(false)) => return Ok(Bytes::from(bytes)),
            Some(Ok(true)) => {}
        }
    }
}

/// A non-2xx answer: its error envelope checked, its type and message on the outcome.
pub async fn read_error_body(body: &mut impl BodyReader, deadline: Instant, outcome: &mut Outcome) {
    let status = outcome.status.unwrap_or(0);
    let bytes = match collect_limited(body, MAX_ERROR_BODY, deadline).await {
        Ok(b) => b,
        Err((_, detail)) => Bytes::from(detail),
    };
    if let Some(raw) = &mut outcome.raw {
        raw.push(&bytes);
    }
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    outcome.findings.extend(envelope::check_error_parsed(status, parsed.as_ref(), &bytes));
    outcome.error_type = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/type"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let message = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| excerpt(&bytes));
    outcome.fail(OutcomeKind::HttpError, format!("HTTP {status}: {message}"));
}

/// A Message body: checked, and its usage, stop reason and reply taken.
pub async fn read_message(body: &mut impl BodyReader, deadline: Instant, facts: Option<&RequestFacts>, outcome: &mut Outcome) {
    let bytes = match collect_limited(body, MAX_JSON_BODY, deadline).await {
        Ok(b) => b,
        Err((kind, detail)) => return outcome.fail(kind, detail),
    };
    if let Some(raw) = &mut outcome.raw {
        raw.push(&bytes);
    }
    let read = crate::conformance::message::read_message(&bytes, if outcome.reply.is_some() { MAX_REPLY } else { 0 });
    outcome.findings.extend(read.findings);
    outcome.fingerprint = read.fingerprint.map(Box::new);
    if let Some(e) = read.not_json {
        return outcome.fail(OutcomeKind::Malformed, format!("body is not JSON ({e}): {}", excerpt(&bytes)));
    }
    // The summary's stop_reason is the Message's, read the same way either path.
    outcome.stop_reason = read.summary.as_ref().and_then(|s| s.stop_reason.clone());
    if let (Some(facts), Some(summary)) = (facts, read.summary) {
        outcome.findings.extend(request::check(facts, &summary));
        outcome.response = Some(summary);
    }
    if let Some(usage) = read.usage {
        take_counts(outcome, &usage);
    }
    outcome.keep_reply(&read.reply);
}

/// A stream: every event checked as it arrives, and timed.
pub async fn read_stream(
    body: &mut impl BodyReader,
    start: Instant,
    deadline: Instant,
    idle: Option<Duration>,
    facts: Option<&RequestFacts>,
    outcome: &mut Outcome,
) {
    let mut parser = sse::Parser::new();
    let mut observer = StreamObserver::default();
    observer.checker.want_text(facts.is_some_and(|f| !f.stop_sequences.is_empty()));
    loop {
        let frame_deadline = idle.map_or(deadline, |i| (Instant::now() + i).min(deadline));
        let mut sink = |data: &[u8], now: Instant| {
            if let Some(raw) = &mut outcome.raw {
                raw.push(data);
            }
            if observer.head.len() < HEAD_KEPT {
                let take = data.len().min(HEAD_KEPT - observer.head.len());
                observer.head.extend_from_slice(&data[..take]);
            }
            parser.feed(data, |ev| observer.observe(ev, now, start, outcome));
        };
        let step = next_before(body, frame_deadline, &mut sink).await;
        match step {
            None if frame_deadline < deadline => {
                outcome.fail(OutcomeKind::IdleTimeout, "the stream fell silent longer than the idle limit");
                break;
            }
            None => {
                outcome.fail(OutcomeKind::Timeout, "stream not complete before the time limit");
                break;
            }
            Some(Ok(false)) => break,
            Some(Err(e)) => {
                outcome.fail(OutcomeKind::Truncated, format!("connection dropped mid-stream: {e}"));
                break;
            }
            Some(Ok(true)) => {}
        }
        // The rest of an oversized event (an endless line, a 20 MB event) says nothing
        // more: stop reading rather than wait for the time limit.
        if observer.abandoned {
            break;
        }
    }
    let unfinished = parser.finish();
    // A stream cut by our own limits says nothing about the server's protocol.
    if !observer.abandoned && !matches!(outcome.kind, OutcomeKind::Timeout | OutcomeKind::IdleTimeout) {
        observer.checker.finish();
    }
    // Only a complete stream can be held to what was asked.
    if let (Some(facts), true) = (facts, observer.checker.completed()) {
        let summary = observer.checker.take_summary(outcome.content_deltas);
        outcome.findings.extend(request::check(facts, &summary));
        outcome.response = Some(summary);
    }
    outcome.findings.append(&mut observer.checker.take_findings());
    outcome.fingerprint = observer.checker.take_fingerprint().map(Box::new);
    outcome.unkept_findings = observer.checker.take_unkept();
    observer.finish(outcome, unfinished);
}

/// What the client tracks while a stream arrives: timing, and the conformance checker.
#[derive(Default)]
struct StreamObserver {
    checker: StreamChecker,
    first_content: Option<Instant>,
    last_content: Option<Instant>,
    stopped: bool,
    /// Events seen, and the stream's first bytes: a 200 whose body frames no event at all
    /// (an HTML page, binary noise) is malformed, not merely cut short.
    events: u64,
    head: Vec<u8>,
    /// An event grew past the size limit, so the client stopped reading.
    abandoned: bool,
}

/// How many of a stream's first bytes are kept to quote when it frames no event.
const HEAD_KEPT: usize = 96;

impl StreamObserver {
    fn observe(&mut self, ev: Result<sse::Event<'_>, sse::Error>, now: Instant, start: Instant, outcome: &mut Outcome) {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                self.abandoned |= matches!(e, sse::Error::EventTooLarge { .. });
                self.checker.framing_error(&e);
                return outcome.fail(OutcomeKind::Malformed, format!("SSE framing: {e}"));
            }
        };
        self.events += 1;
        // Nearly every event is a plain delta, which the checker reads without a JSON tree.
        let parsed = match self.checker.raw_event(ev.name, ev.data) {
            Read::Delta(delta) => return self.content_delta(delta.kind, &delta.value, now, start, outcome),
            Read::Plain(plain) => return self.plain_event(&plain, now, start, outcome),
            Read::Json(parsed) => parsed,
        };
        // An OpenAI-style end marker is the checker's finding; the SDKs skip it, so the
        // request itself still completed.
        if ev.name.is_empty() && ev.data.trim() == "[DONE]" {
            return;
        }
        let data = match parsed {
            Ok(v) => v,
            Err(e) => {
                return outcome.fail(OutcomeKind::Malformed, format!("event {:?} data is not JSON ({e}): {}", ev.name, excerpt(ev.data.as_bytes())))
            }
        };
        match ev.name {
            event::MESSAGE_START => {
                outcome.message_start.get_or_insert(now - start);
                if let Some(usage) = at(&data, &["message", "usage"]) {
                    take_usage(outcome, usage);
                }
            }
            event::CONTENT_BLOCK_DELTA => {
                let delta = data.get("delta");
                let field = |name: &str| delta.and_then(|d| d.get(name)).and_then(Value::as_str).unwrap_or_default();
                let delta_type = field("type");
                let text = if delta_type == "text_delta" { field("text") } else { "" };
                self.content_delta(delta_type, text, now, start, outcome);
            }
            event::MESSAGE_DELTA => {
                if let Some(usage) = data.get("usage") {
                    take_usage(outcome, usage);
                }
                outcome.stop_reason = at(&data, &["delta", "stop_reason"]).and_then(Value::as_str).map(str::to_owned);
            }
            event::MESSAGE_STOP => self.stopped = true,
            event::ERROR => {
                let error_type = at(&data, &["error", "type"]).and_then(Value::as_str).unwrap_or("unknown");
                outcome.error_type = Some(error_type.to_owned());
                let message = at(&data, &["error", "message"]).and_then(Value::as_str).unwrap_or_default();
                outcome.kind = OutcomeKind::StreamError;
                outcome.detail = Some(format!("event: error {error_type}: {message}"));
            }
            _ => {}
        }
    }

    /// What [`StreamObserver::observe`] takes from a JSON tree, from an event the checker
    /// read typed.
    fn plain_event(&mut self, plain: &Plain<'_>, now: Instant, start: Instant, outcome: &mut Outcome) {
        match plain {
            Plain::MessageStart(m) => {
                outcome.message_start.get_or_insert(now - start);
                take_counts(outcome, &m.usage.counts());
            }
            Plain::MessageDelta(d) => {
                take_counts(outcome, &d.usage.counts());
                outcome.stop_reason = d.stop_reason.as_deref().map(str::to_owned);
            }
            Plain::MessageStop => self.stopped = true,
            Plain::Ping | Plain::TextBlockStart { .. } | Plain::BlockStop { .. } => {}
        }
    }

    /// A delta of type `delta_type` (`text` is its text, for a text delta): the reply
    /// kept for a next turn, TTFT and the gaps between content deltas.
    fn content_delta(&mut self, delta_type: &str, text: &str, now: Instant, start: Instant, outcome: &mut Outcome) {
        if delta_type == "text_delta" && outcome.reply.is_some() {
            outcome.keep_reply(text);
        }
        if CONTENT_DELTA_TYPES.contains(&delta_type) {
            outcome.content_deltas += 1;
            match self.last_content {
                None => {
                    outcome.ttft = Some(now - start);
                    self.first_content = Some(now);
                }
                // Events of one read share its time: most gaps of a stream sent at once are zero.
                Some(last) => outcome.push_itl(if now == last { Duration::ZERO } else { now - last }),
            }
            self.last_content = Some(now);
        }
    }

    fn finish(self, outcome: &mut Outcome, unfinished: bool) {
        if let (Some(first), Some(last)) = (self.first_content, self.last_content) {
            outcome.decode = Some(last - first);
            if let (Some(ttft), true) = (outcome.ttft, self.stopped) {
                outcome.findings.extend(crate::conformance::pacing::buffered_stream(outcome.content_deltas, ttft, last - first));
            }
        }
        if self.events == 0 && !self.head.is_empty() && outcome.kind == OutcomeKind::Ok {
            outcome.fail(OutcomeKind::Malformed, format!("the body frames no SSE event: {}", excerpt(&self.head)));
        } else if !self.stopped && outcome.kind != OutcomeKind::StreamError {
            let what = if unfinished { "mid-event" } else { "between events" };
            outcome.fail(OutcomeKind::Truncated, format!("stream ended {what} without message_stop"));
        }
    }
}

/// Takes the counters a `usage` object holds. They are cumulative (PROTOCOL.md §2.3): a
/// counter present overwrites the earlier value, one absent keeps it.
fn take_usage(outcome: &mut Outcome, usage: &Value) {
    take_counts(outcome, &UsageCounts::from_value(usage));
}

/// [`take_usage`] for counters already read.
fn take_counts(outcome: &mut Outcome, usage: &UsageCounts) {
    for (slot, n) in [
        (&mut outcome.output_tokens, usage.output),
        (&mut outcome.input_tokens, usage.input),
        (&mut outcome.cache_read_tokens, usage.cache_read),
        (&mut outcome.cache_creation_tokens, usage.cache_creation),
        (&mut outcome.input_total, usage.input_total()),
        // Cache writes by lifetime, billed at different rates (PROTOCOL.md §10).
        (&mut outcome.cache_creation_1h_tokens, usage.cache_creation_1h),
    ] {
        if n.is_some() {
            *slot = n;
        }
    }
}

