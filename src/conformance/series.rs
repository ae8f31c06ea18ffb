//! Rules judged over a target's series of responses, where no single response is wrong:
//! rate-limit headers sent on streams but dropped on whole answers (or the reverse), and
//! a stream head held back until the first token on every stream. Both are what a relay
//! program in front of the API changes (PROTOCOL.md §9), and both need many responses
//! before they mean anything.

use std::time::Duration;

use super::fingerprint::Shape;
use super::finding::Finding;
use super::rules::Rule;

/// Streams seen, all held, before a held head is named: fewer could be chance.
pub const HELD_MIN_STREAMS: u64 = 10;
/// A head held back behind a first token this early cannot be told from a fast model.
pub const HELD_MIN_TTFT: Duration = Duration::from_millis(20);
/// A head that arrives within this share of the TTFT before the first token came with it.
const HELD_SHARE: f64 = 0.05;

/// Tracks one target's responses for the series rules.
#[derive(Debug, Default)]
pub struct SeriesChecks {
    /// Per mode (0 whole answers, 1 streams): the first rate-limit header name seen, and
    /// how many successful answers came without any.
    limits: [ModeLimits; 2],
    /// Streams whose head came with their first token, and whether one did not.
    held: u64,
    not_held: bool,
    held_fired: bool,
}

#[derive(Debug, Default)]
struct ModeLimits {
    carried: Option<String>,
    without: u64,
}

fn mode(stream: bool) -> &'static str {
    if stream {
        "streams"
    } else {
        "whole answers"
    }
}

impl SeriesChecks {
    /// A successful answer's rate-limit headers: `shape` is its fingerprint's
    /// [`Signal::RateLimitHeaders`](super::fingerprint::Signal) and `name` the header
    /// seen. Fires `limits.headers-dropped` on an answer without any while the other mode
    /// carries them, and once on the first answer that carries them for those that came
    /// without before it.
    pub fn observe_limits(&mut self, stream: bool, shape: Shape, name: &str) -> Option<Finding> {
        let (this, other) = (stream as usize, !stream as usize);
        if shape == Shape::Absent {
            self.limits[this].without += 1;
            let carried = self.limits[other].carried.as_deref()?;
            let message = format!("a successful {} answer came without rate-limit headers, while {} carry them ({carried})", if stream { "streamed" } else { "whole" }, mode(!stream));
            return Some(Finding::new(Rule::LimitsHeadersDropped, None, message, b""));
        }
        if self.limits[this].carried.is_some() {
            return None;
        }
        self.limits[this].carried = Some(name.to_owned());
        let earlier = self.limits[other].without;
        (earlier > 0).then(|| {
            let message = format!("{} carry rate-limit headers ({name}), but {earlier} earlier {} came without any", mode(stream), mode(!stream));
            Finding::new(Rule::LimitsHeadersDropped, None, message, b"")
        })
    }

    /// A complete stream's head and first token times. Fires `stream.head-held` once,
    /// when [`HELD_MIN_STREAMS`] streams in a row, and every one so far, had their head
    /// arrive with their first token, at least [`HELD_MIN_TTFT`] after the request.
    pub fn observe_head(&mut self, ttfb: Duration, ttft: Duration) -> Option<Finding> {
        if self.not_held || self.held_fired {
            return None;
        }
        let gap = ttft.saturating_sub(ttfb);
        if ttft < HELD_MIN_TTFT || gap.as_secs_f64() > ttft.as_secs_f64() * HELD_SHARE {
            self.not_held = true;
            return None;
        }
        self.held += 1;
        if self.held < HELD_MIN_STREAMS {
            return None;
        }
        self.held_fired = true;
        let message = format!(
            "the head of each of the {} streams so far came with its first token ({:.1} ms after the request, {:.2} ms before it): the response head and message_start are held back until the model answers",
            self.held,
            ttft.as_secs_f64() * 1e3,
            gap.as_secs_f64() * 1e3
        );
        Some(Finding::new(Rule::StreamHeadHeld, None, message, b""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: f64) -> Duration {
        Duration::from_secs_f64(n / 1e3)
    }

    #[test]
    fn limits_dropped_on_whole_answers_fire_whatever_comes_first() {
        let mut s = SeriesChecks::default();
        assert!(s.observe_limits(false, Shape::Absent, "").is_none(), "nothing to compare with yet");
        assert!(s.observe_limits(false, Shape::Absent, "").is_none());
        let caught_up = s.observe_limits(true, Shape::RenamedHeaders, "llm_provider-anthropic-ratelimit-requests-limit").expect("fires");
        assert_eq!(caught_up.rule, Rule::LimitsHeadersDropped);
        assert!(caught_up.message.contains("2 earlier whole answers"), "{}", caught_up.message);
        assert!(s.observe_limits(true, Shape::RenamedHeaders, "x").is_none(), "streams carrying them are fine");
        let next = s.observe_limits(false, Shape::Absent, "").expect("fires");
        assert!(next.message.contains("streams carry them (llm_provider-"), "{}", next.message);
    }

    #[test]
    fn limits_on_every_answer_or_on_none_are_silent() {
        for shape in [Shape::AnthropicHeaders, Shape::Absent] {
            let mut s = SeriesChecks::default();
            for i in 0..40 {
                assert!(s.observe_limits(i % 3 == 0, shape, "anthropic-ratelimit-requests-limit").is_none(), "{shape:?}");
            }
        }
    }

    #[test]
    fn a_head_held_on_every_stream_fires_once_after_ten() {
        let mut s = SeriesChecks::default();
        let fired: Vec<bool> = (0..30).map(|_| s.observe_head(ms(54.0), ms(54.2)).is_some()).collect();
        assert_eq!(fired.iter().filter(|f| **f).count(), 1);
        assert!(fired[HELD_MIN_STREAMS as usize - 1]);
    }

    #[test]
    fn a_head_sent_early_fast_answers_and_one_early_head_are_silent() {
        let mut early = SeriesChecks::default();
        assert!((0..30).all(|_| early.observe_head(ms(0.5), ms(41.0)).is_none()), "head well before the token");
        let mut fast = SeriesChecks::default();
        assert!((0..30).all(|_| fast.observe_head(ms(3.0), ms(3.1)).is_none()), "a TTFT under 20 ms proves nothing");
        let mut once = SeriesChecks::default();
        assert!(once.observe_head(ms(1.0), ms(300.0)).is_none());
        assert!((0..30).all(|_| once.observe_head(ms(299.0), ms(300.0)).is_none()), "one stream with an early head clears the target");
    }
}
