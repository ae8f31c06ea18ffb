//! Retries as a client library makes them: which failures are retried, and how long to
//! wait first. Off unless a scenario asks; `sdk` is the policy of the official Python SDK
//! (PROTOCOL.md §4, from `_base_client.py` and `_constants.py`, read 2026-08):
//!
//! - at most `DEFAULT_MAX_RETRIES = 2` retries;
//! - `x-should-retry: true|false` on an error response decides first;
//! - else 408, 409, 429 and every status from 500 are retried, and so are connection
//!   errors and timeouts (a stream that failed after its 200 is not);
//! - the wait is `retry-after-ms`, else `retry-after` in seconds, else `retry-after` as an
//!   HTTP date, used only when it is above 0 and at most 60 s;
//! - else `min(INITIAL_RETRY_DELAY · 2^n, MAX_RETRY_DELAY) · (1 − 0.25 · random())`
//!   seconds, with `INITIAL_RETRY_DELAY = 0.5`, `MAX_RETRY_DELAY = 8.0` and `n` the
//!   retries already taken.
//!
//! The SDK also sends `x-stainless-retry-count` with each retry; relaybench does not, so
//! every attempt sends the same bytes.

use std::time::Duration;

use crate::outcome::{Outcome, OutcomeKind};
use crate::rng::Rng;

/// The SDK's `DEFAULT_MAX_RETRIES`.
pub const SDK_MAX_RETRIES: u32 = 2;
/// The SDK's `INITIAL_RETRY_DELAY`, seconds.
pub const SDK_INITIAL_DELAY: Duration = Duration::from_millis(500);
/// The SDK's `MAX_RETRY_DELAY`, seconds.
pub const SDK_MAX_DELAY: Duration = Duration::from_secs(8);
/// The share of a backoff the SDK's jitter may take off.
pub const SDK_JITTER: f64 = 0.25;
/// The longest server-given wait the Python SDK obeys; past it, it backs off instead.
pub const SDK_HEADER_CAP: Duration = Duration::from_secs(60);

/// Why an attempt was retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    /// The status, one the policy retries (408, 409, 429, 529, other 5xx).
    Status(u16),
    /// `x-should-retry: true` on a status the policy would not retry.
    ShouldRetryHeader,
    /// No connection, or it failed before a response head.
    Connect,
    /// A time limit ran out.
    Timeout,
}

impl Cause {
    /// Name in reports: the status, `5xx` for the rest of the 500s, `x-should-retry`,
    /// `connect` or `timeout`.
    pub fn id(self) -> String {
        match self {
            Cause::Status(s @ (408 | 409 | 429 | 529)) => s.to_string(),
            Cause::Status(_) => "5xx".to_owned(),
            Cause::ShouldRetryHeader => "x-should-retry".to_owned(),
            Cause::Connect => "connect".to_owned(),
            Cause::Timeout => "timeout".to_owned(),
        }
    }
}

/// What a policy retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryOn {
    /// These statuses (a `5xx` entry adds every status from 500 to 599).
    pub statuses: Vec<u16>,
    /// Connection errors.
    pub connect: bool,
    /// Timeouts.
    pub timeout: bool,
}

/// A retry policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Name in reports: `sdk`, or `custom`.
    pub name: &'static str,
    /// Retries after the first attempt, at most.
    pub max_retries: u32,
    /// What is retried.
    pub on: RetryOn,
    /// The first backoff; each retry doubles it.
    pub initial: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// The share of a backoff the jitter may take off, 0 to 1.
    pub jitter: f64,
    /// Whether `x-should-retry` and `retry-after(-ms)` are obeyed.
    pub obey_headers: bool,
    /// The longest server-given wait obeyed, when there is a cap.
    pub header_cap: Option<Duration>,
}

impl Policy {
    /// The official Python SDK's policy.
    pub fn sdk() -> Policy {
        Policy {
            name: "sdk",
            max_retries: SDK_MAX_RETRIES,
            on: RetryOn { statuses: sdk_statuses(), connect: true, timeout: true },
            initial: SDK_INITIAL_DELAY,
            max_delay: SDK_MAX_DELAY,
            jitter: SDK_JITTER,
            obey_headers: true,
            header_cap: Some(SDK_HEADER_CAP),
        }
    }

    /// The policy in words, for the summaries.
    pub fn describe(&self) -> String {
        format!(
            "{}: at most {} retries, backoff {} ms doubling to {} ms less up to {:.0}% jitter{}",
            self.name,
            self.max_retries,
            self.initial.as_millis(),
            self.max_delay.as_millis(),
            self.jitter * 100.0,
            if self.obey_headers { ", server-given waits obeyed" } else { "" }
        )
    }

    /// Whether `o` is retried after `taken` retries, why, and after how long. `rng`
    /// draws the jitter.
    pub fn decide(&self, o: &Outcome, taken: u32, rng: &mut Rng) -> Option<(Cause, Duration)> {
        if taken >= self.max_retries || o.kind == OutcomeKind::Ok || o.kind == OutcomeKind::Cancelled {
            return None;
        }
        let limits = o.limits.as_deref().filter(|_| self.obey_headers);
        let cause = match (o.kind, o.status) {
            (OutcomeKind::ConnectError | OutcomeKind::ConnectTimeout | OutcomeKind::TransportError, None) => self.on.connect.then_some(Cause::Connect),
            (OutcomeKind::Timeout | OutcomeKind::TtfbTimeout, None) => self.on.timeout.then_some(Cause::Timeout),
            (_, Some(status)) if !(200..300).contains(&status) => {
                match limits.and_then(|l| l.should_retry.as_deref()) {
                    Some("true") => Some(if self.on.statuses.contains(&status) { Cause::Status(status) } else { Cause::ShouldRetryHeader }),
                    Some("false") => None,
                    _ => self.on.statuses.contains(&status).then_some(Cause::Status(status)),
                }
            }
            _ => None,
        }?;
        let given = limits.and_then(|l| server_wait(l.retry_after_ms.as_deref(), l.retry_after.as_deref(), l.received_unix));
        let given = given.filter(|w| !w.is_zero() && self.header_cap.is_none_or(|cap| *w <= cap));
        Some((cause, given.unwrap_or_else(|| self.backoff(taken, rng))))
    }

    /// `min(initial · 2^taken, max) · (1 − jitter · random())`.
    pub fn backoff(&self, taken: u32, rng: &mut Rng) -> Duration {
        let base = (self.initial.as_secs_f64() * 2f64.powi(taken.min(1000) as i32)).min(self.max_delay.as_secs_f64());
        Duration::from_secs_f64((base * (1.0 - self.jitter * rng.next_f64())).max(0.0))
    }
}

/// 408, 409, 429 and 500 to 599.
pub fn sdk_statuses() -> Vec<u16> {
    [408, 409, 429].into_iter().chain(500..=599).collect()
}

/// The wait a server asked for: `retry-after-ms`, else `retry-after` in seconds, else as
/// an HTTP date (against when the response arrived, unix seconds).
pub fn server_wait(retry_after_ms: Option<&str>, retry_after: Option<&str>, received_unix: f64) -> Option<Duration> {
    let finite = |s: f64| (0.0..1e9).contains(&s).then(|| Duration::from_secs_f64(s));
    if let Some(ms) = retry_after_ms.and_then(|v| v.trim().parse::<f64>().ok()).and_then(|ms| finite(ms / 1000.0)) {
        return Some(ms);
    }
    let text = retry_after?.trim();
    if let Some(seconds) = text.parse::<f64>().ok().and_then(finite) {
        return Some(seconds);
    }
    let at = httpdate::parse_http_date(text).ok()?;
    let at = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64();
    finite((at - received_unix).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::limits::RateLimits;

    fn failed(status: Option<u16>, kind: OutcomeKind, headers: &[(&str, &str)]) -> Outcome {
        let mut o = Outcome::new(0, false);
        o.kind = kind;
        o.status = status;
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.insert(http::HeaderName::try_from(*k).expect("name"), http::HeaderValue::try_from(*v).expect("value"));
        }
        o.limits = RateLimits::from_headers(&map, 1_000.0).map(Box::new);
        o
    }

    #[test]
    fn the_sdk_retries_what_its_client_retries_and_no_more() {
        let sdk = Policy::sdk();
        let mut rng = Rng::new(1);
        let mut retried = |o: &Outcome| sdk.decide(o, 0, &mut rng).map(|(c, _)| c.id());
        for (status, expected) in [(408, Some("408")), (409, Some("409")), (429, Some("429")), (500, Some("5xx")), (529, Some("529")), (400, None), (401, None), (404, None), (413, None)] {
            assert_eq!(retried(&failed(Some(status), OutcomeKind::HttpError, &[])), expected.map(str::to_owned), "HTTP {status}");
        }
        assert_eq!(retried(&failed(None, OutcomeKind::ConnectError, &[])).as_deref(), Some("connect"));
        assert_eq!(retried(&failed(None, OutcomeKind::TtfbTimeout, &[])).as_deref(), Some("timeout"));
        // A stream that broke after its 200 is not retried.
        assert_eq!(retried(&failed(Some(200), OutcomeKind::Truncated, &[])), None);
        // x-should-retry decides first.
        assert_eq!(retried(&failed(Some(400), OutcomeKind::HttpError, &[("x-should-retry", "true")])).as_deref(), Some("x-should-retry"));
        assert_eq!(retried(&failed(Some(529), OutcomeKind::HttpError, &[("x-should-retry", "false")])), None);
        // Two retries, then the error stands.
        let o = failed(Some(529), OutcomeKind::HttpError, &[]);
        assert!(sdk.decide(&o, 1, &mut Rng::new(1)).is_some() && sdk.decide(&o, 2, &mut Rng::new(1)).is_none());
    }

    #[test]
    fn waits_follow_the_server_then_the_sdk_backoff() {
        let sdk = Policy::sdk();
        let wait = |headers: &[(&str, &str)], taken: u32| sdk.decide(&failed(Some(429), OutcomeKind::HttpError, headers), taken, &mut Rng::new(7)).map(|(_, w)| w);
        assert_eq!(wait(&[("retry-after-ms", "250"), ("retry-after", "3")], 0), Some(Duration::from_millis(250)));
        assert_eq!(wait(&[("retry-after", "3")], 0), Some(Duration::from_secs(3)));
        // An HTTP date 1000 s + 12 s after the epoch, against a response at 1000 s.
        assert_eq!(wait(&[("retry-after", "Thu, 01 Jan 1970 00:16:52 GMT")], 0), Some(Duration::from_secs(12)));
        // Past 60 s (or 0) the Python SDK backs off instead: 0.5 s less up to 25%.
        for headers in [&[("retry-after", "120")][..], &[("retry-after", "0")][..], &[][..]] {
            let w = wait(headers, 0).expect("retried");
            assert!(w <= Duration::from_millis(500) && w >= Duration::from_millis(375), "{headers:?}: {w:?}");
        }
        // The backoff doubles from 0.5 s to its cap of 8 s, each less up to a quarter.
        let mut rng = Rng::new(3);
        for (taken, base) in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)] {
            for _ in 0..200 {
                let w = sdk.backoff(taken, &mut rng).as_secs_f64();
                assert!(w <= base && w >= base * 0.75, "after {taken} retries: {w} s");
            }
        }
    }
}
