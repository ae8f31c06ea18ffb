//! The mock's rate limits, metered as the API meters them (DOC-RL): per key, a bucket per
//! limit that holds at most the limit and refills continuously at the limit per minute.
//! A request takes one from the requests bucket, its input tokens from the input bucket
//! and its output tokens from the output bucket; one that finds a bucket short is refused
//! with 429 `rate_limit_error` and `retry-after`. Every answer carries the API's headers:
//! `limit`, `remaining` (token counts rounded to the nearest thousand, as the API rounds
//! them) and `reset`, the time the bucket will be full again, for `requests`,
//! `input-tokens`, `output-tokens`, and `tokens` (the most spent of the two token limits).

use std::sync::Mutex;
use std::time::Instant;

use crate::conformance::limits::{format_rfc3339, unix_now, Dimension, WINDOW_SECS};
use crate::protocol::{HEADER_RATELIMIT_PREFIX, HEADER_RETRY_AFTER};

/// Limits per minute; an unset one is not metered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit {
    /// Requests per minute.
    pub requests_per_minute: Option<u64>,
    /// Input tokens per minute.
    pub input_tokens_per_minute: Option<u64>,
    /// Output tokens per minute.
    pub output_tokens_per_minute: Option<u64>,
}

/// One metered limit.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    limit: f64,
    level: f64,
}

impl Bucket {
    fn new(limit: u64) -> Bucket {
        Bucket { limit: limit as f64, level: limit as f64 }
    }

    fn refill(&mut self, seconds: f64) {
        self.level = (self.level + self.limit * seconds / WINDOW_SECS).min(self.limit);
    }

    /// Seconds until it holds `amount`.
    fn wait_for(&self, amount: f64) -> f64 {
        ((amount.min(self.limit) - self.level) * WINDOW_SECS / self.limit).max(0.0)
    }

    /// The headers' view of it at `now_unix`: limit, remaining, reset.
    fn reading(&self, d: Dimension, now_unix: f64) -> (u64, u64, String) {
        let remaining = self.level.max(0.0);
        let remaining = match d {
            Dimension::Requests => remaining.floor(),
            _ => (remaining / 1000.0).round() * 1000.0,
        };
        let full_in = (self.limit - self.level).max(0.0) * WINDOW_SECS / self.limit;
        (self.limit as u64, remaining as u64, format_rfc3339(now_unix + full_in))
    }
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Served; these headers go on the answer.
    Served(Vec<(String, String)>),
    /// Refused with 429; these headers (with `retry-after`) go on the error.
    Throttled(Vec<(String, String)>),
}

/// The limits of the plain mock: the API sends its rate-limit headers on every answer,
/// so the mock does too, with limits no run here reaches.
pub const ROOMY: RateLimit = RateLimit { requests_per_minute: Some(100_000_000), input_tokens_per_minute: Some(100_000_000), output_tokens_per_minute: Some(100_000_000) };

/// The buckets of one key.
#[derive(Debug)]
pub struct Limiter {
    /// Requests, input tokens, output tokens; `None` where unmetered.
    buckets: Mutex<(Instant, [Option<Bucket>; 3])>,
}

impl Limiter {
    /// Full buckets for `limits`.
    pub fn new(limits: RateLimit) -> Limiter {
        let buckets = [limits.requests_per_minute, limits.input_tokens_per_minute, limits.output_tokens_per_minute].map(|l| l.filter(|l| *l > 0).map(Bucket::new));
        Limiter { buckets: Mutex::new((Instant::now(), buckets)) }
    }

    /// Meters a request of `input` and `output` tokens.
    pub fn admit(&self, input: u64, output: u64) -> Admission {
        let mut guard = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (last, buckets) = &mut *guard;
        let now = Instant::now();
        let elapsed = now.duration_since(*last).as_secs_f64();
        *last = now;
        for b in buckets.iter_mut().flatten() {
            b.refill(elapsed);
        }
        let taken = [1.0, input as f64, output as f64];
        // The output bucket may go into debt, as the API settles output after the answer:
        // a request only needs it to hold one token.
        let needed = [1.0, input as f64, 1.0];
        let wait = buckets.iter().zip(needed).filter_map(|(b, need)| b.filter(|b| b.level < need).map(|b| b.wait_for(need))).reduce(f64::max);
        if wait.is_none() {
            for (b, take) in buckets.iter_mut().zip(taken) {
                if let Some(b) = b {
                    b.level -= take;
                }
            }
        }
        let mut headers = headers(buckets, unix_now());
        match wait {
            None => Admission::Served(headers),
            Some(seconds) => {
                headers.push((HEADER_RETRY_AFTER.to_owned(), (seconds.ceil() as u64).max(1).to_string()));
                Admission::Throttled(headers)
            }
        }
    }
}

/// The frozen headers a relay makes up: the same values on every answer, whatever was
/// sent (the quirk of `limits.static-headers`).
pub fn static_headers(started_unix: f64) -> Vec<(String, String)> {
    let reset = format_rfc3339(started_unix + WINDOW_SECS);
    let mut headers = Vec::new();
    for (d, limit) in [(Dimension::Requests, 50u64), (Dimension::InputTokens, 40_000), (Dimension::OutputTokens, 8_000), (Dimension::Tokens, 8_000)] {
        let remaining = if d == Dimension::Requests { limit - 1 } else { limit - 1000 };
        push(&mut headers, d, limit, remaining, reset.clone());
    }
    headers
}

fn headers(buckets: &[Option<Bucket>; 3], now_unix: f64) -> Vec<(String, String)> {
    let dims = [Dimension::Requests, Dimension::InputTokens, Dimension::OutputTokens];
    let mut out = Vec::new();
    for (d, b) in dims.into_iter().zip(buckets) {
        if let Some(b) = b {
            let (limit, remaining, reset) = b.reading(d, now_unix);
            push(&mut out, d, limit, remaining, reset);
        }
    }
    // `tokens`: whichever token limit is most spent.
    let spent = |b: &Bucket| b.level / b.limit;
    if let Some(b) = [buckets[1], buckets[2]].into_iter().flatten().min_by(|a, b| spent(a).total_cmp(&spent(b))) {
        let (limit, remaining, reset) = b.reading(Dimension::Tokens, now_unix);
        push(&mut out, Dimension::Tokens, limit, remaining, reset);
    }
    out
}

fn push(headers: &mut Vec<(String, String)>, d: Dimension, limit: u64, remaining: u64, reset: String) {
    let name = |part: &str| format!("{HEADER_RATELIMIT_PREFIX}{}-{part}", d.id());
    headers.push((name("limit"), limit.to_string()));
    headers.push((name("remaining"), remaining.to_string()));
    headers.push((name("reset"), reset));
}


#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_spent_bucket_throttles_with_retry_after_and_counts_down_before() {
        let limiter = Limiter::new(RateLimit { requests_per_minute: Some(3), ..RateLimit::default() });
        for left in ["2", "1", "0"] {
            let Admission::Served(h) = limiter.admit(10, 10) else { panic!("served") };
            assert_eq!(value(&h, "anthropic-ratelimit-requests-remaining"), Some(left));
            assert_eq!(value(&h, "anthropic-ratelimit-requests-limit"), Some("3"));
        }
        let Admission::Throttled(h) = limiter.admit(10, 10) else { panic!("throttled") };
        // One request refills in 20 s at 3 a minute.
        let wait: u64 = value(&h, "retry-after").expect("retry-after").parse().expect("seconds");
        assert!((19..=20).contains(&wait), "{wait}");
        let reset = crate::conformance::limits::parse_rfc3339(value(&h, "anthropic-ratelimit-requests-reset").expect("reset")).expect("RFC 3339");
        let full_in = reset - unix_now();
        assert!((59.0..=60.5).contains(&full_in), "full again in {full_in} s");
    }

    #[test]
    fn token_counts_are_rounded_to_the_thousand_and_tokens_is_the_most_spent() {
        let limiter = Limiter::new(RateLimit { input_tokens_per_minute: Some(100_000), output_tokens_per_minute: Some(10_000), ..RateLimit::default() });
        let Admission::Served(h) = limiter.admit(12_345, 4_400) else { panic!("served") };
        assert_eq!(value(&h, "anthropic-ratelimit-input-tokens-remaining"), Some("88000"));
        assert_eq!(value(&h, "anthropic-ratelimit-output-tokens-remaining"), Some("6000"));
        assert_eq!(value(&h, "anthropic-ratelimit-tokens-limit"), Some("10000"));
        assert_eq!(value(&h, "anthropic-ratelimit-requests-limit"), None, "unmetered");
        // Input beyond what is left is refused; output may run into debt once.
        assert!(matches!(limiter.admit(90_000, 1), Admission::Throttled(_)));
        assert!(matches!(limiter.admit(1, 9_000), Admission::Served(_)));
        assert!(matches!(limiter.admit(1, 1), Admission::Throttled(_)));
    }
}
