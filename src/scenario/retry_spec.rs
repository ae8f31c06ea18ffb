//! `retry:` as a scenario writes it: off (the default), `sdk` (the official SDK's policy),
//! or a policy of its own.

use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::duration::HumanDuration;
use crate::retry::{Policy, RetryOn};

/// How failed requests are retried.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RetrySpec {
    /// Not retried (`false`, `none`, or no `retry:`).
    #[default]
    Off,
    /// The official SDK's policy (`sdk`).
    Sdk,
    /// A policy of the scenario's own.
    Custom(Policy),
}

impl RetrySpec {
    /// The policy, when requests are retried.
    pub fn policy(&self) -> Option<Policy> {
        match self {
            RetrySpec::Off => None,
            RetrySpec::Sdk => Some(Policy::sdk()),
            RetrySpec::Custom(p) => Some(p.clone()),
        }
    }
}

/// A policy as written; what is left out is the SDK's.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RetryPolicy")]
pub(super) struct Written {
    /// Retries after the first attempt, at most (0 to 10; the SDK's 2).
    #[serde(default)]
    #[schemars(range(max = MOST_RETRIES))]
    max: Option<u32>,
    /// The first backoff, doubled by each retry (the SDK's 0.5s).
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    initial: Option<HumanDuration>,
    /// The longest backoff (the SDK's 8s).
    #[serde(default)]
    #[schemars(with = "Option<super::schema_values::Duration>")]
    max_delay: Option<HumanDuration>,
    /// The share a backoff may be shortened at random, 0 to 1 (the SDK's 0.25).
    #[serde(default)]
    #[schemars(range(min = 0, max = 1))]
    jitter: Option<f64>,
    /// What is retried: statuses (100 to 599), `5xx`, `connect`, `timeout` (the SDK's:
    /// 408, 409, 429, 5xx, connect, timeout).
    #[serde(default)]
    on: Option<Vec<serde_json::Value>>,
    /// Obey `x-should-retry`, `retry-after-ms` and `retry-after` (the SDK does).
    #[serde(default)]
    obey_headers: Option<bool>,
}

/// Most retries a policy may ask for.
const MOST_RETRIES: u32 = 10;
/// Longest backoff a policy may ask for.
const LONGEST_BACKOFF: Duration = Duration::from_secs(600);

impl Written {
    fn policy(self) -> Result<Policy, String> {
        let sdk = Policy::sdk();
        let max_retries = self.max.unwrap_or(sdk.max_retries);
        if max_retries > MOST_RETRIES {
            return Err(format!("retry.max must be at most {MOST_RETRIES}"));
        }
        let initial = self.initial.map_or(sdk.initial, |d| d.0);
        let max_delay = self.max_delay.map_or(sdk.max_delay, |d| d.0);
        if initial > LONGEST_BACKOFF || max_delay > LONGEST_BACKOFF || initial > max_delay {
            return Err("retry.initial and retry.max_delay must be at most 10m, initial no longer than max_delay".into());
        }
        let jitter = self.jitter.unwrap_or(sdk.jitter);
        if !(0.0..=1.0).contains(&jitter) {
            return Err("retry.jitter is a share, from 0 to 1".into());
        }
        let on = match self.on {
            None => sdk.on,
            Some(items) => retry_on(&items)?,
        };
        let obey_headers = self.obey_headers.unwrap_or(true);
        Ok(Policy { name: "custom", max_retries, on, initial, max_delay, jitter, obey_headers, header_cap: None })
    }
}

/// `on:` items: statuses, `5xx`, `connect`, `timeout`.
fn retry_on(items: &[serde_json::Value]) -> Result<RetryOn, String> {
    let mut on = RetryOn { statuses: Vec::new(), connect: false, timeout: false };
    for item in items {
        match (item.as_u64(), item.as_str()) {
            (Some(s @ 100..=599), _) => on.statuses.push(s as u16),
            (_, Some("5xx")) => on.statuses.extend(500..=599),
            (_, Some("connect")) => on.connect = true,
            (_, Some("timeout")) => on.timeout = true,
            _ => return Err(format!("retry.on: {item} is not a status (100 to 599), 5xx, connect or timeout")),
        }
    }
    on.statuses.sort_unstable();
    on.statuses.dedup();
    Ok(on)
}

impl<'de> Deserialize<'de> for RetrySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Flag(bool),
            Name(String),
            Policy(Written),
        }
        match Form::deserialize(d)? {
            Form::Flag(false) => Ok(RetrySpec::Off),
            Form::Flag(true) => Ok(RetrySpec::Sdk),
            Form::Name(name) => match name.as_str() {
                "sdk" => Ok(RetrySpec::Sdk),
                "none" => Ok(RetrySpec::Off),
                other => Err(de::Error::custom(format!("retry: {other:?} is not a policy; write sdk, none, or {{max, initial, max_delay, jitter, on, obey_headers}}"))),
            },
            Form::Policy(w) => w.policy().map(RetrySpec::Custom).map_err(de::Error::custom),
        }
    }
}

impl schemars::JsonSchema for RetrySpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Retry".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let written = generator.subschema_for::<Written>();
        schemars::json_schema!({
            "description": "How failed requests are retried: `sdk` (the official SDK's policy), `none`, or a policy of your own.",
            "anyOf": [{"enum": ["sdk", "none"]}, {"type": "boolean"}, written]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Result<RetrySpec, String> {
        crate::yaml::from_str::<RetrySpec>(yaml).map_err(|e| e.message)
    }

    #[test]
    fn a_policy_is_named_or_written_and_checked() {
        assert_eq!(read("sdk"), Ok(RetrySpec::Sdk));
        assert_eq!(read("none"), Ok(RetrySpec::Off));
        let custom = read("{max: 5, initial: 100ms, on: [429, 5xx, connect]}").expect("valid").policy().expect("a policy");
        assert_eq!((custom.max_retries, custom.initial, custom.max_delay), (5, Duration::from_millis(100), Duration::from_secs(8)));
        assert!(custom.on.statuses.contains(&429) && custom.on.statuses.contains(&503) && !custom.on.statuses.contains(&408));
        assert!(custom.on.connect && !custom.on.timeout);
        assert!(read("{max: 50}").expect_err("too many").contains("at most 10"));
        assert!(read("{on: [teapot]}").expect_err("unknown").contains("not a status"));
        assert!(read("sometimes").expect_err("unknown").contains("not a policy"));
    }
}
