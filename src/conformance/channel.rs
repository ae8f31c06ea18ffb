//! Which channel served a target's answers, per model: the fingerprints of every response
//! counted, each response placed on a channel, and a verdict that is never stronger than
//! its evidence (PROTOCOL.md §9). Near-proof signals decide; forgeable ones only add; a
//! response that looks like the API on the forgeable signals but lacks several fields the
//! API always sends is a disguise. None of it is a protocol violation: it is what a buyer
//! reads beside the raw counts.

use std::collections::BTreeMap;

use super::fingerprint::{Fingerprint, Shape, Signal};

/// Where an answer came from. The ids are report fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// The Anthropic API.
    Anthropic,
    /// Amazon Bedrock.
    Bedrock,
    /// Google Vertex AI.
    Vertex,
    /// A Claude subscription (its unified rate-limit headers).
    Subscription,
    /// Not the API, and not recognisably any other.
    Unknown,
    /// Dressed as the API on the forgeable signals, lacking what the API always sends.
    Disguised,
}

impl Channel {
    /// Stable id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Channel::Anthropic => "anthropic",
            Channel::Bedrock => "bedrock",
            Channel::Vertex => "vertex",
            Channel::Subscription => "subscription",
            Channel::Unknown => "unknown",
            Channel::Disguised => "disguised",
        }
    }
}

/// How far the evidence goes. The ids are report fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    /// Only forgeable signals, or few responses.
    Weak,
    /// Signals relays are not known to forge.
    Strong,
    /// A signal only that channel sends (a leaked model id, a platform's id prefix).
    Proof,
}

impl Confidence {
    /// Stable id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Confidence::Weak => "weak",
            Confidence::Strong => "strong",
            Confidence::Proof => "proof",
        }
    }
}

/// A verdict on fewer responses than this is weak unless a signal proves it.
pub const MIN_RESPONSES: u64 = 10;
/// Models kept apart per target; answers for more are counted under [`OTHER_MODELS`], so a
/// server naming a new model in every answer cannot grow a run's memory.
pub const MAX_MODELS: usize = 32;
/// The key of the answers past [`MAX_MODELS`].
pub const OTHER_MODELS: &str = "(other models)";

/// The channel only this shape of this signal comes from.
fn proof(signal: Signal, shape: Shape) -> Option<Channel> {
    match (signal, shape) {
        (Signal::MessageId, Shape::MsgBedrock) | (Signal::Model, Shape::BedrockModel | Shape::KiroModel) => Some(Channel::Bedrock),
        (Signal::MessageId, Shape::MsgVertex | Shape::ReqVertex) | (Signal::ToolId, Shape::ToolN) | (Signal::ThinkingSignature, Shape::HashSignature) => {
            Some(Channel::Vertex)
        }
        (Signal::SubscriptionHeaders, Shape::Present) => Some(Channel::Subscription),
        _ => None,
    }
}

/// Shapes the API never sends: without a proof, the answer came from elsewhere.
fn foreign(signal: Signal, shape: Shape) -> bool {
    matches!(
        (signal, shape),
        (Signal::MessageId, Shape::MsgUuid | Shape::MsgTwice | Shape::Uuid | Shape::Other) | (Signal::ToolId, Shape::Tooluse | Shape::Other) | (Signal::Model, Shape::Other)
    )
}

/// What the API always sends that this response lacks, by name.
pub fn missing(fp: &Fingerprint) -> Vec<&'static str> {
    let mut gone = Vec::new();
    for signal in [Signal::ServiceTier, Signal::InferenceGeo, Signal::CacheCreation] {
        if fp.shape(signal) == Some(Shape::Absent) {
            gone.push(signal.id());
        }
    }
    if fp.shape(Signal::RateLimitHeaders).is_some_and(|s| s != Shape::AnthropicHeaders) {
        gone.push(Signal::RateLimitHeaders.id());
    }
    if matches!(fp.shape(Signal::ThinkingSignature), Some(Shape::EmptySignature | Shape::ShortSignature)) {
        gone.push(Signal::ThinkingSignature.id());
    }
    gone
}

/// The channel of one response, and how sure it is.
pub fn classify(fp: &Fingerprint) -> (Channel, Confidence) {
    let mut proven: Vec<Channel> = fp.observed.iter().filter_map(|o| proof(o.signal, o.shape)).collect();
    proven.dedup();
    match proven.as_slice() {
        [one] => return (*one, Confidence::Proof),
        [] => {}
        _ => return (Channel::Unknown, Confidence::Weak),
    }
    if fp.shape(Signal::CloudHeaders) == Some(Shape::AmazonHeaders) {
        return (Channel::Bedrock, Confidence::Strong);
    }
    if fp.observed.iter().any(|o| foreign(o.signal, o.shape)) {
        return (Channel::Unknown, Confidence::Weak);
    }
    match missing(fp).len() {
        0 if fp.shape(Signal::InferenceGeo) == Some(Shape::Present) => (Channel::Anthropic, Confidence::Strong),
        0 | 1 => (Channel::Anthropic, Confidence::Weak),
        2 => (Channel::Disguised, Confidence::Weak),
        _ => (Channel::Disguised, Confidence::Strong),
    }
}

/// One shape of one signal over a run: how often, and one example.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalCount {
    /// Responses that showed it.
    pub count: u64,
    /// The first value it was read from.
    pub example: String,
}

/// Responses placed on one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelCount {
    /// How many.
    pub count: u64,
    /// The most any of them proved.
    pub confidence: Confidence,
    /// The capture file of the first one captured, for a person to read.
    pub capture: Option<String>,
}

/// Everything a target's answers for one model showed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelEvidence {
    /// Responses fingerprinted.
    pub responses: u64,
    /// Each shape of each signal.
    pub signals: BTreeMap<(Signal, Shape), SignalCount>,
    /// Each channel responses were placed on.
    pub channels: BTreeMap<Channel, ChannelCount>,
    /// Responses with the API's rate-limit headers, and without, indexed by `stream as usize`.
    pub ratelimit_headers: [[u64; 2]; 2],
}

/// A target's evidence, by the model requested.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evidence {
    /// Each model's.
    pub models: BTreeMap<String, ModelEvidence>,
}

impl Evidence {
    /// Counts one response's fingerprint; `capture` names its capture file when it has one.
    pub fn observe(&mut self, fp: &Fingerprint, capture: Option<&str>) {
        let model = fp.requested.as_deref().or_else(|| fp.observed.iter().find(|o| o.signal == Signal::Model).map(|o| o.example.as_str()));
        let mut key = model.unwrap_or("(unnamed)");
        // Looked up before a key is made: nearly every response is of a model seen before.
        if !self.models.contains_key(key) {
            if self.models.len() >= MAX_MODELS {
                key = OTHER_MODELS;
            }
            self.models.entry(key.to_owned()).or_default();
        }
        let Some(m) = self.models.get_mut(key) else { return };
        m.responses += 1;
        for o in &fp.observed {
            let seen = m.signals.entry((o.signal, o.shape)).or_insert_with(|| SignalCount { count: 0, example: o.example.clone() });
            seen.count += 1;
        }
        if let Some(shape) = fp.shape(Signal::RateLimitHeaders) {
            m.ratelimit_headers[usize::from(fp.stream)][usize::from(shape != Shape::AnthropicHeaders)] += 1;
        }
        let (channel, confidence) = classify(fp);
        let c = m.channels.entry(channel).or_insert(ChannelCount { count: 0, confidence, capture: None });
        c.count += 1;
        c.confidence = c.confidence.max(confidence);
        if c.capture.is_none() {
            c.capture = capture.map(str::to_owned);
        }
    }

    /// Adds another part of the run (a sweep step, a phase).
    pub fn merge(&mut self, other: &Evidence) {
        for (model, theirs) in &other.models {
            let m = self.models.entry(model.clone()).or_default();
            m.responses += theirs.responses;
            for (key, s) in &theirs.signals {
                m.signals.entry(*key).or_insert_with(|| SignalCount { count: 0, example: s.example.clone() }).count += s.count;
            }
            for (channel, c) in &theirs.channels {
                let mine = m.channels.entry(*channel).or_insert(ChannelCount { count: 0, confidence: c.confidence, capture: None });
                mine.count += c.count;
                mine.confidence = mine.confidence.max(c.confidence);
                mine.capture = mine.capture.take().or_else(|| c.capture.clone());
            }
            for (mine, theirs) in m.ratelimit_headers.iter_mut().flatten().zip(theirs.ratelimit_headers.iter().flatten()) {
                *mine += theirs;
            }
        }
    }
}

/// What the target's rate-limit headers did over the run, as the limit rules judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitMotion {
    /// `remaining` fell as requests were sent, and never froze.
    Moving,
    /// `remaining` froze over more responses than the limit could refill
    /// (`limits.static-headers`).
    Static,
    /// Too few readings to tell, or none.
    Unknown,
}

/// A model's verdict, with the reasons behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The channel most of its answers came from.
    pub channel: Channel,
    /// How far the evidence goes.
    pub confidence: Confidence,
    /// The answers came through more than one channel: each, with its count.
    pub mixed: Vec<(Channel, u64)>,
    /// Why, in words.
    pub reasons: Vec<String>,
}

/// The verdict on one model's evidence, with the run's rate-limit motion.
pub fn verdict(m: &ModelEvidence, motion: LimitMotion) -> Verdict {
    let known: Vec<(Channel, &ChannelCount)> = m.channels.iter().filter(|(c, _)| **c != Channel::Unknown).map(|(c, n)| (*c, n)).collect();
    let unknown = m.channels.get(&Channel::Unknown).map_or(0, |c| c.count);
    let top = known.iter().max_by_key(|(c, n)| (n.count, std::cmp::Reverse(*c))).copied();
    let mut reasons = Vec::new();
    let (mut channel, mut confidence) = match top {
        Some((c, n)) if n.count >= unknown => (c, n.confidence),
        _ => (Channel::Unknown, Confidence::Weak),
    };
    let mixed: Vec<(Channel, u64)> = if known.len() > 1 { known.iter().map(|(c, n)| (*c, n.count)).collect() } else { Vec::new() };
    if !mixed.is_empty() {
        let parts: Vec<String> = mixed.iter().map(|(c, n)| format!("{n} {}", c.id())).collect();
        reasons.push(format!("mixed routing: answers came through {}", parts.join(", ")));
    }
    if channel == Channel::Anthropic {
        match motion {
            LimitMotion::Static => {
                channel = Channel::Disguised;
                confidence = Confidence::Strong;
                reasons.push("rate-limit headers never moved with the requests sent (limits.static-headers)".to_owned());
            }
            LimitMotion::Moving if confidence == Confidence::Strong => {
                reasons.push("rate-limit headers fell with the requests sent, the hardest signal to forge".to_owned());
            }
            LimitMotion::Moving => {
                confidence = Confidence::Strong;
                reasons.push("rate-limit headers fell with the requests sent, the hardest signal to forge".to_owned());
            }
            LimitMotion::Unknown => {}
        }
    }
    for (signal, shape) in m.signals.keys() {
        if let Some(only) = proof(*signal, *shape) {
            reasons.push(format!("{} {}: only {} sends it", signal.id(), shape.id(), only.id()));
        }
    }
    let absent: Vec<&str> = m
        .signals
        .iter()
        .filter(|((signal, shape), _)| *shape == Shape::Absent && matches!(signal, Signal::ServiceTier | Signal::InferenceGeo | Signal::CacheCreation))
        .map(|((signal, _), _)| signal.id())
        .collect();
    if !absent.is_empty() {
        reasons.push(format!("missing fields the API always sends: {}", absent.join(", ")));
    }
    if m.responses < MIN_RESPONSES && confidence != Confidence::Proof {
        confidence = Confidence::Weak;
        reasons.push(format!("seen on {} responses only (fewer than {MIN_RESPONSES})", m.responses));
    }
    Verdict { channel, confidence, mixed, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use crate::conformance::fingerprint::usage_signals;

    fn api(id: &str, usage: serde_json::Value, limits: bool) -> Fingerprint {
        let mut fp = Fingerprint::from_parts(Some(id), Some("claude-sonnet-4-5"), Some(usage_signals(&usage)), ["toolu_01A"], []);
        let mut headers = http::HeaderMap::new();
        if limits {
            headers.insert("anthropic-ratelimit-requests-remaining", http::HeaderValue::from_static("49"));
        }
        fp.add_headers(&headers);
        fp.requested = Some("claude-sonnet-4-5".into());
        fp
    }

    fn full() -> serde_json::Value {
        json!({"input_tokens": 3, "output_tokens": 1, "service_tier": "standard", "inference_geo": "us", "cache_creation": {}})
    }

    #[test]
    fn the_api_is_anthropic_and_stronger_with_moving_limits() {
        let fp = api("msg_01XFDUDYJgAACzvnptvVoYEL", full(), true);
        assert_eq!(classify(&fp), (Channel::Anthropic, Confidence::Strong));
        let mut ev = Evidence::default();
        for _ in 0..MIN_RESPONSES {
            ev.observe(&fp, None);
        }
        let m = &ev.models["claude-sonnet-4-5"];
        assert_eq!(verdict(m, LimitMotion::Moving).channel, Channel::Anthropic);
        assert_eq!(verdict(m, LimitMotion::Moving).confidence, Confidence::Strong);
        // Frozen counters on an answer that otherwise looks like the API: a disguise.
        assert_eq!(verdict(m, LimitMotion::Static).channel, Channel::Disguised);
    }

    #[test]
    fn a_few_responses_never_make_a_strong_verdict() {
        let mut ev = Evidence::default();
        ev.observe(&api("msg_01XFDUDYJgAACzvnptvVoYEL", full(), true), None);
        let v = verdict(&ev.models["claude-sonnet-4-5"], LimitMotion::Moving);
        assert_eq!((v.channel, v.confidence), (Channel::Anthropic, Confidence::Weak));
        assert!(v.reasons.iter().any(|r| r.contains("seen on 1 responses only")), "{:?}", v.reasons);
    }

    #[test]
    fn a_costume_without_the_always_present_fields_is_disguised() {
        // Forgeable signals all right; inference_geo, cache_creation and the headers gone.
        let fp = api("msg_01XFDUDYJgAACzvnptvVoYEL", json!({"input_tokens": 3, "output_tokens": 1, "service_tier": "standard"}), false);
        assert_eq!(classify(&fp), (Channel::Disguised, Confidence::Strong));
        // An older genuine answer lacking one field stays the API's.
        let older = api("msg_01XFDUDYJgAACzvnptvVoYEL", json!({"input_tokens": 3, "output_tokens": 1, "service_tier": "standard", "cache_creation": {}}), true);
        assert_eq!(classify(&older), (Channel::Anthropic, Confidence::Weak));
    }

    #[test]
    fn proofs_decide_and_conflicts_are_unknown() {
        let bedrock = Fingerprint::from_parts(Some("msg_bdrk_01A"), Some("claude-sonnet-4-5"), Some(usage_signals(&full())), ["toolu_01A"], []);
        assert_eq!(classify(&bedrock), (Channel::Bedrock, Confidence::Proof));
        let vertex = Fingerprint::from_parts(Some("msg_01A"), Some("claude-sonnet-4-5"), Some(usage_signals(&full())), ["tool_0"], ["claude#xyz"]);
        assert_eq!(classify(&vertex), (Channel::Vertex, Confidence::Proof));
        let both = Fingerprint::from_parts(Some("msg_bdrk_01A"), None, None, ["tool_0"], []);
        assert_eq!(classify(&both).0, Channel::Unknown);
        let openai = Fingerprint::from_parts(Some("chatcmpl-1"), Some("gpt-4o"), None, [], []);
        assert_eq!(classify(&openai), (Channel::Unknown, Confidence::Weak));
    }

    #[test]
    fn mixed_routing_is_named_with_its_counts() {
        let mut ev = Evidence::default();
        let api = api("msg_01XFDUDYJgAACzvnptvVoYEL", full(), true);
        let mut bedrock = Fingerprint::from_parts(Some("msg_bdrk_01A"), Some("claude-sonnet-4-5"), Some(usage_signals(&full())), [], []);
        bedrock.requested = api.requested.clone();
        for i in 0..12 {
            ev.observe(if i % 3 == 0 { &bedrock } else { &api }, Some("captures/0001.json"));
        }
        let v = verdict(&ev.models["claude-sonnet-4-5"], LimitMotion::Unknown);
        assert_eq!(v.channel, Channel::Anthropic);
        assert_eq!(v.mixed, [(Channel::Anthropic, 8), (Channel::Bedrock, 4)]);
        assert!(v.reasons[0].starts_with("mixed routing"), "{:?}", v.reasons);
        let mut twice = ev.clone();
        twice.merge(&ev);
        assert_eq!(twice.models["claude-sonnet-4-5"].responses, 24);
        assert_eq!(twice.models["claude-sonnet-4-5"].channels[&Channel::Bedrock].count, 8);
    }

    #[test]
    fn models_past_the_cap_share_one_entry() {
        let mut ev = Evidence::default();
        for i in 0..MAX_MODELS + 5 {
            let fp = Fingerprint { requested: Some(format!("model-{i}")), ..Fingerprint::default() };
            ev.observe(&fp, None);
        }
        assert_eq!(ev.models.len(), MAX_MODELS + 1);
        assert_eq!(ev.models[OTHER_MODELS].responses, 5);
    }
}
