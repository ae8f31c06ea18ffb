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

    /// A due request was dropped at the in-flight cap.
    pub fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
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

/// Prints progress until aborted. On a terminal the line is rewritten every second;
/// otherwise a line is printed every five seconds.
pub async fn report(live: Arc<Live>, run_start: Instant) {
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
        let line = format!(
            "[{:>4}s] done {finished}  in flight {in_flight}  errors {}  dropped {}  {rate:.1} req/s  {ttft}  {tok_rate:.0} tok/s",
            now.duration_since(run_start).as_secs(),
            live.errors.load(Ordering::Relaxed),
            live.dropped.load(Ordering::Relaxed),
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
