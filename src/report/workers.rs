//! The workers of a merged report, one row each: what each segment sent, how late, and
//! its clock. A merged percentile hides which pod was slow; this table and its notes show
//! it, so a late start, a saturated pod or a skewed clock is seen before the sum is read.

use super::{MergeInfo, Report, WorkerInfo};
use crate::metrics::Metric;

/// A worker's send lag p99 past this many times the workers' median marks it as lagging
/// (and past [`crate::load::saturation::LAG_LIMIT_MS`], so a fast run's noise is no news).
const LAGGING_FACTOR: f64 = 2.0;
/// A start later than the earliest by more than this is a late pod, in seconds.
const LATE_START_S: f64 = 1.0;
/// Clocks further apart than this (beyond their uncertainties) misplace the merged
/// series' seconds, in ms.
const CLOCK_SKEW_MS: f64 = 500.0;

impl WorkerInfo {
    /// The row of segment report `r`, which started `start_offset_s` after the earliest.
    pub fn of(r: &Report, start_offset_s: f64) -> WorkerInfo {
        let lag = r.metrics.get(Metric::SendLag.id()).filter(|m| m.count > 0);
        let ok = r.totals.by_outcome.get("ok").copied().unwrap_or(0);
        WorkerInfo {
            segment: r.segment.map_or(0, |s| s.index),
            started_at: r.started_at.clone(),
            start_offset_s,
            duration_s: r.duration_s,
            requests: r.totals.requests,
            errors: r.totals.requests.saturating_sub(ok),
            requests_per_s: r.throughput.requests_per_s,
            send_lag_p50_ms: lag.map(|m| m.p50),
            send_lag_p99_ms: lag.map(|m| m.p99),
            send_lag_max_ms: lag.map(|m| m.max),
            saturated: r.client.as_ref().map(|c| c.saturated),
            clock_offset_ms: r.clock.as_ref().map(|c| c.offset_ms),
            clock_uncertainty_ms: r.clock.as_ref().map(|c| c.uncertainty_ms),
        }
    }
}

/// One line for the summaries: which segments the sum holds and what it leaves out.
pub fn merge_line(m: &MergeInfo) -> String {
    let missing = if m.missing.is_empty() { String::new() } else { format!(", MISSING {}", list(&m.missing)) };
    format!("merged from segments {} of {}{missing}; each worker's own {} are left out", list(&m.merged), m.segments, m.left_out.join(", "))
}

fn list(indexes: &[u32]) -> String {
    indexes.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// The table: a header row, then a row per worker.
pub fn rows(workers: &[WorkerInfo]) -> Vec<Vec<String>> {
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
    let mut rows = vec![["worker", "start +s", "duration s", "requests", "errors", "req/s", "send lag p50 ms", "p99 ms", "max ms", "kept up", "target clock ms"]
        .map(str::to_owned)
        .to_vec()];
    for w in workers {
        let clock = match (w.clock_offset_ms, w.clock_uncertainty_ms) {
            (Some(o), Some(u)) => format!("{o:+.0} ± {u:.0}"),
            _ => "-".to_owned(),
        };
        let kept_up = w.saturated.map_or("-", |s| if s { "NO" } else { "yes" });
        rows.push(vec![
            w.segment.to_string(),
            format!("{:.2}", w.start_offset_s),
            format!("{:.1}", w.duration_s),
            w.requests.to_string(),
            w.errors.to_string(),
            format!("{:.2}", w.requests_per_s),
            ms(w.send_lag_p50_ms),
            ms(w.send_lag_p99_ms),
            ms(w.send_lag_max_ms),
            kept_up.to_owned(),
            clock,
        ]);
    }
    rows
}

/// What stands out among the workers, a sentence each: a late start, a lagging or
/// saturated pod, clocks too far apart. Empty when they look alike.
pub fn notes(workers: &[WorkerInfo]) -> Vec<String> {
    let mut notes = Vec::new();
    for w in workers.iter().filter(|w| w.start_offset_s > LATE_START_S) {
        notes.push(format!("worker {} began {:.1} s after the first: its requests were late from the start (send lag), or it missed --start-at", w.segment, w.start_offset_s));
    }
    let mut lags: Vec<f64> = workers.iter().filter_map(|w| w.send_lag_p99_ms).collect();
    lags.sort_by(f64::total_cmp);
    if let Some(&median) = lags.get(lags.len() / 2) {
        let limit = (median * LAGGING_FACTOR).max(crate::load::saturation::LAG_LIMIT_MS);
        for w in workers.iter().filter(|w| w.send_lag_p99_ms.is_some_and(|l| l > limit)) {
            notes.push(format!("worker {} lagged: send lag p99 {:.1} ms against the workers' median {median:.1} ms", w.segment, w.send_lag_p99_ms.unwrap_or(0.0)));
        }
    }
    for w in workers.iter().filter(|w| w.saturated == Some(true)) {
        notes.push(format!("worker {}'s load generator could not keep up: its latencies include its own delay", w.segment));
    }
    let clocks: Vec<(u32, f64, f64)> = workers.iter().filter_map(|w| Some((w.segment, w.clock_offset_ms?, w.clock_uncertainty_ms?))).collect();
    let lowest = clocks.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let highest = clocks.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    if let (Some(lo), Some(hi)) = (lowest, highest) {
        let apart = hi.1 - lo.1 - hi.2 - lo.2;
        if apart > CLOCK_SKEW_MS {
            notes.push(format!(
                "the clocks of workers {} and {} are at least {apart:.0} ms apart (against the target's): their start times disagree, and the seconds were aligned on the target's clock",
                lo.0, hi.0
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(segment: u32, lag_p99: f64) -> WorkerInfo {
        WorkerInfo {
            segment,
            started_at: "2026-12-06T05:00:00Z".into(),
            start_offset_s: 0.0,
            duration_s: 60.0,
            requests: 600,
            errors: 0,
            requests_per_s: 10.0,
            send_lag_p50_ms: Some(0.2),
            send_lag_p99_ms: Some(lag_p99),
            send_lag_max_ms: Some(lag_p99 * 2.0),
            saturated: Some(false),
            clock_offset_ms: Some(3.0),
            clock_uncertainty_ms: Some(20.0),
        }
    }

    #[test]
    fn alike_workers_raise_nothing_and_each_kind_of_outlier_is_named() {
        let alike: Vec<WorkerInfo> = (0..5).map(|i| worker(i, 1.0 + f64::from(i) * 0.1)).collect();
        assert_eq!(notes(&alike), Vec::<String>::new());
        assert_eq!(rows(&alike).len(), 6);
        let mut odd = alike.clone();
        odd[1].send_lag_p99_ms = Some(250.0);
        odd[2].start_offset_s = 4.5;
        odd[3].saturated = Some(true);
        odd[4].clock_offset_ms = Some(-2_000.0);
        let said = notes(&odd).join("\n");
        for expected in ["worker 1 lagged", "worker 2 began 4.5 s", "worker 3's load generator", "the clocks of workers 4 and"] {
            assert!(said.contains(expected), "{expected:?} missing from:\n{said}");
        }
    }
}
