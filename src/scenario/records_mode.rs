//! Whether a run writes per-request records, and how (`records:`, `run --records`).

use serde::{Deserialize, Deserializer};

/// How a run writes `requests.jsonl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordsMode {
    /// No records.
    #[default]
    Off,
    /// Plain JSON lines, `requests.jsonl`.
    Jsonl,
    /// Gzip-compressed JSON lines, `requests.jsonl.gz` (DuckDB and pandas read it as is).
    Gzip,
}

impl RecordsMode {
    /// The mode named `name` (`true` and `false` as well, as the YAML writes them).
    pub fn parse(name: &str) -> Result<RecordsMode, String> {
        match name {
            "false" | "off" => Ok(RecordsMode::Off),
            "true" | "jsonl" => Ok(RecordsMode::Jsonl),
            "gzip" => Ok(RecordsMode::Gzip),
            other => Err(format!("unknown records format {other:?}: use true, false, jsonl or gzip")),
        }
    }
}

/// Written as a scenario writes it: `false`, `jsonl` or `gzip`.
impl serde::Serialize for RecordsMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RecordsMode::Off => s.serialize_bool(false),
            RecordsMode::Jsonl => s.serialize_str("jsonl"),
            RecordsMode::Gzip => s.serialize_str("gzip"),
        }
    }
}

impl<'de> Deserialize<'de> for RecordsMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Flag(bool),
            Name(String),
        }
        match Written::deserialize(d)? {
            Written::Flag(true) => Ok(RecordsMode::Jsonl),
            Written::Flag(false) => Ok(RecordsMode::Off),
            Written::Name(name) => RecordsMode::parse(&name).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_take_a_flag_or_a_format() {
        let read = |yaml: &str| crate::yaml::from_str::<RecordsMode>(yaml).map_err(|e| e.message);
        assert_eq!(read("true"), Ok(RecordsMode::Jsonl));
        assert_eq!(read("false"), Ok(RecordsMode::Off));
        assert_eq!(read("gzip"), Ok(RecordsMode::Gzip));
        assert!(read("zip").expect_err("unknown").contains("use true, false, jsonl or gzip"));
    }
}
