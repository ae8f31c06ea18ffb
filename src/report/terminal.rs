//! The summary printed at the end of a run.

use std::fmt::Write;

use super::lines::{metric_rows, outcome_counts, METRIC_COLUMNS};
use super::model::Report;

/// Renders the summary as aligned plain text.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let partial = if r.partial { "  [PARTIAL: interrupted]" } else { "" };
    let _ = writeln!(out, "relaybench  {}  →  {}  ({}){partial}", r.scenario.name, r.target.url, super::lines::load_line(r));
    if let Some(warning) = super::network::warning(r.target.tls_insecure) {
        let _ = writeln!(out, "{warning}");
    }
    if let Some(why) = &r.stopped_early {
        let _ = writeln!(out, "stopped early: {why}");
    }
    let outcomes: Vec<String> = outcome_counts(r).iter().map(|(id, n)| format!("{id}={n}")).collect();
    let _ = writeln!(
        out,
        "requests {} ({} streamed) in {:.1}s   {}   error rate {:.2}%",
        r.totals.requests,
        r.totals.streamed,
        r.duration_s,
        outcomes.join(" "),
        r.totals.error_rate * 100.0
    );
    let _ = writeln!(
        out,
        "throughput {:.1} req/s   {:.1} output tok/s   {:.1} input tok/s\n",
        r.throughput.requests_per_s, r.throughput.output_tokens_per_s, r.throughput.input_tokens_per_s
    );
    if let Some(line) = super::lines::goodput_line(r) {
        let _ = writeln!(out, "{line}\n");
    }
    if let Some(c) = &r.calibration {
        let _ = writeln!(out, "{}\n", c.line());
    }
    if let Some(c) = &r.client {
        let _ = writeln!(out, "{}\n", c.line());
    }
    if let Some(c) = &r.clock {
        let _ = writeln!(out, "{}\n", c.line());
    }
    if let Some(m) = &r.merge {
        let _ = writeln!(out, "{}", super::workers::merge_line(m));
        for note in super::workers::notes(&m.workers) {
            let _ = writeln!(out, "  {note}");
        }
        let _ = writeln!(out);
    }
    if let Some(l) = &r.limits {
        let _ = writeln!(out, "{}\n", l.line());
    }
    if let Some(x) = &r.retries {
        let _ = writeln!(out, "{}\n", x.line());
    }
    if let Some(c) = &r.connections {
        let _ = writeln!(out, "{}\n", c.line(r.target.proxy.as_deref(), r.target.connect_to.as_deref()));
    }
    if let Some(c) = &r.cost {
        let _ = writeln!(out, "{}\n", c.line());
    }
    if let Some(a) = &r.authenticity {
        let _ = writeln!(out, "{}\n", a.lines().join("\n"));
    }
    let rows = metric_rows(r);
    let mut widths = METRIC_COLUMNS.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i < 2 {
                let _ = write!(s, "{cell:<w$}  ");
            } else {
                let _ = write!(s, "{cell:>w$}  ");
            }
        }
        s.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(&METRIC_COLUMNS.map(str::to_owned)));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row));
    }
    if r.templates.len() > 1 {
        let _ = writeln!(out);
        for line in aligned(&super::lines::template_rows(r)) {
            let _ = writeln!(out, "{line}");
        }
    }
    if !r.turns.is_empty() {
        let _ = writeln!(out);
        for line in aligned(&super::lines::turn_rows(r)) {
            let _ = writeln!(out, "{line}");
        }
    }
    let cache = super::lines::cache_lines(r);
    if !cache.is_empty() {
        let _ = writeln!(out);
    }
    for line in cache {
        let _ = writeln!(out, "{line}");
    }
    if r.phases.len() > 1 {
        let _ = writeln!(out);
        for line in aligned(&super::phase::rows(&r.phases)) {
            let _ = writeln!(out, "{line}");
        }
    }
    for p in &r.phases {
        if let Some(sweep) = &p.sweep {
            let _ = writeln!(out);
            if r.phases.len() > 1 {
                let _ = writeln!(out, "sweep of phase {}:", p.name);
            }
            for line in aligned(&super::sweep::rows(sweep)) {
                let _ = writeln!(out, "{line}");
            }
            let _ = writeln!(out, "{}", super::sweep::max_rate_line(sweep));
        }
    }
    let _ = writeln!(out, "\n{}", super::lines::conformance_summary(r));
    for line in super::lines::gate_lines(r) {
        let _ = writeln!(out, "{line}");
    }
    for line in super::lines::conformance_lines(r) {
        let _ = writeln!(out, "  {line}");
    }
    for e in r.examples.iter().take(3) {
        let _ = writeln!(out, "  e.g. request {} ({}): {} {}", e.request, e.template, e.outcome, e.detail.as_deref().unwrap_or(""));
    }
    out
}

/// Rows of cells as lines, each column right-aligned to its widest cell.
fn aligned(rows: &[Vec<String>]) -> Vec<String> {
    let mut widths = vec![0usize; rows.first().map_or(0, Vec::len)];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| row.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect::<Vec<_>>().join("  "))
        .collect()
}
