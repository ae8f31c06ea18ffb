//! Which channel served the target, per model: the verdict, how far its evidence goes,
//! and the raw counts of every fingerprint beside it, for a person to check
//! (PROTOCOL.md §9). The verdict is a summary; the signals are the evidence.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::conformance::channel::{verdict, Evidence, LimitMotion};
use crate::conformance::fingerprint::Signal;
use crate::conformance::limits::LimitSummary;
use crate::tokenizer::TokenCounts;

/// The channel section of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthenticityInfo {
    /// One entry per model requested.
    pub models: Vec<ModelChannel>,
    /// Relay or gateway programs named by their headers.
    pub gateways: Vec<String>,
    /// The model scan, when the run made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanInfo>,
    /// The fixed texts' token counts, and how they stand against the reference's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<TokenizerInfo>,
}

/// The tokenizer check of one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerInfo {
    /// Every text's counts (`relaybench fingerprint save` keeps these).
    pub counts: TokenCounts,
    /// What they were held against: a target of the run, or a reference file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Whether nothing differed.
    pub same: bool,
    /// The verdict in a line.
    pub detail: String,
}

/// What the model scan asked and where its list came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanInfo {
    /// Where the model ids came from (`GET /v1/models`, the catalog, the scenario).
    pub source: String,
    /// The models to scan, in order.
    pub models: Vec<String>,
    /// The most it could send and be billed, as printed before it started.
    pub bound: String,
    /// Models scanned before the run ended (fewer than listed after an interrupt).
    pub scanned: u64,
}

/// One model's verdict and evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelChannel {
    /// The model requested.
    pub model: String,
    /// `anthropic`, `bedrock`, `vertex`, `subscription`, `unknown` or `disguised`.
    pub channel: String,
    /// `proof`, `strong` or `weak`.
    pub confidence: String,
    /// Answers fingerprinted.
    pub responses: u64,
    /// With answers through more than one channel: each channel's count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mixed: BTreeMap<String, u64>,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// Every fingerprint seen, with its count and one example.
    pub signals: Vec<SignalInfo>,
    /// The capture file of an answer on the verdict's channel, when one was captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
}

/// One shape of one fingerprint over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalInfo {
    /// What was looked at (`message_id`, `usage.inference_geo`, `gateway`…).
    pub signal: String,
    /// What it looked like (`msg_base62`, `absent`, `litellm`…).
    pub shape: String,
    /// Answers that showed it.
    pub count: u64,
    /// The first value it was read from.
    pub example: String,
}

/// What the run's rate-limit headers did: frozen when `limits.static-headers` fired,
/// moving when `remaining` fell with the requests sent.
pub fn motion(limits: &LimitSummary, static_findings: u64) -> LimitMotion {
    match (static_findings, limits.falls) {
        (1.., _) => LimitMotion::Static,
        (0, 1..) => LimitMotion::Moving,
        _ => LimitMotion::Unknown,
    }
}

/// The section, for a run that fingerprinted any answer.
pub fn build(evidence: &Evidence, motion: LimitMotion) -> Option<AuthenticityInfo> {
    if evidence.models.is_empty() {
        return None;
    }
    let mut gateways = Vec::new();
    let models = evidence
        .models
        .iter()
        .map(|(model, m)| {
            let v = verdict(m, motion);
            for (signal, shape) in m.signals.keys() {
                if *signal == Signal::Gateway && !gateways.iter().any(|g| g == shape.id()) {
                    gateways.push(shape.id().to_owned());
                }
            }
            ModelChannel {
                model: model.clone(),
                channel: v.channel.id().to_owned(),
                confidence: v.confidence.id().to_owned(),
                responses: m.responses,
                mixed: v.mixed.iter().map(|(c, n)| (c.id().to_owned(), *n)).collect(),
                reasons: v.reasons,
                signals: m
                    .signals
                    .iter()
                    .map(|((signal, shape), s)| SignalInfo { signal: signal.id().to_owned(), shape: shape.id().to_owned(), count: s.count, example: s.example.clone() })
                    .collect(),
                capture: m.channels.get(&v.channel).and_then(|c| c.capture.clone()),
            }
        })
        .collect();
    Some(AuthenticityInfo { models, gateways, scan: None, tokenizer: None })
}

/// A verdict in a table cell: `bedrock (proof)`, or the channels of a mixed routing.
pub fn short(m: &ModelChannel) -> String {
    match mixed(m) {
        None => format!("{} ({})", m.channel, m.confidence),
        Some(parts) => format!("mixed: {parts}"),
    }
}

/// Each channel of a mixed routing with its count (`24 anthropic, 16 bedrock`).
fn mixed(m: &ModelChannel) -> Option<String> {
    let parts: Vec<String> = m.mixed.iter().map(|(c, n)| format!("{n} {c}")).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

impl AuthenticityInfo {
    /// One line per model, and one naming the gateways, for the summaries.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .models
            .iter()
            .map(|m| {
                let mixed = mixed(m).map(|parts| format!(", MIXED ROUTING: {parts}")).unwrap_or_default();
                format!("channel: {} → {} ({} evidence, {} responses{mixed})", m.model, m.channel, m.confidence, m.responses)
            })
            .collect();
        if !self.gateways.is_empty() {
            lines.push(format!("gateway software: {}", self.gateways.join(", ")));
        }
        if let Some(t) = &self.tokenizer {
            lines.push(format!("tokenizer of {}: {}", t.counts.model, t.detail));
        }
        if let Some(scan) = &self.scan {
            lines.push(format!("model scan: {} of {} models from {} ({})", scan.scanned, scan.models.len(), scan.source, scan.bound));
        }
        lines
    }
}
