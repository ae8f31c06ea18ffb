//! `abort:`: when a run stops by itself before its plan (see `load::abort`).

use serde::Deserialize;

use super::duration::HumanDuration;
use super::visit::Validate;

/// Conditions checked while the run goes; the first that trips stops it, writes the report
/// naming the condition, and exits 1.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AbortSpec {
    /// Stop when more than this share of the requests ended in `window` failed, such as
    /// `50%` (or 0.5).
    #[serde(default, deserialize_with = "share")]
    #[schemars(with = "Option<super::schema_values::Share>")]
    pub error_rate: Option<f64>,
    /// The sliding window of `error_rate` (default 10s).
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub window: Option<HumanDuration>,
    /// Requests the window must hold before its error rate counts (default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = MOST_REQUESTS))]
    pub min_requests: Option<u64>,
    /// Stop after this many failed requests in a row.
    #[serde(default)]
    #[schemars(range(min = 1, max = MOST_REQUESTS))]
    pub consecutive_failures: Option<u64>,
    /// Stop once the input and output tokens reported reach this budget.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub tokens: Option<u64>,
    /// Stop once the tokens reported cost this much at the target's `prices:`.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub cost: Option<f64>,
    /// Nothing trips before this long into the load (default 0s).
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    pub after: Option<HumanDuration>,
}

/// The most requests a window or a streak may be asked to count.
const MOST_REQUESTS: u64 = 1_000_000;

/// A share written as `50%` or `0.5`.
fn share<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Number(f64),
        Text(String),
    }
    let value = match Written::deserialize(d)? {
        Written::Number(n) => n,
        Written::Text(t) => parse_percent(&t).map_err(serde::de::Error::custom)?,
    };
    if !(0.0..=1.0).contains(&value) {
        return Err(serde::de::Error::custom("abort.error_rate is a share from 0 to 1 (or 0% to 100%)"));
    }
    Ok(Some(value))
}

fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().strip_suffix('%').ok_or_else(|| format!("{text:?}: write a share such as 50% or 0.5"))?;
    number.trim().parse::<f64>().map(|p| p / 100.0).map_err(|_| format!("{text:?} is not a percentage"))
}

impl Validate for AbortSpec {
    fn validate(&self) -> Result<(), String> {
        let any = self.error_rate.is_some() || self.consecutive_failures.is_some() || self.tokens.is_some() || self.cost.is_some();
        if !any {
            return Err("abort needs at least one of error_rate, consecutive_failures, tokens, cost".into());
        }
        if self.window.is_some_and(|w| w.0.is_zero() || w.0 > std::time::Duration::from_secs(3600)) {
            return Err("abort.window must be above 0 and at most 1h".into());
        }
        if self.cost.is_some_and(|c| !(c.is_finite() && c >= 0.0)) {
            return Err("abort.cost must be 0 or more".into());
        }
        let counts = [("min_requests", self.min_requests), ("consecutive_failures", self.consecutive_failures)];
        if let Some((name, _)) = counts.iter().find(|(_, n)| n.is_some_and(|n| !(1..=MOST_REQUESTS).contains(&n))) {
            return Err(format!("abort.{name} must be from 1 to {MOST_REQUESTS}"));
        }
        if self.tokens == Some(0) {
            return Err("abort.tokens must be 1 or more".into());
        }
        Ok(())
    }
}
