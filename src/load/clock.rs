//! How far this machine's clock is from the target's, read from the `Date` header of its
//! responses. Split workers stamp their reports with their own clocks; when one runs
//! ahead or behind, the merged time series shifts its seconds and `--start-at` starts it
//! early or late. No time server is reachable from every cluster, but the target is: each
//! response says the server's time to the second, somewhere between the request's send
//! and its head's arrival, which bounds the offset; the bounds of many responses intersect
//! to within a round trip. All workers measure against the same target, so their offsets
//! compare even when the target's own clock is off.

use serde::{Deserialize, Serialize};

use crate::outcome::ServerDate;

/// One response's bounds on `server − local`, in seconds: the server wrote second `D`
/// at some local time in `[sent, head]`, so the offset lies in `[D − head, D + 1 − sent)`.
fn bounds(d: &ServerDate) -> (f64, f64) {
    let date = d.date_s as f64;
    (date - d.head_unix, date + 1.0 - d.sent_unix)
}

/// The intersection of the responses' bounds so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClockTracker {
    low: f64,
    high: f64,
    samples: u64,
    /// Responses whose bounds missed the others' (a server behind the target with
    /// another clock, or a clock stepped mid-run).
    disagreeing: u64,
}

impl ClockTracker {
    /// Narrows the bounds with one response's `Date`.
    pub fn observe(&mut self, d: &ServerDate) {
        let (low, high) = bounds(d);
        if !(low.is_finite() && high.is_finite()) || high < low {
            return;
        }
        if self.samples == 0 {
            (self.low, self.high) = (low, high);
        } else if low > self.high || high < self.low {
            self.disagreeing += 1;
            return;
        } else {
            (self.low, self.high) = (self.low.max(low), self.high.min(high));
        }
        self.samples += 1;
    }

    /// Adds another tracker's responses (a phase's, a connection's).
    pub fn merge(&mut self, other: &ClockTracker) {
        if other.samples == 0 {
            return;
        }
        if self.samples == 0 {
            *self = other.clone();
            return;
        }
        if other.low > self.high || other.high < self.low {
            self.disagreeing += other.samples + other.disagreeing;
            return;
        }
        (self.low, self.high) = (self.low.max(other.low), self.high.min(other.high));
        self.samples += other.samples;
        self.disagreeing += other.disagreeing;
    }

    /// The estimate, once a response carried a `Date`.
    pub fn info(&self) -> Option<ClockInfo> {
        (self.samples > 0).then(|| ClockInfo {
            offset_ms: (self.low + self.high) / 2.0 * 1000.0,
            uncertainty_ms: (self.high - self.low) / 2.0 * 1000.0,
            samples: self.samples,
            disagreeing: self.disagreeing,
        })
    }
}

/// The target's clock against this machine's, as the report records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockInfo {
    /// The target's clock minus this machine's, in ms: the middle of the bounds.
    pub offset_ms: f64,
    /// Half the width of the bounds, in ms: the offset is within this of `offset_ms`.
    pub uncertainty_ms: f64,
    /// Responses whose `Date` narrowed the bounds.
    pub samples: u64,
    /// Responses whose `Date` disagreed with the others' and were left out.
    #[serde(default)]
    pub disagreeing: u64,
}

impl ClockInfo {
    /// One line for the summaries.
    pub fn line(&self) -> String {
        let ahead = if self.offset_ms >= 0.0 { "ahead of" } else { "behind" };
        let disagreeing = if self.disagreeing > 0 { format!("; {} responses disagreed and were left out", self.disagreeing) } else { String::new() };
        format!(
            "target clock {:.0} ± {:.0} ms {ahead} this machine's (from the Date of {} responses{disagreeing})",
            self.offset_ms.abs(),
            self.uncertainty_ms,
            self.samples
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response sent at local `sent`, its head at `sent + rtt`, from a server whose clock
    /// is `offset` seconds ahead.
    fn response(sent: f64, rtt: f64, offset: f64) -> ServerDate {
        let server_at_write = sent + rtt / 2.0 + offset;
        ServerDate { date_s: server_at_write.floor() as i64, sent_unix: sent, head_unix: sent + rtt }
    }

    #[test]
    fn many_responses_narrow_the_offset_to_about_a_round_trip() {
        for offset in [-3.217, -0.4, 0.0, 0.25, 1.75, 12.9] {
            let mut t = ClockTracker::default();
            // Requests every 37 ms over 10 s, each with a 4 ms round trip.
            (0..270).for_each(|i| t.observe(&response(1_000_000.0 + i as f64 * 0.037, 0.004, offset)));
            let info = t.info().expect("samples");
            assert!((info.offset_ms - offset * 1000.0).abs() <= info.uncertainty_ms + 1e-6, "{offset}: {info:?}");
            assert!(info.uncertainty_ms < 40.0, "{offset}: the bounds should be narrow: {info:?}");
            assert_eq!((info.samples, info.disagreeing), (270, 0));
        }
    }

    #[test]
    fn one_response_bounds_the_offset_to_a_second_and_a_stranger_is_left_out() {
        let mut t = ClockTracker::default();
        t.observe(&response(500.2, 0.01, 0.0));
        let one = t.info().expect("one sample");
        assert!(one.uncertainty_ms > 400.0 && one.uncertainty_ms <= 505.0, "{one:?}");
        // A backend an hour off cannot be the same clock.
        t.observe(&response(501.0, 0.01, 3600.0));
        assert_eq!(t.info().map(|i| (i.samples, i.disagreeing)), Some((1, 1)));
        let mut other = ClockTracker::default();
        other.observe(&response(502.7, 0.01, 0.0));
        t.merge(&other);
        assert_eq!(t.info().map(|i| i.samples), Some(2));
        assert!(t.info().expect("samples").uncertainty_ms <= one.uncertainty_ms);
    }

    #[test]
    fn no_date_no_estimate() {
        assert_eq!(ClockTracker::default().info(), None);
    }
}
