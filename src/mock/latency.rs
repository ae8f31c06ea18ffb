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
}

impl Default for LatencyModel {
    fn default() -> Self {
        LatencyModel {
            ttft: Duration::from_millis(120),
            tokens_per_s: 200.0,
            jitter: 0.25,
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
    /// Draws one request's delays.
    pub fn draw(&self, rng: &mut Rng) -> Timing {
        let stretch = |rng: &mut Rng| 1.0 + self.jitter.max(0.0) * rng.next_f64();
        let gap = if self.tokens_per_s > 0.0 {
            Duration::from_secs_f64(1.0 / self.tokens_per_s)
        } else {
            Duration::ZERO
        };
        Timing {
            first: self.ttft.mul_f64(stretch(rng)),
            gap: gap.mul_f64(stretch(rng)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_only_stretches() {
        let m = LatencyModel { ttft: Duration::from_millis(100), tokens_per_s: 100.0, jitter: 0.5 };
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            let t = m.draw(&mut rng);
            assert!(t.first >= m.ttft && t.first <= Duration::from_millis(150));
            assert!(t.gap >= Duration::from_millis(10) && t.gap <= Duration::from_millis(15));
        }
    }

    #[test]
    fn tokens_are_due_at_first_plus_k_gaps() {
        let t = Timing { first: Duration::from_millis(50), gap: Duration::from_millis(10) };
        assert_eq!(t.due(0), Duration::from_millis(50));
        assert_eq!(t.due(3), Duration::from_millis(80));
    }
}
