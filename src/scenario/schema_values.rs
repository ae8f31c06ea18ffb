//! The JSON Schema of values the scenario loader reads through its own functions (a
//! duration, a name checked against a list, a threshold expression), for the fields whose
//! Rust type says less than the loader checks. Each schema is built from the same constants
//! and lists the loader checks against; `schema.rs` puts the whole schema together.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Value};

use super::duration::LONGEST;

/// Defines a marker type whose schema is a named definition built by `$build`.
macro_rules! marker {
    ($(#[$doc:meta])* $name:ident, $title:literal, $build:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                $title.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let build: fn() -> Value = $build;
                Schema::try_from(build()).unwrap_or_default()
            }
        }
    };
}

marker!(
    /// `250ms`, `2s`, `1.5s`, `3m`, `1h`, `90us`, or a number of seconds ([`super::duration::parse`]).
    Duration,
    "Duration",
    || json!({
        "description": "A duration: a number with a unit (us, ms, s, m, h), such as 250ms, 2s or 1m, or a bare number of seconds; at most 30 days.",
        "anyOf": [
            {"type": "string", "pattern": "^\\s*[0-9]*\\.?[0-9]+\\s*(us|µs|ms|s|m|h)?\\s*$"},
            {"type": "number", "minimum": 0, "maximum": LONGEST.as_secs()}
        ]
    })
);

marker!(
    /// A name that also names a report folder (`visit::report_name`).
    ReportName,
    "ReportName",
    || json!({
        "description": "1-64 characters of letters, digits, '-', '_' or '.': it names a report folder.",
        "type": "string",
        "pattern": "^[A-Za-z0-9._-]{1,64}$"
    })
);

marker!(
    /// A threshold expression ([`crate::thresholds::parse`]).
    Threshold,
    "Threshold",
    || {
        let expression = json!({"type": "string", "pattern": crate::thresholds::pattern()});
        json!({
            "description": "A pass/fail expression over the report: METRIC.STAT OP VALUE (such as `ttft.p95 < 800ms`) or a run-level figure (such as `error_rate < 1%`); or {threshold, abort_on_fail, delay} to stop the run as soon as it fails while the load goes.",
            "anyOf": [
                expression,
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["threshold"],
                    "properties": {
                        "threshold": expression,
                        "abort_on_fail": {"type": "boolean", "description": "Stop the run as soon as the threshold fails (k6's abortOnFail)."},
                        "delay": {"$ref": "#/$defs/Duration", "description": "Not judged before this long into the load."}
                    }
                }
            ]
        })
    }
);

marker!(
    /// `all` or feature case names ([`crate::features::all`]).
    FeatureList,
    "FeatureList",
    || json!({
        "description": "`all`, or a list of feature case names (`relaybench features` lists them).",
        "anyOf": [
            {"const": "all"},
            {"type": "array", "items": {"enum": crate::features::all()}}
        ]
    })
);

marker!(
    /// The models of the authenticity scan ([`super::model_scan::ModelScan`]).
    ModelScan,
    "ModelScan",
    || json!({
        "description": "`all` (every model the target lists at GET /v1/models, else the catalog's), or a list of model ids.",
        "anyOf": [
            {"const": "all"},
            {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": super::model_scan::MAX_SCAN_MODELS, "uniqueItems": true}
        ]
    })
);

marker!(
    /// A catalog id ([`crate::provider::CATALOG`]).
    ProviderId,
    "ProviderId",
    || json!({
        "description": "A provider of the built-in catalog (`relaybench providers` lists them).",
        "enum": crate::provider::CATALOG.iter().map(|p| p.id).collect::<Vec<_>>()
    })
);

marker!(
    /// A rule the mock can break on purpose ([`crate::mock::quirk::available`]).
    Quirk,
    "Quirk",
    || json!({
        "description": "A conformance rule id the mock breaks on purpose.",
        "enum": crate::mock::quirk::available().map(|r| r.id()).collect::<Vec<_>>()
    })
);

marker!(
    /// A channel the mock dresses its answers as ([`crate::mock::channel::MockChannel`]).
    MockChannel,
    "MockChannel",
    || json!({
        "description": "The channel the mock's answers look like they came through.",
        "enum": crate::mock::channel::MockChannel::ALL.iter().map(|c| c.id()).collect::<Vec<_>>()
    })
);

marker!(
    /// Relay software the mock plays in front of itself ([`crate::mock::channel::MockGateway`]).
    MockGateway,
    "MockGateway",
    || json!({
        "description": "Relay software the mock plays in front of itself.",
        "enum": crate::mock::channel::MockGateway::ALL.iter().map(|g| g.id()).collect::<Vec<_>>()
    })
);

marker!(
    /// The name of an environment variable, never the key (`target::env_var_name`).
    EnvVarName,
    "EnvVarName",
    || json!({
        "description": "The NAME of the environment variable that holds the key, never the key itself.",
        "type": "string",
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"
    })
);

marker!(
    /// Per-request records ([`super::RecordsMode`]).
    Records,
    "Records",
    || json!({
        "description": "Write requests.jsonl: true, false, or a format (jsonl, gzip).",
        "anyOf": [{"type": "boolean"}, {"enum": ["off", "jsonl", "gzip", "true", "false"]}]
    })
);

marker!(
    /// The distribution names [`super::size`] reads.
    DistributionName,
    "DistributionName",
    || json!({"enum": ["uniform", "normal", "lognormal", "empirical"]})
);

marker!(
    /// A share, `50%` or `0.5` (`abort.error_rate`).
    Share,
    "Share",
    || json!({
        "description": "A share: a number from 0 to 1, or a percentage such as 50%.",
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": 1},
            {"type": "string", "pattern": "^\\s*[0-9]*\\.?[0-9]+\\s*%\\s*$"}
        ]
    })
);

marker!(
    /// `tls.min_version`: one of [`crate::client::tls::TlsVersion::NAMES`].
    TlsVersion,
    "TlsVersion",
    || json!({"description": "The lowest TLS version accepted.", "enum": crate::client::tls::TlsVersion::NAMES})
);

marker!(
    /// `tls.alpn`: one of [`crate::client::tls::Alpn::NAMES`].
    Alpn,
    "Alpn",
    || json!({"description": "The HTTP versions offered: http1, http2, or auto (both; the server chooses).", "enum": crate::client::tls::Alpn::NAMES})
);

marker!(
    /// `tls.insecure`: true, false or `force` ([`super::net_spec::Insecure`]).
    Insecure,
    "Insecure",
    || json!({"description": "true or false, or force to accept any certificate even for a public host of the catalog.", "anyOf": [{"type": "boolean"}, {"const": "force"}]})
);
