//! `prices:` of a target: what its tokens cost, given outright or as a multiple of the
//! official list price of its model (the "ratio" many relays sell at).

use serde::Deserialize;

use crate::provider::{list_prices, Currency, Prices, CACHE_READ, CACHE_WRITE_1H, CACHE_WRITE_5M};

/// Prices as written, per million tokens.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Prices")]
pub(super) struct PricesSpec {
    /// Per million input tokens.
    #[serde(default)]
    #[schemars(range(min = 0, max = MOST_PRICE))]
    input_per_mtok: Option<f64>,
    /// Per million output tokens (thinking tokens are output).
    #[serde(default)]
    #[schemars(range(min = 0, max = MOST_PRICE))]
    output_per_mtok: Option<f64>,
    /// Per million input tokens written to the cache for five minutes (default 1.25x input).
    #[serde(default)]
    #[schemars(range(min = 0, max = MOST_PRICE))]
    cache_write_5m_per_mtok: Option<f64>,
    /// Per million input tokens written to the cache for an hour (default 2x input).
    #[serde(default)]
    #[schemars(range(min = 0, max = MOST_PRICE))]
    cache_write_1h_per_mtok: Option<f64>,
    /// Per million input tokens read from the cache (default 0.1x input).
    #[serde(default)]
    #[schemars(range(min = 0, max = MOST_PRICE))]
    cache_read_per_mtok: Option<f64>,
    /// `list`: the official list price of the target's model, instead of the prices above.
    #[serde(default)]
    #[schemars(with = "Option<ListBase>")]
    base: Option<String>,
    /// Every price times this (a relay's ratio to the list price), default 1.
    #[serde(default)]
    #[schemars(range(min = 0, max = MOST_MULTIPLIER))]
    multiplier: Option<f64>,
    /// ISO 4217 code of the currency the prices are in (default USD).
    #[serde(default)]
    #[schemars(with = "Option<CurrencyCode>")]
    currency: Option<String>,
}

/// The highest price per million tokens a scenario may give.
const MOST_PRICE: f64 = 1e6;
/// The highest ratio to a price list.
const MOST_MULTIPLIER: f64 = 1000.0;

/// `base: list`.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)] // Only its schema is used.
enum ListBase {
    /// The official list price of the model.
    #[serde(rename = "list")]
    List,
}

/// A currency code for the schema.
#[derive(schemars::JsonSchema)]
#[schemars(transform = currency_pattern)]
#[allow(dead_code)] // Only its schema is used.
struct CurrencyCode(String);

fn currency_pattern(schema: &mut schemars::Schema) {
    schema.insert("pattern".into(), "^[A-Z]{3}$".into());
}

/// A target's prices, resolved with its model when the run starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PriceSpec {
    /// Given outright.
    Given(Prices),
    /// The list price of the model, times a ratio, in a currency.
    List {
        /// The ratio.
        multiplier: f64,
        /// The currency the result is billed in.
        currency: Currency,
    },
}

impl PriceSpec {
    /// The prices for `model`; `None` for a list price the model does not have.
    pub fn resolve(&self, model: &str) -> Option<Prices> {
        match *self {
            PriceSpec::Given(p) => Some(p),
            PriceSpec::List { multiplier, currency } => list_prices(model).map(|p| Prices { currency, ..p.scaled(multiplier) }),
        }
    }
}

impl PricesSpec {
    /// The rule these fields give, once checked.
    pub(super) fn spec(&self) -> Result<PriceSpec, String> {
        let currency = self.currency.as_deref().map_or(Ok(Currency::USD), Currency::parse)?;
        let multiplier = self.multiplier.unwrap_or(1.0);
        let numbers = [self.input_per_mtok, self.output_per_mtok, self.cache_write_5m_per_mtok, self.cache_write_1h_per_mtok, self.cache_read_per_mtok];
        if numbers.iter().flatten().any(|n| !(n.is_finite() && *n >= 0.0 && *n <= MOST_PRICE)) {
            return Err(format!("prices must be from 0 to {MOST_PRICE}"));
        }
        if !(multiplier.is_finite() && (0.0..=MOST_MULTIPLIER).contains(&multiplier)) {
            return Err(format!("prices.multiplier must be from 0 to {MOST_MULTIPLIER}"));
        }
        match (self.base.as_deref(), self.input_per_mtok, self.output_per_mtok) {
            (Some("list"), None, None) if self.cache_write_5m_per_mtok.is_none() && self.cache_write_1h_per_mtok.is_none() && self.cache_read_per_mtok.is_none() => {
                Ok(PriceSpec::List { multiplier, currency })
            }
            (Some("list"), _, _) => Err("prices: `base: list` takes only multiplier and currency".into()),
            (Some(other), _, _) => Err(format!("prices.base {other:?}: write `list` (the official list price of the model)")),
            (None, Some(input), Some(output)) => {
                let p = Prices {
                    input_per_mtok: input,
                    output_per_mtok: output,
                    cache_write_5m_per_mtok: self.cache_write_5m_per_mtok.unwrap_or(input * CACHE_WRITE_5M),
                    cache_write_1h_per_mtok: self.cache_write_1h_per_mtok.unwrap_or(input * CACHE_WRITE_1H),
                    cache_read_per_mtok: self.cache_read_per_mtok.unwrap_or(input * CACHE_READ),
                    currency,
                };
                Ok(PriceSpec::Given(p.scaled(multiplier)))
            }
            (None, _, _) => Err("prices needs input_per_mtok and output_per_mtok, or `base: list`".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Result<PriceSpec, String> {
        crate::yaml::from_str::<PricesSpec>(yaml).map_err(|e| e.message)?.spec()
    }

    #[test]
    fn prices_are_given_or_a_ratio_of_the_list_price() {
        let given = read("{input_per_mtok: 3, output_per_mtok: 15, multiplier: 2, currency: CNY}").expect("valid").resolve("any").expect("prices");
        assert_eq!((given.input_per_mtok, given.output_per_mtok, given.cache_write_5m_per_mtok), (6.0, 30.0, 7.5));
        assert!((given.cache_read_per_mtok - 0.6).abs() < 1e-12, "{}", given.cache_read_per_mtok);
        assert_eq!(given.currency.code(), "CNY");
        let list = read("{base: list, multiplier: 0.5}").expect("valid");
        let sonnet = list.resolve("claude-sonnet-4-5-20250929").expect("listed");
        assert_eq!((sonnet.input_per_mtok, sonnet.output_per_mtok, sonnet.cache_write_1h_per_mtok), (1.5, 7.5, 3.0));
        assert_eq!(list.resolve("claude-mythos-5"), None, "no list price is guessed");
        assert!(read("{input_per_mtok: 3}").is_err());
        assert!(read("{base: list, input_per_mtok: 3}").is_err());
        assert!(read("{input_per_mtok: 3, output_per_mtok: 15, currency: yen}").expect_err("code").contains("not a currency code"));
    }
}
