//! The phases of a split run merged: every worker ran the scenario's phases in order, each
//! with its share of the load, so phase `k` of the sum is the sum of the workers' phase
//! `k`, and a sweep's step `k` the sum of their step `k`. Each is judged again on its sum:
//! its thresholds, the step's SLO, and so the sweep's highest rate within the SLO.

use super::gate::rejudge;
use std::collections::BTreeMap;

use super::sums::{add_part_counts, rates, Histograms};
use super::{Figures, PartSums, PhaseReport, Report, Step, SweepReport};

/// The workers' phases added. None when a part's phases carry no sums (a report written
/// before segments kept them): the phases are then left out of the merge.
pub fn merge_phases(parts: &[Report], offsets: &[f64], skeleton: &Report) -> Result<Option<Vec<PhaseReport>>, String> {
    let Some(first) = parts.first() else { return Ok(Some(Vec::new())) };
    let has_sums = |p: &PhaseReport| p.figures.sums.is_some() && p.sweep.iter().flat_map(|s| &s.steps).all(|s| s.figures.sums.is_some());
    if !parts.iter().all(|r| r.phases.iter().all(has_sums)) {
        return Ok(None);
    }
    let mut merged = Vec::with_capacity(first.phases.len());
    for (k, phase) in first.phases.iter().enumerate() {
        let mut same: Vec<(&PhaseReport, f64)> = Vec::with_capacity(parts.len());
        for (r, offset) in parts.iter().zip(offsets) {
            match r.phases.get(k) {
                Some(p) if p.name == phase.name => same.push((p, *offset)),
                _ => return Err(format!("segment {:?} has no phase {} named {:?}: these workers ran different scenarios", r.segment, k + 1, phase.name)),
            }
        }
        let figures: Vec<&Figures> = same.iter().map(|(p, _)| &p.figures).collect();
        let (sum, judged) = add_figures(&figures, skeleton)?;
        let sweep = match &phase.sweep {
            Some(s) => Some(merge_sweep(s, &same, skeleton)?),
            None => None,
        };
        merged.push(PhaseReport {
            name: phase.name.clone(),
            load: phase.load.clone(),
            start_s: same.iter().map(|(p, offset)| p.start_s + offset).fold(f64::INFINITY, f64::min),
            figures: sum,
            thresholds: rejudge(&phase.thresholds, &judged)?,
            sweep,
        });
    }
    Ok(Some(merged))
}

/// Step by step, the workers' steps of one sweep added. A step some workers skipped (as
/// saturated on their share) and others ran is no evidence either way: it is marked cut.
fn merge_sweep(sweep: &SweepReport, same: &[(&PhaseReport, f64)], skeleton: &Report) -> Result<SweepReport, String> {
    let mut steps = Vec::with_capacity(sweep.steps.len());
    for (k, step) in sweep.steps.iter().enumerate() {
        let theirs: Vec<&Step> = same.iter().filter_map(|(p, _)| p.sweep.as_ref()?.steps.get(k)).filter(|s| s.rate == step.rate).collect();
        if theirs.len() != same.len() {
            return Err(format!("step {} ({} req/s) is not in every segment's sweep: these workers ran different scenarios", k + 1, step.rate));
        }
        let figures: Vec<&Figures> = theirs.iter().map(|s| &s.figures).collect();
        let (sum, judged) = add_figures(&figures, skeleton)?;
        let slo = rejudge(&step.slo, &judged)?;
        let skipped = theirs.iter().filter(|s| s.skipped.is_some()).count();
        steps.push(Step {
            rate: step.rate,
            figures: sum,
            slo_passed: slo.iter().all(|t| t.passed),
            slo,
            cut: theirs.iter().any(|s| s.cut) || (skipped > 0 && skipped < theirs.len()),
            skipped: if skipped == theirs.len() { step.skipped.clone() } else { None },
        });
    }
    Ok(SweepReport::new(steps))
}

/// The figures of the workers' same part added, and a report of the sum alone (on
/// `skeleton`) to judge its thresholds on. The part lasted as long as its longest worker.
fn add_figures(figures: &[&Figures], skeleton: &Report) -> Result<(Figures, Report), String> {
    let mut sums: Option<PartSums> = None;
    let mut histograms = Histograms::default();
    for f in figures {
        let theirs = f.sums.as_deref().ok_or("a phase without its sums")?;
        histograms.add(&theirs.metrics)?;
        match sums.as_mut() {
            Some(s) => add_part_counts(s, theirs),
            None => sums = Some(PartSums { metrics: BTreeMap::new(), ..theirs.clone() }),
        }
    }
    let mut sums = sums.ok_or("no phase to merge")?;
    sums.metrics = histograms.summaries();
    let duration_s = figures.iter().map(|f| f.duration_s).fold(0.0, f64::max);
    rates(&mut sums.totals, &mut sums.throughput, sums.goodput.as_mut(), duration_s);
    let mut judged = skeleton.clone();
    judged.duration_s = duration_s;
    judged.totals = sums.totals;
    judged.throughput = sums.throughput;
    judged.goodput = sums.goodput;
    judged.metrics = sums.metrics;
    judged.conformance.violations = sums.violations;
    judged.conformance.warnings = sums.warnings;
    Ok((Figures::of(&judged), judged))
}
