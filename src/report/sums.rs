//! Adding the figures of two reports of the same scenario (split workers' segments, or
//! their phases and steps): counts and tokens summed, histograms added exactly, and the
//! rates and ratios computed again from the sums. What `merge` is built from.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::build::{error_rate, summarize};
use super::{decode_histogram, GoodputInfo, MetricSummary, PartSums, Throughput, Totals};
use crate::metrics::Metric;

/// `*a += b`, saturating: a report read from a file may hold any count, and a sum that
/// overflowed would be wrong without a word.
pub fn add(a: &mut u64, b: u64) {
    *a = a.saturating_add(b);
}

/// Adds `theirs` counts into `into`.
pub fn add_counts(into: &mut BTreeMap<String, u64>, theirs: &BTreeMap<String, u64>) {
    for (k, v) in theirs {
        add(into.entry(k.clone()).or_default(), *v);
    }
}

/// Adds a part's request counts.
pub fn add_totals(t: &mut Totals, p: &Totals) {
    add(&mut t.requests, p.requests);
    add(&mut t.streamed, p.streamed);
    add(&mut t.dropped, p.dropped);
    for (map, theirs) in [(&mut t.by_outcome, &p.by_outcome), (&mut t.by_status, &p.by_status), (&mut t.by_error_type, &p.by_error_type)] {
        add_counts(map, theirs);
    }
}

/// Adds a part's tokens and cost.
pub fn add_tokens(h: &mut Throughput, q: &Throughput) {
    add(&mut h.output_tokens, q.output_tokens);
    add(&mut h.input_tokens, q.input_tokens);
    add(&mut h.content_deltas, q.content_deltas);
    h.cost_usd = match (h.cost_usd, q.cost_usd) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    };
}

/// Adds a part's requests that met the goodput SLO.
pub fn add_goodput(into: &mut Option<GoodputInfo>, theirs: Option<&GoodputInfo>) {
    match (into.as_mut(), theirs) {
        (Some(a), Some(b)) => add(&mut a.requests, b.requests),
        (None, Some(b)) => *into = Some(b.clone()),
        (_, None) => {}
    }
}

/// Metric histograms being added, kept decoded until the last part is in: decoding and
/// encoding the running sum again for every part made a merge of 100 parts 30 times slower
/// than reading them.
#[derive(Debug, Default)]
pub struct Histograms(BTreeMap<String, Histogram<u64>>);

impl Histograms {
    /// Adds each metric's histogram; refuses histograms of other configurations, whose sum
    /// would not be exact.
    pub fn add(&mut self, theirs: &BTreeMap<String, MetricSummary>) -> Result<(), String> {
        for (id, summary) in theirs {
            if Metric::from_id(id).is_none() {
                continue;
            }
            let b = decode_histogram(&summary.histogram).map_err(|e| format!("metric {id}: {e}"))?;
            match self.0.get_mut(id) {
                Some(a) => {
                    // The serialized form keeps the precision and the lowest value; the highest
                    // trackable grows as values come, so it is no setting to compare.
                    if (a.sigfig(), a.low()) != (b.sigfig(), b.low()) {
                        return Err(format!("metric {id}: histograms of different settings ({} and {} significant figures, lowest {} and {}) cannot be added exactly", a.sigfig(), b.sigfig(), a.low(), b.low()));
                    }
                    a.auto(true);
                    a.add(&b).map_err(|e| format!("metric {id}: {e:?}"))?;
                }
                None => {
                    self.0.insert(id.clone(), b);
                }
            }
        }
        Ok(())
    }

    /// The sums, summarized and encoded as a report holds them.
    pub fn summaries(&self) -> BTreeMap<String, MetricSummary> {
        self.0.iter().filter_map(|(id, h)| Some((id.clone(), summarize(Metric::from_id(id)?, h)))).collect()
    }
}

/// Adds one part's counts (a phase's, a step's) into another's; their histograms are
/// added apart, in [`Histograms`].
pub fn add_part_counts(into: &mut PartSums, theirs: &PartSums) {
    add_totals(&mut into.totals, &theirs.totals);
    add_tokens(&mut into.throughput, &theirs.throughput);
    add_goodput(&mut into.goodput, theirs.goodput.as_ref());
    add(&mut into.violations, theirs.violations);
    add(&mut into.warnings, theirs.warnings);
}

/// The error rate, the rates over `seconds` and the goodput's share, from the sums. The
/// send rate is each worker's own: it is no sum.
pub fn rates(t: &mut Totals, h: &mut Throughput, goodput: Option<&mut GoodputInfo>, seconds: f64) {
    let ok = t.by_outcome.get("ok").copied().unwrap_or(0);
    let cancelled = t.by_outcome.get("cancelled").copied().unwrap_or(0);
    t.error_rate = error_rate(t.requests, ok, cancelled);
    let seconds = seconds.max(1e-9);
    h.requests_per_s = t.requests as f64 / seconds;
    h.output_tokens_per_s = h.output_tokens as f64 / seconds;
    h.input_tokens_per_s = h.input_tokens as f64 / seconds;
    h.send_rate = None;
    if let Some(g) = goodput {
        g.ratio = if t.requests == 0 { 0.0 } else { g.requests as f64 / t.requests as f64 };
        g.per_s = g.requests as f64 / seconds;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(h: &Histogram<u64>) -> BTreeMap<String, MetricSummary> {
        BTreeMap::from([("ttft".to_owned(), summarize(Metric::Ttft, h))])
    }

    #[test]
    fn histograms_add_exactly_and_other_settings_are_refused() {
        let (mut a, mut b) = (crate::metrics::new_histogram(), crate::metrics::new_histogram());
        (1..=500u64).for_each(|v| a.record(v * 1000).expect("in range"));
        (501..=1000u64).for_each(|v| b.record(v * 1000).expect("in range"));
        let mut sums = Histograms::default();
        sums.add(&summary(&a)).expect("first");
        sums.add(&summary(&b)).expect("same settings");
        let mut both = a.clone();
        both.add(&b).expect("add");
        assert_eq!(sums.summaries()["ttft"], summarize(Metric::Ttft, &both));
        assert_eq!(sums.summaries()["ttft"].count, 1000);
        let coarse = Histogram::<u64>::new_with_bounds(1, 1 << 40, 2).expect("bounds");
        let err = sums.add(&summary(&coarse)).expect_err("2 significant figures against 3");
        assert!(err.contains("cannot be added exactly"), "{err}");
    }
}
