//! What a run is asked and what it ends with: its options, its errors, the targets'
//! reports as written, and the exit code the result deserves.

use std::path::PathBuf;

use crate::client::ClientError;
use crate::load::capture::CaptureMode;
use crate::load::collect::Blocker;
use crate::report::comparison::Comparison;
use crate::report::{self, Report};
use crate::scenario::ScenarioError;

/// Process exit codes, the contract with CI systems and scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every gate passed.
    Ok = 0,
    /// A threshold or conformance gate failed.
    GateFailed = 1,
    /// Bad command line or scenario.
    Usage = 2,
    /// The run could not proceed: target unreachable, or every request refused by auth.
    CannotProceed = 3,
    /// Interrupted by SIGINT or SIGTERM; the report is partial.
    Interrupted = 130,
}

/// Why a run did not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The key's environment variable is not set.
    #[error("target {target} ({url}): environment variable {var} is not set; export it with the API key (the key is read only from the environment)")]
    MissingKey {
        /// Target name (the provider id for a catalog provider).
        target: String,
        /// Target URL.
        url: String,
        /// Variable name.
        var: String,
    },
    /// The target URL or a header is invalid.
    #[error("target: {0}")]
    Client(#[from] ClientError),
    /// The embedded mock could not start.
    #[error("cannot start the embedded mock: {0}")]
    Mock(std::io::Error),
    /// The open-file limit is below what the run's connections need.
    #[error("{0}")]
    OpenFiles(String),
    /// The live metrics address could not be bound.
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        /// Address.
        addr: std::net::SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The report could not be written.
    #[error("cannot write the report under {dir}: {source}")]
    Report {
        /// Folder.
        dir: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

impl RunError {
    /// The exit code this error maps to.
    pub fn exit(&self) -> Exit {
        match self {
            RunError::Scenario(_) | RunError::MissingKey { .. } | RunError::Client(_) => Exit::Usage,
            RunError::Mock(_) | RunError::Report { .. } | RunError::OpenFiles(_) | RunError::Metrics { .. } => Exit::CannotProceed,
        }
    }
}

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the scenario's `output:` folder.
    pub out: Option<PathBuf>,
    /// Install Ctrl-C / SIGTERM handling (off in tests that run several runs at once).
    pub handle_signals: bool,
    /// Print nothing while running.
    pub quiet: bool,
    /// Overrides the scenario's `capture:`.
    pub capture: Option<CaptureMode>,
    /// Writes `requests.jsonl` this way whatever the scenario's `records:` says.
    pub records: Option<crate::scenario::RecordsMode>,
    /// Overrides of scenario fields, `PATH=VALUE` (`load.concurrency=64`).
    pub sets: Vec<String>,
    /// Serve live metrics for Prometheus on this address (`/metrics`).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// How long /metrics stays up after the report is written.
    pub metrics_linger: Option<std::time::Duration>,
    /// This worker's share of a run split across several (`--segment I/N`); the whole run
    /// by default.
    pub segment: crate::load::segment::Segment,
    /// Start the load at this wall-clock time (Unix seconds), so the workers of a split run
    /// share one epoch and a late one shows as send lag.
    pub start_at: Option<f64>,
}

/// One target's part of a finished run.
#[derive(Debug, Clone)]
pub struct TargetRun {
    /// Its report as written.
    pub report: Report,
    /// The folder holding its report files.
    pub dir: PathBuf,
    /// Set when the run could not proceed against it.
    pub blocker: Option<Blocker>,
}

impl TargetRun {
    /// A segment of a split run holds part of the figures its thresholds speak of: they
    /// are judged once, on the merged report (`relaybench merge`), not here.
    fn judges_thresholds(&self) -> bool {
        self.report.segment.is_none_or(|s| s.count == 1)
    }

    /// The exit code this target's result deserves.
    pub fn exit(&self) -> Exit {
        if self.blocker.is_some() {
            Exit::CannotProceed
        } else if self.report.partial {
            Exit::Interrupted
        } else if self.report.aborted.is_some() || self.report.conformance.violations > 0 || (self.judges_thresholds() && report::all_thresholds(&self.report).any(|(_, t)| !t.passed)) {
            Exit::GateFailed
        } else {
            Exit::Ok
        }
    }
}

/// A run that wrote its report (one per target, and the comparison when there are
/// several).
#[derive(Debug, Clone)]
pub struct Finished {
    /// Each target's result, in scenario order.
    pub targets: Vec<TargetRun>,
    /// The run's folder.
    pub dir: PathBuf,
    /// The side-by-side report, when the scenario has several targets.
    pub comparison: Option<Comparison>,
}

impl Finished {
    /// The first (for most scenarios the only) target's report.
    pub fn report(&self) -> &Report {
        &self.targets[0].report
    }

    /// The exit code the result deserves: the most serious over the targets (could not
    /// proceed, then interrupted, then a failed gate).
    pub fn exit(&self) -> Exit {
        let exits: Vec<Exit> = self.targets.iter().map(TargetRun::exit).collect();
        [Exit::CannotProceed, Exit::Interrupted, Exit::GateFailed].into_iter().find(|e| exits.contains(e)).unwrap_or(Exit::Ok)
    }

    /// The file a user opens first: the comparison or the only report.
    pub fn main_file(&self) -> PathBuf {
        match self.comparison {
            Some(_) => self.dir.join(report::comparison::COMPARISON_JSON),
            None => self.targets[0].dir.join(report::REPORT_JSON),
        }
    }
}

