//! The mock's latency model: when the first token is due and how fast the rest follow.
//! Load results against the mock mean something only if these delays are real, so the
//! writer sleeps until each token's due time instead of sending everything at once.

use std::time::Duration;

use crate::rng::Rng;

/// Delays of one mock response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyModel {
    /// Delay from the request to the first content delta.
    pub ttft: Duration,
    /// Generation speed after the first token.
    pub tokens_per_s: f64,
    /// Each request's delays are stretched by a random factor in `[1, 1 + jitter]`. The
    /// factor never shrinks a delay, so the configured values are lower bounds.
    pub jitter: f64,
    /// Prefill: added to `ttft` for each input token (by the rule of [`crate::synth`]), so
    /// a longer prompt waits longer for its first token, as with a real model.
    pub prefill_per_token: Duration,
}

impl Default for LatencyModel {
    fn default() -> Self {
        LatencyModel {
            ttft: Duration::from_millis(120),
            tokens_per_s: 200.0,
            jitter: 0.25,
            prefill_per_token: Duration::ZERO,
        }
    }
}

/// The delays drawn for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Delay before the first token.
    pub first: Duration,
    /// Gap between consecutive tokens.
    pub gap: Duration,
}

impl Timing {
    /// When token `k` (0-based) is due, from the start of the response.
    pub fn due(&self, k: usize) -> Duration {
        self.first + self.gap.mul_f64(k as f64)
    }
}

impl LatencyModel {
    /// Draws the delays of one request of `input_tokens`.
    pub fn draw(&self, rng: &mut Rng, input_tokens: u64) -> Timing {
        let stretch = |rng: &mut Rng| 1.0 + self.jitter.max(0.0) * rng.next_f64();
        // A stretched delay beyond what a Duration holds is the longest one, not a panic.
        let stretched = |d: Duration, by: f64| Duration::try_from_secs_f64(d.as_secs_f64() * by).unwrap_or(Duration::MAX);
        let gap = if self.tokens_per_s > 0.0 {
            Duration::from_secs_f64(1.0 / self.tokens_per_s)
        } else {
            Duration::ZERO
        };
        Timing {
            first: stretched(self.first_token(input_tokens), stretch(rng)),
            gap: stretched(gap, stretch(rng)),
        }
    }
}

impl LatencyModel {
    /// The delay to the first token before jitter: `ttft` plus the prefill of the input.
    pub fn first_token(&self, input_tokens: u64) -> Duration {
        let prefill = self.prefill_per_token.saturating_mul(u32::try_from(input_tokens).unwrap_or(u32::MAX));
        self.ttft.saturating_add(prefill)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_only_stretches() {
        let m = LatencyModel { ttft: Duration::from_millis(100), tokens_per_s: 100.0, jitter: 0.5, prefill_per_token: Duration::ZERO };
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            let t = m.draw(&mut rng, 5000);
            assert!(t.first >= m.ttft && t.first <= Duration::from_millis(150));
            assert!(t.gap >= Duration::from_millis(10) && t.gap <= Duration::from_millis(15));
        }
    }

    #[test]
    fn prefill_adds_per_input_token_and_jitter_stretches_it_too() {
        let m = LatencyModel { ttft: Duration::from_millis(50), tokens_per_s: 100.0, jitter: 0.2, prefill_per_token: Duration::from_micros(10) };
        assert_eq!(m.first_token(0), Duration::from_millis(50));
        assert_eq!(m.first_token(32_000), Duration::from_millis(370));
        let mut rng = Rng::new(3);
        for _ in 0..1000 {
            let first = m.draw(&mut rng, 32_000).first;
            assert!(first >= Duration::from_millis(370) && first <= Duration::from_millis(444), "{first:?}");
        }
        // Absurd settings saturate instead of overflowing.
        let huge = LatencyModel { ttft: Duration::MAX, jitter: 1e9, ..m };
        assert_eq!(huge.draw(&mut rng, u64::MAX).first, Duration::MAX);
    }

    #[test]
    fn tokens_are_due_at_first_plus_k_gaps() {
        let t = Timing { first: Duration::from_millis(50), gap: Duration::from_millis(10) };
        assert_eq!(t.due(0), Duration::from_millis(50));
        assert_eq!(t.due(3), Duration::from_millis(80));
    }
}
