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

/// `value` written as one YAML document (`---` and all).
pub fn to_document(value: &Value) -> Result<String, String> {
    serde_yaml::to_string(value).map(|text| format!("---\n{text}")).map_err(|e| e.to_string())
}

/// `text` with each `PATH=VALUE` of `sets` applied (`load.concurrency=64`,
/// `requests.0.max_tokens=8`; the value is read as YAML, so `30s` is a string and `[a, b]`
/// a list), written back as YAML. Maps missing on the path are created; a list is indexed
/// by number and must hold the index. Comments and anchors do not survive.
pub fn with_sets(text: &str, sets: &[String]) -> Result<String, String> {
    let mut doc: serde_yaml::Value = from_str(text).map_err(|e| e.message)?;
    for set in sets {
        let (path, raw) = set.split_once('=').ok_or_else(|| format!("--set {set}: expected PATH=VALUE, e.g. load.concurrency=64"))?;
        let value: serde_yaml::Value = from_str(raw).map_err(|e| format!("--set {set}: the value is not YAML: {}", e.message))?;
        let mut node = &mut doc;
        for key in path.split('.') {
            if key.is_empty() {
                return Err(format!("--set {set}: empty field name in {path:?}"));
            }
            node = match node {
                serde_yaml::Value::Sequence(items) => {
                    let len = items.len();
                    let index: usize = key.parse().map_err(|_| format!("--set {set}: {key:?} indexes a list, so it must be a number"))?;
                    items.get_mut(index).ok_or_else(|| format!("--set {set}: the list has {len} items, no item {index}"))?
                }
                serde_yaml::Value::Null => {
                    *node = serde_yaml::Value::Mapping(serde_yaml::Mapping::new());
                    child(node, key)
                }
                serde_yaml::Value::Mapping(_) => child(node, key),
                _ => return Err(format!("--set {set}: {key:?} is inside a value that is not a map")),
            };
        }
        *node = value;
    }
    serde_yaml::to_string(&doc).map_err(|e| e.to_string())
}

/// The entry `key` of a mapping node, made Null when missing.
fn child<'a>(node: &'a mut serde_yaml::Value, key: &str) -> &'a mut serde_yaml::Value {
    match node {
        serde_yaml::Value::Mapping(map) => map.entry(serde_yaml::Value::String(key.to_owned())).or_insert(serde_yaml::Value::Null),
        other => other,
    }
}

/// Parses YAML text into a JSON value; the message keeps the position in words.
pub fn to_json(text: &str) -> Result<Value, String> {
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_override_nested_fields_and_lists_and_name_their_mistakes() {
        let text = "name: s\nload: {concurrency: 2}\nrequests:\n  - {max_tokens: 8}\n";
        let sets = ["load.concurrency=64".to_owned(), "load.duration=30s".to_owned(), "requests.0.max_tokens=16".to_owned(), "probes=[wrong-key]".to_owned()];
        let out: serde_json::Value = to_json(&with_sets(text, &sets).expect("applied")).expect("yaml");
        assert_eq!(out["load"], serde_json::json!({"concurrency": 64, "duration": "30s"}));
        assert_eq!((out["requests"][0]["max_tokens"].as_u64(), out["probes"][0].as_str()), (Some(16), Some("wrong-key")));
        for (set, message) in [("load.concurrency", "PATH=VALUE"), ("requests.3.max_tokens=1", "no item 3"), ("name.x=1", "not a map"), ("requests.a=1", "must be a number")] {
            let e = with_sets(text, &[set.to_owned()]).expect_err(set);
            assert!(e.contains(message) && e.contains("--set"), "{set}: {e}");
        }
    }

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
