//! Durations as people write them in a scenario: `250ms`, `2s`, `1.5s`, `3m`, `1h`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A duration read from YAML. A bare number means seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

/// The longest duration any scenario field takes: past it a run, a timeout or a delay
/// is a mistake, and clocks would overflow long before `u64` seconds do.
pub const LONGEST: Duration = Duration::from_secs(30 * 24 * 3600);

/// Parses `250ms`, `2s`, `1.5s`, `3m`, `1h` or `90us`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 250ms, 2s, 1m)"))?;
    let seconds = match unit.trim() {
        "us" | "µs" => value / 1e6,
        "ms" => value / 1e3,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown duration unit {other:?} (use us, ms, s, m or h)")),
    };
    if seconds > LONGEST.as_secs_f64() {
        return Err(format!("{text:?} is longer than 30 days, the longest duration a scenario takes"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is out of range"))
}

/// Written back as the loader reads it, in the largest unit that keeps it whole (`120ms`,
/// `60s`), for the defaults the scenario schema shows.
impl serde::Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let micros = self.0.as_micros();
        let text = match micros {
            m if m % 1_000_000 == 0 => format!("{}s", m / 1_000_000),
            m if m % 1_000 == 0 => format!("{}ms", m / 1_000),
            m => format!("{m}us"),
        };
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 250ms, 2s or 1m")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                parse(v).map(HumanDuration).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<HumanDuration, E> {
                parse(&format!("{v}s")).map(HumanDuration).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<HumanDuration, E> {
                // A bare number is seconds, held to the same bound as a written one.
                if v > LONGEST.as_secs_f64() {
                    return Err(E::custom(format!("{v} s is longer than 30 days, the longest duration a scenario takes")));
                }
                Duration::try_from_secs_f64(v).map(HumanDuration).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("90us"), Ok(Duration::from_micros(90)));
        assert!(parse("5 parsecs").is_err());
        assert!(parse("ms").is_err());
    }

    #[test]
    fn a_written_duration_reads_back_the_same() {
        for text in ["120ms", "60s", "90us", "1500ms"] {
            let d = HumanDuration(parse(text).expect("valid"));
            let written = serde_json::to_value(d).expect("serializes");
            assert_eq!(written, text);
            assert_eq!(parse(written.as_str().unwrap_or_default()), Ok(d.0));
        }
    }
}
