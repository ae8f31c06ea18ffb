//! Writes a planned reply as the exact event sequence of PROTOCOL.md §2, pacing content
//! deltas by the latency model. The sequence is planned whole first, so a quirk can
//! rewrite it before it is sent.

use std::io::Write as _;

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::latency::Timing;
use super::reply::{initial_block_json, Block, Reply};
use crate::protocol::event;

/// One event as it will be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The `event:` name; `None` writes a data-only event.
    pub name: Option<String>,
    /// The data.
    pub data: Payload,
    /// Whether it carries a generated token (and so waits for the token's due time).
    pub token: bool,
}

/// An event's data: JSON, or raw bytes for quirks that break the framing.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Serialized on writing.
    Json(Value),
    /// Written as is.
    Raw(Vec<u8>),
}

impl Planned {
    fn new(name: &str, data: Value, token: bool) -> Self {
        Planned { name: Some(name.to_owned()), data: Payload::Json(data), token }
    }

    /// The JSON data, when it is JSON.
    pub fn json_mut(&mut self) -> Option<&mut Value> {
        match &mut self.data {
            Payload::Json(v) => Some(v),
            Payload::Raw(_) => None,
        }
    }

    /// The JSON data, read-only.
    pub fn json(&self) -> Option<&Value> {
        match &self.data {
            Payload::Json(v) => Some(v),
            Payload::Raw(_) => None,
        }
    }

    /// True when the event is named `name`.
    pub fn is(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name)
    }
}

/// Appends one SSE event to `out`.
pub fn write_event(out: &mut Vec<u8>, planned: &Planned) {
    if let Some(name) = &planned.name {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    match &planned.data {
        Payload::Json(v) if write_plain_delta(out, v) => {}
        // Writing a Value into a Vec cannot fail.
        Payload::Json(v) => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
        Payload::Raw(bytes) => out.extend_from_slice(bytes),
    }
    out.extend_from_slice(b"\n\n");
}

/// Writes a plain `content_block_delta` (exactly `type`, `index` and a `delta` of a
/// `type` and one string field) with its keys in the API's order, as the API sends it:
/// `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`.
/// A JSON tree writes its keys sorted, which no client minds but which is not the bytes a
/// relay passes on from the API. False, writing nothing, for any other event.
fn write_plain_delta(out: &mut Vec<u8>, v: &Value) -> bool {
    let Some(event) = v.as_object().filter(|o| o.len() == 3) else { return false };
    let (Some(index), Some(delta)) = (event.get("index").and_then(Value::as_u64), event.get("delta").and_then(Value::as_object)) else { return false };
    if event.get("type").and_then(Value::as_str) != Some(event::CONTENT_BLOCK_DELTA) || delta.len() != 2 {
        return false;
    }
    let Some(kind) = delta.get("type").and_then(Value::as_str) else { return false };
    let Some((field, Value::String(text))) = delta.iter().find(|(k, _)| k.as_str() != "type") else { return false };
    write_api_delta(out, index, kind, field, text);
    true
}

/// A delta's data in the API's bytes.
fn write_api_delta(out: &mut Vec<u8>, index: u64, kind: &str, field: &str, text: &str) {
    let _ = write!(out, r#"{{"type":"{}","index":{index},"delta":{{"type":"#, event::CONTENT_BLOCK_DELTA);
    let _ = serde_json::to_writer(&mut *out, kind);
    out.push(b',');
    let _ = serde_json::to_writer(&mut *out, field);
    out.push(b':');
    let _ = serde_json::to_writer(&mut *out, text);
    out.extend_from_slice(b"}}");
}

/// The deltas of a block, in order: their type, their one field and its text, and whether
/// each counts as a token.
fn block_deltas(block: &Block) -> Vec<(&'static str, &'static str, &str, bool)> {
    match block {
        Block::Thinking { pieces, signature } => pieces
            .iter()
            .map(|p| ("thinking_delta", "thinking", p.as_str(), true))
            .chain(std::iter::once(("signature_delta", "signature", signature.as_str(), false)))
            .collect(),
        Block::Text { pieces } => pieces.iter().map(|p| ("text_delta", "text", p.as_str(), true)).collect(),
        Block::ToolUse { pieces, .. } => pieces.iter().map(|p| ("input_json_delta", "partial_json", p.as_str(), true)).collect(),
    }
}

/// The whole event sequence of `reply`, in the API's order. With `editable`, every event
/// is a JSON tree a quirk can rewrite; without, the deltas (nearly all of a stream) are
/// written straight to the API's bytes, which spares the mock a tree built and dropped per
/// token: half of its time on a stream sent at once.
pub fn plan_events(reply: &Reply, editable: bool) -> Vec<Planned> {
    let total = reply.output_tokens();
    let mut start_message = reply.message_json();
    start_message["content"] = json!([]);
    start_message["stop_reason"] = Value::Null;
    start_message["stop_sequence"] = Value::Null;
    start_message["usage"] = reply.usage_json(total.min(1));
    let mut events = vec![Planned::new(
        event::MESSAGE_START,
        json!({"type": event::MESSAGE_START, "message": start_message}),
        false,
    )];
    for (index, block) in reply.blocks.iter().enumerate() {
        events.push(Planned::new(
            event::CONTENT_BLOCK_START,
            json!({"type": event::CONTENT_BLOCK_START, "index": index, "content_block": initial_block_json(block)}),
            false,
        ));
        if index == 0 {
            events.push(Planned::new(event::PING, json!({"type": event::PING}), false));
        }
        for (kind, field, text, token) in block_deltas(block) {
            if editable {
                let data = json!({"type": event::CONTENT_BLOCK_DELTA, "index": index, "delta": {"type": kind, field: text}});
                events.push(Planned::new(event::CONTENT_BLOCK_DELTA, data, token));
            } else {
                let mut data = Vec::with_capacity(80 + text.len());
                write_api_delta(&mut data, index as u64, kind, field, text);
                events.push(Planned { name: Some(event::CONTENT_BLOCK_DELTA.to_owned()), data: Payload::Raw(data), token });
            }
        }
        events.push(Planned::new(
            event::CONTENT_BLOCK_STOP,
            json!({"type": event::CONTENT_BLOCK_STOP, "index": index}),
            false,
        ));
    }
    events.push(Planned::new(
        event::MESSAGE_DELTA,
        json!({
            "type": event::MESSAGE_DELTA,
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence},
            "usage": {"output_tokens": total},
        }),
        false,
    ));
    events.push(Planned::new(event::MESSAGE_STOP, json!({"type": event::MESSAGE_STOP}), false));
    events
}

/// Where a stream's first token is written, by a key of the request: when it was handed to
/// the connection, and when it was due (the request's arrival plus its planned TTFT), so
/// that the mock's own lateness can be told from the wire's. Wall-clock times, so another
/// process on the machine (the client, a packet capture) can compare them with its own.
pub type SendLog = std::sync::Arc<std::sync::Mutex<Vec<FirstToken>>>;

/// One stream's line of the [`SendLog`].
#[derive(Debug, Clone)]
pub struct FirstToken {
    /// The request's key (its `metadata.user_id`).
    pub key: String,
    /// When the write that carried the first token was handed to the connection.
    pub sent: std::time::SystemTime,
    /// When the first token was due.
    pub due: std::time::SystemTime,
}

/// Sends `events` on `tx`, batching every event already due into one write and sleeping
/// until the next token is due; `log` records when the first token was handed to the
/// connection. Returns early when the client goes away.
pub async fn send_events(events: Vec<Planned>, timing: Timing, start: Instant, tx: mpsc::Sender<Bytes>, hold: Option<std::time::Duration>, mut log: Option<(SendLog, String)>) {
    let mut out = Vec::with_capacity(4096);
    let mut token = 0usize;
    // The first token is written into `out` and goes out with the next flush.
    let mut first_in_out = false;
    let first_due = start + timing.due(0);
    // A buffering relay: the whole answer waits for its last token (and at least `hold`),
    // then goes out at once.
    if let Some(hold) = hold {
        let tokens = events.iter().filter(|p| p.token).count();
        tokio::time::sleep_until(start + timing.due(tokens.saturating_sub(1)).max(hold)).await;
    }
    for planned in &events {
        if planned.token && hold.is_none() {
            let due = start + timing.due(token);
            token += 1;
            if due > Instant::now() {
                if !flush(&mut out, &tx).await {
                    return;
                }
                note_first(&mut log, &mut first_in_out, first_due);
                match token {
                    // The first token is what TTFT measures: sent on time, not up to a
                    // timer tick late.
                    1 => sleep_precisely_until(due).await,
                    _ => tokio::time::sleep_until(due).await,
                }
            }
        }
        write_event(&mut out, planned);
        first_in_out |= planned.token && token == 1 && log.is_some();
    }
    if flush(&mut out, &tx).await {
        note_first(&mut log, &mut first_in_out, first_due);
    }
}

/// Records the first token's send time once the flush that carried it is done.
fn note_first(log: &mut Option<(SendLog, String)>, first_in_out: &mut bool, due: Instant) {
    if std::mem::take(first_in_out) {
        if let Some((log, key)) = log.take() {
            let (now, sent) = (Instant::now(), std::time::SystemTime::now());
            // The due instant on the wall clock, through the same present moment.
            let due = if due <= now { sent - (now - due) } else { sent + (due - now) };
            log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(FirstToken { key, sent, due });
        }
    }
}

/// The timer's granularity: tokio's wheel ticks every millisecond and rounds a deadline
/// up to the next tick.
const TIMER_TICK: std::time::Duration = std::time::Duration::from_millis(1);

/// Streams yielding their way to a first token at once, at most: each costs a core for
/// up to a tick and a half, so a crowd of them would delay everything else instead.
const MAX_SPINNERS: usize = 4;
static SPINNERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sleeps to just before `due` on the timer, then yields to other tasks until it: on time
/// to the scheduler's resolution, where a plain sleep is up to a tick late. Past
/// [`MAX_SPINNERS`], a plain sleep: late rather than early, so configured delays stay
/// lower bounds.
async fn sleep_precisely_until(due: Instant) {
    use std::sync::atomic::Ordering;
    let Some(early) = due.checked_sub(TIMER_TICK + TIMER_TICK / 2) else { return };
    tokio::time::sleep_until(early).await;
    /// Holds a place among the spinners (taken by the `fetch_add` below); gives it back
    /// however the wait ends.
    struct Spinning;
    impl Drop for Spinning {
        fn drop(&mut self) {
            SPINNERS.fetch_sub(1, Ordering::Relaxed);
        }
    }
    // The guard is made only on success: its drop is what gives the place back.
    let spinning = Spinning;
    if SPINNERS.fetch_add(1, Ordering::Relaxed) >= MAX_SPINNERS {
        drop(spinning);
        return tokio::time::sleep_until(due).await;
    }
    while Instant::now() < due {
        tokio::task::yield_now().await;
    }
    drop(spinning);
}

async fn flush(out: &mut Vec<u8>, tx: &mpsc::Sender<Bytes>) -> bool {
    if out.is_empty() {
        return true;
    }
    let chunk = Bytes::from(std::mem::take(out));
    out.reserve(4096);
    tx.send(chunk).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(data: Value) -> String {
        let mut out = Vec::new();
        write_event(&mut out, &Planned::new(event::CONTENT_BLOCK_DELTA, data, true));
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_plain_delta_is_written_in_the_apis_key_order_and_reads_back_the_same() {
        let plain = json!({"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": "a \"q\"\n"}});
        let text = written(plain.clone());
        assert_eq!(text, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"text_delta\",\"text\":\"a \\\"q\\\"\\n\"}}\n\n");
        let data = text.lines().nth(1).and_then(|l| l.strip_prefix("data: ")).expect("data line");
        assert_eq!(serde_json::from_str::<Value>(data).expect("json"), plain);
        // Anything else (here an extra field a quirk added) is written as the tree is.
        let extra = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a", "x": 1}});
        // The planner's two forms write the same bytes.
        let mut body = serde_json::Map::new();
        body.insert("max_tokens".into(), json!(24));
        body.insert("messages".into(), json!([{"role": "user", "content": "Tell me a story"}]));
        let reply = crate::mock::reply::plan(&body, 0, 7, crate::mock::reply::OutputLength { min: 24, max: 24 }, "msg_x".into());
        let bytes = |editable| {
            let mut out = Vec::new();
            plan_events(&reply, editable).iter().for_each(|p| write_event(&mut out, p));
            out
        };
        let (tree, raw) = (bytes(true), bytes(false));
        assert!(String::from_utf8_lossy(&raw).matches("content_block_delta").count() >= 24);
        assert_eq!(tree, raw);
        assert_eq!(written(extra.clone()), format!("event: content_block_delta\ndata: {extra}\n\n"));
    }
}
