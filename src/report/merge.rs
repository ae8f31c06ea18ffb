//! `relaybench merge`: the reports of a run's segments (`run --segment I/N`) added into the
//! report one process would have written. Histograms are added exactly (HdrHistogram add,
//! the same configuration everywhere, refused otherwise), so the merged percentiles are
//! those of every sample; counters, outcomes, tokens and conformance counts are summed;
//! rates come from the merged totals over the span from the earliest start to the latest
//! end; the scenario's thresholds are judged once, on the merged figures. A set missing a
//! segment is merged but marked partial, naming what it lacks; a segment given twice, or
//! reports of different runs, are refused.

use std::collections::BTreeMap;

use super::build::{conformance, error_rate, summarize};
use super::{decode_histogram, FindingInfo, MergeInfo, MetricSummary, Report, SecondInfo};
use crate::conformance::Rule;
use crate::load::segment::Segment;
use crate::metrics::Metric;

/// Sections each worker measures alone, which no sum gives: left out of the merge.
const LEFT_OUT: [&str; 7] = ["phases", "turns", "limits", "retries", "cost", "connections", "client"];

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
    let span = time_span(&parts)?;
    let mut rest = parts.split_off(1);
    let mut merged = parts.remove(0);
    // The first segment's probes, features and scan stay: only worker 0 sends them.
    for part in &mut rest {
        add(&mut merged, part)?;
    }
    let (started_at, duration_s) = span;
    merged.started_at = started_at;
    merged.duration_s = duration_s;
    finish(&mut merged, &rest);
    merged.segment = None;
    merged.partial = merged.partial || !missing.is_empty() || rest.iter().any(|r| r.partial);
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|i| Segment { index: *i, count: first.count }.to_string()).collect();
        merged.stopped_early = Some(format!("partial: segments {} are missing from the merge", names.join(", ")));
    }
    merged.merge = Some(MergeInfo { segments: first.count, merged: indexes, missing, left_out: LEFT_OUT.map(str::to_owned).to_vec() });
    Ok(merged)
}

/// The earliest start (RFC 3339, as written) and the span to the latest end, in seconds.
fn time_span(parts: &[Report]) -> Result<(String, f64), String> {
    let mut earliest: Option<(f64, &str)> = None;
    let mut end = f64::MIN;
    for r in parts {
        let start = crate::conformance::limits::parse_rfc3339(&r.started_at).ok_or_else(|| format!("started_at {:?} is not an RFC 3339 time", r.started_at))?;
        if earliest.is_none_or(|(e, _)| start < e) {
            earliest = Some((start, &r.started_at));
        }
        end = end.max(start + r.duration_s);
    }
    let (start, text) = earliest.ok_or("no report to merge")?;
    Ok((text.to_owned(), end - start))
}

/// Adds `part`'s counts, tokens, histograms and findings into `into`.
fn add(into: &mut Report, part: &Report) -> Result<(), String> {
    let (t, p) = (&mut into.totals, &part.totals);
    t.requests += p.requests;
    t.streamed += p.streamed;
    t.dropped += p.dropped;
    for (map, theirs) in [(&mut t.by_outcome, &p.by_outcome), (&mut t.by_status, &p.by_status), (&mut t.by_error_type, &p.by_error_type)] {
        add_counts(map, theirs);
    }
    let (h, q) = (&mut into.throughput, &part.throughput);
    h.output_tokens += q.output_tokens;
    h.input_tokens += q.input_tokens;
    h.content_deltas += q.content_deltas;
    h.cost_usd = match (h.cost_usd, q.cost_usd) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    };
    add_metrics(&mut into.metrics, &part.metrics)?;
    for (mode, theirs) in &part.by_stream {
        match into.by_stream.get_mut(mode) {
            Some(ours) => {
                ours.requests += theirs.requests;
                add_metrics(&mut ours.metrics, &theirs.metrics)?;
            }
            None => {
                into.by_stream.insert(mode.clone(), theirs.clone());
            }
        }
    }
    for theirs in &part.templates {
        if let Some(ours) = into.templates.iter_mut().find(|t| t.name == theirs.name) {
            ours.requests += theirs.requests;
            add_metrics(&mut ours.metrics, &theirs.metrics)?;
        }
    }
    add_seconds(&mut into.time_series, &part.time_series);
    into.examples.extend(part.examples.iter().cloned());
    into.examples.truncate(crate::load::collect::MAX_FINDING_EXAMPLES);
    Ok(())
}

fn add_counts(into: &mut BTreeMap<String, u64>, theirs: &BTreeMap<String, u64>) {
    for (k, v) in theirs {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// Adds each metric's histogram; refuses histograms of other configurations, whose sum
/// would not be exact.
fn add_metrics(into: &mut BTreeMap<String, MetricSummary>, theirs: &BTreeMap<String, MetricSummary>) -> Result<(), String> {
    for (id, summary) in theirs {
        let Some(metric) = Metric::from_id(id) else { continue };
        let b = decode_histogram(&summary.histogram).map_err(|e| format!("metric {id}: {e}"))?;
        let sum = match into.get(id) {
            Some(ours) => {
                let mut a = decode_histogram(&ours.histogram).map_err(|e| format!("metric {id}: {e}"))?;
                // The serialized form keeps the precision and the lowest value; the highest
                // trackable grows as values come, so it is no setting to compare.
                if (a.sigfig(), a.low()) != (b.sigfig(), b.low()) {
                    return Err(format!("metric {id}: histograms of different settings ({} and {} significant figures, lowest {} and {}) cannot be added exactly", a.sigfig(), b.sigfig(), a.low(), b.low()));
                }
                a.auto(true);
                a.add(&b).map_err(|e| format!("metric {id}: {e:?}"))?;
                a
            }
            None => b,
        };
        into.insert(id.clone(), summarize(metric, &sum));
    }
    Ok(())
}

/// Adds the per-second counts of one part into the merged series, by second of the run
/// (the workers share a start with `--start-at`). A second's TTFT median is not the sum of
/// medians: it is left out of the merged series.
fn add_seconds(into: &mut Vec<SecondInfo>, theirs: &[SecondInfo]) {
    for s in theirs {
        match into.iter_mut().find(|o| o.second == s.second) {
            Some(o) => {
                o.started += s.started;
                o.finished += s.finished;
                o.in_flight += s.in_flight;
                o.errors += s.errors;
                o.output_tokens += s.output_tokens;
                o.throttled += s.throttled;
                add_counts(&mut o.errors_by_kind, &s.errors_by_kind);
            }
            None => into.push(s.clone()),
        }
    }
    into.sort_by_key(|s| s.second);
    for s in into.iter_mut() {
        (s.ttft_p50_ms, s.ttft_p95_ms, s.ttft_sampled) = (None, None, false);
    }
}

/// Recomputes what derives from the sums: rates, the error rate, the conformance verdict
/// and the thresholds; and clears what no sum gives.
fn finish(merged: &mut Report, rest: &[Report]) {
    let t = &mut merged.totals;
    let ok = t.by_outcome.get("ok").copied().unwrap_or(0);
    let cancelled = t.by_outcome.get("cancelled").copied().unwrap_or(0);
    t.error_rate = error_rate(t.requests, ok, cancelled);
    let seconds = merged.duration_s.max(1e-9);
    let h = &mut merged.throughput;
    h.requests_per_s = merged.totals.requests as f64 / seconds;
    h.output_tokens_per_s = h.output_tokens as f64 / seconds;
    h.input_tokens_per_s = h.input_tokens as f64 / seconds;
    h.send_rate = None;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut examples: Vec<(Rule, Vec<FindingInfo>)> = Vec::new();
    for c in std::iter::once(&merged.conformance).chain(rest.iter().map(|r| &r.conformance)) {
        for (id, rule) in &c.rules {
            *counts.entry(id.clone()).or_default() += rule.count;
            let Some(r) = Rule::from_id(id) else { continue };
            match examples.iter_mut().find(|(k, _)| *k == r) {
                Some((_, list)) => list.extend(rule.examples.iter().cloned()),
                None => examples.push((r, rule.examples.clone())),
            }
        }
    }
    for (_, list) in &mut examples {
        list.truncate(crate::load::collect::MAX_FINDING_EXAMPLES);
    }
    merged.conformance = conformance(&counts, &examples);
    (merged.phases, merged.turns) = (Vec::new(), Vec::new());
    (merged.limits, merged.retries, merged.cost, merged.connections, merged.client) = (None, None, None, None, None);
    let thresholds: Vec<_> = merged.thresholds.iter().filter_map(|t| crate::thresholds::parse(&t.expression).ok()).collect();
    merged.thresholds = thresholds.iter().map(|t| super::gate::evaluate(t, merged)).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(h: &hdrhistogram::Histogram<u64>) -> BTreeMap<String, MetricSummary> {
        BTreeMap::from([("ttft".to_owned(), summarize(Metric::Ttft, h))])
    }

    #[test]
    fn histograms_add_exactly_and_other_settings_are_refused() {
        let (mut a, mut b) = (crate::metrics::new_histogram(), crate::metrics::new_histogram());
        (1..=500u64).for_each(|v| a.record(v * 1000).expect("in range"));
        (501..=1000u64).for_each(|v| b.record(v * 1000).expect("in range"));
        let mut into = summary(&a);
        add_metrics(&mut into, &summary(&b)).expect("same settings");
        let mut both = a.clone();
        both.add(&b).expect("add");
        assert_eq!(into["ttft"], summarize(Metric::Ttft, &both));
        assert_eq!(into["ttft"].count, 1000);
        let coarse = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 1 << 40, 2).expect("bounds");
        let err = add_metrics(&mut into, &summary(&coarse)).expect_err("2 significant figures against 3");
        assert!(err.contains("cannot be added exactly"), "{err}");
    }
}
