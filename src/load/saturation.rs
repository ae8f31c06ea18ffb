//! Whether the load generator itself kept up. A client that falls behind (its event loop
//! late, its cores spent) measures its own delay as the server's: deltas queue up in the
//! socket and are read in one go, so per-stream token rates reach millions and TTFT grows
//! with the client's backlog. The report flags such a run so nobody reads its figures as
//! the relay's. The embedded mock shares the process, so its work counts too.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How often the monitor asks the event loop for a turn; its lateness is the lag.
const TICK: Duration = Duration::from_millis(5);
/// Event-loop lag (p99) past which timings carry the client's own delay.
pub const LAG_LIMIT_MS: f64 = 10.0;
/// Share of the machine's cores past which the client is the bottleneck.
pub const CPU_LIMIT: f64 = 0.9;

/// How hard the load generator worked during the load, and whether it kept up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientLoad {
    /// How late the event loop ran a 5 ms timer, 99th percentile, in ms.
    pub event_loop_lag_p99_ms: f64,
    /// The worst such lateness, in ms.
    pub event_loop_lag_max_ms: f64,
    /// CPU time used per second of load, in cores (Linux only).
    pub cpu_cores_used: Option<f64>,
    /// Cores available to the process.
    pub cores: usize,
    /// The client could not keep up: its timings include its own delay.
    pub saturated: bool,
    /// Why, in words, when saturated.
    pub reasons: Vec<String>,
}

impl ClientLoad {
    /// Judges the figures against [`LAG_LIMIT_MS`] and [`CPU_LIMIT`].
    pub fn judge(lag_p99_ms: f64, lag_max_ms: f64, cpu_cores_used: Option<f64>, cores: usize) -> ClientLoad {
        let mut reasons = Vec::new();
        if lag_p99_ms > LAG_LIMIT_MS {
            reasons.push(format!("event-loop lag p99 {lag_p99_ms:.1} ms (limit {LAG_LIMIT_MS} ms)"));
        }
        if let Some(used) = cpu_cores_used.filter(|u| *u >= CPU_LIMIT * cores as f64) {
            reasons.push(format!("CPU {used:.2} of {cores} cores"));
        }
        ClientLoad {
            event_loop_lag_p99_ms: lag_p99_ms,
            event_loop_lag_max_ms: lag_max_ms,
            cpu_cores_used,
            cores,
            saturated: !reasons.is_empty(),
            reasons,
        }
    }

    /// One line for the summaries.
    pub fn line(&self) -> String {
        let cpu = self.cpu_cores_used.map_or(String::new(), |c| format!(", CPU {c:.2} of {} cores", self.cores));
        match self.saturated {
            true => format!(
                "load generator SATURATED ({}): latencies include its own delay; use fewer workers, a release build or more machines",
                self.reasons.join(", ")
            ),
            false => format!("load generator kept up (event-loop lag p99 {:.1} ms{cpu})", self.event_loop_lag_p99_ms),
        }
    }
}

/// Watches the event loop's lag and the process's CPU time while the load runs.
pub struct Monitor {
    done: Arc<Notify>,
    task: tokio::task::JoinHandle<hdrhistogram::Histogram<u64>>,
    started: Instant,
    cpu_at_start: Option<Duration>,
}

impl Monitor {
    /// Starts watching.
    pub fn start() -> Monitor {
        let done = Arc::new(Notify::new());
        let stop = done.clone();
        let task = tokio::spawn(async move {
            let mut lag = crate::metrics::new_histogram();
            loop {
                let asked = Instant::now();
                tokio::select! {
                    _ = tokio::time::sleep(TICK) => {}
                    _ = stop.notified() => return lag,
                }
                let late = asked.elapsed().saturating_sub(TICK);
                let _ = lag.record(u64::try_from(late.as_micros()).unwrap_or(u64::MAX));
            }
        });
        Monitor { done, task, started: Instant::now(), cpu_at_start: process_cpu_time() }
    }

    /// Stops watching and judges what was seen.
    pub async fn finish(self) -> ClientLoad {
        let wall = self.started.elapsed().as_secs_f64();
        let cpu = match (self.cpu_at_start, process_cpu_time()) {
            (Some(a), Some(b)) if wall > 0.0 => Some(b.saturating_sub(a).as_secs_f64() / wall),
            _ => None,
        };
        self.done.notify_one();
        let lag = self.task.await.unwrap_or_else(|_| crate::metrics::new_histogram());
        let ms = |us: u64| us as f64 / 1000.0;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        ClientLoad::judge(ms(lag.value_at_quantile(0.99)), ms(lag.max()), cpu, cores)
    }
}

/// User and system CPU time of the whole process so far, from `/proc/self/stat`, whose
/// clock ticks are the kernel's fixed USER_HZ of 100 per second.
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_signal_flags_saturation_and_says_why() {
        let calm = ClientLoad::judge(1.2, 4.0, Some(0.4), 2);
        assert!(!calm.saturated && calm.reasons.is_empty(), "{calm:?}");
        assert!(calm.line().contains("kept up"));
        let late = ClientLoad::judge(35.0, 80.0, Some(0.5), 2);
        assert!(late.saturated && late.reasons[0].contains("lag p99 35.0 ms"), "{late:?}");
        let busy = ClientLoad::judge(2.0, 9.0, Some(1.9), 2);
        assert!(busy.saturated && busy.reasons[0].contains("CPU 1.90 of 2 cores"), "{busy:?}");
        assert!(busy.line().contains("SATURATED"));
        // Without a CPU figure (not Linux), lag alone decides.
        assert!(!ClientLoad::judge(2.0, 9.0, None, 2).saturated);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn cpu_time_grows_with_work() {
        let before = process_cpu_time().expect("linux has /proc/self/stat");
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < std::time::Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(process_cpu_time().expect("again") > before, "{x}");
    }
}
