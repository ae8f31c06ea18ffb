//! Negative probes: requests that must fail, with the status and `error.type` the
//! protocol requires (PROTOCOL.md §3 and §5). Each is sent once, before the load, and
//! the finding says what came back instead.

use bytes::Bytes;
use serde_json::json;
use tokio::time::Instant;

use crate::client::Client;
use crate::stop::Stop;
use crate::conformance::{Finding, Rule};

/// Built-in probe names, in the order they run.
pub const BUILTIN: [&str; 8] = [
    "missing-max-tokens",
    "body-not-json",
    "wrong-key",
    "no-key",
    "unknown-model",
    "temperature-out-of-range",
    "thinking-budget-above-max-tokens",
    "malformed-tool-name",
];

/// A model id no provider serves.
pub const UNKNOWN_MODEL: &str = "relaybench-no-such-model";

/// A body cut off mid-message, as a client that died while writing sends it: a relay
/// must answer 400 `invalid_request_error`, not pass it on or fail with a 500.
const BROKEN_BODY: &str = r#"{"model": "MODEL", "max_tokens": 64, "messages": [{"role": "user", "content": "probe""#;

/// Which key a probe presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKey {
    /// The target's own.
    Target,
    /// A deliberately wrong one.
    Wrong,
    /// None at all: no `x-api-key`, no `Authorization`.
    Missing,
}

/// One probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Name in the report.
    pub name: String,
    /// The request body, sent byte for byte (JSON, or deliberately not).
    pub body: String,
    /// The key it presents.
    pub key: ProbeKey,
    /// Status the protocol requires.
    pub expect_status: u16,
    /// `error.type` the protocol requires.
    pub expect_error_type: String,
}

/// The built-in probe `name` for `model`.
pub fn builtin(name: &str, model: &str) -> Option<Probe> {
    let mut body = json!({"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "probe"}]});
    let (status, error_type, key) = match name {
        "missing-max-tokens" => {
            body.as_object_mut()?.remove("max_tokens");
            (400, "invalid_request_error", ProbeKey::Target)
        }
        "body-not-json" => (400, "invalid_request_error", ProbeKey::Target),
        "wrong-key" => (401, "authentication_error", ProbeKey::Wrong),
        "no-key" => (401, "authentication_error", ProbeKey::Missing),
        "unknown-model" => {
            body["model"] = json!(UNKNOWN_MODEL);
            (404, "not_found_error", ProbeKey::Target)
        }
        "temperature-out-of-range" => {
            body["temperature"] = json!(5);
            (400, "invalid_request_error", ProbeKey::Target)
        }
        "thinking-budget-above-max-tokens" => {
            body["max_tokens"] = json!(1100);
            body["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
            (400, "invalid_request_error", ProbeKey::Target)
        }
        "malformed-tool-name" => {
            body["tools"] = json!([{"name": "bad name!", "input_schema": {"type": "object"}}]);
            (400, "invalid_request_error", ProbeKey::Target)
        }
        _ => return None,
    };
    let body = match name {
        "body-not-json" => BROKEN_BODY.replace("MODEL", &model.replace('"', "")),
        _ => body.to_string(),
    };
    Some(Probe {
        name: name.to_owned(),
        body,
        key,
        expect_status: status,
        expect_error_type: error_type.to_owned(),
    })
}

/// What one probe got.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    /// The probe.
    pub probe: Probe,
    /// Status received, if any.
    pub status: Option<u16>,
    /// `error.type` received, if any.
    pub error_type: Option<String>,
    /// Whether status and `error.type` both matched.
    pub passed: bool,
    /// Findings on the response, including `probe.unexpected-response` when it failed.
    pub findings: Vec<Finding>,
}

/// The clients probes are sent with, one per [`ProbeKey`].
pub struct ProbeClients {
    /// With the target's key.
    pub target: Client,
    /// With a wrong key.
    pub wrong_key: Client,
    /// With no key.
    pub no_key: Client,
}

impl ProbeClients {
    fn for_key(&self, key: ProbeKey) -> &Client {
        match key {
            ProbeKey::Target => &self.target,
            ProbeKey::Wrong => &self.wrong_key,
            ProbeKey::Missing => &self.no_key,
        }
    }
}

/// Sends each probe once, in order, with the client its key calls for.
pub async fn run(clients: &ProbeClients, probes: &[Probe]) -> Vec<ProbeResult> {
    run_until(clients, probes, &Stop::default()).await
}

/// [`run`], ended at once by `stop` (an interrupt): the probes answered so far are
/// returned, the one in flight is not.
pub async fn run_until(clients: &ProbeClients, probes: &[Probe], stop: &Stop) -> Vec<ProbeResult> {
    let mut results = Vec::with_capacity(probes.len());
    for probe in probes {
        let sender = clients.for_key(probe.key);
        let body = Bytes::from(probe.body.clone());
        let outcome = tokio::select! {
            o = sender.execute(body, 0, false, None, Instant::now()) => o,
            _ = stop.wait() => break,
        };
        let status_ok = outcome.status == Some(probe.expect_status);
        let passed = status_ok && outcome.error_type.as_deref() == Some(probe.expect_error_type.as_str());
        let mut findings = outcome.findings;
        // With the right status, a wrong error.type is already envelope.status-mismatch
        // (the status fixes the type), so the probe rule judges the status alone.
        if !status_ok {
            let got = match (outcome.status, &outcome.error_type) {
                (Some(s), Some(t)) => format!("{s} {t}"),
                (Some(s), None) => format!("{s} without an error.type"),
                (None, _) => outcome.detail.clone().unwrap_or_else(|| "no response".into()),
            };
            let message = format!(
                "{}: expected {} {}, got {got}",
                probe.name, probe.expect_status, probe.expect_error_type
            );
            let excerpt = outcome.detail.unwrap_or_default();
            findings.push(Finding::new(Rule::ProbeUnexpectedResponse, None, message, excerpt.as_bytes()));
        }
        results.push(ProbeResult {
            probe: probe.clone(),
            status: outcome.status,
            error_type: outcome.error_type,
            passed,
            findings,
        });
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_exists_and_the_mock_rejects_each_as_expected() {
        let models = vec!["m".to_owned()];
        for name in BUILTIN {
            let probe = builtin(name, "m").expect(name);
            if probe.key != ProbeKey::Target {
                continue; // the key is a header, not the body
            }
            let rejection = crate::conformance::validate::validate(probe.body.as_bytes(), &models)
                .expect_err(name);
            assert_eq!(rejection.status, probe.expect_status, "{name}");
            assert_eq!(rejection.error_type, probe.expect_error_type, "{name}");
        }
        assert!(builtin("nope", "m").is_none());
    }
}
