//! The report's cost section: what the run's tokens cost at the target's prices, cache
//! writes and reads at their own rates, and what went on requests that failed or were
//! retried (a relay bills those too).

use serde::{Deserialize, Serialize};

use crate::load::collect::Collected;
use crate::provider::{Currency, Prices, TokenUse};

/// One template's cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateCost {
    /// Template name.
    pub name: String,
    /// Its requests' cost.
    pub cost: f64,
}

/// What the run cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostInfo {
    /// ISO 4217 code of every figure below (but `usd`).
    pub currency: String,
    /// Where the prices came from.
    pub prices_from: String,
    /// The tokens billed.
    pub tokens: TokenUse,
    /// The run's cost.
    pub total: f64,
    /// Per request that ended ok.
    pub per_ok_request: Option<f64>,
    /// Per thousand output tokens.
    pub per_1k_output_tokens: Option<f64>,
    /// Spent on requests that did not end ok.
    pub failed: f64,
    /// Spent on attempts that were retried.
    pub retried: f64,
    /// Each template's share.
    pub templates: Vec<TemplateCost>,
    /// The total in US dollars, at the scenario's `fx:` rate when the currency is another.
    pub usd: Option<f64>,
}

/// The section, when the target's prices (and where they came from) are known;
/// `usd_rate` converts their currency.
pub fn build(prices: Option<(Prices, &str)>, collected: &Collected, names: &[String], usd_rate: Option<f64>) -> Option<CostInfo> {
    let (p, source) = prices?;
    let r = &collected.recorder;
    let total = p.cost(&r.tokens);
    let ok = r.count(crate::outcome::OutcomeKind::Ok);
    let usd = if p.currency == Currency::USD { Some(total) } else { usd_rate.map(|rate| total * rate) };
    Some(CostInfo {
        currency: p.currency.code().to_owned(),
        prices_from: source.to_owned(),
        tokens: r.tokens,
        total,
        per_ok_request: (ok > 0).then(|| total / ok as f64),
        per_1k_output_tokens: (r.tokens.output > 0).then(|| total * 1000.0 / r.tokens.output as f64),
        failed: p.cost(&r.tokens_failed),
        retried: p.cost(&r.tokens_retried),
        templates: names.iter().zip(&collected.templates).map(|(name, t)| TemplateCost { name: name.clone(), cost: p.cost(&t.recorder.tokens) }).collect(),
        usd,
    })
}

impl CostInfo {
    /// One line for the summaries.
    pub fn line(&self) -> String {
        let c = &self.currency;
        let per = |v: Option<f64>, what: &str| v.map(|v| format!(", {v:.6} {c} per {what}")).unwrap_or_default();
        let usd = match (&self.usd, c.as_str()) {
            (Some(usd), code) if code != "USD" => format!(" ({usd:.4} USD)"),
            _ => String::new(),
        };
        format!(
            "cost: {:.4} {c}{usd} at {}{}{}; {:.4} {c} on failed requests, {:.4} {c} on retried attempts",
            self.total,
            self.prices_from,
            per(self.per_ok_request, "ok request"),
            per(self.per_1k_output_tokens, "1k output tokens"),
            self.failed,
            self.retried
        )
    }
}
