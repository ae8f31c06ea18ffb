//! `GET /v1/models` and `GET /v1/models/{id}`: the models the mock serves, in the API's
//! list shape (`data`, `has_more`, `first_id`, `last_id`), so an SDK's `models.list()`
//! and a model scan work against it as against the API.

use http::Method;
use serde_json::{json, Value};

use crate::conformance::validate::Rejection;

/// The body of the 200 answer to a request under `/v1/models`; `rest` is the path after it.
pub fn answer(models: &[String], rest: &str, method: &Method) -> Result<Value, Rejection> {
    if method != Method::GET {
        return Err(Rejection { status: 405, error_type: "invalid_request_error", message: format!("Method {method} not allowed") });
    }
    match rest.trim_start_matches('/') {
        "" => {
            let data: Vec<Value> = models.iter().map(|m| model(m)).collect();
            let first = models.first().map_or(Value::Null, |m| json!(m));
            let last = models.last().map_or(Value::Null, |m| json!(m));
            Ok(json!({"data": data, "has_more": false, "first_id": first, "last_id": last}))
        }
        id => match models.iter().find(|m| *m == id) {
            Some(m) => Ok(model(m)),
            None => Err(Rejection { status: 404, error_type: "not_found_error", message: format!("model: {id}") }),
        },
    }
}

/// One model object: `claude-sonnet-4-5-20250929` is "Claude Sonnet 4.5", created on its
/// snapshot date; an alias has no date in its id, so it gets the unix epoch rather than
/// a made-up one.
fn model(id: &str) -> Value {
    let mut words: Vec<&str> = id.split('-').collect();
    let date = words.last().filter(|w| w.len() == 8 && w.bytes().all(|b| b.is_ascii_digit())).map(|d| d.to_string());
    if date.is_some() {
        words.pop();
    }
    let (names, version): (Vec<&str>, Vec<&str>) = words.iter().partition(|w| !w.bytes().all(|b| b.is_ascii_digit()));
    let mut display: Vec<String> = names.iter().map(|w| capitalized(w)).collect();
    if !version.is_empty() {
        display.push(version.join("."));
    }
    let created = date.map_or_else(|| "1970-01-01T00:00:00Z".to_owned(), |d| format!("{}-{}-{}T00:00:00Z", &d[..4], &d[4..6], &d[6..]));
    json!({"type": "model", "id": id, "display_name": display.join(" "), "created_at": created})
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_and_one_model_answer_as_the_models_api_and_others_are_404() {
        let models = ["claude-opus-4-7".to_owned(), "claude-haiku-4-5-20251001".to_owned()];
        let list = answer(&models, "", &Method::GET).expect("list");
        assert_eq!((list["data"].as_array().map(Vec::len), &list["first_id"], &list["last_id"]), (Some(2), &json!("claude-opus-4-7"), &json!("claude-haiku-4-5-20251001")));
        assert_eq!(answer(&models, "/claude-opus-4-7", &Method::GET).expect("one")["type"], "model");
        assert_eq!(answer(&models, "/gpt-4o", &Method::GET).expect_err("unknown").status, 404);
        assert_eq!(answer(&models, "", &Method::POST).expect_err("method").status, 405);
    }

    #[test]
    fn a_model_gets_the_api_s_display_name_and_snapshot_date() {
        let m = model("claude-sonnet-4-5-20250929");
        assert_eq!(m["display_name"], "Claude Sonnet 4.5");
        assert_eq!(m["created_at"], "2025-09-29T00:00:00Z");
        assert_eq!(model("claude-opus-4-7")["display_name"], "Claude Opus 4.7");
    }
}
