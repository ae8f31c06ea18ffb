//! `relaybench merge`: the reports of a run's segments (`run --segment I/N`) added into the
//! report one process would have written. Histograms are added exactly (HdrHistogram add,
//! the same configuration everywhere, refused otherwise), so the merged percentiles are
//! those of every sample; counters, outcomes, tokens and conformance counts are summed;
//! each second of the series, each phase and each sweep step too; rates come from the
//! merged totals over the span from the earliest start to the latest end; the scenario's
//! thresholds are judged once, on the merged figures; each worker keeps a row of its own
//! (`merge.workers`), where a slow pod shows. A set missing a
//! segment is merged but marked partial, naming what it lacks; a segment given twice, or
//! reports of different runs, are refused.

use std::collections::BTreeMap;

use super::build::{conformance, second_quantile_ms};
use super::gate::rejudge;
use super::merge_phases::merge_phases;
use super::sums::{add, add_counts, add_goodput, add_tokens, add_totals, rates, Histograms};
use super::{decode_histogram, ExampleInfo, FindingInfo, MergeInfo, Report, SecondInfo, TurnInfo, WorkerInfo};
use crate::conformance::Rule;
use crate::load::segment::Segment;

/// Sections each worker measures alone, which no sum gives: left out of the merge. The
/// phases are merged when every part kept their sums (a report of this version does).
const LEFT_OUT: [&str; 7] = ["phases", "limits", "retries", "cost", "connections", "client", "clock"];

/// Merges the segment reports `parts` (any order).
pub fn merge(mut parts: Vec<Report>) -> Result<Report, String> {
    if parts.is_empty() {
        return Err("no report to merge".into());
    }
    let segment_of = |r: &Report| r.segment.ok_or_else(|| format!("{} ({}) is not a segment's report: run it with --segment I/N", r.scenario.name, r.started_at));
    let first = segment_of(&parts[0])?;
    for r in &parts {
        let s = segment_of(r)?;
        if s.count != first.count {
            return Err(format!("segments of {} and of {} workers: these are different splits", first.count, s.count));
        }
        let same_run = (&r.scenario.name, r.scenario.seed, &r.target.name) == (&parts[0].scenario.name, parts[0].scenario.seed, &parts[0].target.name);
        if !same_run {
            return Err(format!("scenario {} (seed {}) against {} cannot merge with {} (seed {}) against {}", r.scenario.name, r.scenario.seed, r.target.name, parts[0].scenario.name, parts[0].scenario.seed, parts[0].target.name));
        }
    }
    parts.sort_by_key(|r| r.segment.map_or(0, |s| s.index));
    let indexes: Vec<u32> = parts.iter().filter_map(|r| r.segment.map(|s| s.index)).collect();
    if let Some(w) = indexes.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("segment {}/{} is given twice", w[0], first.count));
    }
    let missing: Vec<u32> = (0..first.count).filter(|i| !indexes.contains(i)).collect();
    let starts = starts(&parts)?;
    let (earliest, duration_s) = time_span(&parts, &starts);
    let time_series = merge_seconds(&parts, &starts, earliest)?;
    let offsets: Vec<f64> = starts.iter().map(|s| s - earliest).collect();
    let workers: Vec<WorkerInfo> = parts.iter().zip(&offsets).map(|(r, offset)| WorkerInfo::of(r, *offset)).collect();
    // The first segment's probes, features and scan stay: only worker 0 sends them.
    let mut merged = parts[0].clone();
    add_reports(&mut merged, &parts)?;
    merged.started_at = crate::conformance::limits::format_rfc3339(earliest);
    merged.duration_s = duration_s;
    merged.time_series = time_series;
    finish(&mut merged, &parts, &offsets)?;
    merged.segment = None;
    merged.partial = !missing.is_empty() || parts.iter().any(|r| r.partial);
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|i| Segment { index: *i, count: first.count }.to_string()).collect();
        merged.stopped_early = Some(format!("partial: segments {} are missing from the merge", names.join(", ")));
    }
    let phases_kept = merged.phases.len() == parts[0].phases.len();
    let left_out = LEFT_OUT.iter().filter(|s| !(phases_kept && **s == "phases")).map(|s| (*s).to_owned()).collect();
    merged.merge = Some(MergeInfo { segments: first.count, merged: indexes, missing, left_out, workers });
    Ok(merged)
}

/// Each part's start in unix seconds, on one clock. A worker whose offset to the target
/// differs from the first part's by more than both uncertainties has a clock proven off:
/// its start is moved onto the first part's clock. Otherwise the start is as written.
fn starts(parts: &[Report]) -> Result<Vec<f64>, String> {
    let reference = parts.first().and_then(|r| r.clock.as_ref());
    parts
        .iter()
        .map(|r| {
            let start = crate::conformance::limits::parse_rfc3339(&r.started_at).ok_or_else(|| format!("started_at {:?} is not an RFC 3339 time", r.started_at))?;
            let shift = match (r.clock.as_ref(), reference) {
                (Some(c), Some(first)) if (c.offset_ms - first.offset_ms).abs() > c.uncertainty_ms + first.uncertainty_ms => (c.offset_ms - first.offset_ms) / 1000.0,
                _ => 0.0,
            };
            Ok(start + shift)
        })
        .collect()
}

/// The earliest of `starts` and the span from it to the latest end, in seconds.
fn time_span(parts: &[Report], starts: &[f64]) -> (f64, f64) {
    let earliest = starts.iter().copied().fold(f64::INFINITY, f64::min);
    let end = parts.iter().zip(starts).map(|(r, s)| s + r.duration_s).fold(f64::MIN, f64::max);
    (earliest, end - earliest)
}

/// Adds every part's counts, tokens and histograms into `merged` (a copy of the first
/// part), per template, stream mode and turn too: the histograms are summed decoded and
/// encoded once, at the end.
fn add_reports(merged: &mut Report, parts: &[Report]) -> Result<(), String> {
    let mut metrics = Histograms::default();
    let mut by_stream: BTreeMap<String, Histograms> = BTreeMap::new();
    let mut templates: BTreeMap<String, Histograms> = BTreeMap::new();
    let mut turns: BTreeMap<u32, (TurnInfo, Histograms)> = BTreeMap::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            add_totals(&mut merged.totals, &part.totals);
            add_tokens(&mut merged.throughput, &part.throughput);
            add_goodput(&mut merged.goodput, part.goodput.as_ref());
        }
        metrics.add(&part.metrics)?;
        for (mode, theirs) in &part.by_stream {
            by_stream.entry(mode.clone()).or_default().add(&theirs.metrics)?;
            match merged.by_stream.get_mut(mode) {
                Some(ours) if i > 0 => add(&mut ours.requests, theirs.requests),
                Some(_) => {}
                None => {
                    merged.by_stream.insert(mode.clone(), theirs.clone());
                }
            }
        }
        for theirs in &part.templates {
            templates.entry(theirs.name.clone()).or_default().add(&theirs.metrics)?;
            if let Some(ours) = merged.templates.iter_mut().find(|t| t.name == theirs.name).filter(|_| i > 0) {
                add(&mut ours.requests, theirs.requests);
            }
        }
        for theirs in &part.turns {
            let (ours, sums) = turns.entry(theirs.turn).or_insert_with(|| (TurnInfo { requests: 0, ..theirs.clone() }, Histograms::default()));
            add(&mut ours.requests, theirs.requests);
            sums.add(&theirs.metrics)?;
        }
    }
    merged.metrics = metrics.summaries();
    for (mode, sums) in &by_stream {
        if let Some(ours) = merged.by_stream.get_mut(mode) {
            ours.metrics = sums.summaries();
        }
    }
    for ours in &mut merged.templates {
        if let Some(sums) = templates.get(&ours.name) {
            ours.metrics = sums.summaries();
        }
        let name = ours.name.clone();
        let theirs = || parts.iter().flat_map(|p| p.templates.iter().filter(|t| t.name == name));
        ours.input_tokens_requested = weighted_mean(theirs().map(|t| (t.input_tokens_requested, t.requests)));
        ours.input_tokens_reported = weighted_mean(theirs().map(|t| (t.input_tokens_reported, t.requests)));
    }
    merged.turns = turns
        .into_values()
        .map(|(mut ours, sums)| {
            ours.metrics = sums.summaries();
            let turn = ours.turn;
            let theirs = || parts.iter().flat_map(|p| p.turns.iter().filter(|t| t.turn == turn));
            ours.input_tokens_requested = weighted_mean(theirs().map(|t| (t.input_tokens_requested, t.requests)));
            ours.input_tokens_reported = weighted_mean(theirs().map(|t| (t.input_tokens_reported, t.requests)));
            ours
        })
        .collect();
    Ok(())
}

/// The parts' means, each weighted by its requests: exact when every request of a part
/// counted in its mean (an ok response that reported usage), which all but failures do.
fn weighted_mean(means: impl Iterator<Item = (Option<f64>, u64)>) -> Option<f64> {
    let (sum, weight) = means.filter_map(|(mean, n)| Some((mean? * n as f64, n))).fold((0.0, 0u64), |(s, w), (x, n)| (s + x, w.saturating_add(n)));
    (weight > 0).then(|| sum / weight as f64)
}

/// The per-second series of all parts added, keyed by absolute second: a part's seconds
/// are shifted by how much later than the earliest it started (on one clock, see
/// [`starts`]), to the nearest second: none with `--start-at`. Each second's TTFT histograms are added exactly and its
/// percentiles taken from the sum; the lowest `remaining` of a second is the lowest of
/// any part's.
fn merge_seconds(parts: &[Report], starts: &[f64], earliest: f64) -> Result<Vec<SecondInfo>, String> {
    let mut seconds: BTreeMap<u64, (SecondInfo, Option<hdrhistogram::Histogram<u64>>)> = BTreeMap::new();
    for (r, start) in parts.iter().zip(starts) {
        let shift = (start - earliest).max(0.0).round() as u64;
        for s in &r.time_series {
            let theirs = s.ttft_histogram.as_deref().map(decode_histogram).transpose().map_err(|e| format!("second {} of segment {:?}: {e}", s.second, r.segment))?;
            let second = s.second.saturating_add(shift);
            let Some((o, ttft)) = seconds.get_mut(&second) else {
                seconds.insert(second, (SecondInfo { second, ..s.clone() }, theirs));
                continue;
            };
            for (ours, theirs) in [(&mut o.started, s.started), (&mut o.finished, s.finished), (&mut o.in_flight, s.in_flight), (&mut o.errors, s.errors), (&mut o.output_tokens, s.output_tokens), (&mut o.throttled, s.throttled)] {
                add(ours, theirs);
            }
            add_counts(&mut o.errors_by_kind, &s.errors_by_kind);
            for (dimension, v) in &s.remaining_min {
                let min = o.remaining_min.entry(dimension.clone()).or_insert(*v);
                *min = (*min).min(*v);
            }
            match (ttft.as_mut(), theirs) {
                (Some(a), Some(b)) => {
                    if a.sigfig() != b.sigfig() {
                        return Err(format!("second {second}: TTFT histograms of {} and {} significant figures cannot be added exactly", a.sigfig(), b.sigfig()));
                    }
                    a.auto(true);
                    a.add(&b).map_err(|e| format!("second {second}: {e:?}"))?;
                }
                (None, Some(b)) => *ttft = Some(b),
                (_, None) => {}
            }
        }
    }
    let mut merged: Vec<SecondInfo> = Vec::with_capacity(seconds.len());
    for (_, (mut s, ttft)) in seconds {
        let ttft = ttft.filter(|h| !h.is_empty());
        s.ttft_p50_ms = ttft.as_ref().map(|h| second_quantile_ms(h, 0.50));
        s.ttft_p95_ms = ttft.as_ref().map(|h| second_quantile_ms(h, 0.95));
        s.ttft_histogram = ttft.as_ref().map(super::encode_second_histogram);
        merged.push(s);
    }
    Ok(merged)
}

/// Recomputes what derives from the sums: rates, the error rate, the conformance verdict,
/// the phases and the thresholds; and clears what no sum gives.
fn finish(merged: &mut Report, parts: &[Report], offsets: &[f64]) -> Result<(), String> {
    rates(&mut merged.totals, &mut merged.throughput, merged.goodput.as_mut(), merged.duration_s);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut examples: Vec<(Rule, Vec<FindingInfo>)> = Vec::new();
    // Each part's times count from its own start: moved onto the merged run's.
    let shifted = |at: Option<f64>, offset: f64| at.map(|a| a + offset);
    for (c, offset) in parts.iter().map(|r| &r.conformance).zip(offsets) {
        for (id, rule) in &c.rules {
            add(counts.entry(id.clone()).or_default(), rule.count);
            let Some(r) = Rule::from_id(id) else { continue };
            let theirs = rule.examples.iter().map(|e| FindingInfo { at_s: shifted(e.at_s, *offset), ..e.clone() });
            match examples.iter_mut().find(|(k, _)| *k == r) {
                Some((_, list)) => list.extend(theirs),
                None => examples.push((r, theirs.collect())),
            }
        }
    }
    // The first examples in time, those sent before the load (no time) first.
    let time = |at: Option<f64>| at.unwrap_or(f64::NEG_INFINITY);
    for (_, list) in &mut examples {
        list.sort_by(|a, b| time(a.at_s).total_cmp(&time(b.at_s)));
        list.truncate(crate::load::collect::MAX_FINDING_EXAMPLES);
    }
    merged.conformance = conformance(&counts, &examples);
    let mut failures: Vec<ExampleInfo> =
        parts.iter().zip(offsets).flat_map(|(r, offset)| r.examples.iter().map(|e| ExampleInfo { at_s: shifted(e.at_s, *offset), ..e.clone() })).collect();
    failures.sort_by(|a, b| time(a.at_s).total_cmp(&time(b.at_s)));
    failures.truncate(crate::load::collect::MAX_EXAMPLES);
    merged.examples = failures;
    (merged.limits, merged.retries, merged.cost, merged.connections, merged.client, merged.clock) = (None, None, None, None, None, None);
    let mut skeleton = merged.clone();
    (skeleton.time_series, skeleton.phases, skeleton.templates) = (Vec::new(), Vec::new(), Vec::new());
    merged.phases = merge_phases(parts, offsets, &skeleton)?.unwrap_or_default();
    merged.drop_part_sums();
    merged.thresholds = rejudge(&merged.thresholds, merged)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::collect::Collected;
    use crate::report::build::add_finding;
    use crate::report::{build, RunInfo};

    /// Segment `index` of 2, begun `start` seconds into the minute, with one finding of
    /// `rule` per time in `at` (None: before the load).
    fn part(index: u32, start: u32, at: &[Option<f64>]) -> Report {
        let mut r = build(RunInfo { started_at: format!("2026-12-06T10:00:{start:02}Z"), ..RunInfo::example() }, &Collected::default(), &[], &[]);
        r.segment = Some(Segment { index, count: 2 });
        for (i, at_s) in at.iter().enumerate() {
            let example = FindingInfo { request: i as u64, template: format!("w{index}"), event_index: None, message: String::new(), excerpt: String::new(), capture: None, at_s: *at_s };
            add_finding(&mut r.conformance, Rule::StreamHeadHeld, example);
        }
        r
    }

    #[test]
    fn examples_are_the_first_in_time_across_workers() {
        // Worker 1 began a second later: its finding at 0.5 s came at 1.5 s of the run,
        // before worker 0's at 2.0 s; worker 0's probe finding came before the load.
        let merged = merge(vec![part(0, 0, &[None, Some(2.0)]), part(1, 1, &[Some(0.5)])]).expect("merges");
        let rule = &merged.conformance.rules[Rule::StreamHeadHeld.id()];
        let order: Vec<(String, Option<f64>)> = rule.examples.iter().map(|e| (e.template.clone(), e.at_s)).collect();
        assert_eq!(order, [("w0".to_owned(), None), ("w1".to_owned(), Some(1.5)), ("w0".to_owned(), Some(2.0))]);
        assert_eq!(rule.count, 3);
        assert_eq!(merged.started_at, "2026-12-06T10:00:00Z");
    }
}
