//! Live progress: counters the workers update, and a task that prints them to stderr
//! (in place on a terminal, a line every few seconds otherwise) without mixing with the
//! final report on stdout.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::outcome::{Outcome, OutcomeKind};

/// How far back the rolling TTFT percentiles look.
const TTFT_WINDOW: Duration = Duration::from_secs(10);
/// At most this many recent TTFTs are kept for them.
const TTFT_SAMPLES: usize = 5000;

/// What the run has done so far, updated as it happens.
#[derive(Debug, Default)]
pub struct Live {
    started: AtomicU64,
    finished: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
    output_tokens: AtomicU64,
    ttft: Mutex<VecDeque<(Instant, u64)>>,
}

impl Live {
    /// A request is about to be sent.
    pub fn started(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    /// Due requests were dropped: at the in-flight cap, or never reached by a loop that
    /// fell behind its deadline.
    pub fn dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Requests started and not yet ended, and requests dropped so far.
    pub fn in_flight_and_dropped(&self) -> (u64, u64) {
        let started = self.started.load(Ordering::Relaxed);
        (started.saturating_sub(self.finished.load(Ordering::Relaxed)), self.dropped.load(Ordering::Relaxed))
    }

    /// A request ended.
    pub fn finished(&self, o: &Outcome) {
        self.finished.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(u64::from(o.kind != OutcomeKind::Ok), Ordering::Relaxed);
        self.output_tokens.fetch_add(o.output_tokens.unwrap_or(0), Ordering::Relaxed);
        if let (Some(ttft), Ok(mut window)) = (o.ttft, self.ttft.lock()) {
            if window.len() == TTFT_SAMPLES {
                window.pop_front();
            }
            window.push_back((Instant::now(), ttft.as_micros() as u64));
        }
    }

    /// Median and 95th percentile TTFT over the recent window, in ms.
    fn ttft(&self) -> Option<(f64, f64)> {
        let mut window = self.ttft.lock().ok()?;
        let horizon = Instant::now().checked_sub(TTFT_WINDOW)?;
        while window.front().is_some_and(|(t, _)| *t < horizon) {
            window.pop_front();
        }
        let mut values: Vec<u64> = window.iter().map(|(_, v)| *v).collect();
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let at = |q: f64| values[((values.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        Some((at(0.5), at(0.95)))
    }
}

/// How much the run plans to do, where its scenario says so: the bar's 100%.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Planned {
    /// The sum of every phase's time limit, when each has one.
    pub duration: Option<Duration>,
    /// The sum of every phase's request limit, when each has one.
    pub requests: Option<u64>,
}

impl Planned {
    /// The plan of phases given as `(time limit, request limit)` each.
    pub fn of(phases: impl IntoIterator<Item = (Option<Duration>, Option<u64>)>) -> Planned {
        phases.into_iter().fold(Planned { duration: Some(Duration::ZERO), requests: Some(0) }, |sum, (d, n)| Planned {
            duration: sum.duration.zip(d).map(|(a, b)| a + b),
            requests: sum.requests.zip(n).map(|(a, b)| a + b),
        })
    }

    /// How far along the run is, 0 to 1: by requests scheduled when the plan counts
    /// them, else by time; None when it bounds neither.
    fn fraction(&self, elapsed: Duration, scheduled: u64) -> Option<f64> {
        let by_requests = self.requests.filter(|&n| n > 0).map(|n| scheduled as f64 / n as f64);
        let by_time = self.duration.filter(|d| !d.is_zero()).map(|d| elapsed.as_secs_f64() / d.as_secs_f64());
        by_requests.or(by_time).map(|f| f.clamp(0.0, 1.0))
    }
}

/// A text bar, e.g. `[#####...............]  25%`.
fn bar(fraction: f64) -> String {
    const WIDTH: usize = 20;
    let filled = (fraction * WIDTH as f64).round() as usize;
    format!("[{}{}] {:>3.0}%", "#".repeat(filled), ".".repeat(WIDTH - filled), fraction * 100.0)
}

/// Prints progress until aborted. On a terminal a bar and status line are rewritten
/// every second; otherwise a line is printed every five seconds.
pub async fn report(live: Arc<Live>, run_start: Instant, planned: Planned) {
    let terminal = std::io::stderr().is_terminal();
    let every = if terminal { Duration::from_secs(1) } else { Duration::from_secs(5) };
    let mut last = (Instant::now(), 0u64, 0u64);
    loop {
        tokio::time::sleep(every).await;
        let now = Instant::now();
        let finished = live.finished.load(Ordering::Relaxed);
        let tokens = live.output_tokens.load(Ordering::Relaxed);
        let dt = now.duration_since(last.0).as_secs_f64().max(1e-3);
        let rate = (finished - last.1) as f64 / dt;
        let tok_rate = (tokens - last.2) as f64 / dt;
        last = (now, finished, tokens);
        let in_flight = live.started.load(Ordering::Relaxed).saturating_sub(finished);
        let ttft = live
            .ttft()
            .map(|(p50, p95)| format!("ttft p50 {p50:.0}ms p95 {p95:.0}ms"))
            .unwrap_or_else(|| "ttft -".to_owned());
        let elapsed = now.duration_since(run_start);
        let dropped = live.dropped.load(Ordering::Relaxed);
        let scheduled = live.started.load(Ordering::Relaxed) + dropped;
        let progress = planned.fraction(elapsed, scheduled).map(|f| format!("{}  ", bar(f))).unwrap_or_default();
        let line = format!(
            "{progress}[{:>4}s] done {finished}  in flight {in_flight}  errors {}  dropped {dropped}  {rate:.1} req/s  {ttft}  {tok_rate:.0} tok/s",
            elapsed.as_secs(),
            live.errors.load(Ordering::Relaxed),
        );
        let mut err = std::io::stderr().lock();
        let _ = if terminal { write!(err, "\r\x1b[2K{line}") } else { writeln!(err, "{line}") };
        let _ = err.flush();
    }
}

/// Clears the progress line on a terminal, so the report starts on a clean line.
pub fn clear() {
    if std::io::stderr().is_terminal() {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_counts_requests_first_then_time() {
        let s = Duration::from_secs;
        let both = Planned::of([(Some(s(10)), Some(100)), (Some(s(10)), Some(300))]);
        assert_eq!(both, Planned { duration: Some(s(20)), requests: Some(400) });
        assert_eq!(both.fraction(s(5), 100), Some(0.25));
        // One phase without a request limit leaves time as the measure.
        let timed = Planned::of([(Some(s(10)), Some(100)), (Some(s(30)), None)]);
        assert_eq!(timed.fraction(s(10), 100), Some(0.25));
        assert_eq!(Planned::of([(None, None)]).fraction(s(1), 1), None);
        assert_eq!(timed.fraction(s(90), 0), Some(1.0));
        assert_eq!(bar(0.25), "[#####...............]  25%");
    }
}
