//! Rate-limit headers (`anthropic-ratelimit-*`, `retry-after`, `retry-after-ms`,
//! `x-should-retry`), read from each response, and whether they tell the truth across a
//! run: a relay that resells limits may send made-up or frozen values.
//!
//! The API meters each limit as a bucket that refills continuously at the limit per minute,
//! and `…-reset` is when it will be full again (DOC-RL). So an honest `remaining` may rise
//! between two responses, but no faster than that refill; it falls with every request
//! while it is below the limit; and a 429 comes when some limit is spent. Every rule here
//! allows for what honest traffic does: the refill between two readings, token counts
//! rounded to the nearest thousand, and clocks a little apart. A rule that cannot prove a
//! fault stays silent: a relay that claims a limit far above what it is sent cannot be
//! shown to freeze its counter.

use std::collections::{BTreeSet, VecDeque};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::finding::Finding;
use super::rules::Rule;
use crate::headers::{visible_ascii, HeaderFields};
use crate::protocol::{HEADER_RATELIMIT_PREFIX, HEADER_RETRY_AFTER, HEADER_RETRY_AFTER_MS, HEADER_SHOULD_RETRY};

/// What a rate limit counts, as the headers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    /// Requests per minute.
    Requests,
    /// The most restrictive token limit in force.
    Tokens,
    /// Input tokens per minute.
    InputTokens,
    /// Output tokens per minute.
    OutputTokens,
}

impl Dimension {
    /// Every dimension, in header order.
    pub const ALL: [Dimension; 4] = [Dimension::Requests, Dimension::Tokens, Dimension::InputTokens, Dimension::OutputTokens];

    /// The name in the headers (`anthropic-ratelimit-{id}-remaining`) and in reports.
    pub fn id(self) -> &'static str {
        match self {
            Dimension::Requests => "requests",
            Dimension::Tokens => "tokens",
            Dimension::InputTokens => "input-tokens",
            Dimension::OutputTokens => "output-tokens",
        }
    }

    /// Whether the counter rules judge it: `tokens` is whichever token limit is most
    /// restrictive at the moment, so it may jump from one to the other honestly.
    fn judged(self) -> bool {
        self != Dimension::Tokens
    }

    /// How far one reading may be off: token counts are rounded to the nearest thousand
    /// (DOC-RL), so two readings of the same bucket differ by up to a thousand either way.
    fn rounding(self) -> f64 {
        match self {
            Dimension::Requests => 0.0,
            _ => 1000.0,
        }
    }

    /// The largest rise of `remaining` between two responses that is never a finding, however
    /// close they are: both readings' rounding, and one for a request that ended between.
    fn tolerated_rise(self) -> f64 {
        2.0 * self.rounding() + 1.0
    }
}

/// One dimension as one response reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// `…-limit`.
    pub limit: Option<u64>,
    /// `…-remaining`.
    pub remaining: Option<u64>,
    /// `…-reset` as unix seconds, or the text when it is not RFC 3339.
    pub reset: Option<Result<f64, String>>,
    /// `…-reset` as sent, to tell a frozen value from a moving one.
    pub reset_text: Option<String>,
}

/// The rate-limit headers of one response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RateLimits {
    /// When the response head arrived, unix seconds: reset times are judged against it.
    pub received_unix: f64,
    /// Each dimension's reading, in [`Dimension::ALL`] order.
    pub readings: [Option<Reading>; 4],
    /// `retry-after` as sent.
    pub retry_after: Option<String>,
    /// `retry-after-ms` as sent.
    pub retry_after_ms: Option<String>,
    /// `x-should-retry` as sent.
    pub should_retry: Option<String>,
}

impl RateLimits {
    /// The rate-limit headers among `headers`, for a head that arrived at `received_unix`;
    /// `None` when there are none. One pass over the head: looking up each of the fifteen
    /// names would parse and hash every one of them, a tenth of the client's CPU on small
    /// Messages. As a lookup does, the first value of a header counts.
    pub fn from_headers(headers: &impl HeaderFields, received_unix: f64) -> Option<RateLimits> {
        // limit, remaining and reset of each dimension; retry-after, retry-after-ms, x-should-retry.
        let mut parts: [[Option<&[u8]>; 3]; 4] = [[None; 3]; 4];
        let mut retry: [Option<&[u8]>; 3] = [None; 3];
        for (name, value) in headers.fields() {
            let slot = if let Some(rest) = name.strip_prefix(HEADER_RATELIMIT_PREFIX) {
                let found = Dimension::ALL.iter().enumerate().find_map(|(i, d)| Some((i, rest.strip_prefix(d.id())?.strip_prefix('-')?)));
                let Some((d, part)) = found else { continue };
                match part {
                    "limit" => &mut parts[d][0],
                    "remaining" => &mut parts[d][1],
                    "reset" => &mut parts[d][2],
                    _ => continue,
                }
            } else {
                match name {
                    HEADER_RETRY_AFTER => &mut retry[0],
                    HEADER_RETRY_AFTER_MS => &mut retry[1],
                    HEADER_SHOULD_RETRY => &mut retry[2],
                    _ => continue,
                }
            };
            slot.get_or_insert(value);
        }
        fn trimmed(v: Option<&[u8]>) -> Option<&str> {
            v.and_then(visible_ascii).map(str::trim_ascii)
        }
        let text = |v: Option<&[u8]>| trimmed(v).map(|v| crate::text::cut(v.to_owned()));
        let number = |v: Option<&[u8]>| v.and_then(|v| digits(v).or_else(|| trimmed(Some(v)).and_then(|v| v.parse::<u64>().ok())));
        let mut limits = RateLimits { received_unix, retry_after: text(retry[0]), retry_after_ms: text(retry[1]), should_retry: text(retry[2]), ..RateLimits::default() };
        for (slot, [limit, remaining, reset]) in limits.readings.iter_mut().zip(parts) {
            let reset_text = text(reset);
            let reading = Reading {
                limit: number(limit),
                remaining: number(remaining),
                reset: reset_text.as_ref().map(|t| parse_rfc3339(t).ok_or_else(|| t.clone())),
                reset_text,
            };
            if reading.limit.is_some() || reading.remaining.is_some() || reading.reset.is_some() {
                *slot = Some(reading);
            }
        }
        let any = limits.readings.iter().any(Option::is_some) || limits.retry_after.is_some() || limits.retry_after_ms.is_some() || limits.should_retry.is_some();
        any.then_some(limits)
    }

    /// The reading of `d`, when the response gave one.
    pub fn reading(&self, d: Dimension) -> Option<&Reading> {
        self.readings[d as usize].as_ref()
    }
}

/// The number a value of plain digits holds, between spaces or tabs: what the checked
/// path (visible text, trimmed, parsed) gives it, without its passes over the bytes.
/// Anything else, or more digits than always fit, is `None` and left to that path.
fn digits(value: &[u8]) -> Option<u64> {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !blank(b))?;
    let end = value.iter().rposition(|b| !blank(b))? + 1;
    let digits = &value[start..end];
    if digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Now, in unix seconds: what reset times and the mock's headers are reckoned in.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// An RFC 3339 time as unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<f64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Some(t.unix_timestamp() as f64 + f64::from(t.nanosecond()) / 1e9)
}

/// Unix seconds as RFC 3339 in UTC, to the millisecond.
pub fn format_rfc3339(unix: f64) -> String {
    // Whole seconds and milliseconds apart: a unix time in nanoseconds is past what an
    // f64 holds exactly.
    let millis = (unix * 1000.0).round() as i64;
    let t = OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
        + time::Duration::milliseconds(millis.rem_euclid(1000));
    t.format(&Rfc3339).unwrap_or_default()
}

/// The window the API's limits are counted over (per minute, DOC-RL): a bucket refills at
/// its limit over this long, and is full again within it.
pub const WINDOW_SECS: f64 = 60.0;
/// How far the client's and the server's clocks may be apart.
const CLOCK_SLACK_SECS: f64 = 2.0;
/// Responses kept to compare a new one with.
const RECENT: usize = 64;
/// Responses with the same counter before it can be called frozen.
const STATIC_MIN_RESPONSES: u64 = 10;
/// How far below an unchanged counter the requests and tokens sent must have taken it.
const STATIC_MIN_SHORTFALL: f64 = 5.0;
/// Share of a limit left that means it was not spent.
const ROOM_SHARE: f64 = 0.10;

/// One response as the tracker keeps it to compare later ones with: numbers only, so
/// keeping the last [`RECENT`] takes no allocation and a scan over them stays in cache.
#[derive(Debug, Clone, Copy)]
struct Seen {
    at: f64,
    counters: [Counter; 4],
}

/// One dimension of a [`Seen`] response.
#[derive(Debug, Clone, Copy, Default)]
struct Counter {
    limit: Option<u64>,
    remaining: Option<u64>,
    /// The reset time, when it was RFC 3339.
    full_at: Option<f64>,
}

impl Seen {
    fn new(limits: &RateLimits) -> Seen {
        let counter = |r: &Option<Reading>| {
            r.as_ref().map_or_else(Counter::default, |r| Counter { limit: r.limit, remaining: r.remaining, full_at: r.reset.as_ref().and_then(|t| t.as_ref().ok().copied()) })
        };
        Seen { at: limits.received_unix, counters: limits.readings.each_ref().map(counter) }
    }
}

/// The lowest and highest `remaining` of one dimension over the responses in the window,
/// kept as the window slides (monotonic queues of `(sequence, remaining)`, amortised O(1)
/// a response), for the dimensions the rules judge. A counter can only have risen against
/// a response in the window if it stands further above the lowest or below the highest
/// than [`Dimension::tolerated_rise`], so most responses skip the comparison with each of
/// the last [`RECENT`].
#[derive(Debug, Clone, Default)]
struct Extremes {
    low: VecDeque<(u64, u64)>,
    high: VecDeque<(u64, u64)>,
}

impl Extremes {
    fn push(&mut self, seq: u64, remaining: u64) {
        while self.low.back().is_some_and(|&(_, r)| r >= remaining) {
            self.low.pop_back();
        }
        self.low.push_back((seq, remaining));
        while self.high.back().is_some_and(|&(_, r)| r <= remaining) {
            self.high.pop_back();
        }
        self.high.push_back((seq, remaining));
    }

    /// Forgets response `seq`, the oldest in the window, as it leaves.
    fn evict(&mut self, seq: u64) {
        for queue in [&mut self.low, &mut self.high] {
            if queue.front().is_some_and(|&(s, _)| s == seq) {
                queue.pop_front();
            }
        }
    }

    /// True when `remaining` is more than `by` from the window's lowest or highest,
    /// compared as [`LimitTracker::rose`] compares them (as f64, whose conversion keeps
    /// the order).
    fn apart(&self, remaining: u64, by: f64) -> bool {
        let r = remaining as f64;
        self.low.front().is_some_and(|&(_, low)| r - low as f64 > by) || self.high.front().is_some_and(|&(_, high)| high as f64 - r > by)
    }
}

/// A run of responses whose counter of one dimension did not move.
#[derive(Debug, Clone, Default)]
struct Frozen {
    value: Option<(u64, Option<String>)>,
    first_at: f64,
    last_at: f64,
    responses: u64,
    /// What the responses after the first counted: requests, or their tokens.
    counted: f64,
    fired: bool,
}

/// One dimension over a run, for the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DimensionSummary {
    /// Responses that reported it.
    pub responses: u64,
    /// Each limit it reported.
    pub limits: BTreeSet<u64>,
    /// The lowest `remaining` reported.
    pub remaining_min: Option<u64>,
}

/// What the tracker saw of a target's limits (the 429s are counted with every status,
/// by the recorder).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitSummary {
    /// Each dimension, in [`Dimension::ALL`] order.
    pub dimensions: [DimensionSummary; 4],
    /// Responses that carried any rate-limit header.
    pub with_headers: u64,
    /// Times `requests` remaining fell from one response to the next: the counter moved
    /// with the requests sent, which a made-up header does not.
    pub falls: u64,
}

impl LimitSummary {
    /// Adds another part of the run (a sweep step, a phase).
    pub fn merge(&mut self, other: &LimitSummary) {
        for (mine, theirs) in self.dimensions.iter_mut().zip(&other.dimensions) {
            mine.responses += theirs.responses;
            mine.limits.extend(&theirs.limits);
            mine.remaining_min = match (mine.remaining_min, theirs.remaining_min) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        self.with_headers += other.with_headers;
        self.falls += other.falls;
    }
}

/// Judges the rate-limit headers of a target's responses against each other.
#[derive(Debug, Clone, Default)]
pub struct LimitTracker {
    recent: VecDeque<Seen>,
    /// The window's extremes of each judged dimension's `remaining`, and the sequence
    /// number the next response in the window gets.
    extremes: [Extremes; 4],
    next_seq: u64,
    frozen: [Frozen; 4],
    summary: LimitSummary,
}

impl LimitTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> LimitTracker {
        LimitTracker::default()
    }

    /// What it saw so far.
    pub fn summary(&self) -> &LimitSummary {
        &self.summary
    }

    /// Takes one response: its status, its rate-limit headers if it had any, and the
    /// input and output tokens its usage reported. Returns the `limits` findings it shows.
    pub fn observe(&mut self, status: Option<u16>, limits: Option<&RateLimits>, input_tokens: u64, output_tokens: u64) -> Vec<Finding> {
        let mut findings = Vec::new();
        if status == Some(429) {
            findings.extend(self.throttled_with_room(limits));
        }
        let Some(limits) = limits else { return findings };
        self.summary.with_headers += 1;
        for d in Dimension::ALL {
            let Some(r) = limits.reading(d) else { continue };
            let s = &mut self.summary.dimensions[d as usize];
            s.responses += 1;
            s.limits.extend(r.limit);
            if let Some(rem) = r.remaining {
                s.remaining_min = Some(s.remaining_min.map_or(rem, |m| m.min(rem)));
            }
        }
        findings.extend(reset_findings(limits));
        if status.is_some_and(|s| (200..300).contains(&s)) {
            let tokens = [1.0, (input_tokens + output_tokens) as f64, input_tokens as f64, output_tokens as f64];
            for d in Dimension::ALL.into_iter().filter(|d| d.judged()) {
                findings.extend(self.freeze(d, limits, tokens[d as usize]));
            }
        }
        let seen = Seen::new(limits);
        let requests = |s: &Seen| s.counters[Dimension::Requests as usize].remaining;
        if let (Some(before), Some(now)) = (self.recent.back().and_then(requests), requests(&seen)) {
            self.summary.falls += u64::from(now < before);
        }
        let could_rise = |d: Dimension| seen.counters[d as usize].remaining.is_some_and(|r| self.extremes[d as usize].apart(r, d.tolerated_rise()));
        if Dimension::ALL.into_iter().filter(|d| d.judged()).any(could_rise) {
            findings.extend(self.rose(&seen));
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
            let gone = self.next_seq - RECENT as u64;
            self.extremes.iter_mut().for_each(|e| e.evict(gone));
        }
        for d in Dimension::ALL.into_iter().filter(|d| d.judged()) {
            if let Some(r) = seen.counters[d as usize].remaining {
                self.extremes[d as usize].push(self.next_seq, r);
            }
        }
        self.next_seq += 1;
        self.recent.push_back(seen);
        findings
    }

    /// A 429 whose own headers, or else the last second's, leave room on every limit.
    fn throttled_with_room(&self, limits: Option<&RateLimits>) -> Option<Finding> {
        let own = limits.map(Seen::new).filter(|s| s.counters.iter().any(|c| c.remaining.is_some())).map(|s| (s, "its own headers"));
        let at = limits.map(|l| l.received_unix);
        let last = || {
            let at = at?;
            let seen = self.recent.iter().filter(|s| s.at <= at && at - s.at <= 1.0).max_by(|a, b| a.at.total_cmp(&b.at))?;
            Some((*seen, "the headers of a response within the second before"))
        };
        let (seen, whose) = own.or_else(last)?;
        let judged: Vec<(Dimension, u64, u64)> = Dimension::ALL
            .into_iter()
            .filter_map(|d| Some((d, seen.counters[d as usize].limit?, seen.counters[d as usize].remaining?)))
            .filter(|(_, limit, _)| *limit > 0)
            .collect();
        let roomy = !judged.is_empty() && judged.iter().all(|(_, limit, rem)| *rem as f64 >= ROOM_SHARE * *limit as f64);
        roomy.then(|| {
            let left: Vec<String> = judged.iter().map(|(d, limit, rem)| format!("{} {rem} of {limit}", d.id())).collect();
            Finding::new(Rule::LimitsThrottledWithRoom, None, format!("HTTP 429 while {whose} left {}", left.join(", ")), b"")
        })
    }

    /// A counter that has not moved over more responses than its limit could refill.
    fn freeze(&mut self, d: Dimension, limits: &RateLimits, counted: f64) -> Option<Finding> {
        let r = limits.reading(d)?;
        let (remaining, limit) = (r.remaining?, r.limit?);
        let at = limits.received_unix;
        let f = &mut self.frozen[d as usize];
        // Compared before it is copied: nearly every response leaves the value as it was.
        if f.value.as_ref().map(|(n, text)| (*n, text.as_deref())) != Some((remaining, r.reset_text.as_deref())) {
            let value = Some((remaining, r.reset_text.clone()));
            *f = Frozen { value, first_at: at, last_at: at, responses: 1, counted: 0.0, fired: f.fired };
            return None;
        }
        f.first_at = f.first_at.min(at);
        f.last_at = f.last_at.max(at);
        f.responses += 1;
        f.counted += counted;
        let refill = limit as f64 * (f.last_at - f.first_at) / WINDOW_SECS;
        let shortfall = f.counted - refill - 2.0 * d.rounding();
        let frozen = f.responses >= STATIC_MIN_RESPONSES && shortfall >= STATIC_MIN_SHORTFALL.max(d.rounding()) && remaining < limit;
        if !frozen || f.fired {
            return None;
        }
        f.fired = true;
        Some(Finding::new(
            Rule::LimitsStaticHeaders,
            None,
            format!(
                "{}-remaining stayed {remaining} of {limit} (reset {}) over {} responses in {:.1} s that counted {:.0} against it, {:.0} more than the limit refills",
                d.id(),
                r.reset_text.as_deref().unwrap_or("not given"),
                f.responses,
                f.last_at - f.first_at,
                f.counted,
                f.counted - refill
            ),
            b"",
        ))
    }

    /// A counter that rose faster than its limit refills before the earlier reset time,
    /// between `now` and any response kept.
    fn rose(&self, now: &Seen) -> Option<Finding> {
        for seen in &self.recent {
            let (earlier, later) = if seen.at <= now.at { (seen, now) } else { (now, seen) };
            for d in Dimension::ALL.into_iter().filter(|d| d.judged()) {
                let (a, b) = (earlier.counters[d as usize], later.counters[d as usize]);
                let (Some(limit), Some(from), Some(to)) = (a.limit.filter(|l| b.limit == Some(*l)), a.remaining, b.remaining) else { continue };
                let Some(full_at) = a.full_at else { continue };
                if full_at <= later.at + CLOCK_SLACK_SECS {
                    continue;
                }
                let gap = later.at - earlier.at;
                let allowed = limit as f64 * gap / WINDOW_SECS + d.tolerated_rise();
                if to as f64 - from as f64 > allowed {
                    return Some(Finding::new(
                        Rule::LimitsRemainingRose,
                        None,
                        format!(
                            "{}-remaining rose from {from} to {to} of {limit} in {gap:.2} s, before the reset at {} (the limit refills {:.0} in that time)",
                            d.id(),
                            format_rfc3339(full_at),
                            limit as f64 * gap / WINDOW_SECS
                        ),
                        b"",
                    ));
                }
            }
        }
        None
    }
}

/// A reset that is not RFC 3339, in the past, or beyond the limits' window.
fn reset_findings(limits: &RateLimits) -> Option<Finding> {
    let at = limits.received_unix;
    Dimension::ALL.into_iter().find_map(|d| {
        let reset = limits.reading(d)?.reset.as_ref()?;
        let message = match reset {
            Err(text) => format!("{}-reset {text:?} is not an RFC 3339 time", d.id()),
            Ok(t) if *t < at - CLOCK_SLACK_SECS => format!("{}-reset {} is {:.1} s before the response", d.id(), format_rfc3339(*t), at - t),
            Ok(t) if *t > at + WINDOW_SECS + CLOCK_SLACK_SECS => {
                format!("{}-reset {} is {:.0} s after the response, past the {WINDOW_SECS:.0} s window", d.id(), format_rfc3339(*t), t - at)
            }
            Ok(_) => return None,
        };
        Some(Finding::new(Rule::LimitsResetInvalid, None, message, b""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    #[test]
    fn a_count_read_the_quick_way_is_what_the_checked_way_reads() {
        let checked = |v: &[u8]| visible_ascii(v).map(str::trim_ascii).and_then(|v| v.parse::<u64>().ok());
        let plain: [&[u8]; 6] = [b"0", b"400000", b" 42 ", b"\t7\t", b"007", b"9999999999999999999"];
        for v in plain {
            assert_eq!(digits(v), checked(v), "{:?}", String::from_utf8_lossy(v));
            assert!(digits(v).is_some(), "{:?} is plain digits", String::from_utf8_lossy(v));
        }
        // Left to the checked way, which reads some of them (a sign, a twentieth digit).
        let other: [&[u8]; 12] = [b"", b" ", b"+5", b"-1", b"1e3", b"\n5", b"5\r", b"12 34", b"18446744073709551615", b"18446744073709551616", "１２".as_bytes(), b"5\x00"];
        for v in other {
            assert_eq!(digits(v), None, "{:?}", String::from_utf8_lossy(v));
        }
        for v in plain.into_iter().chain(other) {
            let head: crate::headers::Headers = [("anthropic-ratelimit-requests-limit", v)].into_iter().collect();
            let read = RateLimits::from_headers(&head, 0.0).and_then(|l| l.reading(Dimension::Requests).and_then(|r| r.limit));
            assert_eq!(read, checked(v), "{:?}", String::from_utf8_lossy(v));
        }
    }

    /// A response's headers: `requests` remaining of `limit`, full again at `reset`.
    fn headers(at: f64, limit: u64, remaining: u64, reset: f64) -> RateLimits {
        let mut map = HeaderMap::new();
        let mut put = |name: &str, value: String| {
            map.insert(http::HeaderName::try_from(name).expect("name"), http::HeaderValue::try_from(value).expect("value"));
        };
        put("anthropic-ratelimit-requests-limit", limit.to_string());
        put("anthropic-ratelimit-requests-remaining", remaining.to_string());
        put("anthropic-ratelimit-requests-reset", format_rfc3339(reset));
        RateLimits::from_headers(&map, at).expect("rate-limit headers")
    }

    fn rules(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.rule.id()).collect()
    }

    /// An honest bucket of `limit` a minute, sent `n` requests `gap` seconds apart from
    /// full: each reading is what the bucket holds after the request.
    fn honest(limit: u64, n: usize, gap: f64) -> Vec<RateLimits> {
        let (mut level, t0) = (limit as f64, 1.7e9);
        (0..n)
            .map(|i| {
                let at = t0 + i as f64 * gap;
                if i > 0 {
                    level = (level + limit as f64 * gap / WINDOW_SECS).min(limit as f64);
                }
                level -= 1.0;
                let full_at = at + (limit as f64 - level) * WINDOW_SECS / limit as f64;
                headers(at, limit, level.floor() as u64, full_at)
            })
            .collect()
    }

    fn run(responses: &[RateLimits], status: u16) -> Vec<&'static str> {
        let mut tracker = LimitTracker::new();
        responses.iter().flat_map(|r| rules(&tracker.observe(Some(status), Some(r), 100, 20))).collect()
    }

    #[test]
    fn an_honest_bucket_breaks_no_rule_fast_or_slow() {
        for (limit, gap) in [(50, 0.05), (50, 2.0), (4000, 0.01), (10, 7.0)] {
            assert_eq!(run(&honest(limit, 40, gap), 200), Vec::<&str>::new(), "limit {limit}, every {gap} s");
        }
    }

    #[test]
    fn a_frozen_counter_is_found_once_and_only_when_the_requests_prove_it() {
        let t0 = 1.7e9;
        let frozen: Vec<RateLimits> = (0..20).map(|i| headers(t0 + f64::from(i) * 0.05, 50, 49, t0 + 60.0)).collect();
        assert_eq!(run(&frozen, 200), ["limits.static-headers"]);
        // Nine responses are not enough to call it frozen.
        assert_eq!(run(&frozen[..9], 200), Vec::<&str>::new());
        // A counter that could have refilled what was sent (a huge limit) proves nothing.
        let roomy: Vec<RateLimits> = (0..20).map(|i| headers(t0 + f64::from(i) * 0.05, 1_000_000, 999_999, t0 + 1.0)).collect();
        assert_eq!(run(&roomy, 200), Vec::<&str>::new());
    }

    #[test]
    fn a_counter_that_rises_faster_than_its_refill_is_found() {
        let t0 = 1.7e9;
        // 10 of 100 left, full in 54 s; a second later, 90 left: the refill gives ~2.
        let jump = [headers(t0, 100, 10, t0 + 54.0), headers(t0 + 1.0, 100, 90, t0 + 6.0)];
        assert_eq!(run(&jump, 200), ["limits.remaining-rose"]);
        // After the reset time has passed, a full bucket is honest.
        let after_reset = [headers(t0, 100, 10, t0 + 1.0), headers(t0 + 5.0, 100, 99, t0 + 5.6)];
        assert_eq!(run(&after_reset, 200), Vec::<&str>::new());
        // Received out of order, the same jump is still a jump.
        let mut swapped = jump.clone();
        swapped.reverse();
        assert_eq!(run(&swapped, 200), ["limits.remaining-rose"]);
    }

    #[test]
    fn a_429_with_room_on_every_limit_is_found_and_one_with_a_spent_limit_is_not() {
        let t0 = 1.7e9;
        let mut tracker = LimitTracker::new();
        let roomy = headers(t0, 100, 40, t0 + 36.0);
        assert_eq!(rules(&tracker.observe(Some(429), Some(&roomy), 0, 0)), ["limits.throttled-with-room"]);
        let spent = headers(t0 + 0.1, 100, 0, t0 + 60.0);
        assert_eq!(rules(&tracker.observe(Some(429), Some(&spent), 0, 0)), Vec::<&str>::new());
        // A 429 without headers is judged by the response just before it.
        let mut tracker = LimitTracker::new();
        tracker.observe(Some(200), Some(&headers(t0, 100, 80, t0 + 12.0)), 10, 10);
        let bare = RateLimits { received_unix: t0 + 0.5, retry_after: Some("1".into()), ..RateLimits::default() };
        assert_eq!(rules(&tracker.observe(Some(429), Some(&bare), 0, 0)), ["limits.throttled-with-room"]);
    }

    #[test]
    fn a_reset_in_the_past_too_far_or_unreadable_is_found() {
        let t0 = 1.7e9;
        for (reset, found) in [(t0 - 30.0, true), (t0 + 3600.0, true), (t0 + 59.0, false), (t0 - 1.0, false)] {
            let mut tracker = LimitTracker::new();
            let got = rules(&tracker.observe(Some(200), Some(&headers(t0, 100, 50, reset)), 0, 0));
            assert_eq!(got.contains(&"limits.reset-invalid"), found, "reset {} s from the response: {got:?}", reset - t0);
        }
        let mut map = HeaderMap::new();
        map.insert("anthropic-ratelimit-requests-reset", http::HeaderValue::from_static("in a minute"));
        let garbled = RateLimits::from_headers(&map, t0).expect("a header");
        assert_eq!(rules(&LimitTracker::new().observe(Some(200), Some(&garbled), 0, 0)), ["limits.reset-invalid"]);
    }

    #[test]
    fn times_read_and_written_agree() {
        let t = 1_764_900_000.25;
        assert_eq!(format_rfc3339(t), "2025-12-05T02:00:00.25Z");
        assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
        assert_eq!(parse_rfc3339("2025-12-05T03:00:00+01:00"), Some(1_764_900_000.0));
        assert_eq!(parse_rfc3339("tomorrow"), None);
    }

    /// Readings of requests (of 1,000) and input tokens (of 100,000): `remaining` of each,
    /// full again at `reset`.
    fn two_limits(at: f64, remaining: [u64; 2], reset: [f64; 2]) -> RateLimits {
        let mut map = HeaderMap::new();
        for (i, (dimension, limit)) in [("requests", 1000), ("input-tokens", 100_000)].into_iter().enumerate() {
            for (field, value) in [("limit", limit.to_string()), ("remaining", remaining[i].to_string()), ("reset", format_rfc3339(reset[i]))] {
                let name = http::HeaderName::try_from(format!("anthropic-ratelimit-{dimension}-{field}")).expect("name");
                map.insert(name, http::HeaderValue::try_from(value).expect("value"));
            }
        }
        RateLimits::from_headers(&map, at).expect("rate-limit headers")
    }

    #[test]
    fn the_window_extremes_skip_only_responses_that_could_not_have_risen() {
        // Counters that mostly fall, sometimes jump up, at times that sometimes go back,
        // with resets before and after: every response's rise finding must be the one the
        // comparison with each of the last 64 gives.
        let mut rng = crate::rng::Rng::new(7);
        let (mut fired, mut quiet) = (0, 0);
        for _ in 0..60 {
            let mut tracker = LimitTracker::new();
            let (mut at, mut remaining) = (1.7e9, [500u64, 50_000]);
            for _ in 0..300 {
                // Now and then a few ms apart, where a rise of 2 already exceeds the refill.
                at += if rng.range(0, 3) == 0 { rng.next_f64() * 0.002 } else { rng.next_f64() * 0.5 - 0.05 };
                for (r, jump) in remaining.iter_mut().zip([40, 4000]) {
                    *r = match rng.range(0, 20) {
                        0 => *r + rng.range(0, jump),
                        1 | 2 => *r + rng.range(1, 3),
                        _ => r.saturating_sub(rng.range(0, 3)),
                    };
                }
                let limits = two_limits(at, remaining, [at + rng.next_f64() * 120.0 - 10.0, at + rng.next_f64() * 120.0 - 10.0]);
                let expected: Vec<String> = tracker.rose(&Seen::new(&limits)).into_iter().map(|f| f.message).collect();
                let found = tracker.observe(Some(200), Some(&limits), 10, 5);
                let rose: Vec<String> = found.into_iter().filter(|f| f.rule == Rule::LimitsRemainingRose).map(|f| f.message).collect();
                assert_eq!(rose, expected);
                if rose.is_empty() {
                    quiet += 1;
                } else {
                    fired += 1;
                }
            }
        }
        assert!(fired > 100 && quiet > 1000, "both kinds of response: {fired} rose, {quiet} did not");

        // The smallest rises that are one, over a window that all stood at one value:
        // 2 requests, 2,002 tokens (readings rounded to the thousand).
        let t0 = 1.7e9;
        let rose = |found: Vec<Finding>| found.iter().filter(|f| f.rule == Rule::LimitsRemainingRose).count();
        for (dimension, rounding_only, least) in [(0, [501, 50_000], [502, 50_000]), (1, [500, 52_001], [500, 52_002])] {
            let mut tracker = LimitTracker::new();
            let reading = |at: f64, remaining| two_limits(t0 + at, remaining, [t0 + 30.0; 2]);
            for i in 0..10 {
                assert_eq!(rose(tracker.observe(Some(200), Some(&reading(f64::from(i) * 1e-4, [500, 50_000])), 1, 1)), 0);
            }
            assert_eq!(rose(tracker.observe(Some(200), Some(&reading(0.0011, rounding_only)), 1, 1)), 0, "dimension {dimension}: within rounding");
            assert_eq!(rose(tracker.observe(Some(200), Some(&reading(0.0012, least)), 1, 1)), 1, "dimension {dimension}: the least rise");
        }
    }
}
