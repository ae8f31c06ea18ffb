//! The report's retry section: what a retry policy did, counted from every attempt.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::RetryCounts;

/// Requests and their attempts under a retry policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetriesInfo {
    /// Requests: each counted once, by its last attempt.
    pub requests: u64,
    /// Attempts, retries included: what the target was sent.
    pub attempts: u64,
    /// Requests that took more than one attempt.
    pub retried: u64,
    /// Of those, the ones whose last attempt succeeded.
    pub succeeded_after_retry: u64,
    /// Requests whose last attempt failed.
    pub failed: u64,
    /// Retries by cause: the status (`429`, `529`, `5xx`…), `x-should-retry`, `connect`,
    /// `timeout`.
    pub by_cause: BTreeMap<String, u64>,
    /// Share of requests whose first attempt failed: the error rate without retries.
    pub first_attempt_error_rate: f64,
    /// Share of requests whose last attempt failed: the error rate a client library's
    /// user sees.
    pub final_error_rate: f64,
}

/// The section, when a retry policy was on.
pub fn build(counts: &RetryCounts) -> Option<RetriesInfo> {
    (counts.attempts > 0).then(|| {
        let share = |n: u64| if counts.requests == 0 { 0.0 } else { n as f64 / counts.requests as f64 };
        RetriesInfo {
            requests: counts.requests,
            attempts: counts.attempts,
            retried: counts.retried,
            succeeded_after_retry: counts.succeeded_after_retry,
            failed: counts.failed,
            by_cause: counts.by_cause.clone(),
            first_attempt_error_rate: share(counts.first_attempt_failed),
            final_error_rate: share(counts.failed),
        }
    })
}

impl RetriesInfo {
    /// One line for the summaries.
    pub fn line(&self) -> String {
        let causes: Vec<String> = self.by_cause.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        let retries = self.attempts - self.requests;
        let causes = if causes.is_empty() { String::new() } else { format!(" ({})", causes.join(", ")) };
        format!(
            "retries: {} requests in {} attempts, {retries} retries{causes}; {} succeeded after retrying, {} failed in the end; error rate {:.2}% on first attempts, {:.2}% after retries",
            self.requests,
            self.attempts,
            self.succeeded_after_retry,
            self.failed,
            self.first_attempt_error_rate * 100.0,
            self.final_error_rate * 100.0
        )
    }
}
