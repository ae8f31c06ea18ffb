//! The model scan (`authenticity:` or `run --authenticity`): which models a target is
//! asked about, what that may cost at most (printed before anything is sent), and the
//! scan itself ([`crate::features::scan`]), so every model a relay lists gets a channel
//! verdict even when the load requests one.

use crate::client::{Client, ClientError, Target, Timeouts};
use crate::features::{Scanned, SCAN_MAX_INPUT_TOKENS, SCAN_MAX_OUTPUT_TOKENS, SCAN_REQUESTS};
use crate::provider::{Prices, Provider};
use crate::report::authenticity::ScanInfo;
use crate::scenario::prices_spec::PriceSpec;
use crate::scenario::{ModelScan, MAX_SCAN_MODELS};
use crate::stop::Stop;

/// The most the token counts add, on the target's own model: the fixed texts billed with
/// `max_tokens: 1` (a generous 100 input tokens each) and the echo.
const TOKEN_COUNT_INPUT: u64 = 100 * crate::tokenizer::TEXTS.len() as u64 + 100;
const TOKEN_COUNT_OUTPUT: u64 = crate::tokenizer::TEXTS.len() as u64 + crate::tokenizer::ECHO_MAX_TOKENS;

/// Where the models of `authenticity: all` come from, in order of preference.
const FROM_LISTING: &str = "GET /v1/models";
const FROM_CATALOG: &str = "the catalog";
const FROM_SCENARIO: &str = "the scenario";

/// The models to scan and where their names came from: the scenario's list; for `all`,
/// the target's `GET /v1/models`, else its catalog entry, else the scenario's model. At
/// most [`MAX_SCAN_MODELS`], the first listed.
pub async fn models(client: &Client, scan: &ModelScan, provider: Option<&Provider>, model: &str) -> (Vec<String>, String) {
    let (mut models, mut source) = match scan {
        ModelScan::Models(named) => (named.clone(), FROM_SCENARIO.to_owned()),
        ModelScan::All => match client.list_models().await {
            Ok(listed) if !listed.is_empty() => (listed, FROM_LISTING.to_owned()),
            listing => {
                let why = listing.err().unwrap_or_else(|| "an empty list".to_owned());
                match provider {
                    Some(p) => (p.models.iter().map(|m| (*m).to_owned()).collect(), format!("{FROM_CATALOG} ({FROM_LISTING}: {why})")),
                    None => (vec![model.to_owned()], format!("{FROM_SCENARIO}'s model ({FROM_LISTING}: {why})")),
                }
            }
        },
    };
    let listed = models.len();
    if listed > MAX_SCAN_MODELS {
        models.truncate(MAX_SCAN_MODELS);
        source = format!("{source}, the first {MAX_SCAN_MODELS} of {listed}");
    }
    (models, source)
}

/// The most the scan of `models` and the token counts on `model` send and may be billed,
/// in words: requests, tokens, and the cost where `prices` knows the models.
pub fn bound(models: &[String], model: &str, prices: impl Fn(&str) -> Option<Prices>) -> String {
    let n = models.len() as u64;
    let mut text = format!(
        "{} requests and {} to count tokens, at most {} input and {} output tokens",
        n * SCAN_REQUESTS,
        crate::tokenizer::REQUESTS,
        n * SCAN_MAX_INPUT_TOKENS + TOKEN_COUNT_INPUT,
        n * SCAN_MAX_OUTPUT_TOKENS + TOKEN_COUNT_OUTPUT
    );
    let priced: Vec<Prices> = models.iter().filter_map(|m| prices(m)).collect();
    let mut currencies: Vec<&str> = priced.iter().map(|p| p.currency.code()).collect();
    currencies.dedup();
    if let [currency] = currencies.as_slice() {
        let cost = |p: &Prices, input: u64, output: u64| (input as f64 * p.input_per_mtok + output as f64 * p.output_per_mtok) / 1e6;
        let counting = prices(model).map_or(0.0, |p| cost(&p, TOKEN_COUNT_INPUT, TOKEN_COUNT_OUTPUT));
        let most: f64 = priced.iter().map(|p| cost(p, SCAN_MAX_INPUT_TOKENS, SCAN_MAX_OUTPUT_TOKENS)).sum::<f64>() + counting;
        text.push_str(&format!(", at most {most:.4} {currency}"));
        if priced.len() < models.len() {
            text.push_str(&format!(" for {} of the {} models (no known price for the others)", priced.len(), models.len()));
        }
    }
    text
}

/// One target's scan, as the run asks for it.
pub struct ScanJob {
    /// The target's name, for the printed bound.
    pub target_name: String,
    /// Which models.
    pub scan: ModelScan,
    /// Its catalog entry, whose models stand in when it lists none.
    pub provider: Option<&'static Provider>,
    /// The scenario's model for it, the last resort of `all`.
    pub model: String,
    /// Its prices, else the list prices, for the printed bound.
    pub prices: Option<PriceSpec>,
    /// Print nothing.
    pub quiet: bool,
}

/// Scans one target: lists its models, prints the bound (unless quiet), sends the scan.
pub async fn run(target: &Target, timeouts: Timeouts, job: &ScanJob, stop: &Stop) -> Result<(Vec<Scanned>, ScanInfo), ClientError> {
    let client = Client::new(target, timeouts)?;
    let (models, source) = models(&client, &job.scan, job.provider, &job.model).await;
    let bound = bound(&models, &job.model, |m| job.prices.and_then(|p| p.resolve(m)).or_else(|| crate::provider::list_prices(m)));
    if !job.quiet {
        eprintln!("relaybench: target {}: authenticity scan of {} models from {source}: {bound}", job.target_name, models.len());
    }
    let scanned = crate::features::scan(target, timeouts, &models, stop).await?;
    let info = ScanInfo { source, models, bound, scanned: scanned.len() as u64 };
    Ok((scanned, info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Currency;

    #[test]
    fn the_bound_counts_every_model_and_prices_only_the_known_ones() {
        let models = vec!["a".to_owned(), "b".to_owned()];
        let one = |m: &str| (m == "a").then(|| Prices::new(3.0, 15.0, Currency::USD));
        let text = bound(&models, "b", one);
        let expected = (SCAN_MAX_INPUT_TOKENS as f64 * 3.0 + SCAN_MAX_OUTPUT_TOKENS as f64 * 15.0) / 1e6;
        assert!(text.contains(&format!("and {} to count tokens", crate::tokenizer::REQUESTS)), "{text}");
        assert!(text.starts_with(&format!("{} requests", 2 * SCAN_REQUESTS)), "{text}");
        assert!(text.contains(&format!("at most {expected:.4} USD for 1 of the 2 models")), "{text}");
        assert!(!bound(&models, "a", |_| None).contains("USD"), "no price, no cost claimed");
        let counted = (TOKEN_COUNT_INPUT as f64 * 3.0 + TOKEN_COUNT_OUTPUT as f64 * 15.0) / 1e6;
        assert!(bound(&models, "a", one).contains(&format!("at most {:.4} USD", expected + counted)), "the counts on a priced model add theirs");
    }
}
