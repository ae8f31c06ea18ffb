//! The one place the YAML crate is named. Scenarios and the OpenAPI sources are both read
//! through here, so `serde_yaml` (deprecated upstream) can be replaced in this file alone.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A YAML text that did not deserialize, with where, when the parser knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// What is wrong, without the position.
    pub message: String,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
}

/// Deserializes one YAML document into `T`; every check `T` makes while deserializing
/// comes back with the line and column of the node it judged.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_yaml::from_str(text).map_err(|e: serde_yaml::Error| {
        let location = e.location();
        // serde_yaml ends its message with " at line L column C"; the fields say it.
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) if location.is_some() => message[..at].to_owned(),
            _ => message,
        };
        YamlError { message, line: location.as_ref().map(|l| l.line()), column: location.as_ref().map(|l| l.column()) }
    })
}

/// Parses YAML text into a JSON value; the message keeps the position in words.
pub fn to_json(text: &str) -> Result<Value, String> {
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_carries_its_position_apart_from_its_message() {
        let e = from_str::<std::collections::BTreeMap<String, u32>>("a: 1\nb: x\n").expect_err("not a number");
        assert_eq!((e.line, e.column), (Some(2), Some(4)));
        assert!(e.message.contains("invalid type") && !e.message.contains(" at line "), "{}", e.message);
        assert!(to_json("a: [1").expect_err("unclosed").contains("line 1"));
        assert_eq!(to_json("a: [1, x]").expect("valid"), serde_json::json!({"a": [1, "x"]}));
    }
}
