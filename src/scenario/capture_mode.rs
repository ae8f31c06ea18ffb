//! Which responses a run keeps as capture files (`capture:`, `run --capture`).

use serde::Deserialize;

/// Which responses a run writes to capture files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMode {
    /// None.
    #[default]
    None,
    /// Responses that failed or broke a rule (an error or a warning).
    Failed,
    /// Every response, up to the count limit.
    All,
}

impl CaptureMode {
    /// The mode named `name`.
    pub fn parse(name: &str) -> Result<CaptureMode, String> {
        match name {
            "none" => Ok(CaptureMode::None),
            "failed" => Ok(CaptureMode::Failed),
            "all" => Ok(CaptureMode::All),
            other => Err(format!("unknown capture mode {other:?}: use none, failed or all")),
        }
    }
}
