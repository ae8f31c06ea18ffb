//! The report's rate-limit section: what the target's `anthropic-ratelimit-*` headers
//! said over the run, and where it throttled (the `limits` rules judge the headers
//! themselves, see [`crate::conformance::limits`]).

use serde::{Deserialize, Serialize};

use crate::conformance::limits::{Dimension, LimitSummary};
use crate::load::collect::Collected;

/// One limit dimension over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitDimension {
    /// `requests`, `tokens`, `input-tokens` or `output-tokens`.
    pub id: String,
    /// Responses that reported it.
    pub responses: u64,
    /// Each limit reported, per minute.
    pub limits: Vec<u64>,
    /// The lowest `remaining` reported.
    pub remaining_min: Option<u64>,
}

impl LimitDimension {
    /// Whether it is `tokens`: whichever token limit is most spent at the moment, so its
    /// limit moves between the two with no change in either.
    pub fn is_most_spent_tokens(&self) -> bool {
        self.id == Dimension::Tokens.id()
    }
}

/// What the rate-limit headers said, and where the target throttled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitsInfo {
    /// Responses that carried any rate-limit header.
    pub responses_with_headers: u64,
    /// Each dimension reported.
    pub dimensions: Vec<LimitDimension>,
    /// Responses with status 429.
    pub throttled: u64,
    /// When the first 429 arrived, seconds after the run began.
    pub first_throttled_s: Option<f64>,
    /// Requests started per second over the whole seconds before the first 429: the rate
    /// the target took before it throttled.
    pub rate_before_throttled: Option<f64>,
    /// Share of the run's seconds in which a 429 arrived.
    pub throttled_share: f64,
}

/// The section for `collected`, when the target sent limit headers or a 429.
pub fn build(collected: &Collected) -> Option<LimitsInfo> {
    let s: &LimitSummary = &collected.limits;
    let throttled = collected.recorder.statuses.get(&429).copied().unwrap_or(0);
    // Retry headers alone (on a 529) say nothing of limits.
    if s.dimensions.iter().all(|d| d.responses == 0) && throttled == 0 {
        return None;
    }
    let dimensions = Dimension::ALL
        .into_iter()
        .zip(&s.dimensions)
        .filter(|(_, d)| d.responses > 0)
        .map(|(d, seen)| LimitDimension { id: d.id().to_owned(), responses: seen.responses, limits: seen.limits.iter().copied().collect(), remaining_min: seen.remaining_min })
        .collect();
    let series = &collected.time_series;
    let seconds = series.keys().next_back().map_or(0, |last| last + 1);
    let throttled_seconds = series.values().filter(|b| b.throttled > 0).count();
    let rate_before_throttled = collected.first_throttled_s.map(|f| f.floor() as u64).filter(|whole| *whole > 0).map(|whole| {
        let started: u64 = series.range(..whole).map(|(_, b)| b.started).sum();
        started as f64 / whole as f64
    });
    Some(LimitsInfo {
        responses_with_headers: s.with_headers,
        dimensions,
        throttled,
        first_throttled_s: collected.first_throttled_s,
        rate_before_throttled,
        throttled_share: if seconds == 0 { 0.0 } else { throttled_seconds as f64 / seconds as f64 },
    })
}

impl LimitsInfo {
    /// One line for the summaries: each limit and its lowest remaining, then the 429s.
    pub fn line(&self) -> String {
        // `tokens` is shown only without the two token limits it stands for.
        let split = self.dimensions.iter().any(|d| [Dimension::InputTokens, Dimension::OutputTokens].iter().any(|t| t.id() == d.id));
        let limits: Vec<String> = self
            .dimensions
            .iter()
            .filter(|d| !(split && d.is_most_spent_tokens()))
            .map(|d| {
                let limit = d.limits.iter().map(u64::to_string).collect::<Vec<_>>().join("/");
                let limit = if limit.is_empty() { "?".to_owned() } else { limit };
                let low = d.remaining_min.map_or_else(|| "-".to_owned(), |m| m.to_string());
                format!("{} {limit}/min (lowest remaining {low})", d.id)
            })
            .collect();
        let headers = if limits.is_empty() { "no rate-limit headers".to_owned() } else { limits.join(", ") };
        let throttled = match (self.throttled, self.first_throttled_s) {
            (0, _) => "no 429".to_owned(),
            (n, Some(first)) => {
                let before = self.rate_before_throttled.map_or_else(String::new, |r| format!(" after {r:.1} req/s"));
                format!("429 ×{n}, the first at {first:.1} s{before}; throttled in {:.0}% of seconds", self.throttled_share * 100.0)
            }
            (n, None) => format!("429 ×{n}"),
        };
        format!("rate limits: {headers}; {throttled}")
    }
}
