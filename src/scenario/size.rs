//! Token counts a template draws per request: a fixed number, or a distribution
//! (`uniform`, `normal`, `lognormal`, or an `empirical` list of weighted values), as the
//! workload tools of the field shape input and output lengths.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::rng::Rng;

/// Largest input a template may ask for, in tokens: the longest context window offered.
pub const MAX_INPUT_TOKENS: u64 = 1_000_000;
/// Largest `max_tokens` a template may ask for.
pub const MAX_OUTPUT_TOKENS: u64 = 128_000;

/// A token count, fixed or drawn per request.
#[derive(Debug, Clone, PartialEq)]
pub enum Size {
    /// Always this many.
    Fixed(u64),
    /// Uniform over `[min, max]`.
    Uniform {
        /// Smallest.
        min: u64,
        /// Largest.
        max: u64,
    },
    /// Normal with this mean and standard deviation, cut to `[min, max]`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
        /// Smallest kept.
        min: u64,
        /// Largest kept.
        max: u64,
    },
    /// Log-normal whose own mean and standard deviation are these (not those of its
    /// logarithm), cut to `[min, max]`: the long right tail of real prompt lengths.
    LogNormal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
        /// Smallest kept.
        min: u64,
        /// Largest kept.
        max: u64,
    },
    /// These values with these relative weights.
    Empirical(Vec<(u64, u32)>),
}

impl Size {
    /// Whether every request gets the same count.
    pub fn fixed(&self) -> Option<u64> {
        match self {
            Size::Fixed(n) => Some(*n),
            _ => None,
        }
    }

    /// The largest count it can draw.
    pub fn max(&self) -> u64 {
        match self {
            Size::Fixed(n) => *n,
            Size::Uniform { max, .. } | Size::Normal { max, .. } | Size::LogNormal { max, .. } => *max,
            Size::Empirical(values) => values.iter().map(|(v, _)| *v).max().unwrap_or(1),
        }
    }

    /// One draw.
    pub fn draw(&self, rng: &mut Rng) -> u64 {
        let clamp = |x: f64, min: u64, max: u64| (x.round().max(min as f64).min(max as f64)) as u64;
        match self {
            Size::Fixed(n) => *n,
            Size::Uniform { min, max } => rng.range(*min, *max),
            Size::Normal { mean, stddev, min, max } => clamp(mean + stddev * standard_normal(rng), *min, *max),
            Size::LogNormal { mean, stddev, min, max } => {
                let sigma2 = (1.0 + (stddev / mean).powi(2)).ln();
                let mu = mean.ln() - sigma2 / 2.0;
                clamp((mu + sigma2.sqrt() * standard_normal(rng)).exp(), *min, *max)
            }
            Size::Empirical(values) => {
                let total: u64 = values.iter().map(|(_, w)| u64::from(*w)).sum();
                let mut x = rng.range(0, total.saturating_sub(1));
                for (v, w) in values {
                    if x < u64::from(*w) {
                        return *v;
                    }
                    x -= u64::from(*w);
                }
                values.last().map_or(1, |(v, _)| *v)
            }
        }
    }
}

/// `prompt_tokens` in the scenario schema ([`input_size`]).
pub(super) struct InputSize;
/// `max_tokens` in the scenario schema ([`output_size`]).
pub(super) struct OutputSize;

/// A token count within `1..=limit`, or a distribution of them.
fn size_schema(generator: &mut schemars::SchemaGenerator, what: &str, limit: u64) -> schemars::Schema {
    let distribution = generator.subschema_for::<Written>();
    schemars::json_schema!({
        "description": format!("{what}: a token count from 1 to {limit}, or a distribution drawn per request."),
        "anyOf": [{"type": "integer", "minimum": 1, "maximum": limit}, distribution]
    })
}

impl schemars::JsonSchema for InputSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "InputSize".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        size_schema(generator, "Input tokens", MAX_INPUT_TOKENS)
    }
}

impl schemars::JsonSchema for OutputSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OutputSize".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        size_schema(generator, "Output tokens", MAX_OUTPUT_TOKENS)
    }
}

/// Box–Muller: one standard normal draw from two uniforms.
fn standard_normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.next_f64(); // in (0, 1], so the logarithm is finite
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A distribution as written: `{distribution: normal, mean: 2000, stddev: 500, ...}`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Distribution")]
pub(super) struct Written {
    /// `uniform` takes min and max; `normal` and `lognormal` mean and stddev (min and max
    /// cut it); `empirical` takes values.
    #[schemars(with = "super::schema_values::DistributionName")]
    distribution: String,
    /// Smallest value drawn.
    #[serde(default)]
    #[schemars(range(min = 1))]
    min: Option<u64>,
    /// Largest value drawn.
    #[serde(default)]
    #[schemars(range(min = 1))]
    max: Option<u64>,
    /// Mean (of the values, not of their logarithm for `lognormal`).
    #[serde(default)]
    #[schemars(range(min = 1))]
    mean: Option<f64>,
    /// Standard deviation.
    #[serde(default)]
    #[schemars(range(min = 0))]
    stddev: Option<f64>,
    /// `empirical`: each value with its relative weight.
    #[serde(default)]
    #[schemars(length(min = 1))]
    values: Option<Vec<Weighted>>,
}

/// One value of an empirical distribution.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Weighted {
    /// A token count.
    #[schemars(range(min = 1))]
    value: u64,
    /// Its relative weight.
    weight: u32,
}

impl Written {
    /// The size it describes, every number within `1..=limit`.
    fn size(self, limit: u64) -> Result<Size, String> {
        let in_range = |n: u64, what: &str| {
            if (1..=limit).contains(&n) {
                Ok(n)
            } else {
                Err(format!("{what} must be from 1 to {limit}, not {n}"))
            }
        };
        let bounds = |w: &Written| -> Result<(u64, u64), String> {
            let min = in_range(w.min.unwrap_or(1), "min")?;
            let max = in_range(w.max.ok_or_else(|| format!("the {} distribution needs `max`", w.distribution))?, "max")?;
            if min > max {
                return Err(format!("min {min} is above max {max}"));
            }
            Ok((min, max))
        };
        let moments = |w: &Written| -> Result<(f64, f64), String> {
            let need = |v: Option<f64>, name: &str| v.ok_or_else(|| format!("the {} distribution needs `{name}`", w.distribution));
            let (mean, stddev) = (need(w.mean, "mean")?, need(w.stddev, "stddev")?);
            if !(mean.is_finite() && mean >= 1.0 && mean <= limit as f64) {
                return Err(format!("mean must be from 1 to {limit}"));
            }
            if !(stddev.is_finite() && stddev >= 0.0 && stddev <= limit as f64) {
                return Err(format!("stddev must be from 0 to {limit}"));
            }
            Ok((mean, stddev))
        };
        let only = |w: &Written, allowed: &[&str]| -> Result<(), String> {
            let given = [("min", w.min.is_some()), ("max", w.max.is_some()), ("mean", w.mean.is_some()), ("stddev", w.stddev.is_some()), ("values", w.values.is_some())];
            match given.iter().find(|(name, set)| *set && !allowed.contains(name)) {
                Some((name, _)) => Err(format!("the {} distribution takes {}, not `{name}`", w.distribution, allowed.join(", "))),
                None => Ok(()),
            }
        };
        match self.distribution.as_str() {
            "uniform" => {
                only(&self, &["min", "max"])?;
                let (min, max) = bounds(&self)?;
                Ok(Size::Uniform { min, max })
            }
            "normal" | "lognormal" => {
                only(&self, &["mean", "stddev", "min", "max"])?;
                let (mean, stddev) = moments(&self)?;
                let (min, max) = bounds(&self)?;
                Ok(if self.distribution == "normal" {
                    Size::Normal { mean, stddev, min, max }
                } else {
                    Size::LogNormal { mean, stddev, min, max }
                })
            }
            "empirical" => {
                only(&self, &["values"])?;
                let values = self.values.unwrap_or_default();
                if values.is_empty() {
                    return Err("the empirical distribution needs `values: [{value, weight}, ...]`".into());
                }
                if values.iter().all(|v| v.weight == 0) {
                    return Err("the empirical distribution needs a weight above 0".into());
                }
                values.iter().map(|v| in_range(v.value, "value").map(|n| (n, v.weight))).collect::<Result<_, _>>().map(Size::Empirical)
            }
            other => Err(format!("unknown distribution {other:?} (use uniform, normal, lognormal or empirical)")),
        }
    }
}

/// Reads a size whose every value is within `1..=limit`: a number, or a distribution map.
fn size_within<'de, D: Deserializer<'de>>(d: D, limit: u64) -> Result<Size, D::Error> {
    struct V(u64);
    impl<'de> Visitor<'de> for V {
        type Value = Size;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a token count, or a map such as {distribution: uniform, min: 100, max: 2000}")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Size, E> {
            if (1..=self.0).contains(&n) {
                Ok(Size::Fixed(n))
            } else {
                Err(E::custom(format!("must be from 1 to {}, not {n}", self.0)))
            }
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Size, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format!("must be from 1 to {}, not {n}", self.0))),
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Size, A::Error> {
            let written = Written::deserialize(de::value::MapAccessDeserializer::new(map))?;
            written.size(self.0).map_err(de::Error::custom)
        }
    }
    d.deserialize_any(V(limit))
}

/// An input size: `prompt_tokens`.
pub(super) fn input_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Size>, D::Error> {
    size_within(d, MAX_INPUT_TOKENS).map(Some)
}

/// An output size: `max_tokens`.
pub(super) fn output_size<'de, D: Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
    size_within(d, MAX_OUTPUT_TOKENS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Result<Size, String> {
        #[derive(Deserialize)]
        struct T {
            #[serde(deserialize_with = "output_size")]
            s: Size,
        }
        crate::yaml::from_str::<T>(&format!("s: {yaml}")).map(|t| t.s).map_err(|e| e.message)
    }

    #[test]
    fn each_distribution_reads_and_stays_in_its_bounds() {
        assert_eq!(read("256"), Ok(Size::Fixed(256)));
        let mut rng = Rng::new(9);
        for yaml in [
            "{distribution: uniform, min: 10, max: 20}",
            "{distribution: normal, mean: 15, stddev: 8, min: 10, max: 20}",
            "{distribution: lognormal, mean: 15, stddev: 30, min: 10, max: 20}",
            "{distribution: empirical, values: [{value: 10, weight: 1}, {value: 20, weight: 3}]}",
        ] {
            let s = read(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
            assert_eq!(s.max(), 20);
            for _ in 0..2000 {
                assert!((10..=20).contains(&s.draw(&mut rng)), "{yaml}");
            }
        }
    }

    #[test]
    fn draws_follow_their_distribution() {
        let mut rng = Rng::new(1);
        let n = 20_000;
        let mean = |s: &Size, rng: &mut Rng| (0..n).map(|_| s.draw(rng) as f64).sum::<f64>() / f64::from(n);
        let normal = Size::Normal { mean: 1000.0, stddev: 100.0, min: 1, max: 100_000 };
        assert!((mean(&normal, &mut rng) - 1000.0).abs() < 5.0);
        let lognormal = Size::LogNormal { mean: 1000.0, stddev: 2000.0, min: 1, max: 1_000_000 };
        assert!((mean(&lognormal, &mut rng) - 1000.0).abs() < 100.0, "{}", mean(&lognormal, &mut rng));
        let empirical = Size::Empirical(vec![(1, 3), (5, 1)]);
        assert!((mean(&empirical, &mut rng) - 2.0).abs() < 0.05);
    }

    #[test]
    fn mistakes_are_named() {
        assert!(read("0").expect_err("zero").contains("from 1 to 128000"));
        assert!(read("-3").expect_err("negative").contains("from 1 to 128000"));
        assert!(read("200000").expect_err("too large").contains("from 1 to 128000, not 200000"));
        assert!(read("{distribution: gamma, max: 3}").expect_err("unknown").contains("unknown distribution \"gamma\""));
        assert!(read("{distribution: uniform, min: 30, max: 20}").expect_err("order").contains("min 30 is above max 20"));
        assert!(read("{distribution: normal, mean: 10, max: 20}").expect_err("stddev").contains("needs `stddev`"));
        assert!(read("{distribution: normal, mean: 1e300, stddev: 1, max: 20}").expect_err("mean").contains("mean must be"));
        assert!(read("{distribution: uniform, max: 20, mean: 3}").expect_err("extra").contains("not `mean`"));
        assert!(read("{distribution: empirical, values: []}").expect_err("empty").contains("needs `values"));
        assert!(read("{distribution: uniform, mx: 20}").expect_err("typo").contains("unknown field `mx`"));
    }
}
