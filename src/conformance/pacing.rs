//! A buffered ("fake") stream: the one stream rule judged from timing. Only a live run
//! sees when each event arrived, so the client judges it, not the stream checker or
//! offline `check`.

use std::time::Duration;

use super::finding::Finding;
use super::rules::Rule;

/// A stream needs this many content deltas before its pacing is judged: a short answer
/// is compressed into one read by a client busy for a few milliseconds as easily as by a
/// buffering relay.
const BUFFERED_MIN_DELTAS: u64 = 16;
/// A first token at least this late...
const BUFFERED_MIN_TTFT: Duration = Duration::from_millis(100);
/// ...then deltas closer than this on average (20,000 a second, ten times the fastest
/// served models at one token a delta) were not generated one by one as they arrived.
const BUFFERED_MAX_GAP: Duration = Duration::from_micros(50);

/// After a long TTFT, every content delta in one burst.
pub fn buffered_stream(content_deltas: u64, ttft: Duration, burst: Duration) -> Option<Finding> {
    let gaps = u32::try_from(content_deltas.saturating_sub(1)).unwrap_or(u32::MAX);
    let burst_only = burst <= BUFFERED_MAX_GAP * gaps && burst * 20 <= ttft;
    (content_deltas >= BUFFERED_MIN_DELTAS && ttft >= BUFFERED_MIN_TTFT && burst_only).then(|| {
        let message = format!(
            "{content_deltas} content deltas arrived within {:.1} ms, after a TTFT of {:.0} ms: the answer was buffered, so this stream's TTFT and ITL describe the buffer, not the model (or the client was too busy to read: see its section of the report)",
            burst.as_secs_f64() * 1000.0,
            ttft.as_secs_f64() * 1000.0
        );
        Finding::new(Rule::BufferedStream, None, message, b"")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_after_a_long_wait_is_a_buffered_stream() {
        let ms = Duration::from_millis;
        assert_eq!(buffered_stream(40, ms(400), ms(1)).map(|f| f.rule), Some(Rule::BufferedStream));
        // Paced streams (even at 2,000 tokens a second after a long prefill), short
        // answers (8 deltas in 0.5 ms once came from a busy client) and fast first
        // tokens are not judged buffered.
        assert!(buffered_stream(40, ms(400), ms(300)).is_none());
        assert!(buffered_stream(8, ms(130), Duration::from_micros(500)).is_none());
        assert!(buffered_stream(40, ms(400), ms(20)).is_none());
        assert!(buffered_stream(40, ms(20), ms(0)).is_none());
    }
}
