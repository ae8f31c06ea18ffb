//! `report.html` of a comparison: the targets side by side — verdicts, latency and
//! throughput as bar groups, each latency distribution with a line per target, findings
//! per rule, the feature matrix, usage and cost — then each target's own breakdowns and
//! findings, linking to its folder.

use super::charts::{self, BarGroup};
use super::comparison::{feature_rows, fault_lines, finding_rows, ranking_line, rows, Comparison, COMPARED_LATENCIES};
use super::html::{breakdowns, distribution, findings, outcomes};
use super::model::Report;
use super::page::{file_link, Page};
use crate::metrics::Metric;

/// Chart titles of the comparison page, defined once.
pub mod titles {
    /// The prefix of each latency's bar chart.
    pub const LATENCY_BARS: &str = "by target";
    /// Requests per second by target.
    pub const THROUGHPUT: &str = "Requests per second by target";
    /// The median request's output tokens per second by target.
    pub const TOKENS: &str = "Output tokens per second by target";
}

/// The folder of a target's report, relative to the comparison, with a trailing slash.
fn folder(report_path: &str) -> String {
    match report_path.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/"),
        None => String::new(),
    }
}

/// Renders the comparison page; `reports` are the targets' reports in column order.
pub fn render(c: &Comparison, reports: &[&Report]) -> String {
    let mut page = Page::new(&format!("relaybench comparison: {}", c.scenario.name));
    page.nav(&[("verdict", "Verdict"), ("latency", "Latency"), ("findings", "Findings"), ("usage", "Usage and cost"), ("targets", "Each target")]);
    page.para(&format!(
        "{} targets ran scenario {} ({}) at the same time, started {}.{}",
        c.targets.len(),
        c.scenario.name,
        c.scenario.file,
        c.started_at,
        if c.partial { " The run was interrupted: this holds what was collected." } else { "" }
    ));
    page.section("verdict", "Verdict");
    for t in &c.targets {
        let passed = t.conformance == "pass" && t.thresholds_failed == 0 && t.probes_passed == t.probes;
        let word = if passed { "PASS" } else { "FAIL" };
        page.verdict(
            Some(passed),
            word,
            &format!(
                " {}: conformance {} ({} violations, {} warnings), probes {}/{}, {} thresholds failed, error rate {:.2}%",
                t.name,
                t.conformance.to_uppercase(),
                t.violations,
                t.warnings,
                t.probes_passed,
                t.probes,
                t.thresholds_failed,
                t.error_rate * 100.0
            ),
        );
    }
    page.para(&ranking_line(c));
    page.table(&rows(c));
    let features = feature_rows(c);
    if features.len() > 1 {
        page.heading("Feature matrix");
        page.table(&features);
    }
    page.section("latency", "Latency and throughput");
    let names: Vec<String> = c.targets.iter().map(|t| t.name.clone()).collect();
    page.begin_charts();
    for id in COMPARED_LATENCIES {
        let groups: Vec<BarGroup> = ["p50", "p95", "p99"]
            .iter()
            .enumerate()
            .map(|(i, stat)| BarGroup {
                label: (*stat).to_owned(),
                values: c.targets.iter().map(|t| t.latency.get(id).map(|p| [p.p50, p.p95, p.p99][i])).collect(),
            })
            .collect();
        if groups.iter().all(|g| g.values.iter().all(Option::is_none)) {
            continue;
        }
        let title = format!("{id} {}", titles::LATENCY_BARS);
        page.figure(charts::bar_chart(&title, "ms", &names, &groups), &format!("{title}: p50, p95 and p99 in ms; bars are numbered in legend order. The numbers are in the table above."), &[]);
    }
    let requests = [BarGroup { label: "requests/s".into(), values: c.targets.iter().map(|t| Some(t.requests_per_s)).collect() }];
    page.figure(charts::bar_chart(titles::THROUGHPUT, "requests/s", &names, &requests), &format!("{}: completed requests per second.", titles::THROUGHPUT), &[]);
    let tokens = [BarGroup { label: "output tok/s p50".into(), values: c.targets.iter().map(|t| Some(t.output_tokens_per_s_p50)).collect() }];
    page.figure(charts::bar_chart(titles::TOKENS, "tokens/s", &names, &tokens), &format!("{}: the median request's output tokens per second.", titles::TOKENS), &[]);
    for metric in Metric::ALL {
        let series: Vec<(String, &super::model::MetricSummary)> = reports
            .iter()
            .filter_map(|r| r.metrics.get(metric.id()).filter(|s| s.count > 0).map(|s| (r.target.name.clone(), s)))
            .collect();
        if !series.is_empty() {
            distribution(&mut page, metric, " by target", &series, Vec::new());
        }
    }
    page.end_charts();
    page.section("findings", "Conformance findings per rule");
    let matrix = finding_rows(c);
    if matrix.len() > 1 {
        page.raw_list(&fault_lines(c).iter().map(|l| super::page::escape(l)).collect::<Vec<_>>());
        page.table(&matrix);
    } else {
        page.para("No rule fired on any target.");
    }
    page.section("usage", "Usage accounting and cost");
    let templates: std::collections::BTreeSet<&String> = c.targets.iter().flat_map(|t| t.input_tokens.keys()).collect();
    let mut usage = vec![std::iter::once("input tokens of the first ok response".to_owned()).chain(names.iter().cloned()).collect::<Vec<_>>()];
    for template in templates {
        usage.push(std::iter::once(template.clone()).chain(c.targets.iter().map(|t| t.input_tokens.get(template).map_or("-".into(), u64::to_string))).collect());
    }
    let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:+.1}%", v * 100.0));
    usage.push(std::iter::once("vs reference".to_owned()).chain(c.targets.iter().map(|t| pct(t.input_tokens_vs_reference))).collect());
    usage.push(std::iter::once("vs median".to_owned()).chain(c.targets.iter().map(|t| pct(t.input_tokens_vs_median))).collect());
    usage.push(std::iter::once("cost of the run".to_owned()).chain(c.targets.iter().map(|t| t.cost_usd.map_or("no prices".into(), |v| format!("${v:.4}")))).collect());
    page.table(&usage);
    page.section("targets", "Each target");
    for (t, r) in c.targets.iter().zip(reports) {
        let dir = folder(&t.report);
        page.heading(&format!("{} ({})", t.name, t.url));
        page.raw_list(&[format!("its report: {}", file_link(&format!("{dir}{}", super::html::REPORT_HTML)))]);
        breakdowns(&mut page, r);
        outcomes(&mut page, r, &dir);
        let id = format!("findings-{}", t.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>());
        findings(&mut page, r, &dir, (&id, &format!("Findings of {}", t.name)));
    }
    page.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_folder_is_the_report_path_without_its_file() {
        assert_eq!(folder("dimilinks/report.json"), "dimilinks/");
        assert_eq!(folder("report.json"), "");
    }
}
