//! The deserializing helpers every scenario file shares: each check runs inside the
//! visitor of the value it judges, so the YAML parser's line and column point at that value.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// A name that also names a report folder or a phase.
pub(super) fn report_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    string_where(d, |name| {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        ok.then_some(()).ok_or(
            "name must be 1-64 characters of letters, digits, '-', '_' or '.' (it names the report folder)",
        )
    })
}

/// Deserializes a string and checks it with `check` inside the visitor.
pub(super) fn string_where<'de, D: Deserializer<'de>>(
    d: D,
    check: fn(&str) -> Result<(), &'static str>,
) -> Result<String, D::Error> {
    parse_str(d, "a string", |v| check(v).map(|()| v.to_owned()).map_err(str::to_owned))
}

/// Deserializes a string into a value with `parse`, inside the string's own visitor, so
/// an error carries the position of the string itself rather than of the map around it.
/// `expecting` says what was wanted when the value is not a string at all.
pub(super) fn parse_str<'de, D, T, F>(d: D, expecting: &'static str, parse: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    struct V<F>(&'static str, F);
    impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for V<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.1)(v).map_err(E::custom)
        }
    }
    d.deserialize_str(V(expecting, parse))
}

/// A map-shaped value with rules that span several of its fields.
pub(super) trait Validate {
    /// The rules across fields, as one message.
    fn validate(&self) -> Result<(), String>;
}

/// Deserializes a map into `T` and applies `T::validate` inside the map's own visitor,
/// so a rule's error points at the map (and field errors still point at the field).
pub(super) fn validated<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Validate,
{
    d.deserialize_map(ValidatedVisitor(std::marker::PhantomData))
}

/// The map visitor behind [`validated`], for types that also accept other shapes.
pub(super) struct ValidatedVisitor<T>(pub(super) std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de> + Validate> Visitor<'de> for ValidatedVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let value = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
        value.validate().map_err(de::Error::custom)?;
        Ok(value)
    }
}

/// [`validated`] for an optional field.
pub(super) fn some_validated<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Validate,
{
    validated(d).map(Some)
}

/// Thresholds, each parsed inside its own visitor so a mistake points at its line: an
/// expression, or `{threshold, abort_on_fail, delay}` for one that stops the run when it
/// fails while the load goes.
pub(super) fn threshold_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<crate::thresholds::Threshold>, D::Error> {
    struct Expression(crate::thresholds::Threshold);
    impl<'de> Deserialize<'de> for Expression {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            parse_str(d, "a threshold such as `ttft.p95 < 800ms`", crate::thresholds::parse).map(Expression)
        }
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Aborting {
        threshold: Expression,
        #[serde(default)]
        abort_on_fail: bool,
        #[serde(default)]
        delay: Option<super::duration::HumanDuration>,
    }
    /// An expression or a map, each read by its own visitor so a mistake keeps its line.
    struct One(crate::thresholds::Threshold);
    impl<'de> Deserialize<'de> for One {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = One;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a threshold such as `ttft.p95 < 800ms`, or {threshold, abort_on_fail, delay}")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<One, E> {
                    crate::thresholds::parse(v).map(One).map_err(E::custom)
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<One, A::Error> {
                    let a = Aborting::deserialize(de::value::MapAccessDeserializer::new(map))?;
                    let mut t = a.threshold.0;
                    if a.abort_on_fail && !t.judged_live() {
                        return Err(de::Error::custom(format!(
                            "`{}`: abort_on_fail takes a threshold judged while the run goes (a metric, error_rate, requests, conformance.violations or conformance.warnings)",
                            t.text
                        )));
                    }
                    (t.abort_on_fail, t.delay) = (a.abort_on_fail, a.delay.map(|d| d.0));
                    Ok(One(t))
                }
            }
            d.deserialize_any(V)
        }
    }
    Ok(Vec::<One>::deserialize(d)?.into_iter().map(|o| o.0).collect())
}

/// A [`Validate`] value as a whole document or a sequence element, validated where it
/// stands.
pub(super) struct Checked<T>(pub(super) T);

impl<'de, T: Deserialize<'de> + Validate> Deserialize<'de> for Checked<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated(d).map(Checked)
    }
}
