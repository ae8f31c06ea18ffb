//! Fingerprints of the backend behind a relay (PROTOCOL.md §8, identity). The first-party
//! API names messages `msg_…` and tool calls `toolu_…` and reports `usage.service_tier`;
//! cloud resellers and translating relays differ in ways a buyer wants to know. None of
//! it is a violation: ids "may change" (§6), so these are `info`.

use serde_json::Value;

/// What differs from the first-party API, in words; empty when nothing does.
pub fn fingerprints<'a>(message_id: Option<&str>, tool_ids: impl IntoIterator<Item = &'a str>, usage: Option<&Value>) -> Vec<String> {
    let mut seen = Vec::new();
    if let Some(id) = message_id {
        match id {
            _ if id.starts_with("msg_bdrk_") => seen.push(format!("message id {id:?}: Amazon Bedrock")),
            _ if id.starts_with("msg_vrtx_") => seen.push(format!("message id {id:?}: Google Vertex AI")),
            _ if !id.starts_with("msg_") => seen.push(format!("message id {:?} is not msg_…", crate::text::excerpt(id.as_bytes()))),
            _ => {}
        }
    }
    for id in tool_ids {
        if !id.starts_with("toolu_") && !id.starts_with("srvtoolu_") && !id.starts_with("mcptoolu_") {
            seen.push(format!("tool call id {:?} is not toolu_…", crate::text::excerpt(id.as_bytes())));
            break;
        }
    }
    if usage.is_some_and(|u| u.get("service_tier").is_none()) {
        seen.push("usage.service_tier missing".to_owned());
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_party_shape_leaves_no_fingerprint() {
        let usage = json!({"input_tokens": 3, "output_tokens": 1, "service_tier": "standard"});
        assert!(fingerprints(Some("msg_01XFDUDYJgAACzvnptvVoYEL"), ["toolu_01A09q90qw90lq917835lq9"], Some(&usage)).is_empty());
        let relay = fingerprints(Some("msg_bdrk_01Abc"), ["tooluse_Xyz"], Some(&json!({"input_tokens": 3})));
        assert_eq!(relay.len(), 3, "{relay:?}");
        assert!(relay[0].contains("Bedrock") && relay[1].contains("tooluse_Xyz"));
        assert!(fingerprints(Some("chatcmpl-123"), [], None)[0].contains("not msg_"));
    }
}
