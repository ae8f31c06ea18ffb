//! The file names of a report folder, defined once: the writers, the readers and the pages
//! that link to them use these.

/// The canonical report of one run.
pub const REPORT_JSON: &str = "report.json";
/// The Markdown summary.
pub const SUMMARY_MD: &str = "summary.md";
/// The JUnit XML for CI systems.
pub const JUNIT_XML: &str = "junit.xml";
/// The HTML report.
pub const REPORT_HTML: &str = "report.html";
/// The comparison of several targets, in the run folder above their reports.
pub const COMPARISON_JSON: &str = "comparison.json";
