//! Writes a planned reply as the exact event sequence of PROTOCOL.md §2, pacing content
//! deltas by the latency model.

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::latency::Timing;
use super::reply::{initial_block_json, Block, Reply};
use crate::protocol::event;

/// Appends one SSE event to `out`.
pub fn write_event(out: &mut Vec<u8>, name: &str, data: &Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    // Writing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, data);
    out.extend_from_slice(b"\n\n");
}

/// The deltas of a block, in order, each tagged with whether it counts as a token.
fn block_deltas(block: &Block) -> Vec<(Value, bool)> {
    match block {
        Block::Thinking { pieces, signature } => pieces
            .iter()
            .map(|p| (json!({"type": "thinking_delta", "thinking": p}), true))
            .chain(std::iter::once((
                json!({"type": "signature_delta", "signature": signature}),
                false,
            )))
            .collect(),
        Block::Text { pieces } => pieces
            .iter()
            .map(|p| (json!({"type": "text_delta", "text": p}), true))
            .collect(),
        Block::ToolUse { pieces, .. } => pieces
            .iter()
            .map(|p| (json!({"type": "input_json_delta", "partial_json": p}), true))
            .collect(),
    }
}

/// Sends `reply` on `tx`, batching every event already due into one write and sleeping
/// until the next token is due. Returns early when the client goes away.
pub async fn send_stream(reply: Reply, timing: Timing, start: Instant, tx: mpsc::Sender<Bytes>) {
    let mut out = Vec::with_capacity(4096);
    let total = reply.output_tokens();
    let mut start_message = reply.message_json();
    start_message["content"] = json!([]);
    start_message["stop_reason"] = Value::Null;
    start_message["stop_sequence"] = Value::Null;
    start_message["usage"] = reply.usage_json(total.min(1));
    write_event(&mut out, event::MESSAGE_START, &json!({"type": event::MESSAGE_START, "message": start_message}));

    let mut token = 0usize;
    for (index, block) in reply.blocks.iter().enumerate() {
        write_event(
            &mut out,
            event::CONTENT_BLOCK_START,
            &json!({"type": event::CONTENT_BLOCK_START, "index": index, "content_block": initial_block_json(block)}),
        );
        if index == 0 {
            write_event(&mut out, event::PING, &json!({"type": event::PING}));
        }
        for (delta, is_token) in block_deltas(block) {
            if is_token {
                let due = start + timing.due(token);
                token += 1;
                if due > Instant::now() {
                    if !flush(&mut out, &tx).await {
                        return;
                    }
                    tokio::time::sleep_until(due).await;
                }
            }
            write_event(
                &mut out,
                event::CONTENT_BLOCK_DELTA,
                &json!({"type": event::CONTENT_BLOCK_DELTA, "index": index, "delta": delta}),
            );
        }
        write_event(&mut out, event::CONTENT_BLOCK_STOP, &json!({"type": event::CONTENT_BLOCK_STOP, "index": index}));
    }
    write_event(
        &mut out,
        event::MESSAGE_DELTA,
        &json!({
            "type": event::MESSAGE_DELTA,
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence},
            "usage": {"output_tokens": total},
        }),
    );
    write_event(&mut out, event::MESSAGE_STOP, &json!({"type": event::MESSAGE_STOP}));
    flush(&mut out, &tx).await;
}

async fn flush(out: &mut Vec<u8>, tx: &mpsc::Sender<Bytes>) -> bool {
    if out.is_empty() {
        return true;
    }
    let chunk = Bytes::from(std::mem::take(out));
    out.reserve(4096);
    tx.send(chunk).await.is_ok()
}
