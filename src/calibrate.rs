//! Calibrating the token rule against a target: generated prompts are sized in words
//! (see [`crate::synth`]), and a provider's tokenizer counts them its own way. A handful of
//! `count_tokens` requests with prompts of known sizes fit the target's tokens per
//! generated word and its fixed overhead per request, so a user can size prompts for
//! that target; the report says how the figure was obtained.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::client::Client;

/// Prompt sizes sent, in generated words.
pub const SIZES: [u64; 5] = [100, 200, 400, 800, 1600];

/// What calibration found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// How: `count_tokens`.
    pub method: String,
    /// (generated words, tokens the target counted) per request sent.
    pub points: Vec<(u64, u64)>,
    /// The fitted slope: the target's tokens per generated word.
    pub tokens_per_word: Option<f64>,
    /// The fitted intercept: tokens every request counts besides its words.
    pub overhead_tokens: Option<f64>,
    /// Why it could not be done (the endpoint missing or failing); the per-template input
    /// tokens requested against reported then tell the same from the load's own usage.
    pub error: Option<String>,
}

/// Sends one `count_tokens` request per size in [`SIZES`] and fits a line through the
/// counts; stops at the first failure and says why.
pub async fn calibrate(client: &Client, model: &str, seed: u64) -> Calibration {
    let mut c = Calibration { method: "count_tokens".into(), points: Vec::new(), tokens_per_word: None, overhead_tokens: None, error: None };
    for (n, words) in SIZES.into_iter().enumerate() {
        let prompt = crate::synth::prompt(seed ^ 0x0000_CA11_B8A7, n as u64, words);
        let body = serde_json::json!({"model": model, "messages": [{"role": "user", "content": prompt}]});
        match client.count_tokens(Bytes::from(body.to_string())).await {
            Ok(tokens) => c.points.push((words, tokens)),
            Err(why) => {
                c.error = Some(why);
                return c;
            }
        }
    }
    if let Some((slope, intercept)) = fit(&c.points) {
        c.tokens_per_word = Some(slope);
        c.overhead_tokens = Some(intercept);
    }
    c
}

/// Least squares: the slope and intercept of the line through `points`.
fn fit(points: &[(u64, u64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), &(x, y)| (a + x as f64, b + y as f64));
    let (mx, my) = (sx / n, sy / n);
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(a, b), &(x, y)| (a + (x as f64 - mx) * (y as f64 - my), b + (x as f64 - mx).powi(2)));
    (points.len() >= 2 && sxx > 0.0).then(|| (sxy / sxx, my - sxy / sxx * mx))
}

impl Calibration {
    /// The line summaries print.
    pub fn line(&self) -> String {
        match (&self.error, self.tokens_per_word, self.overhead_tokens) {
            (Some(why), _, _) => format!("calibration: count_tokens failed ({why}); see input req/rep per template"),
            (None, Some(slope), Some(overhead)) => format!(
                "calibration: {slope:.3} tokens per generated word, {overhead:+.1} per request ({} count_tokens requests)",
                self.points.len()
            ),
            _ => "calibration: no fit".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_recovers_a_line() {
        let (slope, intercept) = fit(&[(100, 137), (200, 267), (400, 527), (800, 1047)]).expect("fits");
        assert!((slope - 1.3).abs() < 1e-9 && (intercept - 7.0).abs() < 1e-9, "{slope} {intercept}");
        assert_eq!(fit(&[(100, 100)]), None);
    }
}
