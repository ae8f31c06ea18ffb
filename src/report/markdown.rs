//! A compact Markdown summary: fits a pull-request comment or a CI step summary.

use std::fmt::Write;

use super::{metric_rows, outcome_counts, Report, METRIC_COLUMNS};

/// Renders the summary.
pub fn render(r: &Report) -> String {
    let mut md = String::new();
    let partial = if r.partial { " (partial: interrupted)" } else { "" };
    let _ = writeln!(md, "# relaybench: {}{partial}\n", r.scenario.name);
    let _ = writeln!(
        md,
        "Target `{}` ({}), model `{}`, {}, started {}, {:.1} s.\n",
        r.target.url, r.target.kind, r.target.model, super::load_line(r), r.started_at, r.duration_s
    );
    if let Some(why) = &r.stopped_early {
        let _ = writeln!(md, "**Stopped early:** {why}\n");
    }
    let outcomes: Vec<String> = outcome_counts(r).iter().map(|(id, n)| format!("{id} {n}")).collect();
    let _ = writeln!(
        md,
        "**{} requests** ({} streamed): {}. Error rate {:.2}%.\n",
        r.totals.requests,
        r.totals.streamed,
        outcomes.join(", "),
        r.totals.error_rate * 100.0
    );
    let _ = writeln!(
        md,
        "Throughput: {:.1} requests/s, {:.1} output tokens/s ({} output tokens).\n",
        r.throughput.requests_per_s, r.throughput.output_tokens_per_s, r.throughput.output_tokens
    );
    let _ = writeln!(md, "| {} |", METRIC_COLUMNS.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(METRIC_COLUMNS.len()));
    for row in metric_rows(r) {
        let _ = writeln!(md, "| {} |", row.join(" | "));
    }
    if let Some(sweep) = &r.sweep {
        let rows = super::sweep::rows(sweep);
        let _ = writeln!(md, "\n## Sweep\n");
        for (i, row) in rows.iter().enumerate() {
            let _ = writeln!(md, "| {} |", row.join(" | "));
            if i == 0 {
                let _ = writeln!(md, "|{}", "---|".repeat(row.len()));
            }
        }
        let _ = writeln!(md, "\n{}", super::sweep::goodput_line(sweep));
    }
    let _ = writeln!(md, "\n**{}**\n", super::conformance_summary(r));
    if let Some(line) = super::probes_summary(r) {
        let _ = writeln!(md, "{line}\n");
    }
    if let Some(line) = super::thresholds_summary(r) {
        let _ = writeln!(md, "{line}\n");
    }
    for line in super::conformance_lines(r) {
        let _ = writeln!(md, "- {}", line.replace('|', "\\|"));
    }
    if !r.examples.is_empty() {
        let _ = writeln!(md, "\n## First failures\n");
        for e in r.examples.iter().take(5) {
            let detail = e.detail.as_deref().unwrap_or("").replace('|', "\\|");
            let _ = writeln!(md, "- request {} (`{}`): **{}** {}", e.request, e.template, e.outcome, detail);
        }
    }
    md
}
