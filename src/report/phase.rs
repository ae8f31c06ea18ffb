//! The phases of a run: each load of a scenario reported on its own, with its thresholds.

use super::gate::evaluate;
use super::model::{Figures, LoadInfo, MetricSummary, PartSums, PhaseReport, Report, SweepReport};
use crate::scenario::{Executor, LoadSpec, Ramp};
use crate::thresholds::Threshold;

impl LoadInfo {
    /// The report's description of `load`.
    pub fn of(load: &LoadSpec) -> LoadInfo {
        let stages = load.executor == Executor::Stages;
        let closed = load.executor == Executor::Concurrency || (stages && load.ramp == Ramp::Concurrency);
        LoadInfo {
            executor: load.executor.id().to_owned(),
            concurrency: load.concurrency.map(|c| c.get()),
            rate: load.rate,
            ramp: stages.then(|| load.ramp.id().to_owned()),
            levels: if stages {
                std::iter::once(load.start.unwrap_or(0.0)).chain(load.stages.iter().flatten().map(|s| s.target)).collect()
            } else {
                Vec::new()
            },
            rates: load.sweep_rates(),
            max_in_flight: (!closed).then(|| load.max_in_flight.get()),
            requests: load.requests,
            duration_s: load.duration.map(|d| d.0.as_secs_f64()),
            warmup: load.warmup,
            keep_alive: (!load.keep_alive).then_some(false),
        }
    }
}

impl Figures {
    /// The figures of `r`.
    pub fn of(r: &Report) -> Figures {
        let stat = |id: &str, pick: fn(&MetricSummary) -> f64| r.metrics.get(id).map_or(0.0, pick);
        Figures {
            duration_s: r.duration_s,
            requests: r.totals.requests,
            dropped: r.totals.dropped,
            requests_per_s: r.throughput.requests_per_s,
            output_tokens_per_s: r.throughput.output_tokens_per_s,
            error_rate: r.totals.error_rate,
            ttft_p50: stat("ttft", |s| s.p50),
            ttft_p95: stat("ttft", |s| s.p95),
            itl_p99: stat("itl", |s| s.p99),
            e2e_p95: stat("e2e", |s| s.p95),
            rate_limited: r.totals.by_status.get("429").copied().unwrap_or(0),
            sums: Some(Box::new(PartSums {
                totals: r.totals.clone(),
                throughput: r.throughput.clone(),
                goodput: r.goodput.clone(),
                violations: r.conformance.violations,
                warnings: r.conformance.warnings,
                metrics: r.metrics.clone(),
            })),
        }
    }
}

impl Report {
    /// Drops the sums of the phases and steps: only a segment's report needs them (for
    /// `merge`), and they would double the size of any other's.
    pub fn drop_part_sums(&mut self) {
        for phase in &mut self.phases {
            phase.figures.sums = None;
            for step in phase.sweep.iter_mut().flat_map(|s| s.steps.iter_mut()) {
                step.figures.sums = None;
            }
        }
    }
}

impl PhaseReport {
    /// The phase's entry from a report built over the phase alone.
    pub fn new(name: &str, start_s: f64, r: &Report, load: LoadInfo, thresholds: &[Threshold], sweep: Option<SweepReport>) -> PhaseReport {
        PhaseReport {
            name: name.to_owned(),
            load,
            start_s,
            figures: Figures::of(r),
            thresholds: thresholds.iter().map(|t| evaluate(t, r)).collect(),
            sweep,
        }
    }
}

/// Header cells of [`Figures::cells`].
pub const FIGURE_COLUMNS: [&str; 6] = ["req/s", "errors", "dropped", "ttft p50", "ttft p95", "itl p99"];

impl Figures {
    /// The figures both tables show, formatted for reading.
    pub fn cells(&self) -> [String; 6] {
        [
            format!("{:.1}", self.requests_per_s),
            format!("{:.2}%", self.error_rate * 100.0),
            self.dropped.to_string(),
            format!("{:.1}", self.ttft_p50),
            format!("{:.1}", self.ttft_p95),
            format!("{:.1}", self.itl_p99),
        ]
    }
}

/// The phase table as text rows (header first), shared by both summaries.
pub fn rows(phases: &[PhaseReport]) -> Vec<Vec<String>> {
    let header = ["phase", "load"].into_iter().chain(FIGURE_COLUMNS).chain(["thresholds"]);
    let mut rows = vec![header.map(str::to_owned).collect()];
    for p in phases {
        let passed = p.thresholds.iter().filter(|t| t.passed).count();
        let verdict = match (p.thresholds.len(), passed == p.thresholds.len()) {
            (0, _) => "-".to_owned(),
            (n, true) => format!("{n} pass"),
            (n, false) => format!("{} of {n} FAIL", n - passed),
        };
        rows.push([p.name.clone(), p.load.describe()].into_iter().chain(p.figures.cells()).chain([verdict]).collect());
    }
    rows
}
