//! A compact Markdown summary: fits a pull-request comment or a CI step summary.

use std::fmt::Write;

use super::lines::{metric_rows, outcome_counts, METRIC_COLUMNS};
use super::model::Report;

/// Renders the summary.
pub fn render(r: &Report) -> String {
    let mut md = String::new();
    let partial = if r.partial { " (partial: interrupted)" } else { "" };
    let _ = writeln!(md, "# relaybench: {}{partial}\n", r.scenario.name);
    let _ = writeln!(
        md,
        "Target `{}` ({}), model `{}`, {}, started {}, {:.1} s.\n",
        r.target.url, r.target.kind, r.target.model, super::lines::load_line(r), r.started_at, r.duration_s
    );
    if let Some(warning) = super::network::warning(r.target.tls_insecure) {
        let _ = writeln!(md, "**{warning}**\n");
    }
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
        "Throughput: {:.1} requests/s, {:.1} output tokens/s ({} output tokens), {:.1} input tokens/s.\n",
        r.throughput.requests_per_s, r.throughput.output_tokens_per_s, r.throughput.output_tokens, r.throughput.input_tokens_per_s
    );
    if let Some(c) = &r.calibration {
        let _ = writeln!(md, "{}.\n", c.line());
    }
    if let Some(c) = &r.client {
        let _ = writeln!(md, "{}.\n", c.line().replacen("load generator", "Load generator", 1));
    }
    if let Some(c) = &r.clock {
        let _ = writeln!(md, "{}.\n", c.line().replacen("target clock", "Target clock", 1));
    }
    if let Some(l) = &r.limits {
        let _ = writeln!(md, "{}.\n", l.line().replacen("rate limits", "Rate limits", 1));
    }
    if let Some(x) = &r.retries {
        let _ = writeln!(md, "{}.\n", x.line().replacen("retries", "Retries", 1));
    }
    if let Some(c) = &r.connections {
        let _ = writeln!(md, "{}.\n", c.line(r.target.proxy.as_deref(), r.target.connect_to.as_deref()).replacen("connections", "Connections", 1));
    }
    if let Some(c) = &r.cost {
        let _ = writeln!(md, "{}.\n", c.line().replacen("cost", "Cost", 1));
    }
    if let Some(a) = &r.authenticity {
        for line in a.lines() {
            let _ = writeln!(md, "- {line}");
        }
        let _ = writeln!(md);
    }
    if let Some(line) = super::lines::goodput_line(r) {
        let _ = writeln!(md, "{}.\n", line.replacen("goodput", "Goodput", 1));
    }
    if let Some(m) = &r.merge {
        let _ = writeln!(md, "## Workers\n\n{}.\n", super::workers::merge_line(m).replacen("merged", "Merged", 1));
        for note in super::workers::notes(&m.workers) {
            let _ = writeln!(md, "- **{note}**");
        }
        table(&mut md, &super::workers::rows(&m.workers));
        let _ = writeln!(md);
    }
    let mut metrics = vec![METRIC_COLUMNS.map(str::to_owned).to_vec()];
    metrics.extend(metric_rows(r).into_iter().map(|row| row.to_vec()));
    table(&mut md, &metrics);
    if r.templates.len() > 1 {
        let _ = writeln!(md, "\n## Templates\n");
        table(&mut md, &super::lines::template_rows(r));
    }
    if !r.turns.is_empty() {
        let _ = writeln!(md, "\n## Turns\n");
        table(&mut md, &super::lines::turn_rows(r));
    }
    for line in super::lines::cache_lines(r) {
        let _ = writeln!(md, "\n{line}");
    }
    if r.phases.len() > 1 {
        let _ = writeln!(md, "\n## Phases\n");
        table(&mut md, &super::phase::rows(&r.phases));
    }
    for p in &r.phases {
        if let Some(sweep) = &p.sweep {
            let _ = writeln!(md, "\n## Sweep{}\n", if r.phases.len() > 1 { format!(" ({})", p.name) } else { String::new() });
            table(&mut md, &super::sweep::rows(sweep));
            let _ = writeln!(md, "\n{}", super::sweep::max_rate_line(sweep));
        }
    }
    let _ = writeln!(md, "\n**{}**\n", super::lines::conformance_summary(r));
    for line in super::lines::gate_lines(r) {
        let _ = writeln!(md, "{line}\n");
    }
    for line in super::lines::conformance_lines(r) {
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

/// A Markdown table; the first row is the header.
pub fn table(md: &mut String, rows: &[Vec<String>]) {
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(md, "| {} |", cells.join(" | "));
        if i == 0 {
            let _ = writeln!(md, "|{}", "---|".repeat(row.len()));
        }
    }
}
