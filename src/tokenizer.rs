//! Tokenizer and usage honesty: fixed texts in several scripts, each sent alone in the same
//! minimal request, counted by the target's `count_tokens` and billed in the
//! `usage.input_tokens` of a `max_tokens: 1` request. The API counts a text the same way
//! every time, so a target whose counts differ from a reference's for the same model id
//! runs another tokenizer behind the name (another model), or adds to every prompt; one
//! whose `count_tokens` disagrees with its own bill answers the two from different places.
//!
//! The reference is a target of the same run, or a file `relaybench fingerprint save` wrote
//! from the report of a run against one. No reference numbers ship with relaybench.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::client::Client;
use crate::conformance::{Finding, Rule};
use crate::stop::Stop;

/// The texts: (name, text). Names are report fields; the texts never change, or saved
/// references stop matching.
pub const TEXTS: [(&str, &str); 6] = [
    ("english", "The quick brown fox jumps over the lazy dog while the river runs past the old stone house."),
    ("chinese", "今天天气很好，我们一起去公园散步，然后在湖边喝茶聊天。"),
    ("japanese", "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"),
    ("code", "fn main() {\n    let xs: Vec<u32> = (1..=10).map(|x| x * x).collect();\n    println!(\"{:?}\", xs);\n}"),
    ("emoji", "🎉🚀✨ launch day! 👩‍💻🔥💯 🇯🇵🇫🇷"),
    ("numbers", "3.14159 2.71828 1.41421 299792458 6.02214076e23 1,234,567.89"),
];

/// Requests one count sends: a `count_tokens` and a `max_tokens: 1` request per text, and
/// the request whose output bill is held against the text received.
pub const REQUESTS: u64 = 2 * TEXTS.len() as u64 + 1;

/// The request for output: a text the model is asked to write back, so every target
/// returns about the same characters and the tokens billed per character compare.
const ECHO: &str = "Repeat the following sentence exactly, with nothing before or after it: The quick brown fox jumps over the lazy dog while the river runs past the old stone house.";
/// Output tokens the echo may take.
pub const ECHO_MAX_TOKENS: u64 = 64;
/// How far two targets' output tokens per character may differ before one is said to
/// bill output by another count: the texts received differ a little between answers.
const OUTPUT_TOLERANCE: f64 = 0.2;

/// Format tag of a saved reference file.
pub const REFERENCE_FORMAT: &str = "relaybench-token-reference/1";

/// One text's counts on one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextCount {
    /// The text's name in [`TEXTS`].
    pub text: String,
    /// What `count_tokens` said, when it answered.
    pub counted: Option<u64>,
    /// `usage.input_tokens` of the `max_tokens: 1` request, when it was served.
    pub billed: Option<u64>,
}

/// Every text's counts for one model on one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    /// The model id sent.
    pub model: String,
    /// One entry per text, in [`TEXTS`] order.
    pub texts: Vec<TextCount>,
    /// Why `count_tokens` gave nothing, when it did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_error: Option<String>,
    /// The echo's bill: output tokens, and the characters of text received for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputBill>,
}

/// Output tokens billed for a text received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputBill {
    /// `usage.output_tokens`.
    pub tokens: u64,
    /// Characters of text in the answer.
    pub chars: u64,
}

impl OutputBill {
    fn per_char(self) -> Option<f64> {
        (self.chars > 0 && self.tokens > 0).then(|| self.tokens as f64 / self.chars as f64)
    }
}

/// A saved reference: the counts of a reference target, per model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceFile {
    /// [`REFERENCE_FORMAT`].
    pub format: String,
    /// Which target and run the counts came from, in words.
    pub source: String,
    /// The counts, one entry per model.
    pub models: Vec<TokenCounts>,
}

fn body(model: &str, text: &str, max_tokens: bool) -> serde_json::Value {
    let mut body = serde_json::json!({"model": model, "messages": [{"role": "user", "content": text}]});
    if max_tokens {
        body["max_tokens"] = 1.into();
    }
    body
}

/// Counts every text for `model` on the target; ended at once by `stop`. The findings of
/// the billed requests' answers are returned with the counts.
pub async fn count(client: &Client, model: &str, stop: &Stop) -> (TokenCounts, Vec<Finding>) {
    let mut counts = TokenCounts { model: model.to_owned(), texts: Vec::new(), count_error: None, output: None };
    let mut findings = Vec::new();
    for (name, text) in TEXTS {
        // After one failure count_tokens is not asked again: the endpoint is missing.
        let asking = counts.count_error.is_none();
        let one = async {
            let counted = match asking {
                true => Some(client.count_tokens(Bytes::from(body(model, text, false).to_string())).await),
                false => None,
            };
            let outcome = client.execute(Bytes::from(body(model, text, true).to_string()), 0, false, None, Instant::now()).await;
            (counted, outcome)
        };
        let (counted, outcome) = tokio::select! {
            r = one => r,
            _ = stop.wait() => break,
        };
        let counted = match counted {
            Some(Ok(n)) => Some(n),
            Some(Err(why)) => {
                counts.count_error = Some(why);
                None
            }
            None => None,
        };
        findings.extend(outcome.findings);
        let billed = outcome.input_total.filter(|_| outcome.status == Some(200));
        counts.texts.push(TextCount { text: name.to_owned(), counted, billed });
    }
    if !stop.is_stopped() {
        let mut echo = body(model, ECHO, true);
        echo["max_tokens"] = ECHO_MAX_TOKENS.into();
        let outcome = tokio::select! {
            o = client.execute_turn(Bytes::from(echo.to_string()), 0, false, None, Instant::now()) => Some(o),
            _ = stop.wait() => None,
        };
        if let Some(o) = outcome {
            if let (Some(200), Some(tokens), Some(text)) = (o.status, o.output_tokens, o.reply.as_deref()) {
                counts.output = Some(OutputBill { tokens, chars: text.chars().count() as u64 });
            }
            findings.extend(o.findings);
        }
    }
    (counts, findings)
}

/// How one target's counts stand against a reference's for the same model.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Whether every text compared was counted and billed as the reference does.
    pub same: bool,
    /// The verdict in a line.
    pub detail: String,
    /// `identity.tokenizer` findings: one naming the texts and ratios, one for a
    /// `count_tokens` that disagrees with the bill.
    pub findings: Vec<Finding>,
}

/// How far `count_tokens` may stray from the bill of the same request: the API calls its
/// count an estimate that "may differ by a small amount".
fn count_agrees(counted: u64, billed: u64) -> bool {
    counted.abs_diff(billed) <= 2.max(billed / 20)
}

/// Holds `ours` against the reference's counts for the same model (with the reference's
/// name), text by text, on the bill and on `count_tokens`; and our `count_tokens` against
/// our own bill.
pub fn compare(ours: &TokenCounts, reference: Option<(&TokenCounts, &str)>) -> Comparison {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let none = TokenCounts { model: String::new(), texts: Vec::new(), count_error: None, output: None };
    let (reference, reference_name) = reference.unwrap_or((&none, ""));
    // (column, what differed), so a count_tokens that differs as the bill does is said once.
    let mut differed: Vec<(&str, String)> = Vec::new();
    for (what, pick) in [("billed", (|t: &TextCount| t.billed) as fn(&TextCount) -> Option<u64>), ("count_tokens", |t: &TextCount| t.counted)] {
        let pairs: Vec<(&str, u64, u64)> = ours
            .texts
            .iter()
            .filter_map(|t| {
                let theirs = reference.texts.iter().find(|r| r.text == t.text).and_then(pick)?;
                Some((t.text.as_str(), pick(t)?, theirs))
            })
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let offsets: Vec<i64> = pairs.iter().map(|(_, a, b)| *a as i64 - *b as i64).collect();
        if offsets.iter().all(|d| *d == 0) {
            notes.push(format!("{what} as {reference_name} on {} texts", pairs.len()));
            continue;
        }
        let body = if offsets.iter().all(|d| *d == offsets[0]) && pairs.len() > 1 {
            format!("{:+} input tokens on every text against {reference_name}: a prompt added on the way", offsets[0])
        } else {
            let ratios: Vec<String> = pairs.iter().map(|(name, a, b)| format!("{name} {a}/{b} ({:.2}x)", *a as f64 / (*b).max(1) as f64)).collect();
            format!("another tokenizer than {reference_name}'s for {}: {}", ours.model, ratios.join(", "))
        };
        match differed.first_mut() {
            Some((first, said)) if *said == body => *first = "billed and count_tokens",
            _ => differed.push((what, body)),
        }
    }
    for (what, body) in differed {
        let message = format!("{what}: {body}");
        notes.push(message.clone());
        findings.push(Finding::new(Rule::IdentityTokenizer, None, message, b""));
    }
    let rates = (ours.output.and_then(OutputBill::per_char), reference.output.and_then(OutputBill::per_char));
    if let (Some(rate), Some(theirs), Some(bill)) = (rates.0, rates.1, ours.output) {
        let ratio = rate / theirs;
        if (ratio - 1.0).abs() > OUTPUT_TOLERANCE {
            let message = format!(
                "output: {} tokens billed for {} characters received, {:.1} per 100 characters against {reference_name}'s {:.1} ({ratio:.2}x)",
                bill.tokens,
                bill.chars,
                rate * 100.0,
                theirs * 100.0
            );
            notes.push(message.clone());
            findings.push(Finding::new(Rule::IdentityTokenizer, None, message, b""));
        } else {
            notes.push(format!("output billed as {reference_name} per character ({ratio:.2}x)"));
        }
    }
    let disagree: Vec<String> = ours
        .texts
        .iter()
        .filter_map(|t| match (t.counted, t.billed) {
            (Some(c), Some(b)) if !count_agrees(c, b) => Some(format!("{} {c} counted, {b} billed", t.text)),
            _ => None,
        })
        .collect();
    if !disagree.is_empty() {
        let message = format!("count_tokens disagrees with the bill of the same request: {}", disagree.join(", "));
        notes.push(message.clone());
        findings.push(Finding::new(Rule::IdentityTokenizer, None, message, b""));
    }
    if notes.is_empty() && !reference_name.is_empty() {
        notes.push(format!("no text both here and at {reference_name} to compare"));
    }
    if disagree.is_empty() && ours.texts.iter().any(|t| t.counted.is_some() && t.billed.is_some()) {
        notes.push("count_tokens agrees with the bill".to_owned());
    }
    Comparison { same: findings.is_empty(), detail: notes.join("; "), findings }
}

/// Reads a reference file, refusing one of another format or with nothing in it.
pub fn read_reference(path: &std::path::Path) -> Result<ReferenceFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the reference file: {e}"))?;
    let file: ReferenceFile = serde_json::from_str(&text).map_err(|e| format!("not a reference file ({REFERENCE_FORMAT}): {e}"))?;
    if file.format != REFERENCE_FORMAT {
        return Err(format!("format {:?}, expected {REFERENCE_FORMAT:?}", file.format));
    }
    if file.models.iter().all(|m| m.texts.is_empty()) {
        return Err("it holds no counts".into());
    }
    Ok(file)
}

/// The reference file's counts for `model`, if it holds them.
pub fn reference_for<'a>(file: &'a ReferenceFile, model: &str) -> Option<&'a TokenCounts> {
    file.models.iter().find(|m| m.model == model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(billed: &[u64], counted: &[u64]) -> TokenCounts {
        let texts = TEXTS
            .iter()
            .zip(billed.iter().zip(counted))
            .map(|((name, _), (b, c))| TextCount { text: (*name).to_owned(), counted: Some(*c), billed: Some(*b) })
            .collect();
        TokenCounts { model: "m".into(), texts, count_error: None, output: Some(OutputBill { tokens: 20, chars: 90 }) }
    }

    #[test]
    fn output_billed_beyond_the_text_received_is_named() {
        let mut ours = counts(&API, &API);
        let same = compare(&ours, Some((&counts(&API, &API), "official")));
        assert!(same.same && same.detail.contains("output billed as official per character (1.00x)"), "{same:?}");
        ours.output = Some(OutputBill { tokens: 22, chars: 95 });
        assert!(compare(&ours, Some((&counts(&API, &API), "official"))).same, "an answer a little longer or shorter is no finding");
        ours.output = Some(OutputBill { tokens: 30, chars: 90 });
        let c = compare(&ours, Some((&counts(&API, &API), "official")));
        assert_eq!(c.findings.len(), 1, "{c:?}");
        assert!(c.findings[0].message.contains("30 tokens billed for 90 characters received, 33.3 per 100 characters against official's 22.2 (1.50x)"), "{}", c.findings[0].message);
    }

    const API: [u64; 6] = [29, 31, 35, 45, 38, 41];

    #[test]
    fn the_same_counts_are_silent() {
        let c = compare(&counts(&API, &API), Some((&counts(&API, &API), "official")));
        assert!(c.same && c.findings.is_empty(), "{c:?}");
        assert!(c.detail.contains("billed as official on 6 texts"), "{}", c.detail);
    }

    #[test]
    fn another_tokenizer_is_named_with_its_ratios() {
        let other = [29, 44, 50, 45, 20, 41];
        let c = compare(&counts(&other, &other), Some((&counts(&API, &API), "official")));
        assert_eq!(c.findings.len(), 1, "the bill and count_tokens differ alike, said once: {c:?}");
        assert!(c.findings[0].message.starts_with("billed and count_tokens: another tokenizer"), "{}", c.findings[0].message);
        assert!(c.findings.iter().all(|f| f.rule == Rule::IdentityTokenizer));
        assert!(c.findings[0].message.contains("chinese 44/31 (1.42x)"), "{}", c.findings[0].message);
        assert!(c.findings[0].message.contains("english 29/29 (1.00x)"), "{}", c.findings[0].message);
    }

    #[test]
    fn a_prompt_added_to_every_request_is_told_from_another_tokenizer() {
        let added: Vec<u64> = API.iter().map(|n| n + 12).collect();
        // The bill grows by the added prompt; count_tokens, answered elsewhere, does not.
        let c = compare(&counts(&added, &API), Some((&counts(&API, &API), "official")));
        assert_eq!(c.findings.len(), 2, "{c:?}");
        assert!(c.findings[0].message.contains("+12 input tokens on every text"), "{}", c.findings[0].message);
        assert!(c.findings[1].message.contains("count_tokens disagrees with the bill"), "{}", c.findings[1].message);
    }

    #[test]
    fn a_count_that_never_answered_compares_only_what_there_is() {
        let mut ours = counts(&API, &API);
        ours.texts.iter_mut().for_each(|t| t.counted = None);
        let c = compare(&ours, Some((&counts(&API, &API), "file")));
        assert!(c.same, "{c:?}");
        ours.texts.iter_mut().for_each(|t| t.billed = None);
        ours.output = None;
        assert!(compare(&ours, Some((&counts(&API, &API), "file"))).detail.contains("no text"));
    }

    #[test]
    fn without_a_reference_only_the_count_against_the_bill_is_judged() {
        let near: Vec<u64> = API.iter().map(|n| n + 1).collect();
        let c = compare(&counts(&API, &near), None);
        assert!(c.same && c.detail == "count_tokens agrees with the bill", "{c:?}");
        let far: Vec<u64> = API.iter().map(|n| n + 9).collect();
        let c = compare(&counts(&API, &far), None);
        assert_eq!(c.findings.len(), 1, "{c:?}");
    }
}
