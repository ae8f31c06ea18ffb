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

/// Largest YAML text read: scenarios are a few kilobytes; more is a mistake or a bomb.
pub const MAX_BYTES: usize = 1 << 20;
/// Deepest nesting of flow collections (`[`, `{`) read.
pub const MAX_FLOW_DEPTH: usize = 64;
/// Most alias uses (`*name`) read: each may expand to a whole copy of its anchor.
pub const MAX_ALIASES: usize = 64;

/// Refuses, before parsing, a text that would make the parser work or allocate without
/// bound: too large, nested too deep, or with too many aliases. Quotes and comments are
/// skipped, so a `[` or `*` inside a string does not count.
fn check_budget(text: &str) -> Result<(), YamlError> {
    let error = |line: usize, message: String| YamlError { message, line: Some(line), column: None };
    if text.len() > MAX_BYTES {
        return Err(YamlError { message: format!("the file is larger than {} KiB", MAX_BYTES >> 10), line: None, column: None });
    }
    let (mut depth, mut aliases, mut line) = (0usize, 0usize, 1usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut previous = ' ';
    for c in text.chars() {
        match (c, quote) {
            ('\n', _) => {
                line += 1;
                comment = false;
                // A plain scalar cannot span lines with a quote open in flow context, but a
                // quoted one can: keep the quote open across lines.
            }
            _ if comment => {}
            ('\'' | '"', None) if previous.is_whitespace() || "[{,:-".contains(previous) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            (_, Some(_)) => {}
            ('#', None) if previous.is_whitespace() => comment = true,
            ('[' | '{', None) => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Err(error(line, format!("collections nested deeper than {MAX_FLOW_DEPTH}")));
                }
            }
            (']' | '}', None) => depth = depth.saturating_sub(1),
            ('*', None) if previous.is_whitespace() || "[{,:-".contains(previous) => {
                aliases += 1;
                if aliases > MAX_ALIASES {
                    return Err(error(line, format!("more than {MAX_ALIASES} aliases (*name)")));
                }
            }
            _ => {}
        }
        previous = c;
    }
    Ok(())
}

/// Deserializes one YAML document into `T`; every check `T` makes while deserializing
/// comes back with the line and column of the node it judged. A text past the budgets
/// ([`MAX_BYTES`], [`MAX_FLOW_DEPTH`], [`MAX_ALIASES`]) is refused before parsing.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    check_budget(text)?;
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

    #[test]
    fn bombs_are_refused_before_parsing_and_strings_do_not_count() {
        type Any = serde_json::Value;
        let deep = format!("a: {}", "[".repeat(100_000));
        let e = from_str::<Any>(&deep).expect_err("deep");
        assert!(e.message.contains("nested deeper") && e.line == Some(1), "{e:?}");
        let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..100 {
            laughs.push_str(&format!("b{i}: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"));
        }
        let e = from_str::<Any>(&laughs).expect_err("aliases");
        assert!(e.message.contains("aliases") && e.line == Some(8), "{e:?}");
        assert!(from_str::<Any>(&"x".repeat(MAX_BYTES + 1)).expect_err("large").message.contains("larger than"));
        let fine = "a: \"[[[[ *not an alias # nor a comment\"\nb: '{{{{'  # a comment with [ and *\nc: [1, {d: 2}]\n";
        assert_eq!(from_str::<Any>(fine).expect("valid")["c"][1]["d"], 2);
    }
}
